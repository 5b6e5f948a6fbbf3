//! Small endpoints the dashboard (crate `holdco-dashboard`) needs and the main API does
//! not answer: who the caller is, what the model holds (group, metrics, years with figures)
//! and the whole timeline in one compact document, so the browser can draw the tree on any
//! date, and the difference between two dates, without asking the server again while a
//! date slider moves; and the answers of its pages beyond the CLI's reads: a capital plan
//! re-solved on a draft of its inputs, the review dates of strategic-innovation cycles,
//! people and boards on a date with the pipeline, a table as a workbook, and a scenario
//! comparison that reports its progress.
//!
//! Routes, documented in docs/format.md ("Dashboard endpoints"); a scoped token sees its
//! subtrees only, whole-group answers are refused to it:
//! `GET /api/v1/dashboard/session`, `GET /api/v1/dashboard/model`,
//! `GET /api/v1/dashboard/timeline` (built once per snapshot and kept, per scope set),
//! `GET|POST /api/v1/dashboard/plan/draft` (analyst or admin; nothing is written),
//! `POST /api/v1/dashboard/plan/draft/changeset` (the draft submitted as a change set),
//! `GET /api/v1/dashboard/reviews`, `GET /api/v1/dashboard/governance`,
//! `POST /api/v1/dashboard/xlsx`, `GET /api/v1/dashboard/scenarios/compare` (NDJSON).

use crate::auth::Authorized;
use crate::error::ApiError;
use crate::queries;
use crate::tokens::{Caller, Role};
use crate::{AppState, SharedState};
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use holdco_app::Snapshot;
use holdco_core::timeline::{Timeline, UnitIndex};
use holdco_core::{ChangeKind, Granularity, Model, Period, UnitId};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

/// The dashboard's routes with their documentation, merged into the server's API.
pub(crate) fn routes() -> utoipa_axum::router::OpenApiRouter<SharedState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(session))
        .routes(utoipa_axum::routes!(model_summary))
        .routes(utoipa_axum::routes!(timeline))
        .routes(utoipa_axum::routes!(draft_inputs, draft_plan))
        .routes(utoipa_axum::routes!(draft_changeset))
        .routes(utoipa_axum::routes!(reviews))
        .routes(utoipa_axum::routes!(governance))
        .routes(utoipa_axum::routes!(xlsx))
        .routes(utoipa_axum::routes!(compare_with_progress))
}

// ---------------------------------------------------------------------------------------
// Documents kept per snapshot

/// One built document, shared by the requests that wait for it.
type Slot = Arc<OnceLock<Result<Bytes, String>>>;

/// The dashboard's documents built from the snapshot served: kept until the snapshot is
/// swapped out (a new revision of the store), so a sign-in costs the replay once per
/// revision and scope set rather than once per request.
#[derive(Default)]
pub(crate) struct Cache {
    entry: Mutex<Option<Entry>>,
}

struct Entry {
    /// The snapshot the documents were built from (a `Weak` keeps its address from being
    /// reused while the entry lives, so comparing addresses is sound).
    snapshot: Weak<Snapshot>,
    /// Timeline documents by the caller's sorted scopes (empty: the whole group).
    timelines: HashMap<Vec<String>, Slot>,
    /// The model summary.
    summary: Slot,
}

/// Most scope sets whose timeline documents are kept per snapshot.
const MAX_SCOPE_SETS: usize = 32;

impl Cache {
    /// The entry of `snapshot`, replacing the entry of an older one.
    fn with_entry<T>(&self, snapshot: &Arc<Snapshot>, f: impl FnOnce(&mut Entry) -> T) -> T {
        let mut guard = self.entry.lock().unwrap_or_else(PoisonError::into_inner);
        let current = guard
            .as_ref()
            .is_some_and(|e| std::ptr::eq(e.snapshot.as_ptr(), Arc::as_ptr(snapshot)));
        if !current {
            *guard = Some(Entry {
                snapshot: Arc::downgrade(snapshot),
                timelines: HashMap::new(),
                summary: Slot::default(),
            });
        }
        let entry = guard.get_or_insert_with(|| Entry {
            snapshot: Arc::downgrade(snapshot),
            timelines: HashMap::new(),
            summary: Slot::default(),
        });
        f(entry)
    }

    fn timeline_slot(&self, snapshot: &Arc<Snapshot>, scopes: &[UnitId]) -> Slot {
        let mut key: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        key.sort();
        key.dedup();
        self.with_entry(snapshot, |entry| {
            if entry.timelines.len() >= MAX_SCOPE_SETS && !entry.timelines.contains_key(&key) {
                entry.timelines.retain(|k, _| k.is_empty());
            }
            entry.timelines.entry(key).or_default().clone()
        })
    }

    fn summary_slot(&self, snapshot: &Arc<Snapshot>) -> Slot {
        self.with_entry(snapshot, |entry| entry.summary.clone())
    }
}

/// The timeline document of `scopes` on the current snapshot: built by the first request
/// (the others wait for it), then served from memory until the snapshot is swapped.
fn timeline_document(state: &AppState, scopes: &[UnitId]) -> Result<Bytes, ApiError> {
    let snapshot = state.snapshot();
    let slot = state.dashboard.timeline_slot(&snapshot, scopes);
    slot.get_or_init(|| {
        timeline_text(snapshot.engine().timeline(), scopes)
            .map(Bytes::from)
            .map_err(|e| e.to_string())
    })
    .clone()
    .map_err(ApiError::Internal)
}

/// Builds the whole group's timeline document of the snapshot served (run after a model is
/// loaded or swapped in, off the request path).
pub(crate) fn warm(state: &AppState) {
    let _ = timeline_document(state, &[]);
}

