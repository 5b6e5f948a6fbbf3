//! Fact files read straight into columns, for imports of millions of facts.
//!
//! [`read_model_columns`] reads a model folder whose every file is well formed into a model
//! without facts and a [`FactColumns`]: interned ids and, per fact, its series number, period
//! start, value, currency and source, laid out series by series (file order within each).
//! No [`Fact`] is built, no origin string is kept. It answers `None` as soon as anything is
//! not certain — a problem in any file, a fact file the fast reader does not take (quotes,
//! blank lines, odd headers) — and the caller then uses [`super::read_model`], whose
//! diagnostics are the reference. So this path never has to report a problem itself.

use super::fast_facts::{
    field, interned, parse_date, prepare, quick_basis, Chunk, Layout, CHUNK_BYTES,
};
use super::{csv_files::parse_number, is_model_file, read_model, ModelFiles, FACTS_FILE};
use crate::ids::{Currency, MetricId, UnitId};
use crate::model::{Basis, Fact, FactKey, Model, Origin};
use crate::period::{FiscalCalendar, Granularity, Period};
use chrono::NaiveDate;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

/// "No counterparty / currency / source" in a column of numbers.
pub const NONE: u32 = u32::MAX;

/// A series: a fact key without its period start, with ids as numbers into [`FactColumns`]'s
/// tables (`counterparty` is [`NONE`] when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Series {
    /// Index into [`FactColumns::units`].
    pub unit: u32,
    /// Index into [`FactColumns::metrics`].
    pub metric: u32,
    /// Index into [`FactColumns::units`], or [`NONE`].
    pub counterparty: u32,
    /// Granularity of every period of the series.
    pub granularity: Granularity,
    /// Basis (with its structure date when restated).
    pub basis: Basis,
}

/// Facts as columns, grouped by series.
#[derive(Debug, Default)]
pub struct FactColumns {
    /// Unit ids (units and counterparties), each distinct text once.
    pub units: Vec<UnitId>,
    /// Metric ids, each distinct text once.
    pub metrics: Vec<MetricId>,
    /// Currencies, one per distinct text (two spellings of one code may both appear).
    pub currencies: Vec<Currency>,
    /// Sources, each distinct text once.
    pub sources: Vec<String>,
    /// The series; series `s` holds rows `offsets[s]..offsets[s + 1]`.
    pub series: Vec<Series>,
    /// Row ranges of the series (one more entry than series).
    pub offsets: Vec<usize>,
    /// Period start (month index) of each row.
    pub starts: Vec<i32>,
    /// Value of each row.
    pub values: Vec<f64>,
    /// Currency of each row: index into `currencies` or [`NONE`].
    pub currency: Vec<u32>,
    /// Source of each row: index into `sources` or [`NONE`]; empty when no row has one.
    pub source: Vec<u32>,
}

impl FactColumns {
    /// Number of facts.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// True when there are no facts.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The rows of series `series`.
    pub fn rows(&self, series: usize) -> std::ops::Range<usize> {
        self.offsets[series]..self.offsets[series + 1]
    }

    /// The source index of a row ([`NONE`] when it has none).
    pub fn source_of(&self, row: usize) -> u32 {
        self.source.get(row).copied().unwrap_or(NONE)
    }

    /// Sorts the rows of every series by period start (stable: file order among equals).
    /// Returns false when two rows of one series have the same start (a duplicate key).
    pub fn sort_series(&mut self) -> bool {
        let offsets = &self.offsets;
        let starts = &self.starts;
        // Which series are out of order or repeat a start; the common case is none.
        let unsorted: Vec<(usize, bool)> = (0..self.series.len())
            .into_par_iter()
            .with_min_len(1024)
            .filter_map(|series| {
                let rows = &starts[offsets[series]..offsets[series + 1]];
                if rows.windows(2).all(|pair| pair[0] < pair[1]) {
                    return None;
                }
                let mut sorted = rows.to_vec();
                sorted.sort_unstable();
                Some((series, sorted.windows(2).any(|pair| pair[0] == pair[1])))
            })
            .collect();
        if unsorted.iter().any(|(_, duplicate)| *duplicate) {
            return false;
        }
        for (series, _) in unsorted {
            let range = self.rows(series);
            let mut order: Vec<usize> = range.clone().collect();
            order.sort_by_key(|row| self.starts[*row]);
            let starts: Vec<i32> = order.iter().map(|row| self.starts[*row]).collect();
            let values: Vec<f64> = order.iter().map(|row| self.values[*row]).collect();
            let currency: Vec<u32> = order.iter().map(|row| self.currency[*row]).collect();
            let source: Vec<u32> = order.iter().map(|row| self.source_of(*row)).collect();
            self.starts[range.clone()].copy_from_slice(&starts);
            self.values[range.clone()].copy_from_slice(&values);
            self.currency[range.clone()].copy_from_slice(&currency);
            if !self.source.is_empty() {
                self.source[range].copy_from_slice(&source);
            }
        }
        true
    }

