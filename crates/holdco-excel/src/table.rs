//! Any table of the command-line tool as a formatted sheet: one generic writer fed from the
//! rows a command prints with `--csv` (serialised the same way), so no command has sheet
//! code of its own. Numbers keep their value and get thousands separators (negatives red,
//! in brackets), the unit goes into the header, a gap is an empty cell carrying its reason
//! as a note, sources become hyperlinks; a second sheet records the query and its options,
//! and a table pivoted over several periods gets a native Excel line chart.

use crate::model_write::{header as write_header, Styles, WriteError};
use rust_xlsxwriter::{Chart, ChartType, Format, Note, Url, Workbook, Worksheet, XlsxError};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// One cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Nothing (a gap, a field without a value).
    Empty,
    /// A number.
    Number(f64),
    /// Text; a link when it starts with http:// or https://.
    Text(String),
    /// A logical value.
    Bool(bool),
}

/// How a numeric column is shown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ColumnFormat {
    /// Thousands separators, no decimals (or two for small non-whole numbers).
    Thousands,
    /// A share shown as a percentage with one decimal.
    Percent,
    /// A fixed number of decimals.
    Decimals(u8),
    /// As typed, no separators (years, counts of paths).
    Plain,
}

/// A long table (one row per node and period) turned wide: one row per key, one column
/// per value of `across`.
#[derive(Debug, Clone)]
pub struct Pivot {
    /// Columns that identify a row (e.g. node, name).
    pub rows: Vec<String>,
    /// The column whose values become columns (e.g. period).
    pub across: String,
    /// The column holding the figures.
    pub value: String,
    /// A column whose text, when present, is a note on the figure (e.g. gap).
    pub note: Option<String>,
    /// A numeric column giving the indent of the last row column (e.g. depth).
    pub indent: Option<String>,
}

/// A table to write as a workbook.
#[derive(Debug, Clone, Default)]
pub struct TableSheet {
    /// Name of the table's sheet (at most 31 characters).
    pub sheet: String,
    /// A title line, written into the query sheet and as the chart's title.
    pub title: String,
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Rows of cells, one per column.
    pub rows: Vec<Vec<Value>>,
    /// Units shown in a column's header: `value (CNY millions)`.
    pub units: BTreeMap<String, String>,
    /// Formats of numeric columns that differ from [`ColumnFormat::Thousands`].
    pub formats: BTreeMap<String, ColumnFormat>,
    /// (figure column, note column): the note column's text goes on the figure as a note.
    pub notes: Vec<(String, String)>,
    /// Turn the table wide (and chart it when it spans several columns).
    pub pivot: Option<Pivot>,
    /// The query and its options, for the second sheet.
    pub query: Vec<(String, String)>,
}

/// Rows that serialise as CSV (what `--csv` prints) as columns and typed cells: the column
/// order is the CSV header's, each cell's type comes from the value itself.
pub fn rows_from_serialize<T: Serialize>(
    rows: &[T],
) -> Result<(Vec<String>, Vec<Vec<Value>>), String> {
    let Some(first) = rows.first() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.serialize(first).map_err(|e| e.to_string())?;
    let bytes = writer.into_inner().map_err(|e| e.to_string())?;
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(str::to_string)
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let value = serde_json::to_value(row).map_err(|e| e.to_string())?;
        let object = value.as_object().ok_or("a row that is not a record")?;
        out.push(
            columns
                .iter()
                .map(|column| match object.get(column) {
                    None | Some(serde_json::Value::Null) => Value::Empty,
                    Some(serde_json::Value::Number(n)) => {
                        n.as_f64().map(Value::Number).unwrap_or(Value::Empty)
                    }
                    Some(serde_json::Value::String(s)) if s.is_empty() => Value::Empty,
                    Some(serde_json::Value::String(s)) => Value::Text(s.clone()),
                    Some(serde_json::Value::Bool(b)) => Value::Bool(*b),
                    Some(other) => Value::Text(other.to_string()),
                })
                .collect(),
        );
    }
    Ok((columns, out))
}

