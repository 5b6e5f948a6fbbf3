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
use crate::error::ErrorBody;
use crate::queries::{params, RawQuery};
use crate::tokens::{Caller, Role};
use crate::{ApiError, AppState, SharedState};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use holdco_changeset::{self as changeset, Action, ChangesetError, Proposal, GROUP_WIDE};
use holdco_core::timeline::Timeline;
use holdco_core::{Model, UnitId};
use holdco_store::{ChangesetRecord, ChangesetState, Store, StoreError};
use serde::Deserialize;
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The change-set routes with their documentation, merged into the server's API. Handlers
/// take the caller from [`Authorized`], as every other route does.
pub(crate) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(propose, list))
        .routes(routes!(show))
        .routes(routes!(step))
        .routes(routes!(audit))
}

crate::openapi::described!(
    Created (object): "The change set recorded as a draft: id, base_revision, diff (every timeline change, fact, rate and document before and after) and preview (structure before and after, restated roll-up cells that differ). docs/format.md, \"Change sets\".",
    ChangesetRecords (array): "Change sets, oldest first: id, author, message, state, base_revision, applied_revision, kind, units, reverts, created_at.",
    StepAnswer (object): "After submit, approve, reject or withdraw: the change set (id, author, message, state, base_revision, applied_revision, kind, units, reverts, created_at). After apply: changeset, revision (the store's new revision), facts_new, facts_revised.",
    Shown (object): "A change set with its review (transitions), the store's revision, stale, the diff, the preview on the current model and its problems there.",
    AuditEntries (array): "The audit trail as `holdco log --json`: revision, base_revision, changeset, at, applied_by, author, message, units, summary.",
);

/// A refused change set or step: `error` is `invalid` (with `problems`, each with file or
/// JSON pointer, line, field and message), `conflict` (with `since`, the audit entries
/// applied after the change set's base revision), `state` or `bad_body`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RefusalBody {
    /// `invalid`, `conflict`, `state` or `bad_body`.
    error: String,
    /// What was wrong.
    message: String,
    /// The change set's problems (`invalid`).
    #[schema(value_type = Option<Vec<Object>>)]
    problems: Option<()>,
    /// What was applied since the base revision (`conflict`).
    #[schema(value_type = Option<Vec<Object>>)]
    since: Option<()>,
}

/// A body read as bytes: over the limit is 413, an unreadable body 400.
fn bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Refusal> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(crate::BODY_LIMIT).into()
        } else {
            Refusal::Body(e.body_text())
        }
    })
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
pub(crate) fn in_scope(caller: &Caller, model: &Model, units: &[String]) -> bool {
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

/// The body of `POST /api/v1/changesets`: a message and the change set, as `patch` (the
/// JSON form) or as `files` (a model-folder patch), one of the two.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProposeBody {
    /// Why (required).
    message: String,
    /// The change set in the JSON form (see docs/format.md, "Change sets"): `timeline`,
    /// `facts`, `fx` as text fragments in the folder's formats, `documents`, `remove`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    patch: Option<serde_json::Value>,
    /// Or as the files of a model-folder patch, by path.
    #[serde(default)]
    files: Option<HashMap<String, String>>,
}

