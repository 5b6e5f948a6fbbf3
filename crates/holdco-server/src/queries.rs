//! The read endpoints: the CLI's reads, answered from the snapshot in memory.
//!
//! Each endpoint's parameters are a struct (`deny_unknown_fields`: a typo is a 400 naming
//! it, never silently ignored) that the OpenAPI document describes; each question is read
//! by the application layer exactly as the CLI reads its flags; the answer is the value the
//! CLI prints with `--json` (or its `--csv` rows with `Accept: text/csv`). A scoped token
//! sees its units' subtrees only: questions about the whole group (the group total, a plan,
//! a calibration, a scenario's sum of the parts) are refused to it with 403.

use crate::auth::Authorized;
use crate::error::{ApiError, ErrorBody};
use crate::respond::{self, Format};
use crate::tokens::Caller;
use crate::SharedState;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::NaiveDate;
use holdco_app::request::{self, RollupRequest};
use holdco_app::rollup::Route;
use holdco_app::views;
use holdco_app::Snapshot;
use holdco_core::period::parse_range;
use holdco_core::reconcile::Tolerance;
use holdco_core::rollup::{Engine, Query as Question, View};
use holdco_core::timeline::UnitIndex;
use holdco_core::{Aggregation, MetricId, Period, UnitId};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Most periods one roll-up may ask for (twenty years of months): the server answers many
/// people, so one request may not hold a worker for a century of periods.
pub const MAX_PERIODS: usize = 240;

/// Most metrics one roll-up may ask for.
pub const MAX_METRICS: usize = 64;

/// Most Monte Carlo paths one scenario request may ask for.
pub const MAX_PATHS: u64 = 1_000_000;

/// The read endpoints and their documentation.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(rollup, rollup_post))
        .routes(routes!(explain))
        .routes(routes!(structure))
        .routes(routes!(history))
        .routes(routes!(reconcile))
        .routes(routes!(calibrate))
        .routes(routes!(classify))
        .routes(routes!(plan))
        .routes(routes!(scenarios))
        .routes(routes!(scenario_run))
        .routes(routes!(scenario_compare))
        .routes(routes!(scenario_diff))
}

// ---------------------------------------------------------------------------------------
// Reading requests

pub(crate) type RawQuery = Result<Query<HashMap<String, String>>, QueryRejection>;

/// The query string read into an endpoint's parameters: an unreadable string, an unknown
/// parameter or a value of the wrong form is a 400 naming the parameter.
pub(crate) fn params<P: DeserializeOwned>(raw: RawQuery) -> Result<P, ApiError> {
    let Query(map) = raw.map_err(|e| {
        ApiError::bad(
            "query",
            format!("cannot read the query string: {}", e.body_text()),
        )
    })?;
    let value = serde_json::Value::Object(
        map.into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect(),
    );
    serde_json::from_value(value).map_err(|e| {
        let text = e.to_string();
        let name = text.split('`').nth(1).unwrap_or("query").to_string();
        if text.starts_with("unknown field") {
            let expected = text
                .split_once("expected ")
                .map(|(_, rest)| rest.replace('`', ""))
                .unwrap_or_default();
            ApiError::bad(&name, format!("unknown parameter (expected {expected})"))
        } else {
            ApiError::bad(&name, text)
        }
    })
}

/// A JSON body read into `T`: malformed JSON or a wrong or unknown field is a 400 with a
/// JSON pointer to the place.
pub(crate) fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut reader).map_err(|e| {
        let pointer = e
            .path()
            .iter()
            .map(|segment| match segment {
                serde_path_to_error::Segment::Seq { index } => format!("/{index}"),
                serde_path_to_error::Segment::Map { key } => format!("/{key}"),
                serde_path_to_error::Segment::Enum { variant } => format!("/{variant}"),
                serde_path_to_error::Segment::Unknown => String::new(),
            })
            .collect::<String>();
        ApiError::BadBody {
            pointer,
            message: e.inner().to_string(),
        }
    })
}

pub(crate) fn date(field: &'static str, text: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    text.map(|t| request::date(field, t))
        .transpose()
        .map_err(ApiError::request)
}

pub(crate) fn whole(field: &str, text: Option<&str>, what: &str) -> Result<Option<u64>, ApiError> {
    text.map(|t| {
        t.parse::<u64>()
            .map_err(|_| ApiError::bad(field, format!("`{t}` is not {what}")))
    })
    .transpose()
}

fn flag(field: &str, text: Option<&str>) -> Result<bool, ApiError> {
    match text {
        None | Some("false") => Ok(false),
        Some("" | "true") => Ok(true),
        Some(other) => Err(ApiError::bad(
            field,
            format!("`{other}`: expected true or false"),
        )),
    }
}

/// Runs `work` on a blocking thread with the current snapshot (the engines are CPU work),
/// or with `changeset` the served model with that change set applied (a what-if read, see
/// `whatif.rs`).
pub(crate) async fn blocking(
    state: &SharedState,
    caller: Caller,
    changeset: Option<i64>,
    work: impl FnOnce(&Snapshot) -> Result<Response, ApiError> + Send + 'static,
) -> Result<Response, ApiError> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let snapshot = crate::whatif::snapshot(&state, &caller, changeset)?;
        work(&snapshot)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("request task failed: {e}")))?
}

// ---------------------------------------------------------------------------------------
// Scopes

