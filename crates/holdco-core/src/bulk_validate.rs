//! Whole-model validation for large models: the same problems, in the same order, as
//! [`crate::validate::validate`], found with hashed lookups and the per-fact checks spread
//! over threads (a model of ten million facts validates in a second or two, not a minute).
//!
//! Tests hold the two equal on every bad-input fixture; `holdco check` and `holdco import`
//! use this one.

use crate::format::fact_columns::{FactColumns, NONE};
use crate::format::streamed::FactRows;
use crate::model::{Aggregation, Basis, Diagnostic, Measure, Metric, Model};
use crate::timeline::Timeline;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

/// Facts checked by one task.
const CHUNK_FACTS: usize = 1 << 16;

/// Checks a parsed model. Returns the replayed timeline and every problem, in file order:
/// exactly what [`crate::validate::validate`] returns.
pub fn validate(model: &Model) -> (Timeline<'_>, Vec<Diagnostic>) {
    let (timeline, mut problems) = Timeline::replay(&model.group, &model.metrics, &model.timeline);
    let checks = FactChecks::new(model, &timeline);
    // Per-fact problems, tagged with the fact's index, chunk by chunk in order.
    let per_fact: Vec<Vec<(usize, Diagnostic)>> = model
        .facts
        .par_chunks(CHUNK_FACTS)
        .enumerate()
        .map(|(chunk, facts)| checks.problems(facts, chunk * CHUNK_FACTS))
        .collect();
    let duplicates = duplicate_problems(model);
    // Merge by fact index; a fact's duplicate problem comes after its other problems.
    let mut duplicates = duplicates.into_iter().peekable();
    for (index, problem) in per_fact.into_iter().flatten() {
        while duplicates.peek().is_some_and(|(d, _)| *d < index) {
            problems.push(duplicates.next().expect("peeked").1);
        }
        problems.push(problem);
    }
    problems.extend(duplicates.map(|(_, problem)| problem));
    crate::validate::check_rates(model, &mut problems);
    (timeline, problems)
}

/// The rules checked fact by fact (metric, currency, unit, period, counterparty), against a
/// model's metrics, rates and replayed timeline: shared by [`validate`] and
/// [`validate_rows`], so both word every problem alike.
pub(crate) struct FactChecks<'m> {
    model: &'m Model,
    timeline: &'m Timeline<'m>,
    metrics: FxHashMap<&'m str, &'m Metric>,
    rate_currencies: FxHashSet<&'m str>,
}

impl<'m> FactChecks<'m> {
    pub(crate) fn new(model: &'m Model, timeline: &'m Timeline<'m>) -> Self {
        let mut metrics: FxHashMap<&str, &Metric> = FxHashMap::default();
        for metric in &model.metrics {
            metrics.entry(metric.id.as_str()).or_insert(metric);
        }
        let rate_currencies: FxHashSet<&str> =
            model.fx.iter().map(|r| r.currency.as_str()).collect();
        FactChecks {
            model,
            timeline,
            metrics,
            rate_currencies,
        }
    }