/// Propose a change set: validated as `holdco check` validates a folder, previewed and
/// recorded as a draft (analyst, approver or admin; a scoped token only within its subtrees).
#[utoipa::path(
    post,
    path = "/api/v1/changesets",
    tag = "changesets",
    request_body = ProposeBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The draft, its diff and preview", body = Created),
        (status = 400, description = "A body that is not a change set, or no message", body = RefusalBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "A viewer, or units outside the token's scope", body = ErrorBody),
        (status = 413, description = "A body over 1 MiB", body = ErrorBody),
        (status = 422, description = "The change set has problems (each named); nothing recorded", body = RefusalBody),
    )
)]
async fn propose(
    State(shared): State<SharedState>,
    Authorized(caller): Authorized,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let body = bytes(body)?;
    let body: ProposeBody = serde_json::from_slice(&body).map_err(|error| {
        Refusal::Body(format!(
            "the body is not a change set: {error} (expected {{\"message\": \"...\", \"patch\": {{...}}}} or {{\"message\": \"...\", \"files\": {{PATH: TEXT}}}})"
        ))
    })?;
    with_store(shared, caller, move |shared, caller, store| {
        need(caller, &[Role::Analyst, Role::Approver, Role::Admin], "propose a change set")?;
        // The served model (valid, read at a known revision) is the base: nothing is loaded,
        // only what the patch can affect is validated, only the cells it can touch are
        // previewed. The draft's base revision is the served one, so if the store moved on
        // meanwhile, its apply is a conflict.
        let served = shared.snapshot();
        let Some(revision) = served.revision() else {
            return Err(ApiError::Internal("the served model has no store revision".into()).into());
        };
        let base = served.model();
        let patch = match (&body.patch, &body.files) {
            (Some(patch), None) => changeset::patch::from_json(&patch.to_string(), base),
            (None, Some(files)) => changeset::patch::from_files(
                files
                    .iter()
                    .map(|(path, text)| (path.clone(), text.clone().into_bytes()))
                    .collect(),
                "files",
                base,
            ),
            _ => {
                return Err(Refusal::Body(
                    "give the change set as \"patch\" (JSON form) or as \"files\" (a model-folder patch), one of the two".into(),
                ))
            }
        }
        .map_err(Refusal::Invalid)?;
        // The scope is judged on what the change set changes, before anything is recorded.
        // Evaluated without copying the served model's facts (the frame after and the diff).
        let evaluation = changeset::evaluate_valid_frame(base, &patch).map_err(Refusal::Invalid)?;
        let units = evaluation.diff.units();
        if !in_scope(caller, base, &units) && !in_scope(caller, &evaluation.frame, &units) {
            return Err(scope_refusal(caller));
        }
        let created = changeset::create_on(
            store,
            Proposal {
                patch,
                author: &caller.name,
                message: &body.message,
                kind: "patch",
                reverts: None,
            },
            revision,
            base,
            evaluation,
            today(),
        )?;
        Ok(Json(serde_json::to_value(&created).unwrap_or_default()))
    })
    .await
}

/// Whether a scoped caller sees this change set.
fn visible(caller: &Caller, model: &Model, record: &ChangesetRecord) -> bool {
    in_scope(caller, model, &record.units)
}

/// Parameters of `GET /api/v1/changesets`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Only change sets in this state: draft, submitted, approved, applied, rejected or
    /// withdrawn.
    state: Option<String>,
}

/// The change sets the caller may see, oldest first (a scoped token: those within its
/// subtrees).
#[utoipa::path(
    get,
    path = "/api/v1/changesets",
    tag = "changesets",
    params(ListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The change sets", body = ChangesetRecords),
        (status = 400, description = "An unknown parameter or state", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
async fn list(
    State(shared): State<SharedState>,
    Authorized(caller): Authorized,
    raw: RawQuery,
) -> Answer {
    let p: ListParams = params(raw)?;
    let wanted = p
        .state
        .map(|value| {
            ChangesetState::parse(&value).ok_or_else(|| {
                ApiError::bad(
                    "state",
                    format!("`{value}` is not a state (draft, submitted, approved, applied, rejected, withdrawn)"),
                )
            })
        })
        .transpose()?;
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

/// A change set with its review, what it changes (or changed) and its problems on the
/// current model.
#[utoipa::path(
    get,
    path = "/api/v1/changesets/{id}",
    tag = "changesets",
    params(("id" = i64, Path, description = "Change set id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The change set", body = Shown),
        (status = 400, description = "An id that is not a number", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "A change set outside the token's scope", body = ErrorBody),
        (status = 404, description = "No such change set", body = ErrorBody),
    )
)]
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
        let served = shared.snapshot();
        let shown = changeset::show_on(
            store,
            id,
            today(),
            served.revision().map(|revision| (served.model(), revision)),
        )?;
        Ok(Json(serde_json::to_value(&shown).unwrap_or_default()))
    })
    .await
}

