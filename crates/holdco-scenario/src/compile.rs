//! From a scenario and the model to a [`Projection`] the engine can run.
//!
//! The scenario's changes are added to the base timeline (the branch) and the branch is
//! validated like any timeline, so a change on a unit absent on its date is an error with
//! the scenario's file and line. Base-year figures of every part come from holdco's own
//! restated roll-up: the start year restated into the branch's structure (or into the
//! structure the part had just before a separation took it out), so a scenario that merges
//! units is projected from like-for-like figures. The branch's structure at the end of the
//! horizon gives each part's status: kept at the group's economic share, spun off to the
//! shareholders, or sold.

use crate::corr;
use crate::dist::Dist;
use crate::engine::{Basis, Correlation, Method, OneOff, Part, Projection, Var};
use crate::spec::{Assumption, Scenario, Value};
use chrono::{Days, NaiveDate};
use holdco_core::rollup::{BasisFilter, Engine, Query, RowKind, View};
use holdco_core::{ChangeKind, Diagnostic, Granularity, MetricId, Model, Period, UnitId};
use std::collections::BTreeMap;

/// Metric ids the projection reads.
pub const REVENUE: &str = "revenue";
/// EBITA metric ids tried in order.
pub const EBITA: [&str; 3] = ["adjusted_ebita", "ebita", "operating_income"];

/// A problem at an assumption.
fn at(assumption: &Assumption, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        file: assumption.file.clone(),
        line: Some(assumption.line),
        field: Some(assumption.key.clone()),
        message: message.into(),
    }
}

/// A required key that is missing from a table whose first key is `first`.
fn missing(first: &Assumption, key: &str, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        file: first.file.clone(),
        line: Some(first.line),
        field: Some(key.into()),
        message: message.into(),
    }
}

/// A problem at the scenario file, no line.
fn at_file(scenario: &Scenario, field: &str, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        file: scenario.file.clone(),
        line: None,
        field: Some(field.into()),
        message: message.into(),
    }
}

fn number(scenario: &Scenario, key: &str) -> Option<f64> {
    match scenario.get(key).map(|a| &a.value) {
        Some(Value::Number { value }) => Some(*value),
        _ => None,
    }
}

fn text<'s>(scenario: &'s Scenario, key: &str) -> Option<&'s str> {
    match scenario.get(key).map(|a| &a.value) {
        Some(Value::Text { value }) => Some(value),
        _ => None,
    }
}

/// The model with the scenario's changes added: the branch. Recorded history is kept up to
/// the branch point (the scenario's first change); facts of periods that end on or after it
/// belong to the path the group actually took, not to this one, and are left out.
pub fn branch(model: &Model, scenario: &Scenario) -> Model {
    let mut branched = model.clone();
    if let Some(point) = scenario.changes.iter().map(|c| c.date).min() {
        branched
            .facts
            .retain(|fact| fact.key.period.last_day() < point);
    }
    branched.timeline.extend(scenario.changes.iter().cloned());
    branched
}

/// Compiles a scenario. Every problem is returned (file, line, field, what was expected).
pub fn compile(model: &Model, scenario: &Scenario) -> Result<Projection, Vec<Diagnostic>> {
    compile_with(model, scenario, true).map(|(projection, _)| projection)
}

/// [`compile`], with the warnings: assumptions the scenario gives but the valuation does not
/// use (a unit the scenario merges or splits away is valued inside its successors, with
/// their assumptions).
pub fn compile_with_warnings(
    model: &Model,
    scenario: &Scenario,
) -> Result<(Projection, Vec<Diagnostic>), Vec<Diagnostic>> {
    compile_with(model, scenario, true)
}

/// [`compile`], for checking the scenario's files: a capital plan that cannot be solved is
/// the plan's problem (`holdco plan` names the conflicting constraints), not the file's, so
/// it does not make the scenario invalid and the model still loads.
pub(crate) fn check(model: &Model, scenario: &Scenario) -> Result<Projection, Vec<Diagnostic>> {
    compile_with(model, scenario, false).map(|(projection, _)| projection)
}

