//! The columnar image of each metric (migration 0009): the metric's current facts, grouped
//! and ordered as a [`FactTable`] holds them, in little-endian arrays, one row of
//! `metric_columns` per metric. A query reads the rows of the metrics it asks and copies
//! the arrays into a table's columns: no text to parse, no row-by-row sort, and none of
//! the other metrics' pages.
//!
//! An image is made from the series rows by [`fact_series`](super::fact_series)'s own
//! reading (revised figures in place, keys only the log holds), so it holds exactly what
//! that path gives. Triggers on `facts` and `fact_revisions` put the metric of every row
//! written, changed or deleted into `metric_columns_stale` (whoever writes: this code or
//! SQL); [`refresh`] rewrites the images of those metrics in the same transaction, before
//! the import commits. A reader that finds any metric stale (a store written before 0009
//! that has not been imported into since, an image that could not be made, facts changed
//! by hand) reads the series rows instead, so the image is never read out of date.
//!
//! Layout (`format` 1): `names` is a JSON array of the unit ids and currency codes the
//! series name; `series` 20 bytes a series (unit, counterparty, currency: indexes into
//! `names`, 0xFFFFFFFF for none; basis code as in `facts`; structure date as days from the
//! common era, 0 when the basis has none), in the order of their text; `offsets` 4 bytes a
//! series plus one (rows of series `s` are `offsets[s]..offsets[s + 1]`); `periods` 8 bytes
//! an entry (start month index, granularity 0 month 1 quarter 2 year), ascending as
//! [`Period`] orders; `period` 2 bytes a row (index into `periods`, ascending within a
//! series); `figures` 8 bytes a row (IEEE 754 doubles, bit for bit). Every integer
//! little-endian.

use super::fact_series;
use super::{corrupt, database};
use crate::{StoreError, StoredSeries};
use holdco_core::columnar::{FactTable, SeriesKey, SortedParts};
use holdco_core::rollup::Engine;
use holdco_core::{Basis, Currency, Granularity, MetricId, Period, UnitId};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The layout written by this code.
const FORMAT: i64 = 1;
/// "None" in the `series` array.
const NONE: u32 = u32::MAX;

/// Rewrites the image of every stale metric from the series rows (inside the caller's
/// transaction) and clears the stale list. A metric whose image cannot be made (its rows
/// do not read, or hold a key twice) stays stale: readers then read its rows, which say
/// what is wrong.
pub(super) fn refresh(connection: &Connection) -> Result<(), StoreError> {
    let failed = database("writing the columnar images");
    let clock = std::time::Instant::now();
    let stale: Vec<String> = {
        let mut statement = connection
            .prepare("SELECT metric FROM metric_columns_stale")
            .map_err(&failed)?;
        let rows = statement
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(&failed)?;
        rows.collect::<Result<_, _>>().map_err(&failed)?
    };
    for metric in stale {
        let Ok(id) = MetricId::parse(&metric) else {
            continue;
        };
        let Ok(series) = fact_series::read_metric(connection, &id) else {
            continue;
        };
        let Some(image) = Image::of(&series) else {
            continue;
        };
        connection
            .execute("DELETE FROM metric_columns WHERE metric = ?1", [&metric])
            .map_err(&failed)?;
        if image.facts > 0 {
            connection
                .execute(
                    "INSERT INTO metric_columns
                         (metric, format, facts, names, series, offsets, periods, period, figures)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        metric,
                        FORMAT,
                        image.facts as i64,
                        image.names,
                        image.series,
                        image.offsets,
                        image.periods,
                        image.period,
                        image.figures
                    ],
                )
                .map_err(&failed)?;
        }
        connection
            .execute(
                "DELETE FROM metric_columns_stale WHERE metric = ?1",
                [&metric],
            )
            .map_err(&failed)?;
    }
    profile("images written", clock);
    Ok(())
}

/// One metric's image, encoded.
struct Image {
    facts: usize,
    names: String,
    series: Vec<u8>,
    offsets: Vec<u8>,
    periods: Vec<u8>,
    period: Vec<u8>,
    figures: Vec<u8>,
}

/// A series of the image by its text: unit, counterparty, currency, basis code, structure.
type TextKey<'a> = (&'a str, Option<&'a str>, Option<&'a str>, u32, i32);

fn basis_code(basis: Basis) -> (u32, i32) {
    use chrono::Datelike;
    match basis {
        Basis::Reported => (0, 0),
        Basis::Restated { structure } => (1, structure.num_days_from_ce()),
        Basis::Plan => (2, 0),
        Basis::Estimate => (3, 0),
        Basis::ProForma { structure } => (4, structure.num_days_from_ce()),
    }
}

