//! Change sets, their transitions and the audit trail in an SQLite store (migration 0005).
//! See [`crate::changesets`] for what the store guarantees.

use super::{database, KeyColumns};
use crate::changesets::{decode_units, encode_units, state_of};
use crate::{
    ApplyRecord, ApplyTarget, AuditRecord, ChangesetRecord, ChangesetState, NewChangeset,
    StoreError, TransitionRecord,
};
use holdco_core::FactKey;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

/// The id of the last import, 0 when none.
pub(super) fn revision(connection: &Connection) -> Result<i64, StoreError> {
    connection
        .query_row("SELECT COALESCE(MAX(id), 0) FROM imports", [], |row| {
            row.get(0)
        })
        .map_err(database("reading the revision"))
}

/// Records a change set in `state`, with its first transition.
pub(super) fn insert(
    connection: &Connection,
    new: &NewChangeset,
    state: ChangesetState,
    applied_revision: Option<i64>,
) -> Result<i64, StoreError> {
    let failed = database("recording the change set");
    let now = crate::merge::unix_now();
    connection
        .execute(
            "INSERT INTO changesets (state, author, message, base_revision, created_at, kind, body, units, reverts, applied_revision)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                state.as_str(),
                new.author,
                new.message,
                new.base_revision,
                now,
                new.kind,
                new.body,
                encode_units(&new.units),
                new.reverts,
                applied_revision
            ],
        )
        .map_err(&failed)?;
    let id = connection.last_insert_rowid();
    add_transition(connection, id, None, state, &new.author, None)?;
    Ok(id)
}

fn add_transition(
    connection: &Connection,
    id: i64,
    from: Option<ChangesetState>,
    to: ChangesetState,
    actor: &str,
    note: Option<&str>,
) -> Result<(), StoreError> {
    connection
        .execute(
            "INSERT INTO changeset_transitions (changeset_id, sequence, from_state, to_state, actor, at, note)
             VALUES (?1, (SELECT COALESCE(MAX(sequence), 0) + 1 FROM changeset_transitions WHERE changeset_id = ?1),
                     ?2, ?3, ?4, ?5, ?6)",
            params![
                id,
                from.map(ChangesetState::as_str),
                to.as_str(),
                actor,
                crate::merge::unix_now(),
                note
            ],
        )
        .map_err(database("recording the transition"))?;
    Ok(())
}

const COLUMNS: &str = "id, state, author, message, base_revision, created_at, kind, body, units, reverts, applied_revision";

fn record(row: &Row<'_>) -> Result<ChangesetRecord, StoreError> {
    let failed = database("reading change sets");
    let state: String = row.get(1).map_err(&failed)?;
    let units: String = row.get(8).map_err(&failed)?;
    Ok(ChangesetRecord {
        id: row.get(0).map_err(&failed)?,
        state: state_of("changesets", &state)?,
        author: row.get(2).map_err(&failed)?,
        message: row.get(3).map_err(&failed)?,
        base_revision: row.get(4).map_err(&failed)?,
        created_at: row.get(5).map_err(&failed)?,
        kind: row.get(6).map_err(&failed)?,
        body: row.get(7).map_err(&failed)?,
        units: decode_units("changesets", &units)?,
        reverts: row.get(9).map_err(&failed)?,
        applied_revision: row.get(10).map_err(&failed)?,
    })
}

/// The change set with this id.
pub(super) fn get(connection: &Connection, id: i64) -> Result<Option<ChangesetRecord>, StoreError> {
    let failed = database("reading change sets");
    let mut statement = connection
        .prepare_cached(&format!("SELECT {COLUMNS} FROM changesets WHERE id = ?1"))
        .map_err(&failed)?;
    let mut rows = statement.query([id]).map_err(&failed)?;
    match rows.next().map_err(&failed)? {
        Some(row) => Ok(Some(record(row)?)),
        None => Ok(None),
    }
}

