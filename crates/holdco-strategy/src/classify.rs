//! Classification on a date: every portfolio unit's criteria, total score, the class whose
//! rule admits it first, and how that compares with the decisions recorded in the timeline.

use crate::strategy::{compile, Compute, Source, Strategy};
use crate::{problem, STRATEGY_FILE};
use cel_interpreter::{Context, Value};
use chrono::NaiveDate;
use holdco_core::rollup::{BasisFilter, Engine, Query, RowKind, View};
use holdco_core::{ChangeKind, Diagnostic, Granularity, MetricId, Period, UnitId};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One criterion of one unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriterionValue {
    /// Criterion id.
    pub criterion: String,
    /// The score or figure, when known.
    pub value: Option<f64>,
    /// The value mapped onto 0..1 (0 when unknown).
    pub normalized: f64,
    /// Points added to the total score (0..100 over all criteria).
    pub contribution: f64,
    /// Where the value comes from.
    pub basis: String,
}

/// A recorded classification decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// Class decided.
    pub class: String,
    /// On this date.
    pub date: NaiveDate,
}

/// The classification of one unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitClass {
    /// Unit id.
    pub unit: UnitId,
    /// Name on the date.
    pub name: String,
    /// Class the rules give (none when no rule holds).
    pub class: Option<String>,
    /// Total score, 0 to 100.
    pub score: f64,
    /// The rule that decided.
    pub rule: Option<String>,
    /// Focus areas the unit serves.
    pub focus_areas: Vec<String>,
    /// Each criterion's value and contribution.
    pub criteria: Vec<CriterionValue>,
    /// The last decision recorded in the timeline on or before the date.
    pub recorded: Option<Decision>,
    /// The decision before that one.
    pub previous: Option<Decision>,
    /// What changed since the previous classification, in words.
    pub change: String,
    /// The class the rules gave on the previous classification date.
    pub previous_class: Option<String>,
    /// The score then.
    pub previous_score: Option<f64>,
    /// Growth of the first growth criterion (for the portfolio matrix).
    pub growth: Option<f64>,
    /// Margin of the first margin criterion.
    pub margin: Option<f64>,
    /// The metric of the first size criterion, in the group's currency (bubble size).
    pub size_value: Option<f64>,
    /// Whether the unit (or a unit below it) has figures of its own in the fiscal year read,
    /// rather than only a share of another unit's carried to it by lineage: only such units
    /// are drawn on the portfolio matrix.
    pub own_figures: bool,
}

/// The classification of the portfolio on a date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    /// The date.
    pub date: NaiveDate,
    /// The fiscal year computed criteria read (the last one ended on the date).
    pub fiscal_year: String,
    /// Units, by id.
    pub units: Vec<UnitClass>,
    /// Portfolio units not in the group on the date.
    pub absent: Vec<UnitId>,
    /// Date of the previous classification (the last `classify` decision before the date).
    pub previous_date: Option<NaiveDate>,
    /// Rules that failed to run (file and line of the class).
    pub problems: Vec<Diagnostic>,
}

/// The fiscal year that ended last on or before `date`.
pub fn last_fiscal_year(date: NaiveDate, calendar: holdco_core::FiscalCalendar) -> Period {
    let year = Period::containing(date, Granularity::Year, calendar);
    if year.last_day() <= date {
        year
    } else {
        year.shift(-1)
    }
}

/// Figures of every node of the structure on `date` for `metric` over `periods`.
fn figures(
    engine: &Engine,
    metric: &MetricId,
    periods: &[Period],
    date: NaiveDate,
) -> BTreeMap<(String, String), f64> {
    let query = Query {
        metric: metric.clone(),
        periods: periods.to_vec(),
        view: View::Restated,
        structure: Some(date),
        node: None,
        depth: u32::MAX,
        currency: None,
        basis: BasisFilter::Reported,
    };
    let mut out = BTreeMap::new();
    if let Ok(rollup) = engine.rollup(&query) {
        for row in rollup.rows {
            if row.kind == RowKind::Node && row.gap.is_none() {
                if let Some(value) = row.value {
                    out.insert((row.node.clone(), row.period.clone()), value);
                }
            }
        }
    }
    out
}