fn number_format(format: ColumnFormat, whole: bool) -> Format {
    let pattern = match format {
        ColumnFormat::Percent => "0.0%;[Red]-0.0%".to_string(),
        ColumnFormat::Thousands if whole => "#,##0;[Red](#,##0)".to_string(),
        ColumnFormat::Thousands => "#,##0.00;[Red](#,##0.00)".to_string(),
        ColumnFormat::Plain => "0".to_string(),
        ColumnFormat::Decimals(0) => "#,##0;[Red](#,##0)".to_string(),
        ColumnFormat::Decimals(n) => {
            let decimals = "0".repeat(n as usize);
            format!("#,##0.{decimals};[Red](#,##0.{decimals})")
        }
    };
    Format::new().set_num_format(pattern)
}

fn is_link(text: &str) -> bool {
    (text.starts_with("https://") || text.starts_with("http://"))
        && text.len() < 2_000
        && !text.contains(char::is_whitespace)
}

/// Writes one table sheet and its query sheet to `path`.
pub fn write_table(table: &TableSheet, path: &Path) -> Result<(), WriteError> {
    table_workbook(table)?.save(path)?;
    Ok(())
}

/// The workbook of [`write_table`] as the bytes of an `.xlsx` file (for a download).
pub fn table_bytes(table: &TableSheet) -> Result<Vec<u8>, WriteError> {
    Ok(table_workbook(table)?.save_to_buffer()?)
}

