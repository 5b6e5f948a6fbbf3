//! The rows of the CLI's `--csv` (and `--xlsx`) for answers whose JSON is a nested value:
//! classification, plan, scenarios. The API's `text/csv` answers are the same rows, written
//! by [`crate::text::csv_bytes`].

use holdco_core::Model;
use holdco_scenario::report::{Distribution, ScenarioResult};
use holdco_scenario::spec::{Diff, Scenario};
use holdco_strategy::classify::Classification;
use holdco_strategy::plan::Plan;
use serde::Serialize;
use std::collections::BTreeMap;

/// One unit of `holdco classify --csv`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClassifyRow {
    /// Unit id.
    pub unit: String,
    /// Its name.
    pub name: String,
    /// The class whose rule holds first.
    pub class: Option<String>,
    /// Total score, two decimals.
    pub score: f64,
    /// The rule that held.
    pub rule: Option<String>,
    /// Focus areas, space-separated.
    pub focus_areas: String,
    /// The class recorded in the timeline.
    pub recorded: Option<String>,
    /// When it was recorded.
    pub recorded_on: Option<String>,
    /// What would change.
    pub change: String,
}

/// The rows of `holdco classify --csv`.
pub fn classify_rows(classification: &Classification) -> Vec<ClassifyRow> {
    classification
        .units
        .iter()
        .map(|u| ClassifyRow {
            unit: u.unit.to_string(),
            name: u.name.clone(),
            class: u.class.clone(),
            score: (u.score * 100.0).round() / 100.0,
            rule: u.rule.clone(),
            focus_areas: u.focus_areas.join(" "),
            recorded: u.recorded.as_ref().map(|d| d.class.clone()),
            recorded_on: u.recorded.as_ref().map(|d| d.date.to_string()),
            change: u.change.clone(),
        })
        .collect()
}

/// One line of `holdco plan --csv`: an allocation (unit, class, year, amount) or a binding
/// constraint (constraint, description, shadow price, one-sided rates), told apart by
/// `section`.
/// One line of `holdco plan --csv` (see [`plan_rows`]).
#[derive(Debug, Clone, Serialize)]
pub struct PlanCsvRow {
    /// `allocation` or `binding`.
    pub section: &'static str,
    /// Unit (allocation).
    pub unit: String,
    /// Its class (allocation).
    pub class: String,
    /// Year (allocation).
    pub year: Option<i32>,
    /// Amount (allocation).
    pub amount: Option<f64>,
    /// Constraint name (binding).
    pub constraint: String,
    /// What it says (binding).
    pub description: String,
    /// Value of one more unit of its right-hand side (binding).
    pub shadow_price: Option<f64>,
    /// Whether the one-sided rates were measured (binding).
    pub rates_measured: Option<bool>,
    /// Rate when the right-hand side rises (binding).
    pub rate_up: Option<f64>,
    /// Rate when it falls (binding).
    pub rate_down: Option<f64>,
    /// Whether the solution is degenerate there (binding).
    pub degenerate: Option<bool>,
}

/// The rows of `holdco plan --csv`.
pub fn plan_rows(plan: &Plan) -> Vec<PlanCsvRow> {
    let mut rows: Vec<PlanCsvRow> = plan
        .allocation
        .iter()
        .map(|a| PlanCsvRow {
            section: "allocation",
            unit: a.unit.to_string(),
            class: a.class.clone(),
            year: Some(a.year),
            amount: Some(a.amount),
            constraint: String::new(),
            description: String::new(),
            shadow_price: None,
            rates_measured: None,
            rate_up: None,
            rate_down: None,
            degenerate: None,
        })
        .collect();
    rows.extend(plan.binding.iter().map(|b| PlanCsvRow {
        section: "binding",
        unit: String::new(),
        class: String::new(),
        year: None,
        amount: None,
        constraint: b.constraint.clone(),
        description: b.description.clone(),
        shadow_price: Some(b.shadow_price),
        rates_measured: Some(b.rates_measured),
        rate_up: b.rate_up,
        rate_down: b.rate_down,
        degenerate: Some(b.degenerate),
    }));
    rows
}

/// One line of `holdco scenario run|compare --csv`.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioCsvRow {
    /// Scenario (or `A - B` for the difference).
    pub scenario: String,
    /// `value`, `bridge` or `projection`.
    pub section: &'static str,
    /// The line of the section.
    pub line: String,
    /// `mean`, `se`, `sd` or a percentile (`p5`...).
    pub statistic: String,
    /// The figure.
    pub value: f64,
}

