//! The read endpoints: query parameters parsed into the core's questions (each mistake a
//! 400 naming its parameter), a token's scope enforced, the core's answer as JSON.

use crate::error::ApiError;
use crate::tokens::Caller;
use chrono::NaiveDate;
use holdco_core::period::{parse_iso_date, parse_range};
use holdco_core::reconcile::Tolerance;
use holdco_core::rollup::{BasisFilter, Engine, Query, View};
use holdco_core::{Aggregation, Currency, MetricId, Model, Period, UnitId};
use serde::Serialize;
use std::collections::HashMap;

type Params = HashMap<String, String>;

/// Most periods one request may ask for (twenty years of months): the server answers many
/// people, so one request may not hold a worker for a century of periods.
pub const MAX_PERIODS: usize = 240;

/// Refuses a parameter the endpoint does not know, so a typo is never silently ignored.
fn only(params: &Params, known: &[&str]) -> Result<(), ApiError> {
    let mut unknown: Vec<&String> = params
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .collect();
    unknown.sort();
    match unknown.first() {
        Some(name) => Err(ApiError::bad(
            name,
            format!("unknown parameter (expected one of: {})", known.join(", ")),
        )),
        None => Ok(()),
    }
}

fn get<'p>(params: &'p Params, name: &str) -> Option<&'p str> {
    params.get(name).map(String::as_str)
}

fn date(params: &Params, name: &str) -> Result<Option<NaiveDate>, ApiError> {
    get(params, name)
        .map(|text| {
            parse_iso_date(text).ok_or_else(|| {
                ApiError::bad(
                    name,
                    format!("`{text}` is not a date: expected YYYY-MM-DD, e.g. 2025-04-01"),
                )
            })
        })
        .transpose()
}

fn number(params: &Params, name: &str) -> Result<Option<u32>, ApiError> {
    get(params, name)
        .map(|text| {
            text.parse::<u32>().map_err(|_| {
                ApiError::bad(
                    name,
                    format!("`{text}` is not a whole number of levels (0 or more)"),
                )
            })
        })
        .transpose()
}

fn flag(params: &Params, name: &str) -> Result<bool, ApiError> {
    match get(params, name) {
        None | Some("false") => Ok(false),
        Some("" | "true") => Ok(true),
        Some(other) => Err(ApiError::bad(
            name,
            format!("`{other}`: expected true or false"),
        )),
    }
}

/// The basis and `from` of a roll-up, as the CLI reads `--basis` and `--from`.
fn basis(params: &Params) -> Result<BasisFilter, ApiError> {
    let from = get(params, "from").unwrap_or("published");
    if !matches!(from, "published" | "reported") {
        return Err(ApiError::bad(
            "from",
            format!("`{from}`: expected published or reported"),
        ));
    }
    let basis = match get(params, "basis").unwrap_or("reported") {
        "reported" => BasisFilter::Reported,
        "plan" => BasisFilter::Plan,
        "estimate" => BasisFilter::Estimate,
        other => match other.strip_prefix("restated@").map(parse_iso_date) {
            Some(Some(date)) => BasisFilter::Restated(date),
            _ => {
                return Err(ApiError::bad(
                    "basis",
                    format!("`{other}`: expected reported, plan, estimate or restated@YYYY-MM-DD"),
                ))
            }
        },
    };
    Ok(match (basis, from) {
        (BasisFilter::Reported, "reported") => BasisFilter::ReportedOnly,
        (basis, _) => basis,
    })
}

/// The default periods of a roll-up, as the CLI chooses them: the last five fiscal years up
/// to the latest one with a figure for the metric (or for the parts of a ratio).
fn latest_years(model: &Model, metric: &MetricId) -> Option<Vec<Period>> {
    let parts: Vec<&MetricId> = match &model.metric(metric)?.aggregation {
        Aggregation::Ratio {
            numerator,
            denominator,
        } => vec![numerator, denominator],
        _ => vec![metric],
    };
    let last = model
        .facts
        .iter()
        .filter(|f| parts.contains(&&f.key.metric))
        .map(|f| f.key.period.last_day())
        .max()?;
    let year = Period::containing(last, holdco_core::Granularity::Year, model.group.calendar());
    Some((-4..=0).map(|k| year.shift(k)).collect())
}

