//! Fact files read window by window with the reference readers, for the diagnostics of a
//! folder of millions of facts in bounded memory (issue 16 item 7).
//!
//! [`read_model_streamed`] reports every problem [`super::read_model`] finds, in the same
//! order and with the same words, but never holds a fact file whole nor one [`Fact`] per
//! row: each window of whole records is parsed by the reference readers (the header put in
//! front of it, line numbers shifted back), its problems reported at once, and of each fact
//! only what validation needs is kept, 16 bytes a fact ([`FactRows`]).
//! [`crate::bulk_validate::validate_rows`] then reports what
//! [`crate::bulk_validate::validate`] would.

use super::{fast_facts, read_model_with, ModelFiles};
use crate::ids::{Currency, MetricId, UnitId};
use crate::model::{Basis, Diagnostic, Fact, FactKey, Model, Origin};
use crate::period::{FiscalCalendar, Granularity, Period};
use rustc_hash::FxHashMap;
use std::io::{Read, Seek, SeekFrom};

/// Bytes of a fact file parsed at a time by [`read_model_streamed`]: the facts of one window
/// are built whole (about 200 bytes a row) before they are reduced to [`FactRows`], so the
/// window is kept small.
pub const WINDOW_BYTES: usize = 8 << 20;

/// Bytes of a window parsed by one thread.
const CHUNK_BYTES: usize = 1 << 20;

/// A fact key without its period start.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RowSeries {
    /// The unit.
    pub unit: UnitId,
    /// The metric.
    pub metric: MetricId,
    /// The counterparty, if any.
    pub counterparty: Option<UnitId>,
    /// Granularity of the period.
    pub granularity: Granularity,
    /// Basis (with its structure date).
    pub basis: Basis,
}

/// "No currency" in [`FactRows::currency`].
pub const NO_CURRENCY: u32 = u32::MAX;

/// Facts as what validation needs of them, row by row in file order: series, period start,
/// currency and line (16 bytes a fact); values, sources and notes are not kept.
#[derive(Debug, Default)]
pub struct FactRows {
    /// The fact files read, each with the index of its first row.
    pub files: Vec<(usize, String)>,
    /// The distinct series.
    pub series: Vec<RowSeries>,
    /// The distinct currencies.
    pub currencies: Vec<Currency>,
    /// Series of each row (index into `series`).
    pub row_series: Vec<u32>,
    /// Period start (month index) of each row.
    pub row_start: Vec<i32>,
    /// Currency of each row (index into `currencies`, or [`NO_CURRENCY`]).
    pub row_currency: Vec<u32>,
    /// Line of each row in its file.
    pub row_line: Vec<u32>,
    series_index: FxHashMap<RowSeries, u32>,
    currency_index: FxHashMap<Currency, u32>,
}

impl FactRows {
    /// Number of facts.
    pub fn len(&self) -> usize {
        self.row_start.len()
    }

    /// True when there are no facts.
    pub fn is_empty(&self) -> bool {
        self.row_start.is_empty()
    }

    fn push(&mut self, fact: Fact) {
        let Fact {
            key,
            currency,
            origin,
            ..
        } = fact;
        let series = RowSeries {
            unit: key.unit,
            metric: key.metric,
            counterparty: key.counterparty,
            granularity: key.period.granularity,
            basis: key.basis,
        };
        let next = self.series.len() as u32;
        let number = match self.series_index.get(&series) {
            Some(number) => *number,
            None => {
                self.series.push(series.clone());
                self.series_index.insert(series, next);
                next
            }
        };
        let currency = match currency {
            None => NO_CURRENCY,
            Some(currency) => {
                let next = self.currencies.len() as u32;
                *self.currency_index.entry(currency).or_insert_with_key(|c| {
                    self.currencies.push(c.clone());
                    next
                })
            }
        };
        self.row_series.push(number);
        self.row_start.push(key.period.start);
        self.row_currency.push(currency);
        self.row_line.push(origin.line);
    }

    /// The name of the file row `row` comes from.
    pub fn file_of(&self, row: usize) -> &str {
        let at = self.files.partition_point(|(first, _)| *first <= row);
        self.files
            .get(at.wrapping_sub(1))
            .map_or("", |(_, name)| name.as_str())
    }

