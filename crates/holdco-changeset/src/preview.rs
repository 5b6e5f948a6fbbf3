//! What a change set would change, before it is applied: the structure on a date before and
//! after (units moved, new, gone) and every roll-up cell of the last two fiscal years,
//! restated into that date's structure, whose value differs.

use crate::diff::{Diff, Evaluation};
use chrono::NaiveDate;
use holdco_core::rollup::{BasisFilter, Engine, Query, View};
use holdco_core::timeline::Timeline;
use holdco_core::{Aggregation, Granularity, MetricId, Model, Period};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The preview of a change set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preview {
    /// The structure date compared and restated into (today, by default).
    pub structure: NaiveDate,
    /// The fiscal years compared.
    pub periods: Vec<String>,
    /// Units whose parent differs on that date.
    pub moved: Vec<UnitMove>,
    /// Units in the structure after, not before.
    pub new_units: Vec<UnitPlace>,
    /// Units in the structure before, not after.
    pub gone_units: Vec<UnitPlace>,
    /// Every roll-up cell whose value differs.
    pub cells: Vec<CellChange>,
    /// Metrics that could not be rolled up on one side, with the reason.
    pub skipped: Vec<String>,
}

/// A unit that changes parent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitMove {
    /// Unit id.
    pub unit: String,
    /// Its name after.
    pub name: String,
    /// Parent before.
    pub from: Option<String>,
    /// Parent after.
    pub to: Option<String>,
}

/// A unit and where it sits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitPlace {
    /// Unit id.
    pub unit: String,
    /// Its name.
    pub name: String,
    /// Its parent.
    pub parent: Option<String>,
}

/// One roll-up cell before and after (`None`: no figure, or not in that structure).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellChange {
    /// Metric id.
    pub metric: String,
    /// Row: a node id or a line (discontinued, eliminations ...).
    pub node: String,
    /// The row's name.
    pub name: String,
    /// The row's kind (node, discontinued ...).
    pub kind: String,
    /// Period label.
    pub period: String,
    /// True for a percentage metric (values are fractions: 0.09 is 9%).
    pub percent: bool,
    /// Before.
    pub before: Option<f64>,
    /// After.
    pub after: Option<f64>,
}

/// Where each unit alive on `date` sits: id to (name, parent id).
fn placement(model: &Model, date: NaiveDate) -> BTreeMap<String, (String, Option<String>)> {
    let (timeline, _) = Timeline::replay(&model.group, &model.metrics, &model.timeline);
    if timeline.units.is_empty() {
        return BTreeMap::new();
    }
    let structure = timeline.structure_on(date);
    let mut placed = BTreeMap::new();
    for (index, record) in timeline.units.iter().enumerate() {
        if !structure.alive.get(index).copied().unwrap_or(false) {
            continue;
        }
        let parent = structure.parent[index]
            .map(|parent| timeline.units[parent as usize].id.as_str().to_string());
        placed.insert(
            record.id.as_str().to_string(),
            (record.name_on(date).to_string(), parent),
        );
    }
    placed
}

/// The cells of every metric's (or `metrics`') restated roll-up of `periods` into the
/// structure of `date`.
fn cells(
    model: &Model,
    date: NaiveDate,
    periods: &[Period],
    skipped: &mut Vec<String>,
    side: &str,
    metrics: Option<&BTreeSet<MetricId>>,
) -> BTreeMap<(String, String, String, String), (String, Option<f64>)> {
    let mut out = BTreeMap::new();
    let engine = match Engine::new(model) {
        Ok(engine) => engine,
        Err(error) => {
            skipped.push(format!("{side}: {error}"));
            return out;
        }
    };
    for metric in &model.metrics {
        if metrics.is_some_and(|only| !only.contains(&metric.id)) {
            continue;
        }
        let query = Query {
            metric: metric.id.clone(),
            periods: periods.to_vec(),
            view: View::Restated,
            structure: Some(date),
            node: None,
            depth: u32::MAX,
            currency: None,
            basis: BasisFilter::Reported,
        };
        match engine.rollup(&query) {
            Ok(rollup) => {
                for row in rollup.rows {
                    let kind = serde_json::to_value(&row.kind)
                        .ok()
                        .and_then(|value| value.as_str().map(str::to_string))
                        .unwrap_or_default();
                    out.insert(
                        (
                            row.metric.clone(),
                            row.node.clone(),
                            kind,
                            row.period.clone(),
                        ),
                        (row.name.clone(), row.value),
                    );
                }
            }
            Err(error) => skipped.push(format!("{side}: {}: {error}", metric.id.as_str())),
        }
    }
    out
}