/// The question of a roll-up or explain request, read as the CLI reads its flags.
fn query(model: &Model, params: &Params, depth: u32) -> Result<Query, ApiError> {
    let metric_text =
        get(params, "metric").ok_or_else(|| ApiError::bad("metric", "required (e.g. revenue)"))?;
    let metric = MetricId::parse(metric_text).map_err(|e| ApiError::bad("metric", e))?;
    if model.metric(&metric).is_none() {
        return Err(ApiError::NotFound(format!("unknown metric `{metric}`")));
    }
    let calendar = model.group.calendar();
    let periods = match (get(params, "period"), get(params, "periods")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad(
                "periods",
                "give either period or periods, not both",
            ))
        }
        (Some(one), None) => match parse_range(one, calendar) {
            Ok(list) if list.len() == 1 => list,
            Ok(_) => {
                return Err(ApiError::bad(
                    "period",
                    format!("takes one period; for a range use periods={one}"),
                ))
            }
            Err(e) => return Err(ApiError::bad("period", e)),
        },
        (None, Some(range)) => {
            parse_range(range, calendar).map_err(|e| ApiError::bad("periods", e))?
        }
        (None, None) => latest_years(model, &metric).ok_or_else(|| {
            ApiError::bad(
                "periods",
                format!("no figures for `{metric}` yet: give periods=A..B"),
            )
        })?,
    };
    if periods.len() > MAX_PERIODS {
        return Err(ApiError::bad(
            "periods",
            format!(
                "{} periods asked; a request takes at most {MAX_PERIODS} (ask for a shorter range)",
                periods.len()
            ),
        ));
    }
    Ok(Query {
        metric,
        periods,
        view: View::parse(get(params, "view").unwrap_or("reported"))
            .map_err(|e| ApiError::bad("view", e))?,
        structure: date(params, "structure")?,
        node: get(params, "node")
            .map(UnitId::parse)
            .transpose()
            .map_err(|e| ApiError::bad("node", e))?,
        depth,
        currency: get(params, "currency")
            .map(Currency::parse)
            .transpose()
            .map_err(|e| ApiError::bad("currency", e))?,
        basis: basis(params)?,
    })
}

/// Refuses a question about a node outside a scoped token's subtrees, on the structure
/// date of the question and (in the reported view, where each period has its own
/// structure) at the end of every period asked. The group total is outside every scope
/// but the root's, so a scoped token never sees it.
fn check_scope(engine: &Engine, caller: &Caller, query: &Query) -> Result<(), ApiError> {
    if caller.scopes.is_empty() {
        return Ok(());
    }
    let timeline = engine.timeline();
    let node = match &query.node {
        Some(id) => timeline
            .unit(id)
            .ok_or_else(|| ApiError::NotFound(format!("unknown unit `{id}`")))?,
        None => timeline.root,
    };
    let mut dates = vec![query
        .structure
        .unwrap_or_else(|| engine.latest_structure_date())];
    if query.view == View::Reported {
        dates = query.periods.iter().map(Period::last_day).collect();
    }
    let inside = |date: NaiveDate| {
        let structure = engine.structure(date);
        caller.scopes.iter().any(|scope| {
            timeline
                .unit(scope)
                .is_some_and(|s| structure.in_subtree(node, s))
        })
    };
    if dates.into_iter().all(inside) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "token `{}` sees only the subtrees of {}; ask with node= inside them",
            caller.name,
            caller
                .scopes
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

fn engine(model: &Model) -> Result<Engine<'_>, ApiError> {
    Engine::new(model).map_err(ApiError::from)
}

fn to_json(value: &impl Serialize) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(e.to_string()))
}

/// `GET /api/v1/rollup`: the CLI's `holdco rollup --json`.
pub fn rollup(
    model: &Model,
    caller: &Caller,
    params: &Params,
) -> Result<serde_json::Value, ApiError> {
    only(
        params,
        &[
            "metric",
            "node",
            "period",
            "periods",
            "view",
            "structure",
            "basis",
            "from",
            "depth",
            "currency",
        ],
    )?;
    let depth = number(params, "depth")?.unwrap_or(1);
    let query = query(model, params, depth)?;
    let engine = engine(model)?;
    check_scope(&engine, caller, &query)?;
    to_json(&engine.rollup(&query)?)
}