    /// The rows whose `keep` is true, with the same tables and series (some maybe empty).
    pub fn subset(&self, keep: &[bool]) -> FactColumns {
        let mut out = FactColumns {
            units: self.units.clone(),
            metrics: self.metrics.clone(),
            currencies: self.currencies.clone(),
            sources: self.sources.clone(),
            series: self.series.clone(),
            offsets: Vec::with_capacity(self.offsets.len()),
            ..FactColumns::default()
        };
        out.offsets.push(0);
        for series in 0..self.series.len() {
            for row in self.rows(series).filter(|row| keep[*row]) {
                out.starts.push(self.starts[row]);
                out.values.push(self.values[row]);
                out.currency.push(self.currency[row]);
                if !self.source.is_empty() {
                    out.source.push(self.source[row]);
                }
            }
            out.offsets.push(out.starts.len());
        }
        out
    }

    /// The key of series `series` with period start `start`.
    pub fn key(&self, series: usize, start: i32) -> FactKey {
        let s = &self.series[series];
        FactKey {
            unit: self.units[s.unit as usize].clone(),
            period: Period::new(start, s.granularity),
            metric: self.metrics[s.metric as usize].clone(),
            counterparty: (s.counterparty != NONE)
                .then(|| self.units[s.counterparty as usize].clone()),
            basis: s.basis,
        }
    }

    /// The facts, series by series, with `origin` (for tests and for backends that take
    /// whole facts).
    pub fn to_facts(&self, origin: &Origin) -> Vec<Fact> {
        let mut facts = Vec::with_capacity(self.len());
        for series in 0..self.series.len() {
            for row in self.rows(series) {
                let currency = self.currency[row];
                let source = self.source_of(row);
                facts.push(Fact {
                    key: self.key(series, self.starts[row]),
                    value: self.values[row],
                    currency: (currency != NONE)
                        .then(|| self.currencies[currency as usize].clone()),
                    source: (source != NONE).then(|| self.sources[source as usize].clone()),
                    note: None,
                    precision: None,
                    origin: origin.clone(),
                });
            }
        }
        facts
    }
}

/// Reads a model folder into a model without facts and its facts as columns; `None` when any
/// file has a problem or a fact file is not in the fast reader's shape (then read the folder
/// with [`super::read_model`], which reports every problem).
pub fn read_model_columns(files: &ModelFiles) -> Option<(Model, FactColumns)> {
    let is_fact_file =
        |path: &str| path == FACTS_FILE || (path.starts_with("facts/") && is_model_file(path));
    let others: ModelFiles = files
        .iter()
        .filter(|(path, _)| !is_fact_file(path))
        .map(|(p, b)| (p.clone(), b.clone()))
        .collect();
    let (model, problems) = read_model(&others);
    let model = model.filter(|_| problems.is_empty())?;
    let fact_files: Vec<(&str, &[u8])> = files
        .iter()
        .filter(|(path, _)| is_fact_file(path))
        .map(|(path, bytes)| (path.as_str(), bytes.as_slice()))
        .collect();
    let columns = read_columns(&fact_files, model.group.calendar(), CHUNK_BYTES)?;
    Some((model, columns))
}

/// Bytes of a fact file held at a time by [`read_model_columns_from`]: the file is parsed
/// window by window, so memory is bounded by the columns plus one window, not the file.
pub const WINDOW_BYTES: usize = 64 << 20;

/// [`read_model_columns`] with the fact files read from streams, one window of
/// [`WINDOW_BYTES`] at a time (issue 16 item 7: `check` and `import` held every fact file
/// whole, then the columns beside it). `others` are the folder's other files. `Ok(None)`
/// exactly where [`read_model_columns`] answers `None` for the same files; `Err` names the
/// fact file that could not be read.
pub fn read_model_columns_from<R: std::io::Read>(
    others: &ModelFiles,
    fact_files: Vec<(String, R)>,
) -> Result<Option<(Model, FactColumns)>, (String, std::io::Error)> {
    read_model_columns_windowed(others, fact_files, WINDOW_BYTES)
}

/// [`read_model_columns_from`] with windows of `window` bytes (each parsed on threads in
/// pieces of a quarter of it).
pub fn read_model_columns_windowed<R: std::io::Read>(
    others: &ModelFiles,
    fact_files: Vec<(String, R)>,
    window: usize,
) -> Result<Option<(Model, FactColumns)>, (String, std::io::Error)> {
    let (model, problems) = read_model(others);
    let Some(model) = model.filter(|_| problems.is_empty()) else {
        return Ok(None);
    };
    let calendar = model.group.calendar();
    let mut parts = Vec::new();
    for (name, reader) in fact_files {
        match read_stream(reader, calendar, window, &mut parts) {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(error) => return Err((name, error)),
        }
    }
    Ok(Some((model, concat(parts))))
}

