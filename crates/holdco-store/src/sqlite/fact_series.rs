//! Facts read straight into columns, for queries over millions of facts: one
//! [`StoredSeries`] per series row of the `facts` table, decoded on several threads, and a
//! [`FactTable`] built from them without a [`holdco_core::Fact`] per row.
//!
//! Revised facts keep their place in their series: a position a segment lists as superseded
//! takes the revision log's current figure (the log holds only keys ever revised, so this
//! costs in proportion to the revisions). Keys only the log holds (stores written before
//! migration 0003 kept every fact there) come as extra series.

use super::segments::{self, FastMap, Logged, SeriesText};
use super::series_codec::{column, Array, OwnedArray};
use super::{corrupt, database, granularity_text, Currencies, KeyColumns};
use crate::{StoreError, StoredSeries};
use holdco_core::columnar::{FactTable, FactTableBuilder, SeriesKey};
use holdco_core::rollup::Engine;
use holdco_core::{Currency, MetricId, Period};
use rusqlite::Connection;

/// One series row as read from SQLite, before its arrays are decoded.
struct RawSeries {
    key: holdco_core::FactKey,
    /// The series' key as text, to find its revised figures in the log.
    text_key: SeriesText,
    periods: OwnedArray,
    figures: OwnedArray,
    extras: Option<String>,
    superseded: String,
}

/// Every series row (of the given metrics, or all), decoded, with revised figures in place,
/// and the number of facts the store holds (of every metric). Always `Some`; the `Option`
/// is kept for callers written when a revision log made it `None`.
pub(super) fn read(
    connection: &Connection,
    metrics: Option<&[MetricId]>,
) -> Result<Option<(Vec<StoredSeries>, usize)>, StoreError> {
    let failed = database("reading facts");
    // One read transaction: the series and the log from one snapshot.
    let transaction = connection.unchecked_transaction().map_err(&failed)?;
    let read = read_in(&transaction, metrics, None)?;
    drop(transaction);
    Ok(Some(read))
}

/// The series of one metric, read through the `facts_by_metric` index (only that metric's
/// rows), inside the caller's transaction: what [`read`] gives for that metric.
pub(super) fn read_metric(
    connection: &Connection,
    metric: &MetricId,
) -> Result<Vec<StoredSeries>, StoreError> {
    Ok(read_in(connection, Some(std::slice::from_ref(metric)), Some(metric))?.0)
}

/// [`read`] inside the caller's transaction. With `only`, the rows of that metric alone are
/// read (by the index) and the count is that of the series read, not of the whole store.
fn read_in(
    transaction: &Connection,
    metrics: Option<&[MetricId]>,
    only: Option<&MetricId>,
) -> Result<(Vec<StoredSeries>, usize), StoreError> {
    let failed = database("reading facts");
    let logged = segments::logged(transaction, metrics)?;
    let logged_facts: usize = match only {
        Some(_) => 0,
        None => transaction
            .query_row(
                "SELECT count(*) FROM fact_revisions WHERE is_current = 1 AND deleted = 0",
                [],
                |row| row.get::<_, i64>(0),
            )
            .map_err(&failed)?
            .try_into()
            .unwrap_or(0),
    };
    let sql = match only {
        Some(_) => {
            "SELECT unit, granularity, metric, counterparty, basis, structure,
                          periods, figures, extras, superseded
                   FROM facts INDEXED BY facts_by_metric WHERE metric = ?1"
        }
        None => {
            "SELECT unit, granularity, metric, counterparty, basis, structure,
                          periods, figures, extras, superseded
                   FROM facts"
        }
    };
    let mut statement = transaction.prepare(sql).map_err(&failed)?;
    let mut rows = match only {
        Some(metric) => statement.query([metric.as_str()]),
        None => statement.query([]),
    }
    .map_err(&failed)?;
    let mut raw = Vec::new();
    // Positions of every segment, and those superseded (whose current figure is in the log).
    let mut positions = 0;
    let mut superseded = 0;
    while let Some(row) = rows.next().map_err(&failed)? {
        // Every row counts its facts; only those asked are decoded.
        positions += column(row, 6)?.count_starts();
        superseded += Array::Text(super::text(row, 9)?).count_starts();
        if let Some(metrics) = metrics {
            let metric = super::text(row, 2)?;
            if !metrics.iter().any(|m| m.as_str() == metric) {
                continue;
            }
        }
        let columns = KeyColumns::of_segment(row)?;
        let text_key: SeriesText = (
            columns.unit.to_string(),
            granularity_text(super::parse_granularity(columns.granularity)?),
            columns.metric.to_string(),
            columns.counterparty.to_string(),
            columns.basis,
            columns.structure.to_string(),
        );
        raw.push(RawSeries {
            key: columns.to_key()?,
            text_key,
            periods: OwnedArray::of(column(row, 6)?),
            figures: OwnedArray::of(column(row, 7)?),
            extras: super::optional_text(row, 8)?.map(str::to_string),
            superseded: super::text(row, 9)?.to_string(),
        });
    }
    drop(rows);
    drop(statement);
    // Every current fact: the segments' positions (a superseded one stands for its log
    // figure) and the keys the log alone holds.
    // A deleted key is superseded in its segment and not counted in the log.
    let facts = (positions + logged_facts).saturating_sub(superseded);
    let clock = std::time::Instant::now();
    // Decoding the arrays is most of the work: split it over the available threads.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 16);
    let chunk = raw.len().div_ceil(threads).max(1);
    let logged_ref = &logged;
    let decoded: Vec<Result<Vec<StoredSeries>, StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = raw
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|raw| decode(raw, logged_ref.get(&raw.text_key)))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(corrupt("a series could not be decoded".into())))
            })
            .collect()
    });
    let mut series = Vec::with_capacity(raw.len());
    for part in decoded {
        series.extend(part?);
    }
    // Keys of the log that no segment holds (the common case: none).
    let mut held: FastMap<(&SeriesText, i32), ()> = FastMap::default();
    let consumed = held_by_segments(&raw, &series, &logged, &mut held);
    if consumed < logged.values().map(FastMap::len).sum::<usize>() {
        series.extend(log_only(&logged, &held)?);
    }
    // A series whose every fact was deleted holds nothing.
    series.retain(|stored| !stored.starts.is_empty());
    profile("decode", clock);
    let facts = match only {
        Some(_) => series.iter().map(|s| s.starts.len()).sum(),
        None => facts,
    };
    Ok((series, facts))
}