crate::openapi::described!(
    Session (object): "Who the caller is: name, role, scopes, the endpoints this server answers and what the role may do (read, propose, approve, manage_tokens).",
    ModelSummary (object): "The group (id, name, currency, fiscal year end), its metrics (id, name, measure, aggregation, scale), the fiscal years with figures and the dates the structure changes on.",
    TimelineSchema (object): "The whole timeline in one compact document (units, names, parents and stakes over time, dates as day numbers since 1970-01-01); a scoped token gets its subtrees.",
    DraftInputs (object): "A capital plan's inputs a draft may change: total, risk_aversion, budgets by year, and per unit its floor, cap and cycle commitment.",
    DraftPlan (object): "The capital plan re-solved on a draft (as `holdco plan --json`): allocations by unit and year, binding constraints with shadow prices.",
    Reviews (object): "Review dates of units on a funding cycle: cycle start, earliest, next and end, with due and past flags.",
    GovernancePage (object): "People on a date, boards with seats and independence, the leadership pipeline against its target, and breaches.",
    XlsxTableSchema (object): "A table to write as XLSX: a title, column names and rows of cells (text or numbers).",
    DraftChangeSetBody (object): "`message` (why) and `draft` (the values to change, as the draft route takes them).",
    DraftChangeSet (object): "The change set recorded and submitted (`changeset`, `diff`, `preview`) and the draft's `plan`.",
);

/// Runs `work` with the served model and the caller (its token already checked by
/// [`Authorized`]) on a blocking thread.
async fn answer(
    state: SharedState,
    caller: Caller,
    work: impl FnOnce(&Arc<Snapshot>, &Caller) -> Result<Value, ApiError> + Send + 'static,
) -> Result<Json<Value>, ApiError> {
    let result = tokio::task::spawn_blocking(move || {
        let snapshot = state.snapshot();
        work(&snapshot, &caller)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("request task failed: {e}")))?;
    result.map(Json)
}

/// The query string as name-value pairs; one that cannot be read (a bad `%` escape) is a 400
/// in the API's own shape rather than axum's plain-text rejection.
type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

fn read_params(params: Params) -> Result<HashMap<String, String>, ApiError> {
    params.map(|Query(params)| params).map_err(|e| {
        ApiError::bad(
            "query",
            format!("cannot read the query string: {}", e.body_text()),
        )
    })
}

/// Refuses any query parameter: these endpoints take none.
fn no_params(params: &HashMap<String, String>) -> Result<(), ApiError> {
    let mut names: Vec<&String> = params.keys().collect();
    names.sort();
    match names.first() {
        Some(name) => Err(ApiError::bad(
            name,
            "unknown parameter (this endpoint takes none)",
        )),
        None => Ok(()),
    }
}

/// Who the caller is and what its role may do.
#[utoipa::path(
    get,
    path = "/api/v1/dashboard/session",
    tag = "dashboard",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The session", body = Session),
        (status = 400, description = "A query parameter (this endpoint takes none)", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
    )
)]
async fn session(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let params = read_params(params)?;
    answer(state, caller, move |_model, caller| {
        no_params(&params)?;
        Ok(session_json(caller))
    })
    .await
}

/// The endpoints beyond structure, rollup, explain and reconcile that this server answers:
/// the dashboard offers a page only when its endpoints are here. (The browser test opens
/// every page offered, so an entry without its endpoint fails there.)
const ENDPOINTS: &[&str] = &[
    "/api/v1/dashboard/plan/draft",
    "/api/v1/dashboard/plan/draft/changeset",
    "/api/v1/dashboard/reviews",
    "/api/v1/dashboard/governance",
    "/api/v1/dashboard/xlsx",
    "/api/v1/dashboard/scenarios/compare",
    "/api/v1/changesets",
    "/api/v1/audit",
    "/api/v1/history",
    "/api/v1/classify",
    "/api/v1/plan",
    "/api/v1/scenarios",
    "/api/v1/scenarios/compare",
];

/// The caller's name, role, scopes and what the role may do (the dashboard shows only the
/// controls a role may use; the server checks again on every write).
fn session_json(caller: &Caller) -> Value {
    let role = caller.role;
    json!({
        "endpoints": ENDPOINTS,
        "name": caller.name,
        "role": role.name(),
        "scopes": caller.scopes.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        "may": {
            "read": true,
            "propose": matches!(role, Role::Analyst | Role::Admin),
            "approve": matches!(role, Role::Approver | Role::Admin),
            "draft_plan": may_draft(role),
            "manage_tokens": role == Role::Admin,
        },
    })
}

/// What the model holds: group, metrics, years with figures, change dates.
#[utoipa::path(
    get,
    path = "/api/v1/dashboard/model",
    tag = "dashboard",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The summary", body = ModelSummary),
        (status = 400, description = "A query parameter (this endpoint takes none)", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
    )
)]
async fn model_summary(
    State(state): State<SharedState>,
    Authorized(_caller): Authorized,
    params: Params,
) -> Result<Response, ApiError> {
    let params = read_params(params)?;
    no_params(&params)?;
    let body = tokio::task::spawn_blocking(move || {
        let snapshot = state.snapshot();
        let slot = state.dashboard.summary_slot(&snapshot);
        slot.get_or_init(|| {
            serde_json::to_vec(&summary_json(
                snapshot.model(),
                snapshot.engine().timeline(),
            ))
            .map(Bytes::from)
            .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(ApiError::Internal)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("request task failed: {e}")))??;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The group, its metrics (with scale and measure), the fiscal years that hold figures and
/// the dates the structure changes on.
fn summary_json(model: &Model, timeline: &Timeline) -> Value {
    let calendar = model.group.calendar();
    let metrics: Vec<Value> = model
        .metrics
        .iter()
        .map(|m| {
            json!({
                "id": m.id.to_string(),
                "name": m.name,
                "measure": m.measure,
                "aggregation": m.aggregation,
                "scale": m.scale,
            })
        })
        .collect();
    let mut years: BTreeSet<Period> = BTreeSet::new();
    for fact in &model.facts {
        years.insert(Period::containing(
            fact.key.period.last_day(),
            Granularity::Year,
            calendar,
        ));
    }
    let dates: BTreeSet<NaiveDate> = timeline.changes.iter().map(|c| c.date).collect();
    let (month, day) = model.group.fiscal_year_end;
    json!({
        "group": {
            "id": model.group.id.to_string(),
            "name": model.group.name,
            "currency": model.group.currency.to_string(),
            "fiscal_year_end": format!("{month:02}-{day:02}"),
        },
        "metrics": metrics,
        "years": years.iter().map(|p| p.label(calendar)).collect::<Vec<_>>(),
        "first_date": dates.first(),
        // As the engine's latest structure date: the date of the latest change.
        "latest_structure": dates.last(),
        "change_dates": dates,
    })
}

/// The timeline as one compact document, for drawing the tree on any date in the browser.
#[utoipa::path(
    get,
    path = "/api/v1/dashboard/timeline",
    tag = "dashboard",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The timeline document", body = TimelineSchema),
        (status = 400, description = "A query parameter (this endpoint takes none)", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
    )
)]
async fn timeline(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    params: Params,
) -> Result<Response, ApiError> {
    let params = read_params(params)?;
    no_params(&params)?;
    // The document is written straight to text (a 100,000-unit timeline is some 10 MB; a
    // JSON value tree of it would cost more than the replay) and kept per snapshot.
    let body = tokio::task::spawn_blocking(move || timeline_document(&state, &caller.scopes))
        .await
        .map_err(|e| ApiError::Internal(format!("request task failed: {e}")))??;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Days since 1970-01-01: the compact date of the timeline document.
fn day(date: NaiveDate) -> i64 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date")).num_days()
}

/// `GET /api/v1/dashboard/timeline`.
#[derive(Serialize)]
struct TimelineDocument<'a> {
    /// Day 0 of the day numbers.
    epoch: &'static str,
    /// Index of the root in `units`; None for a scoped token.
    root: Option<u32>,
    units: Vec<UnitRow<'a>>,
    changes: Vec<ChangeRow<'a>>,
}

