//! Facts as columns, and the one-pass roll-up over them for large groups.
//!
//! A [`FactTable`] keeps facts grouped by *series* (unit, metric, currency, counterparty,
//! basis) with two narrow columns per row: the period (an index into a dictionary) and
//! the value, ten bytes a fact. The decomposition of recorded totals (a fact minus the
//! facts recorded below it) depends only on the data, so it is done once when the table is
//! built. A query is compiled into a [`FastPlan`]: a weight table per (unit, period) —
//! lineage times ownership, already summed into the lines asked for, one entry shared by
//! every unit that lands the same way. Running the plan is a single pass over the values
//! that resolves each series, as it reads it, into runs of rows added into runs of answer
//! cells; a caller asking the same question again can repeat it without compiling anything. Results equal [`crate::rollup::Engine`]'s (a property test holds them
//! to it); queries the fast path does not cover say so and the caller uses the engine.

use crate::ids::{Currency, MetricId, UnitId};
use crate::model::{Aggregation, Basis, ChangeKind, Model};
use crate::period::{Granularity, Period};
use crate::rollup::{Engine, Target, View};
use crate::timeline::UnitIndex;
use chrono::{Datelike, NaiveDate};
use std::collections::HashMap;

/// The `tracing` target of the timings of each phase (the CLI prints them as `[profile]`
/// lines when HOLDCO_PROFILE is set).
pub const PROFILE: &str = "holdco::profile";

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
#[derive(Debug, Clone, PartialEq)]
struct Adjustment {
    above: UnitIndex,
    date: NaiveDate,
    metric: u16,
    period: u16,
    currency: u8,
    basis: Basis,
    value: f64,
    /// The row whose figure this is (`value` is that figure, negated when `given_back`),
    /// so a revised figure can be carried into its adjustments ([`FactTable::revised`]).
    row: usize,
    given_back: bool,
}

/// Facts in columns.
#[derive(Debug, Clone, Default, PartialEq)]
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
    /// Per series: the period of its first row and of its last.
    spans: Vec<(u16, u16)>,
}

/// The columns of a [`FactTable`] already in its order, for
/// [`FactTable::from_sorted_parts`]: the fields of the table of the same names.
#[derive(Debug, Clone, Default)]
pub struct SortedParts {
    /// Series, strictly ascending.
    pub series: Vec<SeriesKey>,
    /// Rows of series `s` are `offsets[s]..offsets[s + 1]`.
    pub offsets: Vec<usize>,
    /// Period of each row (index into `periods`), strictly ascending within a series.
    pub period: Vec<u16>,
    /// Value of each row.
    pub value: Vec<f64>,
    /// Period dictionary, strictly ascending.
    pub periods: Vec<Period>,
    /// Currency dictionary: the reporting currency, then the others by code.
    pub currencies: Vec<Currency>,
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
        FactTableBuilder {
            rows: Vec::new(),
            series: HashMap::new(),
            series_list: Vec::new(),
            periods: HashMap::new(),
            period_list: Vec::new(),
            currencies: vec![currency],
        }
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
    pub fn push(
        &mut self,
        key: SeriesKey,
        period: Period,
        value: f64,
    ) -> Result<(), ColumnarError> {
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
        let FactTableBuilder {
            mut rows,
            mut series_list,
            period_list,
            mut currencies,
            ..
        } = self;
        // Foreign currencies in code order after the reporting one (index 0), so the table
        // does not depend on the order facts came in either (a table built from columns
        // equals one built from the same facts).
        if currencies.len() > 2 {
            let mut order: Vec<usize> = (1..currencies.len()).collect();
            order.sort_by(|a, b| currencies[*a].as_str().cmp(currencies[*b].as_str()));
            let mut rank = vec![0u8; currencies.len()];
            for (r, c) in order.iter().enumerate() {
                rank[*c] = (r + 1) as u8;
            }
            for key in series_list.iter_mut() {
                key.currency = rank[key.currency as usize];
            }
            let mut sorted = vec![currencies[0].clone()];
            sorted.extend(order.iter().map(|c| currencies[*c].clone()));
            currencies = sorted;
        }
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
        rows.sort_unstable_by_key(|row| (row.0, row.1));
        let series: Vec<SeriesKey> = series_order
            .iter()
            .map(|s| series_list[*s as usize])
            .collect();
        let periods: Vec<Period> = period_order
            .iter()
            .map(|p| period_list[*p as usize])
            .collect();
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
        let spans = offsets
            .windows(2)
            .map(|w| {
                if w[0] < w[1] {
                    (period[w[0]], period[w[1] - 1])
                } else {
                    (0, 0)
                }
            })
            .collect();
        let mut table = FactTable {
            series,
            offsets,
            period,
            value,
            periods,
            currencies,
            adjustments: Vec::new(),
            spans,
        };
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
        self.period.len() * 2
            + self.value.len() * 8
            + self.offsets.len() * 8
            + self.series.len() * std::mem::size_of::<SeriesKey>()
    }

    /// Builds a table from columns already in the table's order (a store's columnar image,
    /// read without a row-by-row push): `series` strictly ascending, `offsets` one more than
    /// `series` (from 0 to `value.len()`, never decreasing), the periods of each series
    /// strictly ascending, `periods` strictly ascending, `currencies[0]` the reporting
    /// currency and the others in ascending code order. Dictionary entries no row uses are
    /// dropped, so the table equals what [`FactTableBuilder`] makes of the same facts; input
    /// out of order is refused with [`ColumnarError::Unsupported`] (the caller then builds
    /// the table row by row).
    pub fn from_sorted_parts(
        parts: SortedParts,
        engine: &Engine,
    ) -> Result<FactTable, ColumnarError> {
        let SortedParts {
            series,
            offsets,
            mut period,
            value,
            mut periods,
            mut currencies,
        } = parts;
        let refuse = |what: &str| Err(ColumnarError::Unsupported(format!("columns {what}")));
        if offsets.len() != series.len() + 1
            || offsets.first() != Some(&0)
            || offsets.last() != Some(&value.len())
            || period.len() != value.len()
            || offsets.windows(2).any(|w| w[0] > w[1])
        {
            return refuse("of unequal lengths");
        }
        if series.windows(2).any(|w| w[0] >= w[1]) || periods.windows(2).any(|w| w[0] >= w[1]) {
            return refuse("out of order");
        }
        if currencies.is_empty()
            || currencies[0] != engine.model().group.currency
            || currencies[1..]
                .windows(2)
                .any(|w| w[0].as_str() >= w[1].as_str())
            || series
                .iter()
                .any(|s| s.currency as usize >= currencies.len())
        {
            return refuse("with another currency dictionary");
        }
        let mut used = vec![false; periods.len()];
        for (s, w) in offsets.windows(2).enumerate() {
            let rows = &period[w[0]..w[1]];
            if rows.windows(2).any(|p| p[0] >= p[1])
                || rows.last().is_some_and(|p| *p as usize >= periods.len())
            {
                return match rows.windows(2).find(|p| p[0] == p[1]) {
                    Some(p) if (p[0] as usize) < periods.len() => {
                        let key = &series[s];
                        Err(ColumnarError::Duplicate(format!(
                            "{} {} metric #{} twice",
                            engine.timeline().record(key.unit).id,
                            periods[p[0] as usize].label(engine.model().group.calendar()),
                            key.metric
                        )))
                    }
                    _ => refuse("with periods out of order"),
                };
            }
            for p in rows {
                used[*p as usize] = true;
            }
        }
        // Dictionaries hold only what rows use, as the builder's do.
        if used.iter().any(|u| !u) {
            let mut rank = vec![0u16; periods.len()];
            let mut next = 0u16;
            for (p, u) in used.iter().enumerate() {
                rank[p] = next;
                next += u16::from(*u);
            }
            for p in period.iter_mut() {
                *p = rank[*p as usize];
            }
            let mut kept = used.iter();
            periods.retain(|_| *kept.next().unwrap_or(&false));
        }
        // A series without rows is not one the builder would make.
        if offsets.windows(2).any(|w| w[0] == w[1]) {
            return refuse("with an empty series");
        }
        let mut series = series;
        let mut in_use = vec![false; currencies.len()];
        in_use[0] = true;
        for key in &series {
            in_use[key.currency as usize] = true;
        }
        if in_use.iter().any(|u| !u) {
            let mut rank = vec![0u8; currencies.len()];
            let mut next = 0u8;
            for (c, u) in in_use.iter().enumerate() {
                rank[c] = next;
                next += u8::from(*u);
            }
            for key in series.iter_mut() {
                key.currency = rank[key.currency as usize];
            }
            let mut kept = in_use.iter();
            currencies.retain(|_| *kept.next().unwrap_or(&false));
        }
        let spans = offsets
            .windows(2)
            .map(|w| (period[w[0]], period[w[1] - 1]))
            .collect();
        let mut table = FactTable {
            series,
            offsets,
            period,
            value,
            periods,
            currencies,
            adjustments: Vec::new(),
            spans,
        };
        table.adjustments = table.decompose(engine);
        Ok(table)
    }

    /// Builds a table from facts read as columns (a model folder read by
    /// [`crate::format::fact_columns`]; `model` is the model without facts): the table
    /// [`FactTable::from_model`] builds from the same facts, without a [`crate::Fact`] per row.
    pub fn from_columns(
        model: &Model,
        columns: &crate::format::fact_columns::FactColumns,
        engine: &Engine,
    ) -> Result<FactTable, ColumnarError> {
        use crate::format::fact_columns::NONE;
        let keys = column_series_keys(model, columns, engine)?;
        if let Some(table) = Self::from_columns_sorted(model, columns, &keys, engine)? {
            return Ok(table);
        }
        let mut builder = FactTableBuilder::new(model.group.currency.clone());
        builder.reserve(columns.len());
        let currencies: Vec<u8> = columns
            .currencies
            .iter()
            .map(|c| builder.currency(Some(c).filter(|c| **c != model.group.currency)))
            .collect();
        for (index, (series, key)) in columns.series.iter().zip(&keys).enumerate() {
            for row in columns.rows(index) {
                let currency = match columns.currency[row] {
                    NONE => 0,
                    c => currencies[c as usize],
                };
                builder.push(
                    SeriesKey { currency, ..*key },
                    Period::new(columns.starts[row], series.granularity),
                    columns.values[row],
                )?;
            }
        }
        builder.finish(engine)
    }

    /// The table of `model`'s facts when `model` differs from the model this table was built
    /// from only by the figures of existing facts: `revised` lists each such fact before and
    /// after. `engine` is the engine over `model`, whose timeline must replay as the one the
    /// table was built with (same units at the same indices: the timeline, group and metrics
    /// unchanged). The figures are put in their rows and carried into the recorded-total
    /// adjustments made from them; nothing else depends on a figure (which series and periods
    /// have rows, and so the adjustments' places, stay as they are), so the table equals the
    /// one [`FactTable::from_model`] builds (semantics C17; a property test holds it). `None`
    /// when a fact is not a row of the table with the same series (a new or removed key, a
    /// currency changed): the caller builds the table again. Costs a copy of the columns and
    /// a search per revised fact.
    pub fn revised(
        &self,
        model: &Model,
        engine: &Engine,
        revised: &[(&crate::model::Fact, &crate::model::Fact)],
    ) -> Option<FactTable> {
        let mut rows = Vec::with_capacity(revised.len());
        for (before, after) in revised {
            let row = self.row_of(model, engine, before)?;
            if before.key != after.key || self.row_of(model, engine, after)? != row {
                return None;
            }
            rows.push((row, after.value));
        }
        let mut table = self.clone();
        for (row, value) in &rows {
            table.value[*row] = *value;
        }
        if !table.adjustments.is_empty() && !rows.is_empty() {
            let new: HashMap<usize, f64> = rows.into_iter().collect();
            for adjustment in table.adjustments.iter_mut() {
                if let Some(value) = new.get(&adjustment.row) {
                    adjustment.value = if adjustment.given_back {
                        -*value
                    } else {
                        *value
                    };
                }
            }
        }
        Some(table)
    }

    /// The row holding `fact` (same series, currency included, and period), if any.
    fn row_of(&self, model: &Model, engine: &Engine, fact: &crate::model::Fact) -> Option<usize> {
        let timeline = engine.timeline();
        let metric = model.metrics.iter().position(|m| m.id == fact.key.metric)? as u16;
        let unit = timeline.unit(&fact.key.unit)?;
        let counterparty = match &fact.key.counterparty {
            Some(c) => Some(timeline.unit(c)?),
            None => None,
        };
        let currency = match fact
            .currency
            .as_ref()
            .filter(|c| **c != model.group.currency)
        {
            None => 0,
            Some(c) => self.currencies.iter().skip(1).position(|x| x == c)? as u8 + 1,
        };
        let key = SeriesKey {
            unit,
            metric,
            currency,
            counterparty,
            basis: fact.key.basis,
        };
        let series = self.series.binary_search(&key).ok()?;
        let period = self.periods.binary_search(&fact.key.period).ok()? as u16;
        let rows = self.offsets[series]..self.offsets[series + 1];
        let at = self.period[rows.clone()].binary_search(&period).ok()?;
        Some(rows.start + at)
    }