/// `GET /api/v1/explain`: the CLI's `holdco explain --json`.
pub fn explain(
    model: &Model,
    caller: &Caller,
    params: &Params,
) -> Result<serde_json::Value, ApiError> {
    only(
        params,
        &[
            "metric",
            "node",
            "period",
            "view",
            "structure",
            "basis",
            "from",
        ],
    )?;
    if get(params, "period").is_none() {
        return Err(ApiError::bad(
            "period",
            "required: the period explained (e.g. FY2024)",
        ));
    }
    let query = query(model, params, 0)?;
    let engine = engine(model)?;
    check_scope(&engine, caller, &query)?;
    to_json(&engine.explain(&query)?)
}

/// One unit of `GET /api/v1/structure` (the rows of `holdco structure --json`).
#[derive(Serialize)]
struct StructureRow {
    unit: String,
    name: String,
    kind: String,
    parent: Option<String>,
    depth: u32,
    ownership: f64,
    consolidation: String,
}

/// `GET /api/v1/structure`: the CLI's `holdco structure --json`; a scoped token gets its
/// subtrees only.
pub fn structure(
    model: &Model,
    caller: &Caller,
    params: &Params,
) -> Result<serde_json::Value, ApiError> {
    only(params, &["at", "depth"])?;
    let engine = engine(model)?;
    let date = date(params, "at")?.unwrap_or_else(|| engine.latest_structure_date());
    let max_depth = number(params, "depth")?.unwrap_or(u32::MAX);
    let timeline = engine.timeline();
    let structure = engine.structure(date);
    if !structure.alive[timeline.root as usize] {
        return Err(ApiError::bad(
            "at",
            format!(
                "the group did not exist on {date} (it was created {})",
                timeline.record(timeline.root).created
            ),
        ));
    }
    let tops: Vec<_> = if caller.scopes.is_empty() {
        vec![timeline.root]
    } else {
        caller
            .scopes
            .iter()
            .filter_map(|s| timeline.unit(s))
            .filter(|s| structure.alive[*s as usize])
            .collect()
    };
    let mut rows = Vec::new();
    for top in tops {
        let top_depth = structure.depth[top as usize];
        if top_depth > max_depth {
            continue;
        }
        for (unit, _) in structure.descendants(top, max_depth - top_depth) {
            let record = timeline.record(unit);
            let (share, consolidation) = record.stake_on(date);
            rows.push(StructureRow {
                unit: record.id.to_string(),
                name: record.name_on(date).to_string(),
                kind: record.kind.clone(),
                parent: structure.parent[unit as usize].map(|p| timeline.record(p).id.to_string()),
                depth: structure.depth[unit as usize],
                ownership: share,
                consolidation: consolidation.name().to_string(),
            });
        }
    }
    Ok(serde_json::json!({ "date": date, "units": rows }))
}

/// `GET /api/v1/reconcile`: the CLI's `holdco reconcile --json`; a scoped token gets the
/// checks of its subtrees' units only (in the latest structure).
pub fn reconcile(
    model: &Model,
    caller: &Caller,
    params: &Params,
) -> Result<serde_json::Value, ApiError> {
    only(params, &["tolerance", "failures"])?;
    let tolerance = Tolerance::parse(get(params, "tolerance").unwrap_or("0.5"))
        .map_err(|e| ApiError::bad("tolerance", e))?;
    let failures = flag(params, "failures")?;
    let checks = holdco_core::reconcile::reconcile(model, tolerance)?;
    let engine = engine(model)?;
    let timeline = engine.timeline();
    let structure = engine.structure(engine.latest_structure_date());
    let visible = |unit: &str| {
        caller.scopes.is_empty()
            || UnitId::parse(unit)
                .ok()
                .and_then(|id| timeline.unit(&id))
                .is_some_and(|u| {
                    caller.scopes.iter().any(|scope| {
                        timeline
                            .unit(scope)
                            .is_some_and(|s| structure.in_subtree(u, s))
                    })
                })
    };
    let shown: Vec<_> = checks
        .iter()
        .filter(|c| (!failures || !c.ok) && visible(&c.unit))
        .collect();
    to_json(&shown)
}