fn basis_of(code: u32, days: i32) -> Option<Basis> {
    let date = || chrono::NaiveDate::from_num_days_from_ce_opt(days);
    Some(match code {
        0 => Basis::Reported,
        1 => Basis::Restated { structure: date()? },
        2 => Basis::Plan,
        3 => Basis::Estimate,
        4 => Basis::ProForma { structure: date()? },
        _ => return None,
    })
}

fn granularity_code(granularity: Granularity) -> u32 {
    match granularity {
        Granularity::Month => 0,
        Granularity::Quarter => 1,
        Granularity::Year => 2,
    }
}

impl Image {
    /// The image of one metric's series; `None` when two rows share a key.
    fn of(series: &[StoredSeries]) -> Option<Image> {
        let mut grouped: BTreeMap<TextKey<'_>, Vec<(Period, f64)>> = BTreeMap::new();
        let mut periods: Vec<Period> = Vec::new();
        for stored in series {
            let granularity = stored.key.period.granularity;
            let (basis, structure) = basis_code(stored.key.basis);
            let currency_at = |row: usize| {
                stored
                    .currencies
                    .as_ref()
                    .and_then(|c| c[row].as_ref())
                    .map(Currency::as_str)
            };
            let mut first = 0;
            for row in 0..=stored.starts.len() {
                if row == stored.starts.len() || currency_at(row) != currency_at(first) {
                    if row > first {
                        let key = (
                            stored.key.unit.as_str(),
                            stored.key.counterparty.as_ref().map(UnitId::as_str),
                            currency_at(first),
                            basis,
                            structure,
                        );
                        let rows = grouped.entry(key).or_default();
                        // Every period, for the dictionary (sorted, each once, below).
                        periods.extend(
                            stored.starts[first..row]
                                .iter()
                                .map(|start| Period::new(*start, granularity)),
                        );
                        for r in first..row {
                            let period = Period::new(stored.starts[r], granularity);
                            rows.push((period, stored.values[r]));
                        }
                    }
                    first = row;
                }
            }
        }
        periods.sort_unstable();
        periods.dedup();
        if periods.len() > u16::MAX as usize {
            return None;
        }
        let mut names: BTreeMap<&str, u32> = BTreeMap::new();
        for key in grouped.keys() {
            for name in [Some(key.0), key.1, key.2].into_iter().flatten() {
                names.insert(name, 0);
            }
        }
        for (index, value) in names.values_mut().enumerate() {
            *value = index as u32;
        }
        let name = |n: Option<&str>| n.map_or(NONE, |n| names[n]);
        let mut image = Image {
            facts: 0,
            names: serde_json::to_string(&names.keys().collect::<Vec<_>>()).ok()?,
            series: Vec::with_capacity(grouped.len() * 20),
            offsets: Vec::with_capacity((grouped.len() + 1) * 4),
            periods: Vec::with_capacity(periods.len() * 8),
            period: Vec::new(),
            figures: Vec::new(),
        };
        for period in &periods {
            image.periods.extend(period.start.to_le_bytes());
            image
                .periods
                .extend(granularity_code(period.granularity).to_le_bytes());
        }
        let rows: usize = grouped.values().map(Vec::len).sum();
        image.period.reserve(rows * 2);
        image.figures.reserve(rows * 8);
        image.offsets.extend(0u32.to_le_bytes());
        for (key, mut rows) in grouped {
            rows.sort_by_key(|(period, _)| *period);
            if rows.windows(2).any(|w| w[0].0 == w[1].0) {
                return None;
            }
            for field in [name(Some(key.0)), name(key.1), name(key.2), key.3] {
                image.series.extend(field.to_le_bytes());
            }
            image.series.extend(key.4.to_le_bytes());
            for (period, value) in rows {
                let index = periods.binary_search(&period).ok()? as u16;
                image.period.extend(index.to_le_bytes());
                image.figures.extend(value.to_le_bytes());
                image.facts += 1;
            }
            image
                .offsets
                .extend(u32::try_from(image.facts).ok()?.to_le_bytes());
        }
        Some(image)
    }
}

/// One metric's image as read back: the small arrays in memory, the rows (`period`,
/// `figures`) left in the database until they are copied into the table's columns.
struct Read {
    metric: u16,
    rowid: i64,
    names: Vec<String>,
    series: Vec<u8>,
    offsets: Vec<u8>,
    periods: Vec<u8>,
    rows: usize,
}