pub(crate) fn scopes_text(caller: &Caller) -> String {
    caller
        .scopes
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// True when `unit` lies in one of the caller's subtrees on `date`.
pub(crate) fn inside(engine: &Engine, caller: &Caller, unit: UnitIndex, date: NaiveDate) -> bool {
    let timeline = engine.timeline();
    let structure = engine.structure(date);
    caller.scopes.iter().any(|scope| {
        timeline
            .unit(scope)
            .is_some_and(|s| structure.in_subtree(unit, s))
    })
}

/// Refuses a question about a node outside a scoped token's subtrees, on the structure
/// date of the question and (in the reported view, where each period has its own
/// structure) at the end of every period asked. The group total is outside every scope
/// but the root's, so a scoped token never sees it.
fn check_scope(snapshot: &Snapshot, caller: &Caller, query: &Question) -> Result<(), ApiError> {
    if caller.scopes.is_empty() {
        return Ok(());
    }
    let engine = snapshot.engine();
    let timeline = engine.timeline();
    let node = match &query.node {
        Some(id) => timeline.unit(id).ok_or_else(|| {
            ApiError::bad(
                "node",
                format!("unknown unit `{id}` (see /api/v1/structure)"),
            )
        })?,
        None => timeline.root,
    };
    let dates: Vec<NaiveDate> = if query.view == View::Reported {
        query.periods.iter().map(Period::last_day).collect()
    } else {
        vec![snapshot.structure_date(query.structure)]
    };
    if dates.into_iter().all(|d| inside(engine, caller, node, d)) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "token `{}` sees only the subtrees of {}; ask with node= inside them",
            caller.name,
            scopes_text(caller)
        )))
    }
}

/// Refuses a question about the whole group to a scoped token.
pub(crate) fn whole_group(caller: &Caller, what: &str) -> Result<(), ApiError> {
    if caller.scopes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "{what} is about the whole group; token `{}` sees only the subtrees of {}",
            caller.name,
            scopes_text(caller)
        )))
    }
}

// ---------------------------------------------------------------------------------------
// Roll-up and explain

/// Parameters of `GET /api/v1/rollup` (the flags of `holdco rollup`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RollupParams {
    /// Metric id, or several separated by commas (`revenue,adjusted_ebita`): one metric
    /// answers a roll-up, several a list of them.
    #[param(example = "revenue")]
    pub metric: Option<String>,
    /// Node at the top (the group when omitted).
    pub node: Option<String>,
    /// One period (`2023Q3`, `FY2024`...).
    pub period: Option<String>,
    /// A range of periods `A..B` (`FY2022..FY2025`); the last five fiscal years with
    /// figures when neither `period` nor `periods` is given.
    pub periods: Option<String>,
    /// `reported` (default), `restated` or `organic`.
    pub view: Option<String>,
    /// Structure date to restate into, `YYYY-MM-DD` (the latest change when omitted).
    pub structure: Option<String>,
    /// `reported` (default), `plan`, `estimate` or `restated@YYYY-MM-DD`.
    pub basis: Option<String>,
    /// `published` (default) or `reported`.
    pub from: Option<String>,
    /// Levels below the node (default 1).
    pub depth: Option<String>,
    /// Output currency (needs FX rates).
    pub currency: Option<String>,
    /// `true`: always the explainable engine (the CLI's `--exact`).
    pub exact: Option<String>,
    /// A change set id (draft, submitted or approved): answer as if it were applied to the
    /// current model (a what-if; nothing is written).
    pub changeset: Option<String>,
}

/// Body of `POST /api/v1/rollup`: the parameters of the GET, as JSON (metrics as a list).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollupBody {
    /// Metric ids.
    pub metrics: Vec<String>,
    /// Node at the top (the group when omitted).
    pub node: Option<String>,
    /// One period.
    pub period: Option<String>,
    /// A range of periods `A..B`.
    pub periods: Option<String>,
    /// `reported`, `restated` or `organic`.
    pub view: Option<String>,
    /// Structure date, `YYYY-MM-DD`.
    pub structure: Option<String>,
    /// `reported`, `plan`, `estimate` or `restated@YYYY-MM-DD`.
    pub basis: Option<String>,
    /// `published` or `reported`.
    pub from: Option<String>,
    /// Levels below the node.
    pub depth: Option<u32>,
    /// Output currency.
    pub currency: Option<String>,
    /// Always the explainable engine.
    #[serde(default)]
    pub exact: bool,
    /// A change set id (draft, submitted or approved): answer as if it were applied.
    #[serde(default)]
    pub changeset: Option<i64>,
}

/// The answer of a roll-up: one roll-up for one metric, a list for several.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(untagged)]
pub enum RollupAnswer {
    /// One metric asked.
    One(holdco_core::rollup::Rollup),
    /// Several metrics asked: one roll-up each, in the order asked.
    Many(Vec<holdco_core::rollup::Rollup>),
}

/// A roll-up question for one metric, as the CLI would build it.
fn rollup_request(metric: &str, p: &RollupBody) -> RollupRequest {
    RollupRequest {
        metric: metric.to_string(),
        node: p.node.clone(),
        period: p.period.clone(),
        periods: p.periods.clone(),
        view: p.view.clone().unwrap_or_else(|| "reported".into()),
        structure: p.structure.clone(),
        basis: p.basis.clone().unwrap_or_else(|| "reported".into()),
        from: p.from.clone().unwrap_or_else(|| "published".into()),
        depth: p.depth.unwrap_or(1),
        currency: p.currency.clone(),
    }
}

/// The question of one metric, checked: spelling, the metric known, the number of periods.
fn question(snapshot: &Snapshot, request: &RollupRequest) -> Result<Question, ApiError> {
    let model = snapshot.model();
    let metric = MetricId::parse(&request.metric).map_err(|e| ApiError::bad("metric", e))?;
    if model.metric(&metric).is_none() {
        let known: Vec<&str> = model.metrics.iter().map(|m| m.id.as_str()).collect();
        return Err(ApiError::bad(
            "metric",
            format!(
                "unknown metric `{metric}` (defined metrics: {})",
                known.join(", ")
            ),
        ));
    }
    let query = request.query(model).map_err(ApiError::request)?;
    if query.periods.len() > MAX_PERIODS {
        return Err(ApiError::bad(
            "periods",
            format!(
                "{} periods asked; a request takes at most {MAX_PERIODS} (ask for a shorter range)",
                query.periods.len()
            ),
        ));
    }
    Ok(query)
}