/// Classifies the portfolio on `date`. Deterministic: units come out in id order, and
/// nothing depends on the order of files or rows.
///
/// "What changed" compares with the recorded decisions and with the previous
/// classification: the rules applied on the date of the last `classify` decision before
/// `date` (score and class then, and whether the class moved since).
pub fn classify(engine: &Engine, strategy: &Strategy, date: NaiveDate) -> Classification {
    let mut now = classify_once(engine, strategy, date);
    let previous_date = engine
        .model()
        .timeline
        .iter()
        .filter(|c| matches!(c.kind, ChangeKind::Classify { .. }) && c.date < date)
        .map(|c| c.date)
        .max();
    if let Some(previous_date) = previous_date {
        let before = classify_once(engine, strategy, previous_date);
        now.previous_date = Some(previous_date);
        for unit in &mut now.units {
            let then = before.units.iter().find(|u| u.unit == unit.unit);
            unit.previous_class = then.and_then(|u| u.class.clone());
            unit.previous_score = then.map(|u| u.score);
            let note = match then {
                None => format!("; not classified on {previous_date}"),
                Some(t) if t.class != unit.class => {
                    format!(
                        "; was {} on {previous_date} (score {:.1})",
                        t.class.clone().unwrap_or_else(|| "no class".into()),
                        t.score
                    )
                }
                Some(t) if (t.score - unit.score).abs() > 1e-9 => {
                    format!("; score {:.1} on {previous_date}", t.score)
                }
                Some(_) => String::new(),
            };
            unit.change.push_str(&note);
        }
    }
    now
}

