//! Roll-ups: a metric for any node and period, as reported, restated into another date's
//! structure, or organic; and the explanation of every figure down to its facts.
//!
//! A query compiles each fact into *contributions*: the fact's value, translated and
//! weighted by ownership, carried by lineage weights to the units of the viewed structure.
//! Because a fact is a unit's figure including everything below it, each fact also
//! contributes its negative to the nearest unit above it that carries a figure for the same
//! period, so a published total above its segments adds only its unexplained remainder.
//! Node values are then sums over subtrees, less intercompany eliminations.

use crate::ids::{Currency, MetricId, UnitId};
use crate::model::{Aggregation, Basis, ChangeKind, Diagnostic, Measure, Model};
use crate::period::{Granularity, Period};
use crate::timeline::{HistoryEvent, Structure, Timeline, UnitIndex};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// How facts meet a structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Each period in the structure in force when it was reported.
    Reported,
    /// Every period carried into one chosen date's structure by lineage.
    Restated,
    /// Restated, without units acquired or divested in the compared span.
    Organic,
    /// Restated as if every deal of the compared span had happened at its start: units
    /// divested or spun off in the span removed from every period, units acquired in it
    /// counted in every period, a gap where their pre-acquisition figures are missing
    /// (docs/semantics.md, "Pro forma").
    ProForma,
}

impl View {
    /// Parses `reported`, `restated` or `organic`.
    pub fn parse(text: &str) -> Result<View, String> {
        match text {
            "reported" => Ok(View::Reported),
            "restated" => Ok(View::Restated),
            "organic" => Ok(View::Organic),
            "pro_forma" | "pro-forma" | "proforma" => Ok(View::ProForma),
            other => Err(format!(
                "`{other}` is not a view (expected reported, restated, organic or pro-forma)"
            )),
        }
    }
    /// The name used on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            View::Reported => "reported",
            View::Restated => "restated",
            View::Organic => "organic",
            View::ProForma => "pro_forma",
        }
    }
}

/// Which facts a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum BasisFilter {
    /// The default. As reported in the reported view; in the restated and organic views,
    /// the group's own published restatements where it made them and reported facts carried
    /// by lineage elsewhere (docs/semantics.md, section 4).
    Reported,
    /// Reported facts only, carried by lineage in every view: holdco's own restatement, to
    /// compare with what the group published (`--from reported`).
    ReportedOnly,
    /// Plan figures.
    Plan,
    /// Estimates.
    Estimate,
    /// Figures published restated into the structure of a date.
    Restated(NaiveDate),
}

impl BasisFilter {
    #[allow(dead_code)]
    fn matches(&self, basis: &Basis) -> bool {
        matches!(
            (self, basis),
            (
                BasisFilter::Reported | BasisFilter::ReportedOnly,
                Basis::Reported
            ) | (BasisFilter::Plan, Basis::Plan)
                | (BasisFilter::Estimate, Basis::Estimate)
        ) || matches!((self, basis), (BasisFilter::Restated(a), Basis::Restated { structure: b }) if a == b)
    }
}

/// A roll-up question.
#[derive(Debug, Clone)]
pub struct Query {
    /// Metric asked for.
    pub metric: MetricId,
    /// Periods, in order.
    pub periods: Vec<Period>,
    /// View.
    pub view: View,
    /// Date of the target structure (restated and organic views); the latest change date when omitted.
    pub structure: Option<NaiveDate>,
    /// Node at the top of the answer; the group root when omitted.
    pub node: Option<UnitId>,
    /// Levels below the node to show.
    pub depth: u32,
    /// Output currency; the reporting currency when omitted.
    pub currency: Option<Currency>,
    /// Facts read.
    pub basis: BasisFilter,
}

/// Errors a query can meet (the model itself is valid).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// The metric is not defined.
    #[error("unknown metric `{0}` (defined metrics: {1})")]
    UnknownMetric(MetricId, String),
    /// The node does not exist in the viewed structure.
    #[error("unit `{0}` is not in the structure on {1}{2}")]
    NodeNotInStructure(UnitId, NaiveDate, String),
    /// The node id is unknown.
    #[error("unknown unit `{0}`{1}")]
    UnknownUnit(UnitId, String),
    /// No FX rate for the output currency.
    #[error("no FX rate for {0} in {1}: add it to fx.csv or drop --currency")]
    MissingRate(Currency, String),
    /// No periods asked.
    #[error("no period given: use --period P or --periods A..B")]
    NoPeriods,
    /// The model is not valid.
    #[error("the model has {} problem(s); run `holdco check`", .0.len())]
    InvalidModel(Vec<Diagnostic>),
}

/// What a row of a roll-up stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    /// A unit of the viewed structure.
    Node,
    /// A figure recorded on the node itself beyond what its children explain.
    Own,
    /// Intercompany eliminated between the node's children.
    Eliminations,
    /// History of a unit divested or closed before the viewed structure.
    Discontinued,
    /// History of a unit that did not exist yet in the viewed structure.
    OutsideStructure,
    /// The group's continuing operations: its total less the discontinued and outside lines
    /// (shown at the top of the group when there are such lines).
    Continuing,
}

/// One line of a roll-up for one period.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RollupRow {
    /// Unit id (or the unit a special line is about).
    pub node: String,
    /// Display name in the viewed structure.
    pub name: String,
    /// Depth below the queried node.
    pub depth: u32,
    /// Kind of line.
    pub kind: RowKind,
    /// Period label.
    pub period: String,
    /// Metric id.
    pub metric: String,
    /// Value in the output currency, None where nothing is recorded or the figure has a gap.
    pub value: Option<f64>,
    /// Minority (non-controlling) share included in the value.
    pub minority: f64,
    /// Intercompany eliminated at this node.
    pub eliminated: f64,
    /// Why the value is missing or partial, if it is.
    pub gap: Option<String>,
    /// Where the figure comes from: `reported` (reported view), `published` (the group's own
    /// restatement into this structure), `chained from DATE` (its restatement into an earlier
    /// structure, carried on by lineage), `computed` (reported facts carried by lineage), or
    /// several of them joined by ` + `. None on lines and where nothing is recorded.
    pub provenance: Option<String>,
}

/// A full roll-up answer.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rollup {
    /// Metric.
    pub metric: String,
    /// View.
    pub view: View,
    /// Structure date the rows are shown in (restated, organic) or the latest period's.
    pub structure: NaiveDate,
    /// Output currency (for currency metrics).
    pub currency: Option<String>,
    /// Period labels in order.
    pub periods: Vec<String>,
    /// Rows: for each line, one row per period, lines in tree order.
    pub rows: Vec<RollupRow>,
    /// Units excluded by the organic view.
    pub excluded: Vec<String>,
    /// Which engine answered: `explainable` (per-fact contributions) or `columnar`.
    pub engine: String,
}

/// Where a piece of history lands in the viewed structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// A unit of a structure on a date.
    Unit(UnitIndex, NaiveDate),
    /// The unit's history ended (divested or closed) before the structure date.
    Discontinued(UnitIndex),
    /// The unit did not exist yet on the structure date.
    Outside(UnitIndex),
}

/// One step of lineage: a change that moved history, and the weight it applied.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineageStep {
    /// Change id (or kind and date when it has none).
    pub change: String,
    /// Date of the change.
    pub date: NaiveDate,
    /// What happened to the history.
    pub what: String,
    /// Weight applied at this step.
    pub weight: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct Landing {
    pub(crate) target: Target,
    pub(crate) weight: f64,
    pub(crate) steps: Vec<LineageStep>,
}

/// A fact's share of one figure.
#[derive(Debug, Clone)]
struct Contribution {
    fact: usize,
    /// +1 for the unit's own figure, -1 when subtracting it from the recorded unit above.
    sign: f64,
    /// The unit whose lineage carries it (the fact's unit, or the unit above for -1).
    via: UnitIndex,
    source_date: NaiveDate,
    landing: Landing,
    factor: f64,
    economic: f64,
    rate: f64,
    amount: f64,
    /// Index of the layer it comes from (`Computation::layers`).
    layer: usize,
    /// Set when this is the negative of an earlier layer's figure, taken back at a unit
    /// whose figure a later published restatement gives: says which.
    replaced: Option<String>,
}

/// A layer's figure before it is landed in the viewed structure.
#[derive(Debug, Clone)]
struct RawContribution {
    fact: usize,
    sign: f64,
    via: UnitIndex,
    date: NaiveDate,
    factor: f64,
    economic: f64,
    rate: f64,
    /// sign x value x rate x ownership factor.
    base: f64,
}

#[derive(Debug, Clone)]
struct RawElimination {
    fact: usize,
    amount: f64,
    side: (UnitIndex, NaiveDate),
    other: (UnitIndex, NaiveDate),
}

struct RawGap {
    unit: UnitIndex,
    date: NaiveDate,
    above: Option<UnitIndex>,
    reason: String,
}

/// One layer of facts (one basis) for one metric and period, not yet landed.
struct RawLayer {
    basis: Basis,
    contributions: Vec<RawContribution>,
    eliminations: Vec<RawElimination>,
    gaps: Vec<RawGap>,
    resolution: BTreeMap<UnitIndex, String>,
    /// Units with a figure of their own in this layer.
    covered: Vec<UnitIndex>,
}

#[derive(Debug, Clone)]
struct EliminationItem {
    fact: usize,
    amount: f64,
    side: Vec<Landing>,
    other: Vec<Landing>,
}

/// Everything computed for one additive metric and one period.
struct Computation {
    contributions: Vec<Contribution>,
    eliminations: Vec<EliminationItem>,
    /// Units whose figure is incomplete: where they land, where the nearest recorded total
    /// above them lands (which still holds them), and why.
    gaps: Vec<(Vec<Landing>, Option<Vec<Landing>>, String)>,
    resolution: BTreeMap<UnitIndex, String>,
    /// Provenance label of each layer, lowest priority first.
    layers: Vec<String>,
}

/// The query engine over a valid model.
pub struct Engine<'m> {
    model: &'m Model,
    timeline: Timeline<'m>,
    /// Facts by (unit, metric, basis) then period, built on the first question that needs
    /// them (a roll-up answered by the columnar path never does: on a million units the index
    /// cost more than the roll-up, issue 16 item 6).
    facts: std::sync::OnceLock<std::sync::Arc<FactIndex>>,
    /// Periods of the group's published restatements, by metric and structure date.
    published: HashMap<MetricId, BTreeMap<NaiveDate, Vec<Period>>>,
    /// Periods of the group's published pro-forma figures, by metric and structure date.
    pro_forma: HashMap<MetricId, BTreeMap<NaiveDate, Vec<Period>>>,
    /// Structures asked for, by date: shared between threads (the engine is `Send + Sync`,
    /// so a server keeps one per model revision), at most [`STRUCTURE_CACHE`] of them.
    structures: std::sync::Mutex<HashMap<NaiveDate, std::sync::Arc<Structure>>>,
}

/// Facts by (unit, metric, basis) then period: positions in [`Model::facts`], in key order.
type FactIndex = HashMap<(UnitIndex, MetricId, Basis), BTreeMap<Period, Vec<usize>>>;

/// Structures an engine keeps: a roll-up asks for one per period end at most (a request of
/// the server at most 240), and a server asked about many dates must not grow without bound.
const STRUCTURE_CACHE: usize = 1024;

fn same_basis_key(basis: &Basis) -> Basis {
    *basis
}