/// The consolidation factor of `index` in each of `periods`, weighted by the days of the
/// period (0 on days it is not in the group): a stake cut or a disposal during a year
/// reports the part in full up to that day and at the new factor after.
fn reporting_factors(
    timeline: &holdco_core::timeline::Timeline<'_>,
    index: holdco_core::timeline::UnitIndex,
    periods: &[Period],
) -> Vec<f64> {
    let record = timeline.record(index);
    periods
        .iter()
        .map(|period| {
            let (first, last) = (period.first_day(), period.last_day());
            let days = (last - first).num_days() + 1;
            // Runs of days at one factor: a year at a single factor gets it exactly.
            let mut runs: Vec<(f64, u32)> = Vec::new();
            for day in first.iter_days().take(days as usize) {
                let factor = if record.alive_on(day) {
                    timeline.ownership_on(index, day).0
                } else {
                    0.0
                };
                match runs.last_mut() {
                    Some((f, n)) if *f == factor => *n += 1,
                    _ => runs.push((factor, 1)),
                }
            }
            match runs.as_slice() {
                [(factor, _)] => *factor,
                _ => runs.iter().map(|(f, n)| f * f64::from(*n)).sum::<f64>() / days as f64,
            }
        })
        .collect()
}

/// Years from the valuation date (the first day of `periods[0]`) to `date`: whole projection
/// years before the one it falls in, plus the share of that year's days gone by (0 before
/// the valuation date).
pub fn years_from_valuation(periods: &[Period], date: NaiveDate) -> f64 {
    match periods.iter().position(|p| p.last_day() >= date) {
        Some(t) if date >= periods[0].first_day() => {
            let (first, last) = (periods[t].first_day(), periods[t].last_day());
            t as f64 + (date - first).num_days() as f64 / ((last - first).num_days() + 1) as f64
        }
        Some(_) => 0.0,
        None => periods.len() as f64,
    }
}