/// True for text a spreadsheet would run as a formula when typed or re-imported (it starts
/// with `=`, `+`, `-`, `@`, a tab or a carriage return; issue 16 item 12, OWASP's list). Such
/// cells are written with Excel's quote prefix: shown as typed, never evaluated.
pub fn formula_leading(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

fn table_workbook(table: &TableSheet) -> Result<Workbook, WriteError> {
    let mut workbook = Workbook::new();
    let styles = Styles::new();
    let (columns, rows, notes) = match &table.pivot {
        Some(pivot) => pivoted(table, pivot)?,
        None => {
            let mut notes = HashMap::new();
            for (figure, note) in &table.notes {
                let (Some(f), Some(n)) = (
                    position(&table.columns, figure),
                    position(&table.columns, note),
                ) else {
                    continue;
                };
                for (r, row) in table.rows.iter().enumerate() {
                    if let Value::Text(text) = &row[n] {
                        notes.insert((r, f), text.clone());
                    }
                }
            }
            (table.columns.clone(), table.rows.clone(), notes)
        }
    };
    let indents: Vec<u8> = match &table.pivot {
        Some(Pivot {
            indent: Some(_), ..
        }) => rows
            .iter()
            .map(|r| match r.last() {
                Some(Value::Number(n)) => *n as u8,
                _ => 0,
            })
            .collect(),
        _ => Vec::new(),
    };
    let shown_columns = if indents.is_empty() {
        columns.len()
    } else {
        columns.len() - 1
    };
    let sheet = workbook.add_worksheet();
    sheet.set_name(&table.sheet)?;
    let headers: Vec<String> = columns[..shown_columns]
        .iter()
        .enumerate()
        .map(|(index, c)| {
            // Pivoted figure columns carry the unit of the figures they hold.
            let unit = match &table.pivot {
                Some(pivot) if index >= pivot.rows.len() => table.units.get(&pivot.value),
                _ => table.units.get(c),
            };
            match unit {
                Some(unit) => format!("{c} ({unit})"),
                None => c.clone(),
            }
        })
        .collect();
    let widths: Vec<f64> = (0..shown_columns)
        .map(|c| {
            let longest = rows
                .iter()
                .map(|r| match &r[c] {
                    Value::Text(t) => t.chars().count().min(60),
                    Value::Number(_) => 12,
                    _ => 4,
                })
                .max()
                .unwrap_or(8);
            (longest.max(headers[c].chars().count()) as f64 + 2.0).clamp(8.0, 62.0)
        })
        .collect();
    let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    write_header(sheet, &refs, &widths, &styles)?;
    let value_format = |column: usize| -> ColumnFormat {
        let name = &columns[column];
        table
            .formats
            .get(name)
            .copied()
            .or_else(|| {
                table
                    .pivot
                    .as_ref()
                    .and_then(|p| table.formats.get(&p.value).copied())
                    .filter(|_| {
                        column
                            >= table
                                .pivot
                                .as_ref()
                                .map(|p| p.rows.len())
                                .unwrap_or(usize::MAX)
                    })
            })
            .unwrap_or(ColumnFormat::Thousands)
    };
    let formats: Vec<Format> = (0..shown_columns)
        .map(|c| {
            let whole = rows.iter().all(|r| match r[c] {
                Value::Number(n) => n.fract() == 0.0 || n.abs() >= 100.0,
                _ => true,
            });
            number_format(value_format(c), whole)
        })
        .collect();
    let link = Format::new()
        .set_font_color(rust_xlsxwriter::Color::Blue)
        .set_underline(rust_xlsxwriter::FormatUnderline::Single);
    let quoted = Format::new().set_quote_prefix();
    let mut indent_formats: HashMap<(u8, bool), Format> = HashMap::new();
    for (r, row) in rows.iter().enumerate() {
        let excel_row = r as u32 + 1;
        for (c, value) in row.iter().take(shown_columns).enumerate() {
            let column = c as u16;
            match value {
                Value::Empty => {}
                Value::Number(n) => {
                    sheet.write_number_with_format(excel_row, column, *n, &formats[c])?;
                }
                Value::Bool(b) => {
                    sheet.write_boolean(excel_row, column, *b)?;
                }
                Value::Text(text) if is_link(text) => {
                    sheet.write_url_with_format(
                        excel_row,
                        column,
                        Url::new(text.as_str()).set_text(text.as_str()),
                        &link,
                    )?;
                }
                Value::Text(text) => {
                    let indent = indents.get(r).copied().unwrap_or(0);
                    if indent > 0
                        && c + 1 == table.pivot.as_ref().map(|p| p.rows.len()).unwrap_or(0)
                    {
                        let quote = formula_leading(text);
                        let format = indent_formats.entry((indent, quote)).or_insert_with(|| {
                            let format = Format::new().set_indent(indent);
                            if quote {
                                format.set_quote_prefix()
                            } else {
                                format
                            }
                        });
                        sheet.write_string_with_format(excel_row, column, text, format)?;
                    } else if formula_leading(text) {
                        sheet.write_string_with_format(excel_row, column, text, &quoted)?;
                    } else {
                        sheet.write_string(excel_row, column, text)?;
                    }
                }
            }
            if let Some(note) = notes.get(&(r, c)) {
                sheet.insert_note(
                    excel_row,
                    column,
                    &Note::new(note)
                        .set_author("holdco")
                        .add_author_prefix(false),
                )?;
            }
        }
    }
    if shown_columns > 0 {
        sheet.autofilter(0, 0, rows.len() as u32, shown_columns as u16 - 1)?;
    }
    if let Some(pivot) = &table.pivot {
        let first = pivot.rows.len();
        if shown_columns >= first + 2 && !rows.is_empty() {
            line_chart(
                sheet,
                table,
                first as u16,
                shown_columns as u16 - 1,
                rows.len() as u32,
            )?;
        }
    }
    query_sheet(&mut workbook, table, &styles)?;
    Ok(workbook)
}

fn position(columns: &[String], name: &str) -> Option<usize> {
    columns.iter().position(|c| c == name)
}

type Notes = HashMap<(usize, usize), String>;

/// A table laid out for the sheet: columns, rows, notes by (row, column).
type Laid = (Vec<String>, Vec<Vec<Value>>, Notes);

/// The long rows turned wide; the indent column (if any) goes last.
fn pivoted(table: &TableSheet, pivot: &Pivot) -> Result<Laid, WriteError> {
    let missing =
        |name: &str| WriteError::Refused(format!("the table has no column `{name}` to pivot on"));
    let keys: Vec<usize> = pivot
        .rows
        .iter()
        .map(|k| position(&table.columns, k).ok_or_else(|| missing(k)))
        .collect::<Result<_, _>>()?;
    let across = position(&table.columns, &pivot.across).ok_or_else(|| missing(&pivot.across))?;
    let value = position(&table.columns, &pivot.value).ok_or_else(|| missing(&pivot.value))?;
    let note = pivot
        .note
        .as_deref()
        .and_then(|n| position(&table.columns, n));
    let indent = pivot
        .indent
        .as_deref()
        .and_then(|n| position(&table.columns, n));
    let label = |v: &Value| match v {
        Value::Text(t) => t.clone(),
        Value::Number(n) => format!("{n}"),
        Value::Bool(b) => b.to_string(),
        Value::Empty => String::new(),
    };
    let mut heads: Vec<String> = Vec::new();
    let mut row_keys: Vec<Vec<Value>> = Vec::new();
    let mut row_of: HashMap<Vec<String>, usize> = HashMap::new();
    let mut cells: HashMap<(usize, usize), (Value, Option<String>)> = HashMap::new();
    let mut indents: Vec<Value> = Vec::new();
    for row in &table.rows {
        let head = label(&row[across]);
        let column = match heads.iter().position(|h| *h == head) {
            Some(c) => c,
            None => {
                heads.push(head);
                heads.len() - 1
            }
        };
        let key: Vec<String> = keys.iter().map(|k| label(&row[*k])).collect();
        let r = *row_of.entry(key).or_insert_with(|| {
            row_keys.push(keys.iter().map(|k| row[*k].clone()).collect());
            indents.push(indent.map(|i| row[i].clone()).unwrap_or(Value::Empty));
            row_keys.len() - 1
        });
        let reason = note.and_then(|n| match &row[n] {
            Value::Text(t) => Some(t.clone()),
            _ => None,
        });
        cells.insert((r, column), (row[value].clone(), reason));
    }
    let mut columns: Vec<String> = pivot.rows.clone();
    columns.extend(heads.iter().cloned());
    if indent.is_some() {
        columns.push(pivot.indent.clone().unwrap_or_default());
    }
    let mut notes = HashMap::new();
    let rows = row_keys
        .into_iter()
        .enumerate()
        .map(|(r, mut out)| {
            for column in 0..heads.len() {
                let (value, reason) = cells.remove(&(r, column)).unwrap_or((Value::Empty, None));
                if let Some(reason) = reason {
                    notes.insert((r, keys.len() + column), reason);
                    out.push(Value::Empty);
                } else {
                    out.push(value);
                }
            }
            if indent.is_some() {
                out.push(indents[r].clone());
            }
            out
        })
        .collect();
    Ok((columns, rows, notes))
}

/// A line per row (up to twelve: more lines are unreadable) over the pivoted columns.
fn line_chart(
    sheet: &mut Worksheet,
    table: &TableSheet,
    first: u16,
    last: u16,
    rows: u32,
) -> Result<(), XlsxError> {
    let name = sheet.name();
    let mut chart = Chart::new(ChartType::Line);
    let label_column = first.saturating_sub(1);
    for row in 1..=rows.min(12) {
        chart
            .add_series()
            .set_categories((name.as_str(), 0, first, 0, last))
            .set_values((name.as_str(), row, first, row, last))
            .set_name((name.as_str(), row, label_column));
    }
    chart.title().set_name(&table.title);
    if let Some(unit) = table.pivot.as_ref().and_then(|p| table.units.get(&p.value)) {
        chart.y_axis().set_name(unit);
    }
    chart.set_width(720).set_height(360);
    sheet.insert_chart(rows + 2, 0, &chart)?;
    Ok(())
}

fn query_sheet(
    workbook: &mut Workbook,
    table: &TableSheet,
    styles: &Styles,
) -> Result<(), XlsxError> {
    let sheet = workbook.add_worksheet();
    sheet.set_name("Query")?;
    write_header(sheet, &["option", "value"], &[22.0, 90.0], styles)?;
    let mut row = 1;
    sheet.write_string(row, 0, "title")?;
    sheet.write_string(row, 1, &table.title)?;
    for (option, value) in &table.query {
        row += 1;
        sheet.write_string(row, 0, option)?;
        sheet.write_string(row, 1, value)?;
    }
    Ok(())
}
