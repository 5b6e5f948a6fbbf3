//! A fast reader for fact files in the common shape (no quotes, no carriage returns, no
//! blank lines, every row valid), parsing line-aligned chunks of every file in parallel.
//!
//! It produces exactly the facts the csv-crate reader in `csv_files` produces. Any file it
//! can't read with certainty — quoted fields, an odd header, a blank line, a row with a
//! problem — is handed back whole to that reader, so diagnostics stay identical.

use super::csv_files::{self, parse_number, FACT_COLUMNS};
use super::decode;
use crate::ids::{Currency, MetricId, UnitId};
use crate::model::{Basis, Diagnostic, Fact, FactKey, Origin};
use crate::period::{FiscalCalendar, Period};
use chrono::NaiveDate;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

/// Bytes of a file parsed by one task: large enough to amortise the interning tables and to
/// keep few copies of each id string (each chunk makes its own, and validation and the store
/// number ids by address), small enough to share a file between threads.
pub(super) const CHUNK_BYTES: usize = 16 << 20;

/// Columns of a fact file by position: the index into [`FACT_COLUMNS`] of each field.
pub(super) struct Layout {
    /// For each of the nine known columns, its position in a row.
    pub(super) position: [Option<usize>; 9],
    pub(super) width: usize,
}

/// One line-aligned piece of a file's rows.
pub(super) struct Chunk<'a> {
    pub(super) file: usize,
    pub(super) text: &'a str,
    /// One-based line number of the first line of `text`.
    pub(super) first_line: u32,
}

/// Parses every fact file (in the order given) and appends the facts and any problems, in
/// the same order as parsing each file with the csv-crate reader in turn.
pub(super) fn parse_fact_files(
    files: &[(&str, &[u8])],
    calendar: FiscalCalendar,
    problems: &mut Vec<Diagnostic>,
) -> Vec<Fact> {
    parse_in_chunks(files, calendar, problems, CHUNK_BYTES)
}

/// [`parse_fact_files`] with a given chunk size.
pub(super) fn parse_in_chunks(
    files: &[(&str, &[u8])],
    calendar: FiscalCalendar,
    problems: &mut Vec<Diagnostic>,
    chunk_bytes: usize,
) -> Vec<Fact> {
    // Per file: the text of the rows and their layout, or None to use the csv-crate reader.
    let prepared: Vec<Option<(Layout, &str, u32)>> =
        files.iter().map(|(_, bytes)| prepare(bytes)).collect();
    let mut chunks = Vec::new();
    for (file, entry) in prepared.iter().enumerate() {
        if let Some((_, rows, first_line)) = entry {
            split(file, rows, *first_line, chunk_bytes, &mut chunks);
        }
    }
    let parsed: Vec<Option<Vec<Fact>>> = chunks
        .par_iter()
        .map(|chunk| {
            let Some((layout, _, _)) = &prepared[chunk.file] else {
                return None;
            };
            parse_chunk(files[chunk.file].0, layout, chunk, calendar)
        })
        .collect();
    let mut fast_ok = vec![true; files.len()];
    let mut total = 0;
    for (chunk, result) in chunks.iter().zip(&parsed) {
        match result {
            Some(facts) => total += facts.len(),
            None => fast_ok[chunk.file] = false,
        }
    }
    for (file, entry) in prepared.iter().enumerate() {
        if entry.is_none() {
            fast_ok[file] = false;
        }
    }
    // Files the fast reader refused are read by the csv-crate reader, in parallel too.
    let slow: Vec<Option<(Vec<Fact>, Vec<Diagnostic>)>> = files
        .par_iter()
        .enumerate()
        .map(|(file, (path, bytes))| {
            if fast_ok[file] {
                return None;
            }
            let mut found = Vec::new();
            let facts = csv_files::parse_facts(path, bytes, calendar, &mut found);
            Some((facts, found))
        })
        .collect();
    let mut facts =
        Vec::with_capacity(total + slow.iter().flatten().map(|(f, _)| f.len()).sum::<usize>());
    let mut parsed = parsed.into_iter().zip(&chunks).peekable();
    for (file, slow) in slow.into_iter().enumerate() {
        // Chunks come in file order: take this file's.
        let mut mine = Vec::new();
        while let Some((_, chunk)) = parsed.peek() {
            if chunk.file != file {
                break;
            }
            let (result, _) = parsed.next().expect("peeked");
            mine.push(result);
        }
        match slow {
            None => {
                for result in mine {
                    facts.extend(result.into_iter().flatten());
                }
            }
            Some((slow_facts, found)) => {
                facts.extend(slow_facts);
                problems.extend(found);
            }
        }
    }
    facts
}