/// Marks the log's keys that some segment holds; returns how many.
fn held_by_segments<'a>(
    raw: &'a [RawSeries],
    series: &[StoredSeries],
    logged: &FastMap<SeriesText, FastMap<i32, Logged>>,
    replaced: &mut FastMap<(&'a SeriesText, i32), ()>,
) -> usize {
    for (raw, stored) in raw.iter().zip(series) {
        let Some(log) = logged.get(&raw.text_key) else {
            continue;
        };
        for start in &stored.starts {
            if log.contains_key(start) {
                replaced.insert((&raw.text_key, *start), ());
            }
        }
    }
    replaced.len()
}

/// The keys only the log holds, one series per series key.
fn log_only(
    logged: &FastMap<SeriesText, FastMap<i32, Logged>>,
    replaced: &FastMap<(&SeriesText, i32), ()>,
) -> Result<Vec<StoredSeries>, StoreError> {
    let mut out = Vec::new();
    for (text_key, by_start) in logged {
        let mut starts: Vec<i32> = by_start
            .keys()
            .copied()
            .filter(|start| !replaced.contains_key(&(text_key, *start)) && !by_start[start].deleted)
            .collect();
        if starts.is_empty() {
            continue;
        }
        starts.sort_unstable();
        let columns = KeyColumns {
            unit: &text_key.0,
            period_start: 0,
            granularity: text_key.1,
            metric: &text_key.2,
            counterparty: &text_key.3,
            basis: text_key.4,
            structure: std::borrow::Cow::Borrowed(&text_key.5),
        };
        let key = columns.to_key()?;
        let mut parsed = Currencies::default();
        let mut values = Vec::with_capacity(starts.len());
        let mut currencies = Vec::with_capacity(starts.len());
        for start in &starts {
            let current = &by_start[start];
            values.push(current.value);
            currencies.push(
                current
                    .currency
                    .clone()
                    .map(|code| parsed.get(code))
                    .transpose()?,
            );
        }
        let currencies = currencies.iter().any(Option::is_some).then_some(currencies);
        out.push(StoredSeries {
            key,
            starts,
            values,
            currencies,
        });
    }
    Ok(out)
}

/// Decodes one series row; a superseded position takes its current figure from `log`.
fn decode(raw: &RawSeries, log: Option<&FastMap<i32, Logged>>) -> Result<StoredSeries, StoreError> {
    let superseded: Vec<usize> = crate::merge::decode("facts", &raw.superseded)?;
    let starts: Vec<i32> = raw.periods.borrow().starts()?;
    let mut values: Vec<f64> = raw.figures.borrow().values()?;
    let mut currencies: Option<Vec<Option<Currency>>> = match &raw.extras {
        None => None,
        Some(text) => {
            let pairs: Vec<(Option<String>, Option<String>)> = crate::merge::decode("facts", text)?;
            let mut parsed = Currencies::default();
            Some(
                pairs
                    .into_iter()
                    .map(|(code, _)| code.map(|code| parsed.get(code)).transpose())
                    .collect::<Result<Vec<_>, _>>()?,
            )
        }
    };
    if values.len() != starts.len() || currencies.as_ref().is_some_and(|c| c.len() != starts.len())
    {
        return Err(corrupt(format!(
            "a series of {} periods holds another number of values, currencies or sources",
            starts.len()
        )));
    }
    // Positions whose key was deleted since (`import --prune`, a change set's removal).
    let mut removed: Vec<usize> = Vec::new();
    if !superseded.is_empty() {
        let mut parsed = Currencies::default();
        for position in superseded {
            let Some(start) = starts.get(position).copied() else {
                return Err(corrupt(format!(
                    "superseded position {position} lies outside its series"
                )));
            };
            let Some(current) = log.and_then(|log| log.get(&start)) else {
                return Err(corrupt(format!(
                    "a superseded fact (period start {start}) has no current revision"
                )));
            };
            if current.deleted {
                removed.push(position);
                continue;
            }
            values[position] = current.value;
            let currency = current
                .currency
                .clone()
                .map(|code| parsed.get(code))
                .transpose()?;
            if currency.is_some() || currencies.is_some() {
                currencies.get_or_insert_with(|| vec![None; starts.len()])[position] = currency;
            }
        }
    }
    let (starts, values, currencies) = if removed.is_empty() {
        (starts, values, currencies)
    } else {
        let mut keep = vec![true; starts.len()];
        for position in removed {
            keep[position] = false;
        }
        let kept = |position: &usize| keep[*position];
        let positions = 0..starts.len();
        (
            positions.clone().filter(kept).map(|p| starts[p]).collect(),
            positions.clone().filter(kept).map(|p| values[p]).collect(),
            currencies.map(|c| positions.filter(kept).map(|p| c[p].clone()).collect()),
        )
    };
    Ok(StoredSeries {
        key: raw.key.clone(),
        starts,
        values,
        currencies,
    })
}

