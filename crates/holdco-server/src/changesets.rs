//! Change sets over HTTP (issue 12 items 4 and 5): propose, review and apply changes to the
//! served model, and read the audit trail. The rules are the holdco-changeset crate's (the
//! CLI's `holdco changeset` uses the same); this file adds who may do what:
//!
//! - a viewer reads (list, show, audit) and proposes nothing;
//! - an analyst proposes (`POST /api/v1/changesets`), submits and withdraws its own;
//! - an approver (or admin) also approves, rejects and applies, never its own (four eyes:
//!   the author of a change set is the name of the token that proposed it);
//! - a scoped token touches only change sets whose units all lie in its subtrees in today's
//!   structure (before and after the change); rates, documents and imports belong to the
//!   whole group (`*`), which no scoped token touches; it sees only such change sets and
//!   audit entries.
//!
//! An apply that finds the model moved on since the change set's base revision is a 409
//! with what changed; a successful apply reloads the served snapshot at once (readers keep
//! the snapshot they hold); the server's watcher (lib.rs) picks up revisions written by other
//! processes. Each request opens the store on a blocking thread (the store clients are
//! blocking; an SQLite open is a file open, a PostgreSQL one a connection).

use crate::auth::Authorized;
use crate::tokens::{Caller, Role};
use crate::{ApiError, AppState, SharedState};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use holdco_changeset::{self as changeset, Action, ChangesetError, Proposal, GROUP_WIDE};
use holdco_core::timeline::Timeline;
use holdco_core::{Model, UnitId};
use holdco_store::{ChangesetRecord, ChangesetState, Store, StoreError};
use serde::Deserialize;
use std::collections::HashMap;

/// The change-set routes, to merge into the server's router. Handlers take the caller from
/// [`Authorized`], as every other route does.
pub(crate) fn router(app: SharedState) -> Router {
    Router::new()
        .route("/api/v1/changesets", post(propose).get(list))
        .route("/api/v1/changesets/{id}", get(show))
        .route("/api/v1/changesets/{id}/{action}", post(step))
        .route("/api/v1/audit", get(audit))
        .with_state(app)
}

/// A refusal of this file: a change set's problems (422 with each problem), a conflict
/// (409 with what changed), a state that does not allow the step (409), or the server's
/// own errors.
pub(crate) enum Refusal {
    Api(ApiError),
    Invalid(Vec<holdco_core::Diagnostic>),
    Conflict(String, serde_json::Value),
    State(String),
    Body(String),
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Self {
        Refusal::Api(error)
    }
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NoChangeset { .. } => Refusal::Api(ApiError::NotFound(error.to_string())),
            StoreError::ChangesetState { .. } => Refusal::State(error.to_string()),
            StoreError::Conflict { .. } => {
                Refusal::Conflict(error.to_string(), serde_json::json!([]))
            }
            other => Refusal::Api(ApiError::Internal(other.to_string())),
        }
    }
}

impl From<ChangesetError> for Refusal {
    fn from(error: ChangesetError) -> Self {
        match error {
            ChangesetError::Invalid(problems) => Refusal::Invalid(problems),
            ChangesetError::NoMessage | ChangesetError::Empty => {
                Refusal::Api(ApiError::bad("message", error.to_string()))
            }
            ChangesetError::EmptyStore => Refusal::Api(ApiError::Internal(error.to_string())),
            ChangesetError::Conflict { ref since, .. } => {
                let since = serde_json::to_value(since).unwrap_or_default();
                Refusal::Conflict(error.to_string(), since)
            }
            ChangesetError::NotAllowed(message) => Refusal::Api(ApiError::Forbidden(message)),
            ChangesetError::WrongState(message) => Refusal::State(message),
            ChangesetError::Store(error) => error.into(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Api(error) => error.into_response(),
            Refusal::Invalid(problems) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(serde_json::json!({
                    "error": "invalid",
                    "message": format!("the change set has {} problem(s); nothing was recorded", problems.len()),
                    "problems": problems,
                })),
            )
                .into_response(),
            Refusal::Conflict(message, since) => (
                StatusCode::CONFLICT,
                Json(serde_json::json!({ "error": "conflict", "message": message, "since": since })),
            )
                .into_response(),
            Refusal::State(message) => (
                StatusCode::CONFLICT,
                Json(serde_json::json!({ "error": "state", "message": message })),
            )
                .into_response(),
            Refusal::Body(message) => (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({ "error": "bad_body", "message": message })),
            )
                .into_response(),
        }
    }
}

