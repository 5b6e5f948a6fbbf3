//! Facts as columns, and the one-pass roll-up over them for large groups.
//!
//! A [`FactTable`] keeps facts grouped by *series* (unit, metric, currency, counterparty,
//! basis) with two narrow columns per row: the period (an index into a dictionary) and
//! the value, ten bytes a fact. The decomposition of recorded totals (a fact minus the
//! facts recorded below it) depends only on the data, so it is done once when the table is
//! built. A query is compiled into a [`FastPlan`]: a weight table per (unit, period) —
//! lineage times ownership, already summed into the lines asked for — resolved into, for
//! each series, the runs of answer cells its rows add into. Running the plan is a single
//! pass over the values, which a caller asking the same question again can repeat without
//! compiling anything. Results equal [`crate::rollup::Engine`]'s (a property test holds them
//! to it); queries the fast path does not cover say so and the caller uses the engine.

use crate::ids::{Currency, MetricId, UnitId};
use crate::model::{Aggregation, Basis, ChangeKind, Model};
use crate::period::Period;
use crate::rollup::{Engine, Target, View};
use crate::timeline::UnitIndex;
use chrono::{Datelike, NaiveDate};
use std::collections::HashMap;

/// What a series of facts is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    /// Unit.
    pub unit: UnitIndex,
    /// Metric index in the model's metric list.
    pub metric: u16,
    /// Currency index in [`FactTable::currencies`] (0 = reporting currency).
    pub currency: u8,
    /// Counterparty of intercompany rows.
    pub counterparty: Option<UnitIndex>,
    /// Publication basis.
    pub basis: Basis,
}

/// A fact taken off the total of the nearest recorded unit above it.
#[derive(Debug, Clone)]
struct Adjustment {
    above: UnitIndex,
    date: NaiveDate,
    metric: u16,
    period: u16,
    currency: u8,
    basis: Basis,
    value: f64,
}

/// Facts in columns.
#[derive(Debug, Clone, Default)]
pub struct FactTable {
    /// Series, sorted.
    pub series: Vec<SeriesKey>,
    /// Rows of series `s` are `offsets[s]..offsets[s + 1]`.
    pub offsets: Vec<usize>,
    /// Period of each row (index into `periods`).
    pub period: Vec<u16>,
    /// Value of each row, in the series' currency.
    pub value: Vec<f64>,
    /// Period dictionary, sorted.
    pub periods: Vec<Period>,
    /// Currency dictionary: index 0 is the reporting currency.
    pub currencies: Vec<Currency>,
    adjustments: Vec<Adjustment>,
}

/// Collects rows, then sorts them into a [`FactTable`].
pub struct FactTableBuilder {
    rows: Vec<(u32, u16, f64)>,
    series: HashMap<SeriesKey, u32>,
    series_list: Vec<SeriesKey>,
    periods: HashMap<Period, u16>,
    period_list: Vec<Period>,
    currencies: Vec<Currency>,
}

/// Why a table could not be built or a query can't take the fast path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ColumnarError {
    /// Two rows with the same key.
    #[error("duplicate fact: {0}")]
    Duplicate(String),
    /// More distinct periods than the table can index.
    #[error("more than 65535 distinct periods")]
    TooManyPeriods,
    /// The query needs the general engine.
    #[error("not covered by the fast path: {0}")]
    Unsupported(String),
}

impl FactTableBuilder {
    /// A builder for a group reporting in `currency`.
    pub fn new(currency: Currency) -> Self {
        FactTableBuilder { rows: Vec::new(), series: HashMap::new(), series_list: Vec::new(), periods: HashMap::new(), period_list: Vec::new(), currencies: vec![currency] }
    }

    /// Reserves room for `rows` more rows.
    pub fn reserve(&mut self, rows: usize) {
        self.rows.reserve(rows);
    }

    /// Index of a currency (the reporting currency is 0).
    pub fn currency(&mut self, currency: Option<&Currency>) -> u8 {
        match currency {
            None => 0,
            Some(c) => match self.currencies.iter().position(|x| x == c) {
                Some(i) => i as u8,
                None => {
                    self.currencies.push(c.clone());
                    (self.currencies.len() - 1) as u8
                }
            },
        }
    }

    /// Adds one fact.
    pub fn push(&mut self, key: SeriesKey, period: Period, value: f64) -> Result<(), ColumnarError> {
        let next = self.series_list.len() as u32;
        let series = *self.series.entry(key).or_insert_with(|| next);
        if series == next {
            self.series_list.push(key);
        }
        let count = self.period_list.len();
        let period_index = match self.periods.get(&period) {
            Some(i) => *i,
            None => {
                if count >= u16::MAX as usize {
                    return Err(ColumnarError::TooManyPeriods);
                }
                self.periods.insert(period, count as u16);
                self.period_list.push(period);
                count as u16
            }
        };
        self.rows.push((series, period_index, value));
        Ok(())
    }

    /// Sorts the rows by series and period, checks for duplicates and decomposes recorded
    /// totals against the structure each figure was published in.
    pub fn finish(self, engine: &Engine) -> Result<FactTable, ColumnarError> {
        let FactTableBuilder { mut rows, series_list, period_list, currencies, .. } = self;
        // Dictionaries in sorted order, so the table does not depend on input order.
        let mut series_order: Vec<u32> = (0..series_list.len() as u32).collect();
        series_order.sort_by_key(|s| series_list[*s as usize]);
        let mut series_rank = vec![0u32; series_list.len()];
        for (rank, s) in series_order.iter().enumerate() {
            series_rank[*s as usize] = rank as u32;
        }
        let mut period_order: Vec<u16> = (0..period_list.len() as u16).collect();
        period_order.sort_by_key(|p| period_list[*p as usize]);
        let mut period_rank = vec![0u16; period_list.len()];
        for (rank, p) in period_order.iter().enumerate() {
            period_rank[*p as usize] = rank as u16;
        }
        for row in rows.iter_mut() {
            row.0 = series_rank[row.0 as usize];
            row.1 = period_rank[row.1 as usize];
        }
        rows.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let series: Vec<SeriesKey> = series_order.iter().map(|s| series_list[*s as usize]).collect();
        let periods: Vec<Period> = period_order.iter().map(|p| period_list[*p as usize]).collect();
        let mut offsets = Vec::with_capacity(series.len() + 1);
        let mut period = Vec::with_capacity(rows.len());
        let mut value = Vec::with_capacity(rows.len());
        let mut current = u32::MAX;
        for (i, (s, p, v)) in rows.iter().enumerate() {
            if *s != current {
                while offsets.len() <= *s as usize {
                    offsets.push(i);
                }
                current = *s;
            } else if period.last() == Some(p) {
                let key = &series[*s as usize];
                let timeline = engine.timeline();
                return Err(ColumnarError::Duplicate(format!(
                    "{} {} metric #{} twice",
                    timeline.record(key.unit).id,
                    periods[*p as usize].label(engine.model().group.calendar()),
                    key.metric
                )));
            }
            period.push(*p);
            value.push(*v);
        }
        while offsets.len() <= series.len() {
            offsets.push(rows.len());
        }
        drop(rows);
        let mut table = FactTable { series, offsets, period, value, periods, currencies, adjustments: Vec::new() };
        table.adjustments = table.decompose(engine);
        Ok(table)
    }
}