/// True when two figures differ (beyond a relative 1e-9, so that a figure added up in
/// another order is no change).
fn differs(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() > 1e-9 * a.abs().max(b.abs()).max(1.0),
        (None, None) => false,
        _ => true,
    }
}

/// The preview of going from `before` to `after`, on the structure of `date`: the last two
/// fiscal years ended by `date`, restated into its structure. Every metric's roll-up is
/// computed on the whole of both models; [`preview_of`] gives the same cells computing only
/// what the change can touch.
pub fn preview(before: &Model, after: &Model, date: NaiveDate) -> Preview {
    preview_with(before, after, date, None)
}

/// [`preview`] of the change `diff` made (`before` to `after`), computing only the roll-up
/// cells it can touch: the metrics of the facts it writes or removes (and the ratios over
/// them; every metric when it changes the timeline or the rates, which every figure may go
/// through), from the facts of those metrics whose periods overlap the two years compared.
/// A roll-up of a metric and period reads only that metric's facts (a ratio's: its
/// numerator's and denominator's) of periods inside the period (exact, finer, or a
/// published restatement of it), so every other cell is the same before and after; the
/// property tests hold this preview equal to [`preview`] on generated patches.
pub fn preview_of(before: &Model, after: &Model, diff: &Diff, date: NaiveDate) -> Preview {
    let only = touched(after, diff);
    let periods = compared_periods(after, date);
    let reduced_after = reduced(after, &only.read, &periods);
    preview_with(before, after, date, Some((only, reduced_after)))
}

/// The metrics a change can touch and the metrics they read (see [`preview_of`]).
fn touched(after: &Model, diff: &Diff) -> Touched {
    let all =
        !diff.timeline_added.is_empty() || !diff.timeline_removed.is_empty() || !diff.fx.is_empty();
    let touched: BTreeSet<MetricId> = if all {
        after
            .metrics
            .iter()
            .map(|metric| metric.id.clone())
            .collect()
    } else {
        let mut touched: BTreeSet<MetricId> =
            diff.facts.iter().map(|f| f.key.metric.clone()).collect();
        // Ratios over a touched metric (and ratios over those), then what each ratio reads.
        loop {
            let more: Vec<MetricId> = after
                .metrics
                .iter()
                .filter(|metric| !touched.contains(&metric.id))
                .filter(|metric| match &metric.aggregation {
                    Aggregation::Ratio {
                        numerator,
                        denominator,
                    } => touched.contains(numerator) || touched.contains(denominator),
                    _ => false,
                })
                .map(|metric| metric.id.clone())
                .collect();
            if more.is_empty() {
                break;
            }
            touched.extend(more);
        }
        touched
    };
    let mut read = touched.clone();
    loop {
        let more: Vec<MetricId> = after
            .metrics
            .iter()
            .filter(|metric| read.contains(&metric.id))
            .filter_map(|metric| match &metric.aggregation {
                Aggregation::Ratio {
                    numerator,
                    denominator,
                } => Some([numerator.clone(), denominator.clone()]),
                _ => None,
            })
            .flatten()
            .filter(|id| !read.contains(id))
            .collect();
        if more.is_empty() {
            break;
        }
        read.extend(more);
    }
    Touched { touched, read }
}

/// [`preview_of`] of a patch evaluated without making the model after ([`Evaluation`]): the
/// facts the reduced preview reads after are taken from the base and the diff, so nothing
/// else of a large model is copied. The same preview (the property tests hold it).
pub fn preview_evaluated(before: &Model, evaluation: &Evaluation, date: NaiveDate) -> Preview {
    let only = touched(&evaluation.frame, &evaluation.diff);
    let periods = compared_periods(&evaluation.frame, date);
    let reduced_after = Model {
        facts: evaluation.facts_where(before, |fact| {
            only.read.contains(&fact.key.metric) && overlaps(&periods, &fact.key.period)
        }),
        documents: Default::default(),
        ..evaluation.frame.clone()
    };
    preview_with(before, &evaluation.frame, date, Some((only, reduced_after)))
}