pub(crate) type Answer = Result<Json<serde_json::Value>, Refusal>;

pub(crate) fn today() -> NaiveDate {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64);
    chrono::DateTime::from_timestamp(now, 0)
        .unwrap_or_default()
        .date_naive()
}

/// Runs `work` with the caller (its token already checked by [`Authorized`]) and the store on
/// a blocking thread.
pub(crate) async fn with_store(
    shared: SharedState,
    caller: Caller,
    work: impl FnOnce(&AppState, &Caller, &mut dyn Store) -> Answer + Send + 'static,
) -> Answer {
    tokio::task::spawn_blocking(move || {
        let mut store = shared
            .url()
            .open()
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        work(&shared, &caller, store.as_mut())
    })
    .await
    .map_err(|e| ApiError::Internal(format!("request task failed: {e}")))?
}

fn need(caller: &Caller, roles: &[Role], doing: &str) -> Result<(), Refusal> {
    if roles.contains(&caller.role) {
        return Ok(());
    }
    let names: Vec<&str> = roles.iter().map(Role::name).collect();
    Err(ApiError::Forbidden(format!(
        "a {} token cannot {doing}: it takes a token of role {}",
        caller.role.name(),
        names.join(" or ")
    ))
    .into())
}

/// True when a scoped caller may touch every unit of `units` (in today's structure of
/// `model`); always for a caller without scope.
fn in_scope(caller: &Caller, model: &Model, units: &[String]) -> bool {
    if caller.scopes.is_empty() {
        return true;
    }
    let (timeline, _) = Timeline::replay(&model.group, &model.metrics, &model.timeline);
    if timeline.units.is_empty() {
        return false;
    }
    let structure = timeline.structure_on(today());
    let index = |id: &str| {
        UnitId::parse(id)
            .ok()
            .and_then(|id| timeline.index.get(&id).copied())
    };
    units.iter().all(|unit| {
        if unit == GROUP_WIDE {
            return false;
        }
        let Some(unit) = index(unit) else {
            return false;
        };
        caller.scopes.iter().any(|scope| {
            index(scope.as_str()).is_some_and(|scope| structure.in_subtree(unit, scope))
        })
    })
}

fn scope_refusal(caller: &Caller) -> Refusal {
    let scopes: Vec<&str> = caller.scopes.iter().map(UnitId::as_str).collect();
    ApiError::Forbidden(format!(
        "this token is scoped to {}: the change set touches units outside those subtrees (or the whole group)",
        scopes.join(", ")
    ))
    .into()
}

/// The body of `POST /api/v1/changesets`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProposeBody {
    /// Why (required).
    message: String,
    /// The change set in the JSON form (see docs/format.md).
    #[serde(default)]
    patch: Option<serde_json::Value>,
    /// Or as the files of a model-folder patch, by path.
    #[serde(default)]
    files: Option<HashMap<String, String>>,
}

