//! Parsing fact and FX rate CSV files, row by row, collecting every problem.

use super::decode;
use crate::ids::{Currency, MetricId, UnitId};
use crate::model::{Basis, Diagnostic, Fact, FactKey, FxRate, Origin};
use crate::period::{FiscalCalendar, Period};
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// Columns of a fact file: required first.
pub(crate) const FACT_COLUMNS: [&str; 9] = [
    "unit",
    "period",
    "metric",
    "value",
    "currency",
    "counterparty",
    "basis",
    "structure",
    "source",
];
const FACT_REQUIRED: usize = 4;
/// Every column a fact file may have: [`FACT_COLUMNS`] and the annotations, which only the
/// csv-crate reader reads (the fast readers hand a file that has them to it).
pub(crate) const FACT_FILE_COLUMNS: [&str; 11] = [
    "unit",
    "period",
    "metric",
    "value",
    "currency",
    "counterparty",
    "basis",
    "structure",
    "source",
    "note",
    "precision",
];
/// Columns of the FX file: required first.
pub(crate) const FX_COLUMNS: [&str; 5] = ["currency", "period", "average", "closing", "source"];
const FX_REQUIRED: usize = 4;

/// A CSV file read with its header mapped to known columns.
struct Table {
    columns: BTreeMap<&'static str, usize>,
    width: usize,
    rows: Vec<(u32, csv::StringRecord)>,
}

fn read_table(
    path: &str,
    bytes: &[u8],
    known: &[&'static str],
    required: usize,
    problems: &mut Vec<Diagnostic>,
) -> Option<Table> {
    let text = decode(path, bytes, problems)?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header = match reader.headers() {
        Ok(header) => header.clone(),
        Err(error) => {
            problems.push(Diagnostic {
                file: path.into(),
                line: Some(1),
                field: None,
                message: format!("unreadable header: {error}"),
            });
            return None;
        }
    };
    let mut columns = BTreeMap::new();
    let mut header_ok = true;
    for (index, name) in header.iter().enumerate() {
        let name = name.trim();
        match known.iter().find(|k| **k == name) {
            Some(known_name) => {
                if columns.insert(*known_name, index).is_some() {
                    problems.push(Diagnostic {
                        file: path.into(),
                        line: Some(1),
                        field: Some(name.into()),
                        message: "column given twice".into(),
                    });
                    header_ok = false;
                }
            }
            None => {
                problems.push(Diagnostic {
                    file: path.into(),
                    line: Some(1),
                    field: Some(name.into()),
                    message: format!("unknown column (expected: {})", known.join(", ")),
                });
                header_ok = false;
            }
        }
    }
    for name in &known[..required] {
        if !columns.contains_key(name) {
            problems.push(Diagnostic {
                file: path.into(),
                line: Some(1),
                field: Some((*name).into()),
                message: format!(
                    "missing required column (the header needs at least: {})",
                    known[..required].join(", ")
                ),
            });
            header_ok = false;
        }
    }
    if !header_ok {
        return None;
    }
    let width = header.len();
    let mut rows = Vec::new();
    for record in reader.records() {
        match record {
            Ok(record) => {
                let line = record.position().map(|p| p.line() as u32).unwrap_or(0);
                if record.len() == 1 && record.get(0).is_some_and(|s| s.trim().is_empty()) {
                    continue; // a blank line
                }
                if record.len() != width {
                    problems.push(Diagnostic {
                        file: path.into(),
                        line: Some(line),
                        field: None,
                        message: format!(
                            "expected {width} columns as in the header, found {}",
                            record.len()
                        ),
                    });
                    continue;
                }
                rows.push((line, record));
            }
            Err(error) => {
                let line = error.position().map(|p| p.line() as u32);
                problems.push(Diagnostic {
                    file: path.into(),
                    line,
                    field: None,
                    message: format!("unreadable row: {error}"),
                });
            }
        }
    }
    Some(Table {
        columns,
        width,
        rows,
    })
}

impl Table {
    fn get<'r>(&self, record: &'r csv::StringRecord, column: &str) -> Option<&'r str> {
        let index = *self.columns.get(column)?;
        record.get(index).map(str::trim).filter(|s| !s.is_empty())
    }
}