    /// The problems of `facts`, each tagged with its index (`first` for the first fact).
    pub(crate) fn problems(
        &self,
        facts: &[crate::model::Fact],
        first: usize,
    ) -> Vec<(usize, Diagnostic)> {
        let model = self.model;
        let calendar = model.group.calendar();
        let metrics = &self.metrics;
        let rate_currencies = &self.rate_currencies;
        let timeline_ref = self.timeline;
        let defined_metrics = || {
            model
                .metrics
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut found = Vec::new();
        for (offset, fact) in facts.iter().enumerate() {
            let index = first + offset;
            let mut at = |field: &str, message: String| {
                found.push((index, Diagnostic::at(&fact.origin, Some(field), message)))
            };
            let key = &fact.key;
            match metrics.get(key.metric.as_str()) {
                None => at("metric", format!("unknown metric `{}` (defined metrics: {})", key.metric, defined_metrics())),
                Some(m) if matches!(m.aggregation, Aggregation::Ratio { .. }) => {
                    at("metric", format!("`{}` is a ratio, computed from its numerator and denominator; record those instead", key.metric))
                }
                Some(m) => {
                    if m.measure != Measure::Currency && fact.currency.is_some() {
                        at("currency", format!("`{}` is not a currency metric; leave currency empty", key.metric));
                    }
                    if m.aggregation == Aggregation::NonAdditive && key.counterparty.is_some() {
                        at("counterparty", "a non-additive metric can't be eliminated; leave counterparty empty".into());
                    }
                }
            }
            if let Some(currency) = &fact.currency {
                if currency != &model.group.currency && !rate_currencies.contains(currency.as_str())
                {
                    at(
                        "currency",
                        format!(
                            "no FX rates for {currency} in fx.csv (needed to translate into {})",
                            model.group.currency
                        ),
                    );
                }
            }
            match timeline_ref.unit(&key.unit) {
                None => at(
                    "unit",
                    format!("unknown unit `{}` (create it in timeline.toml)", key.unit),
                ),
                Some(unit) => {
                    let record = timeline_ref.record(unit);
                    match key.basis {
                        Basis::Restated { structure } | Basis::ProForma { structure } => {
                            if !record.alive_on(structure) {
                                at("structure", format!("unit `{}` does not exist on {structure}, the structure this {} figure was published under", key.unit, key.basis.name()));
                            }
                        }
                        _ => {
                            let first = key.period.first_day();
                            let last = key.period.last_day();
                            let ended_before = record.ended.is_some_and(|(end, _)| end <= first);
                            if record.created > last || ended_before {
                                let life = match record.ended {
                                    Some((end, _)) => {
                                        format!("from {} until {end}", record.created)
                                    }
                                    None => format!("from {}", record.created),
                                };
                                at(
                                    "period",
                                    format!(
                                        "{} lies outside the life of unit `{}` (it exists {life})",
                                        key.period.label(calendar),
                                        key.unit
                                    ),
                                );
                            }
                        }
                    }
                }
            }
            if let Some(counterparty) = &key.counterparty {
                if counterparty == &key.unit {
                    at(
                        "counterparty",
                        "a unit can't be its own counterparty".into(),
                    );
                } else {
                    match timeline_ref.unit(counterparty) {
                        None => at("counterparty", format!("unknown unit `{counterparty}`")),
                        Some(unit) => {
                            let record = timeline_ref.record(unit);
                            if record.created > key.period.last_day()
                                || record
                                    .ended
                                    .is_some_and(|(end, _)| end <= key.period.first_day())
                            {
                                at("counterparty", format!("counterparty `{counterparty}` is not in the group during {}", key.period.label(calendar)));
                            }
                        }
                    }
                }
            }
        }
        found
    }
}

/// [`validate`] of a model whose facts come as rows ([`FactRows`], read by
/// [`crate::format::streamed::read_model_streamed`]; `model` holds no facts): reports the
/// same problems in the same order, with the facts rebuilt a chunk at a time, so memory
/// holds the rows and a few chunks, never one whole [`crate::model::Fact`] per row.
pub fn validate_rows(model: &Model, rows: &FactRows, report: &mut dyn FnMut(Diagnostic)) {
    let (timeline, problems) = Timeline::replay(&model.group, &model.metrics, &model.timeline);
    for problem in problems {
        report(problem);
    }
    let checks = FactChecks::new(model, &timeline);
    let duplicates = row_duplicates(rows);
    let mut duplicates = duplicates.into_iter().peekable();
    let duplicate = |(later, earlier): (u32, u32)| {
        Diagnostic::at(
            &rows.origin(later as usize),
            Some("unit"),
            format!(
                "duplicate fact: same unit, period, metric, counterparty and basis as {}",
                rows.origin(earlier as usize)
            ),
        )
    };
    // A few chunks per thread at a time: their facts are rebuilt, checked and dropped.
    let batch = CHUNK_FACTS * rayon::current_num_threads().max(1) * 2;
    let mut first = 0;
    while first < rows.len() {
        let end = (first + batch).min(rows.len());
        let per_chunk: Vec<Vec<(usize, Diagnostic)>> = (first..end)
            .step_by(CHUNK_FACTS)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|start| {
                let range = start..(start + CHUNK_FACTS).min(end);
                checks.problems(&rows.facts(range), start)
            })
            .collect();
        for (index, problem) in per_chunk.into_iter().flatten() {
            while duplicates
                .peek()
                .is_some_and(|(d, _)| (*d as usize) < index)
            {
                report(duplicate(duplicates.next().expect("peeked")));
            }
            report(problem);
        }
        first = end;
    }
    for pair in duplicates {
        report(duplicate(pair));
    }
    let mut problems = Vec::new();
    crate::validate::check_rates(model, &mut problems);
    for problem in problems {
        report(problem);
    }
}