fn answer_rollups(
    snapshot: &Snapshot,
    caller: &Caller,
    body: &RollupBody,
    format: Format,
) -> Result<Response, ApiError> {
    if body.metrics.is_empty() {
        return Err(ApiError::bad("metric", "required (e.g. revenue)"));
    }
    if body.metrics.len() > MAX_METRICS {
        return Err(ApiError::bad(
            "metric",
            format!(
                "{} metrics asked; a request takes at most {MAX_METRICS}",
                body.metrics.len()
            ),
        ));
    }
    let route = if body.exact {
        Route::Exact
    } else {
        Route::Auto
    };
    let mut answers = Vec::new();
    for metric in &body.metrics {
        let query = question(snapshot, &rollup_request(metric, body))?;
        check_scope(snapshot, caller, &query)?;
        answers.push(holdco_app::rollup::rollup_shared(snapshot, &query, route)?);
    }
    match (format, answers.as_slice()) {
        // One roll-up: its JSON, written once per snapshot and question.
        (Format::Json, [one]) => respond::json_bytes(
            one.json()
                .map_err(|e| ApiError::Internal(e.to_string()))?
                .to_vec(),
        ),
        (Format::Json, _) => {
            let rollups: Vec<&holdco_core::rollup::Rollup> =
                answers.iter().map(|kept| &kept.answer.rollup).collect();
            respond::json(&rollups)
        }
        (Format::Csv, _) => {
            let rows: Vec<_> = answers
                .iter()
                .flat_map(|kept| kept.answer.rollup.rows.iter())
                .collect();
            respond::csv(&rows)
        }
    }
}

/// A roll-up: the CLI's `holdco rollup --json` (or `--csv` with `Accept: text/csv`).
#[utoipa::path(
    get,
    path = "/api/v1/rollup",
    tag = "reads",
    params(RollupParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The roll-up (one metric) or a list of roll-ups (several metrics); `text/csv`: the rows of every roll-up under one header", content(
            (RollupAnswer = "application/json"),
            (String = "text/csv")
        )),
        (status = 400, description = "A parameter is unknown or malformed, or names an unknown metric, unit or period", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The node lies outside the token's scope", body = ErrorBody),
        (status = 406, description = "An Accept header asking for neither JSON nor CSV", body = ErrorBody),
    )
)]
async fn rollup(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    headers: HeaderMap,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    let p: RollupParams = params(raw)?;
    let what_if = crate::whatif::parse(p.changeset.as_deref())?;
    let format = respond::format(&headers)?;
    let body = RollupBody {
        metrics: p
            .metric
            .as_deref()
            .map(|m| m.split(',').map(|s| s.trim().to_string()).collect())
            .unwrap_or_default(),
        node: p.node,
        period: p.period,
        periods: p.periods,
        view: p.view,
        structure: p.structure,
        basis: p.basis,
        from: p.from,
        depth: whole(
            "depth",
            p.depth.as_deref(),
            "a whole number of levels (0 or more)",
        )?
        .map(|d| u32::try_from(d).unwrap_or(u32::MAX)),
        currency: p.currency,
        exact: flag("exact", p.exact.as_deref())?,
        changeset: what_if,
    };
    blocking(&state, caller.clone(), what_if, move |snapshot| {
        answer_rollups(snapshot, &caller, &body, format)
    })
    .await
}

/// Roll-ups asked with a JSON body (handy for many metrics).
#[utoipa::path(
    post,
    path = "/api/v1/rollup",
    tag = "reads",
    request_body = RollupBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "As the GET", content(
            (RollupAnswer = "application/json"),
            (String = "text/csv")
        )),
        (status = 400, description = "Malformed JSON, an unknown field (with a JSON pointer), or a question the model cannot answer", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The node lies outside the token's scope", body = ErrorBody),
        (status = 406, description = "An Accept header asking for neither JSON nor CSV", body = ErrorBody),
        (status = 413, description = "A body over 1 MiB", body = ErrorBody),
    )
)]
async fn rollup_post(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    headers: HeaderMap,
    bytes: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let bytes = bytes.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(crate::BODY_LIMIT)
        } else {
            ApiError::BadBody {
                pointer: String::new(),
                message: e.body_text(),
            }
        }
    })?;
    let format = respond::format(&headers)?;
    let body: RollupBody = body(&bytes)?;
    let what_if = body.changeset;
    blocking(&state, caller.clone(), what_if, move |snapshot| {
        answer_rollups(snapshot, &caller, &body, format)
    })
    .await
}

/// Parameters of `GET /api/v1/explain` (the flags of `holdco explain`).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExplainParams {
    /// Metric id.
    #[param(example = "revenue")]
    pub metric: Option<String>,
    /// Node explained (the group when omitted).
    pub node: Option<String>,
    /// The period explained (required).
    #[param(example = "FY2024")]
    pub period: Option<String>,
    /// `reported`, `restated` or `organic`.
    pub view: Option<String>,
    /// Structure date, `YYYY-MM-DD`.
    pub structure: Option<String>,
    /// `reported`, `plan`, `estimate` or `restated@YYYY-MM-DD`.
    pub basis: Option<String>,
    /// `published` or `reported`.
    pub from: Option<String>,
    /// A change set id (draft, submitted or approved): answer as if it were applied to the
    /// current model (a what-if; nothing is written).
    pub changeset: Option<String>,
}