/// `POST /api/v1/changesets`: validates, previews and records a draft (analyst and up).
async fn propose(
    State(shared): State<SharedState>,
    Authorized(caller): Authorized,
    body: Bytes,
) -> Answer {
    let body: ProposeBody = serde_json::from_slice(&body).map_err(|error| {
        Refusal::Body(format!(
            "the body is not a change set: {error} (expected {{\"message\": \"...\", \"patch\": {{...}}}} or {{\"message\": \"...\", \"files\": {{PATH: TEXT}}}})"
        ))
    })?;
    with_store(shared, caller, move |shared, caller, store| {
        need(caller, &[Role::Analyst, Role::Approver, Role::Admin], "propose a change set")?;
        let (base, _) = changeset::current(store)?;
        let patch = match (&body.patch, &body.files) {
            (Some(patch), None) => changeset::patch::from_json(&patch.to_string(), &base),
            (None, Some(files)) => changeset::patch::from_files(
                files
                    .iter()
                    .map(|(path, text)| (path.clone(), text.clone().into_bytes()))
                    .collect(),
                "files",
                &base,
            ),
            _ => {
                return Err(Refusal::Body(
                    "give the change set as \"patch\" (JSON form) or as \"files\" (a model-folder patch), one of the two".into(),
                ))
            }
        }
        .map_err(Refusal::Invalid)?;
        // The scope is judged on what the change set changes, before anything is recorded.
        let (after, diff) = changeset::evaluate(&base, &patch).map_err(Refusal::Invalid)?;
        let units = diff.units();
        if !in_scope(caller, &base, &units) && !in_scope(caller, &after, &units) {
            return Err(scope_refusal(caller));
        }
        let created = changeset::create(
            store,
            Proposal {
                patch,
                author: &caller.name,
                message: &body.message,
                kind: "patch",
                reverts: None,
            },
            today(),
        )?;
        let _ = shared;
        Ok(Json(serde_json::to_value(&created).unwrap_or_default()))
    })
    .await
}

/// Whether a scoped caller sees this change set.
fn visible(caller: &Caller, model: &Model, record: &ChangesetRecord) -> bool {
    in_scope(caller, model, &record.units)
}

/// `GET /api/v1/changesets[?state=S]`.
async fn list(
    State(shared): State<SharedState>,
    Authorized(caller): Authorized,
    Query(params): Query<HashMap<String, String>>,
) -> Answer {
    let mut wanted = None;
    for (name, value) in &params {
        match name.as_str() {
            "state" => {
                wanted = Some(ChangesetState::parse(value).ok_or_else(|| {
                    ApiError::bad(
                        "state",
                        format!("`{value}` is not a state (draft, submitted, approved, applied, rejected, withdrawn)"),
                    )
                })?)
            }
            other => return Err(ApiError::bad(other, "unknown parameter (expected state)").into()),
        }
    }
    with_store(shared, caller, move |shared, caller, store| {
        let snapshot = shared.snapshot();
        let model = snapshot.model();
        let records: Vec<ChangesetRecord> = store
            .changesets()?
            .into_iter()
            .filter(|record| wanted.is_none_or(|state| record.state == state))
            .filter(|record| visible(caller, model, record))
            .collect();
        Ok(Json(serde_json::to_value(records).unwrap_or_default()))
    })
    .await
}

fn parse_id(id: &str) -> Result<i64, Refusal> {
    id.parse().map_err(|_| {
        ApiError::bad("id", format!("`{id}` is not a change set id (a number)")).into()
    })
}

/// `GET /api/v1/changesets/{id}`: history, diff, preview and problems.
async fn show(
    State(shared): State<SharedState>,
    Authorized(caller): Authorized,
    Path(id): Path<String>,
) -> Answer {
    let id = parse_id(&id)?;
    with_store(shared, caller, move |shared, caller, store| {
        let record = changeset::get(store, id)?;
        if !visible(caller, shared.snapshot().model(), &record) {
            return Err(scope_refusal(caller));
        }
        let shown = changeset::show(store, id, today())?;
        Ok(Json(serde_json::to_value(&shown).unwrap_or_default()))
    })
    .await
}