/// Reads one fact file from a stream, window by window, appending the columns of each
/// window to `parts`; `Ok(false)` when anything is not certain (as [`read_columns`]).
fn read_stream<R: std::io::Read>(
    mut reader: R,
    calendar: FiscalCalendar,
    window: usize,
    parts: &mut Vec<FactColumns>,
) -> std::io::Result<bool> {
    let mut buffer: Vec<u8> = Vec::new();
    let mut layout: Option<Layout> = None;
    let mut first = true;
    loop {
        let at_end = super::read_window(&mut reader, &mut buffer, window, &mut first)?;
        if layout.is_none() {
            let Some(newline) = buffer.iter().position(|b| *b == b'\n') else {
                if at_end {
                    return Ok(false); // no header line: the reference reader says why
                }
                continue;
            };
            let Some((found, _)) = header(&buffer[..=newline]) else {
                return Ok(false);
            };
            layout = Some(found);
            buffer.drain(..=newline);
        }
        let layout = layout.as_ref().expect("read above");
        // Whole lines only, except at the end of the file.
        let cut = if at_end {
            buffer.len()
        } else {
            match buffer.iter().rposition(|b| *b == b'\n') {
                Some(newline) => newline + 1,
                None => continue,
            }
        };
        if cut > 0 {
            let Ok(rows) = std::str::from_utf8(&buffer[..cut]) else {
                return Ok(false);
            };
            let chunk_bytes = (window / 4).clamp(1 << 16, CHUNK_BYTES);
            let Some(columns) = parse_rows(layout, rows, calendar, chunk_bytes) else {
                return Ok(false);
            };
            parts.push(columns);
            buffer.drain(..cut);
        }
        if at_end {
            return Ok(true);
        }
    }
}

/// The rows of one fact file (or a window of whole lines of it) as columns, parsed in chunks
/// on threads; `None` when a row is not certain.
fn parse_rows(
    layout: &Layout,
    rows: &str,
    calendar: FiscalCalendar,
    chunk_bytes: usize,
) -> Option<FactColumns> {
    let bytes = rows.as_bytes();
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let mut end = (start + chunk_bytes.max(1)).min(bytes.len());
        while end < bytes.len() && bytes[end - 1] != b'\n' {
            end += 1;
        }
        chunks.push(Chunk {
            file: 0,
            text: &rows[start..end],
            first_line: 0,
        });
        start = end;
    }
    let parsed: Vec<ChunkColumns<'_>> = chunks
        .par_iter()
        .map(|chunk| parse_chunk(layout, chunk, calendar))
        .collect::<Option<_>>()?;
    Some(merge(parsed))
}

/// Columns read in parts (windows of fact files) as one: ids and series renumbered, each
/// series' rows in the order of the parts. Each part is freed once copied.
fn concat(mut parts: Vec<FactColumns>) -> FactColumns {
    if parts.len() <= 1 {
        return parts.pop().unwrap_or_else(|| merge(Vec::new()));
    }
    fn renumber_owned<T: Clone + Eq + std::hash::Hash>(
        local: &[T],
        global: &mut FxHashMap<T, u32>,
        table: &mut Vec<T>,
    ) -> Vec<u32> {
        local
            .iter()
            .map(|item| {
                *global.entry(item.clone()).or_insert_with(|| {
                    table.push(item.clone());
                    table.len() as u32 - 1
                })
            })
            .collect()
    }
    let mut out = FactColumns::default();
    let mut units = FxHashMap::default();
    let mut metrics = FxHashMap::default();
    let mut currencies = FxHashMap::default();
    let mut sources = FxHashMap::default();
    let mut series: FxHashMap<Series, u32> = FxHashMap::default();
    let mut counts: Vec<usize> = Vec::new();
    let mut maps = Vec::with_capacity(parts.len());
    for part in &parts {
        let unit_map = renumber_owned(&part.units, &mut units, &mut out.units);
        let metric_map = renumber_owned(&part.metrics, &mut metrics, &mut out.metrics);
        let currency_map = renumber_owned(&part.currencies, &mut currencies, &mut out.currencies);
        let source_map = renumber_owned(&part.sources, &mut sources, &mut out.sources);
        let series_map: Vec<u32> = part
            .series
            .iter()
            .enumerate()
            .map(|(local, s)| {
                let key = Series {
                    unit: unit_map[s.unit as usize],
                    metric: metric_map[s.metric as usize],
                    counterparty: if s.counterparty == NONE {
                        NONE
                    } else {
                        unit_map[s.counterparty as usize]
                    },
                    ..*s
                };
                let global = *series.entry(key).or_insert_with(|| {
                    out.series.push(key);
                    counts.push(0);
                    out.series.len() as u32 - 1
                });
                counts[global as usize] += part.rows(local).len();
                global
            })
            .collect();
        maps.push((series_map, currency_map, source_map));
    }
    let total: usize = counts.iter().sum();
    let has_sources = parts.iter().any(|part| !part.source.is_empty());
    out.offsets = Vec::with_capacity(counts.len() + 1);
    out.offsets.push(0);
    let mut sum = 0;
    for count in &counts {
        sum += count;
        out.offsets.push(sum);
    }
    // Where each part's rows of each of its series go: after the earlier parts' rows.
    let mut cursor = out.offsets.clone();
    let bases: Vec<Vec<usize>> = parts
        .iter()
        .zip(&maps)
        .map(|(part, (series_map, _, _))| {
            series_map
                .iter()
                .enumerate()
                .map(|(local, global)| {
                    let at = cursor[*global as usize];
                    cursor[*global as usize] += part.rows(local).len();
                    at
                })
                .collect()
        })
        .collect();
    drop(cursor);
    // Column by column, each part's column freed once copied: memory holds the parts and
    // one or two whole columns at a time, not the parts and the whole result (issue 16 item
    // 7: a folder of many fact files held its columns twice).
    fn gather<T: Copy>(
        total: usize,
        fill: T,
        parts: &mut [FactColumns],
        bases: &[Vec<usize>],
        take: impl Fn(&mut FactColumns) -> Vec<T>,
        map: impl Fn(usize, T) -> T,
    ) -> Vec<T> {
        let mut column = vec![fill; total];
        for (index, (part, bases)) in parts.iter_mut().zip(bases).enumerate() {
            let local = take(part);
            if local.is_empty() {
                continue;
            }
            for (series, at) in bases.iter().enumerate() {
                let rows = part.offsets[series]..part.offsets[series + 1];
                for (offset, row) in rows.enumerate() {
                    column[at + offset] = map(index, local[row]);
                }
            }
        }
        column
    }
    let total_rows = total;
    out.starts = gather(
        total_rows,
        0,
        &mut parts,
        &bases,
        |p| std::mem::take(&mut p.starts),
        |_, v| v,
    );
    out.values = gather(
        total_rows,
        0.0,
        &mut parts,
        &bases,
        |p| std::mem::take(&mut p.values),
        |_, v| v,
    );
    out.currency = gather(
        total_rows,
        NONE,
        &mut parts,
        &bases,
        |p| std::mem::take(&mut p.currency),
        |part, c| {
            if c == NONE {
                NONE
            } else {
                maps[part].1[c as usize]
            }
        },
    );
    if has_sources {
        out.source = gather(
            total_rows,
            NONE,
            &mut parts,
            &bases,
            |p| std::mem::take(&mut p.source),
            |part, s| {
                if s == NONE {
                    NONE
                } else {
                    maps[part].2[s as usize]
                }
            },
        );
    }
    out
}

