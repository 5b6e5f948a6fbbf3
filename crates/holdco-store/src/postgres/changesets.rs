//! Change sets, their transitions and the audit trail in a PostgreSQL store (migration
//! 0002). See [`crate::changesets`] for what the store guarantees.
//!
//! Ids are the highest plus one, given under an advisory lock per schema (`holdco
//! changesets`), like import ids; a state change locks its row (`FOR UPDATE`), so of two
//! reviewers moving the same change set at once, the second sees the first's state.

use super::database;
use crate::changesets::{decode_units, encode_units, state_of};
use crate::{
    ApplyRecord, ApplyTarget, AuditRecord, ChangesetRecord, ChangesetState, NewChangeset,
    StoreError, TransitionRecord,
};
use postgres::{GenericClient, Row, Transaction};

/// The id of the last import, 0 when none.
pub(super) fn revision(client: &mut impl GenericClient) -> Result<i64, StoreError> {
    Ok(client
        .query_one("SELECT COALESCE(MAX(id), 0)::bigint FROM imports", &[])
        .map_err(database("reading the revision"))?
        .get(0))
}

/// Records a change set in `state`, with its first transition.
pub(super) fn insert(
    transaction: &mut Transaction<'_>,
    new: &NewChangeset,
    state: ChangesetState,
    applied_revision: Option<i64>,
) -> Result<i64, StoreError> {
    let failed = database("recording the change set");
    transaction
        .batch_execute(
            "SELECT pg_advisory_xact_lock(hashtext(COALESCE(current_schema(), '') || ' holdco changesets'))",
        )
        .map_err(&failed)?;
    let id: i64 = transaction
        .query_one(
            "SELECT COALESCE(MAX(id), 0)::bigint + 1 FROM changesets",
            &[],
        )
        .map_err(&failed)?
        .get(0);
    transaction
        .execute(
            "INSERT INTO changesets (id, state, author, message, base_revision, created_at, kind, body, units, reverts, applied_revision)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &id,
                &state.as_str(),
                &new.author,
                &new.message,
                &new.base_revision,
                &crate::merge::unix_now(),
                &new.kind,
                &new.body,
                &encode_units(&new.units),
                &new.reverts,
                &applied_revision,
            ],
        )
        .map_err(&failed)?;
    add_transition(transaction, id, None, state, &new.author, None)?;
    Ok(id)
}

fn add_transition(
    transaction: &mut Transaction<'_>,
    id: i64,
    from: Option<ChangesetState>,
    to: ChangesetState,
    actor: &str,
    note: Option<&str>,
) -> Result<(), StoreError> {
    transaction
        .execute(
            "INSERT INTO changeset_transitions (changeset_id, sequence, from_state, to_state, actor, at, note)
             VALUES ($1, (SELECT COALESCE(MAX(sequence), 0) + 1 FROM changeset_transitions WHERE changeset_id = $1),
                     $2, $3, $4, $5, $6)",
            &[
                &id,
                &from.map(ChangesetState::as_str),
                &to.as_str(),
                &actor,
                &crate::merge::unix_now(),
                &note,
            ],
        )
        .map_err(database("recording the transition"))?;
    Ok(())
}

const COLUMNS: &str = "id, state, author, message, base_revision, created_at, kind, body, units, reverts, applied_revision";

fn record(row: &Row) -> Result<ChangesetRecord, StoreError> {
    let failed = database("reading change sets");
    let state: String = row.try_get(1).map_err(&failed)?;
    let units: String = row.try_get(8).map_err(&failed)?;
    Ok(ChangesetRecord {
        id: row.try_get(0).map_err(&failed)?,
        state: state_of("changesets", &state)?,
        author: row.try_get(2).map_err(&failed)?,
        message: row.try_get(3).map_err(&failed)?,
        base_revision: row.try_get(4).map_err(&failed)?,
        created_at: row.try_get(5).map_err(&failed)?,
        kind: row.try_get(6).map_err(&failed)?,
        body: row.try_get(7).map_err(&failed)?,
        units: decode_units("changesets", &units)?,
        reverts: row.try_get(9).map_err(&failed)?,
        applied_revision: row.try_get(10).map_err(&failed)?,
    })
}

/// The change set with this id.
pub(super) fn get(
    client: &mut impl GenericClient,
    id: i64,
) -> Result<Option<ChangesetRecord>, StoreError> {
    let row = client
        .query_opt(
            &format!("SELECT {COLUMNS} FROM changesets WHERE id = $1"),
            &[&id],
        )
        .map_err(database("reading change sets"))?;
    row.as_ref().map(record).transpose()
}

/// Every change set, oldest first.
pub(super) fn list(client: &mut impl GenericClient) -> Result<Vec<ChangesetRecord>, StoreError> {
    client
        .query(
            &format!("SELECT {COLUMNS} FROM changesets ORDER BY id"),
            &[],
        )
        .map_err(database("reading change sets"))?
        .iter()
        .map(record)
        .collect()
}