fn u32_at(bytes: &[u8], index: usize) -> Option<u32> {
    let b = bytes.get(index * 4..index * 4 + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The current facts of `metrics` (or all) as a [`FactTable`] for `engine`, read from the
/// images, with the number of facts in the store. `None` when the images cannot answer:
/// some metric is stale (a store not imported into since 0009, or facts written by hand),
/// an image is of another format, names a unit or metric the model lacks, or two of its
/// series become one series of the table (a currency written out beside one left blank,
/// both the reporting currency). The caller then reads the series rows.
///
/// The rows of each image (`period`, `figures`) are read with SQLite's incremental BLOB
/// reads, a fixed buffer at a time, straight into their places in the table's columns: no
/// copy of a whole image is made first (for every metric of P10's store those copies were
/// 240 MB of fresh memory, most of the process's time in the kernel clearing pages).
pub(super) fn table(
    connection: &Connection,
    engine: &Engine,
    metrics: Option<&[MetricId]>,
) -> Result<Option<(FactTable, usize)>, StoreError> {
    let failed = database("reading the columnar images");
    let clock = std::time::Instant::now();
    // One snapshot: the stale list, the count and the images.
    let transaction = connection.unchecked_transaction().map_err(&failed)?;
    let stale: bool = transaction
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM metric_columns_stale)",
            [],
            |row| row.get(0),
        )
        .map_err(&failed)?;
    if stale {
        return Ok(None);
    }
    let facts: i64 = transaction
        .query_row(
            "SELECT coalesce(sum(facts), 0) FROM metric_columns",
            [],
            |row| row.get(0),
        )
        .map_err(&failed)?;
    let model = engine.model();
    let wanted: Vec<String> = match metrics {
        Some(metrics) => {
            let mut wanted: Vec<String> = Vec::new();
            for metric in metrics {
                if !wanted.iter().any(|m| m == metric.as_str()) {
                    wanted.push(metric.as_str().to_string());
                }
            }
            wanted
        }
        None => {
            let mut statement = transaction
                .prepare("SELECT metric FROM metric_columns ORDER BY metric")
                .map_err(&failed)?;
            let rows = statement
                .query_map([], |row| row.get::<_, String>(0))
                .map_err(&failed)?;
            rows.collect::<Result<_, _>>().map_err(&failed)?
        }
    };
    let mut images = Vec::with_capacity(wanted.len());
    {
        let mut statement = transaction
            .prepare(
                "SELECT rowid, format, names, series, offsets, periods, length(period),
                        length(figures)
                 FROM metric_columns WHERE metric = ?1",
            )
            .map_err(&failed)?;
        for metric in &wanted {
            let row = statement
                .query_row([metric], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, Vec<u8>>(3)?,
                        row.get::<_, Vec<u8>>(4)?,
                        row.get::<_, Vec<u8>>(5)?,
                        row.get::<_, i64>(6)?,
                        row.get::<_, i64>(7)?,
                    ))
                })
                .optional()
                .map_err(&failed)?;
            // No image and nothing stale: the metric has no facts.
            let Some((rowid, format, names, series, offsets, periods, period, figures)) = row
            else {
                continue;
            };
            if format != FORMAT {
                return Ok(None);
            }
            let Some(index) = model.metrics.iter().position(|m| m.id.as_str() == metric) else {
                return Ok(None);
            };
            // Two bytes of period and eight of figure a row, or the image is not one.
            let rows = usize::try_from(period / 2).unwrap_or(0);
            if period % 2 != 0 || usize::try_from(figures).ok() != rows.checked_mul(8) {
                return Ok(None);
            }
            let names: Vec<String> = serde_json::from_str(&names)
                .map_err(|e| corrupt(format!("the columnar image of {metric}: {e}")))?;
            images.push(Read {
                metric: index as u16,
                rowid,
                names,
                series,
                offsets,
                periods,
                rows,
            });
        }
    }
    profile("image read", clock);
    let Some(plan) = plan(&images, engine) else {
        return Ok(None);
    };
    let mut period = vec![0u16; plan.rows];
    let mut value = vec![0f64; plan.rows];
    let mut buffer = vec![0u8; BUFFER];
    for (i, image) in images.iter().enumerate() {
        let (offsets, dest, remap) = (&plan.offsets[i], &plan.dest[i], &plan.remaps[i]);
        // One column of the image's row, read in place (read-only).
        let open = |column: &str| {
            transaction
                .blob_open(
                    rusqlite::MAIN_DB,
                    "metric_columns",
                    column,
                    image.rowid,
                    true,
                )
                .map_err(&failed)
        };
        let blob = open("period")?;
        let copied = scatter::<2>(&blob, offsets, dest, &mut buffer, |at, bytes| {
            let to = period.get_mut(at..at + bytes.len() / 2)?;
            for (slot, b) in to.iter_mut().zip(bytes.chunks_exact(2)) {
                *slot = *remap.get(u16::from_le_bytes([b[0], b[1]]) as usize)?;
            }
            Some(())
        })
        .map_err(&failed)?;
        drop(blob);
        if copied.is_none() {
            return Ok(None);
        }
        let blob = open("figures")?;
        let copied = scatter::<8>(&blob, offsets, dest, &mut buffer, |at, bytes| {
            let to = value.get_mut(at..at + bytes.len() / 8)?;
            for (slot, b) in to.iter_mut().zip(bytes.chunks_exact(8)) {
                *slot = f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            }
            Some(())
        })
        .map_err(&failed)?;
        drop(blob);
        if copied.is_none() {
            return Ok(None);
        }
    }
    drop(transaction);
    profile("image rows", clock);
    let mut offsets = Vec::with_capacity(plan.series.len() + 1);
    offsets.push(0);
    offsets.extend(plan.ends);
    let parts = SortedParts {
        series: plan.series,
        offsets,
        period,
        value,
        periods: plan.periods,
        currencies: plan.currencies,
    };
    let facts = usize::try_from(facts).unwrap_or(0);
    Ok(FactTable::from_sorted_parts(parts, engine)
        .ok()
        .map(|table| {
            profile("image table", clock);
            (table, facts)
        }))
}