/// Facts of one chunk, with ids numbered within the chunk.
struct ChunkColumns<'a> {
    units: Vec<&'a str>,
    metrics: Vec<&'a str>,
    currencies: Vec<&'a str>,
    sources: Vec<&'a str>,
    series: Vec<Series>,
    /// Rows of each series in this chunk.
    counts: Vec<u32>,
    series_of: Vec<u32>,
    starts: Vec<i32>,
    values: Vec<f64>,
    currency: Vec<u32>,
    source: Vec<u32>,
}

/// Reads fact files into columns; `None` when any file or row is not certain.
fn read_columns(
    files: &[(&str, &[u8])],
    calendar: FiscalCalendar,
    chunk_bytes: usize,
) -> Option<FactColumns> {
    let checked: Vec<(Layout, &str)> = files
        .par_iter()
        .map(|(_, bytes)| header(bytes))
        .collect::<Option<_>>()?;
    let mut prepared = Vec::with_capacity(files.len());
    let mut chunks = Vec::new();
    for (file, (layout, rows)) in checked.into_iter().enumerate() {
        // Lines are not counted: a row with any problem sends the whole folder to the
        // reference reader, which names the line.
        let bytes = rows.as_bytes();
        let mut start = 0;
        while start < bytes.len() {
            let mut end = (start + chunk_bytes.max(1)).min(bytes.len());
            while end < bytes.len() && bytes[end - 1] != b'\n' {
                end += 1;
            }
            chunks.push(Chunk {
                file,
                text: &rows[start..end],
                first_line: 0,
            });
            start = end;
        }
        prepared.push(layout);
    }
    let parsed: Vec<ChunkColumns<'_>> = chunks
        .par_iter()
        .map(|chunk| parse_chunk(&prepared[chunk.file], chunk, calendar))
        .collect::<Option<_>>()?;
    Some(merge(parsed))
}

/// The layout of a fact file and the text of its rows, as [`prepare`] reads them, but
/// leaving the rows' check for quotes and carriage returns to [`parse_chunk`] (on threads).
fn header(bytes: &[u8]) -> Option<(Layout, &str)> {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).ok()?;
    let (head, rows) = text.split_once('\n')?;
    if head.bytes().any(|b| b == b'"' || b == b'\r') {
        return None;
    }
    let (layout, _, _) = prepare(
        head.as_bytes()
            .iter()
            .chain(b"\n")
            .copied()
            .collect::<Vec<u8>>()
            .as_slice(),
    )?;
    Some((layout, rows))
}

/// Powers of ten that are exact doubles.
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A value as [`parse_number`] reads it (None where it refuses), with a fast path for plain
/// decimals (`-?digits.digits`): when the digits as an integer are below 2^53 and there are at
/// most 22 after the point, both the integer and the power of ten are exact doubles, so one
/// division rounds exactly as a correctly rounded parse does (the classic exact fast path).
#[inline]
fn parse_value(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let (negative, digits) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        _ => (false, bytes),
    };
    let mut mantissa: u64 = 0;
    let mut count = 0;
    let mut after_point: Option<usize> = None;
    for byte in digits {
        match byte {
            b'0'..=b'9' if count < 19 => {
                mantissa = mantissa * 10 + u64::from(byte - b'0');
                count += 1;
                if let Some(after) = after_point.as_mut() {
                    *after += 1;
                }
            }
            b'.' if after_point.is_none() => after_point = Some(0),
            _ => return parse_number(text).ok(),
        }
    }
    let after = after_point.unwrap_or(0);
    if count == 0 || mantissa >= 1 << 53 || after >= POWERS_OF_TEN.len() {
        return parse_number(text).ok();
    }
    let value = mantissa as f64 / POWERS_OF_TEN[after];
    if value > super::csv_files::MAX_VALUE_MAGNITUDE {
        // Refused, with the reference path's message.
        return parse_number(text).ok();
    }
    Some(if negative { -value } else { value })
}