/// Explain one figure: every fact behind it, its lineage, weights, rates and sources (the
/// CLI's `holdco explain --json`).
#[utoipa::path(
    get,
    path = "/api/v1/explain",
    tag = "reads",
    params(ExplainParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The explanation", body = holdco_core::rollup::Explanation),
        (status = 400, description = "A parameter is missing, unknown or malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The node lies outside the token's scope", body = ErrorBody),
        (status = 406, description = "Not JSON (explain has no CSV form)", body = ErrorBody),
    )
)]
async fn explain(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    headers: HeaderMap,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    let p: ExplainParams = params(raw)?;
    let what_if = crate::whatif::parse(p.changeset.as_deref())?;
    let format = respond::format(&headers)?;
    let metric = p
        .metric
        .clone()
        .ok_or_else(|| ApiError::bad("metric", "required (e.g. revenue)"))?;
    if p.period.is_none() {
        return Err(ApiError::bad(
            "period",
            "required: the period explained (e.g. FY2024)",
        ));
    }
    let body = RollupBody {
        metrics: vec![metric.clone()],
        node: p.node,
        period: p.period,
        periods: None,
        view: p.view,
        structure: p.structure,
        basis: p.basis,
        from: p.from,
        depth: Some(0),
        currency: None,
        exact: true,
        changeset: what_if,
    };
    blocking(&state, caller.clone(), what_if, move |snapshot| {
        let query = question(snapshot, &rollup_request(&metric, &body))?;
        check_scope(snapshot, &caller, &query)?;
        respond::json_only(format, &snapshot.engine().explain(&query)?)
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Structure and history

/// Parameters of `GET /api/v1/structure` (the flags of `holdco structure`).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StructureParams {
    /// The date, `YYYY-MM-DD` (the latest change when omitted).
    pub at: Option<String>,
    /// Levels below the group to show.
    pub depth: Option<String>,
    /// A change set id (draft, submitted or approved): answer as if it were applied to the
    /// current model (a what-if; nothing is written).
    pub changeset: Option<String>,
}

/// The structure on a date (the CLI's `holdco structure --json`, or `--csv`); a scoped
/// token gets its subtrees only.
#[utoipa::path(
    get,
    path = "/api/v1/structure",
    tag = "reads",
    params(StructureParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The units on the date", content(
            (holdco_app::views::StructureView = "application/json"),
            (String = "text/csv")
        )),
        (status = 400, description = "A parameter is unknown or malformed, or the group did not exist on the date", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 406, description = "An Accept header asking for neither JSON nor CSV", body = ErrorBody),
    )
)]
async fn structure(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    headers: HeaderMap,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    let p: StructureParams = params(raw)?;
    let what_if = crate::whatif::parse(p.changeset.as_deref())?;
    let format = respond::format(&headers)?;
    let at = date("at", p.at.as_deref())?;
    let depth = whole(
        "depth",
        p.depth.as_deref(),
        "a whole number of levels (0 or more)",
    )?
    .map(|d| u32::try_from(d).unwrap_or(u32::MAX));
    blocking(&state, caller.clone(), what_if, move |snapshot| {
        let timeline = snapshot.engine().timeline();
        let tops: Vec<UnitIndex> = caller
            .scopes
            .iter()
            .filter_map(|s| timeline.unit(s))
            .collect();
        if !caller.scopes.is_empty() && tops.is_empty() {
            return Err(ApiError::Forbidden(format!(
                "token `{}` names no unit of this model",
                caller.name
            )));
        }
        let view = views::structure(snapshot, at, depth, &tops)
            .map_err(|e| ApiError::bad("at", e.to_string()))?;
        respond::either(format, &view, |v| v.units.clone())
    })
    .await
}

/// Parameters of `GET /api/v1/history` (the arguments of `holdco history`).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// The unit (required).
    #[param(example = "cloud_intelligence")]
    pub unit: Option<String>,
    /// Structure date its lineage is traced into, `YYYY-MM-DD` (the latest when omitted).
    pub structure: Option<String>,
    /// A change set id (draft, submitted or approved): answer as if it were applied to the
    /// current model (a what-if; nothing is written).
    pub changeset: Option<String>,
}