/// Every row whose key an earlier row already has, with the latest such earlier row, in row
/// order (as [`duplicate_problems`] pairs facts).
fn row_duplicates(rows: &FactRows) -> Vec<(u32, u32)> {
    let series_count = rows.series.len();
    let mut offsets = vec![0usize; series_count + 1];
    for series in &rows.row_series {
        offsets[*series as usize + 1] += 1;
    }
    for series in 0..series_count {
        offsets[series + 1] += offsets[series];
    }
    let mut cursor = offsets.clone();
    let mut order = vec![0u32; rows.len()];
    for (row, series) in rows.row_series.iter().enumerate() {
        let slot = &mut cursor[*series as usize];
        order[*slot] = row as u32;
        *slot += 1;
    }
    drop(cursor);
    let start_of = |row: &u32| rows.row_start[*row as usize];
    let mut found: Vec<(u32, u32)> = offsets
        .par_windows(2)
        .flat_map_iter(|range| {
            let members = &order[range[0]..range[1]];
            let mut found = Vec::new();
            if members
                .windows(2)
                .all(|pair| start_of(&pair[0]) < start_of(&pair[1]))
            {
                return found;
            }
            let mut members = members.to_vec();
            members.sort_by_key(start_of);
            for pair in members.windows(2) {
                if start_of(&pair[0]) == start_of(&pair[1]) {
                    found.push((pair[1], pair[0]));
                }
            }
            found
        })
        .collect();
    found.sort_unstable_by_key(|(later, _)| *later);
    found
}

/// True when a model read as columns ([`crate::format::fact_columns`]) has no problem at
/// all: `model` holds everything but the facts, `columns` the facts. Checks what
/// [`validate`] checks, once per series where the rule is the same for every fact of a
/// series (unit, metric, counterparty, lives of units over the series' first and last
/// periods) and per row otherwise (currencies); sorts each series by period and refuses a
/// repeated key. It never explains a problem: on `false`, validate the model read by
/// [`crate::format::read_model`] for the diagnostics.
pub fn columns_valid(model: &Model, columns: &mut FactColumns) -> bool {
    columns_valid_timeline(model, columns).is_some()
}

/// [`columns_valid`], giving the replayed timeline of a valid model, so an engine over the
/// model is built without replaying it again ([`crate::rollup::Engine::over_valid`]).
pub fn columns_valid_timeline<'m>(
    model: &'m Model,
    columns: &mut FactColumns,
) -> Option<Timeline<'m>> {
    if !model.facts.is_empty() {
        return None;
    }
    let (timeline, problems) = validate(model);
    if !problems.is_empty() || !columns.sort_series() {
        return None;
    }
    let mut metrics: FxHashMap<&str, &Metric> = FxHashMap::default();
    for metric in &model.metrics {
        metrics.entry(metric.id.as_str()).or_insert(metric);
    }
    let rate_currencies: FxHashSet<&str> = model.fx.iter().map(|r| r.currency.as_str()).collect();
    let currency_ok: Vec<bool> = columns
        .currencies
        .iter()
        .map(|currency| {
            currency == &model.group.currency || rate_currencies.contains(currency.as_str())
        })
        .collect();
    let units: Vec<Option<&crate::timeline::UnitRecord>> = columns
        .units
        .iter()
        .map(|unit| timeline.unit(unit).map(|index| timeline.record(index)))
        .collect();
    let columns = &*columns;
    let valid = (0..columns.series.len())
        .into_par_iter()
        .with_min_len(256)
        .all(|series| {
            let s = &columns.series[series];
            let rows = columns.rows(series);
            if rows.is_empty() {
                return true;
            }
            let Some(metric) = metrics.get(columns.metrics[s.metric as usize].as_str()) else {
                return false;
            };
            if matches!(metric.aggregation, Aggregation::Ratio { .. }) {
                return false;
            }
            if metric.aggregation == Aggregation::NonAdditive && s.counterparty != NONE {
                return false;
            }
            let currencies = &columns.currency[rows.clone()];
            let currencies_ok = if metric.measure == Measure::Currency {
                currencies
                    .iter()
                    .all(|c| *c == NONE || currency_ok[*c as usize])
            } else {
                currencies.iter().all(|c| *c == NONE)
            };
            if !currencies_ok {
                return false;
            }
            // Sorted by start, one granularity: the first period ends first, the last starts last.
            let first = crate::period::Period::new(columns.starts[rows.start], s.granularity);
            let last = crate::period::Period::new(columns.starts[rows.end - 1], s.granularity);
            let lives_over = |record: &crate::timeline::UnitRecord| {
                record.created <= first.last_day()
                    && record.ended.is_none_or(|(end, _)| end > last.first_day())
            };
            let Some(record) = units[s.unit as usize] else {
                return false;
            };
            match s.basis {
                Basis::Restated { structure } | Basis::ProForma { structure } => {
                    if !record.alive_on(structure)
                        || !(0..=9999).contains(&chrono::Datelike::year(&structure))
                    {
                        return false;
                    }
                }
                _ => {
                    if !lives_over(record) {
                        return false;
                    }
                }
            }
            if s.counterparty != NONE {
                if s.counterparty == s.unit {
                    return false;
                }
                match units[s.counterparty as usize] {
                    Some(record) if lives_over(record) => {}
                    _ => return false,
                }
            }
            true
        });
    drop(units);
    valid.then_some(timeline)
}