/// A unit as an array, to keep a 100,000-unit timeline small:
/// `[id, kind, created_day, ended_day|null, [[day, name]...], [[day, parent|null]...]]`.
#[derive(Serialize)]
struct UnitRow<'a>(
    &'a str,
    &'a str,
    i64,
    Option<i64>,
    Vec<(i64, &'a str)>,
    Vec<(i64, Option<u32>)>,
);

#[derive(Serialize)]
struct ChangeRow<'a> {
    seq: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    date: NaiveDate,
    kind: &'static str,
    units: Vec<&'a str>,
    /// The change as written, for merges and splits (whose parts and shares the dashboard
    /// shows); the other kinds are told by `kind` and `units`.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a ChangeKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
}

/// Every unit the caller may see with its life, names and parents over time, and every
/// change that names one of them. A parent is an index into `units` (null for a top: the
/// root, or a unit whose parent the caller may not see).
fn timeline_text(timeline: &Timeline, scopes: &[UnitId]) -> Result<String, ApiError> {
    let count = timeline.units.len();
    // A scoped token sees the units that were inside one of its subtrees on some date the
    // structure changed (every change date is a date the tree may differ).
    let whole_group = scopes.is_empty();
    let visible: Vec<bool> = if whole_group {
        vec![true; count]
    } else {
        let scopes: Vec<UnitIndex> = scopes.iter().filter_map(|s| timeline.unit(s)).collect();
        let dates: BTreeSet<NaiveDate> = timeline.changes.iter().map(|c| c.date).collect();
        let mut seen = vec![false; count];
        for date in dates {
            let structure = timeline.structure_on(date);
            for (unit, flag) in seen.iter_mut().enumerate() {
                if !*flag
                    && scopes
                        .iter()
                        .any(|s| structure.in_subtree(unit as UnitIndex, *s))
                {
                    *flag = true;
                }
            }
        }
        seen
    };
    // New positions of the visible units.
    let mut position = vec![u32::MAX; count];
    let mut next = 0u32;
    for (unit, shown) in visible.iter().enumerate() {
        if *shown {
            position[unit] = next;
            next += 1;
        }
    }
    let units = timeline
        .units
        .iter()
        .enumerate()
        .filter(|(unit, _)| visible[*unit])
        .map(|(_, record)| {
            UnitRow(
                record.id.as_str(),
                record.kind.as_str(),
                day(record.created),
                record.ended.map(|(date, _)| day(date)),
                record
                    .names
                    .iter()
                    .map(|(date, name)| (day(*date), name.as_str()))
                    .collect(),
                record
                    .parents
                    .iter()
                    .map(|(date, parent)| {
                        let parent = parent
                            .map(|p| position[p as usize])
                            .filter(|p| *p != u32::MAX);
                        (day(*date), parent)
                    })
                    .collect(),
            )
        })
        .collect();
    let changes = timeline
        .changes
        .iter()
        .enumerate()
        .filter(|(_, change)| {
            change
                .kind
                .units()
                .iter()
                .any(|id| timeline.unit(id).is_some_and(|u| visible[u as usize]))
        })
        .map(|(seq, change)| ChangeRow {
            seq,
            id: change.id.as_deref(),
            date: change.date,
            kind: change.kind.name(),
            units: change.kind.units().iter().map(|u| u.as_str()).collect(),
            detail: matches!(
                change.kind,
                ChangeKind::Merge { .. } | ChangeKind::Split { .. }
            )
            .then_some(&change.kind),
            note: change.note.as_deref(),
            source: change.source.as_deref(),
        })
        .collect();
    let document = TimelineDocument {
        epoch: "1970-01-01",
        root: whole_group.then(|| position[timeline.root as usize]),
        units,
        changes,
    };
    serde_json::to_string(&document).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Refuses any query parameter but `allowed`.
fn only_params(params: &HashMap<String, String>, allowed: &[&str]) -> Result<(), ApiError> {
    let mut names: Vec<&String> = params
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .collect();
    names.sort();
    match names.first() {
        Some(name) => Err(ApiError::bad(
            name,
            format!(
                "unknown parameter (this endpoint takes {})",
                allowed.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    params.get(name).map(String::as_str)
}

// ---------------------------------------------------------------------------------------
// Capital: a draft re-solved without saving

/// Roles that may re-solve a draft of the plan: those that may propose a change set (the
/// draft is what such a change set would hold).
fn may_draft(role: Role) -> bool {
    matches!(role, Role::Analyst | Role::Admin)
}

fn draft_allowed(caller: &Caller) -> Result<(), ApiError> {
    queries::whole_group(caller, "the capital plan")?;
    if may_draft(caller.role) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "token `{}` is a {}: re-solving a draft of the plan takes an analyst or admin token",
            caller.name,
            caller.role.name()
        )))
    }
}

/// The plan's inputs a draft may change, as the page edits them.
fn draft_inputs_json(capital: &holdco_strategy::capital::Capital) -> Value {
    let bounds = |list: &[holdco_strategy::capital::UnitBound]| -> Vec<Value> {
        list.iter()
            .enumerate()
            .map(|(index, b)| {
                json!({ "index": index, "unit": b.unit.to_string(), "amount": b.amount,
                        "years": [b.years.0, b.years.1], "note": b.note })
            })
            .collect()
    };
    let mut budgets: Vec<&holdco_strategy::capital::Budget> = capital.budgets.iter().collect();
    budgets.sort_by_key(|b| b.year);
    json!({
        "name": capital.name,
        "currency": capital.currency,
        "scale": capital.scale,
        "total": capital.total,
        "risk_aversion": capital.risk_aversion,
        "budgets": budgets.iter().map(|b| json!({ "year": b.year, "amount": b.amount })).collect::<Vec<_>>(),
        "floors": bounds(&capital.floors),
        "caps": bounds(&capital.caps),
        "cycles": bounds(&capital.cycles),
    })
}

/// A draft of the plan's inputs: each field left out keeps the stored value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Draft {
    total: Option<f64>,
    risk_aversion: Option<f64>,
    #[serde(default)]
    budgets: Vec<YearAmount>,
    #[serde(default)]
    floors: Vec<BoundAmount>,
    #[serde(default)]
    caps: Vec<BoundAmount>,
    #[serde(default)]
    cycles: Vec<BoundAmount>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearAmount {
    year: i32,
    amount: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BoundAmount {
    index: usize,
    amount: f64,
}

/// Largest amount a draft may set (far beyond any budget; keeps the solver's precision).
const MAX_DRAFT_AMOUNT: f64 = 1e13;

fn amount_ok(pointer: String, amount: f64) -> Result<f64, ApiError> {
    if amount.is_finite() && (0.0..=MAX_DRAFT_AMOUNT).contains(&amount) {
        Ok(amount)
    } else {
        Err(ApiError::BadBody {
            pointer,
            message: format!("{amount}: expected an amount from 0 to {MAX_DRAFT_AMOUNT:e}"),
        })
    }
}

/// The stored capital document with the draft's values put in; a year or bound the
/// document lacks is a 400 naming it.
fn apply_draft(
    capital: &mut holdco_strategy::capital::Capital,
    draft: &Draft,
) -> Result<(), ApiError> {
    if let Some(total) = draft.total {
        capital.total = Some(amount_ok("/total".into(), total)?);
    }
    if let Some(aversion) = draft.risk_aversion {
        if !(aversion.is_finite()
            && (0.0..=holdco_strategy::capital::MAX_PER_UNIT_OF_MONEY).contains(&aversion))
        {
            return Err(ApiError::BadBody {
                pointer: "/risk_aversion".into(),
                message: format!(
                    "{aversion}: expected a weight from 0 to {:e}",
                    holdco_strategy::capital::MAX_PER_UNIT_OF_MONEY
                ),
            });
        }
        capital.risk_aversion = aversion;
    }
    let years = capital.years();
    for (k, edit) in draft.budgets.iter().enumerate() {
        let amount = amount_ok(format!("/budgets/{k}/amount"), edit.amount)?;
        let budget = capital
            .budgets
            .iter_mut()
            .find(|b| b.year == edit.year)
            .ok_or_else(|| ApiError::BadBody {
                pointer: format!("/budgets/{k}/year"),
                message: format!(
                    "{}: not a budgeted year of capital.toml (years: {})",
                    edit.year,
                    years
                        .iter()
                        .map(|y| y.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        budget.amount = amount;
    }
    for (name, edits, list) in [
        ("floors", &draft.floors, &mut capital.floors),
        ("caps", &draft.caps, &mut capital.caps),
        ("cycles", &draft.cycles, &mut capital.cycles),
    ] {
        let count = list.len();
        for (k, edit) in edits.iter().enumerate() {
            let amount = amount_ok(format!("/{name}/{k}/amount"), edit.amount)?;
            let bound = list.get_mut(edit.index).ok_or_else(|| ApiError::BadBody {
                pointer: format!("/{name}/{k}/index"),
                message: format!(
                    "{}: capital.toml has {count} {name} (index 0 to {})",
                    edit.index,
                    count.saturating_sub(1)
                ),
            })?;
            bound.amount = amount;
        }
    }
    Ok(())
}

fn capital_of(
    documents: &holdco_strategy::Documents,
) -> Result<holdco_strategy::capital::Capital, ApiError> {
    documents
        .capital
        .clone()
        .ok_or_else(|| ApiError::Unprocessable("the model has no capital.toml".into()))
}

/// `GET /api/v1/dashboard/plan/draft`: the inputs a draft may change, as stored.
#[utoipa::path(
    get,
    path = "/api/v1/dashboard/plan/draft",
    tag = "dashboard",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The capital plan's inputs a draft may change (total, risk aversion, yearly budgets, each unit's floor, cap and cycle commitment), as stored", body = DraftInputs),
        (status = 400, description = "A query parameter (this endpoint takes none)", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 403, description = "Only an analyst or an admin of the whole group drafts a plan", body = crate::error::ErrorBody),
        (status = 422, description = "The model has no capital plan, or it cannot be read", body = crate::error::ErrorBody),
    )
)]
async fn draft_inputs(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let params = read_params(params)?;
    answer(state, caller, move |snapshot, caller| {
        no_params(&params)?;
        draft_allowed(caller)?;
        let documents = queries::documents(snapshot)?;
        Ok(draft_inputs_json(&capital_of(&documents)?))
    })
    .await
}

/// `POST /api/v1/dashboard/plan/draft`: the plan re-solved on the stored inputs with the
/// draft's values put in (the CLI's `holdco plan --json` answer on the edited document);
/// nothing is stored. An infeasible draft is a 422 naming the conflicting constraints.
#[utoipa::path(
    post,
    path = "/api/v1/dashboard/plan/draft",
    tag = "dashboard",
    request_body(content = DraftInputs, description = "The values to change (any of the fields GET returns)", content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The plan re-solved with the draft's values (as `holdco plan --json`); nothing is stored", body = DraftPlan),
        (status = 400, description = "Malformed JSON or a bad field (with a JSON pointer), or a query parameter", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 403, description = "Only an analyst or an admin of the whole group drafts a plan", body = crate::error::ErrorBody),
        (status = 413, description = "A body over the limit", body = crate::error::ErrorBody),
        (status = 422, description = "The draft is infeasible (the conflicting constraints named), not a valid plan, or the model has no capital plan", body = crate::error::ErrorBody),
    )
)]
async fn draft_plan(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    params: Params,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let params = read_params(params)?;
    no_params(&params)?;
    draft_allowed(&caller)?;
    let draft: Draft = queries::body(&bytes)?;
    answer(state, caller, move |snapshot, _caller| {
        let documents = queries::documents(snapshot)?;
        let mut capital = capital_of(&documents)?;
        apply_draft(&mut capital, &draft)?;
        let plan = solve_draft(snapshot, &documents, &capital)?;
        Ok(json!({ "inputs": draft_inputs_json(&capital), "plan": plan, "saved": false }))
    })
    .await
}

