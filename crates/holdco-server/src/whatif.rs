//! What-if reads (`?changeset=ID` on every read endpoint): the served model with a change
//! set that is not applied yet (draft, submitted or approved) applied to it, as
//! holdco-changeset's preview applies it (`holdco_changeset::evaluate`: the patch on the
//! current model, validated as `holdco check` validates a folder). Nothing is written.
//!
//! A caller sees a what-if only of a change set it may see (a scoped token: one whose units
//! all lie in its subtrees, as the change-set routes decide); the read then applies its own
//! scope rules to the model after. The model after is a [`Snapshot`] of its own, kept for
//! the served revision (a change set's patch never changes), so asking again is cheap.

use crate::tokens::Caller;
use crate::{ApiError, AppState};
use holdco_app::Snapshot;
use holdco_store::ChangesetState;
use std::sync::Arc;

/// What-if snapshots kept (change set, served revision), most recent last.
const KEPT: usize = 4;

/// The cache of what-if snapshots.
pub(crate) type Cache = std::sync::Mutex<Vec<(i64, Option<i64>, Arc<Snapshot>)>>;

/// The `changeset` parameter read: a change set id.
pub(crate) fn parse(text: Option<&str>) -> Result<Option<i64>, ApiError> {
    text.map(|t| {
        t.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
            ApiError::bad(
                "changeset",
                format!("`{t}` is not a change set id (a positive whole number)"),
            )
        })
    })
    .transpose()
}

/// The snapshot a read answers from: the served one, or with `changeset` the served model
/// with that change set applied. Blocking (reads the store).
pub(crate) fn snapshot(
    state: &AppState,
    caller: &Caller,
    changeset: Option<i64>,
) -> Result<Arc<Snapshot>, ApiError> {
    let served = state.snapshot();
    let Some(id) = changeset else {
        return Ok(served);
    };
    let store = state
        .url()
        .open()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let record = store
        .changeset(id)
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .ok_or_else(|| {
            ApiError::bad(
                "changeset",
                format!("no change set {id} (GET /api/v1/changesets lists them)"),
            )
        })?;
    if !crate::changesets::in_scope(caller, served.model(), &record.units) {
        return Err(ApiError::Forbidden(format!(
            "change set {id} touches units outside the subtrees token `{}` sees (or the whole group)",
            caller.name
        )));
    }
    match record.state {
        ChangesetState::Draft | ChangesetState::Submitted | ChangesetState::Approved => {}
        other => {
            return Err(ApiError::bad(
                "changeset",
                format!(
                    "change set {id} is {other}: a what-if reads a draft, submitted or approved change set{}",
                    if other == ChangesetState::Applied {
                        " (an applied one is in the model: ask without changeset=)"
                    } else {
                        ""
                    }
                ),
            ))
        }
    }
    let revision = served.revision();
    {
        let kept = state.what_if.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, _, snapshot)) = kept
            .iter()
            .find(|(kept_id, kept_revision, _)| *kept_id == id && *kept_revision == revision)
        {
            return Ok(snapshot.clone());
        }
    }
    let patch =
        holdco_changeset::patch_of(&record).map_err(|e| ApiError::Internal(e.to_string()))?;
    // The served model is valid: only what the patch can affect is checked again, and the
    // model after needs no second validation.
    let (after, _) = holdco_changeset::evaluate_valid(served.model(), &patch).map_err(|problems| {
        ApiError::Unprocessable(format!(
            "change set {id} has {} problem(s) on the current model (first: {}); GET /api/v1/changesets/{id} lists them",
            problems.len(),
            problems.first().map(|p| p.to_string()).unwrap_or_default()
        ))
    })?;
    // Built from the served snapshot's caches where the change leaves them as they are.
    let snapshot = Arc::new(
        served
            .successor(Arc::new(after), None)
            .map_err(|e| ApiError::Unprocessable(format!("change set {id}: {e}")))?,
    );
    crate::warm(&snapshot);
    let mut kept = state.what_if.lock().unwrap_or_else(|e| e.into_inner());
    kept.retain(|(kept_id, kept_revision, _)| !(*kept_id == id && *kept_revision == revision));
    kept.push((id, revision, snapshot.clone()));
    if kept.len() > KEPT {
        kept.remove(0);
    }
    Ok(snapshot)
}

/// Forgets the what-if snapshots made on another revision than `revision` (called when a new
/// model is served: they would never be asked for again, and each holds a whole model).
pub(crate) fn forget_other_revisions(state: &AppState, revision: Option<i64>) {
    state
        .what_if
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|(_, kept_revision, _)| *kept_revision == revision);
}