/// A unit's history: every change naming it, and where its figures land in a later
/// structure (the CLI's `holdco history UNIT --json`).
#[utoipa::path(
    get,
    path = "/api/v1/history",
    tag = "reads",
    params(HistoryParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The unit's history", body = holdco_app::views::UnitHistory),
        (status = 400, description = "A parameter is missing, unknown or malformed, or names no unit", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The unit lies outside the token's scope", body = ErrorBody),
        (status = 406, description = "Not JSON (history has no CSV form)", body = ErrorBody),
    )
)]
async fn history(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    headers: HeaderMap,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    let p: HistoryParams = params(raw)?;
    let what_if = crate::whatif::parse(p.changeset.as_deref())?;
    let format = respond::format(&headers)?;
    let unit = p
        .unit
        .ok_or_else(|| ApiError::bad("unit", "required (e.g. unit=taobao_tmall)"))?;
    let at = date("structure", p.structure.as_deref())?;
    blocking(&state, caller.clone(), what_if, move |snapshot| {
        let history = views::history(snapshot, &unit, at)
            .map_err(|e| ApiError::bad("unit", e.to_string()))?;
        if !caller.scopes.is_empty() {
            let engine = snapshot.engine();
            let timeline = engine.timeline();
            let index = timeline.unit(&history.unit).expect("found by history");
            // A unit is in scope where it was last alive, up to the structure date.
            let last = history
                .ended
                .map_or(history.lineage_into, |ended| {
                    ended.pred_opt().unwrap_or(ended).min(history.lineage_into)
                })
                .max(history.created);
            if !inside(engine, &caller, index, last) {
                return Err(ApiError::Forbidden(format!(
                    "token `{}` sees only the subtrees of {}",
                    caller.name,
                    scopes_text(&caller)
                )));
            }
        }
        respond::json_only(format, &history)
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Reconcile and calibrate

/// Parameters of `GET /api/v1/reconcile` (the flags of `holdco reconcile`).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReconcileParams {
    /// Tolerance: absolute (`0.5`) or relative (`0.1%`); default 0.5.
    pub tolerance: Option<String>,
    /// `true`: only the checks outside the tolerance.
    pub failures: Option<String>,
    /// A change set id (draft, submitted or approved): answer as if it were applied to the
    /// current model (a what-if; nothing is written).
    pub changeset: Option<String>,
}

/// Checks of recorded totals and published restatements against holdco's own figures (the
/// CLI's `holdco reconcile --json`, or `--csv`); a scoped token gets its units' checks.
#[utoipa::path(
    get,
    path = "/api/v1/reconcile",
    tag = "reads",
    params(ReconcileParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The checks", content(
            (Vec<holdco_core::reconcile::Check> = "application/json"),
            (String = "text/csv")
        )),
        (status = 400, description = "A parameter is unknown or malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 406, description = "An Accept header asking for neither JSON nor CSV", body = ErrorBody),
    )
)]
async fn reconcile(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    headers: HeaderMap,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    let p: ReconcileParams = params(raw)?;
    let what_if = crate::whatif::parse(p.changeset.as_deref())?;
    let format = respond::format(&headers)?;
    let tolerance = Tolerance::parse(p.tolerance.as_deref().unwrap_or("0.5"))
        .map_err(|e| ApiError::bad("tolerance", e))?;
    let failures = flag("failures", p.failures.as_deref())?;
    blocking(&state, caller.clone(), what_if, move |snapshot| {
        let checks = holdco_core::reconcile::reconcile(snapshot.model(), tolerance)?;
        let engine = snapshot.engine();
        let timeline = engine.timeline();
        let latest = snapshot.structure_date(None);
        let visible = |unit: &str| {
            caller.scopes.is_empty()
                || UnitId::parse(unit)
                    .ok()
                    .and_then(|id| timeline.unit(&id))
                    .is_some_and(|u| inside(engine, &caller, u, latest))
        };
        let shown: Vec<_> = checks
            .iter()
            .filter(|c| (!failures || !c.ok) && visible(&c.unit))
            .collect();
        respond::either(format, &shown, |s| s.clone())
    })
    .await
}

/// Parameters of `GET /api/v1/calibrate` (the arguments of `holdco calibrate`, without
/// `--record`: the API only computes).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CalibrateParams {
    /// Ids of the split changes, separated by commas (required).
    pub changes: Option<String>,
    /// Periods published under both structures: `A..B` or one label (required).
    pub period: Option<String>,
    /// Metrics fitted, separated by commas (every additive metric when omitted).
    pub metrics: Option<String>,
    /// Date of the structure the restated figures were published under (found when omitted).
    pub published: Option<String>,
    /// A change set id (draft, submitted or approved): answer as if it were applied to the
    /// current model (a what-if; nothing is written).
    pub changeset: Option<String>,
}

/// The split shares that reproduce a restatement the group published: a dry run of
/// `holdco calibrate` (nothing is recorded). The whole group's question: refused to a
/// scoped token.
#[utoipa::path(
    get,
    path = "/api/v1/calibrate",
    tag = "reads",
    params(CalibrateParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The fitted shares and every equation", body = holdco_core::calibrate::CalibrationResult),
        (status = 400, description = "A parameter is missing, unknown or malformed, or the figures do not determine the shares", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "A scoped token", body = ErrorBody),
        (status = 406, description = "Not JSON", body = ErrorBody),
    )
)]
async fn calibrate(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    headers: HeaderMap,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    let p: CalibrateParams = params(raw)?;
    let what_if = crate::whatif::parse(p.changeset.as_deref())?;
    let format = respond::format(&headers)?;
    whole_group(&caller, "a calibration")?;
    let changes: Vec<String> = p
        .changes
        .ok_or_else(|| ApiError::bad("changes", "required: the ids of the split changes"))?
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let period = p
        .period
        .ok_or_else(|| ApiError::bad("period", "required: A..B or one period"))?;
    let published = date("published", p.published.as_deref())?;
    blocking(&state, caller.clone(), what_if, move |snapshot| {
        let model = snapshot.model();
        let periods =
            parse_range(&period, model.group.calendar()).map_err(|e| ApiError::bad("period", e))?;
        let metrics: Vec<MetricId> = match &p.metrics {
            None => model
                .metrics
                .iter()
                .filter(|m| matches!(m.aggregation, Aggregation::Flow | Aggregation::Stock))
                .map(|m| m.id.clone())
                .collect(),
            Some(list) => list
                .split(',')
                .map(|m| MetricId::parse(m.trim()).map_err(|e| ApiError::bad("metrics", e)))
                .collect::<Result<_, _>>()?,
        };
        let request = holdco_core::calibrate::Calibration {
            changes,
            periods,
            metrics,
            published,
        };
        let result = holdco_core::calibrate::calibrate(model, &request)
            .map_err(|e| ApiError::bad("changes", e.to_string()))?;
        respond::json_only(format, &result)
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Strategy: classify and plan

/// The model's strategy documents, or the reason they cannot be used.
pub(crate) fn documents(snapshot: &Snapshot) -> Result<holdco_strategy::Documents, ApiError> {
    let (documents, problems) = holdco_strategy::check(snapshot.model());
    if let Some(first) = problems.first() {
        return Err(ApiError::Unprocessable(format!(
            "{} problem(s) in the model's strategy documents (first: {first}); fix them and import again",
            problems.len()
        )));
    }
    Ok(documents)
}

/// Parameters of `GET /api/v1/classify`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClassifyParams {
    /// The date, `YYYY-MM-DD` (the latest change when omitted).
    pub at: Option<String>,
    /// A change set id (draft, submitted or approved): answer as if it were applied to the
    /// current model (a what-if; nothing is written).
    pub changeset: Option<String>,
}

/// Which class each business is in on a date, and why (the CLI's `holdco classify --json`,
/// or `--csv`); a scoped token gets its subtrees' units.
#[utoipa::path(
    get,
    path = "/api/v1/classify",
    tag = "reads",
    params(ClassifyParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The classification", content(
            (Classification = "application/json"),
            (String = "text/csv")
        )),
        (status = 400, description = "A parameter is unknown or malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 406, description = "An Accept header asking for neither JSON nor CSV", body = ErrorBody),
        (status = 422, description = "The model has no strategy.toml, or its strategy documents have problems", body = ErrorBody),
    )
)]
async fn classify(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    headers: HeaderMap,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    let p: ClassifyParams = params(raw)?;
    let what_if = crate::whatif::parse(p.changeset.as_deref())?;
    let format = respond::format(&headers)?;
    let at = date("at", p.at.as_deref())?;
    blocking(&state, caller.clone(), what_if, move |snapshot| {
        let documents = documents(snapshot)?;
        let strategy = documents
            .strategy
            .as_ref()
            .ok_or_else(|| ApiError::Unprocessable("the model has no strategy.toml".into()))?;
        let date = snapshot.structure_date(at);
        let engine = snapshot.engine();
        let mut classification = holdco_strategy::classify::classify(engine, strategy, date);
        if !caller.scopes.is_empty() {
            let timeline = engine.timeline();
            let seen = |id: &UnitId| {
                timeline
                    .unit(id)
                    .is_some_and(|u| inside(engine, &caller, u, date))
            };
            classification.units.retain(|u| seen(&u.unit));
            classification.absent.retain(|u| seen(u));
        }
        respond::either(format, &classification, holdco_app::tables::classify_rows)
    })
    .await
}