fn compile_with(
    model: &Model,
    scenario: &Scenario,
    infeasible_plan_is_a_problem: bool,
) -> Result<(Projection, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let calendar = model.group.calendar();
    // Horizon.
    let start = match scenario.get("horizon.start") {
        Some(a) => match text(scenario, "horizon.start").map(|t| Period::parse(t, calendar)) {
            Some(Ok(p)) if p.granularity == Granularity::Year => Some(p),
            Some(Ok(_)) => {
                problems.push(at(
                    a,
                    "expected a (fiscal) year such as \"FY2025\": projections run in years",
                ));
                None
            }
            Some(Err(e)) => {
                problems.push(at(a, e));
                None
            }
            None => None,
        },
        None => {
            problems.push(at_file(scenario, "horizon.start", "missing: the base year the projection starts from, e.g. start = \"FY2025\" under [horizon]"));
            None
        }
    };
    let years = match number(scenario, "horizon.years") {
        Some(y) => y as usize,
        None => {
            problems.push(at_file(
                scenario,
                "horizon.years",
                "missing: how many years to project, e.g. years = 5 under [horizon]",
            ));
            0
        }
    };
    let (Some(start), true) = (start, years > 0) else {
        return Err(problems);
    };
    let periods: Vec<Period> = (1..=years as i32)
        .map(|k| Period::new(start.start + 12 * k, Granularity::Year))
        .collect();
    let labels: Vec<String> = periods.iter().map(|p| p.label(calendar)).collect();
    let valuation_date = periods[0].first_day();
    let horizon_end = periods[years - 1].last_day();

    // The branch, validated; only problems the scenario brings are reported.
    for change in &scenario.changes {
        if change.date > horizon_end {
            problems.push(Diagnostic {
                file: change.origin.file.clone(),
                line: Some(change.origin.line),
                field: Some("date".into()),
                message: format!("{} is beyond the horizon (it ends {horizon_end}); extend horizon.years or move the change", change.date),
            });
        }
    }
    let branched = branch(model, scenario);
    let engine = match Engine::new(&branched) {
        Ok(engine) => engine,
        Err(holdco_core::rollup::QueryError::InvalidModel(found)) => {
            let before = match Engine::new(model) {
                Err(holdco_core::rollup::QueryError::InvalidModel(base)) => base,
                _ => Vec::new(),
            };
            for diagnostic in found {
                if before.contains(&diagnostic) {
                    continue;
                }
                let mut diagnostic = diagnostic;
                if diagnostic.file != scenario.file
                    && !scenario
                        .changes
                        .iter()
                        .any(|c| c.origin.file == diagnostic.file)
                {
                    diagnostic.message = format!(
                        "with the changes of scenario `{}`: {}",
                        scenario.name, diagnostic.message
                    );
                }
                problems.push(diagnostic);
            }
            if problems.is_empty() {
                problems.push(at_file(
                    scenario,
                    "change",
                    "the model is not valid; run `holdco check`",
                ));
            }
            return Err(problems);
        }
        Err(other) => {
            problems.push(at_file(scenario, "change", other.to_string()));
            return Err(problems);
        }
    };
    let timeline = engine.timeline();
    let structure_date = match scenario.get("horizon.structure") {
        Some(a) => match text(scenario, "horizon.structure")
            .and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
        {
            Some(date) => date,
            None => {
                problems.push(at(a, "expected a date"));
                return Err(problems);
            }
        },
        None => engine.latest_structure_date().min(horizon_end),
    };
    let ebita_metric = EBITA
        .iter()
        .find(|m| model.metrics.iter().any(|x| x.id.as_str() == **m))
        .copied();
    let figure =
        |unit: &UnitId, metric: &str, period: Period, structure: NaiveDate| -> Option<f64> {
            let query = Query {
                metric: MetricId::parse(metric).ok()?,
                periods: vec![period],
                view: View::Restated,
                structure: Some(structure),
                node: Some(unit.clone()),
                depth: 0,
                currency: None,
                basis: BasisFilter::Reported,
            };
            let rollup = engine.rollup(&query).ok()?;
            rollup
                .rows
                .iter()
                .find(|r| r.kind == RowKind::Node && r.node == unit.as_str())
                .and_then(|r| r.value)
        };

    // Capital plan, when a part needs it.
    let needs_capital = scenario.parts().iter().any(|p| {
        number(scenario, &format!("unit.{p}.capital_elasticity")).is_some_and(|e| e != 0.0)
    });
    let mut capital: BTreeMap<(String, usize), f64> = BTreeMap::new();
    if needs_capital {
        match plan_capital(model, &periods) {
            Ok(found) => {
                for ((unit, t), amount) in found {
                    *capital.entry((unit, t)).or_default() += amount;
                }
            }
            Err(CapitalIssue::Infeasible(_)) if !infeasible_plan_is_a_problem => {}
            Err(CapitalIssue::Infeasible(message) | CapitalIssue::Other(message)) => {
                let key = scenario
                    .parts()
                    .into_iter()
                    .map(|p| format!("unit.{p}.capital_elasticity"))
                    .find(|k| scenario.get(k).is_some())
                    .unwrap_or_default();
                if let Some(a) = scenario.get(&key) {
                    problems.push(at(a, message));
                }
            }
        }
    }

    // Separations: by change id.
    let separation_ids = scenario.separations();
    for id in &separation_ids {
        if !scenario
            .changes
            .iter()
            .any(|c| c.id.as_deref() == Some(id.as_str()))
        {
            if let Some(a) = scenario
                .assumptions
                .range(format!("separation.{id}.")..)
                .next()
                .map(|(_, a)| a)
            {
                let ids: Vec<&str> = scenario
                    .changes
                    .iter()
                    .filter_map(|c| c.id.as_deref())
                    .collect();
                problems.push(at(
                    a,
                    format!(
                        "no change of this scenario has id `{id}` (its changes' ids: {})",
                        if ids.is_empty() {
                            "none".into()
                        } else {
                            ids.join(", ")
                        }
                    ),
                ));
            }
        }
    }

    let var = |key: &str, problems: &mut Vec<Diagnostic>| -> Option<Var> {
        let a = scenario.get(key)?;
        match &a.value {
            Value::Dists { dists } => Some(Var::new(key, dists.clone())),
            _ => {
                problems.push(at(a, "expected a distribution"));
                None
            }
        }
    };
    let path_var = |key: &str,
                    history: &dyn Fn() -> Result<Dist, String>,
                    problems: &mut Vec<Diagnostic>|
     -> Option<Var> {
        let a = scenario.get(key)?;
        match &a.value {
            Value::Dists { dists } => {
                if dists.len() > 1 && dists.len() < years {
                    problems.push(at(
                        a,
                        format!(
                            "the horizon runs {years} years ({} to {}) but {} yearly distributions are given; add {} more, or give one distribution for every year",
                            labels[0],
                            labels[years - 1],
                            dists.len(),
                            years - dists.len()
                        ),
                    ));
                    return None;
                }
                Some(Var::new(key, dists.clone()))
            }
            Value::History => match history() {
                Ok(dist) => Some(Var::one(key, dist)),
                Err(message) => {
                    problems.push(at(a, message));
                    None
                }
            },
            _ => None,
        }
    };

    let history = |unit: &UnitId, structure: NaiveDate, margin: bool| -> Result<Dist, String> {
        let mut values = Vec::new();
        let mut previous: Option<f64> = None;
        for k in (1..=30).rev() {
            let period = Period::new(start.start - 12 * (k - 1), Granularity::Year);
            let revenue = figure(unit, REVENUE, period, structure);
            if margin {
                if let (Some(r), Some(e)) = (
                    revenue,
                    ebita_metric.and_then(|m| figure(unit, m, period, structure)),
                ) {
                    if r != 0.0 {
                        values.push(e / r);
                    }
                }
            } else {
                if let (Some(p), Some(r)) = (previous, revenue) {
                    if p > 0.0 {
                        values.push(r / p - 1.0);
                    }
                }
                previous = revenue;
            }
        }
        Dist::empirical(values.clone()).map_err(|_| {
            format!(
                "the history of `{unit}` restated into the structure of {structure} gives {} yearly {}; need at least 2 (give a distribution instead)",
                values.len(),
                if margin { "margins" } else { "growth rates" }
            )
        })
    };

    // Parts.
    let mut parts = Vec::new();
    let structure = engine.structure(structure_date);
    for unit_name in scenario.parts() {
        let prefix = format!("unit.{unit_name}");
        let first_key = scenario
            .assumptions
            .range(format!("{prefix}.")..)
            .next()
            .map(|(_, a)| a.clone());
        let Some(first) = first_key else { continue };
        let Some((unit, index)) = UnitId::parse(&unit_name)
            .ok()
            .and_then(|u| timeline.unit(&u).map(|i| (u, i)))
        else {
            problems.push(at(&first, format!("unknown unit `{unit_name}`")));
            continue;
        };
        let record = timeline.record(index);
        // A part the scenario merges or splits away lives on in its successors: its
        // history is restated into them, so it is not valued on its own.
        let absorbed = scenario.changes.iter().any(|c| match &c.kind {
            ChangeKind::Merge { units, into } => units.contains(&unit) && into != &unit,
            ChangeKind::Split { unit: split, parts } => {
                split == &unit && !parts.iter().any(|p| p.unit == unit)
            }
            _ => false,
        });
        if absorbed && !structure.alive[index as usize] {
            // Valued inside its successors, with their assumptions: say so, since a user who
            // wrote (or inherited) this table would expect it to count.
            let successors: Vec<String> = scenario
                .changes
                .iter()
                .filter_map(|c| match &c.kind {
                    ChangeKind::Merge { units, into } if units.contains(&unit) => {
                        Some(format!("merges it into `{into}` on {}", c.date))
                    }
                    ChangeKind::Split { unit: split, parts } if split == &unit => Some(format!(
                        "splits it into {} on {}",
                        parts
                            .iter()
                            .map(|p| format!("`{}`", p.unit))
                            .collect::<Vec<_>>()
                            .join(", "),
                        c.date
                    )),
                    _ => None,
                })
                .collect();
            let inherited = if first.file == scenario.file {
                String::new()
            } else {
                format!(" (inherited from {})", first.file)
            };
            let line = scenario
                .assumptions
                .range(format!("{prefix}.")..)
                .take_while(|(k, _)| k.starts_with(&format!("{prefix}.")))
                .map(|(_, a)| a.line)
                .min()
                .unwrap_or(first.line);
            warnings.push(Diagnostic {
                file: first.file.clone(),
                line: Some(line),
                field: Some(prefix.clone()),
                message: format!(
                    "[unit.{unit_name}]{inherited} is not used: this scenario {}, and what it becomes is projected from the histories restated together, with the successor's own assumptions",
                    successors.join(" and ")
                ),
            });
            continue;
        }
        // Where its figures come from: the branch's structure, or just before it left.
        let alive_at_end = record.alive_on(horizon_end);
        let source_date = if structure.alive[index as usize] {
            structure_date
        } else if let Some((ended, _)) = record.ended {
            ended.checked_sub_days(Days::new(1)).unwrap_or(ended)
        } else {
            problems.push(at(
                &first,
                format!("`{unit_name}` is not in the structure of {structure_date}"),
            ));
            continue;
        };
        if !record.alive_on(source_date) {
            problems.push(at(
                &first,
                format!("`{unit_name}` does not exist on {source_date}"),
            ));
            continue;
        }
        let name = record.name_on(source_date).to_string();
        let Some(revenue0) = figure(&unit, REVENUE, start, source_date) else {
            problems.push(at(
                &first,
                format!("no {REVENUE} for `{unit_name}` in {} restated into the structure of {source_date}: add the fact or choose another horizon.start", start.label(calendar)),
            ));
            continue;
        };
        let ebita0 = ebita_metric.and_then(|m| figure(&unit, m, start, source_date));
        let growth = match scenario.get(&format!("{prefix}.growth")) {
            Some(_) => path_var(
                &format!("{prefix}.growth"),
                &|| history(&unit, source_date, false),
                &mut problems,
            ),
            None => {
                problems.push(missing(&first, &format!("{prefix}.growth"), "missing growth: the yearly revenue growth, e.g. growth = { dist = \"normal\", mean = 0.08, sd = 0.04 }"));
                None
            }
        };
        let margin = match scenario.get(&format!("{prefix}.margin")) {
            Some(_) => path_var(
                &format!("{prefix}.margin"),
                &|| history(&unit, source_date, true),
                &mut problems,
            ),
            None => {
                match ebita0 {
                    Some(e) if revenue0 != 0.0 => Some(Var::one(
                        format!("{prefix}.margin"),
                        Dist::Fixed(e / revenue0),
                    )),
                    _ => {
                        problems.push(missing(&first, &format!("{prefix}.margin"), format!("missing margin, and no EBITA for `{unit_name}` in {} to take it from", start.label(calendar))));
                        None
                    }
                }
            }
        };
        let multiple = match var(&format!("{prefix}.multiple"), &mut problems) {
            Some(v) => Some(v),
            None => {
                if scenario.get(&format!("{prefix}.multiple")).is_none()
                    && scenario.get("valuation.method").map(|a| &a.value)
                        != Some(&Value::Text {
                            value: "dcf".into(),
                        })
                {
                    problems.push(missing(&first, &format!("{prefix}.multiple"), "missing multiple: EV / EBITA (or EV / revenue with basis = \"revenue\"), e.g. multiple = { dist = \"lognormal\", median = 12, sd_log = 0.2 }"));
                    None
                } else {
                    Some(Var::one(format!("{prefix}.multiple"), Dist::Fixed(0.0)))
                }
            }
        };
        let basis = match text(scenario, &format!("{prefix}.basis")) {
            Some("revenue") => Basis::Revenue,
            _ => Basis::Ebita,
        };
        let elasticity = number(scenario, &format!("{prefix}.capital_elasticity")).unwrap_or(0.0);
        // Capital of the part: allocations to it or to any unit below it.
        let mut capital_by_year = vec![0.0; years];
        if !capital.is_empty() {
            let source_structure = engine.structure(source_date);
            for ((u, t), amount) in &capital {
                let below = UnitId::parse(u)
                    .ok()
                    .and_then(|u| timeline.unit(&u))
                    .is_some_and(|i| {
                        source_structure.alive[i as usize] && source_structure.in_subtree(i, index)
                    });
                if below {
                    capital_by_year[*t] += amount;
                }
            }
        }
        // Status at the end of the horizon (the valuation); the reporting factor year by year
        // (the projected group figures).
        let report = reporting_factors(timeline, index, &periods);
        let (mut held, mut direct, mut status) = (0.0, 0.0, String::new());
        if alive_at_end {
            let economic = timeline.ownership_on(index, horizon_end).1;
            held = economic;
            status = if economic < 1.0 {
                format!("held, {:.1}% economic share", economic * 100.0)
            } else {
                "held".into()
            };
        }
        let mut dis_synergy = None;
        for change in &scenario.changes {
            let Some(id) = &change.id else { continue };
            let day_before = change
                .date
                .checked_sub_days(Days::new(1))
                .unwrap_or(change.date);
            let affected = |changed: &UnitId| {
                timeline.unit(changed).is_some_and(|c| {
                    let s = engine.structure(day_before);
                    s.alive[index as usize] && s.alive[c as usize] && s.in_subtree(index, c)
                })
            };
            let form = text(scenario, &format!("separation.{id}.form"));
            let year = periods
                .iter()
                .position(|p| p.last_day() >= change.date)
                .unwrap_or(0);
            match &change.kind {
                ChangeKind::Divest {
                    unit: changed,
                    proceeds,
                    ..
                }
                | ChangeKind::Stake {
                    unit: changed,
                    proceeds,
                    ..
                } if affected(changed) => {
                    let before = timeline.ownership_on(index, day_before).1;
                    let after = if alive_at_end {
                        timeline.ownership_on(index, horizon_end).1
                    } else {
                        0.0
                    };
                    let kind_is_divest = matches!(change.kind, ChangeKind::Divest { .. });
                    match form {
                        Some("spin_off") => {
                            direct += (before - after).max(0.0);
                            status = format!(
                                "spun off to shareholders on {}{}",
                                change.date,
                                if after > 0.0 {
                                    format!(", {:.1}% kept", after * 100.0)
                                } else {
                                    String::new()
                                }
                            );
                        }
                        Some("sale") | Some("listing") | None => {
                            if kind_is_divest
                                && form.is_none()
                                && proceeds.is_none()
                                && scenario.get(&format!("separation.{id}.proceeds")).is_none()
                            {
                                problems.push(Diagnostic {
                                    file: change.origin.file.clone(),
                                    line: Some(change.origin.line),
                                    field: Some("proceeds".into()),
                                    message: format!(
                                        "`{changed}` leaves the group with neither proceeds nor a [separation.{id}] saying how: give proceeds for a sale, or form = \"spin_off\" to hand the shares to the shareholders"
                                    ),
                                });
                            }
                            if kind_is_divest {
                                status = format!("sold on {}", change.date);
                            } else {
                                status = format!(
                                    "{} on {}, {:.1}% kept",
                                    if form == Some("listing") {
                                        "listed"
                                    } else {
                                        "stake sold"
                                    },
                                    change.date,
                                    after * 100.0
                                );
                            }
                        }
                        Some(_) => {}
                    }
                }
                _ => {}
            }
            if let Some(v) = var(
                &format!("separation.{id}.dis_synergy.{unit_name}"),
                &mut problems,
            ) {
                dis_synergy = Some((
                    v,
                    if change.date < valuation_date {
                        0
                    } else {
                        year
                    },
                ));
            }
        }
        if !alive_at_end && status.is_empty() {
            let left = record.ended.map(|(d, _)| d.to_string()).unwrap_or_default();
            problems.push(at(&first, format!("`{unit_name}` leaves the group on {left} in the base timeline, before the horizon ends; drop [unit.{unit_name}] or end the horizon earlier")));
            continue;
        }
        if let (Some(growth), Some(margin), Some(multiple)) = (growth, margin, multiple) {
            parts.push(Part {
                unit: unit_name.clone(),
                name,
                revenue0,
                growth,
                margin,
                multiple,
                basis,
                capital: capital_by_year,
                elasticity,
                held,
                direct,
                report,
                dis_synergy,
                status,
            });
        }
    }
    if parts.is_empty() && problems.is_empty() {
        problems.push(at_file(
            scenario,
            "unit",
            "no parts: add a [unit.ID] table per unit valued in the sum of the parts",
        ));
    }

    // Group items.
    let mut costs = Vec::new();
    let mut proceeds = Vec::new();
    for change in &scenario.changes {
        let Some(id) = &change.id else { continue };
        // One-offs fall due on the change's date and are discounted from it.
        let due = years_from_valuation(&periods, change.date);
        if let Some(v) = var(&format!("separation.{id}.cost"), &mut problems) {
            costs.push(OneOff::at(v, due));
        }
        if let Some(v) = var(&format!("separation.{id}.proceeds"), &mut problems) {
            proceeds.push(OneOff::at(v, due));
        } else if let ChangeKind::Divest {
            proceeds: Some(money),
            ..
        }
        | ChangeKind::Stake {
            proceeds: Some(money),
            ..
        } = &change.kind
        {
            if money.currency != model.group.currency {
                problems.push(Diagnostic {
                    file: change.origin.file.clone(),
                    line: Some(change.origin.line),
                    field: Some("proceeds".into()),
                    message: format!("proceeds in {} but the valuation is in {}: give them in {} or as separation.{id}.proceeds", money.currency, model.group.currency, model.group.currency),
                });
            } else {
                proceeds.push(OneOff::at(
                    Var::one(format!("change.{id}.proceeds"), Dist::Fixed(money.amount)),
                    due,
                ));
            }
        }
    }
    let correlation = correlation(scenario, &parts, &mut problems);
    let method = match text(scenario, "valuation.method").unwrap_or("multiple") {
        "dcf" => {
            let need = |key: &str, what: &str, problems: &mut Vec<Diagnostic>| {
                let found = var(key, problems);
                if found.is_none() && scenario.get(key).is_none() {
                    problems.push(at_file(
                        scenario,
                        key,
                        format!("missing: the DCF needs {what}"),
                    ));
                }
                found
            };
            let wacc = need("valuation.wacc", "a discount rate (wacc)", &mut problems);
            let terminal = need(
                "valuation.terminal_growth",
                "terminal_growth",
                &mut problems,
            );
            let conversion = need(
                "valuation.cash_conversion",
                "cash_conversion (free cash flow per unit of EBITA)",
                &mut problems,
            );
            match (wacc, terminal, conversion) {
                (Some(w), Some(g), Some(c)) => {
                    let lowest_wacc = w
                        .dists
                        .iter()
                        .map(|d| d.at_z(-6.0))
                        .fold(f64::INFINITY, f64::min);
                    let highest_growth = g
                        .dists
                        .iter()
                        .map(|d| d.at_z(6.0))
                        .fold(f64::NEG_INFINITY, f64::max);
                    if lowest_wacc <= highest_growth {
                        if let Some(a) = scenario.get("valuation.terminal_growth") {
                            problems.push(at(
                                a,
                                format!("terminal growth can reach the WACC (growth up to {highest_growth:.4}, WACC down to {lowest_wacc:.4} within 6 sd): the terminal value would be infinite; narrow the distributions or use bounded ones (triangular, uniform)"),
                            ));
                        }
                    }
                    Some(Method::Dcf {
                        wacc: w,
                        terminal_growth: g,
                        conversion: c,
                    })
                }
                _ => None,
            }
        }
        _ => {
            let year = number(scenario, "valuation.year")
                .map(|y| y as usize)
                .unwrap_or(1);
            if year > years {
                if let Some(a) = scenario.get("valuation.year") {
                    problems.push(at(
                        a,
                        format!(
                            "the multiple applies in year {year} but the horizon has {years} years"
                        ),
                    ));
                }
            }
            Some(Method::Multiple {
                year: year.clamp(1, years),
                rate: var("valuation.discount_rate", &mut problems),
            })
        }
    };
    let discount = var("valuation.holding_discount", &mut problems);
    if let (Some(d), Some(a)) = (&discount, scenario.get("valuation.holding_discount")) {
        let (lo, hi) = (d.dists[0].at_z(-6.0), d.dists[0].at_z(6.0));
        if lo < 0.0 || hi >= 1.0 {
            problems.push(at(a, format!("a holding discount is a share of value from 0 to 1; this distribution reaches {lo:.3}..{hi:.3} (use a bounded one such as triangular or beta-like uniform)")));
        }
    }
    let net_cash = var("valuation.net_cash", &mut problems);
    let other_assets = var("valuation.other_assets", &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let projection = Projection {
        name: scenario.name.clone(),
        years: labels,
        parts,
        correlation,
        method: method.expect("checked above"),
        net_cash,
        other_assets,
        discount,
        costs,
        proceeds,
    };
    Ok((projection, warnings))
}

fn correlation(scenario: &Scenario, parts: &[Part], problems: &mut Vec<Diagnostic>) -> Correlation {
    if let Some(a) = scenario.get("correlation.factor") {
        let rho = number(scenario, "correlation.factor").unwrap_or(0.0);
        if !(0.0..=1.0).contains(&rho) {
            problems.push(at(
                a,
                format!("a common-factor correlation runs from 0 to 1 (got {rho})"),
            ));
            return Correlation::None;
        }
        return Correlation::Factor(rho);
    }
    let Some(a) = scenario.get("correlation.matrix") else {
        return Correlation::None;
    };
    let Value::Matrix { units, rows } = &a.value else {
        return Correlation::None;
    };
    if units.len() != rows.len() {
        problems.push(at(
            a,
            format!(
                "{} units but {} rows: give `units` in the order of the rows",
                units.len(),
                rows.len()
            ),
        ));
        return Correlation::None;
    }
    for unit in units {
        if !parts.iter().any(|p| &p.unit == unit) {
            problems.push(at(
                a,
                format!(
                    "`{unit}` is not a part of this scenario (parts: {})",
                    parts
                        .iter()
                        .map(|p| p.unit.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    if let Err(error) = corr::check(rows) {
        problems.push(at(a, error.to_string()));
        return Correlation::None;
    }
    // Full matrix in part order: listed units as given, others independent.
    let n = parts.len();
    let position: Vec<Option<usize>> = parts
        .iter()
        .map(|p| units.iter().position(|u| u == &p.unit))
        .collect();
    let full: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| match (position[i], position[j]) {
                    (Some(a), Some(b)) => rows[a][b],
                    _ => f64::from(u8::from(i == j)),
                })
                .collect()
        })
        .collect();
    Correlation::Matrix(corr::factor(&full))
}

/// Capital allocated to a unit in a projection year: ((unit, year index), amount).
type CapitalCell = ((String, usize), f64);

/// Why capital could not be taken from the plan.
enum CapitalIssue {
    /// The plan's constraints conflict (or the solver failed): the plan's problem.
    Infeasible(String),
    /// The plan is missing or its documents have problems.
    Other(String),
}

/// Capital per (unit, projection year index) from the model's capital plan: a calendar year
/// feeds the projection year that starts in it.
fn plan_capital(model: &Model, periods: &[Period]) -> Result<Vec<CapitalCell>, CapitalIssue> {
    let (documents, problems) = holdco_strategy::check(model);
    if let Some(first) = problems.first() {
        return Err(CapitalIssue::Other(format!(
            "the capital plan has problems ({}: {}); run `holdco check`",
            first.file, first.message
        )));
    }
    let Some(capital) = documents.capital.as_ref() else {
        return Err(CapitalIssue::Other("capital_elasticity needs a capital plan (capital.toml) to take allocations from; add one or drop the elasticity".into()));
    };
    let engine = Engine::new(model).map_err(|e| CapitalIssue::Other(e.to_string()))?;
    let classes =
        holdco_strategy::plan::classes_on(&engine, documents.strategy.as_ref(), capital.classes_on);
    // Only the allocation is needed: no shadow-price rates (they cost two solves a row).
    let plan =
        holdco_strategy::plan::solve_with_rates(capital, documents.strategy.as_ref(), &classes, 0)
            .map_err(|e| {
                CapitalIssue::Infeasible(format!(
                    "the capital plan cannot be solved ({e}); run `holdco plan`"
                ))
            })?;
    let mut out = Vec::new();
    for allocation in &plan.allocation {
        if let Some(t) = periods
            .iter()
            .position(|p| p.first_day().format("%Y").to_string() == allocation.year.to_string())
        {
            out.push(((allocation.unit.to_string(), t), allocation.amount));
        }
    }
    Ok(out)
}

/// The group's actual history of one metric, drawn under a scenario's fan chart.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Actuals {
    /// The metric read (`revenue`, or the first EBITA metric the model defines).
    pub metric: String,
    /// The structure the history is restated into: the group as it stood at the end of the
    /// scenario's base year (`horizon.start`).
    pub structure: NaiveDate,
    /// Whether the figures are the group's continuing operations (the total less what left
    /// the group before the structure date) or its whole total.
    pub continuing: bool,
    /// `(year label, value)` for every year with a complete figure.
    pub points: Vec<(String, f64)>,
    /// Years in the span that are gaps (left out of the line, named in the footnote).
    pub gaps: Vec<String>,
    /// Where the figures come from (`published`, `computed`, ...), each named once.
    pub provenance: Vec<String>,
}

/// The actual history of revenue and EBITA for a scenario's charts: the group's figures in the
/// restated view into its structure at the end of the base year, from `back` years before
/// the base year up to the last projected year the model already holds. Read from the
/// model itself, not the scenario's branch: these are what happened. `None` for a metric
/// the model does not define or when the horizon cannot be read (compile reports why).
pub fn actuals(model: &Model, scenario: &Scenario, back: usize) -> [Option<Actuals>; 2] {
    let calendar = model.group.calendar();
    let Some(Ok(start)) = text(scenario, "horizon.start").map(|t| Period::parse(t, calendar))
    else {
        return [None, None];
    };
    if start.granularity != Granularity::Year {
        return [None, None];
    }
    let years = number(scenario, "horizon.years").unwrap_or(0.0).max(0.0) as i32;
    let Ok(engine) = Engine::new(model) else {
        return [None, None];
    };
    let structure = start.last_day();
    let periods: Vec<Period> = (-(back as i32)..=years)
        .map(|k| Period::new(start.start + 12 * k, Granularity::Year))
        .collect();
    let ebita = EBITA
        .iter()
        .find(|m| model.metrics.iter().any(|x| x.id.as_str() == **m))
        .copied();
    let series =
        |metric: &str| -> Option<Actuals> {
            let query = Query {
                metric: MetricId::parse(metric).ok()?,
                periods: periods.clone(),
                view: View::Restated,
                structure: Some(structure),
                node: None,
                // The continuing-operations line is shown one level below the group.
                depth: 1,
                currency: None,
                basis: BasisFilter::Reported,
            };
            let rollup = engine.rollup(&query).ok()?;
            let continuing = rollup.rows.iter().any(|r| r.kind == RowKind::Continuing);
            let wanted = if continuing {
                RowKind::Continuing
            } else {
                RowKind::Node
            };
            let mut out = Actuals {
                metric: metric.to_string(),
                structure,
                continuing,
                points: Vec::new(),
                gaps: Vec::new(),
                provenance: Vec::new(),
            };
            for (k, label) in rollup.periods.iter().enumerate() {
                let row = rollup.rows.iter().find(|r| {
                    r.kind == wanted && (continuing || r.depth == 0) && &r.period == label
                });
                let Some(row) = row else { continue };
                match (row.value, &row.gap) {
                    (Some(v), None) if v.is_finite() => {
                        out.points.push((label.clone(), v));
                        // Provenance is on the group's node row.
                        let node = rollup.rows.iter().find(|r| {
                            r.kind == RowKind::Node && r.depth == 0 && &r.period == label
                        });
                        if let Some(p) = node.and_then(|r| r.provenance.clone()) {
                            for part in p.split(" + ") {
                                if !out.provenance.iter().any(|x| x == part) {
                                    out.provenance.push(part.to_string());
                                }
                            }
                        }
                    }
                    // A gap in the base year or before is said; projected years the model does
                    // not hold yet are simply not actual.
                    _ if k <= back => out.gaps.push(label.clone()),
                    _ => {}
                }
            }
            Some(out)
        };
    [series(REVENUE), ebita.and_then(series)]
}