/// The plan of an edited capital document, solved as `holdco plan` solves the stored one; an
/// infeasible draft is a 422 naming the conflicting constraints.
fn solve_draft(
    snapshot: &Snapshot,
    documents: &holdco_strategy::Documents,
    capital: &holdco_strategy::capital::Capital,
) -> Result<holdco_strategy::plan::Plan, ApiError> {
    let classes = holdco_strategy::plan::classes_on(
        snapshot.engine(),
        documents.strategy.as_ref(),
        capital.classes_on,
    );
    holdco_strategy::plan::solve_with_rates(
        capital,
        documents.strategy.as_ref(),
        &classes,
        holdco_strategy::plan::DEFAULT_MAX_RATES,
    )
    .map_err(|e| match e {
        holdco_strategy::plan::PlanError::Infeasible(conflict) => ApiError::Unprocessable(format!(
            "the draft is infeasible: these constraints conflict: {}",
            conflict.join("; ")
        )),
        other => ApiError::Unprocessable(format!("the draft cannot be solved: {other}")),
    })
}

/// The body of `POST /api/v1/dashboard/plan/draft/changeset`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DraftChangeset {
    /// Why (required), as every change set's message.
    message: String,
    /// The draft, as `POST /api/v1/dashboard/plan/draft` takes it.
    draft: Draft,
}