/// Parameters of `GET /api/v1/plan`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PlanParams {
    /// Binding constraints whose one-sided rates are measured by re-solving (two more
    /// solves each; the CLI's `--rates` and its default).
    pub rates: Option<String>,
    /// A change set id (draft, submitted or approved): answer as if it were applied to the
    /// current model (a what-if; nothing is written).
    pub changeset: Option<String>,
}

/// The capital plan: money allocated to tranches by linear programming, with the binding
/// constraints and their shadow prices (the CLI's `holdco plan --json`, or `--csv`). The
/// whole group's question: refused to a scoped token.
#[utoipa::path(
    get,
    path = "/api/v1/plan",
    tag = "reads",
    params(PlanParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The plan", content(
            (Plan = "application/json"),
            (String = "text/csv")
        )),
        (status = 400, description = "A parameter is unknown or malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "A scoped token", body = ErrorBody),
        (status = 406, description = "An Accept header asking for neither JSON nor CSV", body = ErrorBody),
        (status = 422, description = "No capital.toml, problems in the documents, or an infeasible plan (the conflicting constraints named)", body = ErrorBody),
    )
)]
async fn plan(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    headers: HeaderMap,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    let p: PlanParams = params(raw)?;
    let what_if = crate::whatif::parse(p.changeset.as_deref())?;
    let format = respond::format(&headers)?;
    whole_group(&caller, "the capital plan")?;
    let rates = whole("rates", p.rates.as_deref(), "a whole number")?
        .unwrap_or(holdco_strategy::plan::DEFAULT_MAX_RATES as u64);
    if rates > 1000 {
        return Err(ApiError::bad("rates", "at most 1000"));
    }
    blocking(&state, caller.clone(), what_if, move |snapshot| {
        let documents = documents(snapshot)?;
        let capital = documents
            .capital
            .as_ref()
            .ok_or_else(|| ApiError::Unprocessable("the model has no capital.toml".into()))?;
        let engine = snapshot.engine();
        let classes = holdco_strategy::plan::classes_on(
            engine,
            documents.strategy.as_ref(),
            capital.classes_on,
        );
        let plan = holdco_strategy::plan::solve_with_rates(
            capital,
            documents.strategy.as_ref(),
            &classes,
            rates as usize,
        )
        .map_err(|e| match e {
            holdco_strategy::plan::PlanError::Infeasible(conflict) => {
                ApiError::Unprocessable(format!(
                    "the plan is infeasible: these constraints conflict: {}",
                    conflict.join("; ")
                ))
            }
            other => ApiError::Unprocessable(format!("the plan cannot be made: {other}")),
        })?;
        respond::either(format, &plan, holdco_app::tables::plan_rows)
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Scenarios

pub(crate) fn scenario_files(
    snapshot: &Snapshot,
) -> Result<std::collections::BTreeMap<String, holdco_scenario::spec::Scenario>, ApiError> {
    let (scenarios, problems) = holdco_scenario::spec::read_all(snapshot.model());
    if let Some(first) = problems.first() {
        return Err(ApiError::Unprocessable(format!(
            "{} problem(s) in the model's scenario files (first: {first})",
            problems.len()
        )));
    }
    Ok(scenarios)
}

pub(crate) fn find<'s>(
    scenarios: &'s std::collections::BTreeMap<String, holdco_scenario::spec::Scenario>,
    field: &str,
    name: &str,
) -> Result<&'s holdco_scenario::spec::Scenario, ApiError> {
    scenarios.get(name).ok_or_else(|| {
        ApiError::bad(
            field,
            format!(
                "unknown scenario `{name}` (scenarios: {})",
                scenarios.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        )
    })
}

pub(crate) fn compile(
    snapshot: &Snapshot,
    scenario: &holdco_scenario::spec::Scenario,
) -> Result<(holdco_scenario::engine::Projection, Vec<String>), ApiError> {
    holdco_scenario::compile::compile_with_warnings(snapshot.model(), scenario)
        .map(|(projection, warnings)| {
            (projection, warnings.iter().map(|w| w.to_string()).collect())
        })
        .map_err(|problems| {
            ApiError::Unprocessable(format!(
                "scenario `{}` cannot be valued: {} problem(s) (first: {})",
                scenario.name,
                problems.len(),
                problems.first().map(|p| p.to_string()).unwrap_or_default()
            ))
        })
}

/// Monte Carlo parameters of a scenario run or comparison (the CLI's `--paths`, `--seed`,
/// `--top`).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunParams {
    /// Monte Carlo paths (default 100000, at most 1000000).
    pub paths: Option<String>,
    /// Seed: the same seed gives bit-identical results (default 2023).
    pub seed: Option<String>,
    /// Bars in the tornado (default 10).
    pub top: Option<String>,
    /// A change set id (draft, submitted or approved): answer as if it were applied to the
    /// current model (a what-if; nothing is written).
    pub changeset: Option<String>,
}

/// Parameters of a comparison.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CompareParams {
    /// Scenario A (required).
    pub a: Option<String>,
    /// Scenario B (required).
    pub b: Option<String>,
    /// Monte Carlo paths (default 100000, at most 1000000).
    pub paths: Option<String>,
    /// Seed (default 2023).
    pub seed: Option<String>,
    /// Bars in the tornado (default 10).
    pub top: Option<String>,
    /// A change set id (draft, submitted or approved): answer as if it were applied to the
    /// current model (a what-if; nothing is written).
    pub changeset: Option<String>,
}