/// The rows of `holdco scenario run --csv` (one result) and `compare --csv` (two, and the
/// distribution of their difference).
pub fn scenario_rows(
    results: &[&ScenarioResult],
    difference: Option<&Distribution>,
) -> Vec<ScenarioCsvRow> {
    let mut rows = Vec::new();
    let distribution = |scenario: &str, d: &Distribution, rows: &mut Vec<ScenarioCsvRow>| {
        for (statistic, value) in [
            ("mean", d.mean),
            ("se", d.se),
            ("sd", d.sd),
            ("p5", d.p5),
            ("p25", d.p25),
            ("p50", d.p50),
            ("p75", d.p75),
            ("p95", d.p95),
        ] {
            rows.push(ScenarioCsvRow {
                scenario: scenario.into(),
                section: "value",
                line: "value to shareholders".into(),
                statistic: statistic.into(),
                value,
            });
        }
    };
    for r in results {
        distribution(&r.scenario, &r.value, &mut rows);
        for b in &r.bridge {
            rows.push(ScenarioCsvRow {
                scenario: r.scenario.clone(),
                section: "bridge",
                line: b.line.clone(),
                statistic: "mean".into(),
                value: b.mean,
            });
        }
        for (t, year) in r.revenue.years.iter().enumerate() {
            for (name, fan) in [("revenue", &r.revenue), ("ebita", &r.ebita)] {
                for (statistic, values) in [("p5", &fan.p5), ("p50", &fan.p50), ("p95", &fan.p95)] {
                    rows.push(ScenarioCsvRow {
                        scenario: r.scenario.clone(),
                        section: "projection",
                        line: format!("{name} {year}"),
                        statistic: statistic.into(),
                        value: values[t],
                    });
                }
            }
        }
    }
    if let (Some(d), [a, b, ..]) = (difference, results) {
        distribution(&format!("{} - {}", a.scenario, b.scenario), d, &mut rows);
    }
    rows
}

/// One scenario of `holdco scenario list`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScenarioListRow {
    /// File stem in `scenarios/`.
    pub name: String,
    /// Title.
    pub title: String,
    /// The scenario it builds on.
    pub base: String,
    /// Future changes it adds.
    pub changes: usize,
    /// Assumptions it sets.
    pub assumptions: usize,
    /// The parts valued, space-separated.
    pub parts: String,
    /// `yes`, or why it cannot be valued.
    pub valuable: String,
}

/// The rows of `holdco scenario list`.
pub fn scenario_list(
    model: &Model,
    scenarios: &BTreeMap<String, Scenario>,
) -> Vec<ScenarioListRow> {
    scenarios
        .values()
        .map(|s| ScenarioListRow {
            name: s.name.clone(),
            title: s.title.clone(),
            base: s.chain.get(1).cloned().unwrap_or_default(),
            changes: s.changes.len(),
            assumptions: s.assumptions.len(),
            parts: s.parts().join(" "),
            valuable: match holdco_scenario::compile::compile(model, s) {
                Ok(_) => "yes".into(),
                Err(problems) => format!("no: {} problem(s)", problems.len()),
            },
        })
        .collect()
}

/// One line of `holdco scenario diff --csv`.
#[derive(Debug, Clone, Serialize)]
pub struct DiffRow<'a> {
    /// `change` or `assumption`.
    pub what: &'a str,
    /// The change id or assumption key.
    pub key: &'a str,
    /// In A.
    pub a: &'a str,
    /// In B.
    pub b: &'a str,
}

/// The rows of `holdco scenario diff --csv`.
pub fn diff_rows(diff: &Diff) -> Vec<DiffRow<'_>> {
    let mut rows = Vec::new();
    for c in &diff.changes_only_a {
        rows.push(DiffRow {
            what: "change",
            key: c,
            a: "yes",
            b: "",
        });
    }
    for c in &diff.changes_only_b {
        rows.push(DiffRow {
            what: "change",
            key: c,
            a: "",
            b: "yes",
        });
    }
    for d in &diff.assumptions {
        rows.push(DiffRow {
            what: "assumption",
            key: &d.key,
            a: d.a.as_deref().unwrap_or(""),
            b: d.b.as_deref().unwrap_or(""),
        });
    }
    rows
}