/// Every fact whose key an earlier fact already has, with its problem, in fact order.
///
/// Facts are grouped by series (the key without the period), with ids compared as numbers:
/// each distinct id string is numbered once, found by the address of the shared string
/// before its text. Each thread groups a contiguous part of the facts; the parts' groups are
/// merged in order, and each series is sorted by period on its own, so equal keys end up
/// side by side in file order.
fn duplicate_problems(model: &Model) -> Vec<(usize, Diagnostic)> {
    let facts = &model.facts;
    let parts = rayon::current_num_threads().max(1);
    let part_size = facts.len().div_ceil(parts).max(1);
    // Each part numbers its ids and series and tags every fact with its series number.
    let grouped: Vec<(Vec<&str>, Vec<SeriesKey>, Vec<u32>)> = facts
        .par_chunks(part_size)
        .map(|slice| {
            let mut numbering = Numbering::default();
            let mut numbers: FxHashMap<SeriesKey, u32> = FxHashMap::default();
            let mut keys: Vec<SeriesKey> = Vec::new();
            let mut series_of: Vec<u32> = Vec::with_capacity(slice.len());
            for fact in slice {
                let key = &fact.key;
                let mut number = |text| numbering.number(text);
                let (basis, structure) = basis_numbers(key.basis);
                let series_key = SeriesKey {
                    unit: number(key.unit.as_str()),
                    metric: number(key.metric.as_str()),
                    counterparty: key
                        .counterparty
                        .as_ref()
                        .map_or(u32::MAX, |unit| number(unit.as_str())),
                    granularity: key.period.granularity,
                    basis,
                    structure,
                };
                let next = keys.len() as u32;
                let found = *numbers.entry(series_key).or_insert(next);
                if found == next {
                    keys.push(series_key);
                }
                series_of.push(found);
            }
            (numbering.texts, keys, series_of)
        })
        .collect();
    // Merge the parts: renumber each part's ids by text and its series by key.
    let mut global_ids: FxHashMap<&str, u32> = FxHashMap::default();
    let mut global_series: FxHashMap<SeriesKey, u32> = FxHashMap::default();
    let mut series_of: Vec<u32> = Vec::with_capacity(facts.len());
    for (texts, keys, part_series) in grouped {
        let ids: Vec<u32> = texts
            .iter()
            .map(|text| {
                let next = global_ids.len() as u32;
                *global_ids.entry(text).or_insert(next)
            })
            .collect();
        let renumbered: Vec<u32> = keys
            .into_iter()
            .map(|mut key| {
                key.unit = ids[key.unit as usize];
                key.metric = ids[key.metric as usize];
                if key.counterparty != u32::MAX {
                    key.counterparty = ids[key.counterparty as usize];
                }
                let next = global_series.len() as u32;
                *global_series.entry(key).or_insert(next)
            })
            .collect();
        series_of.extend(
            part_series
                .into_iter()
                .map(|local| renumbered[local as usize]),
        );
    }
    // A counting sort lays the facts out series by series, in file order within each.
    let mut offsets = vec![0usize; global_series.len() + 1];
    for series in &series_of {
        offsets[*series as usize + 1] += 1;
    }
    for series in 0..global_series.len() {
        offsets[series + 1] += offsets[series];
    }
    let mut cursor = offsets.clone();
    let mut order = vec![0u32; facts.len()];
    for (index, series) in series_of.iter().enumerate() {
        let slot = &mut cursor[*series as usize];
        order[*slot] = index as u32;
        *slot += 1;
    }
    let start_of = |index: &u32| facts[*index as usize].key.period.start;
    let mut found: Vec<(usize, Diagnostic)> = offsets
        .par_windows(2)
        .flat_map_iter(|range| {
            let members = &order[range[0]..range[1]];
            let mut found = Vec::new();
            if members.windows(2).all(|pair| start_of(&pair[0]) < start_of(&pair[1])) {
                return found; // the common case: in period order already, no repeats
            }
            let mut members = members.to_vec();
            members.sort_by_key(start_of);
            for pair in members.windows(2) {
                let (earlier, later) = (&facts[pair[0] as usize], &facts[pair[1] as usize]);
                if earlier.key.period.start == later.key.period.start {
                    // Like the one-table check, a repeated key is reported against the latest
                    // fact before it with that key (the stable sort keeps file order).
                    found.push((
                        pair[1] as usize,
                        Diagnostic::at(&later.origin, Some("unit"), format!("duplicate fact: same unit, period, metric, counterparty and basis as {}", earlier.origin)),
                    ));
                }
            }
            found
        })
        .collect();
    found.sort_unstable_by_key(|(index, _)| *index);
    found
}