impl FactTable {
    /// Number of fact rows.
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// True when the table holds no facts.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    /// Bytes held by the row columns.
    pub fn column_bytes(&self) -> usize {
        self.period.len() * 2 + self.value.len() * 8 + self.offsets.len() * 8 + self.series.len() * std::mem::size_of::<SeriesKey>()
    }

    /// Builds a table from a model's facts.
    pub fn from_model(model: &Model, engine: &Engine) -> Result<FactTable, ColumnarError> {
        let mut builder = FactTableBuilder::new(model.group.currency.clone());
        builder.reserve(model.facts.len());
        let timeline = engine.timeline();
        for fact in &model.facts {
            let metric = model.metrics.iter().position(|m| m.id == fact.key.metric).ok_or_else(|| ColumnarError::Unsupported(format!("unknown metric {}", fact.key.metric)))? as u16;
            let unit = timeline.unit(&fact.key.unit).ok_or_else(|| ColumnarError::Unsupported(format!("unknown unit {}", fact.key.unit)))?;
            let counterparty = match &fact.key.counterparty {
                Some(c) => Some(timeline.unit(c).ok_or_else(|| ColumnarError::Unsupported(format!("unknown unit {c}")))?),
                None => None,
            };
            let currency = builder.currency(fact.currency.as_ref().filter(|c| **c != model.group.currency));
            builder.push(SeriesKey { unit, metric, currency, counterparty, basis: fact.key.basis }, fact.key.period, fact.value)?;
        }
        builder.finish(engine)
    }

    fn fact_date(engine: &Engine, unit: UnitIndex, period: Period, basis: Basis) -> NaiveDate {
        match basis {
            Basis::Restated { structure } => structure,
            _ => engine.timeline().record(unit).last_day_until(period.last_day()),
        }
    }

    /// For every row whose unit has a recorded unit above it (same metric, basis and
    /// period, in the structure it was published in), the value to take off that unit.
    fn decompose(&self, engine: &Engine) -> Vec<Adjustment> {
        // Which (unit, metric, basis) series have a row in each period.
        let mut present: HashMap<(u16, Basis), Vec<Vec<u64>>> = HashMap::new();
        let units = engine.timeline().units.len();
        let words = units.div_ceil(64);
        for (s, key) in self.series.iter().enumerate() {
            let bits = present.entry((key.metric, key.basis)).or_insert_with(|| vec![vec![0u64; words]; self.periods.len()]);
            for r in self.offsets[s]..self.offsets[s + 1] {
                let p = self.period[r] as usize;
                bits[p][key.unit as usize / 64] |= 1 << (key.unit % 64);
            }
        }
        // Quick exit: no unit with facts ever sat below another unit with facts.
        let mut any_nested = false;
        let timeline = engine.timeline();
        for ((_, _), bits) in &present {
            let mut has = vec![false; units];
            for period_bits in bits {
                for (w, word) in period_bits.iter().enumerate() {
                    let mut word = *word;
                    while word != 0 {
                        let bit = word.trailing_zeros() as usize;
                        has[w * 64 + bit] = true;
                        word &= word - 1;
                    }
                }
            }
            for (unit, record) in timeline.units.iter().enumerate() {
                if has[unit] && record.parents.iter().any(|(_, p)| ancestors_ever(timeline, *p).into_iter().any(|a| has[a as usize])) {
                    any_nested = true;
                }
            }
        }
        if !any_nested {
            return Vec::new();
        }
        let mut adjustments = Vec::new();
        for (s, key) in self.series.iter().enumerate() {
            let bits = &present[&(key.metric, key.basis)];
            for r in self.offsets[s]..self.offsets[s + 1] {
                let p = self.period[r] as usize;
                let date = Self::fact_date(engine, key.unit, self.periods[p], key.basis);
                let structure = engine.structure(date);
                let above = structure.ancestors(key.unit).into_iter().skip(1).find(|a| bits[p][*a as usize / 64] & (1 << (a % 64)) != 0);
                if let Some(above) = above {
                    adjustments.push(Adjustment { above, date, metric: key.metric, period: p as u16, currency: key.currency, basis: key.basis, value: self.value[r] });
                }
                // A recorded total above both sides of an intercompany figure is net of it:
                // give the figure back there, as the engine does.
                if let Some(other) = key.counterparty {
                    let net_above = structure
                        .ancestors(key.unit)
                        .into_iter()
                        .skip(1)
                        .find(|a| bits[p][*a as usize / 64] & (1 << (a % 64)) != 0 && structure.in_subtree(other, *a));
                    if let Some(net_above) = net_above {
                        adjustments.push(Adjustment { above: net_above, date, metric: key.metric, period: p as u16, currency: key.currency, basis: key.basis, value: -self.value[r] });
                    }
                }
            }
        }
        adjustments
    }
}

fn ancestors_ever(timeline: &crate::timeline::Timeline<'_>, start: Option<UnitIndex>) -> Vec<UnitIndex> {
    // Every unit that was ever above `start`, through any of its parents over time.
    let mut seen = Vec::new();
    let mut stack: Vec<UnitIndex> = start.into_iter().collect();
    while let Some(u) = stack.pop() {
        if seen.contains(&u) {
            continue;
        }
        seen.push(u);
        for (_, parent) in &timeline.record(u).parents {
            if let Some(p) = parent {
                stack.push(*p);
            }
        }
    }
    seen
}