    /// The origin (file and line) of row `row`.
    pub fn origin(&self, row: usize) -> Origin {
        Origin {
            file: self.file_of(row).to_string(),
            line: self.row_line[row],
        }
    }

    /// The facts of `rows` rebuilt for validation: keys, currencies and origins as read;
    /// values are 0, sources, notes and precisions absent.
    pub fn facts(&self, rows: std::ops::Range<usize>) -> Vec<Fact> {
        rows.map(|row| {
            let series = &self.series[self.row_series[row] as usize];
            let currency = self.row_currency[row];
            Fact {
                key: FactKey {
                    unit: series.unit.clone(),
                    period: Period::new(self.row_start[row], series.granularity),
                    metric: series.metric.clone(),
                    counterparty: series.counterparty.clone(),
                    basis: series.basis,
                },
                value: 0.0,
                currency: (currency != NO_CURRENCY)
                    .then(|| self.currencies[currency as usize].clone()),
                source: None,
                note: None,
                precision: None,
                origin: self.origin(row),
            }
        })
        .collect()
    }
}

/// Reads a model folder whose fact files come as streams, reporting every problem
/// [`super::read_model`] reports for the same files, in the same order. `others` are the
/// folder's other files; `fact_files` are read in the order given (the folder's order:
/// `facts.csv`, then `facts/*.csv` by name), each in windows of about `window` bytes.
/// Returns the model without facts and the facts' rows when the group could be read
/// (as `read_model` returns a model); `Err` names a fact file that could not be read.
pub fn read_model_streamed<R: Read + Seek>(
    others: &ModelFiles,
    fact_files: Vec<(String, R)>,
    window: usize,
    report: &mut dyn FnMut(Diagnostic),
) -> Result<Option<(Model, FactRows)>, (String, std::io::Error)> {
    let mut problems = Vec::new();
    let mut rows = FactRows::default();
    let mut failed = None;
    let model = read_model_with(others, &mut problems, |calendar, problems| {
        // group.toml's and timeline.toml's problems come first.
        for problem in problems.drain(..) {
            report(problem);
        }
        for (name, reader) in fact_files {
            if let Err(error) = read_file(&name, reader, calendar, window, report, &mut rows) {
                failed = Some((name, error));
                break;
            }
        }
        Vec::new()
    });
    if let Some(failed) = failed {
        return Err(failed);
    }
    for problem in problems {
        report(problem);
    }
    rows.series_index = FxHashMap::default();
    rows.currency_index = FxHashMap::default();
    Ok(model.map(|model| (model, rows)))
}

/// The line of the first byte that is not UTF-8 (as [`super::decode`] counts it), read
/// window by window; `None` when the whole stream is UTF-8.
fn invalid_utf8_line<R: Read>(mut reader: R, window: usize) -> std::io::Result<Option<u32>> {
    let mut buffer: Vec<u8> = Vec::new();
    let mut newlines = 0u32;
    let count = |bytes: &[u8]| bytes.iter().filter(|b| **b == b'\n').count() as u32;
    loop {
        let read = (&mut reader)
            .take(window.max(4) as u64)
            .read_to_end(&mut buffer)?;
        match std::str::from_utf8(&buffer) {
            Ok(_) => {
                newlines += count(&buffer);
                buffer.clear();
            }
            Err(error) => {
                let valid = error.valid_up_to();
                if error.error_len().is_some() || read == 0 {
                    return Ok(Some(newlines + count(&buffer[..valid]) + 1));
                }
                // A character cut by the window: keep its first bytes for the next read.
                newlines += count(&buffer[..valid]);
                buffer.drain(..valid);
            }
        }
        if read == 0 {
            return Ok(None);
        }
    }
}