/// Parameters of a diff.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiffParams {
    /// Scenario A (required).
    pub a: Option<String>,
    /// Scenario B (required).
    pub b: Option<String>,
    /// A change set id (draft, submitted or approved): answer as if it were applied to the
    /// current model (a what-if; nothing is written).
    pub changeset: Option<String>,
}

pub(crate) fn run_options(
    paths: Option<&str>,
    seed: Option<&str>,
    top: Option<&str>,
) -> Result<(u64, u64, usize), ApiError> {
    let paths = whole("paths", paths, "a whole number of paths")?.unwrap_or(100_000);
    if paths == 0 || paths > MAX_PATHS {
        return Err(ApiError::bad(
            "paths",
            format!("{paths}: a request takes 1 to {MAX_PATHS} paths"),
        ));
    }
    let seed = whole("seed", seed, "a whole number")?.unwrap_or(2023);
    let top = whole("top", top, "a whole number of bars")?.unwrap_or(10);
    if top > 1000 {
        return Err(ApiError::bad("top", "at most 1000 bars"));
    }
    Ok((paths, seed, top as usize))
}

/// Parameters of `GET /api/v1/scenarios`: only the what-if.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesetParams {
    /// A change set id (draft, submitted or approved): answer as if it were applied to the
    /// current model (a what-if; nothing is written).
    pub changeset: Option<String>,
}

/// The model's scenarios (the CLI's `holdco scenario list --json`, or `--csv`). About the
/// whole group: refused to a scoped token.
#[utoipa::path(
    get,
    path = "/api/v1/scenarios",
    tag = "scenarios",
    params(ChangesetParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One row per scenario", content(
            (Vec<holdco_app::tables::ScenarioListRow> = "application/json"),
            (String = "text/csv")
        )),
        (status = 400, description = "An unknown query parameter, or an unknown change set", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "A scoped token", body = ErrorBody),
        (status = 406, description = "An Accept header asking for neither JSON nor CSV", body = ErrorBody),
        (status = 422, description = "Problems in the model's scenario files", body = ErrorBody),
    )
)]
async fn scenarios(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    headers: HeaderMap,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    let p: ChangesetParams = params(raw)?;
    let what_if = crate::whatif::parse(p.changeset.as_deref())?;
    let format = respond::format(&headers)?;
    whole_group(&caller, "a scenario")?;
    blocking(&state, caller.clone(), what_if, move |snapshot| {
        let files = scenario_files(snapshot)?;
        let rows = holdco_app::tables::scenario_list(snapshot.model(), &files);
        respond::either(format, &rows, |r| r.clone())
    })
    .await
}

/// Value one scenario by sum of the parts over seeded Monte Carlo paths (the CLI's
/// `holdco scenario run NAME --json`, or `--csv`). Refused to a scoped token.
#[utoipa::path(
    get,
    path = "/api/v1/scenarios/{name}/run",
    tag = "scenarios",
    params(("name" = String, Path, description = "Scenario name (file stem in scenarios/)"), RunParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The valuation", content(
            (ScenarioRun = "application/json"),
            (String = "text/csv")
        )),
        (status = 400, description = "An unknown scenario, or a parameter unknown or out of range", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "A scoped token", body = ErrorBody),
        (status = 406, description = "An Accept header asking for neither JSON nor CSV", body = ErrorBody),
        (status = 422, description = "The scenario cannot be valued (its problems named)", body = ErrorBody),
    )
)]
async fn scenario_run(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    headers: HeaderMap,
    Path(name): Path<String>,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    let p: RunParams = params(raw)?;
    let what_if = crate::whatif::parse(p.changeset.as_deref())?;
    let format = respond::format(&headers)?;
    whole_group(&caller, "a scenario")?;
    let (paths, seed, top) = run_options(p.paths.as_deref(), p.seed.as_deref(), p.top.as_deref())?;
    blocking(&state, caller.clone(), what_if, move |snapshot| {
        let files = scenario_files(snapshot)?;
        let scenario = find(&files, "name", &name)?;
        let (projection, warnings) = compile(snapshot, scenario)?;
        let simulation = holdco_scenario::engine::simulate(&[&projection], paths, seed, &|_| {});
        let mut run = holdco_scenario::report::run(
            &projection,
            &scenario.title,
            snapshot.model().group.currency.as_str(),
            &simulation,
            top,
        );
        run.result.warnings = warnings;
        respond::either(format, &run, |r| {
            holdco_app::tables::scenario_rows(&[&r.result], None)
        })
    })
    .await
}

