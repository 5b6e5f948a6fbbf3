//! Small read endpoints the dashboard (crate `holdco-dashboard`) needs and the main API does
//! not answer: who the caller is, what the model holds (group, metrics, years with figures)
//! and the whole timeline in one compact document, so the browser can draw the tree on any
//! date, and the difference between two dates, without asking the server again while a
//! date slider moves.
//!
//! Routes (any role; a scoped token sees its subtrees only), documented in docs/format.md:
//! `GET /api/v1/dashboard/session`, `GET /api/v1/dashboard/model`,
//! `GET /api/v1/dashboard/timeline`.

use crate::auth::Authorized;
use crate::error::ApiError;
use crate::tokens::{Caller, Role};
use crate::SharedState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use holdco_core::timeline::{Timeline, UnitIndex};
use holdco_core::{ChangeKind, Granularity, Model, Period};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// The dashboard's routes with their documentation, merged into the server's API.
pub(crate) fn routes() -> utoipa_axum::router::OpenApiRouter<SharedState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(session))
        .routes(utoipa_axum::routes!(model_summary))
        .routes(utoipa_axum::routes!(timeline))
}

crate::openapi::described!(
    Session (object): "Who the caller is: name, role, scopes, the endpoints this server answers and what the role may do (read, propose, approve, manage_tokens).",
    ModelSummary (object): "The group (id, name, currency, fiscal year end), its metrics (id, name, measure, aggregation, scale), the fiscal years with figures and the dates the structure changes on.",
    TimelineSchema (object): "The whole timeline in one compact document (units, names, parents and stakes over time, dates as day numbers since 1970-01-01); a scoped token gets its subtrees.",
);

/// Runs `work` with the served model and the caller (its token already checked by
/// [`Authorized`]) on a blocking thread.
async fn answer(
    state: SharedState,
    caller: Caller,
    work: impl FnOnce(&Model, &Caller) -> Result<Value, ApiError> + Send + 'static,
) -> Result<Json<Value>, ApiError> {
    let result = tokio::task::spawn_blocking(move || {
        let snapshot = state.snapshot();
        work(snapshot.model(), &caller)
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
    Authorized(caller): Authorized,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let params = read_params(params)?;
    answer(state, caller, move |model, _caller| {
        no_params(&params)?;
        Ok(summary_json(model))
    })
    .await
}

/// The group, its metrics (with scale and measure), the fiscal years that hold figures and
/// the dates the structure changes on.
fn summary_json(model: &Model) -> Value {
    let (timeline, _) = Timeline::replay(&model.group, &model.metrics, &model.timeline);
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
    // The document is written straight to text (a 100,000-unit timeline is some 10 MB; a
    // JSON value tree of it would cost more than the replay). `answer` checks the token
    // and runs the work on a blocking thread; the text comes back beside its (empty) value.
    let text = Arc::new(Mutex::new(String::new()));
    let written = text.clone();
    let _: Json<Value> = answer(state, caller, move |model, caller| {
        no_params(&params)?;
        let document = timeline_text(model, caller)?;
        *written
            .lock()
            .map_err(|_| ApiError::Internal("timeline buffer poisoned".into()))? = document;
        Ok(Value::Null)
    })
    .await?;
    let body = std::mem::take(
        &mut *text
            .lock()
            .map_err(|_| ApiError::Internal("timeline buffer poisoned".into()))?,
    );
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
fn timeline_text(model: &Model, caller: &Caller) -> Result<String, ApiError> {
    // The server checked the model when it loaded it, so the replay finds no problem.
    let (timeline, _) = Timeline::replay(&model.group, &model.metrics, &model.timeline);
    let count = timeline.units.len();
    // A scoped token sees the units that were inside one of its subtrees on some date the
    // structure changed (every change date is a date the tree may differ).
    let visible: Vec<bool> = if caller.scopes.is_empty() {
        vec![true; count]
    } else {
        let scopes: Vec<UnitIndex> = caller
            .scopes
            .iter()
            .filter_map(|s| timeline.unit(s))
            .collect();
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
        root: caller
            .scopes
            .is_empty()
            .then(|| position[timeline.root as usize]),
        units,
        changes,
    };
    serde_json::to_string(&document).map_err(|e| ApiError::Internal(e.to_string()))
}