impl<'m> Engine<'m> {
    /// Builds the engine; refuses an invalid model with its problems.
    pub fn new(model: &'m Model) -> Result<Self, QueryError> {
        // The bulk validator finds the same problems as `validate::validate`, faster on large models.
        let (timeline, problems) = crate::bulk_validate::validate(model);
        if !problems.is_empty() {
            return Err(QueryError::InvalidModel(problems));
        }
        Ok(Self::over(model, timeline))
    }

    /// Builds the engine over a model its caller has already found valid (no problem from
    /// [`crate::bulk_validate::validate`]), replaying the timeline without checking every
    /// fact again: a server that validated a change to a valid model incrementally serves
    /// the model after without a second pass over its million facts. Debug builds check the
    /// promise.
    pub fn new_validated(model: &'m Model) -> Self {
        debug_assert!(crate::bulk_validate::validate(model).1.is_empty());
        let (timeline, _) = Timeline::replay(&model.group, &model.metrics, &model.timeline);
        Self::over(model, timeline)
    }

    /// Builds the engine over a model found valid with `timeline` its replayed timeline
    /// (as [`crate::bulk_validate::columns_valid_timeline`] gives it): no second replay of a
    /// long timeline. Debug builds check the promise.
    pub fn over_valid(model: &'m Model, timeline: Timeline<'m>) -> Self {
        debug_assert!(crate::bulk_validate::validate(model).1.is_empty());
        Self::over(model, timeline)
    }

    fn over(model: &'m Model, timeline: Timeline<'m>) -> Self {
        let mut published: HashMap<MetricId, BTreeMap<NaiveDate, Vec<Period>>> = HashMap::new();
        let mut pro_forma: HashMap<MetricId, BTreeMap<NaiveDate, Vec<Period>>> = HashMap::new();
        for fact in &model.facts {
            let (map, structure) = match fact.key.basis {
                Basis::Restated { structure } => (&mut published, structure),
                Basis::ProForma { structure } => (&mut pro_forma, structure),
                _ => continue,
            };
            {
                let periods = map
                    .entry(fact.key.metric.clone())
                    .or_default()
                    .entry(structure)
                    .or_default();
                if !periods.contains(&fact.key.period) {
                    periods.push(fact.key.period);
                }
            }
        }
        Engine {
            model,
            timeline,
            facts: std::sync::OnceLock::new(),
            published,
            pro_forma,
            structures: Default::default(),
        }
    }

    /// The facts by (unit, metric, basis) then period, built on first use.
    fn fact_index(&self) -> &FactIndex {
        self.facts
            .get_or_init(|| std::sync::Arc::new(self.build_fact_index()))
    }

    /// Shares `from`'s fact index (when it has built one) with this engine, whose model holds
    /// facts of the same keys at the same positions as `from`'s, over a timeline that replays
    /// to the same units (a server's model after a change set that only revised figures):
    /// the index holds only keys and positions, so the first question after the change does
    /// not index every fact again. True when shared. Refused (false) when the numbers of
    /// facts or units differ; debug builds check every key.
    pub fn share_fact_index(&self, from: &Engine<'_>) -> bool {
        let Some(index) = from.facts.get() else {
            return false;
        };
        if self.model.facts.len() != from.model.facts.len()
            || self.timeline.units.len() != from.timeline.units.len()
        {
            return false;
        }
        debug_assert!(self
            .model
            .facts
            .iter()
            .zip(&from.model.facts)
            .all(|(a, b)| a.key == b.key));
        self.facts.set(index.clone()).is_ok()
    }

    fn build_fact_index(&self) -> FactIndex {
        {
            let mut facts: HashMap<(UnitIndex, MetricId, Basis), BTreeMap<Period, Vec<usize>>> =
                HashMap::new();
            for (index, fact) in self.model.facts.iter().enumerate() {
                let unit = self.timeline.unit(&fact.key.unit).expect("validated");
                facts
                    .entry((
                        unit,
                        fact.key.metric.clone(),
                        same_basis_key(&fact.key.basis),
                    ))
                    .or_default()
                    .entry(fact.key.period)
                    .or_default()
                    .push(index);
            }
            // Facts in key order, whatever the order of the files: sums come out bit-identical.
            for by_period in facts.values_mut() {
                for list in by_period.values_mut() {
                    list.sort_by(|a, b| self.model.facts[*a].key.cmp(&self.model.facts[*b].key));
                }
            }
            facts
        }
    }

