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
//! with what changed; a successful apply swaps the new model into the server (readers keep
//! the snapshot they hold). A thread polls the store's revision every two seconds, so
//! several servers on one store (and the CLI writing to it) see each other's changes. Each request opens the store on a blocking thread (the store
//! clients are blocking; an SQLite open is a file open, a PostgreSQL one a connection).

use crate::tokens::{Caller, Role};
use crate::{bearer, ApiError, AppState};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
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
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// What the change-set routes share: the server's state, the store's `--db` value and the
/// revision of the model served.
struct Shared {
    app: Arc<AppState>,
    db: String,
    served: Mutex<i64>,
}

/// How often the server looks for revisions written by others (another `holdco serve` on
/// the same store, `holdco import`, `holdco changeset apply`).
pub(crate) const POLL_EVERY: Duration = Duration::from_secs(2);

/// The change-set routes, to merge into the server's router. Also starts the thread that
/// reloads the model when another process writes a revision (it ends with the server).
pub(crate) fn router(app: Arc<AppState>, db: &str) -> Router {
    let served = holdco_store::open_store(db)
        .and_then(|store| store.revision())
        .unwrap_or(0);
    let shared = Arc::new(Shared {
        app,
        db: db.to_string(),
        served: Mutex::new(served),
    });
    let weak = Arc::downgrade(&shared);
    let _ = std::thread::Builder::new()
        .name("holdco-poll".into())
        .spawn(move || poll(weak));
    Router::new()
        .route("/api/v1/changesets", post(propose).get(list))
        .route("/api/v1/changesets/{id}", get(show))
        .route("/api/v1/changesets/{id}/{action}", post(step))
        .route("/api/v1/audit", get(audit))
        .with_state(shared)
}

/// Every [`POLL_EVERY`], reads the store's revision and, when another process wrote a newer
/// one, loads that model and swaps it in (readers keep the snapshot they hold). Ends when the
/// server is gone.
fn poll(shared: Weak<Shared>) {
    let mut store: Option<Box<dyn Store>> = None;
    loop {
        std::thread::sleep(POLL_EVERY);
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if store.is_none() {
            store = holdco_store::open_store(&shared.db).ok();
        }
        let Some(open) = store.as_ref() else {
            continue;
        };
        match open.revision() {
            Ok(revision) if revision > shared.served.lock().map_or(i64::MAX, |served| *served) => {
                if let Ok(Some(model)) = open.load() {
                    swap(&shared, model, revision);
                }
            }
            Ok(_) => {}
            // A store that failed (a PostgreSQL restart) is opened again next time.
            Err(_) => store = None,
        }
    }
}

/// Serves `model`, the store's model at `revision`, unless a newer one is served already.
fn swap(shared: &Shared, model: Model, revision: i64) {
    // Under the lock, so that of two swaps the older model never lands after the newer.
    if let Ok(mut served) = shared.served.lock() {
        if *served < revision {
            *served = revision;
            shared.app.model.store(Arc::new(model));
        }
    }
}

/// A refusal of this file: a change set's problems (422 with each problem), a conflict
/// (409 with what changed), a state that does not allow the step (409), or the server's
/// own errors.
enum Refusal {
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

type Answer = Result<Json<serde_json::Value>, Refusal>;

fn today() -> NaiveDate {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64);
    chrono::DateTime::from_timestamp(now, 0)
        .unwrap_or_default()
        .date_naive()
}

/// Checks the token, then runs `work` with the caller and the store on a blocking thread.
async fn with_store(
    shared: Arc<Shared>,
    headers: &HeaderMap,
    work: impl FnOnce(&Shared, &Caller, &mut dyn Store) -> Answer + Send + 'static,
) -> Answer {
    let token = bearer(headers)?;
    tokio::task::spawn_blocking(move || {
        let candidate = shared
            .app
            .tokens
            .lock()
            .map_err(|_| ApiError::Internal("token store lock poisoned".into()))?
            .find(&token)
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .ok_or(ApiError::Unauthorized)?;
        let caller = candidate
            .verify()
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .ok_or(ApiError::Unauthorized)?;
        let mut store =
            holdco_store::open_store(&shared.db).map_err(|e| ApiError::Internal(e.to_string()))?;
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
async fn propose(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Answer {
    let body: ProposeBody = serde_json::from_slice(&body).map_err(|error| {
        Refusal::Body(format!(
            "the body is not a change set: {error} (expected {{\"message\": \"...\", \"patch\": {{...}}}} or {{\"message\": \"...\", \"files\": {{PATH: TEXT}}}})"
        ))
    })?;
    with_store(shared, &headers, move |shared, caller, store| {
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
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
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
    with_store(shared, &headers, move |shared, caller, store| {
        let model = shared.app.model.load_full();
        let records: Vec<ChangesetRecord> = store
            .changesets()?
            .into_iter()
            .filter(|record| wanted.is_none_or(|state| record.state == state))
            .filter(|record| visible(caller, &model, record))
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
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    let id = parse_id(&id)?;
    with_store(shared, &headers, move |shared, caller, store| {
        let record = changeset::get(store, id)?;
        if !visible(caller, &shared.app.model.load_full(), &record) {
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
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
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
    with_store(shared, &headers, move |shared, caller, store| {
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
        let model = shared.app.model.load_full();
        if !visible(caller, &model, &record) {
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
                // with it, every later request sees the new one.
                if let Some(model) = store.load()? {
                    swap(shared, model, applied.revision);
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
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
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
    with_store(shared, &headers, move |shared, caller, store| {
        let model = shared.app.model.load_full();
        let entries: Vec<changeset::LogEntry> = changeset::log(store, unit.as_deref(), since)?
            .into_iter()
            .filter(|entry| in_scope(caller, &model, &entry.units))
            .collect();
        Ok(Json(serde_json::to_value(entries).unwrap_or_default()))
    })
    .await
}