/// Equal texts, compared inline (ids are a few bytes: a call to `memcmp` costs more).
#[inline(always)]
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// The number of a text within a chunk, once `valid` accepts it (asked on its first sight
/// only); `None` when it does not.
fn checked_number<'a>(
    table: &mut FxHashMap<&'a str, u32>,
    texts: &mut Vec<&'a str>,
    text: &'a str,
    valid: impl FnOnce(&str) -> bool,
) -> Option<u32> {
    match table.get(text) {
        Some(number) => Some(*number),
        None => valid(text).then(|| number(table, texts, text)),
    }
}

/// Numbers a text within a chunk.
fn number<'a>(table: &mut FxHashMap<&'a str, u32>, texts: &mut Vec<&'a str>, text: &'a str) -> u32 {
    *table.entry(text).or_insert_with(|| {
        texts.push(text);
        texts.len() as u32 - 1
    })
}

/// A field by its column in the fact columns, trimmed; None when absent or empty (what
/// [`field`] gives, without trimming when the ends are plain ASCII).
#[inline]
fn quick_field<'a>(layout: &Layout, fields: &[&'a str], column: usize) -> Option<&'a str> {
    let index = layout.position[column]?;
    let text = fields[index];
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (None, _) | (_, None) => None,
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => {
            Some(text)
        }
        _ => field(layout, fields, column),
    }
}

/// Parses one chunk; None when a line is not certain (the same rows the fast fact reader
/// refuses).
fn parse_chunk<'a>(
    layout: &Layout,
    chunk: &Chunk<'a>,
    calendar: FiscalCalendar,
) -> Option<ChunkColumns<'a>> {
    let rows = chunk.text.len() / 24;
    let mut out = ChunkColumns {
        units: Vec::new(),
        metrics: Vec::new(),
        currencies: Vec::new(),
        sources: Vec::new(),
        series: Vec::new(),
        counts: Vec::new(),
        series_of: Vec::with_capacity(rows),
        starts: Vec::with_capacity(rows),
        values: Vec::with_capacity(rows),
        currency: Vec::with_capacity(rows),
        source: Vec::new(),
    };
    let mut units: FxHashMap<&'a str, u32> = FxHashMap::default();
    let mut metrics: FxHashMap<&'a str, u32> = FxHashMap::default();
    let mut currencies: FxHashMap<&'a str, u32> = FxHashMap::default();
    let mut sources: FxHashMap<&'a str, u32> = FxHashMap::default();
    let mut periods: FxHashMap<&'a str, Period> = FxHashMap::default();
    let mut dates: FxHashMap<&'a str, NaiveDate> = FxHashMap::default();
    let mut series: FxHashMap<Series, u32> = FxHashMap::default();
    // Series of reported figures without counterparty, the common case, by unit and
    // granularity, then by metric: a lookup in a small array instead of a hash table.
    let mut plain: Vec<Vec<u32>> = Vec::new();
    // Rows come grouped by unit and period, with metrics in a repeating order: the previous
    // row's unit and period, and the metric after the previous one, are the likeliest.
    let mut last_unit: (&str, u32) = ("", NONE);
    let mut last_period: (&str, Option<Period>) = ("", None);
    let mut last_metric: u32 = NONE;
    let mut fields: [&'a str; 9] = [""; 9];
    let width = layout.width;
    let text: &'a str = chunk.text.strip_suffix('\n').unwrap_or(chunk.text);
    let bytes = text.as_bytes();
    let mut next_line = 0;
    // One pass over the bytes finds line ends and commas together (at least one line: an
    // empty chunk is a blank line, which the fast reader does not take).
    while next_line <= bytes.len() {
        // Split at commas; a line with another number of fields is not certain. (A blank
        // line has one field, and a fact file at least four columns.)
        let mut count = 0;
        let mut from = next_line;
        let mut at = next_line;
        while at < bytes.len() {
            let byte = bytes[at];
            if byte == b'\n' {
                break;
            }
            if byte == b',' {
                if count + 1 >= width {
                    return None;
                }
                fields[count] = &text[from..at];
                count += 1;
                from = at + 1;
            } else if byte == b'"' || byte == b'\r' {
                return None; // quoted fields and CRLF lines: the csv-crate reader's
            }
            at += 1;
        }
        fields[count] = &text[from..at];
        next_line = at + 1;
        if count + 1 != width {
            return None;
        }
        let fields = &fields[..width];
        let get = |column: usize| quick_field(layout, fields, column);
        let unit_text = get(0)?;
        let unit = if same(unit_text, last_unit.0) {
            last_unit.1
        } else {
            let unit = checked_number(&mut units, &mut out.units, unit_text, |t| {
                UnitId::parse(t).is_ok()
            })?;
            last_unit = (unit_text, unit);
            unit
        };
        let period_text = get(1)?;
        let period = match last_period {
            (text, Some(period)) if same(text, period_text) => period,
            _ => {
                let period = interned(&mut periods, period_text, |t| Period::parse(t, calendar))?;
                last_period = (period_text, Some(period));
                period
            }
        };
        let metric_text = get(2)?;
        let next_metric = last_metric.wrapping_add(1);
        let metric = if out
            .metrics
            .get(next_metric as usize)
            .is_some_and(|text| same(text, metric_text))
        {
            next_metric
        } else if out
            .metrics
            .first()
            .is_some_and(|text| same(text, metric_text))
        {
            0
        } else {
            checked_number(&mut metrics, &mut out.metrics, metric_text, |t| {
                MetricId::parse(t).is_ok()
            })?
        };
        last_metric = metric;
        let value = parse_value(get(3)?)?;
        let currency = match get(4) {
            None => NONE,
            Some(text) => checked_number(&mut currencies, &mut out.currencies, text, |t| {
                Currency::parse(t).is_ok()
            })?,
        };
        let counterparty = match get(5) {
            None => NONE,
            Some(text) => checked_number(&mut units, &mut out.units, text, |t| {
                UnitId::parse(t).is_ok()
            })?,
        };
        let structure = match get(7) {
            None => None,
            Some(text) => Some(interned(&mut dates, text, parse_date)?),
        };
        let basis = quick_basis(get(6), structure)?;
        if let Some(text) = get(8) {
            if out.source.is_empty() {
                out.source.resize(out.starts.len(), NONE);
            }
            let source = number(&mut sources, &mut out.sources, text);
            out.source.push(source);
        } else if !out.source.is_empty() {
            out.source.push(NONE);
        }
        let key = Series {
            unit,
            metric,
            counterparty,
            granularity: period.granularity,
            basis,
        };
        let found = if counterparty == NONE && basis == Basis::Reported {
            let slot = unit as usize * 3 + period.granularity as usize;
            if plain.len() <= slot {
                plain.resize(slot + 1, Vec::new());
            }
            let by_metric = &mut plain[slot];
            if by_metric.len() <= metric as usize {
                by_metric.resize(metric as usize + 1, NONE);
            }
            if by_metric[metric as usize] == NONE {
                by_metric[metric as usize] = out.series.len() as u32;
                out.series.push(key);
                out.counts.push(0);
            }
            by_metric[metric as usize]
        } else {
            let next = out.series.len() as u32;
            let found = *series.entry(key).or_insert(next);
            if found == next {
                out.series.push(key);
                out.counts.push(0);
            }
            found
        };
        out.counts[found as usize] += 1;
        out.series_of.push(found);
        out.starts.push(period.start);
        out.values.push(value);
        out.currency.push(currency);
    }
    Some(out)
}