/// Row-level parsing context: file, line, problems.
struct Row<'a> {
    path: &'a str,
    line: u32,
    problems: &'a mut Vec<Diagnostic>,
    ok: bool,
}

impl Row<'_> {
    fn problem(&mut self, field: &str, message: impl Into<String>) {
        self.ok = false;
        self.problems.push(Diagnostic {
            file: self.path.into(),
            line: Some(self.line),
            field: Some(field.into()),
            message: message.into(),
        });
    }
    fn require<'r>(&mut self, value: Option<&'r str>, field: &str, hint: &str) -> Option<&'r str> {
        if value.is_none() {
            self.problem(field, format!("empty; expected {hint}"));
        }
        value
    }
    fn parse<T>(
        &mut self,
        value: Option<&str>,
        field: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        match parse(value?) {
            Ok(v) => Some(v),
            Err(message) => {
                self.problem(field, message);
                None
            }
        }
    }
}

/// Largest magnitude of a value in a fact or rate file. Far above any group's figure in any
/// scale (a quadrillion), it keeps every sum, translation and restatement finite: a value
/// near f64's limit (1e308) once overflowed a roll-up to infinity and printed a total of 0.
pub const MAX_VALUE_MAGNITUDE: f64 = 1e15;

/// Parses a finite number of at most [`MAX_VALUE_MAGNITUDE`]; thousands separators and
/// words are refused with a hint.
pub(crate) fn parse_number(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v.abs() <= MAX_VALUE_MAGNITUDE => Ok(v),
        Ok(v) if v.is_finite() => Err(format!(
            "`{text}` is beyond the largest magnitude accepted (1e15 = 1,000,000,000,000,000); check the scale (millions?) or the decimal point"
        )),
        Ok(_) => Err(format!("`{text}` is not a finite number")),
        Err(_) if text.contains(',') => Err(format!("`{text}` is not a number (write it without thousands separators, e.g. 941168)")),
        Err(_) => Err(format!("`{text}` is not a number (expected e.g. 941168 or -62708.5)")),
    }
}

/// Parses a fact's `precision`: the rounding step of the published figure, a positive
/// finite number in the fact's own units (`1`, `100`, `0.5`).
pub(crate) fn parse_precision(text: &str) -> Result<f64, String> {
    match parse_number(text) {
        Ok(step) if step > 0.0 => Ok(step),
        Ok(_) => Err(format!(
            "`{text}` is not a precision: expected the positive step the figure was rounded to, in the fact's units (e.g. 1 for a figure in millions published in millions, 100 for one published to a tenth of a billion)"
        )),
        Err(message) => Err(format!(
            "{message}; a precision is the positive step the figure was rounded to, in the fact's units (e.g. 1 or 100)"
        )),
    }
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    crate::period::parse_iso_date(text)
        .ok_or_else(|| format!("`{text}` is not a date (expected YYYY-MM-DD)"))
}