/// Checks that a file suits the fast reader and reads its header: the layout, the text after
/// the header and the line number where that text starts.
pub(super) fn prepare(bytes: &[u8]) -> Option<(Layout, &str, u32)> {
    let mut ignored = Vec::new();
    let text = decode("", bytes, &mut ignored)?;
    if text.as_bytes().iter().any(|b| *b == b'"' || *b == b'\r') {
        return None;
    }
    let (header, rows) = text.split_once('\n')?;
    let mut position = [None; 9];
    let mut width = 0;
    for (index, name) in header.split(',').enumerate() {
        let known = FACT_COLUMNS.iter().position(|k| *k == name.trim())?;
        if position[known].replace(index).is_some() {
            return None;
        }
        width += 1;
    }
    if position[..4].iter().any(Option::is_none) {
        return None;
    }
    Some((Layout { position, width }, rows, 2))
}

/// Cuts the rows of a file into chunks that end at line ends.
pub(super) fn split<'a>(
    file: usize,
    rows: &'a str,
    first_line: u32,
    chunk_bytes: usize,
    chunks: &mut Vec<Chunk<'a>>,
) {
    let mut start = 0;
    let mut line = first_line;
    let bytes = rows.as_bytes();
    while start < bytes.len() {
        let mut end = (start + chunk_bytes.max(1)).min(bytes.len());
        while end < bytes.len() && bytes[end - 1] != b'\n' {
            end += 1;
        }
        let text = &rows[start..end];
        chunks.push(Chunk {
            file,
            text,
            first_line: line,
        });
        line += bytecount_newlines(text.as_bytes());
        start = end;
    }
}

fn bytecount_newlines(bytes: &[u8]) -> u32 {
    bytes.iter().filter(|b| **b == b'\n').count() as u32
}

/// Interning tables of one chunk: each distinct text is parsed once.
#[derive(Default)]
struct Interned<'a> {
    units: FxHashMap<&'a str, UnitId>,
    periods: FxHashMap<&'a str, Period>,
    metrics: FxHashMap<&'a str, MetricId>,
    currencies: FxHashMap<&'a str, Currency>,
    dates: FxHashMap<&'a str, NaiveDate>,
}

/// The parsed value of a text, parsed on its first sight only.
pub(super) fn interned<'a, T: Clone>(
    table: &mut FxHashMap<&'a str, T>,
    text: &'a str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    if let Some(value) = table.get(text) {
        return Some(value.clone());
    }
    let value = parse(text).ok()?;
    table.insert(text, value.clone());
    Some(value)
}

/// The basis of a row from its `basis` and `structure` fields when they make a valid pair
/// (`None` sends the row to the reference parser, which says what is wrong).
pub(super) fn quick_basis(text: Option<&str>, structure: Option<NaiveDate>) -> Option<Basis> {
    match (text.unwrap_or("reported"), structure) {
        ("reported", None) => Some(Basis::Reported),
        ("plan", None) => Some(Basis::Plan),
        ("estimate", None) => Some(Basis::Estimate),
        ("restated", Some(structure)) => Some(Basis::Restated { structure }),
        ("pro_forma", Some(structure)) => Some(Basis::ProForma { structure }),
        _ => None,
    }
}