/// A draft's error with its pointer moved under `/draft` (the draft is a field of the body).
fn under_draft(error: ApiError) -> ApiError {
    match error {
        ApiError::BadBody { pointer, message } => ApiError::BadBody {
            pointer: format!("/draft{pointer}"),
            message,
        },
        other => other,
    }
}

/// An amount as capital.toml writes it: a whole number as an integer (as the file's own
/// amounts are written), else a float.
fn toml_amount(amount: f64) -> toml_edit::Value {
    if amount.fract() == 0.0 && amount.abs() < 9e15 {
        toml_edit::Value::from(amount as i64)
    } else {
        toml_edit::Value::from(amount)
    }
}

/// Sets `key` of a table to `amount`, keeping the value's comments and spacing (or adds the
/// key when the table lacks it).
fn set_amount(table: &mut dyn toml_edit::TableLike, key: &str, amount: f64) {
    let mut value = toml_amount(amount);
    if let Some(old) = table.get(key).and_then(toml_edit::Item::as_value) {
        *value.decor_mut() = old.decor().clone();
    }
    table.insert(key, toml_edit::Item::Value(value));
}

/// The tables of an array of tables (`[[floor]]`) or of an inline array of tables.
fn tables_of<'a>(
    document: &'a mut toml_edit::DocumentMut,
    key: &str,
) -> Vec<&'a mut dyn toml_edit::TableLike> {
    match document.get_mut(key) {
        Some(toml_edit::Item::ArrayOfTables(array)) => array
            .iter_mut()
            .map(|t| t as &mut dyn toml_edit::TableLike)
            .collect(),
        Some(toml_edit::Item::Value(toml_edit::Value::Array(array))) => array
            .iter_mut()
            .filter_map(|v| v.as_inline_table_mut())
            .map(|t| t as &mut dyn toml_edit::TableLike)
            .collect(),
        _ => Vec::new(),
    }
}

/// The stored capital.toml with the draft's values written in, everything else (comments,
/// notes, sources, order) kept as written. The draft has been checked against the parsed
/// document already ([`apply_draft`]); the caller checks the text reads back to the same
/// inputs.
fn edited_capital_text(text: &str, draft: &Draft) -> Result<String, ApiError> {
    let mut document: toml_edit::DocumentMut = text.parse().map_err(|e| {
        ApiError::Unprocessable(format!("the stored capital.toml cannot be edited: {e}"))
    })?;
    let header = document
        .get_mut("capital")
        .and_then(toml_edit::Item::as_table_like_mut)
        .ok_or_else(|| {
            ApiError::Unprocessable("the stored capital.toml has no [capital]".into())
        })?;
    if let Some(total) = draft.total {
        set_amount(header, "total", total);
    }
    if let Some(aversion) = draft.risk_aversion {
        set_amount(header, "risk_aversion", aversion);
    }
    let mut budgets = tables_of(&mut document, "budget");
    for edit in &draft.budgets {
        if let Some(budget) = budgets.iter_mut().find(|b| {
            b.get("year").and_then(toml_edit::Item::as_integer) == Some(i64::from(edit.year))
        }) {
            set_amount(&mut **budget, "amount", edit.amount);
        }
    }
    for (key, edits) in [
        ("floor", &draft.floors),
        ("cap", &draft.caps),
        ("cycle", &draft.cycles),
    ] {
        let mut tables = tables_of(&mut document, key);
        for edit in edits {
            if let Some(table) = tables.get_mut(edit.index) {
                set_amount(&mut **table, "amount", edit.amount);
            }
        }
    }
    Ok(document.to_string())
}