fn classify_once(engine: &Engine, strategy: &Strategy, date: NaiveDate) -> Classification {
    let model = engine.model();
    let timeline = engine.timeline();
    let calendar = model.group.calendar();
    let year = last_fiscal_year(date, calendar);
    let before = year.shift(-1);
    let label = |p: Period| p.label(calendar);
    let root = model.group.id.to_string();

    // Computed figures, one roll-up per metric.
    let mut cache: BTreeMap<MetricId, BTreeMap<(String, String), f64>> = BTreeMap::new();
    for criterion in &strategy.criteria {
        if let Source::Computed {
            metric,
            denominator,
            ..
        } = &criterion.source
        {
            for m in std::iter::once(metric).chain(denominator.iter()) {
                if !cache.contains_key(m) {
                    cache.insert(m.clone(), figures(engine, m, &[before, year], date));
                }
            }
        }
    }
    let figure = |metric: &MetricId, unit: &str, period: Period| {
        cache
            .get(metric)
            .and_then(|f| f.get(&(unit.to_string(), label(period))))
            .copied()
    };

    let mut problems = Vec::new();
    let programs: Vec<Option<crate::rule::Rule>> = strategy
        .classes
        .iter()
        .map(|c| compile(&c.rule, strategy.focus_areas.len(), strategy.criteria.len()).ok())
        .collect();
    let mut units = Vec::new();
    let mut absent = Vec::new();
    let mut portfolio = strategy.portfolio.clone();
    portfolio.sort();
    for unit in portfolio {
        let Some(index) = timeline.unit(&unit) else {
            continue;
        };
        let record = timeline.record(index);
        if !record.alive_on(date) {
            absent.push(unit);
            continue;
        }
        let id = unit.to_string();
        let mut values = Vec::new();
        let (mut growth, mut margin, mut size_value) = (None, None, None);
        let mut total = 0.0;
        for criterion in &strategy.criteria {
            let (value, normalized, basis) = match &criterion.source {
                Source::Assessment { scale } => {
                    let latest = strategy
                        .assessments
                        .iter()
                        .filter(|a| a.unit == unit && a.criterion == criterion.id && a.date <= date)
                        .max_by_key(|a| a.date);
                    match latest {
                        Some(a) => (
                            Some(a.score),
                            (a.score - scale.0) / (scale.1 - scale.0),
                            format!(
                                "assessed {} on {} (assessments.csv:{})",
                                a.score, a.date, a.line
                            ),
                        ),
                        None => (None, 0.0, "no assessment on or before the date".to_string()),
                    }
                }
                Source::Computed {
                    compute,
                    metric,
                    denominator,
                    range,
                } => {
                    let value = match compute {
                        Compute::Growth => {
                            match (figure(metric, &id, year), figure(metric, &id, before)) {
                                (Some(now), Some(then)) if then != 0.0 => Some(now / then - 1.0),
                                _ => None,
                            }
                        }
                        Compute::Margin => match (
                            figure(metric, &id, year),
                            denominator.as_ref().and_then(|d| figure(d, &id, year)),
                        ) {
                            (Some(top), Some(bottom)) if bottom != 0.0 => Some(top / bottom),
                            _ => None,
                        },
                        Compute::Size => {
                            match (figure(metric, &id, year), figure(metric, &root, year)) {
                                (Some(own), Some(group)) if group != 0.0 => {
                                    size_value = size_value.or(Some(own));
                                    Some(own / group)
                                }
                                _ => None,
                            }
                        }
                    };
                    match compute {
                        Compute::Growth => growth = growth.or(value),
                        Compute::Margin => margin = margin.or(value),
                        Compute::Size => {}
                    }
                    let normalized = value
                        .map(|v| ((v - range.0) / (range.1 - range.0)).clamp(0.0, 1.0))
                        .unwrap_or(0.0);
                    let what = match compute {
                        Compute::Growth => {
                            format!("{metric} {} over {}, restated", label(year), label(before))
                        }
                        Compute::Margin => format!(
                            "{metric} / {} in {}, restated",
                            denominator
                                .as_ref()
                                .map(|d| d.to_string())
                                .unwrap_or_default(),
                            label(year)
                        ),
                        Compute::Size => {
                            format!("{metric} share of the group in {}, restated", label(year))
                        }
                    };
                    (
                        value,
                        normalized,
                        if value.is_some() {
                            what
                        } else {
                            format!("no figure: {what}")
                        },
                    )
                }
            };
            let contribution = 100.0 * criterion.weight * normalized / strategy.weights_sum;
            total += contribution;
            values.push(CriterionValue {
                criterion: criterion.id.clone(),
                value,
                normalized,
                contribution,
                basis,
            });
        }
        let focus_areas: Vec<String> = strategy
            .focus_areas
            .iter()
            .filter(|f| f.units.contains(&unit))
            .map(|f| f.id.clone())
            .collect();

        let mut context = Context::default();
        context.add_variable_from_value("score", Value::Float(total));
        context.add_variable_from_value("focus", Value::Bool(!focus_areas.is_empty()));
        context.add_variable_from_value(
            "focus_areas",
            Value::List(Arc::new(
                focus_areas
                    .iter()
                    .map(|f| Value::String(Arc::new(f.clone())))
                    .collect(),
            )),
        );
        context.add_variable_from_value("unit", Value::String(Arc::new(id.clone())));
        context.add_variable_from_value("unit_kind", Value::String(Arc::new(record.kind.clone())));
        let missing: Vec<Value> = values
            .iter()
            .filter(|v| v.value.is_none())
            .map(|v| Value::String(Arc::new(v.criterion.clone())))
            .collect();
        context.add_variable_from_value("missing", Value::List(Arc::new(missing)));
        for value in &values {
            context.add_variable_from_value(
                value.criterion.clone(),
                Value::Float(value.value.unwrap_or(0.0)),
            );
        }
        let mut decided = None;
        for (class, program) in strategy.classes.iter().zip(&programs) {
            let Some(program) = program else { continue };
            match program.execute(&context) {
                Ok(Value::Bool(true)) => {
                    decided = Some(class);
                    break;
                }
                Ok(Value::Bool(false)) => {}
                Ok(other) => problems.push(problem(
                    STRATEGY_FILE,
                    class.line,
                    Some("rule"),
                    format!(
                        "for `{unit}` the rule `{}` gave {other:?}, not true or false",
                        class.rule
                    ),
                )),
                Err(error) => problems.push(problem(
                    STRATEGY_FILE,
                    class.line,
                    Some("rule"),
                    format!("for `{unit}` the rule `{}` failed: {error}", class.rule),
                )),
            }
        }

        let mut decisions: Vec<Decision> = model
            .ordered_timeline()
            .into_iter()
            .filter(|c| c.date <= date)
            .filter_map(|c| match &c.kind {
                ChangeKind::Classify { unit: u, class } if u == &unit => Some(Decision {
                    class: class.clone(),
                    date: c.date,
                }),
                _ => None,
            })
            .collect();
        let recorded = decisions.pop();
        let previous = decisions.pop();
        let class = decided.map(|c| c.id.clone());
        let change = match (&recorded, &class) {
            (None, Some(c)) => format!("no decision recorded; rules say {c}"),
            (None, None) => "no decision recorded; no rule holds".to_string(),
            (Some(r), Some(c)) if &r.class == c => match &previous {
                Some(p) if p.class != r.class => format!(
                    "{} since {} (was {} since {})",
                    r.class, r.date, p.class, p.date
                ),
                _ => format!("{} since {}", r.class, r.date),
            },
            (Some(r), c) => format!(
                "recorded {} on {}; rules now say {}",
                r.class,
                r.date,
                c.clone().unwrap_or_else(|| "no class".into())
            ),
        };
        let structure = engine.structure(date);
        let own_figures = engine.model().facts.iter().any(|f| {
            year.contains(&f.key.period)
                && timeline
                    .unit(&f.key.unit)
                    .is_some_and(|u| structure.alive[u as usize] && structure.in_subtree(u, index))
        });
        units.push(UnitClass {
            own_figures,
            name: record.name_on(date).to_string(),
            unit,
            class,
            score: total,
            rule: decided.map(|c| c.rule.clone()),
            focus_areas,
            criteria: values,
            recorded,
            previous,
            change,
            previous_class: None,
            previous_score: None,
            growth,
            margin,
            size_value,
        });
    }
    Classification {
        date,
        fiscal_year: label(year),
        units,
        absent,
        previous_date: None,
        problems,
    }
}