/// Where records end, as the csv crate's reader (quote `"`, delimiter `,`, any of `\r`,
/// `\n`, `\r\n` ending a record, empty lines skipped) would see it from the start of
/// `bytes`, which must be the start of a record: the offsets just after a `\n` at which a
/// new record starts. `first` stops at the first such offset after a record.
fn record_cut(bytes: &[u8], first: bool) -> Option<usize> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        StartRecord,
        StartField,
        InField,
        InQuoted,
        QuoteInQuoted,
    }
    let mut state = State::StartRecord;
    let mut records = 0usize;
    let mut cut = None;
    // True when the previous byte was a `\r` that ended a record.
    let mut after_cr = false;
    for (at, byte) in bytes.iter().enumerate() {
        let end = matches!(byte, b'\r' | b'\n');
        let before = state;
        state = match (state, byte) {
            (State::StartRecord, _) if end => State::StartRecord,
            (State::StartRecord | State::StartField, b'"') => State::InQuoted,
            (State::StartRecord | State::StartField | State::InField, b',') => State::StartField,
            (State::StartRecord | State::StartField | State::InField | State::QuoteInQuoted, _)
                if end =>
            {
                records += 1;
                State::StartRecord
            }
            (State::StartRecord | State::StartField | State::InField, _) => State::InField,
            (State::InQuoted, b'"') => State::QuoteInQuoted,
            (State::InQuoted, _) => State::InQuoted,
            (State::QuoteInQuoted, b'"') => State::InQuoted,
            (State::QuoteInQuoted, b',') => State::StartField,
            (State::QuoteInQuoted, _) => State::InField,
        };
        // Only just after the end of a record (never after a skipped blank line: the csv
        // reader counts a record's line from the blank lines before it).
        let ended = end && before != State::StartRecord && state == State::StartRecord;
        if *byte == b'\n' && (ended || after_cr) && records > 0 {
            cut = Some(at + 1);
            if first {
                return cut;
            }
        }
        after_cr = *byte == b'\r' && ended;
    }
    cut
}

/// Problems of a file's rows held back at most while the file's other problems are still
/// being found (the reference reader reports, for a file, the rows it could not split into
/// fields first, then the problems of the fields); beyond this many the file is read again.
const HELD_PROBLEMS: usize = if cfg!(test) { 3 } else { 10_000 };

/// Reads one fact file: checks it is UTF-8 (else one problem, as the reference reader),
/// then parses it window by window, the header before each window, reporting its problems
/// in the reference reader's order: the header's, then the rows that could not be split
/// into as many fields as the header (no field named), then each field's.
fn read_file<R: Read + Seek>(
    name: &str,
    mut reader: R,
    calendar: FiscalCalendar,
    window: usize,
    report: &mut dyn FnMut(Diagnostic),
    rows: &mut FactRows,
) -> std::io::Result<()> {
    if let Some(line) = invalid_utf8_line(&mut reader, window)? {
        report(Diagnostic {
            file: name.to_string(),
            line: Some(line),
            field: None,
            message: "the file is not valid UTF-8 (save it as UTF-8; a byte-order mark is fine)"
                .into(),
        });
        return Ok(());
    }
    reader.seek(SeekFrom::Start(0))?;
    rows.files.push((rows.len(), name.to_string()));
    let mut held: Vec<Diagnostic> = Vec::new();
    let mut more_held = false;
    let mut too_many = None;
    windows(&mut reader, window, &mut |header, text, newlines_before| {
        let mut found = Vec::new();
        let facts = fast_facts::parse_in_chunks(&[(name, text)], calendar, &mut found, CHUNK_BYTES);
        let Some(newlines_before) = newlines_before else {
            // The header alone: its problems (then the reference reads no row of the file).
            let refused = !found.is_empty();
            for problem in found {
                report(problem);
            }
            return !refused;
        };
        let _ = header;
        for mut problem in found {
            problem.line = problem.line.map(|line| line + newlines_before);
            if problem.field.is_none() {
                report(problem);
            } else if held.len() < HELD_PROBLEMS {
                held.push(problem);
            } else {
                more_held = true;
            }
        }
        if rows.len() + facts.len() > u32::MAX as usize {
            too_many = Some(std::io::Error::other(
                "more than 4,294,967,295 facts in the folder",
            ));
            return false;
        }
        for mut fact in facts {
            fact.origin.line += newlines_before;
            rows.push(fact);
        }
        true
    })?;
    if let Some(error) = too_many {
        return Err(error);
    }
    if !more_held {
        for problem in held {
            report(problem);
        }
        return Ok(());
    }
    // Too many to hold: read the file again for the fields' problems alone.
    drop(held);
    reader.seek(SeekFrom::Start(0))?;
    windows(&mut reader, window, &mut |_, text, newlines_before| {
        let Some(newlines_before) = newlines_before else {
            return true;
        };
        let mut found = Vec::new();
        fast_facts::parse_in_chunks(&[(name, text)], calendar, &mut found, CHUNK_BYTES);
        for mut problem in found {
            if problem.field.is_some() {
                problem.line = problem.line.map(|line| line + newlines_before);
                report(problem);
            }
        }
        true
    })
}