    /// The replayed timeline.
    pub fn timeline(&self) -> &Timeline<'m> {
        &self.timeline
    }

    /// The model queried.
    pub fn model(&self) -> &Model {
        self.model
    }

    /// The date of the latest change: the structure "today" as far as the model knows.
    pub fn latest_structure_date(&self) -> NaiveDate {
        self.timeline
            .changes
            .iter()
            .map(|c| c.date)
            .max()
            .unwrap_or(NaiveDate::MIN)
    }

    /// The structure on a date (cached; built outside the cache's lock, so threads asking
    /// for different dates do not wait for each other).
    pub fn structure(&self, date: NaiveDate) -> std::sync::Arc<Structure> {
        let cache = || {
            // A panic elsewhere cannot leave the map half-changed: take it as it is.
            self.structures
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(found) = cache().get(&date) {
            return found.clone();
        }
        let built = std::sync::Arc::new(self.timeline.structure_on(date));
        let mut structures = cache();
        if structures.len() >= STRUCTURE_CACHE && !structures.contains_key(&date) {
            if let Some(oldest) = structures.keys().next().copied() {
                structures.remove(&oldest);
            }
        }
        structures.entry(date).or_insert(built).clone()
    }

    fn unit_index(&self, id: &UnitId) -> Result<UnitIndex, QueryError> {
        self.timeline.unit(id).ok_or_else(|| {
            let near: Vec<&str> = self
                .timeline
                .units
                .iter()
                .map(|u| u.id.as_str())
                .filter(|u| u.contains(id.as_str()) || id.as_str().contains(*u))
                .take(3)
                .collect();
            let hint = if near.is_empty() {
                String::new()
            } else {
                format!(" (did you mean {}?)", near.join(", "))
            };
            QueryError::UnknownUnit(id.clone(), hint)
        })
    }

    fn metric(&self, id: &MetricId) -> Result<&'m crate::model::Metric, QueryError> {
        self.model.metric(id).ok_or_else(|| {
            QueryError::UnknownMetric(
                id.clone(),
                self.model
                    .metrics
                    .iter()
                    .map(|m| m.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })
    }

    /// Where the history of `unit`, as it stood after change `after` (date, seq), lands in the
    /// structure of `target` for `metric`.
    /// [`Engine::lineage`] without the explanation: targets and weights only, for the
    /// columnar fast path that compiles thousands of them.
    pub(crate) fn lineage_weights(
        &self,
        unit: UnitIndex,
        after: (NaiveDate, usize),
        target: NaiveDate,
        metric: &MetricId,
        out: &mut Vec<(Target, f64)>,
        scale: f64,
    ) {
        let record = self.timeline.record(unit);
        let start = record.events.partition_point(|e| (e.date, e.seq) <= after);
        if let Some(event) = record.events.get(start).filter(|e| e.date <= target) {
            let here = (event.date, event.seq);
            match &event.event {
                HistoryEvent::MergedInto(into) => {
                    self.lineage_weights(*into, here, target, metric, out, scale)
                }
                HistoryEvent::Split(parts) => {
                    for (part, spec) in parts {
                        let share = Timeline::part_share(spec, metric);
                        if share != 0.0 {
                            self.lineage_weights(*part, here, target, metric, out, scale * share);
                        }
                    }
                }
                HistoryEvent::Divested | HistoryEvent::Closed => {
                    out.push((Target::Discontinued(unit), scale))
                }
                // A unit that left with the one above it lands on that unit's line: the
                // line is named by the unit that left (docs/semantics.md, 3.6).
                HistoryEvent::LeftWith(top) => out.push((Target::Discontinued(*top), scale)),
            }
            return;
        }
        out.push((self.place_on(unit, target), scale));
    }

    /// Where history that reached `unit` lands on `target`: the unit itself when the group
    /// consolidates it then; a discontinued line when it is still there but no longer
    /// consolidated (spun off with a retained stake, carried at equity or fair value):
    /// continuing operations do not hold it (docs/semantics.md, 1.4); outside the structure
    /// when it does not exist yet.
    fn place_on(&self, unit: UnitIndex, target: NaiveDate) -> Target {
        if !self.timeline.record(unit).alive_on(target) {
            Target::Outside(unit)
        } else if let Some(left) = self
            .timeline
            .ever_unconsolidated()
            .then(|| {
                self.structure(target)
                    .ancestors(unit)
                    .filter(|u| !self.timeline.record(*u).stake_on(target).1.counts())
                    .last()
            })
            .flatten()
        {
            // Grouped under the unit that left consolidation (the highest such above it).
            Target::Discontinued(left)
        } else {
            Target::Unit(unit, target)
        }
    }

    /// The index of the first history event of `unit` after `date`: lineage from any date
    /// with the same index is the same.
    pub(crate) fn first_event_after(&self, unit: UnitIndex, date: NaiveDate) -> usize {
        self.timeline
            .record(unit)
            .events
            .partition_point(|e| e.date <= date)
    }

    pub(crate) fn lineage(
        &self,
        unit: UnitIndex,
        after: (NaiveDate, usize),
        target: NaiveDate,
        metric: &MetricId,
    ) -> Vec<Landing> {
        let record = self.timeline.record(unit);
        for event in &record.events {
            if (event.date, event.seq) <= after {
                continue;
            }
            if event.date > target {
                break;
            }
            let change = &self.timeline.changes[event.seq];
            let label = change
                .id
                .clone()
                .unwrap_or_else(|| format!("{} {}", change.kind.name(), change.date));
            let here = (event.date, event.seq);
            let step = |what: String, weight: f64| LineageStep {
                change: label.clone(),
                date: event.date,
                what,
                weight,
            };
            return match &event.event {
                HistoryEvent::MergedInto(into) => {
                    let name = &self.timeline.record(*into).id;
                    self.lineage(*into, here, target, metric)
                        .into_iter()
                        .map(|mut l| {
                            l.steps.insert(0, step(format!("merged into {name}"), 1.0));
                            l
                        })
                        .collect()
                }
                HistoryEvent::Split(parts) => {
                    let mut out = Vec::new();
                    for (part, spec) in parts {
                        let share = Timeline::part_share(spec, metric);
                        if share == 0.0 {
                            continue;
                        }
                        let name = &self.timeline.record(*part).id;
                        for mut landing in self.lineage(*part, here, target, metric) {
                            landing.weight *= share;
                            landing
                                .steps
                                .insert(0, step(format!("split: {share} to {name}"), share));
                            out.push(landing);
                        }
                    }
                    out
                }
                HistoryEvent::Divested | HistoryEvent::Closed | HistoryEvent::LeftWith(_) => {
                    let what = match &event.event {
                        HistoryEvent::Divested => "divested".to_string(),
                        HistoryEvent::Closed => "closed".to_string(),
                        HistoryEvent::LeftWith(top) => {
                            format!("left with {}", self.timeline.record(*top).id)
                        }
                        _ => unreachable!(),
                    };
                    let line = match &event.event {
                        HistoryEvent::LeftWith(top) => *top,
                        _ => unit,
                    };
                    vec![Landing {
                        target: Target::Discontinued(line),
                        weight: 1.0,
                        steps: vec![step(what, 1.0)],
                    }]
                }
            };
        }
        let target_kind = self.place_on(unit, target);
        vec![Landing {
            target: target_kind,
            weight: 1.0,
            steps: Vec::new(),
        }]
    }

    /// Where the history `unit` had on `from` lands in the structure of `target`: for each
    /// landing, its place, weight and the changes that carried it.
    pub fn trace(
        &self,
        unit: UnitIndex,
        from: NaiveDate,
        target: NaiveDate,
        metric: &MetricId,
    ) -> Vec<(String, f64, Vec<String>)> {
        let record = self.timeline.record(unit);
        let after = if from <= record.created {
            (record.created, record.created_seq)
        } else {
            (from, usize::MAX)
        };
        self.lineage(unit, after, target, metric)
            .into_iter()
            .map(|landing| {
                let place = match landing.target {
                    Target::Unit(u, date) => {
                        let structure = self.structure(date);
                        let path: Vec<String> = structure
                            .ancestors(u)
                            .collect::<Vec<_>>()
                            .iter()
                            .rev()
                            .skip(1)
                            .map(|a| self.timeline.record(*a).id.to_string())
                            .collect();
                        path.join(" / ")
                    }
                    Target::Discontinued(u) => {
                        format!("discontinued ({})", self.timeline.record(u).id)
                    }
                    Target::Outside(u) => format!(
                        "not in the {target} structure ({})",
                        self.timeline.record(u).id
                    ),
                };
                let steps = landing
                    .steps
                    .iter()
                    .map(|s| format!("{} {}", s.date, s.what))
                    .collect();
                (place, landing.weight, steps)
            })
            .collect()
    }

    /// The facts that make up `unit`'s figure for `period`: exactly recorded, or built from
    /// finer periods. Ok(None) when nothing is recorded within the period; Err on a gap.
    fn resolve(
        &self,
        unit: UnitIndex,
        metric: &MetricId,
        basis: &Basis,
        period: Period,
        aggregation: &Aggregation,
    ) -> Result<Option<(Vec<usize>, String)>, String> {
        let Some(by_period) = self.fact_index().get(&(unit, metric.clone(), *basis)) else {
            return Ok(None);
        };
        self.resolve_in(by_period, period, aggregation)
    }

    fn resolve_in(
        &self,
        by_period: &BTreeMap<Period, Vec<usize>>,
        period: Period,
        aggregation: &Aggregation,
    ) -> Result<Option<(Vec<usize>, String)>, String> {
        let calendar = self.model.group.calendar();
        if let Some(facts) = by_period.get(&period) {
            return Ok(Some((
                facts.clone(),
                format!("{} recorded", period.label(calendar)),
            )));
        }
        let any_within = by_period.keys().any(|p| period.contains(p) && *p != period);
        if !any_within || period.granularity == Granularity::Month {
            return Ok(None);
        }
        match aggregation {
            Aggregation::NonAdditive | Aggregation::Ratio { .. } => Ok(None),
            Aggregation::Stock => {
                let last = *period
                    .children()
                    .last()
                    .expect("a year or quarter has children");
                match self.resolve_in(by_period, last, aggregation)? {
                    Some((facts, how)) => Ok(Some((
                        facts,
                        format!("{} at its end: {how}", period.label(calendar)),
                    ))),
                    None => Err(format!(
                        "{} has figures within it but none for its last {}",
                        period.label(calendar),
                        if period.granularity == Granularity::Year {
                            "quarter"
                        } else {
                            "month"
                        }
                    )),
                }
            }
            Aggregation::Flow => {
                let mut facts = Vec::new();
                let mut parts = Vec::new();
                let mut missing = Vec::new();
                for child in period.children() {
                    match self.resolve_in(by_period, child, aggregation)? {
                        Some((more, _)) => {
                            facts.extend(more);
                            parts.push(child.label(calendar));
                        }
                        None => missing.push(child.label(calendar)),
                    }
                }
                if missing.is_empty() {
                    Ok(Some((
                        facts,
                        format!("{} = sum of {}", period.label(calendar), parts.join(" + ")),
                    )))
                } else {
                    Err(format!(
                        "{} is incomplete: no figure for {}",
                        period.label(calendar),
                        missing.join(", ")
                    ))
                }
            }
        }
    }

    /// The rate translating a fact's currency into the reporting currency.
    fn rate(
        &self,
        currency: Option<&Currency>,
        period: Period,
        stock: bool,
    ) -> Result<f64, String> {
        let Some(currency) = currency else {
            return Ok(1.0);
        };
        if currency == &self.model.group.currency {
            return Ok(1.0);
        }
        self.rate_of(currency, period, stock).ok_or_else(|| {
            format!(
                "no FX rate for {currency} in {}",
                period.label(self.model.group.calendar())
            )
        })
    }

    pub(crate) fn rate_of(&self, currency: &Currency, period: Period, stock: bool) -> Option<f64> {
        if let Some(rate) = self
            .model
            .fx
            .iter()
            .find(|r| &r.currency == currency && r.period == period)
        {
            return Some(if stock { rate.closing } else { rate.average });
        }
        let children = period.children();
        if children.is_empty() {
            return None;
        }
        if stock {
            return self.rate_of(currency, *children.last()?, true);
        }
        let rates: Option<Vec<f64>> = children
            .iter()
            .map(|c| self.rate_of(currency, *c, false))
            .collect();
        let rates = rates?;
        Some(rates.iter().sum::<f64>() / rates.len() as f64)
    }

    /// The date of the structure a fact was published in.
    fn fact_date(&self, fact: usize, unit: UnitIndex) -> NaiveDate {
        let fact = &self.model.facts[fact];
        self.placed_on(fact.key.basis, unit, fact.key.period)
    }

    /// The date whose structure places a figure of `unit` for `period` on `basis`: the
    /// structure it was published under, else the unit's last day within the period.
    fn placed_on(&self, basis: Basis, unit: UnitIndex, period: Period) -> NaiveDate {
        basis
            .structure()
            .unwrap_or_else(|| self.timeline.record(unit).last_day_until(period.last_day()))
    }

    pub(crate) fn land(
        &self,
        unit: UnitIndex,
        date: NaiveDate,
        view: View,
        target: NaiveDate,
        metric: &MetricId,
    ) -> Vec<Landing> {
        match view {
            View::Reported => vec![Landing {
                target: Target::Unit(unit, date),
                weight: 1.0,
                steps: Vec::new(),
            }],
            View::Restated | View::Organic | View::ProForma => {
                self.lineage(unit, (date, usize::MAX), target, metric)
            }
        }
    }

    /// Units the organic view leaves out: acquired, divested or closed within the span
    /// ([`compared_span`]).
    pub(crate) fn organic_exclusions(
        &self,
        periods: &[Period],
        target: NaiveDate,
    ) -> Vec<UnitIndex> {
        let (start, end) = compared_span(periods, target);
        self.timeline
            .units
            .iter()
            .enumerate()
            .filter(|(_, u)| {
                let acquired = u.acquired && u.created >= start && u.created <= end;
                let left = u.events.iter().any(|e| {
                    matches!(
                        e.event,
                        HistoryEvent::Divested | HistoryEvent::Closed | HistoryEvent::LeftWith(_)
                    ) && e.date >= start
                        && e.date <= end
                });
                acquired || left
            })
            .map(|(i, _)| i as UnitIndex)
            .collect()
    }

    /// Units the pro-forma view removes from every period: those divested or spun off
    /// (with or without a retained stake), with everything below them, within the span from
    /// the first period's start to the later of the last period's end and the structure date;
    /// and units acquired after the structure date within that span (the structure does not
    /// hold them). Closures are not deals: they stay as the restated view shows them.
    pub(crate) fn pro_forma_exclusions(
        &self,
        periods: &[Period],
        target: NaiveDate,
    ) -> Vec<UnitIndex> {
        let (start, end) = compared_span(periods, target);
        let in_span = |date: NaiveDate| date >= start && date <= end;
        let mut out: Vec<UnitIndex> = Vec::new();
        for (i, unit) in self.timeline.units.iter().enumerate() {
            let left = unit.events.iter().any(|e| {
                in_span(e.date)
                    && match e.event {
                        HistoryEvent::Divested => true,
                        HistoryEvent::LeftWith(top) => self
                            .timeline
                            .record(top)
                            .events
                            .iter()
                            .any(|t| t.date == e.date && t.event == HistoryEvent::Divested),
                        _ => false,
                    }
            });
            let acquired_later = unit.acquired && unit.created > target && in_span(unit.created);
            if left || acquired_later {
                out.push(i as UnitIndex);
            }
        }
        // A spin-off that keeps a stake leaves the unit in the tree: it and what is below it
        // on that day go too.
        for change in &self.timeline.changes {
            if let ChangeKind::SpinOff { unit, .. } = &change.kind {
                if !in_span(change.date) {
                    continue;
                }
                let Some(index) = self.timeline.unit(unit) else {
                    continue;
                };
                let structure = self.structure(change.date.pred_opt().unwrap_or(change.date));
                if !structure.alive[index as usize] {
                    continue;
                }
                for (below, _) in structure.descendants(index, u32::MAX) {
                    if !out.contains(&below) {
                        out.push(below);
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// Units the view leaves out of every period (organic and pro-forma views).
    pub(crate) fn view_exclusions(
        &self,
        view: View,
        periods: &[Period],
        target: NaiveDate,
    ) -> Vec<UnitIndex> {
        match view {
            View::Organic => self.organic_exclusions(periods, target),
            View::ProForma => self.pro_forma_exclusions(periods, target),
            View::Reported | View::Restated => Vec::new(),
        }
    }

    fn compute(
        &self,
        metric: &MetricId,
        period: Period,
        view: View,
        target: NaiveDate,
        basis: BasisFilter,
        excluded: &[UnitIndex],
    ) -> Computation {
        let layers = self.layers(metric, period, view, target, basis);
        let pro_forma = (view == View::ProForma).then_some(target);
        let mut raws: Vec<RawLayer> = layers
            .iter()
            .map(|b| self.compute_layer(metric, period, *b, excluded, pro_forma))
            .collect();
        // The single-layer case (every view but restated and organic, or no published
        // restatement of this period into a structure up to the target) lands directly.
        // The reported view shows a period in the structure on its last day: figures of
        // finer periods are carried there by lineage (docs/semantics.md, 3.1).
        let land_at = if view == View::Reported {
            period.last_day()
        } else {
            target
        };
        if raws.len() == 1 {
            let raw = raws.pop().expect("one layer");
            return self.land_layers(vec![raw], metric, view, land_at);
        }
        self.land_layers(raws, metric, view, land_at)
    }

    /// The layers of facts a period is built from, lowest priority first: reported facts,
    /// then each structure date the group published a restatement of this period into (up
    /// to the target date), oldest first. A later layer replaces what an earlier one says
    /// about every unit it has a figure for (docs/semantics.md, section 4).
    fn layers(
        &self,
        metric: &MetricId,
        period: Period,
        view: View,
        target: NaiveDate,
        basis: BasisFilter,
    ) -> Vec<Basis> {
        match (view, basis) {
            (View::Restated | View::Organic | View::ProForma, BasisFilter::Reported) => {
                // Pro forma reads reported facts only, then the group's own pro-forma
                // figures: its published restatements still hold what it later sold or spun
                // off (docs/semantics.md, 3.9).
                let (map, make): (_, fn(NaiveDate) -> Basis) = if view == View::ProForma {
                    (&self.pro_forma, |structure| Basis::ProForma { structure })
                } else {
                    (&self.published, |structure| Basis::Restated { structure })
                };
                let mut dates: Vec<NaiveDate> = map
                    .get(metric)
                    .map(|by_date| {
                        by_date
                            .iter()
                            .filter(|(date, periods)| {
                                **date <= target
                                    && periods.iter().any(|p| period.contains(p) || *p == period)
                            })
                            .map(|(date, _)| *date)
                            .collect()
                    })
                    .unwrap_or_default();
                dates.sort();
                std::iter::once(Basis::Reported)
                    .chain(dates.into_iter().map(make))
                    .collect()
            }
            (_, BasisFilter::ReportedOnly) | (View::Reported, BasisFilter::Reported) => {
                vec![Basis::Reported]
            }
            (_, other) => vec![basis_of(other)],
        }
    }

    /// [`Engine::provenance_label`] for the columnar path.
    pub(crate) fn basis_provenance(&self, basis: Basis, view: View, target: NaiveDate) -> String {
        self.provenance_label(basis, view, target)
    }

    /// A label for where a layer's figures come from, seen from the target structure.
    fn provenance_label(&self, basis: Basis, view: View, target: NaiveDate) -> String {
        match (basis, view) {
            (Basis::Reported, View::Reported) => "reported".to_string(),
            (Basis::Reported, _) => "computed".to_string(),
            (Basis::Restated { structure }, View::Reported) => format!("published@{structure}"),
            (Basis::Restated { structure }, _) => {
                let moved = self.timeline.changes.iter().any(|c| {
                    c.date > structure && c.date <= target && c.kind.moves_history_or_tree()
                });
                if moved {
                    format!("chained from {structure}")
                } else {
                    "published".to_string()
                }
            }
            (Basis::Plan, _) => "plan".to_string(),
            (Basis::Estimate, _) => "estimate".to_string(),
            (Basis::ProForma { structure }, _) => {
                let moved = self.timeline.changes.iter().any(|c| {
                    c.date > structure && c.date <= target && c.kind.moves_history_or_tree()
                });
                if moved {
                    format!("pro forma chained from {structure}")
                } else {
                    "published pro forma".to_string()
                }
            }
        }
    }

    /// One layer's figures for a period, before they are landed in the viewed structure:
    /// each fact at the unit it was recorded on, less what the units below it explain.
    fn compute_layer(
        &self,
        metric: &MetricId,
        period: Period,
        layer_basis: Basis,
        excluded: &[UnitIndex],
        pro_forma: Option<NaiveDate>,
    ) -> RawLayer {
        let definition = self.model.metric(metric).expect("checked by caller");
        let stock = definition.aggregation == Aggregation::Stock;
        let mut raw = RawLayer {
            basis: layer_basis,
            contributions: Vec::new(),
            eliminations: Vec::new(),
            gaps: Vec::new(),
            resolution: BTreeMap::new(),
            covered: Vec::new(),
        };
        // Resolve every unit's figure for the period.
        let mut resolved: HashMap<UnitIndex, Vec<usize>> = HashMap::new();
        let mut gap_units = Vec::new();
        let mut keys: Vec<UnitIndex> = self
            .fact_index()
            .keys()
            .filter(|(_, m, b)| m == metric && *b == layer_basis)
            .map(|(u, _, _)| *u)
            .collect();
        keys.sort();
        for unit in keys {
            match self.resolve(unit, metric, &layer_basis, period, &definition.aggregation) {
                Ok(Some((facts, how))) => {
                    raw.resolution.insert(unit, how);
                    resolved.insert(unit, facts);
                }
                Ok(None) => {}
                Err(reason) => gap_units.push((unit, reason)),
            }
        }
        let layer_date = |unit: UnitIndex| self.placed_on(layer_basis, unit, period);
        // Pro forma: a unit acquired after the period began (and by the structure date) counts
        // in the period as if it had been in the group from its start. The model holds no
        // figures of a unit before it joined (a fact outside a unit's life is refused), so the
        // period is a gap at the unit, which no total recorded above it covers (the total was
        // published without it).
        if let (Some(target), Basis::Reported) = (pro_forma, layer_basis) {
            let mut acquired: Vec<UnitIndex> = self
                .fact_index()
                .keys()
                .filter(|(_, m, b)| m == metric && *b == Basis::Reported)
                .map(|(u, _, _)| *u)
                .filter(|u| {
                    let record = self.timeline.record(*u);
                    record.acquired
                        && record.created > period.first_day()
                        && record.created <= target
                        && !excluded.contains(u)
                })
                .collect();
            acquired.sort();
            acquired.dedup();
            for unit in acquired {
                let record = self.timeline.record(unit);
                raw.gaps.push(RawGap {
                    unit,
                    date: record.created,
                    above: None,
                    reason: format!(
                        "{}: pro forma, acquired on {}; the model holds no figures for it before then (record them with basis pro_forma)",
                        record.id, record.created
                    ),
                });
            }
        }
        for (unit, reason) in gap_units {
            // A unit the organic view leaves out leaves its gaps out too.
            if excluded.contains(&unit) {
                continue;
            }
            let date = layer_date(unit);
            // A unit's incomplete period is a gap even when units below it have complete
            // figures: its own figure (what it holds beyond them) is unknown for the missing
            // months (docs/semantics.md, 5.1).
            let structure = self.structure(date);
            let above = structure
                .ancestors(unit)
                .skip(1)
                .find(|a| resolved.contains_key(a));
            raw.gaps.push(RawGap {
                unit,
                date,
                above,
                reason: format!("{}: {reason}", self.timeline.record(unit).id),
            });
        }
        // Pro forma: a unit removed from every period that has no figure of its own for this
        // one, while it was in the group under a unit with a recorded total, is inside that
        // total and cannot be taken out of it: the total is a gap, not a figure that still
        // holds what left.
        if let (Some(_), Basis::Reported) = (pro_forma, layer_basis) {
            let (first, last) = (period.first_day(), period.last_day());
            let mut marked: Vec<UnitIndex> = Vec::new();
            for &unit in excluded {
                let record = self.timeline.record(unit);
                if resolved.contains_key(&unit)
                    || record.created > last
                    || record.ended.is_some_and(|(end, _)| end <= first)
                {
                    continue;
                }
                let date = match record.ended {
                    Some((end, _)) if end <= last => end.pred_opt().unwrap_or(end),
                    _ => last,
                };
                if !record.alive_on(date) {
                    continue;
                }
                let structure = self.structure(date);
                let Some(total) = structure
                    .ancestors(unit)
                    .skip(1)
                    .find(|a| resolved.contains_key(a))
                else {
                    continue;
                };
                if excluded.contains(&total) || marked.contains(&total) {
                    continue;
                }
                marked.push(total);
                let holder = self.timeline.record(total);
                raw.gaps.push(RawGap {
                    unit: total,
                    date: holder.last_day_until(date),
                    above: None,
                    reason: format!(
                        "pro forma: {} (left the group {}) has no figures of its own here; they are inside the total recorded for {} and cannot be taken out (record {}'s own figures, or the total without it with basis pro_forma)",
                        record.id,
                        record.ended.map_or_else(|| "in the span".to_string(), |(end, _)| format!("on {end}")),
                        holder.id,
                        record.id
                    ),
                });
            }
        }
        let mut entries: Vec<(&UnitIndex, &Vec<usize>)> = resolved.iter().collect();
        entries.sort_by_key(|(u, _)| **u);
        raw.covered = entries.iter().map(|(u, _)| **u).collect();
        for (unit, facts) in entries {
            for &fact_index in facts {
                let fact = &self.model.facts[fact_index];
                let date = self.fact_date(fact_index, *unit);
                let rate = match self.rate(fact.currency.as_ref(), fact.key.period, stock) {
                    Ok(rate) => rate,
                    Err(reason) => {
                        raw.gaps.push(RawGap {
                            unit: *unit,
                            date,
                            above: None,
                            reason,
                        });
                        continue;
                    }
                };
                let value = fact.value * rate;
                // The nearest unit above that carries a figure for this period.
                let structure = self.structure(date);
                let above = structure
                    .ancestors(*unit)
                    .skip(1)
                    .find(|a| resolved.contains_key(a));
                let push = |sign: f64, via: UnitIndex, raw: &mut RawLayer| {
                    let (factor, economic) = self.timeline.ownership_on(via, date);
                    raw.contributions.push(RawContribution {
                        fact: fact_index,
                        sign,
                        via,
                        date,
                        factor,
                        economic,
                        rate,
                        base: sign * value * factor,
                    });
                };
                // The organic view leaves the unit out, but still takes it out of the
                // totals recorded above it.
                if !excluded.contains(unit) {
                    push(1.0, *unit, &mut raw);
                }
                // (When the unit above is itself left out, so is what it held.)
                if let Some(above) = above.filter(|a| !excluded.contains(a)) {
                    push(-1.0, above, &mut raw);
                }
                if let Some(counterparty) = &fact.key.counterparty {
                    let other = self.timeline.unit(counterparty).expect("validated");
                    // A recorded total above both sides is published net of this
                    // intercompany figure, while the units below it are gross: give the
                    // figure back to that total's own remainder, so the elimination below
                    // is not counted twice. Like the removal above, this corrects the
                    // recorded total, so it stands when the organic view leaves the unit
                    // out (the unit's figure and its elimination go; rule 3.1b).
                    let net_above = structure
                        .ancestors(*unit)
                        .skip(1)
                        .find(|a| resolved.contains_key(a) && structure.in_subtree(other, *a))
                        .filter(|a| !excluded.contains(a));
                    if let Some(net_above) = net_above {
                        push(1.0, net_above, &mut raw);
                    }
                    if excluded.contains(unit) {
                        continue;
                    }
                    let (factor, _) = self.timeline.ownership_on(*unit, date);
                    let other_date = self.placed_on(layer_basis, other, fact.key.period);
                    raw.eliminations.push(RawElimination {
                        fact: fact_index,
                        amount: value * factor,
                        side: (*unit, date),
                        other: (other, other_date),
                    });
                }
            }
        }
        raw
    }

    /// Carries a landing on to a later structure date by lineage (lines stay lines).
    fn advance(&self, landing: &Landing, to: NaiveDate, metric: &MetricId) -> Vec<Landing> {
        match landing.target {
            Target::Unit(unit, date) => self
                .lineage(unit, (date, usize::MAX), to, metric)
                .into_iter()
                .map(|mut next| {
                    next.weight *= landing.weight;
                    let mut steps = landing.steps.clone();
                    steps.append(&mut next.steps);
                    next.steps = steps;
                    next
                })
                .collect(),
            _ => vec![landing.clone()],
        }
    }

    /// Lands every layer's figures in the viewed structure. With more than one layer, each
    /// published layer in turn takes over the units it has figures for: what earlier layers
    /// put inside such a unit is replaced (dropped when it lands on the unit itself, kept for
    /// the detail below it but taken back at the unit otherwise), and gaps inside it are
    /// covered by its figure.
    fn land_layers(
        &self,
        raws: Vec<RawLayer>,
        metric: &MetricId,
        view: View,
        target: NaiveDate,
    ) -> Computation {
        let mut computation = Computation {
            contributions: Vec::new(),
            eliminations: Vec::new(),
            gaps: Vec::new(),
            resolution: BTreeMap::new(),
            layers: Vec::new(),
        };
        let start = |unit: UnitIndex, date: NaiveDate| Landing {
            target: Target::Unit(unit, date),
            weight: 1.0,
            steps: Vec::new(),
        };
        // Pieces: (layer, contribution, landing, replaced-at: which published unit took it back).
        let mut pieces: Vec<(usize, RawContribution, Landing, Option<String>)> = Vec::new();
        let mut eliminations: Vec<(usize, RawElimination, Vec<Landing>, Vec<Landing>)> = Vec::new();
        let mut gaps: Vec<(Vec<Landing>, Option<Vec<Landing>>, String)> = Vec::new();
        let single = raws.len() == 1;
        let bases: Vec<Basis> = raws.iter().map(|r| r.basis).collect();
        for (layer_index, raw) in raws.into_iter().enumerate() {
            computation
                .layers
                .push(self.provenance_label(raw.basis, view, target));
            if let (false, Basis::Restated { structure: at } | Basis::ProForma { structure: at }) =
                (single || layer_index == 0, raw.basis)
            {
                // Carry everything so far to this layer's structure and let it take over.
                let structure = self.structure(at);
                let covered: Vec<bool> = {
                    let mut flags = vec![false; self.timeline.units.len()];
                    for unit in &raw.covered {
                        if structure.alive[*unit as usize] {
                            flags[*unit as usize] = true;
                        }
                    }
                    flags
                };
                let cover_of =
                    |unit: UnitIndex| structure.ancestors(unit).find(|a| covered[*a as usize]);
                let mut next = Vec::with_capacity(pieces.len());
                for (layer, contribution, landing, replaced) in pieces {
                    for moved in self.advance(&landing, at, metric) {
                        match moved.target {
                            Target::Unit(unit, _) => match cover_of(unit) {
                                Some(cover) if cover == unit => {}
                                Some(cover) => {
                                    let name = format!("replaced by the figure published for {} in the {at} structure", self.timeline.record(cover).id);
                                    let back = Landing {
                                        target: Target::Unit(cover, at),
                                        weight: moved.weight,
                                        steps: moved.steps.clone(),
                                    };
                                    let mut taken = contribution.clone();
                                    taken.base = -taken.base;
                                    next.push((layer, taken, back, Some(name)));
                                    next.push((
                                        layer,
                                        contribution.clone(),
                                        moved,
                                        replaced.clone(),
                                    ));
                                }
                                None => next.push((
                                    layer,
                                    contribution.clone(),
                                    moved,
                                    replaced.clone(),
                                )),
                            },
                            _ => next.push((layer, contribution.clone(), moved, replaced.clone())),
                        }
                    }
                }
                pieces = next;
                let mut kept = Vec::with_capacity(eliminations.len());
                for (layer, item, side, other) in eliminations {
                    let side: Vec<Landing> = side
                        .iter()
                        .flat_map(|l| self.advance(l, at, metric))
                        .collect();
                    let other: Vec<Landing> = other
                        .iter()
                        .flat_map(|l| self.advance(l, at, metric))
                        .collect();
                    // Intercompany inside one published unit is already netted in its figure.
                    let inside = |ls: &[Landing]| -> Vec<Option<UnitIndex>> {
                        ls.iter()
                            .map(|l| {
                                if let Target::Unit(u, _) = l.target {
                                    cover_of(u)
                                } else {
                                    None
                                }
                            })
                            .collect()
                    };
                    let (a, b) = (inside(&side), inside(&other));
                    let internal = !a.is_empty()
                        && a.iter().all(|c| c.is_some() && a[0] == *c)
                        && b.iter().all(|c| *c == a[0]);
                    if !internal {
                        kept.push((layer, item, side, other));
                    }
                }
                eliminations = kept;
                let mut still = Vec::with_capacity(gaps.len());
                for (landings, above, reason) in gaps {
                    let landings: Vec<Landing> = landings
                        .iter()
                        .flat_map(|l| self.advance(l, at, metric))
                        .collect();
                    let mut above: Option<Vec<Landing>> =
                        above.map(|a| a.iter().flat_map(|l| self.advance(l, at, metric)).collect());
                    let covers: Vec<Option<UnitIndex>> = landings
                        .iter()
                        .map(|l| {
                            if let Target::Unit(u, _) = l.target {
                                cover_of(u)
                            } else {
                                None
                            }
                        })
                        .collect();
                    if !covers.is_empty() && covers.iter().zip(&landings).all(|(c, l)| matches!((c, l.target), (Some(c), Target::Unit(u, _)) if *c == u)) {
                        continue; // every part of it is published afresh
                    }
                    if above.is_none() {
                        if let Some(Some(cover)) = covers.first() {
                            above = Some(vec![start(*cover, at)]);
                        }
                    }
                    still.push((landings, above, reason));
                }
                gaps = still;
            }
            for (unit, how) in raw.resolution {
                computation.resolution.entry(unit).or_insert(how);
            }
            for contribution in raw.contributions {
                let landing = start(contribution.via, contribution.date);
                pieces.push((layer_index, contribution, landing, None));
            }
            for item in raw.eliminations {
                let (side, other) = (
                    vec![start(item.side.0, item.side.1)],
                    vec![start(item.other.0, item.other.1)],
                );
                eliminations.push((layer_index, item, side, other));
            }
            for gap in raw.gaps {
                gaps.push((
                    vec![start(gap.unit, gap.date)],
                    gap.above.map(|a| vec![start(a, gap.date)]),
                    gap.reason,
                ));
            }
        }
        // Finally land everything in the viewed structure.
        // A restatement shown in the reported view stays in its own structure.
        let keep =
            view == View::Reported && bases.iter().any(|b| matches!(b, Basis::Restated { .. }));
        let finish = |landing: &Landing| -> Vec<Landing> {
            // As reported, a figure already at its period's end stays where it was recorded.
            let at_end = view == View::Reported
                && matches!(landing.target, Target::Unit(_, date) if date >= target);
            if keep || at_end {
                vec![landing.clone()]
            } else {
                self.advance(landing, target, metric)
            }
        };
        for (layer, raw, landing, replaced) in pieces {
            for landing in finish(&landing) {
                let amount = raw.base * landing.weight;
                computation.contributions.push(Contribution {
                    fact: raw.fact,
                    sign: raw.sign,
                    via: raw.via,
                    source_date: raw.date,
                    landing,
                    factor: raw.factor,
                    economic: raw.economic,
                    rate: raw.rate,
                    amount,
                    layer,
                    replaced: replaced.clone(),
                });
            }
        }
        for (_, item, side, other) in eliminations {
            let side = side.iter().flat_map(&finish).collect();
            let other = other.iter().flat_map(&finish).collect();
            computation.eliminations.push(EliminationItem {
                fact: item.fact,
                amount: item.amount,
                side,
                other,
            });
        }
        for (landings, above, reason) in gaps {
            let landings = landings.iter().flat_map(&finish).collect();
            let above = above.map(|a| a.iter().flat_map(&finish).collect());
            computation.gaps.push((landings, above, reason));
        }
        computation
    }

    /// Weight of a set of landings within the subtree of `node` (the root holds everything).
    fn weight_in(&self, landings: &[Landing], node: UnitIndex) -> f64 {
        landings
            .iter()
            .filter(|l| self.lands_in(&l.target, node))
            .map(|l| l.weight)
            .sum()
    }

    fn lands_in(&self, target: &Target, node: UnitIndex) -> bool {
        self.lands_in_with(target, node, &mut None)
    }

    /// [`Engine::lands_in`] keeping the last structure asked in `last`: the contributions
    /// of a node mostly land on one date, and the shared cache costs a lock, a hash and a
    /// reference count each time (most of a change set's preview on a million facts).
    fn lands_in_with(
        &self,
        target: &Target,
        node: UnitIndex,
        last: &mut Option<(NaiveDate, std::sync::Arc<Structure>)>,
    ) -> bool {
        if node == self.timeline.root {
            return true;
        }
        match target {
            Target::Unit(unit, date) => {
                let structure = match last {
                    Some((at, structure)) if at == date => structure,
                    _ => &last.insert((*date, self.structure(*date))).1,
                };
                structure.in_subtree(*unit, node)
            }
            _ => false,
        }
    }

    fn weight_in_with(
        &self,
        landings: &[Landing],
        node: UnitIndex,
        last: &mut Option<(NaiveDate, std::sync::Arc<Structure>)>,
    ) -> f64 {
        landings
            .iter()
            .filter(|l| self.lands_in_with(&l.target, node, last))
            .map(|l| l.weight)
            .sum()
    }

    /// A unit's incomplete figure leaves `node` uncertain when the unit lands in it, unless
    /// a recorded total above the unit lands wholly in the node too (the total still holds
    /// the missing part, so the node's figure is known).
    fn gap_affects(
        &self,
        gap: &(Vec<Landing>, Option<Vec<Landing>>, String),
        node: UnitIndex,
    ) -> bool {
        let (landings, above, _) = gap;
        let lands = landings.iter().any(|l| self.lands_in(&l.target, node));
        // A total carried whole into the node (weight 1), or grossed up into it (a share
        // above 1 with the rest in an offsetting line), holds the missing part.
        let covered = above
            .as_ref()
            .is_some_and(|a| self.weight_in(a, node) >= 1.0 - 1e-12);
        lands && !covered
    }

    /// Value, minority, eliminated and gap of `node` in a computation.
    fn node_value(
        &self,
        computation: &Computation,
        node: UnitIndex,
    ) -> (f64, f64, f64, Option<String>) {
        let mut value = 0.0;
        let mut minority = 0.0;
        let mut last = None;
        for c in &computation.contributions {
            if self.lands_in_with(&c.landing.target, node, &mut last) {
                value += c.amount;
                if c.factor > 0.0 {
                    minority += c.amount * (c.factor - c.economic) / c.factor;
                }
            }
        }
        let eliminated: f64 = computation
            .eliminations
            .iter()
            .map(|e| {
                e.amount
                    * self.weight_in_with(&e.side, node, &mut last)
                    * self.weight_in_with(&e.other, node, &mut last)
            })
            .sum();
        let gaps: Vec<&str> = computation
            .gaps
            .iter()
            .filter(|gap| self.gap_affects(gap, node))
            .map(|(_, _, r)| r.as_str())
            .collect();
        let gap = (!gaps.is_empty()).then(|| gaps.join("; "));
        // (+ 0.0 turns a -0.0 from a zero weight into 0.0.)
        (value - eliminated, minority, eliminated + 0.0, gap)
    }

    fn target_date(&self, query: &Query) -> NaiveDate {
        query
            .structure
            .unwrap_or_else(|| self.latest_structure_date())
    }

    pub(crate) fn output_rate(
        &self,
        query: &Query,
        period: Period,
        measure: Measure,
        stock: bool,
    ) -> Result<f64, QueryError> {
        match &query.currency {
            Some(currency)
                if measure == Measure::Currency && currency != &self.model.group.currency =>
            {
                self.rate_of(currency, period, stock).ok_or_else(|| {
                    QueryError::MissingRate(
                        currency.clone(),
                        period.label(self.model.group.calendar()),
                    )
                })
            }
            _ => Ok(1.0),
        }
    }

    /// Answers a roll-up query.
    pub fn rollup(&self, query: &Query) -> Result<Rollup, QueryError> {
        let definition = self.metric(&query.metric)?;
        if query.periods.is_empty() {
            return Err(QueryError::NoPeriods);
        }
        let calendar = self.model.group.calendar();
        let target = self.target_date(query);
        let node = match &query.node {
            Some(id) => self.unit_index(id)?,
            None => self.timeline.root,
        };
        let last_period = *query.periods.iter().max().expect("non-empty");
        let display_date = match query.view {
            View::Reported => last_period.last_day(),
            _ => target,
        };
        let excluded = self.view_exclusions(query.view, &query.periods, target);
        // Lines: nodes of the display structure (and, for the reported view, of each
        // period's), as one tree: a unit that had another parent in an earlier period gets a
        // line of its own under that parent, with figures only in the periods it was there.
        let mut lines: Vec<Line> = Vec::new();
        let mut line_index: HashMap<(UnitIndex, Option<usize>), usize> = HashMap::new();
        let structure_dates: Vec<NaiveDate> = match query.view {
            View::Reported => std::iter::once(display_date)
                .chain(query.periods.iter().rev().map(|p| p.last_day()))
                .collect(),
            _ => vec![target],
        };
        for date in &structure_dates {
            let structure = self.structure(*date);
            if !structure.alive[node as usize] {
                continue;
            }
            let mut at: HashMap<UnitIndex, usize> = HashMap::new();
            for (unit, depth) in structure.descendants(node, query.depth) {
                let parent = if unit == node {
                    None
                } else {
                    structure.parent[unit as usize].and_then(|p| at.get(&p).copied())
                };
                let index = *line_index.entry((unit, parent)).or_insert_with(|| {
                    lines.push(Line {
                        unit,
                        depth,
                        parent,
                    });
                    lines.len() - 1
                });
                at.insert(unit, index);
            }
        }
        let lines = tree_order(lines);
        let child_lines = children_of(&lines);
        if lines.is_empty() {
            let record = self.timeline.record(node);
            let life = match record.ended {
                Some((end, _)) => format!(" (it existed from {} until {end}; try --structure with a date in that span or --view reported)", record.created),
                None => format!(" (it exists from {})", record.created),
            };
            return Err(QueryError::NodeNotInStructure(
                record.id.clone(),
                display_date,
                life,
            ));
        }
        let mut rows = Vec::new();
        let is_root = node == self.timeline.root;
        // Per period: node values (computing the components for a ratio).
        let mut per_period: Vec<PeriodValues> = Vec::new();
        for period in &query.periods {
            let values = self.period_values(
                definition, *period, query, target, &excluded, &lines, is_root, node,
            )?;
            per_period.push(values);
        }
        // Assemble rows line by line, period by period.
        let display = self.structure(display_date);
        // Tree order; a node's own remainder and eliminations follow its subtree, and the
        // discontinued lines close the group.
        let mut line_keys: Vec<LineKey> = Vec::new();
        let mut open: Vec<(u32, Vec<LineKey>)> = Vec::new();
        let _ = &display;
        for (index, Line { unit, depth, .. }) in lines.iter().enumerate() {
            while open.last().is_some_and(|(d, _)| *d >= *depth) {
                line_keys.extend(open.pop().expect("non-empty").1);
            }
            line_keys.push(LineKey::Node(index as u32, *depth));
            let has_children = !child_lines[index].is_empty();
            let mut closing = Vec::new();
            if has_children || (*unit == node && query.depth > 0) {
                closing.push(LineKey::Own(index as u32, depth + 1));
                closing.push(LineKey::Eliminations(index as u32, depth + 1));
            }
            if *unit == node && is_root && query.depth > 0 {
                let mut specials: Vec<LineKey> = Vec::new();
                for values in &per_period {
                    for key in values.special.keys() {
                        if !specials.contains(key) {
                            specials.push(*key);
                        }
                    }
                }
                specials.sort_by_key(|k| match k {
                    LineKey::Discontinued(u) => (0, *u),
                    LineKey::Outside(u) => (1, *u),
                    _ => (2, 0),
                });
                if !specials.is_empty() {
                    closing.push(LineKey::Continuing(index as u32));
                }
                closing.extend(specials);
            }
            open.push((*depth, closing));
        }
        while let Some((_, closing)) = open.pop() {
            line_keys.extend(closing);
        }
        for key in &line_keys {
            let rows_for_key: Vec<RollupRow> = query
                .periods
                .iter()
                .zip(&per_period)
                .map(|(period, values)| {
                    let (unit, depth, kind) = match key {
                        LineKey::Node(l, d) => (lines[*l as usize].unit, *d, RowKind::Node),
                        LineKey::Own(l, d) => (lines[*l as usize].unit, *d, RowKind::Own),
                        LineKey::Eliminations(l, d) => {
                            (lines[*l as usize].unit, *d, RowKind::Eliminations)
                        }
                        LineKey::Discontinued(u) => (*u, 1, RowKind::Discontinued),
                        LineKey::Outside(u) => (*u, 1, RowKind::OutsideStructure),
                        LineKey::Continuing(l) => (lines[*l as usize].unit, 1, RowKind::Continuing),
                    };
                    let record = self.timeline.record(unit);
                    let name = match kind {
                        RowKind::Node => record.name_on(display_date).to_string(),
                        RowKind::Own => {
                            format!("not allocated below {}", record.name_on(display_date))
                        }
                        RowKind::Eliminations => {
                            format!("eliminations within {}", record.name_on(display_date))
                        }
                        RowKind::Discontinued => format!("discontinued: {}", record.last_name()),
                        RowKind::OutsideStructure => {
                            format!("not in the {target} structure: {}", record.last_name())
                        }
                        RowKind::Continuing => "continuing operations".to_string(),
                    };
                    let cell = values.cells.get(key).cloned().unwrap_or_default();
                    let special = values.special.get(key).copied();
                    let special_gap = values.special_gaps.get(key).cloned();
                    let (value, minority, eliminated, gap, provenance) = match kind {
                        RowKind::Node => (
                            cell.value,
                            cell.minority,
                            cell.eliminated,
                            cell.gap,
                            cell.provenance,
                        ),
                        RowKind::Discontinued | RowKind::OutsideStructure => match special_gap {
                            Some(reason) => (None, 0.0, 0.0, Some(reason), None),
                            None => (special.or(Some(0.0)), 0.0, 0.0, None, None),
                        },
                        RowKind::Continuing => {
                            let LineKey::Continuing(l) = key else {
                                unreachable!("continuing key")
                            };
                            let top = values
                                .cells
                                .get(&LineKey::Node(*l, lines[*l as usize].depth))
                                .cloned()
                                .unwrap_or_default();
                            // Summed in line order, so the bits never depend on a hash order.
                            let mut keys: Vec<&LineKey> = values.special.keys().collect();
                            keys.sort_by_key(|k| match k {
                                LineKey::Discontinued(u) => (0, *u),
                                LineKey::Outside(u) => (1, *u),
                                _ => (2, 0),
                            });
                            let lines_total: f64 = keys.iter().map(|k| values.special[*k]).sum();
                            (
                                top.value.map(|v| v - lines_total),
                                0.0,
                                0.0,
                                top.gap,
                                top.provenance,
                            )
                        }
                        _ => (cell.value, 0.0, 0.0, None, None),
                    };
                    RollupRow {
                        node: record.id.to_string(),
                        name,
                        depth,
                        kind,
                        period: period.label(calendar),
                        metric: query.metric.to_string(),
                        value,
                        minority,
                        eliminated,
                        gap,
                        provenance,
                    }
                })
                .collect();
            // Own and elimination lines appear only where they are not zero (beyond rounding
            // of the node's figure, so both engines show the same lines).
            let keep = match key {
                LineKey::Own(l, _) | LineKey::Eliminations(l, _) => {
                    let scale = rows
                        .iter()
                        .chain(rows_for_key.iter())
                        .filter(|r| {
                            r.kind == RowKind::Node
                                && r.node
                                    == self.timeline.record(lines[*l as usize].unit).id.as_str()
                        })
                        .filter_map(|r| r.value)
                        .map(f64::abs)
                        .fold(1.0, f64::max);
                    rows_for_key
                        .iter()
                        .any(|r| r.value.is_some_and(|v| v.abs() > LINE_SHOWN_ABOVE * scale))
                }
                _ => true,
            };
            if keep {
                rows.extend(rows_for_key);
            }
        }
        let currency = (definition.measure == Measure::Currency).then(|| {
            query
                .currency
                .clone()
                .unwrap_or_else(|| self.model.group.currency.clone())
                .to_string()
        });
        Ok(Rollup {
            metric: query.metric.to_string(),
            view: query.view,
            structure: display_date,
            currency,
            periods: query.periods.iter().map(|p| p.label(calendar)).collect(),
            rows,
            excluded: excluded
                .iter()
                .map(|u| self.timeline.record(*u).id.to_string())
                .collect(),
            engine: "explainable".to_string(),
        })
    }

    /// Every node's figure in one pass: contributions added on the unit they land on, then up
    /// the tree (the root also holds the discontinued and outside lines). Exact when every
    /// landing on a unit is in `structure` and there are no eliminations, gaps or replaced
    /// layers, which is when a node's figure is the plain sum over its subtree; `None`
    /// otherwise (the caller then asks node by node). Cost linear in units and facts, where
    /// node by node is their product (a million units under one parent).
    fn subtree_sums(
        &self,
        computation: &Computation,
        structure: &Structure,
    ) -> Option<SubtreeSums> {
        if !computation.eliminations.is_empty()
            || !computation.gaps.is_empty()
            || computation.layers.len() != 1
        {
            return None;
        }
        let n = self.timeline.units.len();
        let mut sums = SubtreeSums {
            value: vec![0.0; n],
            own: vec![0.0; n],
            minority: vec![0.0; n],
            count: vec![0; n],
            lines_count: 0,
        };
        let root = self.timeline.root as usize;
        for c in &computation.contributions {
            let minority = if c.factor > 0.0 {
                c.amount * (c.factor - c.economic) / c.factor
            } else {
                0.0
            };
            let at = match c.landing.target {
                Target::Unit(u, date) => {
                    if date != structure.date
                        || !structure.alive[u as usize]
                        || c.replaced.is_some()
                    {
                        return None;
                    }
                    sums.own[u as usize] += c.amount;
                    u as usize
                }
                _ => {
                    sums.lines_count += 1;
                    root
                }
            };
            sums.value[at] += c.amount;
            sums.minority[at] += minority;
            sums.count[at] += 1;
        }
        // Children before parents: the reverse of a depth-first order from the root.
        let mut order = Vec::with_capacity(n);
        let mut stack = vec![self.timeline.root];
        while let Some(u) = stack.pop() {
            order.push(u);
            stack.extend(structure.children[u as usize].iter().copied());
        }
        for u in order.into_iter().rev() {
            if let Some(parent) = structure.parent[u as usize] {
                let (p, c) = (parent as usize, u as usize);
                sums.value[p] += sums.value[c];
                sums.minority[p] += sums.minority[c];
                sums.count[p] += sums.count[c];
            }
        }
        // The root's count includes the lines' contributions already (added at the root).
        sums.lines_count = 0;
        Some(sums)
    }

    /// Where a node's figure comes from: the layers whose figures make it up (a layer whose
    /// every figure inside the node was replaced by a later one does not count).
    fn provenance(&self, computation: &Computation, node: UnitIndex) -> Option<String> {
        let mut used: Vec<usize> = Vec::new();
        for layer in 0..computation.layers.len() {
            let inside: Vec<&Contribution> = computation
                .contributions
                .iter()
                .filter(|c| c.layer == layer && self.lands_in(&c.landing.target, node))
                .collect();
            if inside.is_empty() {
                continue;
            }
            let replaced = inside.iter().any(|c| c.replaced.is_some());
            let net: f64 = inside.iter().map(|c| c.amount).sum();
            let scale: f64 = inside.iter().map(|c| c.amount.abs()).fold(0.0, f64::max);
            if !replaced || net.abs() > 1e-9 * scale.max(1.0) {
                used.push(layer);
            }
        }
        if used.is_empty() {
            return None;
        }
        let mut labels: Vec<&str> = Vec::new();
        for layer in used.iter().rev() {
            let label = computation.layers[*layer].as_str();
            if !labels.contains(&label) {
                labels.push(label);
            }
        }
        Some(labels.join(" + "))
    }

    #[allow(clippy::too_many_arguments)]
    fn period_values(
        &self,
        definition: &crate::model::Metric,
        period: Period,
        query: &Query,
        target: NaiveDate,
        excluded: &[UnitIndex],
        lines: &[Line],
        is_root: bool,
        top: UnitIndex,
    ) -> Result<PeriodValues, QueryError> {
        let display_date = match query.view {
            View::Reported => period.last_day(),
            _ => target,
        };
        let display = self.structure(display_date);
        let mut values = PeriodValues::default();
        match &definition.aggregation {
            Aggregation::Ratio {
                numerator,
                denominator,
            } => {
                let num =
                    self.compute(numerator, period, query.view, target, query.basis, excluded);
                let den = self.compute(
                    denominator,
                    period,
                    query.view,
                    target,
                    query.basis,
                    excluded,
                );
                for (index, Line { unit, depth, .. }) in lines.iter().enumerate() {
                    if !line_in(lines, index, &display, top) {
                        continue;
                    }
                    let line = index as u32;
                    let (n, _, _, gap_n) = self.node_value(&num, *unit);
                    let (d, _, _, gap_d) = self.node_value(&den, *unit);
                    let recorded = num
                        .contributions
                        .iter()
                        .any(|c| self.lands_in(&c.landing.target, *unit));
                    // A zero denominator, or one so small that the quotient is not a finite
                    // number, gives a gap with its reason, never inf or NaN (issue 16).
                    let quotient = n / d;
                    let value = (recorded
                        && d != 0.0
                        && quotient.is_finite()
                        && gap_n.is_none()
                        && gap_d.is_none())
                    .then_some(quotient);
                    let gap = gap_n.or(gap_d).or_else(|| {
                        (recorded && d == 0.0)
                            .then(|| "denominator is zero".to_string())
                            .or_else(|| {
                                (recorded && !quotient.is_finite()).then(|| {
                                    format!(
                                        "the ratio is beyond any number: {n:e} / {d:e} \
                                         (denominator too close to zero)"
                                    )
                                })
                            })
                    });
                    let provenance = join_provenance([
                        self.provenance(&num, *unit),
                        self.provenance(&den, *unit),
                    ]);
                    values.cells.insert(
                        LineKey::Node(line, *depth),
                        Cell {
                            value,
                            minority: 0.0,
                            eliminated: 0.0,
                            gap,
                            provenance,
                        },
                    );
                }
            }
            Aggregation::NonAdditive => {
                for (index, Line { unit, depth, .. }) in lines.iter().enumerate() {
                    if !line_in(lines, index, &display, top) {
                        continue;
                    }
                    let line = index as u32;
                    let facts = self
                        .resolve(
                            *unit,
                            &query.metric,
                            &basis_of(query.basis),
                            period,
                            &definition.aggregation,
                        )
                        .ok()
                        .flatten();
                    let value = facts
                        .map(|(f, _)| f.iter().map(|i| self.model.facts[*i].value).sum::<f64>());
                    let gap = value
                        .is_none()
                        .then(|| "not additive: shown only where recorded".to_string());
                    let provenance = value.map(|_| {
                        if query.view == View::Reported {
                            "reported"
                        } else {
                            "as recorded"
                        }
                        .to_string()
                    });
                    values.cells.insert(
                        LineKey::Node(line, *depth),
                        Cell {
                            value,
                            minority: 0.0,
                            eliminated: 0.0,
                            gap,
                            provenance,
                        },
                    );
                }
            }
            Aggregation::Flow | Aggregation::Stock => {
                let stock = definition.aggregation == Aggregation::Stock;
                let rate = self.output_rate(query, period, definition.measure, stock)?;
                let computation = self.compute(
                    &query.metric,
                    period,
                    query.view,
                    target,
                    query.basis,
                    excluded,
                );
                // Each node's figure as a sum over its subtree, computed once for all lines
                // when that is exact (no eliminations, gaps or replaced layers); otherwise
                // node by node.
                let sums = self.subtree_sums(&computation, &display);
                let child_lines = children_of(lines);
                for (index, Line { unit, depth, .. }) in lines.iter().enumerate() {
                    if !line_in(lines, index, &display, top) {
                        continue;
                    }
                    let line = index as u32;
                    let (recorded, (value, minority, eliminated, gap), provenance) = match &sums {
                        Some(sums) => {
                            let u = *unit as usize;
                            let count = sums.count[u]
                                + if *unit == self.timeline.root {
                                    sums.lines_count
                                } else {
                                    0
                                };
                            (
                                count > 0,
                                (sums.value[u], sums.minority[u], 0.0, None),
                                (count > 0).then(|| computation.layers[0].clone()),
                            )
                        }
                        None => {
                            let recorded = computation
                                .contributions
                                .iter()
                                .any(|c| self.lands_in(&c.landing.target, *unit))
                                || computation.gaps.iter().any(|(l, _, _)| {
                                    l.iter().any(|l| self.lands_in(&l.target, *unit))
                                });
                            (
                                recorded,
                                self.node_value(&computation, *unit),
                                self.provenance(&computation, *unit),
                            )
                        }
                    };
                    let shown = (recorded && gap.is_none()).then_some(value / rate);
                    let provenance = shown.and(provenance);
                    values.cells.insert(
                        LineKey::Node(line, *depth),
                        Cell {
                            value: shown,
                            minority: minority / rate,
                            eliminated: eliminated / rate,
                            gap: gap.clone(),
                            provenance,
                        },
                    );
                    // The node's own remainder and the eliminations between its children.
                    let own: f64 = match &sums {
                        Some(sums) => sums.own[*unit as usize],
                        None => computation
                            .contributions
                            .iter()
                            .filter(
                                |c| matches!(c.landing.target, Target::Unit(u, _) if u == *unit),
                            )
                            .map(|c| c.amount)
                            .sum(),
                    };
                    let children: Vec<UnitIndex> = child_lines[index]
                        .iter()
                        .filter(|i| line_in(lines, **i, &display, top))
                        .map(|i| lines[*i].unit)
                        .collect();
                    if !children.is_empty() || (*unit == top && query.depth > 0) {
                        let below: f64 = match &sums {
                            Some(_) => 0.0,
                            None => children
                                .iter()
                                .map(|c| self.node_value(&computation, *c).2)
                                .sum(),
                        };
                        values.cells.insert(
                            LineKey::Own(line, depth + 1),
                            Cell {
                                value: Some(own / rate),
                                ..Default::default()
                            },
                        );
                        values.cells.insert(
                            LineKey::Eliminations(line, depth + 1),
                            Cell {
                                value: Some(-(eliminated - below) / rate),
                                ..Default::default()
                            },
                        );
                    }
                }
                if is_root {
                    for c in &computation.contributions {
                        let key = match c.landing.target {
                            Target::Discontinued(u) => LineKey::Discontinued(u),
                            Target::Outside(u) => LineKey::Outside(u),
                            Target::Unit(..) => continue,
                        };
                        *values.special.entry(key).or_insert(0.0) += c.amount / rate;
                    }
                    // A line whose history is incomplete is a gap, like a node.
                    for (landings, _, reason) in &computation.gaps {
                        for landing in landings {
                            let key = match landing.target {
                                Target::Discontinued(u) => LineKey::Discontinued(u),
                                Target::Outside(u) => LineKey::Outside(u),
                                Target::Unit(..) => continue,
                            };
                            values.special.entry(key).or_insert(0.0);
                            let entry = values.special_gaps.entry(key).or_default();
                            if !entry.contains(reason.as_str()) {
                                if !entry.is_empty() {
                                    entry.push_str("; ");
                                }
                                entry.push_str(reason);
                            }
                        }
                    }
                    // Whatever a discontinued line adds is not part of the root's own remainder.
                }
            }
        }
        Ok(values)
    }

    /// Explains one figure: every fact behind it with its lineage, weights, rates and
    /// eliminations.
    pub fn explain(&self, query: &Query) -> Result<Explanation, QueryError> {
        let definition = self.metric(&query.metric)?;
        let period = *query.periods.first().ok_or(QueryError::NoPeriods)?;
        let calendar = self.model.group.calendar();
        let target = self.target_date(query);
        let node = match &query.node {
            Some(id) => self.unit_index(id)?,
            None => self.timeline.root,
        };
        let display_date = match query.view {
            View::Reported => period.last_day(),
            _ => target,
        };
        if !self.structure(display_date).alive[node as usize] {
            let record = self.timeline.record(node);
            return Err(QueryError::NodeNotInStructure(
                record.id.clone(),
                display_date,
                String::new(),
            ));
        }
        let excluded = self.view_exclusions(query.view, &query.periods, target);
        let rollup = self.rollup(&Query {
            depth: 0,
            periods: vec![period],
            ..query.clone()
        })?;
        let value = rollup.rows.first().and_then(|r| r.value);
        let metrics: Vec<MetricId> = match &definition.aggregation {
            Aggregation::Ratio {
                numerator,
                denominator,
            } => vec![numerator.clone(), denominator.clone()],
            _ => vec![query.metric.clone()],
        };
        let mut parts = Vec::new();
        for metric in metrics {
            let computation =
                self.compute(&metric, period, query.view, target, query.basis, &excluded);
            // A fact whose parts inside the node cancel (its own figure and its removal from a
            // recorded total above it, both landing here) explains nothing: it is netted away
            // and counted (docs/semantics.md, 3.6).
            let mut net_of_fact: HashMap<usize, (f64, f64, usize)> = HashMap::new();
            for c in computation
                .contributions
                .iter()
                .filter(|c| self.lands_in(&c.landing.target, node))
            {
                let entry = net_of_fact.entry(c.fact).or_insert((0.0, 0.0, 0));
                entry.0 += c.amount;
                entry.1 = entry.1.max(c.amount.abs());
                entry.2 += 1;
            }
            let cancels = |fact: usize| {
                net_of_fact.get(&fact).is_some_and(|(net, scale, count)| {
                    *count > 1 && net.abs() <= 1e-9 * scale.max(1.0)
                })
            };
            let netted = net_of_fact.keys().filter(|f| cancels(**f)).count();
            let mut facts = Vec::new();
            let mut departed = Vec::new();
            for c in &computation.contributions {
                if !self.lands_in(&c.landing.target, node) || cancels(c.fact) {
                    continue;
                }
                departed.push(match c.landing.target {
                    Target::Discontinued(u) | Target::Outside(u) => Some(u),
                    Target::Unit(..) => None,
                });
                let fact = &self.model.facts[c.fact];
                let lands_at = match c.landing.target {
                    Target::Unit(u, _) => self.timeline.record(u).id.to_string(),
                    Target::Discontinued(u) => {
                        format!("discontinued: {}", self.timeline.record(u).id)
                    }
                    Target::Outside(u) => format!(
                        "not in the {target} structure: {}",
                        self.timeline.record(u).id
                    ),
                };
                facts.push(ExplainedFact {
                    unit: fact.key.unit.to_string(),
                    period: fact.key.period.label(calendar),
                    basis: fact.key.basis.name().to_string(),
                    value: fact.value,
                    currency: fact.currency.as_ref().map(|c| c.to_string()),
                    counterparty: fact.key.counterparty.as_ref().map(|c| c.to_string()),
                    role: if let Some(replaced) = &c.replaced {
                        format!("less: {replaced}")
                    } else if c.sign > 0.0 {
                        format!("own figure ({})", computation.layers[c.layer])
                    } else {
                        format!(
                            "less: recorded below {}, within its figure",
                            self.timeline.record(c.via).id
                        )
                    },
                    structure: c.source_date,
                    rate: c.rate,
                    ownership: c.factor,
                    lineage: c.landing.steps.clone(),
                    weight: c.landing.weight,
                    lands_at,
                    amount: c.amount,
                    source: fact.source.clone(),
                    note: fact.note.clone(),
                    precision: fact.precision,
                    origin: fact.origin.to_string(),
                });
            }
            let eliminations: Vec<ExplainedElimination> = computation
                .eliminations
                .iter()
                .map(|e| {
                    let fact = &self.model.facts[e.fact];
                    let weight = self.weight_in(&e.side, node) * self.weight_in(&e.other, node);
                    ExplainedElimination {
                        unit: fact.key.unit.to_string(),
                        counterparty: fact
                            .key
                            .counterparty
                            .as_ref()
                            .map(|c| c.to_string())
                            .unwrap_or_default(),
                        period: fact.key.period.label(calendar),
                        value: e.amount,
                        weight,
                        amount: -e.amount * weight,
                    }
                })
                .filter(|e| e.weight != 0.0)
                .collect();
            let resolution = computation
                .resolution
                .iter()
                .filter(|(u, _)| {
                    facts
                        .iter()
                        .any(|f| f.unit == self.timeline.record(**u).id.as_str())
                })
                .map(|(u, how)| format!("{}: {how}", self.timeline.record(*u).id))
                .collect();
            let gaps = computation
                .gaps
                .iter()
                .filter(|gap| self.gap_affects(gap, node))
                .map(|(_, _, r)| r.clone())
                .collect();
            let total = facts.iter().map(|f| f.amount).sum::<f64>()
                + eliminations.iter().map(|e| e.amount).sum::<f64>();
            let (facts, lines) = self.group_by_line(facts, departed);
            parts.push(ExplainedMetric {
                metric: metric.to_string(),
                total,
                facts,
                eliminations,
                resolution,
                gaps,
                netted,
                lines,
            });
        }
        let record = self.timeline.record(node);
        Ok(Explanation {
            node: record.id.to_string(),
            name: record.name_on(display_date).to_string(),
            metric: query.metric.to_string(),
            period: period.label(calendar),
            view: query.view,
            structure: display_date,
            value,
            currency: (definition.measure == Measure::Currency)
                .then(|| self.model.group.currency.to_string()),
            parts,
        })
    }
}

impl Engine<'_> {
    /// Puts the facts that land on a discontinued (or outside-the-structure) line together,
    /// after the facts landing on units, one group per unit that left, in the order the
    /// lines are first met; and sums each group (docs/semantics.md, 3.6). `departed[i]` is
    /// the unit whose line fact `i` lands on, if any.
    fn group_by_line(
        &self,
        facts: Vec<ExplainedFact>,
        departed: Vec<Option<UnitIndex>>,
    ) -> (Vec<ExplainedFact>, Vec<ExplainedLine>) {
        let mut order: Vec<UnitIndex> = Vec::new();
        let mut lines: Vec<ExplainedLine> = Vec::new();
        let mut keyed: Vec<(usize, ExplainedFact)> = Vec::with_capacity(facts.len());
        for (fact, unit) in facts.into_iter().zip(departed) {
            let Some(unit) = unit else {
                keyed.push((0, fact));
                continue;
            };
            let group = match order.iter().position(|u| *u == unit) {
                Some(i) => i,
                None => {
                    let record = self.timeline.record(unit);
                    let ended = record.ended;
                    order.push(unit);
                    lines.push(ExplainedLine {
                        line: fact.lands_at.clone(),
                        unit: record.id.to_string(),
                        name: record
                            .name_on(
                                ended.map_or(record.created, |(d, _)| d.pred_opt().unwrap_or(d)),
                            )
                            .to_string(),
                        left: ended.map(|(date, seq)| {
                            format!("{} {date}", self.timeline.changes[seq].kind.name())
                        }),
                        amount: 0.0,
                        facts: 0,
                    });
                    order.len() - 1
                }
            };
            lines[group].amount += fact.amount;
            lines[group].facts += 1;
            keyed.push((group + 1, fact));
        }
        keyed.sort_by_key(|(group, _)| *group);
        (keyed.into_iter().map(|(_, f)| f).collect(), lines)
    }
}

/// The span the organic and pro-forma views compare: from the first period's first day to
/// the later of the last period's last day and the structure date.
fn compared_span(periods: &[Period], target: NaiveDate) -> (NaiveDate, NaiveDate) {
    let start = periods
        .iter()
        .map(|p| p.first_day())
        .min()
        .unwrap_or(target);
    let end = periods
        .iter()
        .map(|p| p.last_day())
        .max()
        .unwrap_or(target)
        .max(target);
    (start, end)
}

/// Joins the provenance of several figures (a ratio's numerator and denominator).
fn join_provenance<const N: usize>(parts: [Option<String>; N]) -> Option<String> {
    let mut labels: Vec<String> = Vec::new();
    for part in parts.into_iter().flatten() {
        for label in part.split(" + ") {
            if !labels.iter().any(|l| l == label) {
                labels.push(label.to_string());
            }
        }
    }
    (!labels.is_empty()).then(|| labels.join(" + "))
}

fn basis_of(filter: BasisFilter) -> Basis {
    match filter {
        BasisFilter::Reported | BasisFilter::ReportedOnly => Basis::Reported,
        BasisFilter::Plan => Basis::Plan,
        BasisFilter::Estimate => Basis::Estimate,
        BasisFilter::Restated(structure) => Basis::Restated { structure },
    }
}

/// An own-remainder or elimination line is shown when it is not zero in some period:
/// beyond this share of its node's figure (two engines summing in different orders differ
/// by rounding).
pub const LINE_SHOWN_ABOVE: f64 = 1e-9;

/// A line of a roll-up's tree: a unit under one parent line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Line {
    unit: UnitIndex,
    depth: u32,
    /// Index of the parent line (None for the top).
    parent: Option<usize>,
}

/// Orders lines depth first, children in the order they were found, and renumbers parents.
fn tree_order(lines: Vec<Line>) -> Vec<Line> {
    let mut order = Vec::with_capacity(lines.len());
    let mut stack: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.parent.is_none())
        .map(|(i, _)| i)
        .rev()
        .collect();
    let children = children_of(&lines);
    while let Some(i) = stack.pop() {
        order.push(i);
        stack.extend(children[i].iter().rev());
    }
    let mut position = vec![0usize; lines.len()];
    for (new, old) in order.iter().enumerate() {
        position[*old] = new;
    }
    order
        .iter()
        .map(|old| Line {
            parent: lines[*old].parent.map(|p| position[p]),
            ..lines[*old]
        })
        .collect()
}

/// Every node's sums over its subtree (see `Engine::subtree_sums`).
struct SubtreeSums {
    value: Vec<f64>,
    own: Vec<f64>,
    minority: Vec<f64>,
    count: Vec<u32>,
    lines_count: u32,
}

/// The child lines of every line, in order.
fn children_of(lines: &[Line]) -> Vec<Vec<usize>> {
    let mut children = vec![Vec::new(); lines.len()];
    for (index, line) in lines.iter().enumerate() {
        if let Some(parent) = line.parent {
            children[parent].push(index);
        }
    }
    children
}

/// Whether a line has figures in a structure: its unit is there, under its line's parent.
fn line_in(lines: &[Line], index: usize, structure: &Structure, top: UnitIndex) -> bool {
    let line = &lines[index];
    structure.alive[line.unit as usize]
        && match line.parent {
            None => line.unit == top,
            Some(parent) => structure.parent[line.unit as usize] == Some(lines[parent].unit),
        }
}

/// Line keys: `Node`, `Own` and `Eliminations` carry the index of their line and its depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum LineKey {
    Node(UnitIndex, u32),
    Own(UnitIndex, u32),
    Eliminations(UnitIndex, u32),
    Discontinued(UnitIndex),
    Outside(UnitIndex),
    Continuing(u32),
}

#[derive(Debug, Clone, Default)]
struct Cell {
    value: Option<f64>,
    minority: f64,
    eliminated: f64,
    gap: Option<String>,
    provenance: Option<String>,
}

#[derive(Default)]
struct PeriodValues {
    cells: HashMap<LineKey, Cell>,
    special: HashMap<LineKey, f64>,
    special_gaps: HashMap<LineKey, String>,
}

/// One fact's part in an explained figure.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExplainedFact {
    /// Unit the fact is recorded on.
    pub unit: String,
    /// The fact's period.
    pub period: String,
    /// Its basis.
    pub basis: String,
    /// Value as recorded.
    pub value: f64,
    /// Currency as recorded (reporting currency when None).
    pub currency: Option<String>,
    /// Counterparty, for intercompany figures.
    pub counterparty: Option<String>,
    /// Own figure, or subtracted from the unit above.
    pub role: String,
    /// Date of the structure it was published in.
    pub structure: NaiveDate,
    /// FX rate applied.
    pub rate: f64,
    /// Ownership factor applied.
    pub ownership: f64,
    /// Changes that carried it into the viewed structure.
    pub lineage: Vec<LineageStep>,
    /// Product of the lineage weights.
    pub weight: f64,
    /// Unit (or line) it lands at.
    pub lands_at: String,
    /// Resulting amount in the figure.
    pub amount: f64,
    /// Where it was published.
    pub source: Option<String>,
    /// The fact's note, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The step the fact was published to, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<f64>,
    /// File and line.
    pub origin: String,
}

/// One intercompany elimination in an explained figure.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExplainedElimination {
    /// Selling unit.
    pub unit: String,
    /// Buying unit.
    pub counterparty: String,
    /// Period.
    pub period: String,
    /// Intercompany amount (translated, after ownership).
    pub value: f64,
    /// Share of it inside the node (both sides' weights).
    pub weight: f64,
    /// Amount removed.
    pub amount: f64,
}