/// `POST /api/v1/changesets/{id}/{submit|approve|reject|withdraw|apply}`; an optional JSON
/// body `{"note": "..."}` for approve and reject.
async fn step(
    State(shared): State<SharedState>,
    Authorized(caller): Authorized,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let id = parse_id(&id)?;
    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct StepBody {
        #[serde(default)]
        note: Option<String>,
    }
    let note = if body.is_empty() {
        StepBody::default()
    } else {
        serde_json::from_slice::<StepBody>(&body).map_err(|error| {
            Refusal::Body(format!(
                "the body is not a step: {error} (expected {{\"note\": \"...\"}} or nothing)"
            ))
        })?
    }
    .note;
    let action = match action.as_str() {
        "submit" => Some(Action::Submit),
        "approve" => Some(Action::Approve),
        "reject" => Some(Action::Reject),
        "withdraw" => Some(Action::Withdraw),
        "apply" => None,
        other => {
            return Err(ApiError::NotFound(format!(
                "`{other}` is not a step of review (submit, approve, reject, withdraw, apply)"
            ))
            .into())
        }
    };
    with_store(shared, caller, move |shared, caller, store| {
        let reviewers = [Role::Approver, Role::Admin];
        let proposers = [Role::Analyst, Role::Approver, Role::Admin];
        match action {
            Some(Action::Submit) | Some(Action::Withdraw) => {
                need(caller, &proposers, "submit or withdraw a change set")?
            }
            Some(Action::Approve) | Some(Action::Reject) => {
                need(caller, &reviewers, "approve or reject a change set")?
            }
            None => need(caller, &reviewers, "apply a change set")?,
        }
        let record = changeset::get(store, id)?;
        let snapshot = shared.snapshot();
        let model = snapshot.model();
        if !visible(caller, model, &record) {
            return Err(scope_refusal(caller));
        }
        match action {
            Some(action) => {
                let record = changeset::act(store, id, action, &caller.name, note.as_deref())?;
                Ok(Json(serde_json::to_value(record).unwrap_or_default()))
            }
            None => {
                let applied = changeset::apply(store, id, &caller.name)?;
                // Swap in the model the apply made: readers holding the old snapshot finish
                // with it, every later request sees the new one. (Should the reload fail, the
                // apply stands and the watcher tries again at its next poll.)
                if let Err(error) = shared.reload_if_changed() {
                    eprintln!("holdco serve: the change set was applied, but reloading the model failed: {error:#}");
                }
                Ok(Json(serde_json::json!({
                    "changeset": applied.changeset_id,
                    "revision": applied.revision,
                    "facts_new": applied.summary.facts_new,
                    "facts_revised": applied.summary.facts_revised,
                })))
            }
        }
    })
    .await
}

/// `GET /api/v1/audit[?unit=U&since=YYYY-MM-DD]`: the audit trail (`holdco log --json`).
async fn audit(
    State(shared): State<SharedState>,
    Authorized(caller): Authorized,
    Query(params): Query<HashMap<String, String>>,
) -> Answer {
    let mut unit = None;
    let mut since = None;
    for (name, value) in &params {
        match name.as_str() {
            "unit" => unit = Some(value.clone()),
            "since" => {
                since = Some(holdco_core::period::parse_iso_date(value).ok_or_else(|| {
                    ApiError::bad("since", format!("`{value}` is not a date (YYYY-MM-DD)"))
                })?)
            }
            other => {
                return Err(
                    ApiError::bad(other, "unknown parameter (expected unit or since)").into(),
                )
            }
        }
    }
    with_store(shared, caller, move |shared, caller, store| {
        let snapshot = shared.snapshot();
        let model = snapshot.model();
        let entries: Vec<changeset::LogEntry> = changeset::log(store, unit.as_deref(), since)?
            .into_iter()
            .filter(|entry| in_scope(caller, model, &entry.units))
            .collect();
        Ok(Json(serde_json::to_value(entries).unwrap_or_default()))
    })
    .await
}