/// Parses one fact file.
pub(super) fn parse_facts(
    path: &str,
    bytes: &[u8],
    calendar: FiscalCalendar,
    problems: &mut Vec<Diagnostic>,
) -> Vec<Fact> {
    let Some(table) = read_table(path, bytes, &FACT_FILE_COLUMNS, FACT_REQUIRED, problems) else {
        return Vec::new();
    };
    let _ = table.width;
    let mut facts = Vec::with_capacity(table.rows.len());
    for (line, record) in &table.rows {
        let mut row = Row {
            path,
            line: *line,
            problems,
            ok: true,
        };
        let unit_text = row.require(table.get(record, "unit"), "unit", "a unit id");
        let unit = row.parse(unit_text, "unit", UnitId::parse);
        let period_text = row.require(
            table.get(record, "period"),
            "period",
            "a period such as FY2024 or 2023Q3",
        );
        let period = row.parse(period_text, "period", |s| Period::parse(s, calendar));
        let metric_text = row.require(table.get(record, "metric"), "metric", "a metric id");
        let metric = row.parse(metric_text, "metric", MetricId::parse);
        let value_text = row.require(table.get(record, "value"), "value", "a number");
        let value = row.parse(value_text, "value", parse_number);
        let currency = row.parse(table.get(record, "currency"), "currency", Currency::parse);
        let counterparty = row.parse(
            table.get(record, "counterparty"),
            "counterparty",
            UnitId::parse,
        );
        let structure = row.parse(table.get(record, "structure"), "structure", parse_date);
        let basis = match table.get(record, "basis").unwrap_or("reported") {
            "reported" => Some(Basis::Reported),
            "plan" => Some(Basis::Plan),
            "estimate" => Some(Basis::Estimate),
            "restated" => match structure {
                Some(structure) => Some(Basis::Restated { structure }),
                None => {
                    if table.get(record, "structure").is_none() {
                        row.problem("structure", "empty; a restated figure needs the date of the structure it was published under (YYYY-MM-DD)");
                    }
                    None
                }
            },
            "pro_forma" => match structure {
                Some(structure) => Some(Basis::ProForma { structure }),
                None => {
                    if table.get(record, "structure").is_none() {
                        row.problem("structure", "empty; a pro_forma figure needs the date of the structure it was published under (YYYY-MM-DD)");
                    }
                    None
                }
            },
            other => {
                row.problem(
                    "basis",
                    format!(
                        "`{other}` is not a basis (expected reported, restated, pro_forma, plan or estimate)"
                    ),
                );
                None
            }
        };
        if structure.is_some()
            && !matches!(
                basis,
                Some(Basis::Restated { .. } | Basis::ProForma { .. }) | None
            )
        {
            row.problem("structure", "only a restated or pro_forma figure takes a structure date (set basis to restated, or leave structure empty)");
        }
        let source = table.get(record, "source").map(str::to_string);
        let note = table.get(record, "note").map(str::to_string);
        let precision = row.parse(table.get(record, "precision"), "precision", parse_precision);
        if !row.ok {
            continue;
        }
        if let (Some(unit), Some(period), Some(metric), Some(value), Some(basis)) =
            (unit, period, metric, value, basis)
        {
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
                note,
                precision,
                origin: Origin {
                    file: path.into(),
                    line: *line,
                },
            });
        }
    }
    facts
}

/// Parses fx.csv.
pub(super) fn parse_fx(
    path: &str,
    bytes: &[u8],
    calendar: FiscalCalendar,
    problems: &mut Vec<Diagnostic>,
) -> Vec<FxRate> {
    let Some(table) = read_table(path, bytes, &FX_COLUMNS, FX_REQUIRED, problems) else {
        return Vec::new();
    };
    let mut rates = Vec::new();
    for (line, record) in &table.rows {
        let mut row = Row {
            path,
            line: *line,
            problems,
            ok: true,
        };
        let currency_text =
            row.require(table.get(record, "currency"), "currency", "a currency code");
        let currency = row.parse(currency_text, "currency", Currency::parse);
        let period_text = row.require(table.get(record, "period"), "period", "a period label");
        let period = row.parse(period_text, "period", |s| Period::parse(s, calendar));
        let average_text = row.require(table.get(record, "average"), "average", "the average rate");
        let average = row.parse(average_text, "average", parse_number);
        let closing_text = row.require(table.get(record, "closing"), "closing", "the closing rate");
        let closing = row.parse(closing_text, "closing", parse_number);
        for (field, rate) in [("average", average), ("closing", closing)] {
            if rate.is_some_and(|r| r <= 0.0) {
                row.problem(
                    field,
                    "a rate must be positive (reporting currency per one unit of the currency)",
                );
            }
        }
        let source = table.get(record, "source").map(str::to_string);
        if !row.ok {
            continue;
        }
        if let (Some(currency), Some(period), Some(average), Some(closing)) =
            (currency, period, average, closing)
        {
            rates.push(FxRate {
                currency,
                period,
                average,
                closing,
                source,
                origin: Origin {
                    file: path.into(),
                    line: *line,
                },
            });
        }
    }
    rates
}