/// Bytes read from an image's rows at a time (a multiple of every row width).
const BUFFER: usize = 1 << 18;

/// Where the rows of the images go in the table.
struct Plan {
    /// The table's series, in its order, and where each one's rows end.
    series: Vec<SeriesKey>,
    ends: Vec<usize>,
    /// Every row of every image.
    rows: usize,
    periods: Vec<Period>,
    currencies: Vec<Currency>,
    /// Per image: its series' row offsets (checked: from 0, never decreasing, to its rows),
    /// the table row each of its series starts at, and its period dictionary's indexes in
    /// the table's.
    offsets: Vec<Vec<usize>>,
    dest: Vec<Vec<usize>>,
    remaps: Vec<Vec<u16>>,
}

/// The table's dictionaries and series order for the images, or `None` when they do not
/// make one as they are.
fn plan(images: &[Read], engine: &Engine) -> Option<Plan> {
    let model = engine.model();
    let timeline = engine.timeline();
    let group = &model.group.currency;
    // Names as units (None when not one of the model's) and as currencies (index 0 for the
    // reporting one).
    let mut foreign: BTreeSet<String> = BTreeSet::new();
    let mut parsed: Vec<Vec<Option<Currency>>> = Vec::with_capacity(images.len());
    for image in images {
        let count = image.series.len() / 20;
        let mut currencies = vec![None; image.names.len()];
        for s in 0..count {
            let code = u32_at(&image.series, s * 5 + 2)?;
            if code != NONE {
                let slot = currencies.get_mut(code as usize)?;
                if slot.is_none() {
                    *slot = Some(Currency::parse(&image.names[code as usize]).ok()?);
                }
            }
        }
        for currency in currencies.iter().flatten() {
            if currency != group {
                foreign.insert(currency.as_str().to_string());
            }
        }
        parsed.push(currencies);
    }
    let mut currencies = vec![group.clone()];
    for code in &foreign {
        currencies.push(Currency::parse(code).ok()?);
    }
    let currency_index = |c: &Option<Currency>| -> Option<u8> {
        match c {
            Some(c) if c != group => {
                Some(u8::try_from(currencies.iter().position(|x| x == c)?).ok()?)
            }
            _ => Some(0),
        }
    };
    // Every period of every image, in order, and each image's dictionary mapped into it.
    let mut all_periods: Vec<Period> = Vec::new();
    let mut image_periods: Vec<Vec<Period>> = Vec::with_capacity(images.len());
    for image in images {
        let mut periods = Vec::with_capacity(image.periods.len() / 8);
        for entry in image.periods.chunks_exact(8) {
            let start = i32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
            let granularity = match u32::from_le_bytes([entry[4], entry[5], entry[6], entry[7]]) {
                0 => Granularity::Month,
                1 => Granularity::Quarter,
                2 => Granularity::Year,
                _ => return None,
            };
            periods.push(Period::new(start, granularity));
        }
        all_periods.extend(&periods);
        image_periods.push(periods);
    }
    all_periods.sort_unstable();
    all_periods.dedup();
    if all_periods.len() > u16::MAX as usize {
        return None;
    }
    let remaps: Vec<Vec<u16>> = image_periods
        .iter()
        .map(|periods| {
            periods
                .iter()
                .map(|p| all_periods.binary_search(p).map(|i| i as u16).ok())
                .collect::<Option<Vec<u16>>>()
        })
        .collect::<Option<_>>()?;
    // Each image's row offsets, checked.
    let mut offsets: Vec<Vec<usize>> = Vec::with_capacity(images.len());
    for image in images {
        let count = image.series.len() / 20;
        if image.series.len() % 20 != 0 || image.offsets.len() != (count + 1) * 4 {
            return None;
        }
        let own: Vec<usize> = (0..=count)
            .map(|s| u32_at(&image.offsets, s).map(|o| o as usize))
            .collect::<Option<_>>()?;
        if own.first() != Some(&0)
            || own.last() != Some(&image.rows)
            || own.windows(2).any(|w| w[0] > w[1])
        {
            return None;
        }
        offsets.push(own);
    }
    // Every series as the table keys it, then in the table's order.
    let mut keyed: Vec<(SeriesKey, usize, usize)> = Vec::new();
    for (i, image) in images.iter().enumerate() {
        let mut units: HashMap<u32, Option<holdco_core::timeline::UnitIndex>> = HashMap::new();
        let mut unit = |code: u32| -> Option<holdco_core::timeline::UnitIndex> {
            *units.entry(code).or_insert_with(|| {
                let id = UnitId::parse(image.names.get(code as usize)?).ok()?;
                timeline.unit(&id)
            })
        };
        for s in 0..image.series.len() / 20 {
            let field = |f: usize| u32_at(&image.series, s * 5 + f);
            let counterparty = match field(1)? {
                NONE => None,
                code => Some(unit(code)?),
            };
            let currency = match field(2)? {
                NONE => 0,
                code => currency_index(parsed[i].get(code as usize)?)?,
            };
            let basis = basis_of(field(3)?, field(4)? as i32)?;
            keyed.push((
                SeriesKey {
                    unit: unit(field(0)?)?,
                    metric: image.metric,
                    currency,
                    counterparty,
                    basis,
                },
                i,
                s,
            ));
        }
    }
    keyed.sort_unstable_by_key(|(key, _, _)| *key);
    if keyed.windows(2).any(|w| w[0].0 == w[1].0) {
        return None;
    }
    let mut dest: Vec<Vec<usize>> = offsets.iter().map(|o| vec![0; o.len() - 1]).collect();
    let mut series = Vec::with_capacity(keyed.len());
    let mut ends = Vec::with_capacity(keyed.len());
    let mut rows = 0;
    for (key, i, s) in keyed {
        dest[i][s] = rows;
        rows += offsets[i][s + 1] - offsets[i][s];
        series.push(key);
        ends.push(rows);
    }
    Some(Plan {
        series,
        ends,
        rows,
        periods: all_periods,
        currencies,
        offsets,
        dest,
        remaps,
    })
}