/// `POST /api/v1/dashboard/plan/draft/changeset`: the draft recorded as a change set that
/// writes capital.toml with the draft's values, and submitted for review (analyst or admin,
/// as the draft; the change-set rules of holdco-changeset apply: the document is read with
/// `holdco check`'s diagnostics, four eyes at review). Refused when the draft is infeasible
/// (422), changes nothing (400) or the served model is behind the store's (409).
#[utoipa::path(
    post,
    path = "/api/v1/dashboard/plan/draft/changeset",
    tag = "dashboard",
    request_body(content = DraftChangeSetBody, description = "A message and the draft (as POST /api/v1/dashboard/plan/draft takes it)", content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The change set recorded and submitted (its record, diff and preview) and the draft's plan", body = DraftChangeSet),
        (status = 400, description = "Malformed JSON or a bad field (with a JSON pointer), an empty message, a draft that changes nothing, or a query parameter", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 403, description = "Only an analyst or an admin of the whole group submits a draft", body = crate::error::ErrorBody),
        (status = 409, description = "The served capital.toml is behind the store's", body = crate::error::ErrorBody),
        (status = 413, description = "A body over the limit", body = crate::error::ErrorBody),
        (status = 422, description = "The draft is infeasible, the document fails `holdco check`, or the model has no capital plan", body = crate::error::ErrorBody),
    )
)]
async fn draft_changeset(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    params: Params,
    bytes: Bytes,
) -> crate::changesets::Answer {
    use crate::changesets::Refusal;
    use holdco_changeset::{self as changeset, Action, Proposal};
    let params = read_params(params)?;
    no_params(&params)?;
    draft_allowed(&caller)?;
    let body: DraftChangeset = queries::body(&bytes)?;
    if body.message.trim().is_empty() {
        return Err(ApiError::BadBody {
            pointer: "/message".into(),
            message: "a change set needs a message: why the plan changes".into(),
        }
        .into());
    }
    crate::changesets::with_store(state, caller, move |shared, caller, store| {
        let (base, _) = changeset::current(store)?;
        let snapshot = shared.snapshot();
        let file = holdco_strategy::CAPITAL_FILE;
        let stored = base
            .documents
            .get(file)
            .ok_or_else(|| ApiError::Unprocessable("the model has no capital.toml".into()))?;
        if snapshot.model().documents.get(file) != Some(stored) {
            return Err(Refusal::State(
                "capital.toml changed in the store since the served model was loaded: reload the page and make the draft again".into(),
            ));
        }
        let documents = queries::documents(&snapshot)?;
        let mut capital = capital_of(&documents)?;
        apply_draft(&mut capital, &body.draft).map_err(under_draft)?;
        let plan = solve_draft(&snapshot, &documents, &capital)?;
        let text = edited_capital_text(stored, &body.draft)?;
        if &text == stored {
            return Err(ApiError::BadBody {
                pointer: "/draft".into(),
                message: "the draft changes nothing: edit a budget, the total, the risk aversion, a floor, a cap or a cycle commitment first".into(),
            }
            .into());
        }
        let patch = changeset::patch::from_json(
            &json!({ "documents": { file: text } }).to_string(),
            &base,
        )
        .map_err(Refusal::Invalid)?;
        // The change set must hold exactly the draft that was solved.
        let (after, _) = changeset::evaluate(&base, &patch).map_err(Refusal::Invalid)?;
        let written = holdco_strategy::check(&after).0.capital;
        if written.as_ref().map(draft_inputs_json) != Some(draft_inputs_json(&capital)) {
            return Err(ApiError::Internal(
                "the edited capital.toml does not read back to the draft".into(),
            )
            .into());
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
            crate::changesets::today(),
        )?;
        let record = changeset::act(store, created.id, Action::Submit, &caller.name, None)?;
        Ok(Json(json!({
            "changeset": record,
            "diff": created.diff,
            "preview": created.preview,
            "plan": plan,
        })))
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Portfolio: review dates of funding cycles

/// `GET /api/v1/dashboard/reviews?at=DATE`: the review dates of units whose recorded class
/// has a funding cycle (holdco_strategy::review, rule 6.17); a scoped token gets its
/// subtrees' units.
#[utoipa::path(
    get,
    path = "/api/v1/dashboard/reviews",
    tag = "dashboard",
    params(("at" = Option<String>, Query, description = "The date the reviews are seen from (YYYY-MM-DD); today when absent")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Review dates of the units whose class has a funding cycle (rule 6.17)", body = Reviews),
        (status = 400, description = "A bad or unknown query parameter", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 422, description = "The model has no strategy.toml", body = crate::error::ErrorBody),
    )
)]
async fn reviews(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let params = read_params(params)?;
    answer(state, caller, move |snapshot, caller| {
        only_params(&params, &["at"])?;
        let at = queries::date("at", param(&params, "at"))?;
        let documents = queries::documents(snapshot)?;
        let strategy = documents
            .strategy
            .as_ref()
            .ok_or_else(|| ApiError::Unprocessable("the model has no strategy.toml".into()))?;
        let date = snapshot.structure_date(at);
        let engine = snapshot.engine();
        let timeline = engine.timeline();
        let mut list = holdco_strategy::review::reviews(strategy, timeline, date);
        if !caller.scopes.is_empty() {
            list.retain(|r| {
                UnitId::parse(&r.unit)
                    .ok()
                    .and_then(|id| timeline.unit(&id))
                    .is_some_and(|u| queries::inside(engine, caller, u, date))
            });
        }
        Ok(json!({
            "date": date,
            "due_within_days": holdco_strategy::review::DUE_WITHIN_DAYS,
            "reviews": list,
        }))
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Governance and people

/// `GET /api/v1/dashboard/governance?at=DATE`: leaders and bodies on the date (the CLI's
/// `holdco people`), each board with its seats and independence (`holdco board`), the
/// leadership pipeline against its target (`holdco pipeline --by unit`) and the breaches
/// (`holdco governance check`). A scoped token sees its subtrees' people and boards and the
/// pipeline rows of units inside them; the group's pipeline, its target and the breaches
/// are about the whole group and left out for it.
#[utoipa::path(
    get,
    path = "/api/v1/dashboard/governance",
    tag = "dashboard",
    params(("at" = Option<String>, Query, description = "The date (YYYY-MM-DD); the latest change when absent")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "People on the date, boards with seats and independence, the pipeline against its target and the breaches; a scoped token gets its subtrees", body = GovernancePage),
        (status = 400, description = "A bad or unknown query parameter", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 422, description = "The model has no people (people.csv and people events), or they cannot answer for that date", body = crate::error::ErrorBody),
    )
)]
async fn governance(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let params = read_params(params)?;
    answer(state, caller, move |snapshot, caller| {
        only_params(&params, &["at"])?;
        let at = queries::date("at", param(&params, "at"))?;
        let model = snapshot.model();
        if !holdco_governance::in_use(model) {
            return Err(ApiError::Unprocessable(
                "the model has no people: add people.csv and `people.appoint` events (docs/format.md, \"people.csv\") and import it again".into(),
            ));
        }
        let engine = snapshot.engine();
        let timeline = engine.timeline();
        let date = snapshot.structure_date(at);
        let (ledger, problems) = holdco_governance::load(model, timeline);
        if let Some(first) = problems.first() {
            return Err(ApiError::Unprocessable(format!(
                "{} problem(s) in the governance files (first: {first}); fix them and import again",
                problems.len()
            )));
        }
        let failed = |e: holdco_governance::queries::QueryError| ApiError::Unprocessable(e.0);
        let scoped = !caller.scopes.is_empty();
        let seen = |unit: &UnitId| {
            !scoped
                || timeline
                    .unit(unit)
                    .is_some_and(|u| queries::inside(engine, caller, u, date))
        };
        let alive = |unit: &UnitId| {
            timeline
                .unit(unit)
                .is_some_and(|u| timeline.record(u).alive_on(date))
        };
        // People: below the root, or below each scope alive on the date that is not inside
        // another one.
        let mut people = Vec::new();
        if scoped {
            for scope in &caller.scopes {
                let Some(index) = timeline.unit(scope).filter(|_| alive(scope)) else {
                    continue;
                };
                let structure = engine.structure(date);
                let nested = caller.scopes.iter().any(|other| {
                    other != scope
                        && timeline
                            .unit(other)
                            .is_some_and(|o| o != index && structure.in_subtree(index, o))
                });
                if !nested {
                    people.extend(
                        holdco_governance::queries::leaders_on(&ledger, timeline, date, Some(scope))
                            .map_err(failed)?,
                    );
                }
            }
        } else {
            people = holdco_governance::queries::leaders_on(&ledger, timeline, date, None)
                .map_err(failed)?;
        }
        // Boards: every unit with a body, alive and seen on the date.
        let units: BTreeSet<&UnitId> = ledger.config.bodies.values().map(|b| &b.unit).collect();
        let mut boards = Vec::new();
        for unit in units {
            if !alive(unit) || !seen(unit) {
                continue;
            }
            let name = timeline
                .unit(unit)
                .map(|u| timeline.record(u).name_on(date).to_string())
                .unwrap_or_default();
            for report in holdco_governance::queries::board(&ledger, timeline, unit, date)
                .map_err(failed)?
            {
                let mut value = serde_json::to_value(&report)
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
                value["unit"] = json!(unit.to_string());
                value["unit_name"] = json!(name);
                boards.push(value);
            }
        }
        // The pipeline: by unit; a scoped token keeps the rows of units it sees.
        let pipeline = match holdco_governance::queries::pipeline(&ledger, timeline, date, true, None)
        {
            Ok(mut answer) => {
                if scoped {
                    answer.rows.retain(|r| {
                        UnitId::parse(&r.unit).is_ok_and(|id| seen(&id))
                    });
                    answer.trajectory.clear();
                    answer.target = None;
                    answer.gap = None;
                }
                serde_json::to_value(&answer).map_err(|e| ApiError::Internal(e.to_string()))?
            }
            Err(e) => json!({ "problem": e.0 }),
        };
        let breaches = if scoped {
            Value::Null
        } else {
            serde_json::to_value(holdco_governance::queries::check(&ledger, timeline, model, date))
                .map_err(|e| ApiError::Internal(e.to_string()))?
        };
        Ok(json!({
            "at": date,
            "people": people,
            "boards": boards,
            "pipeline": pipeline,
            "breaches": breaches,
        }))
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Tables as workbooks

/// A table the dashboard shows (rows the API gave it), to be written as a workbook.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct XlsxTable {
    /// The file's title (first line of the query sheet).
    title: String,
    /// Column names, in order.
    columns: Vec<String>,
    /// One array of cells (text, number, true/false or null) per row.
    rows: Vec<Vec<Value>>,
    /// The unit of the `value` column (e.g. "CNY millions").
    unit: Option<String>,
    /// The question, as (option, value) pairs for the query sheet.
    #[serde(default)]
    query: Vec<(String, String)>,
}

/// Most cells of one workbook download.
const MAX_XLSX_CELLS: usize = 200_000;

/// `POST /api/v1/dashboard/xlsx`: the table as an `.xlsx` file, written by holdco-excel's
/// table writer as the CLI's `--xlsx` writes it (numbers with separators, a gap's reason as
/// a note, a node × period table turned wide with a chart); text a spreadsheet would run
/// as a formula is quote-prefixed.
#[utoipa::path(
    post,
    path = "/api/v1/dashboard/xlsx",
    tag = "dashboard",
    request_body(content = XlsxTableSchema, description = "A table: title, columns and rows of cells", content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The table as an XLSX workbook (formula-leading text quote-prefixed)", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 400, description = "Malformed JSON or a bad field (with a JSON pointer), or a query parameter", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 413, description = "A body or a table over the limit", body = crate::error::ErrorBody),
        (status = 422, description = "A table the workbook writer refuses", body = crate::error::ErrorBody),
    )
)]
async fn xlsx(
    Authorized(_caller): Authorized,
    params: Params,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let params = read_params(params)?;
    no_params(&params)?;
    let table: XlsxTable = queries::body(&bytes)?;
    let cells = table.rows.len().saturating_mul(table.columns.len());
    if cells > MAX_XLSX_CELLS {
        return Err(ApiError::BadBody {
            pointer: "/rows".into(),
            message: format!("{cells} cells: a download holds at most {MAX_XLSX_CELLS}"),
        });
    }
    if table.columns.is_empty() || table.columns.len() > 256 {
        return Err(ApiError::BadBody {
            pointer: "/columns".into(),
            message: "expected 1 to 256 column names".into(),
        });
    }
    let mut rows = Vec::with_capacity(table.rows.len());
    for (k, row) in table.rows.iter().enumerate() {
        if row.len() != table.columns.len() {
            return Err(ApiError::BadBody {
                pointer: format!("/rows/{k}"),
                message: format!("{} cells for {} columns", row.len(), table.columns.len()),
            });
        }
        let mut cells = Vec::with_capacity(row.len());
        for (c, cell) in row.iter().enumerate() {
            cells.push(match cell {
                Value::Null => holdco_excel::Value::Empty,
                Value::Bool(b) => holdco_excel::Value::Bool(*b),
                Value::Number(n) => n
                    .as_f64()
                    .filter(|v| v.is_finite())
                    .map(holdco_excel::Value::Number)
                    .unwrap_or(holdco_excel::Value::Empty),
                Value::String(s) if s.is_empty() => holdco_excel::Value::Empty,
                Value::String(s) => holdco_excel::Value::Text(s.clone()),
                _ => {
                    return Err(ApiError::BadBody {
                        pointer: format!("/rows/{k}/{c}"),
                        message: "expected text, a number, true/false or null".into(),
                    })
                }
            });
        }
        rows.push(cells);
    }
    let has = |name: &str| table.columns.iter().any(|c| c == name);
    let mut sheet = holdco_excel::TableSheet {
        sheet: "table".into(),
        title: table.title.chars().take(200).collect(),
        columns: table.columns.clone(),
        rows,
        query: table.query.into_iter().take(50).collect(),
        ..Default::default()
    };
    if let Some(unit) = table.unit {
        sheet.units.insert("value".into(), unit);
    }
    if has("gap") && has("value") {
        sheet.notes.push(("value".into(), "gap".into()));
    }
    if ["node", "name", "period", "value"].iter().all(|c| has(c)) {
        sheet.sheet = "rollup".into();
        sheet.pivot = Some(holdco_excel::Pivot {
            rows: vec!["node".into(), "name".into()],
            across: "period".into(),
            value: "value".into(),
            note: has("gap").then(|| "gap".to_string()),
            indent: has("depth").then(|| "depth".to_string()),
        });
    }
    for column in ["year", "depth"] {
        sheet
            .formats
            .insert(column.into(), holdco_excel::ColumnFormat::Plain);
    }
    let file = tokio::task::spawn_blocking(move || holdco_excel::table_bytes(&sheet))
        .await
        .map_err(|e| ApiError::Internal(format!("request task failed: {e}")))?
        .map_err(|e| ApiError::Unprocessable(format!("the table cannot be written: {e}")))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"table.xlsx\"",
            ),
        ],
        file,
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------
// Scenarios: a comparison that reports its progress