/// Metrics some split gives shares of their own: each lands by its own weights.
fn metrics_with_own_shares(model: &Model) -> Vec<MetricId> {
    let mut metrics: Vec<MetricId> = model
        .timeline
        .iter()
        .filter_map(|c| match &c.kind {
            ChangeKind::Split { parts, .. } => Some(parts.iter().flat_map(|p| p.shares.per_metric.keys().cloned()).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect();
    metrics.sort();
    metrics.dedup();
    metrics
}

/// Chunks the pass is cut into: fixed, so the sums do not depend on the thread count.
pub const PASS_CHUNKS: usize = 2;

/// A line of a fast roll-up: a unit of the viewed structure, or a discontinued or
/// not-yet-existing unit's history (group level only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FastLine {
    /// A unit.
    Node(UnitIndex),
    /// History of a unit divested or closed before the structure date.
    Discontinued(UnitIndex),
    /// History of a unit that did not exist yet on the structure date.
    Outside(UnitIndex),
}

/// The answer of a fast roll-up: for each metric, line and period, a value (None where
/// nothing landed).
#[derive(Debug, Clone)]
pub struct FastRollup {
    /// Metrics, in the order asked.
    pub metrics: Vec<MetricId>,
    /// Lines.
    pub lines: Vec<FastLine>,
    /// Periods.
    pub periods: Vec<Period>,
    /// Sums, indexed `(metric * lines + line) * periods + period` (0 where nothing landed).
    sums: Vec<f64>,
    /// Whether anything landed in each cell.
    landed: Vec<bool>,
}

impl FastRollup {
    /// The value of a metric, line and period.
    pub fn get(&self, metric: usize, line: usize, period: usize) -> Option<f64> {
        let cell = (metric * self.lines.len() + line) * self.periods.len() + period;
        self.landed[cell].then_some(self.sums[cell])
    }

    /// Every cell's value in `(metric * lines + line) * periods + period` order.
    pub fn values(&self) -> impl Iterator<Item = Option<f64>> + '_ {
        self.sums.iter().zip(&self.landed).map(|(v, t)| t.then_some(*v))
    }
}

/// A fast roll-up question: additive metrics for the lines below a node, for periods of the
/// granularity the facts are recorded in.
#[derive(Debug, Clone)]
pub struct FastQuery {
    /// Additive metrics (flows and stocks).
    pub metrics: Vec<MetricId>,
    /// Periods (each recorded exactly in the table).
    pub periods: Vec<Period>,
    /// View.
    pub view: View,
    /// Target structure date (restated, organic); the latest change when None.
    pub structure: Option<NaiveDate>,
    /// Top node (the root when None).
    pub node: Option<UnitId>,
    /// Levels below the node.
    pub depth: u32,
    /// Facts read.
    pub basis: Basis,
}

/// Runs a fast roll-up: compiles the query into a [`FastPlan`] and runs it once.
pub fn fast_rollup(engine: &Engine, table: &FactTable, query: &FastQuery) -> Result<FastRollup, ColumnarError> {
    let plan = FastPlan::prepare(engine, table, query)?;
    let clock = std::time::Instant::now();
    let answer = plan.run();
    if std::env::var_os("HOLDCO_PROFILE").is_some() {
        eprintln!("  [profile] run {:?}", clock.elapsed());
    }
    Ok(answer)
}

/// One step of the pass: add `len` consecutive rows from `src` (each times its rate, from
/// `rate` in the plan's rate table, and times `w`) into `len` consecutive cells from `dst`.
#[derive(Debug, Clone, Copy)]
struct Op {
    src: usize,
    dst: u32,
    len: u32,
    /// Offset in the rate table; 0 is the reporting currency (no rate to apply).
    rate: u32,
    w: f64,
}

/// A fast roll-up compiled for one fact table and one query: the lines, the lineage and
/// ownership weights of every unit and period already resolved into, for each series, the
/// cells its rows add into. [`FastPlan::run`] then makes the pass over the values; a caller
/// asking the same question again (the same structure date, view, basis, metrics and
/// periods) keeps the plan and pays only for the pass.
#[derive(Clone)]
pub struct FastPlan<'t> {
    table: &'t FactTable,
    metrics: Vec<MetricId>,
    periods: Vec<Period>,
    lines: Vec<FastLine>,
    /// The pass, chunk by chunk, series by series in table order.
    ops: Vec<Vec<Op>>,
    /// Row 0: ones; then per currency, its flow row and its stock row over the table's periods.
    rates: Vec<f64>,
    /// Recorded totals: (cell, adjustment, rate, weight), taken off after the pass.
    adjust: Vec<(usize, usize, f64, f64)>,
    /// Lines whose sum is the top node's figure (when it is rebuilt from them).
    first_level: Vec<u32>,
    reconstruct_top: bool,
    /// Intercompany eliminations: (cell, row, rate, ownership, weight, far side's weight).
    intercompany: Vec<(usize, usize, f64, f64, f64, f64)>,
}