/// A step of review.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(crate) enum Step {
    /// Draft → submitted, by the author.
    Submit,
    /// Submitted → approved, by anyone but the author.
    Approve,
    /// Submitted or approved → rejected, by anyone but the author.
    Reject,
    /// Draft, submitted or approved → withdrawn, by the author.
    Withdraw,
    /// Approved → applied, by anyone but the author.
    Apply,
}

/// The optional body of a step: a note (why it was rejected ...).
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StepBody {
    /// A note recorded with the step.
    #[serde(default)]
    note: Option<String>,
}

/// Take a step of review: submit or withdraw (the author: analyst and up), approve, reject
/// or apply (approver or admin, never the author). An apply checks the change set's base
/// revision: 409 with what changed when the model moved on.
#[utoipa::path(
    post,
    path = "/api/v1/changesets/{id}/{action}",
    tag = "changesets",
    params(
        ("id" = i64, Path, description = "Change set id"),
        ("action" = inline(Step), Path, description = "submit, approve, reject, withdraw or apply"),
    ),
    request_body(content = Option<StepBody>, description = "Optional: a note", content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The change set after the step (`apply`: the revision made)", body = StepAnswer),
        (status = 400, description = "An id that is not a number, or a body that is not a step", body = RefusalBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The role may not take this step, four eyes, or a change set outside the token's scope", body = ErrorBody),
        (status = 404, description = "No such change set, or no such step", body = ErrorBody),
        (status = 409, description = "The state does not allow the step, or (apply) the model moved on since the base revision", body = RefusalBody),
        (status = 413, description = "A body over 1 MiB", body = ErrorBody),
        (status = 422, description = "(apply) the change set has problems on the current model", body = RefusalBody),
    )
)]
async fn step(
    State(shared): State<SharedState>,
    Authorized(caller): Authorized,
    Path((id, action)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let id = parse_id(&id)?;
    let body = bytes(body)?;
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
                // Under the writer's lock, so the watcher cannot load the revision this apply
                // writes while it is swapped in from memory.
                let _writing = shared.writing();
                let served = shared.snapshot();
                let on = match served.revision() {
                    Some(revision) => {
                        changeset::apply_on(store, id, &caller.name, served.model(), revision)?
                    }
                    None => changeset::AppliedOn {
                        applied: changeset::apply(store, id, &caller.name)?,
                        model: None,
                    },
                };
                let applied = on.applied;
                // Swap in the model the apply made (built from the served one and the patch,
                // or, when the served model was behind the store, read from it): readers
                // holding the old snapshot finish with it, every later request sees the new
                // one. (Should that fail, the apply stands and the watcher tries again at its
                // next poll.)
                let swapped = match on.model {
                    Some(model) => shared.swap_in(&served, model, applied.revision),
                    None => shared.reload_locked().map(|_| ()),
                };
                drop(served);
                if let Err(error) = swapped {
                    eprintln!("holdco serve: the change set was applied, but serving the model after failed: {error:#}");
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

/// Parameters of `GET /api/v1/audit`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditParams {
    /// Only entries touching this unit (or the whole group).
    unit: Option<String>,
    /// Only entries applied on or after this date, `YYYY-MM-DD`.
    since: Option<String>,
}

/// The audit trail (the CLI's `holdco log --json`): every applied change set, oldest first
/// (a scoped token: those within its subtrees).
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "changesets",
    params(AuditParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The entries", body = AuditEntries),
        (status = 400, description = "An unknown parameter, or `since` not a date", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
async fn audit(
    State(shared): State<SharedState>,
    Authorized(caller): Authorized,
    raw: RawQuery,
) -> Answer {
    let p: AuditParams = params(raw)?;
    let unit = p.unit;
    let since = p
        .since
        .map(|value| {
            holdco_core::period::parse_iso_date(&value).ok_or_else(|| {
                ApiError::bad("since", format!("`{value}` is not a date (YYYY-MM-DD)"))
            })
        })
        .transpose()?;
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