/// Parses the rows of one chunk; None when any line needs the csv-crate reader.
fn parse_chunk<'a>(
    path: &str,
    layout: &Layout,
    chunk: &Chunk<'a>,
    calendar: FiscalCalendar,
) -> Option<Vec<Fact>> {
    let mut tables: Interned<'a> = Interned::default();
    let mut facts = Vec::with_capacity(chunk.text.len() / 32);
    let mut fields: Vec<&'a str> = Vec::with_capacity(layout.width);
    let text: &'a str = chunk.text.strip_suffix('\n').unwrap_or(chunk.text);
    for (offset, line_text) in text.split('\n').enumerate() {
        fields.clear();
        fields.extend(line_text.split(','));
        if fields.len() != layout.width || line_text.trim().is_empty() {
            return None;
        }
        let get = |column: usize| field(layout, &fields, column);
        let unit = interned(&mut tables.units, get(0)?, UnitId::parse)?;
        let period = interned(&mut tables.periods, get(1)?, |s| Period::parse(s, calendar))?;
        let metric = interned(&mut tables.metrics, get(2)?, MetricId::parse)?;
        let value = parse_number(get(3)?).ok()?;
        let currency = match get(4) {
            Some(text) => Some(interned(&mut tables.currencies, text, Currency::parse)?),
            None => None,
        };
        let counterparty = match get(5) {
            Some(text) => Some(interned(&mut tables.units, text, UnitId::parse)?),
            None => None,
        };
        let structure = match get(7) {
            Some(text) => Some(interned(&mut tables.dates, text, parse_date)?),
            None => None,
        };
        let basis = quick_basis(get(6), structure)?;
        let source = get(8).map(str::to_string);
        let line = chunk.first_line + offset as u32;
        facts.push(Fact {
            key: FactKey {
                unit,
                period,
                metric,
                counterparty,
                basis,
            },
            value,
            currency,
            source,
            note: None,
            precision: None,
            origin: Origin {
                file: path.into(),
                line,
            },
        });
    }
    Some(facts)
}

/// A field by its column in [`FACT_COLUMNS`], trimmed; None when absent or empty.
pub(super) fn field<'a>(layout: &Layout, fields: &[&'a str], column: usize) -> Option<&'a str> {
    let index = layout.position[column]?;
    Some(fields[index].trim()).filter(|s| !s.is_empty())
}

/// The same date parse as the csv-crate reader's.
pub(super) fn parse_date(text: &str) -> Result<NaiveDate, String> {
    crate::period::parse_iso_date(text)
        .ok_or_else(|| format!("`{text}` is not a date (expected YYYY-MM-DD)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Facts and problems of both readers, with origins spelled out (facts compare equal
    /// whatever their origin).
    fn both(
        files: &[(&str, &[u8])],
        chunk_bytes: usize,
    ) -> [(Vec<(Fact, String, u32)>, Vec<Diagnostic>); 2] {
        let calendar = FiscalCalendar::new(3).expect("a month");
        let spell = |facts: Vec<Fact>| {
            facts
                .into_iter()
                .map(|f| {
                    let o = f.origin.clone();
                    (f, o.file, o.line)
                })
                .collect::<Vec<_>>()
        };
        let mut fast_problems = Vec::new();
        let fast = spell(parse_in_chunks(
            files,
            calendar,
            &mut fast_problems,
            chunk_bytes,
        ));
        let mut slow_problems = Vec::new();
        let mut slow = Vec::new();
        for (path, bytes) in files {
            slow.extend(spell(csv_files::parse_facts(
                path,
                bytes,
                calendar,
                &mut slow_problems,
            )));
        }
        [(fast, fast_problems), (slow, slow_problems)]
    }

    #[test]
    fn reads_what_the_csv_reader_reads_across_chunks_and_fallbacks() {
        let clean = "unit,period,metric,value,currency,counterparty,basis,structure,source\n\
            a,FY2021,revenue,1.5,USD,,,,annual report\n\
            b , 2021Q3 ,ebita,-2,,a,restated,2022-01-01,\n\
            a,2021-04,revenue,3e2,,,plan,,\n\
            a,FY2022,revenue,4,,,estimate,,\n";
        let quoted = "unit,period,metric,value\na,FY2021,revenue,\"1\"\na,FY2022,revenue,2\n";
        let blank = "unit,period,metric,value\na,FY2021,revenue,1\n\na,FY2022,revenue,2";
        let bad = "metric,unit,period,value\nrevenue,a,FY2021,x\nrevenue,a,FY2021,1,2\nrevenue,a,FY2022,5\n";
        let files: Vec<(&str, &[u8])> = vec![
            ("facts.csv", clean.as_bytes()),
            ("facts/a.csv", quoted.as_bytes()),
            ("facts/b.csv", blank.as_bytes()),
            ("facts/c.csv", bad.as_bytes()),
            ("facts/d.csv", clean.as_bytes()),
        ];
        for chunk_bytes in [1, 7, 40, 1 << 20] {
            let [fast, slow] = both(&files, chunk_bytes);
            assert_eq!(fast.0.len(), 13, "{:?}", fast.0);
            assert_eq!(fast, slow);
            assert_eq!(fast.1.len(), 2, "{:?}", fast.1);
        }
    }
}