/// A change set's transitions, oldest first.
pub(super) fn transitions(
    client: &mut impl GenericClient,
    id: i64,
) -> Result<Vec<TransitionRecord>, StoreError> {
    let failed = database("reading transitions");
    let rows = client
        .query(
            "SELECT from_state, to_state, actor, at, note FROM changeset_transitions
             WHERE changeset_id = $1 ORDER BY sequence",
            &[&id],
        )
        .map_err(&failed)?;
    rows.iter()
        .map(|row| {
            let from: Option<String> = row.try_get(0).map_err(&failed)?;
            let to: String = row.try_get(1).map_err(&failed)?;
            Ok(TransitionRecord {
                changeset_id: id,
                from: from
                    .map(|from| state_of("changeset_transitions", &from))
                    .transpose()?,
                to: state_of("changeset_transitions", &to)?,
                actor: row.try_get(2).map_err(&failed)?,
                at: row.try_get(3).map_err(&failed)?,
                note: row.try_get(4).map_err(&failed)?,
            })
        })
        .collect()
}

/// Compare and set of a change set's state (its row locked), with its transition row.
pub(super) fn transition(
    transaction: &mut Transaction<'_>,
    id: i64,
    from: ChangesetState,
    to: ChangesetState,
    actor: &str,
    note: Option<&str>,
) -> Result<(), StoreError> {
    let row = transaction
        .query_opt(
            "SELECT state FROM changesets WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .map_err(database("reading change sets"))?;
    let Some(row) = row else {
        return Err(StoreError::NoChangeset { id });
    };
    let found = state_of("changesets", &row.get::<_, String>(0))?;
    if found != from {
        return Err(StoreError::ChangesetState {
            id,
            expected: from,
            found,
        });
    }
    transaction
        .execute(
            "UPDATE changesets SET state = $2 WHERE id = $1",
            &[&id, &to.as_str()],
        )
        .map_err(database("changing the state"))?;
    add_transition(transaction, id, Some(from), to, actor, note)
}

/// The audit trail, oldest first.
pub(super) fn audit(client: &mut impl GenericClient) -> Result<Vec<AuditRecord>, StoreError> {
    let failed = database("reading the audit trail");
    let rows = client
        .query(
            "SELECT a.revision, a.base_revision, a.changeset_id, a.actor, c.author, a.at, c.message, a.diff, a.units
             FROM audit_log AS a JOIN changesets AS c ON c.id = a.changeset_id ORDER BY a.revision",
            &[],
        )
        .map_err(&failed)?;
    rows.iter()
        .map(|row| {
            let units: String = row.try_get(8).map_err(&failed)?;
            Ok(AuditRecord {
                revision: row.try_get(0).map_err(&failed)?,
                base_revision: row.try_get(1).map_err(&failed)?,
                changeset_id: row.try_get(2).map_err(&failed)?,
                actor: row.try_get(3).map_err(&failed)?,
                author: row.try_get(4).map_err(&failed)?,
                at: row.try_get(5).map_err(&failed)?,
                message: row.try_get(6).map_err(&failed)?,
                diff: row.try_get(7).map_err(&failed)?,
                units: decode_units("audit_log", &units)?,
            })
        })
        .collect()
}

/// Checks the base revision once the import `import_id` holds the import lock:
/// [`StoreError::Conflict`] when the store moved on. Returns the revision applied on.
pub(super) fn check_base(
    transaction: &mut Transaction<'_>,
    import_id: i64,
    record: &ApplyRecord,
) -> Result<i64, StoreError> {
    let current: i64 = transaction
        .query_one(
            "SELECT COALESCE(MAX(id), 0)::bigint FROM imports WHERE id <> $1",
            &[&import_id],
        )
        .map_err(database("reading the revision"))?
        .get(0);
    if let Some(expected) = record.expected_base {
        if expected != current {
            return Err(StoreError::Conflict { expected, current });
        }
    }
    Ok(current)
}

/// What an apply writes besides the import, in its transaction (the import wrote the
/// deletion revisions of retracted facts): the change set marked applied, the audit entry. Returns the change set's id.
pub(super) fn record_apply(
    transaction: &mut Transaction<'_>,
    import_id: i64,
    base: i64,
    record: &ApplyRecord,
) -> Result<i64, StoreError> {
    let id = match &record.target {
        ApplyTarget::Existing(id) => {
            transition(
                transaction,
                *id,
                ChangesetState::Approved,
                ChangesetState::Applied,
                &record.actor,
                None,
            )?;
            transaction
                .execute(
                    "UPDATE changesets SET applied_revision = $2 WHERE id = $1",
                    &[id, &import_id],
                )
                .map_err(database("recording the apply"))?;
            *id
        }
        ApplyTarget::New(new) => {
            insert(transaction, new, ChangesetState::Applied, Some(import_id))?
        }
    };
    transaction
        .execute(
            "INSERT INTO audit_log (revision, base_revision, changeset_id, actor, at, diff, units)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &import_id,
                &base,
                &id,
                &record.actor,
                &crate::merge::unix_now(),
                &record.diff,
                &encode_units(&record.units),
            ],
        )
        .map_err(database("writing the audit entry"))?;
    Ok(id)
}