/// Every change set, oldest first.
pub(super) fn list(connection: &Connection) -> Result<Vec<ChangesetRecord>, StoreError> {
    let failed = database("reading change sets");
    let mut statement = connection
        .prepare_cached(&format!("SELECT {COLUMNS} FROM changesets ORDER BY id"))
        .map_err(&failed)?;
    let mut rows = statement.query([]).map_err(&failed)?;
    let mut records = Vec::new();
    while let Some(row) = rows.next().map_err(&failed)? {
        records.push(record(row)?);
    }
    Ok(records)
}

/// A change set's transitions, oldest first.
pub(super) fn transitions(
    connection: &Connection,
    id: i64,
) -> Result<Vec<TransitionRecord>, StoreError> {
    let failed = database("reading transitions");
    let mut statement = connection
        .prepare_cached(
            "SELECT from_state, to_state, actor, at, note FROM changeset_transitions
             WHERE changeset_id = ?1 ORDER BY sequence",
        )
        .map_err(&failed)?;
    let mut rows = statement.query([id]).map_err(&failed)?;
    let mut records = Vec::new();
    while let Some(row) = rows.next().map_err(&failed)? {
        let from: Option<String> = row.get(0).map_err(&failed)?;
        let to: String = row.get(1).map_err(&failed)?;
        records.push(TransitionRecord {
            changeset_id: id,
            from: from
                .map(|from| state_of("changeset_transitions", &from))
                .transpose()?,
            to: state_of("changeset_transitions", &to)?,
            actor: row.get(2).map_err(&failed)?,
            at: row.get(3).map_err(&failed)?,
            note: row.get(4).map_err(&failed)?,
        });
    }
    Ok(records)
}

/// Compare and set of a change set's state, with its transition row (the caller holds a
/// write transaction).
pub(super) fn transition(
    connection: &Connection,
    id: i64,
    from: ChangesetState,
    to: ChangesetState,
    actor: &str,
    note: Option<&str>,
) -> Result<(), StoreError> {
    let found: Option<String> = connection
        .query_row("SELECT state FROM changesets WHERE id = ?1", [id], |row| {
            row.get(0)
        })
        .optional()
        .map_err(database("reading change sets"))?;
    let Some(found) = found else {
        return Err(StoreError::NoChangeset { id });
    };
    let found = state_of("changesets", &found)?;
    if found != from {
        return Err(StoreError::ChangesetState {
            id,
            expected: from,
            found,
        });
    }
    connection
        .execute(
            "UPDATE changesets SET state = ?2 WHERE id = ?1",
            params![id, to.as_str()],
        )
        .map_err(database("changing the state"))?;
    add_transition(connection, id, Some(from), to, actor, note)
}

/// The audit trail, oldest first.
pub(super) fn audit(connection: &Connection) -> Result<Vec<AuditRecord>, StoreError> {
    let failed = database("reading the audit trail");
    let mut statement = connection
        .prepare_cached(
            "SELECT a.revision, a.base_revision, a.changeset_id, a.actor, c.author, a.at, c.message, a.diff, a.units
             FROM audit_log AS a JOIN changesets AS c ON c.id = a.changeset_id ORDER BY a.revision",
        )
        .map_err(&failed)?;
    let mut rows = statement.query([]).map_err(&failed)?;
    let mut records = Vec::new();
    while let Some(row) = rows.next().map_err(&failed)? {
        let units: String = row.get(8).map_err(&failed)?;
        records.push(AuditRecord {
            revision: row.get(0).map_err(&failed)?,
            base_revision: row.get(1).map_err(&failed)?,
            changeset_id: row.get(2).map_err(&failed)?,
            actor: row.get(3).map_err(&failed)?,
            author: row.get(4).map_err(&failed)?,
            at: row.get(5).map_err(&failed)?,
            message: row.get(6).map_err(&failed)?,
            diff: row.get(7).map_err(&failed)?,
            units: decode_units("audit_log", &units)?,
        });
    }
    Ok(records)
}