/// A JSON array of numbers; each number read by Rust's own (correctly rounded) parser, which
/// gives the same bits as serde_json's round-trip parser. Anything else: serde_json decides.
pub(super) fn numbers<T: std::str::FromStr + serde::de::DeserializeOwned>(
    text: &str,
) -> Result<Vec<T>, StoreError> {
    let inner = text
        .trim()
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'));
    if let Some(inner) = inner {
        if inner.trim().is_empty() {
            return Ok(Vec::new());
        }
        let parsed: Option<Vec<T>> = inner
            .split(',')
            .map(|token| token.trim().parse::<T>().ok())
            .collect();
        if let Some(parsed) = parsed {
            return Ok(parsed);
        }
    }
    crate::merge::decode("facts", text)
}

/// A [`FactTable`] of the series, as [`FactTable::from_model`] builds from the same facts;
/// `None` when the table refuses them (an unknown unit or metric, a repeated key, too many
/// periods): the caller then loads the model.
pub(crate) fn table(series: &[StoredSeries], engine: &Engine) -> Option<FactTable> {
    let model = engine.model();
    let timeline = engine.timeline();
    let mut builder = FactTableBuilder::new(model.group.currency.clone());
    builder.reserve(series.iter().map(|s| s.starts.len()).sum());
    // Series keys first, then rows in key order, so that the rows arrive (almost) sorted.
    let mut keyed: Vec<(SeriesKey, usize, usize)> = Vec::with_capacity(series.len());
    for (index, stored) in series.iter().enumerate() {
        let key = &stored.key;
        let metric = model.metrics.iter().position(|m| m.id == key.metric)? as u16;
        let unit = timeline.unit(&key.unit)?;
        let counterparty = match &key.counterparty {
            Some(c) => Some(timeline.unit(c)?),
            None => None,
        };
        let mut first_row = 0;
        let currency_at = |r: usize| foreign_currency(stored, r, &model.group.currency);
        for row in 0..=stored.starts.len() {
            if row == stored.starts.len()
                || (row > first_row && currency_at(row) != currency_at(first_row))
            {
                if row > first_row {
                    let currency = builder.currency(currency_at(first_row));
                    keyed.push((
                        SeriesKey {
                            unit,
                            metric,
                            currency,
                            counterparty,
                            basis: key.basis,
                        },
                        index,
                        first_row,
                    ));
                }
                first_row = row;
            }
        }
    }
    keyed.sort_by_key(|(key, index, first)| (*key, *index, *first));
    let clock = std::time::Instant::now();
    for (series_key, index, first) in keyed {
        let stored = &series[index];
        let currency_at = |r: usize| foreign_currency(stored, r, &model.group.currency);
        let currency = currency_at(first);
        for row in first..stored.starts.len() {
            if row > first && currency_at(row) != currency {
                break;
            }
            builder
                .push(
                    series_key,
                    Period::new(stored.starts[row], stored.key.period.granularity),
                    stored.values[row],
                )
                .ok()?;
        }
    }
    profile("rows", clock);
    let table = builder.finish(engine).ok();
    profile("table", clock);
    table
}

/// The currency of row `row` of a stored series when it is not the group's.
fn foreign_currency<'a>(
    stored: &'a StoredSeries,
    row: usize,
    group: &Currency,
) -> Option<&'a Currency> {
    stored
        .currencies
        .as_ref()
        .and_then(|c| c[row].as_ref())
        .filter(|c| *c != group)
}

/// With HOLDCO_PROFILE set, the time a phase took (as the core's columnar path prints).
fn profile(phase: &str, clock: std::time::Instant) {
    if std::env::var_os("HOLDCO_PROFILE").is_some() {
        eprintln!("  [profile] store {phase} {:?}", clock.elapsed());
    }
}