/// The whole-file numbers of a chunk's texts (`table` maps a text to its number; a text
/// seen for the first time is made a value by `make` and appended to `values`).
fn renumber<'a, T>(
    texts: &[&'a str],
    table: &mut FxHashMap<&'a str, u32>,
    values: &mut Vec<T>,
    make: impl Fn(&str) -> T,
) -> Vec<u32> {
    texts
        .iter()
        .map(|text| {
            *table.entry(*text).or_insert_with(|| {
                values.push(make(text));
                values.len() as u32 - 1
            })
        })
        .collect()
}

/// Joins the chunks' columns: ids and series renumbered by text, rows laid out series by
/// series (a counting sort), in chunk order within each series.
fn merge(chunks: Vec<ChunkColumns<'_>>) -> FactColumns {
    let mut columns = FactColumns::default();
    let mut units: FxHashMap<&str, u32> = FxHashMap::default();
    let mut metrics: FxHashMap<&str, u32> = FxHashMap::default();
    let mut currencies: FxHashMap<&str, u32> = FxHashMap::default();
    let mut sources: FxHashMap<&str, u32> = FxHashMap::default();
    let mut series: FxHashMap<Series, u32> = FxHashMap::default();
    let has_sources = chunks.iter().any(|chunk| !chunk.source.is_empty());
    let mut counts: Vec<usize> = Vec::new();
    let mut renumbered: Vec<Vec<u32>> = Vec::with_capacity(chunks.len());
    let mut source_maps: Vec<Vec<u32>> = Vec::with_capacity(chunks.len());
    let mut currency_maps: Vec<Vec<u32>> = Vec::with_capacity(chunks.len());
    for chunk in &chunks {
        let unit_ids = renumber(&chunk.units, &mut units, &mut columns.units, |t| {
            UnitId::parse(t).expect("checked when read")
        });
        let metric_ids = renumber(&chunk.metrics, &mut metrics, &mut columns.metrics, |t| {
            MetricId::parse(t).expect("checked when read")
        });
        currency_maps.push(renumber(
            &chunk.currencies,
            &mut currencies,
            &mut columns.currencies,
            |t| Currency::parse(t).expect("checked when read"),
        ));
        source_maps.push(renumber(
            &chunk.sources,
            &mut sources,
            &mut columns.sources,
            str::to_string,
        ));
        let series_ids: Vec<u32> = chunk
            .series
            .iter()
            .map(|local| {
                let key = Series {
                    unit: unit_ids[local.unit as usize],
                    metric: metric_ids[local.metric as usize],
                    counterparty: if local.counterparty == NONE {
                        NONE
                    } else {
                        unit_ids[local.counterparty as usize]
                    },
                    ..*local
                };
                *series.entry(key).or_insert_with(|| {
                    columns.series.push(key);
                    counts.push(0);
                    columns.series.len() as u32 - 1
                })
            })
            .collect();
        for (local, count) in chunk.counts.iter().enumerate() {
            counts[series_ids[local] as usize] += *count as usize;
        }
        renumbered.push(series_ids);
    }
    let total: usize = counts.iter().sum();
    columns.offsets = Vec::with_capacity(counts.len() + 1);
    columns.offsets.push(0);
    let mut sum = 0;
    for count in &counts {
        sum += count;
        columns.offsets.push(sum);
    }
    // Where each chunk's rows of each of its series go: after the earlier chunks' rows.
    let mut cursor = columns.offsets.clone();
    let bases: Vec<Vec<usize>> = chunks
        .iter()
        .zip(&renumbered)
        .map(|(chunk, series_ids)| {
            chunk
                .counts
                .iter()
                .zip(series_ids)
                .map(|(count, global)| {
                    let slot = &mut cursor[*global as usize];
                    let base = *slot;
                    *slot += *count as usize;
                    base
                })
                .collect()
        })
        .collect();
    columns.starts = vec![0; total];
    columns.values = vec![0.0; total];
    columns.currency = vec![NONE; total];
    if has_sources {
        columns.source = vec![NONE; total];
    }
    let out = Scatter {
        starts: columns.starts.as_mut_ptr(),
        values: columns.values.as_mut_ptr(),
        currency: columns.currency.as_mut_ptr(),
        source: if has_sources {
            columns.source.as_mut_ptr()
        } else {
            std::ptr::null_mut()
        },
    };
    chunks
        .par_iter()
        .zip(bases)
        .enumerate()
        .for_each(|(index, (chunk, mut next))| {
            let (currency_map, source_map) = (&currency_maps[index], &source_maps[index]);
            let out = &out;
            for (row, local) in chunk.series_of.iter().enumerate() {
                let slot = &mut next[*local as usize];
                let at = *slot;
                *slot += 1;
                let currency = chunk.currency[row];
                let currency = if currency == NONE {
                    NONE
                } else {
                    currency_map[currency as usize]
                };
                let source = match chunk.source.get(row) {
                    Some(source) if *source != NONE => source_map[*source as usize],
                    _ => NONE,
                };
                assert!(at < total);
                // SAFETY: `at` is below `total`, the length of every column, and each row of
                // every chunk gets its own slot: the chunks' bases partition each series' range
                // by their row counts, and each chunk advances within its part only.
                unsafe {
                    *out.starts.add(at) = chunk.starts[row];
                    *out.values.add(at) = chunk.values[row];
                    *out.currency.add(at) = currency;
                    if !out.source.is_null() {
                        *out.source.add(at) = source;
                    }
                }
            }
        });
    columns
}