/// Numbers for distinct id texts, found by the address of the shared string before its text.
#[derive(Default)]
struct Numbering<'m> {
    texts: Vec<&'m str>,
    by_text: FxHashMap<&'m str, u32>,
    by_address: FxHashMap<(usize, usize), u32>,
}

impl<'m> Numbering<'m> {
    fn number(&mut self, text: &'m str) -> u32 {
        let address = (text.as_ptr() as usize, text.len());
        if let Some(number) = self.by_address.get(&address) {
            return *number;
        }
        let number = match self.by_text.get(text) {
            Some(number) => *number,
            None => {
                let number = self.texts.len() as u32;
                self.texts.push(text);
                self.by_text.insert(text, number);
                number
            }
        };
        self.by_address.insert(address, number);
        number
    }
}

/// The basis as numbers: its variant, and the structure date's day number when restated.
fn basis_numbers(basis: Basis) -> (u8, i32) {
    match basis {
        Basis::Reported => (0, 0),
        Basis::Restated { structure } => (1, chrono::Datelike::num_days_from_ce(&structure)),
        Basis::Plan => (2, 0),
        Basis::Estimate => (3, 0),
        Basis::ProForma { structure } => (4, chrono::Datelike::num_days_from_ce(&structure)),
    }
}

/// A fact key without its period start, with ids as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct SeriesKey {
    unit: u32,
    metric: u32,
    counterparty: u32,
    granularity: crate::period::Granularity,
    basis: u8,
    structure: i32,
}

#[cfg(test)]
mod tests {
    use crate::format::read_model;
    use crate::format::ModelFiles;

    fn files(facts: &str) -> ModelFiles {
        let mut files = ModelFiles::new();
        files.insert(
            "group.toml".into(),
            br#"[group]
id = "g"
name = "G"
currency = "CNY"
fiscal_year_end = "03-31"

[[metric]]
id = "revenue"
name = "Revenue"
measure = "currency"
aggregation = "flow"

[[metric]]
id = "dau"
name = "Daily active users"
measure = "users"
aggregation = "non_additive"

[[metric]]
id = "margin"
name = "Margin"
measure = "percent"
aggregation = "ratio"
numerator = "revenue"
denominator = "revenue"
"#
            .to_vec(),
        );
        files.insert(
            "timeline.toml".into(),
            br#"[[change]]
date = 2020-01-01
kind = "create"
unit = "g"
name = "G"
unit_kind = "group"

[[change]]
date = 2020-01-01
kind = "create"
unit = "a"
name = "A"
parent = "g"
"#
            .to_vec(),
        );
        files.insert("facts.csv".into(), facts.as_bytes().to_vec());
        files
    }