/// Cuts a fact file (UTF-8) into its header and windows of whole records of about `window`
/// bytes, and calls `each` with the header, the text to parse and the newlines of the file
/// after the header and before the window: first with the header alone and `None`, then
/// (unless that call answers false) with the header followed by each window, until a call
/// answers false.
fn windows<R: Read>(
    mut reader: R,
    window: usize,
    each: &mut dyn FnMut(&[u8], &[u8], Option<u32>) -> bool,
) -> std::io::Result<()> {
    let mut buffer: Vec<u8> = Vec::new();
    let mut header: Option<Vec<u8>> = None;
    let mut first = true;
    let mut newlines_before = 0u32;
    loop {
        let at_end = super::read_window(&mut reader, &mut buffer, window, &mut first)?;
        if header.is_none() {
            let end = match record_cut(&buffer, true) {
                Some(end) => end,
                None if at_end => buffer.len(),
                None => continue,
            };
            let text: Vec<u8> = buffer.drain(..end).collect();
            if !each(&text, &text, None) {
                return Ok(());
            }
            header = Some(text);
        }
        let header = header.as_ref().expect("read above");
        let cut = if at_end {
            buffer.len()
        } else {
            match record_cut(&buffer, false) {
                Some(cut) => cut,
                None => continue,
            }
        };
        if cut > 0 {
            let mut text = Vec::with_capacity(header.len() + cut);
            text.extend_from_slice(header);
            text.extend_from_slice(&buffer[..cut]);
            if !each(header, &text, Some(newlines_before)) {
                return Ok(());
            }
            drop(text);
            newlines_before += buffer[..cut].iter().filter(|b| **b == b'\n').count() as u32;
            buffer.drain(..cut);
        }
        if at_end {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_end_where_the_csv_reader_ends_them() {
        assert_eq!(record_cut(b"a,b\nc,d\n", true), Some(4));
        assert_eq!(record_cut(b"a,b\nc,d\n", false), Some(8));
        assert_eq!(record_cut(b"\n\na,b\r\nc", true), Some(7));
        // Not after a blank line: the next record's line counts from it.
        assert_eq!(record_cut(b"a,b\n\nc,d\n\n", false), Some(9));
        assert_eq!(record_cut(b"a,b\r\n\r\nc", false), Some(5));
        assert_eq!(record_cut(b"a,\"b\nc\"\nd", false), Some(8));
        assert_eq!(record_cut(b"a,\"b\"\"\nc\"\nd", false), Some(10));
        // A quote inside an unquoted field is a character of the field.
        assert_eq!(record_cut(b"a,b\"c\nd,\"x\ny\"\n", false), Some(14));
        assert_eq!(record_cut(b"a,b", false), None);
        assert_eq!(record_cut(b"\n\n", false), None);
    }

    #[test]
    fn finds_the_line_of_the_first_byte_that_is_not_utf8() {
        for window in [1, 2, 3, 5, 1 << 20] {
            let line = |bytes: &[u8]| invalid_utf8_line(bytes, window).unwrap();
            assert_eq!(line("a\nb\u{e9}\n\u{1F600}\n".as_bytes()), None);
            assert_eq!(line(b"a\nb\n\xff\n"), Some(3));
            assert_eq!(line(b"a\nb\n\xe2\x82"), Some(3));
            assert_eq!(line(b"\xe2\x28\xa1"), Some(1));
        }
    }

    /// A group with three metrics and a timeline of two units (the model of the fact rows
    /// generated below).
    fn others() -> ModelFiles {
        let mut files = ModelFiles::new();
        files.insert(
            "group.toml".into(),
            b"[group]\nid = \"g\"\nname = \"G\"\ncurrency = \"CNY\"\nfiscal_year_end = \"03-31\"\n\n\
[[metric]]\nid = \"revenue\"\nname = \"Revenue\"\nmeasure = \"currency\"\naggregation = \"flow\"\n\n\
[[metric]]\nid = \"dau\"\nname = \"Daily active users\"\nmeasure = \"users\"\naggregation = \"non_additive\"\n\n\
[[metric]]\nid = \"margin\"\nname = \"Margin\"\nmeasure = \"percent\"\naggregation = \"ratio\"\nnumerator = \"revenue\"\ndenominator = \"revenue\"\n"
                .to_vec(),
        );
        files.insert(
            "timeline.toml".into(),
            b"[[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"g\"\nname = \"G\"\nunit_kind = \"group\"\n\n\
[[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"a\"\nname = \"A\"\nparent = \"g\"\n"
                .to_vec(),
        );
        files.insert(
            "fx.csv".into(),
            b"currency,period,average,closing\nUSD,FY2021,7,7\n".to_vec(),
        );
        files
    }

    /// The problems of the reference readers (read, then validate) and of the streamed ones
    /// (with windows of `window` bytes), each as one list.
    fn both(facts: &[(String, Vec<u8>)], window: usize) -> [Vec<Diagnostic>; 2] {
        let mut files = others();
        for (name, bytes) in facts {
            files.insert(name.clone(), bytes.clone());
        }
        let (model, mut reference) = super::super::read_model(&files);
        if let Some(model) = &model {
            reference.extend(crate::bulk_validate::validate(model).1);
        }
        let mut streamed = Vec::new();
        let streams: Vec<(String, std::io::Cursor<Vec<u8>>)> = facts
            .iter()
            .map(|(name, bytes)| (name.clone(), std::io::Cursor::new(bytes.clone())))
            .collect();
        let read = read_model_streamed(&others(), streams, window, &mut |p| streamed.push(p))
            .expect("in memory");
        assert_eq!(read.is_some(), model.is_some());
        if let Some((model, rows)) = read {
            assert!(model.facts.is_empty());
            crate::bulk_validate::validate_rows(&model, &rows, &mut |p| streamed.push(p));
        }
        [reference, streamed]
    }

    #[test]
    fn a_folder_with_problems_reads_as_the_reference_reads_it() {
        let facts =
            "\u{FEFF}unit,period,metric,value,currency,counterparty,basis,structure,source\n\
            a,FY2021,revenue,1.5,USD,,,,annual report\n\
            a,FY2021,revenue,2,,,,,\n\
            b,FY2021,revenue,x,,,,,\n\
            a,FY2019,revenue,1,EUR,,,,\n\
            \n\
            a,FY2021,margin,1,,,,,\"two\nlines\"\n\
            a,FY2021,revenue,3,,,,,\n\
            a,FY2022,dau,1,,g,,,\n";
        let other = "metric,unit,period,value,note\nrevenue,a,FY2023,7,\nrevenue,a,FY2023,8,n\nrevenue,c,FY2021,8,\n";
        let bad_header = "unit,period,metric,valeur\na,FY2021,revenue,1\n";
        let files = vec![
            ("facts.csv".to_string(), facts.as_bytes().to_vec()),
            ("facts/b.csv".to_string(), other.as_bytes().to_vec()),
            ("facts/c.csv".to_string(), bad_header.as_bytes().to_vec()),
            (
                "facts/d.csv".to_string(),
                b"unit,period,metric,value\na,FY2021,revenue,1\n\xff\n".to_vec(),
            ),
            // Empty, a header without its line end, blank lines only, blank lines before
            // the header and CRLF, a quoted header spanning two lines.
            ("facts/e.csv".to_string(), Vec::new()),
            (
                "facts/f.csv".to_string(),
                b"unit,period,metric,value".to_vec(),
            ),
            ("facts/g.csv".to_string(), b"\n\n".to_vec()),
            (
                "facts/h.csv".to_string(),
                b"\n\nunit,period,metric,value\r\n\r\na,FY2024,revenue,1\r\nz,FY2024,revenue,1"
                    .to_vec(),
            ),
            (
                "facts/i.csv".to_string(),
                b"\"unit\",period,\"met\nric\",value\na,FY2021,revenue,9\n".to_vec(),
            ),
        ];
        for window in [1, 2, 7, 30, 100, 1 << 20] {
            let [reference, streamed] = both(&files, window);
            assert!(reference.len() >= 10, "{reference:#?}");
            assert_eq!(streamed, reference, "window {window}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// Any mix of good and bad rows, in files of any header, read in windows of any
        /// size: the same problems, in the same order, as the reference readers.
        #[test]
        fn the_streamed_readers_report_what_the_reference_reports(
            files in proptest::collection::vec(
                (
                    0usize..5,
                    proptest::collection::vec(
                        (0usize..6, 0usize..6, 0usize..5, 0usize..8, 0usize..5, 0usize..5, 0usize..5, 0usize..4, 0usize..12),
                        0..25,
                    ),
                ),
                1..4,
            ),
            window in 1usize..120,
        ) {
            const HEADERS: [&str; 5] = [
                "unit,period,metric,value,currency,counterparty,basis,structure\n",
                "\u{FEFF}metric,unit,period,value,currency,counterparty,basis,structure\r\n",
                "unit,period,metric,value,currency,counterparty,basis,structure,note\n",
                "unit,period,metric,value,currency,counterparty,basis,structure,source\n",
                "unit,period,metric,value,currency,counterparty,basis,structure,bad\n",
            ];
            const UNITS: [&str; 6] = ["a", "g", "b", "a", "bad id!", ""];
            const PERIODS: [&str; 6] = ["FY2021", "FY2019", "2021Q1", "2021-04", "xx", "FY2022"];
            const METRICS: [&str; 5] = ["revenue", "dau", "margin", "nothing", "revenue"];
            const VALUES: [&str; 8] = ["1", "-2.5", "x", "1e308", "\"1,000\"", "", "3", "\"4\""];
            const CURRENCIES: [&str; 5] = ["", "CNY", "USD", "EUR", "us"];
            const COUNTERPARTIES: [&str; 5] = ["", "g", "a", "z", ""];
            const BASES: [&str; 5] = ["", "restated", "plan", "bogus", "pro_forma"];
            const STRUCTURES: [&str; 4] = ["", "2021-01-01", "bad", "2019-06-30"];
            let mut named = Vec::new();
            for (index, (header, rows)) in files.iter().enumerate() {
                let mut text = HEADERS[*header].to_string();
                let metric_first = *header == 1;
                for (u, p, m, v, c, cp, b, s, extra) in rows {
                    let (unit, period, metric) = (UNITS[*u], PERIODS[*p], METRICS[*m]);
                    let ending = if metric_first { "\r\n" } else { "\n" };
                    let mut row = if metric_first {
                        format!("{metric},{unit},{period}")
                    } else {
                        format!("{unit},{period},{metric}")
                    };
                    row.push_str(&format!(
                        ",{},{},{},{},{}",
                        VALUES[*v], CURRENCIES[*c], COUNTERPARTIES[*cp], BASES[*b], STRUCTURES[*s]
                    ));
                    if *header >= 2 {
                        row.push_str(if *extra == 0 { ",\"a\nb\"" } else { ",x" });
                    }
                    match extra {
                        1 => row.push_str(",surplus"),
                        2 => text.push('\n'),
                        _ => {}
                    }
                    text.push_str(&row);
                    text.push_str(ending);
                }
                let mut bytes = text.into_bytes();
                if rows.first().is_some_and(|r| r.8 == 3) {
                    bytes.extend_from_slice(b"\xff\n");
                }
                let name = if index == 0 { "facts.csv".to_string() } else { format!("facts/f{index}.csv") };
                named.push((name, bytes));
            }
            let [reference, streamed] = both(&named, window);
            proptest::prop_assert_eq!(streamed, reference);
        }
    }
}