/// Checks the base revision before an import `import_id` writes anything (the caller holds
/// the write lock): [`StoreError::Conflict`] when the store moved on.
pub(super) fn check_base(
    connection: &Connection,
    import_id: i64,
    record: &ApplyRecord,
) -> Result<i64, StoreError> {
    let current: i64 = connection
        .query_row(
            "SELECT COALESCE(MAX(id), 0) FROM imports WHERE id <> ?1",
            [import_id],
            |row| row.get(0),
        )
        .map_err(database("reading the revision"))?;
    if let Some(expected) = record.expected_base {
        if expected != current {
            return Err(StoreError::Conflict { expected, current });
        }
    }
    Ok(current)
}

/// What an apply writes besides the import, in its transaction: retracted facts removed,
/// the change set marked applied, the audit entry. Returns the change set's id.
pub(super) fn record_apply(
    connection: &Transaction<'_>,
    import_id: i64,
    base: i64,
    record: &ApplyRecord,
) -> Result<i64, StoreError> {
    for key in &record.retract {
        retract(connection, key)?;
    }
    let id = match &record.target {
        ApplyTarget::Existing(id) => {
            transition(
                connection,
                *id,
                ChangesetState::Approved,
                ChangesetState::Applied,
                &record.actor,
                None,
            )?;
            connection
                .execute(
                    "UPDATE changesets SET applied_revision = ?2 WHERE id = ?1",
                    params![id, import_id],
                )
                .map_err(database("recording the apply"))?;
            *id
        }
        ApplyTarget::New(new) => insert(connection, new, ChangesetState::Applied, Some(import_id))?,
    };
    connection
        .execute(
            "INSERT INTO audit_log (revision, base_revision, changeset_id, actor, at, diff, units)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                import_id,
                base,
                id,
                record.actor,
                crate::merge::unix_now(),
                record.diff,
                encode_units(&record.units)
            ],
        )
        .map_err(database("writing the audit entry"))?;
    Ok(id)
}

/// Removes a fact: its rows of the revision log go, and a segment holding it marks it
/// superseded (with no revision in the log, nothing is current for the key).
fn retract(connection: &Transaction<'_>, key: &FactKey) -> Result<(), StoreError> {
    let failed = database("removing a fact");
    let columns = KeyColumns::of(key);
    connection
        .prepare_cached(
            "DELETE FROM fact_revisions
             WHERE unit = ?1 AND period_start = ?2 AND granularity = ?3 AND metric = ?4
               AND counterparty = ?5 AND basis = ?6 AND structure = ?7",
        )
        .and_then(|mut statement| statement.execute(columns.params()))
        .map_err(&failed)?;
    // The segment holding the key, if any, and its position there (arrays binary or JSON).
    let mut held: Option<(i64, usize)> = None;
    {
        let mut statement = connection
            .prepare_cached(
                "SELECT import_id, periods, superseded FROM facts
                 WHERE unit = ?1 AND granularity = ?2 AND metric = ?3
                   AND counterparty = ?4 AND basis = ?5 AND structure = ?6",
            )
            .map_err(&failed)?;
        let mut rows = statement
            .query(rusqlite::params![
                columns.unit,
                columns.granularity,
                columns.metric,
                columns.counterparty,
                columns.basis,
                columns.structure.as_ref(),
            ])
            .map_err(&failed)?;
        while let Some(row) = rows.next().map_err(&failed)? {
            let import_id: i64 = row.get(0).map_err(&failed)?;
            let starts = super::series_codec::column(row, 1)?.starts()?;
            let superseded: Vec<usize> = crate::merge::decode("facts", super::text(row, 2)?)?;
            let position = starts.iter().enumerate().position(|(position, start)| {
                i64::from(*start) == columns.period_start && !superseded.contains(&position)
            });
            if let Some(position) = position {
                held = Some((import_id, position));
                break;
            }
        }
    }
    if let Some((import_id, position)) = held {
        super::segments::supersede(connection, key, import_id, position)?;
    }
    Ok(())
}