impl<'t> FastPlan<'t> {
    /// Compiles a fast roll-up for a table; says `Unsupported` when the fast path does not
    /// cover the query.
    pub fn prepare(engine: &Engine, table: &'t FactTable, query: &FastQuery) -> Result<FastPlan<'t>, ColumnarError> {
        let profile = std::env::var_os("HOLDCO_PROFILE").is_some();
        let clock = std::time::Instant::now();
        let model = engine.model();
        let timeline = engine.timeline();
        let target = query.structure.unwrap_or_else(|| engine.latest_structure_date());
        let node = match &query.node {
            Some(id) => timeline.unit(id).ok_or_else(|| ColumnarError::Unsupported(format!("unknown unit {id}")))?,
            None => timeline.root,
        };
        // Metrics: additive only; each named metric gets its own share group when a split names it.
        let mut metric_indexes = Vec::new();
        for id in &query.metrics {
            let index = model.metrics.iter().position(|m| &m.id == id).ok_or_else(|| ColumnarError::Unsupported(format!("unknown metric {id}")))?;
            if !matches!(model.metrics[index].aggregation, Aggregation::Flow | Aggregation::Stock) {
                return Err(ColumnarError::Unsupported(format!("{id} is not additive")));
            }
            metric_indexes.push(index as u16);
        }
        // Every query period must be recorded as such: the fast path adds no finer periods.
        let mut query_of_period: Vec<u32> = vec![u32::MAX; table.periods.len()];
        for (j, period) in query.periods.iter().enumerate() {
            if let Ok(p) = table.periods.binary_search(period) {
                query_of_period[p] = j as u32;
            }
        }
        // Only when the table holds periods finer than some query period can a row be one the
        // engine would add up into a coarser period.
        let finer_periods = table.periods.iter().any(|p| query.periods.iter().any(|q| q.contains(p) && q != p));
        for (s, key) in table.series.iter().enumerate() {
            if !finer_periods || key.basis != query.basis || !metric_indexes.contains(&key.metric) {
                continue;
            }
            let rows = table.offsets[s]..table.offsets[s + 1];
            let exact: Vec<u32> = rows.clone().map(|r| query_of_period[table.period[r] as usize]).filter(|j| *j != u32::MAX).collect();
            for r in rows {
                let period = table.periods[table.period[r] as usize];
                if query_of_period[table.period[r] as usize] != u32::MAX {
                    continue;
                }
                // A finer row inside a query period the series has no exact row for: the engine
                // would build the period from finer ones.
                if query.periods.iter().enumerate().any(|(j, q)| q.contains(&period) && !exact.contains(&(j as u32))) {
                    return Err(ColumnarError::Unsupported("a period would be built from finer periods".into()));
                }
            }
        }
        let split_metrics = metrics_with_own_shares(model);
        // Group 0: metrics that follow default shares; one group per metric with its own.
        let mut group_metric: Vec<MetricId> = vec![query.metrics.first().cloned().unwrap_or_else(|| model.metrics[0].id.clone())];
        let mut group_of: Vec<usize> = Vec::new();
        for id in &query.metrics {
            if split_metrics.contains(id) {
                group_of.push(group_metric.len());
                group_metric.push(id.clone());
            } else {
                group_of.push(0);
            }
        }
        if !query.metrics.iter().any(|m| !split_metrics.contains(m)) {
            // Group 0 unused but harmless.
        } else if let Some(first_default) = query.metrics.iter().find(|m| !split_metrics.contains(m)) {
            group_metric[0] = first_default.clone();
        }
        // Lines, as the engine shows them.
        let excluded = if query.view == View::Organic { engine.organic_exclusions(&query.periods, target) } else { Vec::new() };
        let mut lines: Vec<FastLine> = Vec::new();
        let mut line_of: HashMap<FastLine, u32> = HashMap::new();
        let dates: Vec<NaiveDate> = match query.view {
            View::Reported => {
                let last = query.periods.iter().max().map(|p| p.last_day()).unwrap_or(target);
                std::iter::once(last).chain(query.periods.iter().rev().map(|p| p.last_day())).collect()
            }
            _ => vec![target],
        };
        for date in &dates {
            let structure = engine.structure(*date);
            if !structure.alive[node as usize] {
                continue;
            }
            for (unit, _) in structure.descendants(node, query.depth) {
                let line = FastLine::Node(unit);
                if !line_of.contains_key(&line) {
                    line_of.insert(line, lines.len() as u32);
                    lines.push(line);
                }
            }
        }
        if lines.is_empty() {
            return Err(ColumnarError::Unsupported(format!("{} is not in the viewed structure", timeline.record(node).id)));
        }
        // The line of each unit that is one, for lookups while walking up the tree.
        let mut node_line: Vec<u32> = vec![u32::MAX; timeline.units.len()];
        for (i, line) in lines.iter().enumerate() {
            if let FastLine::Node(unit) = line {
                node_line[*unit as usize] = i as u32;
            }
        }
        let is_root = node == timeline.root;
        // With lines below the top node, every landing inside one of them also lands in the top
        // node: rebuild the top from the first level instead of adding each fact twice.
        let first_level: Vec<u32> = lines.iter().enumerate().filter_map(|(i, l)| match l {
            FastLine::Node(u) if engine.structure(dates[0]).parent[*u as usize] == Some(node) => Some(i as u32),
            _ => None,
        }).collect();
        let reconstruct_top = query.depth > 0 && query.view != View::Reported;
        // Dense units: those with series of the basis and metrics asked.
        let mut metric_slot: Vec<u32> = vec![u32::MAX; model.metrics.len()];
        for (mi, m) in metric_indexes.iter().enumerate() {
            metric_slot[*m as usize] = mi as u32;
        }
        let mut dense: Vec<u32> = vec![u32::MAX; timeline.units.len()];
        let mut dense_units: Vec<UnitIndex> = Vec::new();
        for key in &table.series {
            if key.basis == query.basis && metric_slot[key.metric as usize] != u32::MAX && dense[key.unit as usize] == u32::MAX {
                dense[key.unit as usize] = dense_units.len() as u32;
                dense_units.push(key.unit);
            }
        }
        let n_periods = query.periods.len();
        // Restating, every landing on a unit is in the target structure: the lines each unit
        // counts in, found once by walking up from it.
        let chains: Vec<Vec<u32>> = if query.view == View::Reported {
            Vec::new()
        } else {
            let structure = engine.structure(target);
            (0..timeline.units.len() as UnitIndex)
                .map(|unit| {
                    if !structure.alive[unit as usize] {
                        return Vec::new();
                    }
                    let mut chain = Vec::new();
                    let mut below_line = false;
                    let mut current = Some(unit);
                    while let Some(ancestor) = current {
                        current = structure.parent[ancestor as usize];
                        let line = node_line[ancestor as usize];
                        if line != u32::MAX {
                            if ancestor == node && below_line && reconstruct_top {
                                continue;
                            }
                            chain.push(line);
                            below_line = true;
                        }
                    }
                    chain
                })
                .collect()
        };
        // Line weights of one landing set, including discontinued lines for the group.
        let membership = |landings: &[(Target, f64)], factor: f64, lines: &mut Vec<FastLine>, line_of: &mut HashMap<FastLine, u32>, skip_top: bool| -> Vec<(u32, f64)> {
            let mut out: Vec<(u32, f64)> = Vec::new();
            let mut add = |line: u32, w: f64| match out.iter_mut().find(|(l, _)| *l == line) {
                Some(entry) => entry.1 += w,
                None => out.push((line, w)),
            };
            for (place, weight) in landings {
                let w = weight * factor;
                match *place {
                    Target::Unit(unit, date) if date == target && !chains.is_empty() && skip_top == reconstruct_top => {
                        for line in &chains[unit as usize] {
                            add(*line, w);
                        }
                    }
                    Target::Unit(unit, date) => {
                        let structure = engine.structure(date);
                        let mut below_line = false;
                        for ancestor in structure.ancestors(unit) {
                            if let Some(line) = Some(&node_line[ancestor as usize]).filter(|l| **l != u32::MAX) {
                                // The top node's figure is rebuilt from its first-level lines
                                // after the pass, so most facts feed a single line.
                                if ancestor == node && below_line && skip_top {
                                    continue;
                                }
                                add(*line, w);
                                below_line = true;
                            }
                        }
                    }
                    Target::Discontinued(unit) | Target::Outside(unit) => {
                        if is_root {
                            add(0, w);
                            let special = if matches!(place, Target::Discontinued(_)) { FastLine::Discontinued(unit) } else { FastLine::Outside(unit) };
                            let next = lines.len() as u32;
                            let line = *line_of.entry(special).or_insert_with(|| {
                                lines.push(special);
                                next
                            });
                            add(line, w);
                        }
                    }
                }
            }
            out
        };
        let land = |unit: UnitIndex, date: NaiveDate, metric: &MetricId| -> Vec<(Target, f64)> {
            match query.view {
                View::Reported => vec![(Target::Unit(unit, date), 1.0)],
                View::Restated | View::Organic => {
                    let mut out = Vec::new();
                    engine.lineage_weights(unit, (date, usize::MAX), target, metric, &mut out, 1.0);
                    out
                }
            }
        };
        // A unit whose history never moves (no merge, split or end) and whose ownership never
        // changes, anywhere above it, lands the same way from every date when restating: its
        // weights are compiled once, not once per period.
        let static_units: Vec<bool> = if query.view == View::Reported {
            vec![false; dense_units.len()]
        } else {
            dense_units
                .iter()
                .map(|unit| {
                    let record = timeline.record(*unit);
                    let plain = |u: UnitIndex| {
                        let stakes = &timeline.record(u).stakes;
                        stakes.len() == 1 && stakes[0].1 == 1.0 && stakes[0].2 == crate::model::Consolidation::Full
                    };
                    record.events.is_empty() && plain(*unit) && record.parents.iter().all(|(_, p)| ancestors_ever(timeline, *p).into_iter().all(plain))
                })
                .collect()
        };
        if profile {
            eprintln!("  [profile] setup {:?}", clock.elapsed());
        }
        // The weight table: per group, unit and query period, a slot into a flat pool of
        // (line, weight) lists. Identical lists share a slot.
        let mut slots: Vec<Vec<u32>> = vec![vec![u32::MAX; dense_units.len() * n_periods]; group_metric.len()];
        let mut uniform: Vec<Vec<bool>> = vec![vec![false; dense_units.len()]; group_metric.len()];
        let mut pool_start: Vec<usize> = vec![0];
        let mut pool_line: Vec<u32> = Vec::new();
        let mut pool_weight: Vec<f64> = Vec::new();
        let mut push_entry = |entry: Vec<(u32, f64)>| -> u32 {
            for (line, w) in entry {
                pool_line.push(line);
                pool_weight.push(w);
            }
            pool_start.push(pool_line.len());
            (pool_start.len() - 2) as u32
        };
        let mut cache: HashMap<(usize, UnitIndex, u64, u64), u32> = HashMap::new();
        let mut static_slot: Vec<u32> = vec![u32::MAX; dense_units.len()];
        for (g, metric) in group_metric.iter().enumerate() {
            for (d, unit) in dense_units.iter().enumerate() {
                if excluded.contains(unit) {
                    continue;
                }
                if static_units[d] {
                    // The same for every metric group: compile once, share the slot.
                    let slot = if g > 0 && static_slot[d] != u32::MAX {
                        static_slot[d]
                    } else {
                        let entry = match chains.get(*unit as usize).filter(|_| timeline.record(*unit).alive_on(target)) {
                            Some(chain) => chain.iter().map(|l| (*l, 1.0)).collect(),
                            None => membership(&land(*unit, target.max(timeline.record(*unit).created), metric), 1.0, &mut lines, &mut line_of, reconstruct_top),
                        };
                        push_entry(entry)
                    };
                    static_slot[d] = slot;
                    slots[g][d * n_periods..(d + 1) * n_periods].fill(slot);
                    uniform[g][d] = true;
                    continue;
                }
                let mut previous: Option<((u64, u64), u32)> = None;
                for (j, period) in query.periods.iter().enumerate() {
                    let date = FactTable::fact_date(engine, *unit, *period, query.basis);
                    let (factor, _) = timeline.ownership_on(*unit, date);
                    // Restating, the landing depends on the date only through the next history
                    // event; as reported, on the structure of the date itself.
                    let moment = match query.view {
                        View::Reported => date.num_days_from_ce() as u64,
                        _ => engine.first_event_after(*unit, date) as u64,
                    };
                    if let Some((seen, slot)) = previous.filter(|(seen, _)| *seen == (moment, factor.to_bits())) {
                        let _ = seen;
                        slots[g][d * n_periods + j] = slot;
                        continue;
                    }
                    let key = (g, *unit, moment, factor.to_bits());
                    let slot = match cache.get(&key) {
                        Some(slot) => *slot,
                        None => {
                            let entry = membership(&land(*unit, date, metric), factor, &mut lines, &mut line_of, reconstruct_top);
                            let slot = push_entry(entry);
                            cache.insert(key, slot);
                            slot
                        }
                    };
                    slots[g][d * n_periods + j] = slot;
                    previous = Some(((moment, factor.to_bits()), slot));
                }
                let row = &slots[g][d * n_periods..(d + 1) * n_periods];
                uniform[g][d] = row.iter().all(|s| *s == row[0]);
            }
        }
        if profile {
            eprintln!("  [profile] weights {:?} ({} slots in the pool, {} static units of {})", clock.elapsed(), pool_start.len() - 1, static_units.iter().filter(|s| **s).count(), dense_units.len());
        }
        // Rates per currency and table period, for flows (average) and stocks (closing).
        let rates: Vec<Vec<(f64, f64)>> = table
            .currencies
            .iter()
            .enumerate()
            .map(|(c, currency)| {
                table
                    .periods
                    .iter()
                    .map(|p| if c == 0 { (1.0, 1.0) } else { (engine.rate_of(currency, *p, false).unwrap_or(f64::NAN), engine.rate_of(currency, *p, true).unwrap_or(f64::NAN)) })
                    .collect()
            })
            .collect();
        if profile {
            eprintln!("  [profile] rates {:?}", clock.elapsed());
        }
        let n_lines = lines.len();
        let n_metrics = metric_indexes.len();
        let n_table_periods = table.periods.len();
        let mut rate_table: Vec<f64> = vec![1.0; n_table_periods];
        for row in &rates {
            rate_table.extend(row.iter().map(|x| x.0));
            rate_table.extend(row.iter().map(|x| x.1));
        }
        let rate_row = |currency: u8, stock: bool| -> usize { if currency == 0 { 0 } else { (1 + 2 * currency as usize + usize::from(stock)) * n_table_periods } };
        let rate_gaps: Vec<bool> = rates.iter().map(|row| row.iter().any(|(a, c)| a.is_nan() || c.is_nan())).collect();
        // Runs of table periods asked as consecutive query periods: (first, last, query index of
        // the first).
        let mut runs: Vec<(usize, usize, usize)> = Vec::new();
        for (p, j) in query_of_period.iter().enumerate() {
            if *j == u32::MAX {
                continue;
            }
            match runs.last_mut() {
                Some(run) if run.1 + 1 == p && run.2 + (p - run.0) == *j as usize => run.1 = p,
                _ => runs.push((p, p, *j as usize)),
            }
        }
        let organic = !excluded.is_empty();
        let is_stock: Vec<bool> = model.metrics.iter().map(|m| m.aggregation == Aggregation::Stock).collect();
        // The pass as a list of ops, series by series in table order: each adds a run of rows
        // with consecutive periods and one landing into a run of cells of one (metric, line).
        let block = n_lines * n_periods;
        if n_metrics * block > u32::MAX as usize || rate_table.len() > u32::MAX as usize {
            return Err(ColumnarError::Unsupported("too many cells".into()));
        }
        let emit = |ops: &mut Vec<Op>, slot: u32, mi: usize, src: usize, len: usize, j: usize, rate: usize| {
            let slot = slot as usize;
            for k in pool_start[slot]..pool_start[slot + 1] {
                let dst = (mi * n_lines + pool_line[k] as usize) * n_periods + j;
                ops.push(Op { src, dst: dst as u32, len: len as u32, rate: rate as u32, w: pool_weight[k] });
            }
        };
        // The ops of a range of series, in table order, and whether a rate they need is missing.
        let build = |series: std::ops::Range<usize>| -> (Vec<Op>, bool) {
            let mut ops: Vec<Op> = Vec::with_capacity(series.len());
            let mut missing_rate = false;
            for s in series {
                let key = &table.series[s];
                if key.basis != query.basis {
                    continue;
                }
                let mi = metric_slot[key.metric as usize] as usize;
                if mi == u32::MAX as usize || (organic && excluded.contains(&key.unit)) {
                    continue;
                }
                let g = group_of[mi];
                let d = dense[key.unit as usize] as usize;
                let unit_slots = &slots[g][d * n_periods..(d + 1) * n_periods];
                let rate = rate_row(key.currency, is_stock[key.metric as usize]);
                let gaps = key.currency != 0 && rate_gaps[key.currency as usize];
                let rows = table.offsets[s]..table.offsets[s + 1];
                if rows.is_empty() {
                    continue;
                }
                let (first, count) = (rows.start, rows.len());
                let (p_first, p_last) = (table.period[first] as usize, table.period[rows.end - 1] as usize);
                if uniform[g][d] && p_last - p_first == count - 1 {
                    // One landing for every period and one row per period: one op per run of
                    // query periods (and per line).
                    for &(a, b, j0) in &runs {
                        let (lo, hi) = (a.max(p_first), b.min(p_last));
                        if lo > hi {
                            continue;
                        }
                        emit(&mut ops, unit_slots[0], mi, first + (lo - p_first), hi - lo + 1, j0 + (lo - a), rate + lo);
                        if gaps {
                            missing_rate |= rate_table[rate + lo..=rate + hi].iter().any(|r| r.is_nan());
                        }
                    }
                } else {
                    let mut r = first;
                    while r < rows.end {
                        let p = table.period[r] as usize;
                        let j = query_of_period[p];
                        if j == u32::MAX {
                            r += 1;
                            continue;
                        }
                        let slot = unit_slots[j as usize];
                        let mut e = r + 1;
                        while e < rows.end {
                            let q = table.period[e] as usize;
                            if q != p + (e - r) || query_of_period[q] != j + (e - r) as u32 || unit_slots[query_of_period[q] as usize] != slot {
                                break;
                            }
                            e += 1;
                        }
                        emit(&mut ops, slot, mi, r, e - r, j as usize, rate + p);
                        if gaps {
                            missing_rate |= rate_table[rate + p..rate + p + (e - r)].iter().any(|r| r.is_nan());
                        }
                        r = e;
                    }
                }
            }
            (ops, missing_rate)
        };
        // The pass is cut into a fixed number of chunks of consecutive series (whatever the
        // number of threads), balanced by rows and each read straight through, like the
        // floor's chunks; each chunk adds into cells of its own, and the chunks' cells are added
        // up in chunk order: results are bit-identical on any number of threads.
        let total_rows = table.len().max(1);
        let mut bounds = vec![0usize];
        for k in 1..PASS_CHUNKS {
            let row = total_rows * k / PASS_CHUNKS;
            bounds.push(table.offsets.partition_point(|o| *o < row).min(table.series.len()).max(*bounds.last().expect("non-empty")));
        }
        bounds.push(table.series.len());
        let built: Vec<(Vec<Op>, bool)> = {
            use rayon::prelude::*;
            bounds.windows(2).map(|w| w[0]..w[1]).collect::<Vec<_>>().into_par_iter().map(build).collect()
        };
        if profile {
            eprintln!("  [profile] ops {:?}", clock.elapsed());
        }
        if built.iter().any(|(_, missing)| *missing) {
            return Err(ColumnarError::Unsupported("an FX rate is missing".into()));
        }
        let ops: Vec<Vec<Op>> = built.into_iter().map(|(ops, _)| ops).collect();
        // Recorded totals: take off what the units below them recorded.
        let mut adjust = Vec::new();
        for (index, adjustment) in table.adjustments.iter().enumerate() {
            if adjustment.basis != query.basis || excluded.contains(&adjustment.above) {
                continue;
            }
            let Some(mi) = metric_indexes.iter().position(|m| *m == adjustment.metric) else { continue };
            let j = query_of_period[adjustment.period as usize];
            if j == u32::MAX {
                continue;
            }
            let stock = model.metrics[adjustment.metric as usize].aggregation == Aggregation::Stock;
            let rate = if stock { rates[adjustment.currency as usize][adjustment.period as usize].1 } else { rates[adjustment.currency as usize][adjustment.period as usize].0 };
            let landings = land(adjustment.above, adjustment.date, &group_metric[group_of[mi]]);
            let (factor, _) = timeline.ownership_on(adjustment.above, adjustment.date);
            for (line, w) in membership(&landings, factor, &mut lines, &mut line_of, reconstruct_top) {
                if line as usize >= n_lines {
                    return Err(ColumnarError::Unsupported("a recorded total lands on a line of its own".into()));
                }
                adjust.push(((mi * n_lines + line as usize) * n_periods + j as usize, index, rate, w));
            }
        }
        // Intercompany: eliminated where both sides land in a line.
        let mut intercompany = Vec::new();
        for (s, key) in table.series.iter().enumerate() {
            let Some(other) = key.counterparty else { continue };
            if key.basis != query.basis || excluded.contains(&key.unit) {
                continue;
            }
            let Some(mi) = metric_indexes.iter().position(|m| *m == key.metric) else { continue };
            let metric = &group_metric[group_of[mi]];
            let stock = model.metrics[key.metric as usize].aggregation == Aggregation::Stock;
            for r in table.offsets[s]..table.offsets[s + 1] {
                let p = table.period[r] as usize;
                let j = query_of_period[p];
                if j == u32::MAX {
                    continue;
                }
                let period = table.periods[p];
                let date = FactTable::fact_date(engine, key.unit, period, key.basis);
                let (factor, _) = timeline.ownership_on(key.unit, date);
                let rate = if stock { rates[key.currency as usize][p].1 } else { rates[key.currency as usize][p].0 };
                let side = membership(&land(key.unit, date, metric), 1.0, &mut lines, &mut line_of, false);
                let other_date = timeline.record(other).last_day_until(period.last_day());
                let far = membership(&land(other, other_date, metric), 1.0, &mut lines, &mut line_of, false);
                for (line, w) in &side {
                    if *line as usize >= n_lines || !matches!(lines[*line as usize], FastLine::Node(_)) {
                        continue;
                    }
                    if let Some((_, w2)) = far.iter().find(|(l, _)| l == line) {
                        intercompany.push(((mi * n_lines + *line as usize) * n_periods + j as usize, r, rate, factor, *w, *w2));
                    }
                }
            }
        }
        if profile {
            eprintln!("  [profile] plan {:?} ({} ops)", clock.elapsed(), ops.iter().map(Vec::len).sum::<usize>());
        }
        Ok(FastPlan {
            table,
            metrics: query.metrics.clone(),
            periods: query.periods.clone(),
            lines: lines[..n_lines].to_vec(),
            ops,
            rates: rate_table,
            adjust,
            first_level,
            reconstruct_top,
            intercompany,
        })
    }

    /// The lines the answer will have.
    pub fn lines(&self) -> &[FastLine] {
        &self.lines
    }

    /// Makes the pass over the fact values and returns the answer.
    pub fn run(&self) -> FastRollup {
        use rayon::prelude::*;
        let n_lines = self.lines.len();
        let n_periods = self.periods.len();
        let block = n_lines * n_periods;
        let n_metrics = self.metrics.len();
        let cells = n_metrics * block;
        // The first chunk adds into the answer's cells, the others into cells of their own.
        let mut sums = vec![0.0f64; cells];
        let mut landed = vec![false; cells];
        let mut others: Vec<(Vec<f64>, Vec<bool>)> = (1..self.ops.len()).map(|_| (vec![0.0f64; cells], vec![false; cells])).collect();
        {
            let mut parts: Vec<(&[Op], &mut [f64], &mut [bool])> = vec![(&self.ops[0], &mut sums[..], &mut landed[..])];
            for (k, (s, l)) in others.iter_mut().enumerate() {
                parts.push((&self.ops[k + 1], &mut s[..], &mut l[..]));
            }
            parts.into_par_iter().for_each(|(ops, s, l)| self.pass(ops, s, l));
        }
        // Then, metric by metric (in parallel over whole metrics): the other chunks' cells in
        // chunk order, recorded totals, the top node and intercompany eliminations.
        let pieces = PASS_CHUNKS.min(n_metrics).max(1);
        let bounds: Vec<usize> = (0..=pieces).map(|k| n_metrics * k / pieces * block).collect();
        {
            let mut parts = Vec::with_capacity(pieces);
            let (mut rest_sums, mut rest_landed) = (&mut sums[..], &mut landed[..]);
            for w in bounds.windows(2) {
                let (s, more_sums) = std::mem::take(&mut rest_sums).split_at_mut(w[1] - w[0]);
                let (l, more_landed) = std::mem::take(&mut rest_landed).split_at_mut(w[1] - w[0]);
                rest_sums = more_sums;
                rest_landed = more_landed;
                parts.push((w[0], s, l));
            }
            let others = &others;
            parts.into_par_iter().for_each(|(base, s, l)| {
                let n = s.len();
                for (other_sums, other_landed) in others {
                    for (a, b) in s.iter_mut().zip(&other_sums[base..base + n]) {
                        *a += b;
                    }
                    for (a, b) in l.iter_mut().zip(&other_landed[base..base + n]) {
                        *a |= b;
                    }
                }
                self.finish(base, s, l);
            });
        }
        FastRollup { metrics: self.metrics.clone(), lines: self.lines.clone(), periods: self.periods.clone(), sums, landed }
    }

    /// One chunk of the pass.
    #[inline(never)]
    fn pass(&self, ops: &[Op], acc: &mut [f64], touched: &mut [bool]) {
        let values = &self.table.value;
        for op in ops {
            let len = op.len as usize;
            let dst = op.dst as usize;
            let target = &mut acc[dst..dst + len];
            let from = &values[op.src..op.src + len];
            let w = op.w;
            if op.rate == 0 && w == 1.0 {
                // Reporting currency, whole landing: add the values as they are (the same
                // bits as multiplying by one).
                for (a, v) in target.iter_mut().zip(from) {
                    *a += v;
                }
            } else if op.rate == 0 {
                for (a, v) in target.iter_mut().zip(from) {
                    *a += v * w;
                }
            } else {
                let rates = &self.rates[op.rate as usize..op.rate as usize + len];
                for ((a, v), r) in target.iter_mut().zip(from).zip(rates) {
                    *a += v * r * w;
                }
            }
            touched[dst..dst + len].fill(true);
        }
    }

    /// For the cells from `base` (whole metrics): recorded totals, the top node and
    /// intercompany eliminations, in that order.
    fn finish(&self, base: usize, acc: &mut [f64], touched: &mut [bool]) {
        let values = &self.table.value;
        let cells = base..base + acc.len();
        for &(cell, index, rate, w) in &self.adjust {
            if cells.contains(&cell) {
                acc[cell - base] -= self.table.adjustments[index].value * rate * w;
                touched[cell - base] = true;
            }
        }
        let (n_lines, n_periods) = (self.lines.len(), self.periods.len());
        if self.reconstruct_top && n_lines * n_periods > 0 {
            for m in 0..acc.len() / (n_lines * n_periods) {
                let to = m * n_lines * n_periods;
                for &line in &self.first_level {
                    let from = (m * n_lines + line as usize) * n_periods;
                    for j in 0..n_periods {
                        if touched[from + j] {
                            acc[to + j] += acc[from + j];
                            touched[to + j] = true;
                        }
                    }
                }
            }
        }
        for &(cell, row, rate, factor, w, w2) in &self.intercompany {
            if cells.contains(&cell) {
                let amount = values[row] * rate * factor;
                acc[cell - base] -= amount * w * w2;
            }
        }
    }
}

/// The lineage a fast query compiles, as plain tables (for comparisons with other engines):
/// per metric group, unit and query period, the targets its facts land on with their
/// weights (ownership included); and the line each target counts in.
#[derive(Debug, Clone, Default)]
pub struct LineageTables {
    /// (group, unit, period index, target id, weight).
    pub lineage: Vec<(u8, UnitIndex, u32, u32, f64)>,
    /// (target id, line index) for the lines below the top node.
    pub node_of: Vec<(u32, u32)>,
    /// Metric index in the model to group.
    pub metric_group: Vec<(u16, u8)>,
}

/// Exports the lineage a [`FastQuery`] uses, with targets numbered: a unit's index for a
/// unit, units + index for a discontinued unit, 2 * units + index for one not yet created.
pub fn lineage_tables(engine: &Engine, table: &FactTable, query: &FastQuery, lines: &[FastLine]) -> LineageTables {
    let model = engine.model();
    let timeline = engine.timeline();
    let target = query.structure.unwrap_or_else(|| engine.latest_structure_date());
    let units = timeline.units.len() as u32;
    let split_metrics = metrics_with_own_shares(model);
    let mut groups: Vec<MetricId> = vec![query.metrics.iter().find(|m| !split_metrics.contains(m)).cloned().unwrap_or_else(|| query.metrics[0].clone())];
    let mut out = LineageTables::default();
    for id in &query.metrics {
        let index = model.metrics.iter().position(|m| &m.id == id).expect("known metric") as u16;
        let group = if split_metrics.contains(id) {
            groups.push(id.clone());
            groups.len() - 1
        } else {
            0
        };
        out.metric_group.push((index, group as u8));
    }
    let mut seen_units: Vec<UnitIndex> = table.series.iter().filter(|k| k.basis == query.basis).map(|k| k.unit).collect();
    seen_units.sort_unstable();
    seen_units.dedup();
    let mut targets = std::collections::BTreeSet::new();
    for (g, metric) in groups.iter().enumerate() {
        for unit in &seen_units {
            for (j, period) in query.periods.iter().enumerate() {
                let date = FactTable::fact_date(engine, *unit, *period, query.basis);
                let (factor, _) = timeline.ownership_on(*unit, date);
                for landing in engine.land(*unit, date, query.view, target, metric) {
                    let id = match landing.target {
                        Target::Unit(u, _) => u,
                        Target::Discontinued(u) => units + u,
                        Target::Outside(u) => 2 * units + u,
                    };
                    targets.insert(id);
                    out.lineage.push((g as u8, *unit, j as u32, id, landing.weight * factor));
                }
            }
        }
    }
    let structure = engine.structure(target);
    for id in targets {
        let line = if id < units {
            structure.ancestors(id).into_iter().find_map(|a| lines.iter().position(|l| *l == FastLine::Node(a) && a != timeline.root))
        } else if id < 2 * units {
            lines.iter().position(|l| *l == FastLine::Discontinued(id - units))
        } else {
            lines.iter().position(|l| *l == FastLine::Outside(id - 2 * units))
        };
        if let Some(line) = line {
            out.node_of.push((id, line as u32));
        }
    }
    out
}

/// Answers an engine [`crate::rollup::Query`] from a fact table when the fast path covers it
/// (additive metrics or ratios of them, periods recorded as such): the same node values as
/// [`Engine::rollup`], without the lines that split a node into its own remainder and the
/// eliminations between its children (those are folded into the node).
pub fn rollup_from_table(engine: &Engine, table: &FactTable, query: &crate::rollup::Query) -> Result<crate::rollup::Rollup, ColumnarError> {
    use crate::model::Measure;
    use crate::rollup::{BasisFilter, RollupRow, RowKind};
    let model = engine.model();
    let definition = model.metric(&query.metric).ok_or_else(|| ColumnarError::Unsupported(format!("unknown metric {}", query.metric)))?;
    let (metrics, ratio) = match &definition.aggregation {
        Aggregation::Flow | Aggregation::Stock => (vec![query.metric.clone()], false),
        Aggregation::Ratio { numerator, denominator } => (vec![numerator.clone(), denominator.clone()], true),
        Aggregation::NonAdditive => return Err(ColumnarError::Unsupported("not additive".into())),
    };
    let basis = match query.basis {
        BasisFilter::Reported => Basis::Reported,
        BasisFilter::Plan => Basis::Plan,
        BasisFilter::Estimate => Basis::Estimate,
        BasisFilter::Restated(structure) => Basis::Restated { structure },
    };
    let fast = fast_rollup(
        engine,
        table,
        &FastQuery { metrics, periods: query.periods.clone(), view: query.view, structure: query.structure, node: query.node.clone(), depth: query.depth, basis },
    )?;
    let timeline = engine.timeline();
    let calendar = model.group.calendar();
    let target = query.structure.unwrap_or_else(|| engine.latest_structure_date());
    let display_date = match query.view {
        View::Reported => query.periods.iter().max().map(|p| p.last_day()).unwrap_or(target),
        _ => target,
    };
    let display = engine.structure(display_date);
    let top = match &query.node {
        Some(id) => timeline.unit(id).ok_or_else(|| ColumnarError::Unsupported(format!("unknown unit {id}")))?,
        None => timeline.root,
    };
    let stock = definition.aggregation == Aggregation::Stock;
    let mut rates = Vec::new();
    for period in &query.periods {
        rates.push(engine.output_rate(query, *period, definition.measure, stock).map_err(|e| ColumnarError::Unsupported(e.to_string()))?);
    }
    let mut rows = Vec::new();
    for (line_index, line) in fast.lines.iter().enumerate() {
        let (unit, kind, depth) = match line {
            FastLine::Node(u) => (*u, RowKind::Node, display.depth[*u as usize].saturating_sub(display.depth[top as usize])),
            FastLine::Discontinued(u) => (*u, RowKind::Discontinued, 1),
            FastLine::Outside(u) => (*u, RowKind::OutsideStructure, 1),
        };
        let record = timeline.record(unit);
        let name = match kind {
            RowKind::Node => record.name_on(display_date).to_string(),
            RowKind::Discontinued => format!("discontinued: {}", record.last_name()),
            _ => format!("not in the {target} structure: {}", record.last_name()),
        };
        for (j, period) in query.periods.iter().enumerate() {
            let value = if ratio {
                match (fast.get(0, line_index, j), fast.get(1, line_index, j)) {
                    (Some(n), Some(d)) if d != 0.0 => Some(n / d),
                    _ => None,
                }
            } else {
                fast.get(0, line_index, j).map(|v| v / rates[j])
            };
            let value = if kind == RowKind::Node { value } else { value.or(Some(0.0)) };
            rows.push(RollupRow {
                node: record.id.to_string(),
                name: name.clone(),
                depth,
                kind: kind.clone(),
                period: period.label(calendar),
                metric: query.metric.to_string(),
                value,
                minority: 0.0,
                eliminated: 0.0,
                gap: None,
            });
        }
    }
    let excluded = if query.view == View::Organic { engine.organic_exclusions(&query.periods, target) } else { Vec::new() };
    Ok(crate::rollup::Rollup {
        metric: query.metric.to_string(),
        view: query.view,
        structure: display_date,
        currency: (definition.measure == Measure::Currency).then(|| query.currency.clone().unwrap_or_else(|| model.group.currency.clone()).to_string()),
        periods: query.periods.iter().map(|p| p.label(calendar)).collect(),
        rows,
        excluded: excluded.iter().map(|u| timeline.record(*u).id.to_string()).collect(),
    })
}