/// The last two fiscal years that have ended by `date`.
fn compared_periods(model: &Model, date: NaiveDate) -> Vec<Period> {
    let this_year = Period::containing(date, Granularity::Year, model.group.calendar());
    vec![this_year.shift(-2), this_year.shift(-1)]
}

/// True when `period` overlaps one of `periods`.
fn overlaps(periods: &[Period], period: &Period) -> bool {
    periods
        .iter()
        .any(|p| period.first_day() <= p.last_day() && p.first_day() <= period.last_day())
}

/// What a reduced preview computes: the metrics whose cells may change, and the metrics
/// whose facts they read.
struct Touched {
    touched: BTreeSet<MetricId>,
    read: BTreeSet<MetricId>,
}

/// The model with only the facts of `read` metrics whose period overlaps one of `periods`.
fn reduced(model: &Model, read: &BTreeSet<MetricId>, periods: &[Period]) -> Model {
    let overlaps = |period: &Period| overlaps(periods, period);
    Model {
        group: model.group.clone(),
        metrics: model.metrics.clone(),
        timeline: model.timeline.clone(),
        facts: model
            .facts
            .iter()
            .filter(|fact| read.contains(&fact.key.metric) && overlaps(&fact.key.period))
            .cloned()
            .collect(),
        fx: model.fx.clone(),
        documents: Default::default(),
    }
}

/// The preview from `before` to `after` (whose facts are read only without `only`); with
/// `only`, the reduced preview: the touched metrics' cells, from the model after reduced to
/// the facts they read (given).
fn preview_with(
    before: &Model,
    after: &Model,
    date: NaiveDate,
    only: Option<(Touched, Model)>,
) -> Preview {
    let calendar = after.group.calendar();
    let periods = compared_periods(after, date);
    let old = placement(before, date);
    let new = placement(after, date);
    let mut preview = Preview {
        structure: date,
        periods: periods.iter().map(|p| p.label(calendar)).collect(),
        moved: Vec::new(),
        new_units: Vec::new(),
        gone_units: Vec::new(),
        cells: Vec::new(),
        skipped: Vec::new(),
    };
    for (unit, (name, parent)) in &new {
        match old.get(unit) {
            None => preview.new_units.push(UnitPlace {
                unit: unit.clone(),
                name: name.clone(),
                parent: parent.clone(),
            }),
            Some((_, old_parent)) if old_parent != parent => preview.moved.push(UnitMove {
                unit: unit.clone(),
                name: name.clone(),
                from: old_parent.clone(),
                to: parent.clone(),
            }),
            Some(_) => {}
        }
    }
    for (unit, (name, parent)) in &old {
        if !new.contains_key(unit) {
            preview.gone_units.push(UnitPlace {
                unit: unit.clone(),
                name: name.clone(),
                parent: parent.clone(),
            });
        }
    }
    let mut skipped = Vec::new();
    let (old_cells, new_cells) = match &only {
        None => (
            cells(before, date, &periods, &mut skipped, "before", None),
            cells(after, date, &periods, &mut skipped, "after", None),
        ),
        Some((only, reduced_after)) => (
            cells(
                &reduced(before, &only.read, &periods),
                date,
                &periods,
                &mut skipped,
                "before",
                Some(&only.touched),
            ),
            cells(
                reduced_after,
                date,
                &periods,
                &mut skipped,
                "after",
                Some(&only.touched),
            ),
        ),
    };
    let keys: std::collections::BTreeSet<&(String, String, String, String)> =
        old_cells.keys().chain(new_cells.keys()).collect();
    for key in keys {
        let (old_name, old_value) = old_cells
            .get(key)
            .map_or((None, None), |(name, value)| (Some(name), *value));
        let (new_name, new_value) = new_cells
            .get(key)
            .map_or((None, None), |(name, value)| (Some(name), *value));
        if differs(old_value, new_value) {
            preview.cells.push(CellChange {
                metric: key.0.clone(),
                node: key.1.clone(),
                name: new_name.or(old_name).cloned().unwrap_or_default(),
                kind: key.2.clone(),
                period: key.3.clone(),
                percent: after
                    .metrics
                    .iter()
                    .chain(&before.metrics)
                    .find(|metric| metric.id.as_str() == key.0)
                    .is_some_and(|metric| metric.measure == holdco_core::Measure::Percent),
                before: old_value,
                after: new_value,
            });
        }
    }
    preview.skipped = skipped;
    preview
}