/// The columns being filled by [`merge`], written from several threads at distinct rows.
struct Scatter {
    starts: *mut i32,
    values: *mut f64,
    currency: *mut u32,
    source: *mut u32,
}

// SAFETY: threads write through these pointers only at distinct rows (see `merge`), and
// `merge` joins them before the columns are used again.
unsafe impl Sync for Scatter {}

#[cfg(test)]
mod tests {
    use super::super::fast_facts;
    use super::*;
    use crate::model::Diagnostic;

    /// The facts of both readers as sorted (key, value, currency, source) tuples.
    fn same_facts(files: &[(&str, &[u8])], chunk_bytes: usize) -> Option<bool> {
        let calendar = FiscalCalendar::new(3).expect("a month");
        let columns = read_columns(files, calendar, chunk_bytes)?;
        let mut problems: Vec<Diagnostic> = Vec::new();
        let reference = fast_facts::parse_fact_files(files, calendar, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        let spell = |facts: Vec<Fact>| {
            let mut facts: Vec<_> = facts
                .into_iter()
                .map(|f| (f.key, f.value.to_bits(), f.currency, f.source))
                .collect();
            facts.sort();
            facts
        };
        let origin = Origin {
            file: String::new(),
            line: 0,
        };
        Some(spell(columns.to_facts(&origin)) == spell(reference))
    }

    #[test]
    fn reads_the_facts_the_reference_reader_reads() {
        let clean = "unit,period,metric,value,currency,counterparty,basis,structure,source\n\
            a,FY2021,revenue,1.5,USD,,,,annual report\n\
            b , 2021Q3 ,ebita,-2,,a,restated,2022-01-01,\n\
            a,2021-04,revenue,3e2,usd,,plan,,\n\
            a,FY2022,revenue,4,,,estimate,,\n\
            a,FY2022,revenue,4,,,,,\n";
        let other = "metric,unit,period,value\nrevenue,a,FY2023,7\nrevenue,c,FY2021,8\n";
        let files: Vec<(&str, &[u8])> = vec![
            ("facts.csv", clean.as_bytes()),
            ("facts/b.csv", other.as_bytes()),
        ];
        for chunk_bytes in [1, 7, 40, 1 << 20] {
            assert_eq!(same_facts(&files, chunk_bytes), Some(true));
        }
    }

    /// The columns read from streams, window by window, are the columns read whole: the same
    /// tables, series, offsets and rows, whatever the window cuts through.
    #[test]
    fn reading_window_by_window_gives_the_same_columns() {
        let clean =
            "\u{FEFF}unit,period,metric,value,currency,counterparty,basis,structure,source\n\
            a,FY2021,revenue,1.5,USD,,,,annual report\n\
            b , 2021Q3 ,ebita,-2,,a,restated,2022-01-01,\n\
            a,2021-04,revenue,3e2,usd,,plan,,\n\
            a,FY2022,revenue,4,,,estimate,,\n\
            c,FY2022,revenue,4,,,,,";
        let other = "metric,unit,period,value\nrevenue,a,FY2023,7\nrevenue,c,FY2021,8\nrevenue,a,FY2020,9\n";
        let files: Vec<(&str, &[u8])> = vec![
            ("facts.csv", clean.as_bytes()),
            ("facts/b.csv", other.as_bytes()),
        ];
        let calendar = FiscalCalendar::new(3).expect("a month");
        let whole = read_columns(&files, calendar, 1 << 20).expect("clean files");
        for window in [1, 2, 5, 17, 64, 1 << 20] {
            let mut parts = Vec::new();
            for (_, bytes) in &files {
                assert!(read_stream(*bytes, calendar, window, &mut parts).unwrap());
            }
            let streamed = concat(parts);
            assert_eq!(streamed.units, whole.units, "window {window}");
            assert_eq!(streamed.metrics, whole.metrics);
            // Currencies are one entry per currency (the whole read keeps one per spelling).
            let spelled = |columns: &FactColumns| -> Vec<Option<Currency>> {
                columns
                    .currency
                    .iter()
                    .map(|c| (*c != NONE).then(|| columns.currencies[*c as usize].clone()))
                    .collect()
            };
            assert_eq!(spelled(&streamed), spelled(&whole));
            assert_eq!(streamed.sources, whole.sources);
            assert_eq!(streamed.series, whole.series);
            assert_eq!(streamed.offsets, whole.offsets);
            assert_eq!(streamed.starts, whole.starts);
            assert_eq!(streamed.source, whole.source);
            let bits = |values: &[f64]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&streamed.values), bits(&whole.values));
        }
        for bad in [
            "unit,period,metric,value\na,FY2021,revenue,\"1\"\n",
            "unit,period,metric,value\na,FY2021,revenue,1\n\na,FY2022,revenue,2",
            "unit,period,metric,value",
        ] {
            for window in [1, 3, 1 << 20] {
                let mut parts = Vec::new();
                assert!(!read_stream(bad.as_bytes(), calendar, window, &mut parts).unwrap());
            }
        }
    }

    #[test]
    fn refuses_what_the_fast_reader_refuses() {
        for bad in [
            "unit,period,metric,value\na,FY2021,revenue,\"1\"\n",
            "unit,period,metric,value\na,FY2021,revenue,1\n\na,FY2022,revenue,2",
            "unit,period,metric,value\na,FY2021,revenue,x\n",
            "unit,period,metric,value\na,FY2021,revenue,1,2\n",
            "unit,period,metric\na,FY2021,revenue\n",
            "unit,period,metric,value,basis\na,FY2021,revenue,1,restated\n",
        ] {
            let files: Vec<(&str, &[u8])> = vec![("facts.csv", bad.as_bytes())];
            assert!(
                read_columns(&files, FiscalCalendar::new(3).unwrap(), 1 << 20).is_none(),
                "{bad}"
            );
        }
    }

    #[test]
    fn values_parse_to_the_same_bits_as_the_reference() {
        let mut texts: Vec<String> = [
            "0",
            "-0",
            "-0.00",
            "1.",
            ".5",
            "-.5",
            ".",
            "-",
            "",
            "+1",
            "1e3",
            "1E-2",
            "inf",
            "NaN",
            "1,5",
            "1.2.3",
            "--1",
            "9007199254740991",
            "9007199254740993",
            "9007199254740992.5",
            "0.1",
            "0.3",
            "123456789012345678",
            "1234567890123456789",
            "12345678901234567890",
            "0.0000000000000000000001",
            "0.00000000000000000000001",
            "17976931348623157",
            "4.9406564584124654",
            "2.2250738585072014",
            "1113.16",
            "-21.4",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200_000 {
            let digits = (next() % 20) as usize;
            let point = (next() % (digits as u64 + 2)) as usize;
            let mut text = String::new();
            if next() % 3 == 0 {
                text.push('-');
            }
            for index in 0..digits {
                if index == point {
                    text.push('.');
                }
                text.push(char::from(b'0' + (next() % 10) as u8));
            }
            texts.push(text);
        }
        for text in &texts {
            let fast = parse_value(text).map(f64::to_bits);
            let reference = parse_number(text).ok().map(f64::to_bits);
            assert_eq!(fast, reference, "{text}");
        }
    }

    #[test]
    fn sorting_series_finds_duplicates() {
        let text = "unit,period,metric,value\na,2021-03,revenue,1\na,2021-01,revenue,2\na,2021-02,revenue,3\n";
        let files: Vec<(&str, &[u8])> = vec![("facts.csv", text.as_bytes())];
        let mut columns = read_columns(&files, FiscalCalendar::new(3).unwrap(), 1 << 20).unwrap();
        assert!(columns.sort_series());
        assert_eq!(columns.values, vec![2.0, 3.0, 1.0]);
        let text = "unit,period,metric,value\na,2021-03,revenue,1\na,2021-01,revenue,2\na,2021-03,revenue,3\n";
        let files: Vec<(&str, &[u8])> = vec![("facts.csv", text.as_bytes())];
        let mut columns = read_columns(&files, FiscalCalendar::new(3).unwrap(), 1 << 20).unwrap();
        assert!(!columns.sort_series());
    }
}