/// Value two scenarios on the same paths and compare them (the CLI's
/// `holdco scenario compare A B --json`, or `--csv`). Refused to a scoped token.
#[utoipa::path(
    get,
    path = "/api/v1/scenarios/compare",
    tag = "scenarios",
    params(CompareParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The comparison", content(
            (ScenarioComparison = "application/json"),
            (String = "text/csv")
        )),
        (status = 400, description = "An unknown scenario, or a parameter missing, unknown or out of range", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "A scoped token", body = ErrorBody),
        (status = 406, description = "An Accept header asking for neither JSON nor CSV", body = ErrorBody),
        (status = 422, description = "A scenario cannot be valued", body = ErrorBody),
    )
)]
async fn scenario_compare(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    headers: HeaderMap,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    let p: CompareParams = params(raw)?;
    let what_if = crate::whatif::parse(p.changeset.as_deref())?;
    let format = respond::format(&headers)?;
    whole_group(&caller, "a scenario")?;
    let a =
        p.a.ok_or_else(|| ApiError::bad("a", "required: scenario A"))?;
    let b =
        p.b.ok_or_else(|| ApiError::bad("b", "required: scenario B"))?;
    let (paths, seed, top) = run_options(p.paths.as_deref(), p.seed.as_deref(), p.top.as_deref())?;
    blocking(&state, caller.clone(), what_if, move |snapshot| {
        let files = scenario_files(snapshot)?;
        let (sa, sb) = (find(&files, "a", &a)?, find(&files, "b", &b)?);
        let ((pa, warnings_a), (pb, warnings_b)) = (compile(snapshot, sa)?, compile(snapshot, sb)?);
        let simulation = holdco_scenario::engine::simulate(&[&pa, &pb], paths, seed, &|_| {});
        let mut comparison = holdco_scenario::report::compare(
            (&pa, &sa.title),
            (&pb, &sb.title),
            snapshot.model().group.currency.as_str(),
            &simulation,
            top,
        );
        comparison.a.warnings = warnings_a;
        comparison.b.warnings = warnings_b;
        respond::either(format, &comparison, |c| {
            holdco_app::tables::scenario_rows(&[&c.a, &c.b], Some(&c.difference))
        })
    })
    .await
}

/// What differs between two scenarios: changes and assumptions (the CLI's
/// `holdco scenario diff A B --json`, or `--csv`). Refused to a scoped token.
#[utoipa::path(
    get,
    path = "/api/v1/scenarios/diff",
    tag = "scenarios",
    params(DiffParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The differences", content(
            (ScenarioDiff = "application/json"),
            (String = "text/csv")
        )),
        (status = 400, description = "An unknown scenario, or a parameter missing or unknown", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "A scoped token", body = ErrorBody),
        (status = 406, description = "An Accept header asking for neither JSON nor CSV", body = ErrorBody),
        (status = 422, description = "Problems in the model's scenario files", body = ErrorBody),
    )
)]
async fn scenario_diff(
    State(state): State<SharedState>,
    Authorized(caller): Authorized,
    headers: HeaderMap,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    let p: DiffParams = params(raw)?;
    let what_if = crate::whatif::parse(p.changeset.as_deref())?;
    let format = respond::format(&headers)?;
    whole_group(&caller, "a scenario")?;
    let a =
        p.a.ok_or_else(|| ApiError::bad("a", "required: scenario A"))?;
    let b =
        p.b.ok_or_else(|| ApiError::bad("b", "required: scenario B"))?;
    blocking(&state, caller.clone(), what_if, move |snapshot| {
        let files = scenario_files(snapshot)?;
        let diff = holdco_scenario::spec::diff(find(&files, "a", &a)?, find(&files, "b", &b)?);
        match format {
            Format::Json => respond::json(&diff),
            Format::Csv => respond::csv(&holdco_app::tables::diff_rows(&diff)),
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Schemas of the strategy and scenario answers: their types live in crates without the
// OpenAPI derive; the document names them and points at their description.

macro_rules! described_object {
    ($($name:ident: $text:literal),* $(,)?) => {$(
        #[doc = $text]
        pub struct $name;
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .description(Some($text))
                    .into()
            }
        }
        impl utoipa::ToSchema for $name {}
    )*};
}

described_object!(
    Classification: "The value of `holdco classify --json`: date, fiscal_year, units (unit, name, class, score, criteria, rule, focus_areas, recorded, change), absent, previous_date, problems. docs/format.md, \"HTTP API\".",
    Plan: "The value of `holdco plan --json`: the allocation (unit, class, year, amount), totals, binding constraints with shadow prices. docs/format.md, \"HTTP API\".",
    ScenarioRun: "The value of `holdco scenario run --json`: result (value distribution, bridge, fans, warnings) and tornado. docs/format.md, \"HTTP API\".",
    ScenarioComparison: "The value of `holdco scenario compare --json`: a, b (as a run's result), difference, p_a_greater, tornado. docs/format.md, \"HTTP API\".",
    ScenarioDiff: "The value of `holdco scenario diff --json`: a, b, changes_only_a, changes_only_b, assumptions (key, a, b).",
);