/// Reads the rows of one image's BLOB (`W` bytes a row, in the image's series order) a
/// buffer at a time and hands each series' piece to `put` with the table row it goes to.
/// `Ok(None)` when `put` refuses a piece (a period index outside the dictionary).
fn scatter<const W: usize>(
    blob: &rusqlite::blob::Blob<'_>,
    offsets: &[usize],
    dest: &[usize],
    buffer: &mut [u8],
    mut put: impl FnMut(usize, &[u8]) -> Option<()>,
) -> Result<Option<()>, rusqlite::Error> {
    let rows = offsets.last().copied().unwrap_or(0);
    let total = rows * W;
    let step = buffer.len() / W * W;
    let (mut start, mut s) = (0, 0);
    while start < total {
        let n = step.min(total - start);
        blob.read_at_exact(&mut buffer[..n], start)?;
        let (first, last) = (start / W, (start + n) / W);
        let mut row = first;
        while row < last {
            while offsets[s + 1] <= row {
                s += 1;
            }
            let end = offsets[s + 1].min(last);
            if put(
                dest[s] + (row - offsets[s]),
                &buffer[(row - first) * W..(end - first) * W],
            )
            .is_none()
            {
                return Ok(None);
            }
            row = end;
        }
        start += n;
    }
    Ok(Some(()))
}

/// With HOLDCO_PROFILE set, the time a phase took (as the series reader prints).
fn profile(phase: &str, clock: std::time::Instant) {
    if std::env::var_os("HOLDCO_PROFILE").is_some() {
        eprintln!("  [profile] store {phase} {:?}", clock.elapsed());
    }
}
