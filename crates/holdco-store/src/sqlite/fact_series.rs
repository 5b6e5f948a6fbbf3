//! Facts read straight into columns, for queries over millions of facts: one
//! [`StoredSeries`] per series row of the `facts` table, decoded on several threads, and a
//! [`FactTable`] built from them without a [`holdco_core::Fact`] per row.
//!
//! Only for a store whose facts are all first revisions (no row in `fact_revisions`): then
//! the series rows (less their superseded positions, which such a store does not have) are
//! exactly the current facts. Otherwise the callers use [`crate::Store::load`].

use super::{corrupt, database, Currencies, KeyColumns};
use crate::{StoreError, StoredSeries};
use holdco_core::columnar::{FactTable, FactTableBuilder, SeriesKey};
use holdco_core::rollup::Engine;
use holdco_core::{Currency, MetricId, Period};
use rusqlite::Connection;

/// One series row as read from SQLite, before its arrays are decoded.
struct RawSeries {
    key: holdco_core::FactKey,
    periods: String,
    figures: String,
    extras: Option<String>,
    superseded: String,
}

/// Every series row (of the given metrics, or all), decoded, and the number of facts the
/// store holds (of every metric); `None` when the revision log has rows.
pub(super) fn read(
    connection: &Connection,
    metrics: Option<&[MetricId]>,
) -> Result<Option<(Vec<StoredSeries>, usize)>, StoreError> {
    let failed = database("reading facts");
    let transaction = connection.unchecked_transaction().map_err(&failed)?;
    let in_log: bool = transaction
        .query_row("SELECT EXISTS (SELECT 1 FROM fact_revisions)", [], |row| {
            row.get(0)
        })
        .map_err(&failed)?;
    if in_log {
        return Ok(None);
    }
    let sql = "SELECT unit, granularity, metric, counterparty, basis, structure,
                          periods, figures, extras, superseded
                   FROM facts"
        .to_string();
    let mut statement = transaction.prepare(&sql).map_err(&failed)?;
    let mut rows = statement.query([]).map_err(&failed)?;
    let mut raw = Vec::new();
    let mut facts = 0;
    while let Some(row) = rows.next().map_err(&failed)? {
        // Every row counts its facts (a series without superseded positions, as in a store
        // without a revision log, holds one per comma plus one); only those asked are decoded.
        let periods = super::text(row, 6)?;
        if periods.bytes().any(|b| b.is_ascii_digit()) {
            facts += 1 + periods.bytes().filter(|b| *b == b',').count();
        }
        if let Some(metrics) = metrics {
            let metric = super::text(row, 2)?;
            if !metrics.iter().any(|m| m.as_str() == metric) {
                continue;
            }
        }
        let columns = KeyColumns::of_segment(row)?;
        raw.push(RawSeries {
            key: columns.to_key()?,
            periods: super::text(row, 6)?.to_string(),
            figures: super::text(row, 7)?.to_string(),
            extras: super::optional_text(row, 8)?.map(str::to_string),
            superseded: super::text(row, 9)?.to_string(),
        });
    }
    drop(rows);
    drop(statement);
    drop(transaction);
    let clock = std::time::Instant::now();
    // Decoding the arrays is most of the work: split it over the available threads.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 16);
    let chunk = raw.len().div_ceil(threads).max(1);
    let decoded: Vec<Result<Vec<StoredSeries>, StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = raw
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(decode).collect::<Result<Vec<_>, _>>()))
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
    profile("decode", clock);
    Ok(Some((series, facts)))
}

fn decode(raw: &RawSeries) -> Result<StoredSeries, StoreError> {
    let superseded: Vec<usize> = crate::merge::decode("facts", &raw.superseded)?;
    let mut starts: Vec<i32> = numbers(&raw.periods)?;
    let mut values: Vec<f64> = numbers(&raw.figures)?;
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
    if !superseded.is_empty() {
        let mut live = vec![true; starts.len()];
        for position in superseded {
            if let Some(flag) = live.get_mut(position) {
                *flag = false;
            }
        }
        let keep = |list_len: usize| (0..list_len).filter(|i| live[*i]).collect::<Vec<_>>();
        let kept = keep(starts.len());
        starts = kept.iter().map(|i| starts[*i]).collect();
        values = kept.iter().map(|i| values[*i]).collect();
        currencies = currencies.map(|c| kept.iter().map(|i| c[*i].clone()).collect());
    }
    Ok(StoredSeries {
        key: raw.key.clone(),
        starts,
        values,
        currencies,
    })
}

/// A JSON array of numbers; each number read by Rust's own (correctly rounded) parser, which
/// gives the same bits as serde_json's round-trip parser. Anything else: serde_json decides.
fn numbers<T: std::str::FromStr + serde::de::DeserializeOwned>(
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