/// The explanation of one metric's part of a figure.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExplainedMetric {
    /// Metric.
    pub metric: String,
    /// Sum of facts and eliminations, in reporting currency.
    pub total: f64,
    /// Facts.
    pub facts: Vec<ExplainedFact>,
    /// Eliminations.
    pub eliminations: Vec<ExplainedElimination>,
    /// How each unit's figure for the period was found (exact or from finer periods).
    pub resolution: Vec<String>,
    /// Gaps that make the figure incomplete.
    pub gaps: Vec<String>,
    /// Facts left out because their parts inside the node cancel (a figure recorded below a
    /// total that is also inside the node).
    pub netted: usize,
    /// The discontinued (and outside-the-structure) lines inside the figure, one per unit
    /// that left, with what lands on each; their facts are listed together in `facts`.
    pub lines: Vec<ExplainedLine>,
}

/// A discontinued line inside an explained figure: the unit that left and what lands there.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExplainedLine {
    /// The line as facts name it in `lands_at` (`discontinued: d`).
    pub line: String,
    /// The unit that left.
    pub unit: String,
    /// Its name when it left.
    pub name: String,
    /// How and when it left (`divest 2020-07-01`), when it ended.
    pub left: Option<String>,
    /// What lands on the line, in reporting currency.
    pub amount: f64,
    /// How many listed facts land there.
    pub facts: usize,
}

/// The explanation of a figure.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Explanation {
    /// Node id.
    pub node: String,
    /// Node name.
    pub name: String,
    /// Metric asked for.
    pub metric: String,
    /// Period.
    pub period: String,
    /// View.
    pub view: View,
    /// Structure date.
    pub structure: NaiveDate,
    /// The figure (in reporting currency).
    pub value: Option<f64>,
    /// Currency of the figure.
    pub currency: Option<String>,
    /// One part per additive metric (two for a ratio).
    pub parts: Vec<ExplainedMetric>,
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The engine is shared between threads by the application layer and the server.
#[allow(dead_code)]
fn engine_is_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Engine<'static>>();
}