    /// [`FactTable::from_columns`] without a row-by-row push, when every row is in the
    /// reporting currency and no two column series make one table series: the series are
    /// sorted by key and their rows, already in period order, copied in that order into
    /// [`FactTable::from_sorted_parts`] (issue 16 item 6: a million series each took a hash
    /// entry and the rows a sort). `None` otherwise, and for anything `from_sorted_parts`
    /// refuses: the builder then gives the answer or the error.
    fn from_columns_sorted(
        model: &Model,
        columns: &crate::format::fact_columns::FactColumns,
        keys: &[SeriesKey],
        engine: &Engine,
    ) -> Result<Option<FactTable>, ColumnarError> {
        use crate::format::fact_columns::NONE;
        let group = &model.group.currency;
        let reporting: Vec<bool> = columns.currencies.iter().map(|c| c == group).collect();
        if !columns
            .currency
            .iter()
            .all(|c| *c == NONE || reporting[*c as usize])
        {
            return Ok(None);
        }
        let mut keyed: Vec<(SeriesKey, u32)> = keys
            .iter()
            .enumerate()
            .filter(|(index, _)| !columns.rows(*index).is_empty())
            .map(|(index, key)| (*key, index as u32))
            .collect();
        keyed.sort_unstable_by_key(|(key, _)| *key);
        if keyed.windows(2).any(|w| w[0].0 == w[1].0) {
            return Ok(None);
        }
        // The period dictionary: each distinct period once, in order.
        let mut index_of: rustc_hash::FxHashMap<Period, u16> = rustc_hash::FxHashMap::default();
        for (series, s) in columns.series.iter().enumerate() {
            for start in &columns.starts[columns.rows(series)] {
                index_of
                    .entry(Period::new(*start, s.granularity))
                    .or_insert(0);
            }
        }
        if index_of.len() > u16::MAX as usize {
            return Ok(None);
        }
        let mut periods: Vec<Period> = index_of.keys().copied().collect();
        periods.sort_unstable();
        for (i, p) in periods.iter().enumerate() {
            index_of.insert(*p, i as u16);
        }
        let mut offsets = Vec::with_capacity(keyed.len() + 1);
        let mut period = Vec::with_capacity(columns.len());
        let mut value = Vec::with_capacity(columns.len());
        offsets.push(0);
        for (_, index) in &keyed {
            let rows = columns.rows(*index as usize);
            let granularity = columns.series[*index as usize].granularity;
            period.extend(
                columns.starts[rows.clone()]
                    .iter()
                    .map(|start| index_of[&Period::new(*start, granularity)]),
            );
            value.extend_from_slice(&columns.values[rows]);
            offsets.push(value.len());
        }
        let parts = SortedParts {
            series: keyed.into_iter().map(|(key, _)| key).collect(),
            offsets,
            period,
            value,
            periods,
            currencies: vec![group.clone()],
        };
        match FactTable::from_sorted_parts(parts, engine) {
            Ok(table) => Ok(Some(table)),
            Err(ColumnarError::Unsupported(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Builds a table from a model's facts.
    pub fn from_model(model: &Model, engine: &Engine) -> Result<FactTable, ColumnarError> {
        let mut builder = FactTableBuilder::new(model.group.currency.clone());
        builder.reserve(model.facts.len());
        let timeline = engine.timeline();
        for fact in &model.facts {
            let metric = model
                .metrics
                .iter()
                .position(|m| m.id == fact.key.metric)
                .ok_or_else(|| {
                    ColumnarError::Unsupported(format!("unknown metric {}", fact.key.metric))
                })? as u16;
            let unit = timeline.unit(&fact.key.unit).ok_or_else(|| {
                ColumnarError::Unsupported(format!("unknown unit {}", fact.key.unit))
            })?;
            let counterparty = match &fact.key.counterparty {
                Some(c) => Some(
                    timeline
                        .unit(c)
                        .ok_or_else(|| ColumnarError::Unsupported(format!("unknown unit {c}")))?,
                ),
                None => None,
            };
            let currency = builder.currency(
                fact.currency
                    .as_ref()
                    .filter(|c| **c != model.group.currency),
            );
            builder.push(
                SeriesKey {
                    unit,
                    metric,
                    currency,
                    counterparty,
                    basis: fact.key.basis,
                },
                fact.key.period,
                fact.value,
            )?;
        }
        builder.finish(engine)
    }

    fn fact_date(engine: &Engine, unit: UnitIndex, period: Period, basis: Basis) -> NaiveDate {
        match basis {
            Basis::Restated { structure } => structure,
            _ => engine
                .timeline()
                .record(unit)
                .last_day_until(period.last_day()),
        }
    }

    /// For every row whose unit has a recorded unit above it (same metric, basis and
    /// period, in the structure it was published in), the value to take off that unit.
    ///
    /// Only a series some unit ever above its unit (through any parent over time) has rows
    /// beside, within the series' own first and last periods, can have one: every other
    /// series is skipped whole (a unit recorded while a leaf and later given children, the
    /// usual case, never meets its children's figures in one period). The rows of the
    /// others are looked at one by one against the structure of their date (each structure
    /// fetched once per date).
    fn decompose(&self, engine: &Engine) -> Vec<Adjustment> {
        let timeline = engine.timeline();
        let units = timeline.units.len();
        // Per (metric, basis): each unit's first and last period with a row.
        let mut groups: HashMap<(u16, Basis), usize> = HashMap::new();
        let mut own: Vec<Vec<(u16, u16)>> = Vec::new();
        let mut group_of = Vec::with_capacity(self.series.len());
        for (s, key) in self.series.iter().enumerate() {
            let g = *groups.entry((key.metric, key.basis)).or_insert_with(|| {
                own.push(vec![EMPTY_SPAN; units]);
                own.len() - 1
            });
            group_of.push(g);
            if self.offsets[s] < self.offsets[s + 1] {
                let span = &mut own[g][key.unit as usize];
                *span = join_spans(*span, self.spans[s]);
            }
        }
        // Per group: the periods of the units ever above each unit (joined into one span).
        let above: Vec<Vec<(u16, u16)>> =
            own.iter().map(|own| spans_above(timeline, own)).collect();
        let candidates: Vec<usize> = (0..self.series.len())
            .filter(|s| {
                let key = &self.series[*s];
                let (first, last) = self.spans[*s];
                let (a, b) = above[group_of[*s]][key.unit as usize];
                self.offsets[*s] < self.offsets[*s + 1] && a <= last && first <= b
            })
            .collect();
        if candidates.is_empty() {
            return Vec::new();
        }
        // Which units of each group have a row in each period (only groups with candidates).
        let words = units.div_ceil(64);
        let mut present: Vec<Vec<Vec<u64>>> = vec![Vec::new(); own.len()];
        for s in &candidates {
            let g = group_of[*s];
            if present[g].is_empty() {
                present[g] = vec![vec![0u64; words]; self.periods.len()];
            }
        }
        for (s, key) in self.series.iter().enumerate() {
            let bits = &mut present[group_of[s]];
            if bits.is_empty() {
                continue;
            }
            for r in self.offsets[s]..self.offsets[s + 1] {
                let p = self.period[r] as usize;
                bits[p][key.unit as usize / 64] |= 1 << (key.unit % 64);
            }
        }
        let mut structures: HashMap<NaiveDate, std::sync::Arc<crate::timeline::Structure>> =
            HashMap::new();
        let mut adjustments = Vec::new();
        for s in candidates {
            let key = &self.series[s];
            let bits = &present[group_of[s]];
            for r in self.offsets[s]..self.offsets[s + 1] {
                let p = self.period[r] as usize;
                let date = Self::fact_date(engine, key.unit, self.periods[p], key.basis);
                let structure = structures
                    .entry(date)
                    .or_insert_with(|| engine.structure(date));
                let above = structure
                    .ancestors(key.unit)
                    .skip(1)
                    .find(|a| bits[p][*a as usize / 64] & (1 << (a % 64)) != 0);
                if let Some(above) = above {
                    adjustments.push(Adjustment {
                        above,
                        date,
                        metric: key.metric,
                        period: p as u16,
                        currency: key.currency,
                        basis: key.basis,
                        value: self.value[r],
                        row: r,
                        given_back: false,
                    });
                }
                // A recorded total above both sides of an intercompany figure is net of it:
                // give the figure back there, as the engine does.
                if let Some(other) = key.counterparty {
                    let net_above = structure.ancestors(key.unit).skip(1).find(|a| {
                        bits[p][*a as usize / 64] & (1 << (a % 64)) != 0
                            && structure.in_subtree(other, *a)
                    });
                    if let Some(net_above) = net_above {
                        adjustments.push(Adjustment {
                            above: net_above,
                            date,
                            metric: key.metric,
                            period: p as u16,
                            currency: key.currency,
                            basis: key.basis,
                            value: -self.value[r],
                            row: r,
                            given_back: true,
                        });
                    }
                }
            }
        }
        // The order of the series in the table, as before: adjustments are taken off in it.
        adjustments
    }
}

/// No period: the span of a unit without rows (joins as the identity).
const EMPTY_SPAN: (u16, u16) = (u16::MAX, 0);

fn join_spans(a: (u16, u16), b: (u16, u16)) -> (u16, u16) {
    (a.0.min(b.0), a.1.max(b.1))
}

/// Per unit: the join of the spans of every unit ever above it (through any of its parents
/// over time, transitively), not its own. Worked out once per unit, iteratively (no
/// recursion on chains 100,000 levels deep); a unit met again while its own parents are
/// being settled (a unit moved under a former child) gets every period, which only makes
/// the caller look at its rows one by one.
fn spans_above(timeline: &crate::timeline::Timeline<'_>, own: &[(u16, u16)]) -> Vec<(u16, u16)> {
    const ALL: (u16, u16) = (0, u16::MAX);
    let n = own.len();
    // Per unit: its own span joined with every span above it.
    let mut at_or_above: Vec<Option<(u16, u16)>> = vec![None; n];
    let mut in_progress = vec![false; n];
    let parents = |u: UnitIndex| timeline.record(u).parents.iter().filter_map(|(_, p)| *p);
    for unit in 0..n as UnitIndex {
        let mut stack: Vec<(UnitIndex, bool)> = vec![(unit, false)];
        while let Some((u, expanded)) = stack.pop() {
            if at_or_above[u as usize].is_some() {
                continue;
            }
            if expanded {
                let mut span = own[u as usize];
                for p in parents(u) {
                    span = join_spans(span, at_or_above[p as usize].unwrap_or(ALL));
                }
                at_or_above[u as usize] = Some(span);
                in_progress[u as usize] = false;
                continue;
            }
            if in_progress[u as usize] {
                // Met again before settled: a cycle through time.
                at_or_above[u as usize] = Some(ALL);
                continue;
            }
            in_progress[u as usize] = true;
            stack.push((u, true));
            for p in parents(u) {
                if at_or_above[p as usize].is_none() {
                    stack.push((p, false));
                }
            }
        }
    }
    (0..n as UnitIndex)
        .map(|u| {
            parents(u).fold(EMPTY_SPAN, |span, p| {
                join_spans(span, at_or_above[p as usize].unwrap_or(ALL))
            })
        })
        .collect()
}

fn ancestors_ever(
    timeline: &crate::timeline::Timeline<'_>,
    start: Option<UnitIndex>,
) -> Vec<UnitIndex> {
    // Every unit that was ever above `start`, through any of its parents over time.
    let mut seen = Vec::new();
    let mut visited = std::collections::HashSet::new();
    let mut stack: Vec<UnitIndex> = start.into_iter().collect();
    while let Some(u) = stack.pop() {
        if !visited.insert(u) {
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
            ChangeKind::Split { parts, .. } => Some(
                parts
                    .iter()
                    .flat_map(|p| p.shares.per_metric.keys().cloned())
                    .collect::<Vec<_>>(),
            ),
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
    /// Sums, laid out as the pass adds them: indexed `(line * metrics + metric) * periods +
    /// period` (0 where nothing landed).
    sums: Vec<f64>,
    /// Whether anything landed in each cell: per (line, metric), `words` words of one bit per period.
    landed: Vec<u64>,
    words: usize,
    /// Intercompany eliminated within each cell's line, laid out as `sums`.
    eliminated: Vec<f64>,
    /// Per metric and table period: the period asked its rows count in (u32::MAX when none).
    query_of_period: Vec<Vec<u32>>,
}

impl FastRollup {
    /// Intercompany eliminated within a line, for a metric and period (0 where none).
    pub fn eliminated(&self, metric: usize, line: usize, period: usize) -> f64 {
        let row = line * self.metrics.len() + metric;
        self.eliminated
            .get(row * self.periods.len() + period)
            .copied()
            .unwrap_or(0.0)
    }

    /// The value of a metric, line and period.
    pub fn get(&self, metric: usize, line: usize, period: usize) -> Option<f64> {
        let row = line * self.metrics.len() + metric;
        let landed = self.landed[row * self.words + period / 64] >> (period % 64) & 1 != 0;
        landed.then_some(self.sums[row * self.periods.len() + period])
    }

    /// Every cell's value in `(metric * lines + line) * periods + period` order.
    pub fn values(&self) -> impl Iterator<Item = Option<f64>> + '_ {
        let (n_lines, n_periods) = (self.lines.len(), self.periods.len());
        (0..self.metrics.len()).flat_map(move |m| {
            (0..n_lines).flat_map(move |l| (0..n_periods).map(move |j| self.get(m, l, j)))
        })
    }
}

/// A fast roll-up question: additive metrics for the lines below a node, for periods of the
/// granularity the facts are recorded in.
#[derive(Debug, Clone)]
pub struct FastQuery {
    /// Additive metrics (flows and stocks).
    pub metrics: Vec<MetricId>,
    /// Periods: recorded as such in the table, or built from finer ones alike at every unit
    /// (docs/semantics.md 3.7a).
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
pub fn fast_rollup(
    engine: &Engine,
    table: &FactTable,
    query: &FastQuery,
) -> Result<FastRollup, ColumnarError> {
    let plan = FastPlan::prepare(engine, table, query)?;
    let clock = std::time::Instant::now();
    let answer = plan.run();
    tracing::debug!(target: PROFILE, "run {:?}", clock.elapsed());
    Ok(answer)
}

/// Series ahead of the one being added whose rows the pass asks the memory for: the hardware
/// prefetchers stop at each 4 KB page, and the pass reads each series' rows once.
const PREFETCH_SERIES: usize = 8;

/// A flag on a unit's slot: the slot is an index into the per-period slots, not a pool entry.
const PER_PERIOD: u32 = 1 << 31;

/// A fast roll-up compiled for one fact table and one query: the lines, and the lineage and
/// ownership weights of every unit and period as (line, weight) lists that each series' rows
/// add into. [`FastPlan::run`] then makes the pass over the values, resolving each series
/// into runs of answer cells as it reads them; a caller asking the same question again (the
/// same structure date, view, basis, metrics and periods) keeps the plan and pays only for
/// the pass.
#[derive(Clone)]
pub struct FastPlan<'t> {
    table: &'t FactTable,
    metrics: Vec<MetricId>,
    periods: Vec<Period>,
    lines: Vec<FastLine>,
    basis: Basis,
    /// Per model metric: its index in the query (u32::MAX when not asked) and whether it is a stock.
    metric_slot: Vec<u32>,
    is_stock: Vec<bool>,
    /// Per query metric: its weight group.
    group_of: Vec<u32>,
    /// Per unit: left out (organic view).
    excluded: Vec<bool>,
    /// Per weight group and unit: a pool entry for every period, or (with [`PER_PERIOD`]) the
    /// start of its slots per query period in `period_slots`.
    unit_slots: Vec<u32>,
    period_slots: Vec<u32>,
    /// Pool entry `e` is the (line, weight) pairs `pool_start[e]..pool_start[e + 1]`.
    pool_start: Vec<u32>,
    pool_line: Vec<u32>,
    pool_weight: Vec<f64>,
    /// Per query metric and table period: the query period its rows count in (u32::MAX when
    /// none; several finer periods count in a period built from them).
    query_of_period: Vec<Vec<u32>>,
    /// Per query metric: runs of table periods asked as consecutive query periods: (first,
    /// last, query index of the first).
    runs: Vec<Vec<(usize, usize, usize)>>,
    /// The pass's chunks of consecutive series.
    bounds: Vec<usize>,
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
    pub fn prepare(
        engine: &Engine,
        table: &'t FactTable,
        query: &FastQuery,
    ) -> Result<FastPlan<'t>, ColumnarError> {
        // The pro-forma view adds gaps for units acquired in the span (pre-acquisition
        // figures), which the columnar pass does not model: it declines.
        if query.view == View::ProForma {
            return Err(ColumnarError::Unsupported(
                "the pro-forma view is answered by the explainable engine".into(),
            ));
        }
        let clock = std::time::Instant::now();
        let model = engine.model();
        let timeline = engine.timeline();
        let target = query
            .structure
            .unwrap_or_else(|| engine.latest_structure_date());
        let node = match &query.node {
            Some(id) => timeline
                .unit(id)
                .ok_or_else(|| ColumnarError::Unsupported(format!("unknown unit {id}")))?,
            None => timeline.root,
        };
        let metric_indexes = additive_metrics(model, query)?;
        let PeriodMaps {
            maps: query_of_period,
            finer,
        } = period_maps(table, model, &query.periods, query.basis, &metric_indexes)?;
        // As reported, a finer figure before the period's end is carried to it by lineage,
        // which places a unit below one no longer consolidated then on a discontinued line,
        // while a figure at the period's end stays where it was recorded (docs/semantics.md
        // 3.1); the pass lands a unit's figures of a period one way: it declines.
        if query.view == View::Reported
            && finer.iter().any(Option::is_some)
            && timeline.ever_unconsolidated()
        {
            return Err(ColumnarError::Unsupported(
                "as reported, a period built from finer periods of a group with units not consolidated"
                    .into(),
            ));
        }
        decline_changing_tree(engine, query, node)?;
        let (group_metric, group_of) = share_groups(model, query);
        // Lines, as the engine shows them.
        let excluded = engine.view_exclusions(query.view, &query.periods, target);
        let (dates, mut lines, mut line_of) = viewed_lines(engine, query, node, target)?;
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
        let first_level: Vec<u32> = lines
            .iter()
            .enumerate()
            .filter_map(|(i, l)| match l {
                FastLine::Node(u)
                    if engine.structure(dates[0]).parent[*u as usize] == Some(node) =>
                {
                    Some(i as u32)
                }
                _ => None,
            })
            .collect();
        let reconstruct_top = query.depth > 0 && query.view != View::Reported;
        // Metrics asked, by the model's metric index.
        let mut metric_slot: Vec<u32> = vec![u32::MAX; model.metrics.len()];
        for (mi, m) in metric_indexes.iter().enumerate() {
            metric_slot[*m as usize] = mi as u32;
        }
        let n_units = timeline.units.len();
        let n_periods = query.periods.len();
        let mut is_excluded = vec![false; n_units];
        for unit in &excluded {
            is_excluded[*unit as usize] = true;
        }
        // Whether a unit has a series the query reads (the table's series are sorted by unit).
        let dense = |unit: UnitIndex| -> bool {
            let from = table.series.partition_point(|k| k.unit < unit);
            table.series[from..]
                .iter()
                .take_while(|k| k.unit == unit)
                .any(|k| k.basis == query.basis && metric_slot[k.metric as usize] != u32::MAX)
        };
        let restating = query.view != View::Reported;
        // Restating, every landing on a unit is in the target structure, and counts in the
        // lines of its nearest ancestor (or itself) that is a line: each such line's chain of
        // lines is listed once (chain 0 is empty), and each unit walks up to its own.
        // As reported, the same chains serve the units that never move (see `static_units`):
        // their lines are the same in every period's structure as in the latest.
        let (chains, unit_chain) = line_chains(
            engine,
            target,
            node,
            &node_line,
            lines.len(),
            reconstruct_top,
        );
        // Line weights of one landing set, including discontinued lines for the group.
        let membership = |landings: &[(Target, f64)],
                          factor: f64,
                          lines: &mut Vec<FastLine>,
                          line_of: &mut HashMap<FastLine, u32>,
                          skip_top: bool|
         -> Vec<(u32, f64)> {
            let mut out: Vec<(u32, f64)> = Vec::new();
            let mut add = |line: u32, w: f64| match out.iter_mut().find(|(l, _)| *l == line) {
                Some(entry) => entry.1 += w,
                None => out.push((line, w)),
            };
            for (place, weight) in landings {
                let w = weight * factor;
                match *place {
                    Target::Unit(unit, date)
                        if date == target && restating && skip_top == reconstruct_top =>
                    {
                        for line in &chains[unit_chain[unit as usize] as usize] {
                            add(*line, w);
                        }
                    }
                    Target::Unit(unit, date) => {
                        let structure = engine.structure(date);
                        let mut below_line = false;
                        for ancestor in structure.ancestors(unit) {
                            if let Some(line) =
                                Some(&node_line[ancestor as usize]).filter(|l| **l != u32::MAX)
                            {
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
                            let special = if matches!(place, Target::Discontinued(_)) {
                                FastLine::Discontinued(unit)
                            } else {
                                FastLine::Outside(unit)
                            };
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
        // As reported, a period is shown in the structure on its last day (`until`): a unit
        // that ended within it is carried there by lineage, as in the engine.
        let land = |unit: UnitIndex,
                    date: NaiveDate,
                    until: NaiveDate,
                    metric: &MetricId|
         -> Vec<(Target, f64)> {
            match query.view {
                View::Reported if date >= until => vec![(Target::Unit(unit, date), 1.0)],
                View::Reported => {
                    let mut out = Vec::new();
                    engine.lineage_weights(unit, (date, usize::MAX), until, metric, &mut out, 1.0);
                    out
                }
                View::Restated | View::Organic | View::ProForma => {
                    let mut out = Vec::new();
                    engine.lineage_weights(unit, (date, usize::MAX), target, metric, &mut out, 1.0);
                    out
                }
            }
        };
        // A unit whose history never moves (no merge, split or end) and whose ownership never
        // changes, anywhere above it, lands the same way from every date when restating: its
        // weights are compiled once, not once per period. Ownership is plain when a unit is
        // fully held and consolidated all along; a unit is static when it has no history
        // events and no unit it was ever below (itself included) is anything but plain: the
        // units reaching a non-plain one, found by walking down from each non-plain unit
        // through every unit ever below it. As reported, a unit is static when nothing above
        // it (itself included) ever moves, ends or changes ownership: it lands on the same
        // lines in every period's structure (docs/semantics.md 3.7b).
        let static_unit = static_units(timeline, restating);
        tracing::debug!(target: PROFILE, "setup {:?}", clock.elapsed());
        // The weights: per group and unit, a slot into a flat pool of (line, weight) lists, or
        // slots per query period for units whose landing changes over the periods.
        let mut unit_slots: Vec<u32> = vec![u32::MAX; group_metric.len() * n_units];
        let mut period_slots: Vec<u32> = Vec::new();
        let mut pool_start: Vec<u32> = vec![0];
        let mut pool_line: Vec<u32> = Vec::new();
        let mut pool_weight: Vec<f64> = Vec::new();
        let mut push_entry = |entry: &[(u32, f64)]| -> u32 {
            for (line, w) in entry {
                pool_line.push(*line);
                pool_weight.push(*w);
            }
            pool_start.push(pool_line.len() as u32);
            (pool_start.len() - 2) as u32
        };
        // Static units alive on the structure date land on their chain of lines, weight 1.
        let chain_slots: Vec<u32> = chains
            .iter()
            .map(|chain| push_entry(&chain.iter().map(|l| (*l, 1.0)).collect::<Vec<_>>()))
            .collect();
        // The units that need more than their chain of lines: those with series the query
        // reads that are not static, or not alive on the structure date. For those not static,
        // what their landing depends on in each query period, the same for every metric group:
        // (moment, ownership factor).
        let fact_date =
            |record: &crate::timeline::UnitRecord, last_day: NaiveDate| match query.basis {
                Basis::Restated { structure } => structure,
                _ => record.last_day_until(last_day),
            };
        let last_days: Vec<NaiveDate> = query.periods.iter().map(|p| p.last_day()).collect();
        let mut needed: Vec<bool> = vec![false; n_units];
        let mut moments_of: Vec<usize> = vec![0; n_units];
        let mut moments: Vec<(u64, u64)> = Vec::new();
        let mut breaks: Vec<NaiveDate> = Vec::new();
        // Whose ownership may change (only needed when a period is built from finer ones).
        let tainted = if finer.iter().any(Option::is_some) {
            ownership_tainted(timeline)
        } else {
            vec![false; n_units]
        };
        for unit in 0..n_units as UnitIndex {
            let u = unit as usize;
            let record = timeline.record(unit);
            if is_excluded[u] || (static_unit[u] && record.alive_on(target)) || !dense(unit) {
                continue;
            }
            needed[u] = true;
            if static_unit[u] {
                continue;
            }
            moments_of[u] = moments.len();
            // Its ownership changes only on the dates of the stakes and parents of the units it
            // was ever below (itself included), and restating, its landing only on the dates of
            // its history events: from one date to a later one with none of those dates in
            // between, nothing is computed again.
            breaks.clear();
            for a in ancestors_ever(timeline, Some(unit)) {
                let above = timeline.record(a);
                breaks.extend(
                    above
                        .stakes
                        .iter()
                        .map(|s| s.0)
                        .chain(above.parents.iter().map(|p| p.0)),
                );
            }
            if restating {
                breaks.extend(record.events.iter().map(|e| e.date));
            }
            breaks.sort_unstable();
            breaks.dedup();
            // A period built from finer ones: the pass lands each finer figure as the period's
            // own (from the period's last day), the engine from the finer period's date. The
            // same only when nothing the landing or ownership depends on happens in between.
            for (j, first) in finer.iter().enumerate() {
                let Some(first) = first else { continue };
                let (from, until) = (
                    fact_date(record, first.last_day()),
                    fact_date(record, last_days[j]),
                );
                if from < until
                    && ((tainted[u]
                        && breaks[breaks.partition_point(|b| *b <= from)..]
                            .first()
                            .is_some_and(|b| *b <= until))
                        || record
                            .events
                            .iter()
                            .any(|e| e.date > from && e.date <= until))
                {
                    return Err(ColumnarError::Unsupported(format!(
                        "{} changes within a period built from finer periods",
                        record.id
                    )));
                }
            }
            let mut known: Option<(NaiveDate, (u64, u64))> = None;
            for last_day in &last_days {
                let date = fact_date(record, *last_day);
                let same = known
                    .filter(|(seen, _)| {
                        *seen <= date
                            && breaks[breaks.partition_point(|b| b <= seen)..]
                                .first()
                                .is_none_or(|b| *b > date)
                    })
                    .map(|(_, moment)| moment);
                let factor = match same {
                    Some((_, factor)) => factor,
                    None => timeline.ownership_on(unit, date).0.to_bits(),
                };
                // Restating, the landing depends on the date only through the next history
                // event; as reported, on the structure of the date itself.
                let moment = match (query.view, same) {
                    (View::Reported, _) if date >= *last_day => date.num_days_from_ce() as u64,
                    (View::Reported, _) => (1 << 40) | last_day.num_days_from_ce() as u64,
                    (_, Some((moment, _))) => moment,
                    _ => engine.first_event_after(unit, date) as u64,
                };
                known = Some((date, (moment, factor)));
                moments.push((moment, factor));
            }
        }
        let mut cache: rustc_hash::FxHashMap<(usize, UnitIndex, u64, u64), u32> =
            rustc_hash::FxHashMap::default();
        let mut row_slots: Vec<u32> = Vec::with_capacity(n_periods);
        for (g, metric) in group_metric.iter().enumerate() {
            for unit in 0..n_units as UnitIndex {
                let u = unit as usize;
                let record = timeline.record(unit);
                if !needed[u] {
                    if !is_excluded[u] && static_unit[u] && record.alive_on(target) {
                        unit_slots[g * n_units + u] = chain_slots[unit_chain[u] as usize];
                    }
                    continue;
                }
                if static_unit[u] {
                    // The same for every metric group: compile once, share the slot.
                    unit_slots[g * n_units + u] = if g > 0 {
                        unit_slots[u]
                    } else {
                        let entry = membership(
                            &land(unit, target.max(record.created), target, metric),
                            1.0,
                            &mut lines,
                            &mut line_of,
                            reconstruct_top,
                        );
                        push_entry(&entry)
                    };
                    continue;
                }
                let moments = &moments[moments_of[u]..moments_of[u] + n_periods];
                row_slots.clear();
                let mut previous: Option<((u64, u64), u32)> = None;
                for (j, (moment, factor_bits)) in moments.iter().enumerate() {
                    if let Some((_, slot)) =
                        previous.filter(|(seen, _)| *seen == (*moment, *factor_bits))
                    {
                        row_slots.push(slot);
                        continue;
                    }
                    let key = (g, unit, *moment, *factor_bits);
                    let slot = match cache.get(&key) {
                        Some(slot) => *slot,
                        None => {
                            let entry = membership(
                                &land(unit, fact_date(record, last_days[j]), last_days[j], metric),
                                f64::from_bits(*factor_bits),
                                &mut lines,
                                &mut line_of,
                                reconstruct_top,
                            );
                            let slot = push_entry(&entry);
                            cache.insert(key, slot);
                            slot
                        }
                    };
                    row_slots.push(slot);
                    previous = Some(((*moment, *factor_bits), slot));
                }
                unit_slots[g * n_units + u] = if let Some(first) = row_slots
                    .first()
                    .filter(|first| row_slots.iter().all(|s| s == *first))
                {
                    *first
                } else {
                    let start = period_slots.len() as u32 | PER_PERIOD;
                    period_slots.extend_from_slice(&row_slots);
                    start
                };
            }
        }
        tracing::debug!(
            target: PROFILE,
            "weights {:?} ({} slots in the pool, {} static units of {})",
            clock.elapsed(),
            pool_start.len() - 1,
            static_unit.iter().filter(|s| **s).count(),
            n_units
        );
        // Rates per currency and table period, for flows (average) and stocks (closing): the
        // model's first rate recorded for the currency and period, else the engine's (built
        // from finer periods).
        let rates = currency_rates(engine, table);
        tracing::debug!(target: PROFILE, "rates {:?}", clock.elapsed());
        let n_lines = lines.len();
        let n_metrics = metric_indexes.len();
        let n_table_periods = table.periods.len();
        let mut rate_table: Vec<f64> = vec![1.0; n_table_periods];
        for row in &rates {
            rate_table.extend(row.iter().map(|x| x.0));
            rate_table.extend(row.iter().map(|x| x.1));
        }
        let rate_gaps: Vec<bool> = rates
            .iter()
            .map(|row| row.iter().any(|(a, c)| a.is_nan() || c.is_nan()))
            .collect();
        let runs: Vec<Vec<(usize, usize, usize)>> =
            query_of_period.iter().map(|map| period_runs(map)).collect();
        let is_stock: Vec<bool> = model
            .metrics
            .iter()
            .map(|m| m.aggregation == Aggregation::Stock)
            .collect();
        if n_metrics * n_lines * n_periods > u32::MAX as usize
            || rate_table.len() > u32::MAX as usize
        {
            return Err(ColumnarError::Unsupported("too many cells".into()));
        }
        // A rate the pass would need is missing: a row asked, in a currency with gaps.
        if rate_gaps.iter().any(|g| *g) {
            for (s, key) in table.series.iter().enumerate() {
                if key.currency == 0
                    || !rate_gaps[key.currency as usize]
                    || key.basis != query.basis
                    || metric_slot[key.metric as usize] == u32::MAX
                    || is_excluded[key.unit as usize]
                {
                    continue;
                }
                let stock = is_stock[key.metric as usize];
                let map = &query_of_period[metric_slot[key.metric as usize] as usize];
                for r in table.offsets[s]..table.offsets[s + 1] {
                    let p = table.period[r] as usize;
                    if map[p] != u32::MAX
                        && (if stock {
                            rates[key.currency as usize][p].1
                        } else {
                            rates[key.currency as usize][p].0
                        })
                        .is_nan()
                    {
                        return Err(ColumnarError::Unsupported("an FX rate is missing".into()));
                    }
                }
            }
        }
        // The pass is cut into a fixed number of chunks of consecutive series (whatever the
        // number of threads), balanced by rows and each read straight through, like the
        // floor's chunks; each chunk adds into cells of its own, and the chunks' cells are added
        // up in chunk order: results are bit-identical on any number of threads.
        let bounds = pass_bounds(table);
        // Recorded totals: take off what the units below them recorded.
        let mut adjust = Vec::new();
        for (index, adjustment) in table.adjustments.iter().enumerate() {
            if adjustment.basis != query.basis || is_excluded[adjustment.above as usize] {
                continue;
            }
            let Some(mi) = metric_indexes.iter().position(|m| *m == adjustment.metric) else {
                continue;
            };
            let j = query_of_period[mi][adjustment.period as usize];
            if j == u32::MAX {
                continue;
            }
            let stock = model.metrics[adjustment.metric as usize].aggregation == Aggregation::Stock;
            let rate = if stock {
                rates[adjustment.currency as usize][adjustment.period as usize].1
            } else {
                rates[adjustment.currency as usize][adjustment.period as usize].0
            };
            let landings = land(
                adjustment.above,
                adjustment.date,
                last_days[j as usize],
                &group_metric[group_of[mi]],
            );
            let (factor, _) = timeline.ownership_on(adjustment.above, adjustment.date);
            for (line, w) in
                membership(&landings, factor, &mut lines, &mut line_of, reconstruct_top)
            {
                if line as usize >= n_lines {
                    return Err(ColumnarError::Unsupported(
                        "a recorded total lands on a line of its own".into(),
                    ));
                }
                adjust.push((
                    (line as usize * n_metrics + mi) * n_periods + j as usize,
                    index,
                    rate,
                    w,
                ));
            }
        }
        // Intercompany: eliminated where both sides land in a line.
        let mut intercompany = Vec::new();
        for (s, key) in table.series.iter().enumerate() {
            let Some(other) = key.counterparty else {
                continue;
            };
            if key.basis != query.basis || is_excluded[key.unit as usize] {
                continue;
            }
            let Some(mi) = metric_indexes.iter().position(|m| *m == key.metric) else {
                continue;
            };
            let metric = &group_metric[group_of[mi]];
            let stock = model.metrics[key.metric as usize].aggregation == Aggregation::Stock;
            for r in table.offsets[s]..table.offsets[s + 1] {
                let p = table.period[r] as usize;
                let j = query_of_period[mi][p];
                if j == u32::MAX {
                    continue;
                }
                let period = table.periods[p];
                let until = last_days[j as usize];
                let date = FactTable::fact_date(engine, key.unit, period, key.basis);
                let (factor, _) = timeline.ownership_on(key.unit, date);
                let rate = if stock {
                    rates[key.currency as usize][p].1
                } else {
                    rates[key.currency as usize][p].0
                };
                let side = membership(
                    &land(key.unit, date, until, metric),
                    1.0,
                    &mut lines,
                    &mut line_of,
                    false,
                );
                let other_date = timeline.record(other).last_day_until(period.last_day());
                let far = membership(
                    &land(other, other_date, until, metric),
                    1.0,
                    &mut lines,
                    &mut line_of,
                    false,
                );
                for (line, w) in &side {
                    if *line as usize >= n_lines
                        || !matches!(lines[*line as usize], FastLine::Node(_))
                    {
                        continue;
                    }
                    if let Some((_, w2)) = far.iter().find(|(l, _)| l == line) {
                        intercompany.push((
                            (*line as usize * n_metrics + mi) * n_periods + j as usize,
                            r,
                            rate,
                            factor,
                            *w,
                            *w2,
                        ));
                    }
                }
            }
        }
        tracing::debug!(target: PROFILE, "plan {:?}", clock.elapsed());
        lines.truncate(n_lines);
        Ok(FastPlan {
            table,
            metrics: query.metrics.clone(),
            periods: query.periods.clone(),
            lines,
            basis: query.basis,
            metric_slot,
            is_stock,
            group_of: group_of.iter().map(|g| *g as u32).collect(),
            excluded: is_excluded,
            unit_slots,
            period_slots,
            pool_start,
            pool_line,
            pool_weight,
            query_of_period,
            runs,
            bounds,
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
        let n_metrics = self.metrics.len();
        let cells = n_lines * n_metrics * n_periods;
        let words = n_periods.div_ceil(64);
        // Each chunk adds into cells of its own, laid out line by line (a unit's series, one
        // per metric, feed one stretch of them), and marks the periods it touched in each
        // (line, metric) row.
        let mut chunks: Vec<(Vec<f64>, Vec<u64>)> = self
            .bounds
            .par_windows(2)
            .map(|w| {
                let mut acc = vec![0.0f64; cells];
                let mut touched = vec![0u64; n_lines * n_metrics * words];
                self.pass(w[0]..w[1], &mut acc, &mut touched);
                (acc, touched)
            })
            .collect();
        // The other chunks' cells added to the first's, in chunk order (in parallel over
        // halves of the cells), then recorded totals, the top node and intercompany
        // eliminations.
        let (mut sums, mut landed) = chunks.remove(0);
        let half = cells.div_ceil(PASS_CHUNKS).max(1);
        for (other, other_landed) in &chunks {
            sums.par_chunks_mut(half)
                .zip(other.par_chunks(half))
                .for_each(|(a, b)| {
                    for (a, b) in a.iter_mut().zip(b) {
                        *a += b;
                    }
                });
            for (a, b) in landed.iter_mut().zip(other_landed) {
                *a |= b;
            }
        }
        let eliminated = self.finish(&mut sums, &mut landed);
        FastRollup {
            eliminated,
            metrics: self.metrics.clone(),
            lines: self.lines.clone(),
            periods: self.periods.clone(),
            sums,
            landed,
            words,
            query_of_period: self.query_of_period.clone(),
        }
    }

    /// Whether the pass reads series `s`: a series of the basis and a metric asked, of a unit
    /// not left out and landing somewhere, with rows.
    #[inline(always)]
    fn reads(&self, s: usize) -> bool {
        let key = &self.table.series[s];
        let mi = self.metric_slot[key.metric as usize];
        if key.basis != self.basis
            || mi == u32::MAX
            || self.excluded[key.unit as usize]
            || self.table.offsets[s] == self.table.offsets[s + 1]
        {
            return false;
        }
        let slot = self.unit_slots
            [self.group_of[mi as usize] as usize * self.excluded.len() + key.unit as usize];
        slot & PER_PERIOD != 0
            || self.pool_start[slot as usize] != self.pool_start[slot as usize + 1]
    }

    /// One chunk of the pass: its series in table order, each resolved into runs of rows with
    /// consecutive periods and one landing, each added (times FX rate and weight) into a run
    /// of cells of every line it feeds.
    #[inline(never)]
    fn pass(&self, series: std::ops::Range<usize>, acc: &mut [f64], touched: &mut [u64]) {
        let table = self.table;
        let values = &table.value;
        let n_units = self.excluded.len();
        let n_periods = self.periods.len();
        let n_metrics = self.metrics.len();
        let n_table_periods = table.periods.len();
        let words = n_periods.div_ceil(64);
        // Adds rows `src..src + len` into cells from query period `j` of every line of a pool
        // entry.
        let mut feed = |entry: u32,
                        mi: usize,
                        src: usize,
                        len: usize,
                        j: usize,
                        rate: usize,
                        acc: &mut [f64]| {
            let from = &values[src..src + len];
            for k in self.pool_start[entry as usize] as usize
                ..self.pool_start[entry as usize + 1] as usize
            {
                let row = self.pool_line[k] as usize * n_metrics + mi;
                let dst = row * n_periods + j;
                let target = &mut acc[dst..dst + len];
                let w = self.pool_weight[k];
                if rate == 0 && w == 1.0 {
                    // Reporting currency, whole landing: add the values as they are (the same
                    // bits as multiplying by one).
                    for (a, v) in target.iter_mut().zip(from) {
                        *a += v;
                    }
                } else if rate == 0 {
                    for (a, v) in target.iter_mut().zip(from) {
                        *a += v * w;
                    }
                } else {
                    let rates = &self.rates[rate..rate + len];
                    for ((a, v), r) in target.iter_mut().zip(from).zip(rates) {
                        *a += v * r * w;
                    }
                }
                let bits = &mut touched[row * words..(row + 1) * words];
                let (mut lo, hi) = (j, j + len);
                while lo < hi {
                    let (word, bit) = (lo / 64, lo % 64);
                    let n = (64 - bit).min(hi - lo);
                    bits[word] |= (u64::MAX >> (64 - n)) << bit;
                    lo += n;
                }
            }
        };
        for s in series.clone() {
            // Ask for the rows of a series some way ahead, if the query reads it.
            if s + PREFETCH_SERIES < series.end && self.reads(s + PREFETCH_SERIES) {
                let rows =
                    table.offsets[s + PREFETCH_SERIES]..table.offsets[s + PREFETCH_SERIES + 1];
                for r in rows.clone().step_by(8) {
                    prefetch(&values[r]);
                }
                prefetch(&values[rows.end - 1]);
            }
            if !self.reads(s) {
                continue;
            }
            let rows = table.offsets[s]..table.offsets[s + 1];
            let key = &table.series[s];
            let mi = self.metric_slot[key.metric as usize] as usize;
            let slot = self.unit_slots[self.group_of[mi] as usize * n_units + key.unit as usize];
            let rate = if key.currency == 0 {
                0
            } else {
                (1 + 2 * key.currency as usize + usize::from(self.is_stock[key.metric as usize]))
                    * n_table_periods
            };
            let (first, count) = (rows.start, rows.len());
            let (p_first, p_last) = table.spans[s];
            let (p_first, p_last) = (p_first as usize, p_last as usize);
            if slot & PER_PERIOD == 0 && p_last - p_first == count - 1 {
                // One landing for every period and one row per period: one run of rows per run
                // of query periods.
                for &(a, b, j0) in &self.runs[mi] {
                    let (lo, hi) = (a.max(p_first), b.min(p_last));
                    if lo <= hi {
                        feed(
                            slot,
                            mi,
                            first + (lo - p_first),
                            hi - lo + 1,
                            j0 + (lo - a),
                            if rate == 0 { 0 } else { rate + lo },
                            acc,
                        );
                    }
                }
            } else {
                let slot_of = |j: u32| {
                    if slot & PER_PERIOD == 0 {
                        slot
                    } else {
                        self.period_slots[(slot & !PER_PERIOD) as usize + j as usize]
                    }
                };
                let map = &self.query_of_period[mi];
                let mut r = first;
                while r < rows.end {
                    let p = table.period[r] as usize;
                    let j = map[p];
                    if j == u32::MAX {
                        r += 1;
                        continue;
                    }
                    let entry = slot_of(j);
                    let mut e = r + 1;
                    while e < rows.end {
                        let q = table.period[e] as usize;
                        if q != p + (e - r)
                            || map[q] != j + (e - r) as u32
                            || slot_of(map[q]) != entry
                        {
                            break;
                        }
                        e += 1;
                    }
                    feed(
                        entry,
                        mi,
                        r,
                        e - r,
                        j as usize,
                        if rate == 0 { 0 } else { rate + p },
                        acc,
                    );
                    r = e;
                }
            }
        }
    }

    /// Recorded totals, the top node and intercompany eliminations, in that order, on the
    /// added-up cells; returns what was eliminated in each cell.
    fn finish(&self, acc: &mut [f64], touched: &mut [u64]) -> Vec<f64> {
        let values = &self.table.value;
        let (n_lines, n_metrics, n_periods) =
            (self.lines.len(), self.metrics.len(), self.periods.len());
        let words = n_periods.div_ceil(64);
        for &(cell, index, rate, w) in &self.adjust {
            acc[cell] -= self.table.adjustments[index].value * rate * w;
            touched[(cell / n_periods) * words + (cell % n_periods) / 64] |=
                1 << (cell % n_periods % 64);
        }
        if self.reconstruct_top && n_lines * n_periods > 0 {
            // The top node is line 0: its rows, one per metric, come first.
            let (top, rest) = acc.split_at_mut(n_metrics * n_periods);
            let (top_touched, rest_touched) = touched.split_at_mut(n_metrics * words);
            for &line in &self.first_level {
                let from = (line as usize - 1) * n_metrics;
                for m in 0..n_metrics {
                    let (to_cells, from_cells) = (
                        &mut top[m * n_periods..(m + 1) * n_periods],
                        &rest[(from + m) * n_periods..(from + m + 1) * n_periods],
                    );
                    let (to_bits, from_bits) = (
                        &mut top_touched[m * words..(m + 1) * words],
                        &rest_touched[(from + m) * words..(from + m + 1) * words],
                    );
                    for (w, (to_word, from_word)) in to_bits.iter_mut().zip(from_bits).enumerate() {
                        let span = w * 64..((w + 1) * 64).min(n_periods);
                        let full = u64::MAX >> (64 - span.len());
                        if *from_word == full {
                            for (a, b) in to_cells[span.clone()].iter_mut().zip(&from_cells[span]) {
                                *a += b;
                            }
                        } else {
                            for j in span.filter(|j| from_word >> (j % 64) & 1 != 0) {
                                to_cells[j] += from_cells[j];
                            }
                        }
                        *to_word |= from_word;
                    }
                }
            }
        }
        let mut eliminated = vec![
            0.0;
            if self.intercompany.is_empty() {
                0
            } else {
                acc.len()
            }
        ];
        for &(cell, row, rate, factor, w, w2) in &self.intercompany {
            let amount = values[row] * rate * factor;
            acc[cell] -= amount * w * w2;
            eliminated[cell] += amount * w * w2;
        }
        eliminated
    }
}

/// The table's key of each series of fact columns, in the reporting currency (the builder
/// path sets each row's own): units and metrics looked up once per distinct id, not per
/// series.
fn column_series_keys(
    model: &Model,
    columns: &crate::format::fact_columns::FactColumns,
    engine: &Engine,
) -> Result<Vec<SeriesKey>, ColumnarError> {
    use crate::format::fact_columns::NONE;
    let timeline = engine.timeline();
    let units: Vec<Option<UnitIndex>> = columns.units.iter().map(|u| timeline.unit(u)).collect();
    let unit = |i: u32| {
        units[i as usize].ok_or_else(|| {
            ColumnarError::Unsupported(format!("unknown unit {}", columns.units[i as usize]))
        })
    };
    let metrics: Vec<Option<u16>> = columns
        .metrics
        .iter()
        .map(|id| metric_index(model, id))
        .collect();
    columns
        .series
        .iter()
        .map(|series| {
            let metric = match metrics[series.metric as usize] {
                Some(metric) => metric,
                None => column_metric(model, &columns.metrics[series.metric as usize])?,
            };
            let unit_index = unit(series.unit)?;
            let counterparty = match series.counterparty {
                NONE => None,
                c => Some(unit(c)?),
            };
            Ok(SeriesKey {
                unit: unit_index,
                metric,
                currency: 0,
                counterparty,
                basis: series.basis,
            })
        })
        .collect()
}

/// The index of a metric in the model's list (the table's metric number).
fn metric_index(model: &Model, id: &MetricId) -> Option<u16> {
    model
        .metrics
        .iter()
        .position(|m| &m.id == id)
        .map(|m| m as u16)
}

/// The table's metric number of a metric of fact columns; `Unsupported` when the model does
/// not define it.
fn column_metric(model: &Model, id: &MetricId) -> Result<u16, ColumnarError> {
    metric_index(model, id)
        .ok_or_else(|| ColumnarError::Unsupported(format!("unknown metric {id}")))
}

/// The model's index of each metric asked; `Unsupported` for an unknown or non-additive one.
fn additive_metrics(model: &Model, query: &FastQuery) -> Result<Vec<u16>, ColumnarError> {
    let mut metric_indexes = Vec::new();
    for id in &query.metrics {
        let index = model
            .metrics
            .iter()
            .position(|m| &m.id == id)
            .ok_or_else(|| ColumnarError::Unsupported(format!("unknown metric {id}")))?;
        if !matches!(
            model.metrics[index].aggregation,
            Aggregation::Flow | Aggregation::Stock
        ) {
            return Err(ColumnarError::Unsupported(format!("{id} is not additive")));
        }
        metric_indexes.push(index as u16);
    }
    Ok(metric_indexes)
}

/// Where each table period's rows count, per metric asked: `maps[mi][p]` is the query period
/// (u32::MAX when none), and `finer[j]` the first finer period a query period is built from
/// (None when recorded as such).
pub(crate) struct PeriodMaps {
    pub(crate) maps: Vec<Vec<u32>>,
    pub(crate) finer: Vec<Option<Period>>,
}

/// How the units with figures within a coarse period asked resolve it (the engine's
/// `resolve`, docs/semantics.md 2.3).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Resolved {
    /// No unit has a figure within it.
    Unset,
    /// Every such unit has a figure for the period itself.
    Exact,
    /// Every such unit builds it from figures of one finer granularity only.
    Finer(Granularity),
}

/// Maps the table's periods onto the query's, per metric: a period recorded as such counts
/// in itself; a quarter or year with no figure of its own at any unit is built from finer
/// figures as the engine builds it (docs/semantics.md 2.3): a flow from every month (or
/// quarter) within it, a stock from the last one. The fast path follows the engine only
/// where every unit with figures within the period resolves it the same way — all recorded
/// as such, or all from complete figures of one finer length — so that a unit has a figure
/// for the period exactly when it has one for each finer period, and the totals recorded
/// above each finer figure (taken off when the table was built) are the ones the engine
/// finds for the period. Anything else (a gap: an incomplete flow or a stock without its
/// last month; units mixing lengths or recorded and built figures; a table period that would
/// count in two periods asked) is `Unsupported`, and the engine answers.
pub(crate) fn period_maps(
    table: &FactTable,
    model: &Model,
    periods: &[Period],
    basis: Basis,
    metric_indexes: &[u16],
) -> Result<PeriodMaps, ColumnarError> {
    let n_table = table.periods.len();
    let mut exact: Vec<u32> = vec![u32::MAX; n_table];
    for (j, period) in periods.iter().enumerate() {
        if let Ok(p) = table.periods.binary_search(period) {
            exact[p] = j as u32;
        }
    }
    let mut maps = vec![exact; metric_indexes.len()];
    let mut finer: Vec<Option<Period>> = vec![None; periods.len()];
    // The coarse periods asked that hold a finer table period: only those can be built.
    let coarse: Vec<(usize, Period)> = periods
        .iter()
        .enumerate()
        .filter(|(_, q)| {
            q.granularity != Granularity::Month
                && table.periods.iter().any(|p| q.contains(p) && p != *q)
        })
        .map(|(j, q)| (j, *q))
        .collect();
    if coarse.is_empty() {
        return Ok(PeriodMaps { maps, finer });
    }
    let granularity_bit = |g: Granularity| -> u8 {
        match g {
            Granularity::Month => 1,
            Granularity::Quarter => 2,
            Granularity::Year => 4,
        }
    };
    // Per (metric asked, coarse period): how the units resolve it so far.
    let mut modes: Vec<Resolved> = vec![Resolved::Unset; metric_indexes.len() * coarse.len()];
    // One unit and metric's figures within each coarse period: recorded as such, the
    // lengths of the finer ones, and which finer ones (bit k = the k-th of its length).
    #[derive(Clone, Copy, Default)]
    struct Within {
        any: bool,
        exact: bool,
        lengths: u8,
        parts: u16,
    }
    let mut within: Vec<Within> = vec![Within::default(); coarse.len()];
    let mut settle = |mi: usize, within: &mut [Within]| -> Result<(), ColumnarError> {
        let stock = model.metrics[metric_indexes[mi] as usize].aggregation == Aggregation::Stock;
        for (c, w) in within.iter_mut().enumerate() {
            if !w.any {
                continue;
            }
            let q = coarse[c].1;
            let mode = if w.exact {
                Resolved::Exact
            } else {
                let g = match w.lengths {
                    1 => Granularity::Month,
                    2 => Granularity::Quarter,
                    _ => {
                        return Err(ColumnarError::Unsupported(
                            "a period would be built from finer periods of different lengths"
                                .into(),
                        ))
                    }
                };
                let count = q.months() / Period::new(q.start, g).months();
                let complete = if stock {
                    w.parts >> (count - 1) & 1 == 1
                } else {
                    w.parts == (1u16 << count) - 1
                };
                if !complete {
                    return Err(ColumnarError::Unsupported(
                        "a period built from finer periods has a gap".into(),
                    ));
                }
                Resolved::Finer(g)
            };
            let slot = &mut modes[mi * coarse.len() + c];
            if *slot == Resolved::Unset {
                *slot = mode;
            } else if *slot != mode {
                return Err(ColumnarError::Unsupported(
                    "units resolve a period asked in different ways (recorded, or built from finer periods)"
                        .into(),
                ));
            }
            *w = Within::default();
        }
        Ok(())
    };
    // The series are sorted by unit, then metric: a unit and metric's series are consecutive.
    let mut current: Option<(UnitIndex, u16)> = None;
    for (s, key) in table.series.iter().enumerate() {
        if key.basis != basis {
            continue;
        }
        if !metric_indexes.contains(&key.metric) {
            continue;
        }
        if current != Some((key.unit, key.metric)) {
            if let Some((_, metric)) = current {
                let previous = metric_indexes
                    .iter()
                    .position(|m| *m == metric)
                    .expect("asked");
                settle(previous, &mut within)?;
            }
            current = Some((key.unit, key.metric));
        }
        for r in table.offsets[s]..table.offsets[s + 1] {
            let p = table.periods[table.period[r] as usize];
            for (c, (_, q)) in coarse.iter().enumerate() {
                if !q.contains(&p) {
                    continue;
                }
                let w = &mut within[c];
                w.any = true;
                if p == *q {
                    w.exact = true;
                } else {
                    w.lengths |= granularity_bit(p.granularity);
                    w.parts |= 1 << ((p.start - q.start) / p.months());
                }
            }
        }
    }
    if let Some((_, metric)) = current {
        let previous = metric_indexes
            .iter()
            .position(|m| *m == metric)
            .expect("asked");
        settle(previous, &mut within)?;
    }
    for (mi, map) in maps.iter_mut().enumerate() {
        let stock = model.metrics[metric_indexes[mi] as usize].aggregation == Aggregation::Stock;
        for (c, (j, q)) in coarse.iter().enumerate() {
            let Resolved::Finer(g) = modes[mi * coarse.len() + c] else {
                continue;
            };
            let length = Period::new(q.start, g).months();
            let first = Period::new(q.start, g);
            let last = Period::new(q.start + q.months() - length, g);
            finer[*j] = Some(finer[*j].map_or(first, |f: Period| f.min(first)));
            for (p, period) in table.periods.iter().enumerate() {
                if period.granularity != g || !q.contains(period) || (stock && *period != last) {
                    continue;
                }
                if map[p] != u32::MAX && map[p] != *j as u32 {
                    return Err(ColumnarError::Unsupported(
                        "a period asked is also built from finer periods asked".into(),
                    ));
                }
                map[p] = *j as u32;
            }
        }
    }
    Ok(PeriodMaps { maps, finer })
}

/// As reported over several periods, the engine gives a unit one line per parent it
/// had (docs/semantics.md, 3.5); the columnar lines are one per unit, so the fast path
/// declines when the tree within the depth asked is not the same at every period's end.
fn decline_changing_tree(
    engine: &Engine,
    query: &FastQuery,
    node: UnitIndex,
) -> Result<(), ColumnarError> {
    if query.view == View::Reported && query.periods.len() > 1 {
        let shape = |date: NaiveDate| -> Vec<(UnitIndex, Option<UnitIndex>)> {
            let structure = engine.structure(date);
            if !structure.alive[node as usize] {
                return Vec::new();
            }
            let mut pairs: Vec<(UnitIndex, Option<UnitIndex>)> = structure
                .descendants(node, query.depth)
                .into_iter()
                .map(|(u, _)| {
                    (
                        u,
                        if u == node {
                            None
                        } else {
                            structure.parent[u as usize]
                        },
                    )
                })
                .collect();
            pairs.sort_unstable();
            pairs
        };
        let mut ends: Vec<NaiveDate> = query.periods.iter().map(|p| p.last_day()).collect();
        ends.sort_unstable();
        ends.dedup();
        let first = shape(ends[0]);
        if ends[1..].iter().any(|d| shape(*d) != first) {
            return Err(ColumnarError::Unsupported(
                "the tree changes between the periods asked (reported view)".into(),
            ));
        }
    }
    Ok(())
}

/// The weight groups: group 0 for the metrics that follow default shares, one more per
/// metric asked that has shares of its own; the metric whose shares each group follows, and
/// each query metric's group.
fn share_groups(model: &Model, query: &FastQuery) -> (Vec<MetricId>, Vec<usize>) {
    let split_metrics = metrics_with_own_shares(model);
    // Group 0: metrics that follow default shares; one group per metric with its own.
    let mut group_metric: Vec<MetricId> = vec![query
        .metrics
        .first()
        .cloned()
        .unwrap_or_else(|| model.metrics[0].id.clone())];
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
    (group_metric, group_of)
}

/// Per unit: static (restating only), i.e. it lands the same way from every date: no history
/// events and no unit it was ever below (itself included) anything but fully held and fully
/// consolidated all along.
fn static_units(timeline: &crate::timeline::Timeline, restating: bool) -> Vec<bool> {
    if restating {
        return ownership_tainted(timeline)
            .iter()
            .zip(&timeline.units)
            .map(|(tainted, record)| !tainted && record.events.is_empty())
            .collect();
    }
    // As reported, a unit lands on the lines above it in the structure of each period's
    // date: the same lines on every date when neither it nor any unit it was ever below
    // ever moved, ended, had a history event or was anything but fully held and
    // consolidated (issue 16 item 6: a million units under one parent each compiled their
    // own weights).
    let plain = |u: usize| {
        let record = &timeline.units[u];
        let stakes = &record.stakes;
        stakes.len() == 1
            && stakes[0].1 == 1.0
            && stakes[0].2 == crate::model::Consolidation::Full
            && record.parents.len() == 1
            && record.ended.is_none()
            && record.events.is_empty()
    };
    tainted_below(timeline, plain)
        .into_iter()
        .map(|tainted| !tainted)
        .collect()
}

/// Per unit: true when its ownership may be anything but whole on some date, i.e. some unit
/// it was ever below (itself included) is not fully held and fully consolidated all along
/// (found by walking down from each such unit through every unit ever below it). A unit
/// not tainted has `ownership_on` = (1, 1) on every date.
fn ownership_tainted(timeline: &crate::timeline::Timeline) -> Vec<bool> {
    let plain = |u: usize| {
        let stakes = &timeline.units[u].stakes;
        stakes.len() == 1 && stakes[0].1 == 1.0 && stakes[0].2 == crate::model::Consolidation::Full
    };
    tainted_below(timeline, plain)
}

/// Per unit: true when some unit it was ever below (itself included) is not `plain`, found
/// by walking down from each such unit through every unit ever below it (linear in units
/// and parent entries).
fn tainted_below(timeline: &crate::timeline::Timeline, plain: impl Fn(usize) -> bool) -> Vec<bool> {
    let n_units = timeline.units.len();
    let mut below_start = vec![0u32; n_units + 1];
    for record in &timeline.units {
        for (_, parent) in &record.parents {
            if let Some(p) = parent {
                below_start[*p as usize + 1] += 1;
            }
        }
    }
    for u in 0..n_units {
        below_start[u + 1] += below_start[u];
    }
    let mut fill = below_start.clone();
    let mut below = vec![0 as UnitIndex; below_start[n_units] as usize];
    for (u, record) in timeline.units.iter().enumerate() {
        for (_, parent) in &record.parents {
            if let Some(p) = parent {
                below[fill[*p as usize] as usize] = u as UnitIndex;
                fill[*p as usize] += 1;
            }
        }
    }
    let mut tainted: Vec<bool> = (0..n_units).map(|u| !plain(u)).collect();
    let mut stack: Vec<usize> = (0..n_units).filter(|u| tainted[*u]).collect();
    while let Some(u) = stack.pop() {
        for c in &below[below_start[u] as usize..below_start[u + 1] as usize] {
            if !tainted[*c as usize] {
                tainted[*c as usize] = true;
                stack.push(*c as usize);
            }
        }
    }
    tainted
}

/// Runs of table periods asked as consecutive query periods: (first, last, query index of
/// the first).
fn period_runs(query_of_period: &[u32]) -> Vec<(usize, usize, usize)> {
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
    runs
}

/// The pass's chunks: [`PASS_CHUNKS`] runs of consecutive series balanced by rows.
fn pass_bounds(table: &FactTable) -> Vec<usize> {
    let total_rows = table.len().max(1);
    let mut bounds = vec![0usize];
    for k in 1..PASS_CHUNKS {
        let row = total_rows * k / PASS_CHUNKS;
        bounds.push(
            table
                .offsets
                .partition_point(|o| *o < row)
                .min(table.series.len())
                .max(*bounds.last().expect("non-empty")),
        );
    }
    bounds.push(table.series.len());
    bounds
}

/// Per table currency and period, (flow rate, stock rate): the model's first rate recorded
/// for the currency and period, else the engine's (built from finer periods); NaN when none.
fn currency_rates(engine: &Engine, table: &FactTable) -> Vec<Vec<(f64, f64)>> {
    let model = engine.model();
    let mut recorded: rustc_hash::FxHashMap<(&str, Period), &crate::model::FxRate> =
        rustc_hash::FxHashMap::default();
    for rate in model.fx.iter().rev() {
        recorded.insert((rate.currency.as_str(), rate.period), rate);
    }
    let rate_of = |currency: &Currency, period: Period, stock: bool| match recorded
        .get(&(currency.as_str(), period))
    {
        Some(rate) => Some(if stock { rate.closing } else { rate.average }),
        None => engine.rate_of(currency, period, stock),
    };
    table
        .currencies
        .iter()
        .enumerate()
        .map(|(c, currency)| {
            table
                .periods
                .iter()
                .map(|p| {
                    if c == 0 {
                        (1.0, 1.0)
                    } else {
                        (
                            rate_of(currency, *p, false).unwrap_or(f64::NAN),
                            rate_of(currency, *p, true).unwrap_or(f64::NAN),
                        )
                    }
                })
                .collect()
        })
        .collect()
}

/// The lines of the answer, as the engine shows them: the node and its descendants to the
/// depth asked, in the structure of each date that shows them (the target date restating;
/// as reported, the last period's end, then each period's), each unit once; with the dates.
fn viewed_lines(
    engine: &Engine,
    query: &FastQuery,
    node: UnitIndex,
    target: NaiveDate,
) -> Result<(Vec<NaiveDate>, Vec<FastLine>, HashMap<FastLine, u32>), ColumnarError> {
    let mut lines: Vec<FastLine> = Vec::new();
    let mut line_of: HashMap<FastLine, u32> = HashMap::new();
    let dates: Vec<NaiveDate> = match query.view {
        View::Reported => {
            let last = query
                .periods
                .iter()
                .max()
                .map(|p| p.last_day())
                .unwrap_or(target);
            std::iter::once(last)
                .chain(query.periods.iter().rev().map(|p| p.last_day()))
                .collect()
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
            if let std::collections::hash_map::Entry::Vacant(entry) = line_of.entry(line) {
                entry.insert(lines.len() as u32);
                lines.push(line);
            }
        }
    }
    if lines.is_empty() {
        return Err(ColumnarError::Unsupported(format!(
            "{} is not in the viewed structure",
            engine.timeline().record(node).id
        )));
    }
    Ok((dates, lines, line_of))
}

/// Restating, every landing on a unit is in the target structure and counts in the lines of
/// its nearest ancestor (or itself) that is a line: each such line's chain of lines, listed
/// once (chain 0 is empty), and per unit its chain.
fn line_chains(
    engine: &Engine,
    target: NaiveDate,
    node: UnitIndex,
    node_line: &[u32],
    n_lines: usize,
    reconstruct_top: bool,
) -> (Vec<Vec<u32>>, Vec<u32>) {
    let n_units = engine.timeline().units.len();
    let mut chains: Vec<Vec<u32>> = vec![Vec::new()];
    let mut unit_chain: Vec<u32> = vec![0; n_units];
    let structure = engine.structure(target);
    let mut chain_of_line: Vec<u32> = vec![u32::MAX; n_lines];
    // Each unit's chain is its nearest line's (itself included), or its parent's: settled
    // once per unit, walking up only to the nearest unit already settled (linear on a chain
    // 100,000 levels deep, issue 16 item 6; it walked up to the line from every unit before).
    let mut settled: Vec<bool> = vec![false; n_units];
    let mut path: Vec<UnitIndex> = Vec::new();
    for unit in 0..n_units as UnitIndex {
        if !structure.alive[unit as usize] || settled[unit as usize] {
            continue;
        }
        path.clear();
        let mut current = Some(unit);
        let mut found = 0u32;
        while let Some(ancestor) = current {
            if settled[ancestor as usize] {
                found = unit_chain[ancestor as usize];
                break;
            }
            let line = node_line[ancestor as usize];
            if line != u32::MAX {
                if chain_of_line[line as usize] == u32::MAX {
                    let mut chain = Vec::new();
                    let mut below_line = false;
                    let mut up = Some(ancestor);
                    while let Some(a) = up {
                        up = structure.parent[a as usize];
                        let line = node_line[a as usize];
                        if line != u32::MAX {
                            if a == node && below_line && reconstruct_top {
                                continue;
                            }
                            chain.push(line);
                            below_line = true;
                        }
                    }
                    chain_of_line[line as usize] = chains.len() as u32;
                    chains.push(chain);
                }
                found = chain_of_line[line as usize];
                path.push(ancestor);
                break;
            }
            path.push(ancestor);
            current = structure.parent[ancestor as usize];
        }
        for u in &path {
            unit_chain[*u as usize] = found;
            settled[*u as usize] = true;
        }
    }
    (chains, unit_chain)
}

/// Asks the memory for the cache line holding `value` (a hint; nothing on other targets).
#[inline(always)]
fn prefetch(value: &f64) {
    // SAFETY: SSE is part of every x86_64 target, and a prefetch reads nothing the program
    // sees and never faults (here, besides, the address is that of a live reference).
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            (value as *const f64).cast(),
        )
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
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
pub fn lineage_tables(
    engine: &Engine,
    table: &FactTable,
    query: &FastQuery,
    lines: &[FastLine],
) -> LineageTables {
    let model = engine.model();
    let timeline = engine.timeline();
    let target = query
        .structure
        .unwrap_or_else(|| engine.latest_structure_date());
    let units = timeline.units.len() as u32;
    let split_metrics = metrics_with_own_shares(model);
    let mut groups: Vec<MetricId> = vec![query
        .metrics
        .iter()
        .find(|m| !split_metrics.contains(m))
        .cloned()
        .unwrap_or_else(|| query.metrics[0].clone())];
    let mut out = LineageTables::default();
    for id in &query.metrics {
        let index = model
            .metrics
            .iter()
            .position(|m| &m.id == id)
            .expect("known metric") as u16;
        let group = if split_metrics.contains(id) {
            groups.push(id.clone());
            groups.len() - 1
        } else {
            0
        };
        out.metric_group.push((index, group as u8));
    }
    let mut seen_units: Vec<UnitIndex> = table
        .series
        .iter()
        .filter(|k| k.basis == query.basis)
        .map(|k| k.unit)
        .collect();
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
                    out.lineage
                        .push((g as u8, *unit, j as u32, id, landing.weight * factor));
                }
            }
        }
    }
    let structure = engine.structure(target);
    for id in targets {
        let line = if id < units {
            structure.ancestors(id).find_map(|a| {
                lines
                    .iter()
                    .position(|l| *l == FastLine::Node(a) && a != timeline.root)
            })
        } else if id < 2 * units {
            lines
                .iter()
                .position(|l| *l == FastLine::Discontinued(id - units))
        } else {
            lines
                .iter()
                .position(|l| *l == FastLine::Outside(id - 2 * units))
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
pub fn rollup_from_table(
    engine: &Engine,
    table: &FactTable,
    query: &crate::rollup::Query,
) -> Result<crate::rollup::Rollup, ColumnarError> {
    use crate::model::Measure;
    use crate::rollup::{BasisFilter, RollupRow, RowKind};
    let model = engine.model();
    if query.view == View::ProForma {
        return Err(ColumnarError::Unsupported(
            "the pro-forma view is answered by the explainable engine".into(),
        ));
    }
    let definition = model
        .metric(&query.metric)
        .ok_or_else(|| ColumnarError::Unsupported(format!("unknown metric {}", query.metric)))?;
    let (metrics, ratio) = match &definition.aggregation {
        Aggregation::Flow | Aggregation::Stock => (vec![query.metric.clone()], false),
        Aggregation::Ratio {
            numerator,
            denominator,
        } => (vec![numerator.clone(), denominator.clone()], true),
        Aggregation::NonAdditive => return Err(ColumnarError::Unsupported("not additive".into())),
    };
    // The group's own restatements take over from reported facts in the restated and
    // organic views (layers); the columnar pass reads one basis, so it declines.
    let target_date = query
        .structure
        .unwrap_or_else(|| engine.latest_structure_date());
    let metric_indexes: Vec<u16> = metrics
        .iter()
        .filter_map(|m| metric_index(model, m))
        .collect();
    let published = table.series.iter().any(|k| {
        metric_indexes.contains(&k.metric)
            && matches!(k.basis, Basis::Restated { structure } if structure <= target_date)
    });
    if query.basis == BasisFilter::Reported && query.view != View::Reported && published {
        return Err(ColumnarError::Unsupported(
            "published restatements are layered over reported facts".into(),
        ));
    }
    let basis = match query.basis {
        BasisFilter::Reported | BasisFilter::ReportedOnly => Basis::Reported,
        BasisFilter::Plan => Basis::Plan,
        BasisFilter::Estimate => Basis::Estimate,
        BasisFilter::Restated(structure) => Basis::Restated { structure },
    };
    let fast = fast_rollup(
        engine,
        table,
        &FastQuery {
            metrics,
            periods: query.periods.clone(),
            view: query.view,
            structure: query.structure,
            node: query.node.clone(),
            depth: query.depth,
            basis,
        },
    )?;
    let timeline = engine.timeline();
    let calendar = model.group.calendar();
    let target = query
        .structure
        .unwrap_or_else(|| engine.latest_structure_date());
    let display_date = match query.view {
        View::Reported => query
            .periods
            .iter()
            .max()
            .map(|p| p.last_day())
            .unwrap_or(target),
        _ => target,
    };
    let display = engine.structure(display_date);
    let top = match &query.node {
        Some(id) => timeline
            .unit(id)
            .ok_or_else(|| ColumnarError::Unsupported(format!("unknown unit {id}")))?,
        None => timeline.root,
    };
    let stock = definition.aggregation == Aggregation::Stock;
    let mut rates = Vec::new();
    for period in &query.periods {
        rates.push(
            engine
                .output_rate(query, *period, definition.measure, stock)
                .map_err(|e| ColumnarError::Unsupported(e.to_string()))?,
        );
    }
    let n_periods = query.periods.len();
    let minority = if ratio {
        HashMap::new()
    } else {
        minority_by_line(engine, table, &fast, query, basis, target)
    };
    // The engine's rows, in its order: each node line, then after its subtree its own
    // remainder and the eliminations between its children (where not zero), and at the
    // top of the group the discontinued and outside lines (docs/semantics.md, 3.4).
    let line_of_unit: HashMap<UnitIndex, usize> = fast
        .lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            if let FastLine::Node(u) = l {
                Some((*u, i))
            } else {
                None
            }
        })
        .collect();
    let node_lines: Vec<(UnitIndex, u32)> = display
        .descendants(top, query.depth)
        .into_iter()
        .filter(|(u, _)| line_of_unit.contains_key(u))
        .collect();
    // A ratio whose numerator is recorded but whose denominator is missing, zero or so small
    // that the quotient is not finite: the explainable engine gives the gap and its reason
    // (docs/semantics.md), so the pass declines rather than answer without them.
    if ratio {
        for (unit, _) in &node_lines {
            let line = line_of_unit[unit];
            for j in 0..n_periods {
                if let Some(n) = fast.get(0, line, j) {
                    let usable = fast
                        .get(1, line, j)
                        .is_some_and(|d| d != 0.0 && (n / d).is_finite());
                    if !usable {
                        return Err(ColumnarError::Unsupported(
                            "a ratio without a usable denominator".into(),
                        ));
                    }
                }
            }
        }
    }
    let value_of = |line: usize, j: usize| -> Option<f64> {
        if ratio {
            match (fast.get(0, line, j), fast.get(1, line, j)) {
                (Some(n), Some(d)) if d != 0.0 => Some(n / d),
                _ => None,
            }
        } else {
            fast.get(0, line, j).map(|v| v / rates[j])
        }
    };
    let eliminated_of = |line: usize, j: usize| {
        if ratio {
            0.0
        } else {
            fast.eliminated(0, line, j) / rates[j]
        }
    };
    let provenance = engine.basis_provenance(basis, query.view, target);
    let is_root = top == timeline.root;
    let specials: Vec<usize> = if is_root && query.depth > 0 && !ratio {
        let mut found: Vec<usize> = fast
            .lines
            .iter()
            .enumerate()
            .filter(|(i, l)| {
                !matches!(l, FastLine::Node(_))
                    && (0..n_periods).any(|j| fast.get(0, *i, j).is_some())
            })
            .map(|(i, _)| i)
            .collect();
        found.sort_by_key(|i| match fast.lines[*i] {
            FastLine::Discontinued(u) => (0, u),
            FastLine::Outside(u) => (1, u),
            FastLine::Node(u) => (2, u),
        });
        found
    } else {
        Vec::new()
    };
    let row = |unit: UnitIndex,
               name: String,
               depth: u32,
               kind: RowKind,
               j: usize,
               value: Option<f64>,
               amounts: (f64, f64),
               provenance: Option<String>| RollupRow {
        node: timeline.record(unit).id.to_string(),
        name,
        depth,
        kind,
        period: query.periods[j].label(calendar),
        metric: query.metric.to_string(),
        value,
        minority: amounts.0,
        eliminated: amounts.1,
        gap: None,
        provenance,
    };
    // Which units have a node line: looked up per child (a million children under one
    // parent searched the list of lines once each before, issue 16 item 6).
    let mut in_lines: Vec<bool> = vec![false; timeline.units.len()];
    for (unit, _) in &node_lines {
        in_lines[*unit as usize] = true;
    }
    let mut rows = Vec::new();
    let mut open: Vec<(u32, Vec<Vec<RollupRow>>)> = Vec::new();
    for (unit, depth) in &node_lines {
        while open.last().is_some_and(|(d, _)| *d >= *depth) {
            rows.extend(open.pop().expect("non-empty").1.into_iter().flatten());
        }
        let line = line_of_unit[unit];
        let name = timeline.record(*unit).name_on(display_date).to_string();
        for j in 0..n_periods {
            let value = value_of(line, j);
            let minority = minority.get(&(line, j)).copied().unwrap_or(0.0) / rates[j];
            rows.push(row(
                *unit,
                name.clone(),
                *depth,
                RowKind::Node,
                j,
                value,
                (minority, eliminated_of(line, j)),
                // A ratio's provenance is its numerator's and denominator's: where either has
                // figures, even when the quotient has no value (no numerator), as in the engine.
                (value.is_some()
                    || (ratio
                        && (fast.get(0, line, j).is_some() || fast.get(1, line, j).is_some())))
                .then(|| provenance.clone()),
            ));
        }
        let children: Vec<usize> = display.children[*unit as usize]
            .iter()
            .filter(|c| in_lines[**c as usize])
            .map(|c| line_of_unit[c])
            .collect();
        let mut closing = Vec::new();
        if !ratio && (!children.is_empty() || (*unit == top && query.depth > 0)) {
            let mut own_line = Vec::new();
            let mut elimination_line = Vec::new();
            for j in 0..n_periods {
                let gross = |l: usize| fast.get(0, l, j).unwrap_or(0.0) + fast.eliminated(0, l, j);
                let below: f64 = children.iter().map(|c| gross(*c)).sum();
                let lines_below: f64 = if *unit == top && is_root {
                    specials
                        .iter()
                        .map(|s| fast.get(0, *s, j).unwrap_or(0.0))
                        .sum()
                } else {
                    0.0
                };
                let own = (gross(line) - below - lines_below) / rates[j];
                let eliminations = -(fast.eliminated(0, line, j)
                    - children
                        .iter()
                        .map(|c| fast.eliminated(0, *c, j))
                        .sum::<f64>())
                    / rates[j];
                own_line.push(row(
                    *unit,
                    format!("not allocated below {name}"),
                    depth + 1,
                    RowKind::Own,
                    j,
                    Some(own),
                    (0.0, 0.0),
                    None,
                ));
                elimination_line.push(row(
                    *unit,
                    format!("eliminations within {name}"),
                    depth + 1,
                    RowKind::Eliminations,
                    j,
                    Some(eliminations),
                    (0.0, 0.0),
                    None,
                ));
            }
            for line_rows in [own_line, elimination_line] {
                let scale = (0..n_periods)
                    .map(|j| value_of(line, j).unwrap_or(0.0).abs())
                    .fold(1.0, f64::max);
                if line_rows.iter().any(|r| {
                    r.value
                        .is_some_and(|v| v.abs() > crate::rollup::LINE_SHOWN_ABOVE * scale)
                }) {
                    closing.push(line_rows);
                }
            }
            if *unit == top && is_root {
                if !specials.is_empty() {
                    closing.push(
                        (0..n_periods)
                            .map(|j| {
                                let value = value_of(line, j).map(|v| {
                                    v - specials
                                        .iter()
                                        .map(|s| fast.get(0, *s, j).unwrap_or(0.0) / rates[j])
                                        .sum::<f64>()
                                });
                                row(
                                    *unit,
                                    "continuing operations".to_string(),
                                    1,
                                    RowKind::Continuing,
                                    j,
                                    value,
                                    (0.0, 0.0),
                                    value.map(|_| provenance.clone()),
                                )
                            })
                            .collect(),
                    );
                }
                for special in &specials {
                    let (u, kind, label) = match fast.lines[*special] {
                        FastLine::Discontinued(u) => (
                            u,
                            RowKind::Discontinued,
                            format!("discontinued: {}", timeline.record(u).last_name()),
                        ),
                        FastLine::Outside(u) => (
                            u,
                            RowKind::OutsideStructure,
                            format!(
                                "not in the {target} structure: {}",
                                timeline.record(u).last_name()
                            ),
                        ),
                        FastLine::Node(u) => (u, RowKind::Node, String::new()),
                    };
                    closing.push(
                        (0..n_periods)
                            .map(|j| {
                                row(
                                    u,
                                    label.clone(),
                                    1,
                                    kind.clone(),
                                    j,
                                    Some(fast.get(0, *special, j).unwrap_or(0.0) / rates[j]),
                                    (0.0, 0.0),
                                    None,
                                )
                            })
                            .collect(),
                    );
                }
            }
        }
        open.push((*depth, closing));
    }
    while let Some((_, closing)) = open.pop() {
        rows.extend(closing.into_iter().flatten());
    }
    let excluded = engine.view_exclusions(query.view, &query.periods, target);
    Ok(crate::rollup::Rollup {
        metric: query.metric.to_string(),
        view: query.view,
        structure: display_date,
        currency: (definition.measure == Measure::Currency).then(|| {
            query
                .currency
                .clone()
                .unwrap_or_else(|| model.group.currency.clone())
                .to_string()
        }),
        periods: query.periods.iter().map(|p| p.label(calendar)).collect(),
        rows,
        excluded: excluded
            .iter()
            .map(|u| timeline.record(*u).id.to_string())
            .collect(),
        engine: "columnar".to_string(),
    })
}

/// The minority (non-controlling) share in each (line, period) of a fast answer, in the
/// reporting currency: the same sum the engine makes over its contributions, made only over
/// the rows of units that are consolidated but not wholly owned on their date.
fn minority_by_line(
    engine: &Engine,
    table: &FactTable,
    fast: &FastRollup,
    query: &crate::rollup::Query,
    basis: Basis,
    target: NaiveDate,
) -> HashMap<(usize, usize), f64> {
    let timeline = engine.timeline();
    let model = engine.model();
    let mut out: HashMap<(usize, usize), f64> = HashMap::new();
    if timeline
        .units
        .iter()
        .all(|u| u.stakes.iter().all(|(_, share, _)| *share == 1.0))
    {
        return out;
    }
    let Some(metric) = model.metrics.iter().position(|m| m.id == query.metric) else {
        return out;
    };
    // Where each table period's rows count (a period built from finer ones takes several).
    let Some(map) = fast
        .metrics
        .iter()
        .position(|m| *m == query.metric)
        .map(|mi| &fast.query_of_period[mi])
    else {
        return out;
    };
    let stock = model.metrics[metric].aggregation == Aggregation::Stock;
    let line_of_unit: HashMap<UnitIndex, usize> = fast
        .lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            if let FastLine::Node(u) = l {
                Some((*u, i))
            } else {
                None
            }
        })
        .collect();
    let excluded = engine.view_exclusions(query.view, &query.periods, target);
    // Only units whose ownership is ever partial can have a minority: the others' rows (most
    // of a large group's) are skipped without a lookup.
    let tainted = ownership_tainted(timeline);
    let query_of_period: Vec<Option<usize>> = map
        .iter()
        .map(|j| (*j != u32::MAX).then_some(*j as usize))
        .collect();
    let mut ownership: HashMap<(UnitIndex, NaiveDate), (f64, f64)> = HashMap::new();
    let mut add = |via: UnitIndex,
                   date: NaiveDate,
                   j: usize,
                   amount: f64,
                   out: &mut HashMap<(usize, usize), f64>| {
        let (factor, economic) = *ownership
            .entry((via, date))
            .or_insert_with(|| timeline.ownership_on(via, date));
        if factor == economic || factor == 0.0 {
            return;
        }
        let until = if query.view == View::Reported {
            query.periods[j].last_day()
        } else {
            target
        };
        let mut landings = Vec::new();
        if query.view == View::Reported && date >= until {
            landings.push((Target::Unit(via, date), 1.0));
        } else {
            engine.lineage_weights(
                via,
                (date, usize::MAX),
                until,
                &query.metric,
                &mut landings,
                1.0,
            );
        }
        for (place, weight) in landings {
            // The group root holds every landing, lines included (as in the engine).
            let Target::Unit(unit, at) = place else {
                if let Some(line) = line_of_unit.get(&timeline.root) {
                    *out.entry((*line, j)).or_insert(0.0) += amount * (factor - economic) * weight;
                }
                continue;
            };
            let structure = engine.structure(at);
            for ancestor in structure.ancestors(unit) {
                if let Some(line) = line_of_unit.get(&ancestor) {
                    *out.entry((*line, j)).or_insert(0.0) += amount * (factor - economic) * weight;
                }
            }
        }
    };
    let rate_of = |currency: u8, period: Period| -> f64 {
        if currency == 0 {
            1.0
        } else {
            engine
                .rate_of(&table.currencies[currency as usize], period, stock)
                .unwrap_or(f64::NAN)
        }
    };
    for (s, key) in table.series.iter().enumerate() {
        if key.metric as usize != metric
            || key.basis != basis
            || !tainted[key.unit as usize]
            || excluded.contains(&key.unit)
        {
            continue;
        }
        for r in table.offsets[s]..table.offsets[s + 1] {
            let period = table.periods[table.period[r] as usize];
            let Some(j) = query_of_period[table.period[r] as usize] else {
                continue;
            };
            let date = FactTable::fact_date(engine, key.unit, period, key.basis);
            add(
                key.unit,
                date,
                j,
                table.value[r] * rate_of(key.currency, period),
                &mut out,
            );
        }
    }
    for adjustment in &table.adjustments {
        if adjustment.metric as usize != metric
            || adjustment.basis != basis
            || !tainted[adjustment.above as usize]
            || excluded.contains(&adjustment.above)
        {
            continue;
        }
        let period = table.periods[adjustment.period as usize];
        let Some(j) = query_of_period[adjustment.period as usize] else {
            continue;
        };
        add(
            adjustment.above,
            adjustment.date,
            j,
            -adjustment.value * rate_of(adjustment.currency, period),
            &mut out,
        );
    }
    out
}

#[cfg(test)]
mod decompose_tests {
    use super::*;
    use crate::synth::{Synth, SynthSpec};
    use proptest::prelude::*;

    /// The decomposition as it was worked out before series were skipped: every row of
    /// every series against the structure of its date.
    fn every_row(table: &FactTable, engine: &Engine) -> Vec<Adjustment> {
        let mut present: HashMap<(u16, Basis), Vec<Vec<bool>>> = HashMap::new();
        let units = engine.timeline().units.len();
        for (s, key) in table.series.iter().enumerate() {
            let rows = present
                .entry((key.metric, key.basis))
                .or_insert_with(|| vec![vec![false; units]; table.periods.len()]);
            for r in table.offsets[s]..table.offsets[s + 1] {
                rows[table.period[r] as usize][key.unit as usize] = true;
            }
        }
        let mut adjustments = Vec::new();
        for (s, key) in table.series.iter().enumerate() {
            let has = &present[&(key.metric, key.basis)];
            for r in table.offsets[s]..table.offsets[s + 1] {
                let p = table.period[r] as usize;
                let date = FactTable::fact_date(engine, key.unit, table.periods[p], key.basis);
                let structure = engine.structure(date);
                let adjustment = |above: UnitIndex, value: f64, given_back: bool| Adjustment {
                    above,
                    date,
                    metric: key.metric,
                    period: p as u16,
                    currency: key.currency,
                    basis: key.basis,
                    value,
                    row: r,
                    given_back,
                };
                let mut above = structure.ancestors(key.unit).skip(1);
                if let Some(a) = above.find(|a| has[p][*a as usize]) {
                    adjustments.push(adjustment(a, table.value[r], false));
                }
                if let Some(other) = key.counterparty {
                    let mut above = structure.ancestors(key.unit).skip(1);
                    if let Some(a) =
                        above.find(|a| has[p][*a as usize] && structure.in_subtree(other, *a))
                    {
                        adjustments.push(adjustment(a, -table.value[r], true));
                    }
                }
            }
        }
        adjustments
    }

    /// Recorded totals on every `every`-th unit that is not a leaf for some month (a parent
    /// then; it may be a leaf with figures of its own in other months), for each month it
    /// lives through whole, in revenue and in a second metric.
    fn with_totals(mut model: Model, every: usize) -> Model {
        let engine = Engine::new(&model).unwrap();
        let months: std::collections::BTreeSet<Period> =
            model.facts.iter().map(|f| f.key.period).collect();
        let template = model.facts[0].clone();
        let mut totals = Vec::new();
        let taken: std::collections::HashSet<_> =
            model.facts.iter().map(|f| f.key.clone()).collect();
        for (i, record) in engine.timeline().units.iter().enumerate() {
            if i % every != 0 {
                continue;
            }
            for (k, month) in months.iter().enumerate() {
                if !(record.alive_on(month.first_day()) && record.alive_on(month.last_day())) {
                    continue;
                }
                for metric in ["revenue", "ebita"] {
                    let mut fact = template.clone();
                    fact.key.unit = record.id.clone();
                    fact.key.period = *month;
                    fact.key.metric = MetricId::parse(metric).unwrap();
                    fact.key.counterparty = None;
                    fact.currency = None;
                    fact.value = 500.0 + (i * 7 + k) as f64;
                    if !taken.contains(&fact.key) {
                        totals.push(fact);
                    }
                }
            }
        }
        model.facts.extend(totals);
        model
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Skipping the series no unit ever above them meets in their periods drops no
        /// adjustment: the decomposition equals the row-by-row one, in the same order, on
        /// generated groups (every change kind, intercompany figures) with and without
        /// recorded totals.
        #[test]
        fn skipping_series_keeps_every_adjustment(seed in 0u64..10_000, units in 8usize..50, changes in 0usize..60, every in 0usize..4) {
            let spec = SynthSpec { units, facts: 3_000, changes, seed, months: Some(24), metrics: Some(3), depth: 3, intercompany: 0.1 };
            let mut model = Synth::generate(&spec).into_model();
            if every > 0 {
                model = with_totals(model, every);
            }
            let engine = Engine::new(&model).unwrap();
            let table = FactTable::from_model(&model, &engine).unwrap();
            let expected = every_row(&table, &engine);
            prop_assert_eq!(&table.adjustments, &expected);
        }
    }

    /// The recorded totals of a fixed group do take something off (so the property above
    /// compares adjustments, not two empty lists).
    #[test]
    fn recorded_totals_give_adjustments() {
        let spec = SynthSpec {
            units: 40,
            facts: 3_000,
            changes: 30,
            seed: 7,
            months: Some(24),
            metrics: Some(3),
            depth: 3,
            intercompany: 0.1,
        };
        let model = with_totals(Synth::generate(&spec).into_model(), 2);
        let engine = Engine::new(&model).unwrap();
        let table = FactTable::from_model(&model, &engine).unwrap();
        assert!(!table.adjustments.is_empty());
        assert_eq!(table.adjustments, every_row(&table, &engine));
    }
}