/// `GET /api/v1/dashboard/scenarios/compare?a=&b=&paths=&seed=&top=`: the comparison of
/// `/api/v1/scenarios/compare`, as newline-delimited JSON: `{"done": N, "total": M}` each
/// time the engine finishes a wave of paths, then `{"result": COMPARISON}` (the same value
/// as the plain endpoint's, bit for bit). Parameters and scenarios are checked before the
/// first line, so a bad request is an ordinary error response.
#[utoipa::path(
    get,
    path = "/api/v1/dashboard/scenarios/compare",
    tag = "dashboard",
    params(
        ("a" = String, Query, description = "The first scenario"),
        ("b" = String, Query, description = "The second scenario"),
        ("paths" = Option<u64>, Query, description = "Monte Carlo paths"),
        ("seed" = Option<u64>, Query, description = "Random seed"),
        ("top" = Option<u64>, Query, description = "Tornado rows"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Lines of JSON: `{\"done\": N, \"total\": M}` as paths finish, then `{\"result\": COMPARISON}`", content_type = "application/x-ndjson", body = String),
        (status = 400, description = "A bad, missing or unknown query parameter (an unknown scenario named)", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 403, description = "A scoped token: scenarios are about the whole group", body = crate::error::ErrorBody),
        (status = 422, description = "A scenario the model cannot run", body = crate::error::ErrorBody),
    )
)]
async fn compare_with_progress(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    params: Params,
) -> Result<Response, ApiError> {
    let params = read_params(params)?;
    only_params(&params, &["a", "b", "paths", "seed", "top"])?;
    queries::whole_group(&caller, "a scenario")?;
    let a = param(&params, "a")
        .ok_or_else(|| ApiError::bad("a", "required: scenario A"))?
        .to_string();
    let b = param(&params, "b")
        .ok_or_else(|| ApiError::bad("b", "required: scenario B"))?
        .to_string();
    let (paths, seed, top) = queries::run_options(
        param(&params, "paths"),
        param(&params, "seed"),
        param(&params, "top"),
    )?;
    let snapshot = state.snapshot();
    let compiled = {
        let snapshot = snapshot.clone();
        tokio::task::spawn_blocking(move || {
            let files = queries::scenario_files(&snapshot)?;
            let (sa, sb) = (
                queries::find(&files, "a", &a)?,
                queries::find(&files, "b", &b)?,
            );
            let (pa, wa) = queries::compile(&snapshot, sa)?;
            let (pb, wb) = queries::compile(&snapshot, sb)?;
            Ok::<_, ApiError>((pa, wa, sa.title.clone(), pb, wb, sb.title.clone()))
        })
        .await
        .map_err(|e| ApiError::Internal(format!("request task failed: {e}")))??
    };
    let (lines, receiver) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
    let line = |value: Value| Bytes::from(format!("{value}\n"));
    let _ = lines.send(line(json!({ "done": 0, "total": paths })));
    tokio::task::spawn_blocking(move || {
        let (pa, warnings_a, title_a, pb, warnings_b, title_b) = compiled;
        let progress = |done: u64| {
            let _ = lines.send(line(json!({ "done": done, "total": paths })));
        };
        let simulation = holdco_scenario::engine::simulate(&[&pa, &pb], paths, seed, &progress);
        let mut comparison = holdco_scenario::report::compare(
            (&pa, &title_a),
            (&pb, &title_b),
            snapshot.model().group.currency.as_str(),
            &simulation,
            top,
        );
        comparison.a.warnings = warnings_a;
        comparison.b.warnings = warnings_b;
        let _ = lines.send(line(json!({ "result": comparison })));
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|bytes| (Ok::<Bytes, std::convert::Infallible>(bytes), receiver))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(stream),
    )
        .into_response())
}