    /// The columnar check passes exactly the folders the reference path finds no problem in.
    #[test]
    fn columns_are_valid_exactly_when_the_reference_finds_nothing() {
        let header = "unit,period,metric,value,currency,counterparty,basis,structure\n";
        let cases = [
            ("a,FY2021,revenue,1,,,,\na,FY2022,revenue,2,,,,\n", true),
            ("a,FY2022,revenue,1,,,,\na,FY2021,revenue,2,,,,\n", true),
            ("a,FY2021,revenue,1,CNY,,,\na,FY2021,dau,2,,g,,\n", false),
            ("a,FY2021,dau,2,,,,\na,2021Q1,revenue,1,CNY,g,,\n", true),
            ("a,FY2021,revenue,1,,,,\na,FY2021,revenue,2,,,,\n", false),
            (
                "a,FY2022,revenue,1,,,,\na,FY2021,revenue,2,,,,\na,FY2022,revenue,3,,,,\n",
                false,
            ),
            ("b,FY2021,revenue,1,,,,\n", false),
            ("a,FY2019,revenue,1,,,,\n", false),
            ("a,FY2021,revenue,1,,,,\na,FY2019,revenue,1,,,,\n", false),
            ("a,FY2021,revenue,1,EUR,,,\n", false),
            ("a,FY2021,dau,1,USD,,,\n", false),
            ("a,FY2021,margin,1,,,,\n", false),
            ("a,FY2021,nothing,1,,,,\n", false),
            ("a,FY2021,revenue,1,,a,,\n", false),
            ("a,FY2021,revenue,1,,z,,\n", false),
            ("a,FY2019,revenue,1,,,restated,2021-01-01\n", true),
            ("a,FY2021,revenue,1,,,restated,2019-01-01\n", false),
            (
                "a,FY2021,revenue,1,,,plan,\na,FY2021,revenue,1,,,estimate,\n",
                true,
            ),
            // Issue 16 item 10: magnitudes beyond 1e15 are refused by every reader, the fast
            // decimal path (exact up to 2^53, about 9e15) included.
            ("a,FY2021,revenue,1e308,,,,\n", false),
            ("a,FY2021,revenue,9000000000000000,,,,\n", false),
            ("a,FY2021,revenue,-1000000000000000.5,,,,\n", false),
            ("a,FY2021,revenue,1000000000000000,,,,\n", true),
            ("a,FY2021,revenue,-1e15,,,,\n", true),
        ];
        for (rows, valid) in cases {
            let files = files(&format!("{header}{rows}"));
            let (model, problems) = read_model(&files);
            let (_, more) = super::validate(&model.expect("a model"));
            assert_eq!(
                problems.is_empty() && more.is_empty(),
                valid,
                "{rows}: {problems:?} {more:?}"
            );
            // A value the columns can't hold sends the caller to the reference path (None).
            match crate::format::fact_columns::read_model_columns(&files) {
                Some((model, mut columns)) => {
                    assert_eq!(super::columns_valid(&model, &mut columns), valid, "{rows}")
                }
                None => assert!(!valid, "{rows}: a valid folder must read as columns"),
            }
        }
    }

    #[test]
    fn finds_what_the_one_table_check_finds_in_the_same_order() {
        let facts = "unit,period,metric,value,currency,counterparty\n\
            a,FY2021,revenue,1,,\n\
            a,FY2021,revenue,2,,\n\
            b,FY2021,revenue,1,,\n\
            a,FY2019,revenue,1,EUR,\n\
            a,FY2021,margin,1,,\n\
            a,FY2021,nothing,1,,a\n\
            a,FY2021,revenue,3,,\n\
            a,FY2022,dau,1,,g\n\
            a,FY2022,revenue,1,USD,a\n\
            a,FY2022,revenue,1,,z\n";
        let (model, problems) = read_model(&files(facts));
        assert!(problems.is_empty(), "{problems:?}");
        let model = model.expect("a model");
        let (_, expected) = crate::validate::validate(&model);
        let (_, found) = super::validate(&model);
        assert!(expected.len() >= 6, "{expected:?}");
        assert_eq!(found, expected);
    }
}
