//! A model workbook read back into the files of a model folder, so the folder reader and
//! its validation judge it exactly as they judge a folder. Every line of a generated file
//! remembers the sheet and row it came from, which turns `facts.csv:17: value: ...` back
//! into `Facts!D17: value: ...`.

use crate::cells::{address, cell_text, Kind};
use crate::guard::{open, Limits, OpenError};
use crate::model_write::{
    csv_document_kind, document_sheet_name, FACT_SHEET_COLUMNS, FX_COLUMNS, METRIC_COLUMNS,
    TIMELINE_COLUMNS,
};
use calamine::{DataRef, Reader, Xlsx};
use holdco_core::extension;
use holdco_core::format::{
    is_document_file, ModelFiles, FACTS_FILE, FX_FILE, GROUP_FILE, TIMELINE_FILE,
};
use holdco_core::Diagnostic;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// A sheet a generated file's lines point into.
#[derive(Debug, Clone)]
struct SheetInfo {
    name: String,
    /// Header names by column (empty for a sheet of text lines).
    columns: Vec<String>,
    /// The column every field of the sheet lives in (Group: B; a text document: A).
    fixed_column: Option<u32>,
}

/// The files a workbook stands for, and where each of their lines came from.
#[derive(Debug, Default)]
pub struct WorkbookFiles {
    /// The model folder's files, as the folder reader takes them.
    pub files: ModelFiles,
    sheets: Vec<SheetInfo>,
    /// Per file, per line (index 0 = line 1): the sheet and zero-based row.
    lines: HashMap<String, Vec<(u16, u32)>>,
    /// Cells already reported by the workbook reader: the folder reader's word on the
    /// same cell (a value left empty because it was unreadable) is not repeated.
    reported: HashSet<(u16, u32, u32)>,
}

impl WorkbookFiles {
    fn sheet(&mut self, name: &str, columns: Vec<String>, fixed_column: Option<u32>) -> u16 {
        self.sheets.push(SheetInfo {
            name: name.to_string(),
            columns,
            fixed_column,
        });
        (self.sheets.len() - 1) as u16
    }

    fn place(&mut self, file: &str, line: usize, sheet: u16, row: u32) {
        let lines = self.lines.entry(file.to_string()).or_default();
        if lines.len() < line {
            let last = lines.last().copied().unwrap_or((sheet, row));
            lines.resize(line, last);
        }
        lines[line - 1] = (sheet, row);
    }

    /// Where a problem the folder reader found in a generated file sits in the workbook:
    /// `Sheet!D17` as the file, the field kept. `None` for a problem about a cell the
    /// workbook reader reported already.
    pub fn locate(&self, problem: &Diagnostic) -> Option<Diagnostic> {
        let sheet_of_file = |file: &str| -> String {
            match file {
                GROUP_FILE => "Group".into(),
                TIMELINE_FILE => "Timeline".into(),
                FX_FILE => "FX".into(),
                f if f == FACTS_FILE || f.starts_with("facts/") => "Facts".into(),
                f if is_document_file(f) => document_sheet_name(f),
                f => f.to_string(),
            }
        };
        let place = problem.line.and_then(|line| {
            self.lines
                .get(&problem.file)
                .and_then(|lines| lines.get(line as usize - 1))
        });
        let Some(&(sheet_index, row)) = place else {
            let mut moved = problem.clone();
            moved.file = sheet_of_file(&problem.file);
            moved.line = None;
            moved.message = in_sheets(&moved.message);
            return Some(moved);
        };
        let sheet = &self.sheets[sheet_index as usize];
        let column = sheet.fixed_column.or_else(|| {
            problem.field.as_ref().and_then(|field| {
                sheet
                    .columns
                    .iter()
                    .position(|c| c == field)
                    .map(|c| c as u32)
            })
        });
        if let Some(column) = column {
            if self.reported.contains(&(sheet_index, row, column)) {
                return None;
            }
        }
        let file = match column {
            Some(column) => address(&sheet.name, row, column),
            None => format!(
                "{}!{}:{}",
                address(&sheet.name, row, 0)
                    .split('!')
                    .next()
                    .unwrap_or(&sheet.name),
                row + 1,
                row + 1
            ),
        };
        Some(Diagnostic {
            file,
            line: None,
            field: problem.field.clone(),
            message: in_sheets(&problem.message),
        })
    }
}

/// A folder reader's hint that names a file, reworded for the workbook's sheets.
fn in_sheets(message: &str) -> String {
    message
        .replace("in timeline.toml", "in the Timeline sheet")
        .replace("with [[metric]]", "in the Metrics sheet")
        .replace("in group.toml", "in the Group or Metrics sheet")
}

/// Fact files being built: per file, its text and the sheet and row of each line.
type FactFiles = BTreeMap<String, (Vec<u8>, Vec<(u16, u32)>)>;

/// One cell as streamed from a sheet.
struct ReadCell<'a> {
    row: u32,
    column: u32,
    value: DataRef<'a>,
    formula: bool,
}

/// Streams a sheet's cells in row order to `each`.
fn stream_sheet(
    book: &mut Xlsx<BufReader<File>>,
    name: &str,
    mut each: impl FnMut(ReadCell<'_>),
) -> Result<(), String> {
    let mut reader = book
        .worksheet_cells_reader(name)
        .map_err(|e| e.to_string())?;
    while let Some(cell) = reader
        .next_cell_with_formula_metadata()
        .map_err(|e| e.to_string())?
    {
        each(ReadCell {
            row: cell.pos.0,
            column: cell.pos.1,
            value: cell.value,
            formula: cell.formula.is_some(),
        });
    }
    Ok(())
}

/// Reads a model workbook into the files of a model folder. `Err` when the file is not a
/// workbook to read at all; otherwise the files and the problems found in cells (the
/// caller still hands the files to the folder reader, so every problem is listed at once).
pub fn read_model_workbook(
    path: &Path,
    limits: Limits,
) -> Result<(WorkbookFiles, Vec<Diagnostic>), OpenError> {
    let mut book = open(path, limits)?;
    let names = book.sheet_names();
    // Merged cells and hidden rows are found by a second, light pass over every sheet's
    // XML, run on another thread while this one reads the cells.
    let merged_names = names.clone();
    std::thread::scope(|scope| {
        let merged = scope.spawn(move || {
            let mut problems = Vec::new();
            match crate::scan::scan(path) {
                Ok(flags) => {
                    for name in &merged_names {
                        if let Some(flags) = flags.get(name) {
                            sheet_flag_problems(name, flags, &mut problems);
                        }
                    }
                }
                Err(message) => problems.push(Diagnostic {
                    file: path.display().to_string(),
                    line: None,
                    field: None,
                    message: format!("corrupted .xlsx: {message}"),
                }),
            }
            problems
        });
        let (out, mut problems) = read_sheets(&mut book, &names);
        let mut all = merged.join().unwrap_or_default();
        all.append(&mut problems);
        Ok((out, all))
    })
}

fn read_sheets(
    book: &mut Xlsx<BufReader<File>>,
    names: &[String],
) -> (WorkbookFiles, Vec<Diagnostic>) {
    let mut out = WorkbookFiles::default();
    let mut problems = Vec::new();
    let mut group_lines: Vec<(String, u16, u32)> = Vec::new();
    let mut seen_group = false;
    let mut metrics_rows: Vec<Vec<(String, String, u32)>> = Vec::new();
    let mut metrics_sheet = None;
    let mut fact_files: FactFiles = BTreeMap::new();
    for name in names {
        let result = match name.as_str() {
            "Group" => {
                seen_group = true;
                let sheet = out.sheet(name, vec!["field".into(), "value".into()], Some(1));
                read_group(book, name, sheet, &mut out, &mut problems, &mut group_lines)
            }
            "Metrics" => {
                let columns: Vec<&str> = METRIC_COLUMNS.to_vec();
                read_table(
                    book,
                    name,
                    &columns,
                    |_| Kind::Text,
                    &mut out,
                    &mut problems,
                )
                .map(|(sheet, rows)| {
                    metrics_sheet = Some(sheet);
                    metrics_rows = rows;
                })
            }
            "Timeline" => read_timeline(book, name, &mut out, &mut problems),
            "FX" => read_csv_sheet(
                book,
                name,
                FX_FILE,
                &FX_COLUMNS,
                fx_kind,
                &mut out,
                &mut problems,
            ),
            "Assessments" => read_csv_sheet(
                book,
                name,
                "assessments.csv",
                &["unit", "date", "criterion", "score", "rationale", "source"],
                csv_document_kind,
                &mut out,
                &mut problems,
            ),
            fact if fact == "Facts"
                || (fact.starts_with("Facts ") && fact[6..].parse::<u32>().is_ok()) =>
            {
                read_facts(book, name, &mut out, &mut problems, &mut fact_files)
            }
            other if registered_csv(other).is_some() => read_csv_sheet(
                book,
                name,
                registered_csv(other).expect("checked"),
                &[],
                csv_document_kind,
                &mut out,
                &mut problems,
            ),
            _ => read_text_document(book, name, &mut out, &mut problems),
        };
        if let Err(message) = result {
            problems.push(Diagnostic {
                file: name.clone(),
                line: None,
                field: None,
                message,
            });
        }
    }
    // group.toml: the Group sheet's fields, then one table per row of the Metrics sheet.
    if seen_group || metrics_sheet.is_some() {
        let mut text = String::new();
        let mut line = 0usize;
        let group_sheet = out
            .sheets
            .iter()
            .position(|s| s.name == "Group")
            .map(|i| i as u16);
        let mut push =
            |out: &mut WorkbookFiles, text: &mut String, content: &str, sheet: u16, row: u32| {
                text.push_str(content);
                text.push('\n');
                line += 1;
                out.place(GROUP_FILE, line, sheet, row);
            };
        if let Some(sheet) = group_sheet {
            push(&mut out, &mut text, "[group]", sheet, 0);
            for (content, sheet, row) in &group_lines {
                push(&mut out, &mut text, content, *sheet, *row);
            }
        }
        if let Some(sheet) = metrics_sheet {
            for fields in &metrics_rows {
                let row = fields.first().map(|f| f.2).unwrap_or(0);
                push(&mut out, &mut text, "", sheet, row);
                push(&mut out, &mut text, "[[metric]]", sheet, row);
                for (field, value, row) in fields {
                    push(
                        &mut out,
                        &mut text,
                        &format!("{} = {}", toml_key(field), toml_string(value)),
                        sheet,
                        *row,
                    );
                }
            }
        }
        out.files.insert(GROUP_FILE.into(), text.into_bytes());
    }
    for (file, (bytes, lines)) in fact_files {
        out.lines.insert(file.clone(), lines);
        out.files.insert(file, bytes);
    }
    (out, problems)
}

fn fx_kind(column: &str) -> Kind {
    match column {
        "period" => Kind::Period,
        "average" | "closing" => Kind::Number,
        _ => Kind::Text,
    }
}

fn fact_kind(column: &str) -> Kind {
    match column {
        "period" => Kind::Period,
        "value" => Kind::Number,
        "structure" => Kind::Date,
        _ => Kind::Text,
    }
}

fn timeline_kind(column: &str) -> Kind {
    match column {
        "date" => Kind::Date,
        "ownership" | "share" | "proceeds" | "retained" => Kind::Number,
        _ => Kind::Text,
    }
}

/// Merged cells hide which row a value belongs to: refused in every sheet, with the range.
/// Merged cells hide which row a value belongs to, and hidden rows or columns hold data
/// nobody sees: both refused, with their range.
fn sheet_flag_problems(
    name: &str,
    flags: &crate::scan::SheetFlags,
    problems: &mut Vec<Diagnostic>,
) {
    let sheet = crate::cells::sheet_reference(name);
    for range in &flags.merged {
        problems.push(Diagnostic {
            file: format!("{sheet}!{range}"),
            line: None,
            field: None,
            message: "merged cells: every value needs its own cell (select the range and unmerge it, then fill each cell)".into(),
        });
    }
    for row in &flags.hidden_rows {
        problems.push(Diagnostic {
            file: format!("{sheet}!{row}:{row}"),
            line: None,
            field: None,
            message: "a hidden row holding data: what is imported must be what you see (unhide the row, or delete it)".into(),
        });
    }
    for (first, last) in &flags.hidden_columns {
        let (first, last) = (
            crate::cells::column_letters(first.saturating_sub(1)),
            crate::cells::column_letters(last.saturating_sub(1)),
        );
        problems.push(Diagnostic {
            file: format!("{sheet}!{first}:{last}"),
            line: None,
            field: None,
            message: "hidden columns: what is imported must be what you see (unhide them, or delete them)".into(),
        });
    }
}

fn quote_csv(field: &str, out: &mut Vec<u8>) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push(b'"');
        out.extend_from_slice(field.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(field.as_bytes());
    }
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_string()
    } else {
        toml_string(key)
    }
}

/// Collects a table sheet's rows: the header (which must name known columns in any order,
/// unknown ones passed on for the folder reader to report), then per row the non-empty
/// fields as (column name, text, row).
type TableRows = Vec<Vec<(String, String, u32)>>;

fn read_table(
    book: &mut Xlsx<BufReader<File>>,
    name: &str,
    _known: &[&str],
    kind: impl Fn(&str) -> Kind,
    out: &mut WorkbookFiles,
    problems: &mut Vec<Diagnostic>,
) -> Result<(u16, TableRows), String> {
    let mut header: Vec<String> = Vec::new();
    let mut rows: TableRows = Vec::new();
    let mut current: Vec<(String, String, u32)> = Vec::new();
    let mut current_row = u32::MAX;
    let mut bad: Vec<(u32, u32)> = Vec::new();
    stream_sheet(book, name, |cell| {
        if cell.row == 0 {
            let text = cell_text(&cell.value, Kind::Text, cell.formula)
                .ok()
                .flatten()
                .unwrap_or_default();
            if header.len() <= cell.column as usize {
                header.resize(cell.column as usize + 1, String::new());
            }
            header[cell.column as usize] = text.trim().to_string();
            return;
        }
        if cell.row != current_row {
            if !current.is_empty() {
                rows.push(std::mem::take(&mut current));
            }
            current_row = cell.row;
        }
        let column_name = header
            .get(cell.column as usize)
            .cloned()
            .unwrap_or_default();
        match cell_text(&cell.value, kind(&column_name), cell.formula) {
            Ok(Some(text)) => {
                if column_name.is_empty() {
                    problems.push(Diagnostic { file: address(name, cell.row, cell.column), line: None, field: None, message: format!("a value in a column without a name in row 1 (found {text:?}); delete it or name the column") });
                } else {
                    current.push((column_name, text, cell.row));
                }
            }
            Ok(None) => {}
            Err(message) => {
                bad.push((cell.row, cell.column));
                problems.push(Diagnostic {
                    file: address(name, cell.row, cell.column),
                    line: None,
                    field: Some(column_name).filter(|c| !c.is_empty()),
                    message,
                });
            }
        }
    })?;
    if !current.is_empty() {
        rows.push(current);
    }
    let sheet = out.sheet(name, header, None);
    out.reported
        .extend(bad.into_iter().map(|(row, column)| (sheet, row, column)));
    Ok((sheet, rows))
}

fn read_group(
    book: &mut Xlsx<BufReader<File>>,
    name: &str,
    sheet: u16,
    out: &mut WorkbookFiles,
    problems: &mut Vec<Diagnostic>,
    lines: &mut Vec<(String, u16, u32)>,
) -> Result<(), String> {
    let mut fields: BTreeMap<u32, (Option<String>, Option<String>)> = BTreeMap::new();
    let mut bad = Vec::new();
    stream_sheet(book, name, |cell| {
        if cell.row == 0 || cell.column > 1 {
            if cell.column > 1 && !matches!(cell.value, DataRef::Empty) {
                problems.push(Diagnostic {
                    file: address(name, cell.row, cell.column),
                    line: None,
                    field: None,
                    message: "the Group sheet has two columns, field and value; delete this cell"
                        .into(),
                });
            }
            return;
        }
        let entry = fields.entry(cell.row).or_default();
        if cell.column == 0 {
            entry.0 = cell_text(&cell.value, Kind::Text, cell.formula)
                .ok()
                .flatten();
            return;
        }
        // A fiscal year end typed as 03-31 becomes a date in Excel: its month and day are meant.
        let value = match crate::cells::cell_date(&cell.value) {
            Some(date) => Ok(Some(date.format("%m-%d").to_string())),
            None => cell_text(&cell.value, Kind::Text, cell.formula),
        };
        match value {
            Ok(value) => entry.1 = value,
            Err(message) => {
                bad.push((sheet, cell.row, 1));
                problems.push(Diagnostic {
                    file: address(name, cell.row, 1),
                    line: None,
                    field: None,
                    message,
                });
            }
        }
    })?;
    out.reported.extend(bad);
    for (row, (field, value)) in fields {
        match (field, value) {
            (Some(field), Some(value)) => lines.push((
                format!("{} = {}", toml_key(field.trim()), toml_string(&value)),
                sheet,
                row,
            )),
            (None, Some(_)) => problems.push(Diagnostic {
                file: address(name, row, 0),
                line: None,
                field: None,
                message: "a value without a field name (id, name, currency or fiscal_year_end)"
                    .into(),
            }),
            _ => {}
        }
    }
    Ok(())
}

/// `parts` of a split as written in a cell: `eleme=0.64; amap=0.36, adjusted_ebita=0.5`,
/// as the TOML inline array timeline.toml holds.
fn parts_toml(text: &str) -> Result<String, String> {
    let mut parts = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let mut pieces = part.split(',').map(str::trim);
        let first = pieces.next().unwrap_or_default();
        let (unit, share) = match first.split_once('=') {
            Some((unit, share)) => (unit.trim(), Some(share.trim())),
            None => (first, None),
        };
        if unit.is_empty() {
            return Err(format!("`{part}`: a part starts with its unit, e.g. `eleme=0.64; amap=0.36, adjusted_ebita=0.5`"));
        }
        let number = |text: &str| -> Result<String, String> {
            match text.parse::<f64>() {
                Ok(n) if n.is_finite() => Ok(crate::cells::number_text(n)),
                _ => Err(format!(
                    "`{part}`: expected a share (a number), found `{text}`"
                )),
            }
        };
        let mut fields = vec![format!("unit = {}", toml_string(unit))];
        if let Some(share) = share {
            fields.push(format!("share = {}", toml_float(&number(share)?)));
        }
        let mut per_metric = Vec::new();
        for piece in pieces {
            let Some((metric, share)) = piece.split_once('=') else {
                return Err(format!(
                    "`{part}`: expected metric=share after the unit, found `{piece}`"
                ));
            };
            per_metric.push(format!(
                "{} = {}",
                toml_key(metric.trim()),
                toml_float(&number(share.trim())?)
            ));
        }
        if !per_metric.is_empty() {
            fields.push(format!("shares = {{ {} }}", per_metric.join(", ")));
        }
        parts.push(format!("{{ {} }}", fields.join(", ")));
    }
    Ok(format!("[{}]", parts.join(", ")))
}

/// A number as a TOML float (`1` would be an integer).
fn toml_float(text: &str) -> String {
    if text.contains(['.', 'e', 'E']) || text.contains("inf") || text.contains("NaN") {
        text.to_string()
    } else {
        format!("{text}.0")
    }
}

fn read_timeline(
    book: &mut Xlsx<BufReader<File>>,
    name: &str,
    out: &mut WorkbookFiles,
    problems: &mut Vec<Diagnostic>,
) -> Result<(), String> {
    let (sheet, rows) = read_table(book, name, &TIMELINE_COLUMNS, timeline_kind, out, problems)?;
    let mut text = String::new();
    let mut line = 0usize;
    for fields in rows {
        let row = fields[0].2;
        let mut lines = Vec::new();
        if line > 0 {
            lines.push(String::new());
        }
        lines.push("[[change]]".to_string());
        // A domain event's fields take the types its kind registered (dates bare, numbers,
        // true/false); other columns keep the sheet's types.
        let event = fields
            .iter()
            .find(|(field, _, _)| field == "kind")
            .and_then(|(_, kind, _)| match extension::lookup(kind) {
                extension::Lookup::Known(event) => Some(event),
                _ => None,
            });
        for (field, value, _) in &fields {
            let spec = event.and_then(|e| e.fields.iter().find(|s| s.name == field.as_str()));
            let literal = match (field.as_str(), spec.map(|s| s.ty)) {
                (_, Some(extension::FieldType::Date)) => value.clone(),
                (_, Some(extension::FieldType::Number)) => toml_float(value),
                (_, Some(extension::FieldType::Flag))
                    if value.eq_ignore_ascii_case("true")
                        || value.eq_ignore_ascii_case("false") =>
                {
                    value.to_ascii_lowercase()
                }
                (_, Some(_)) => toml_string(value),
                _ => match (field.as_str(), timeline_kind(field)) {
                    ("parts", _) => match parts_toml(value) {
                        Ok(toml) => toml,
                        Err(message) => {
                            let column = out.sheets[sheet as usize]
                                .columns
                                .iter()
                                .position(|c| c == "parts")
                                .unwrap_or(0) as u32;
                            problems.push(Diagnostic {
                                file: address(name, row, column),
                                line: None,
                                field: Some("parts".into()),
                                message,
                            });
                            out.reported.insert((sheet, row, column));
                            "[]".to_string()
                        }
                    },
                    ("units", _) => {
                        let list: Vec<String> = value
                            .split([',', ';'])
                            .map(str::trim)
                            .filter(|u| !u.is_empty())
                            .map(toml_string)
                            .collect();
                        format!("[{}]", list.join(", "))
                    }
                    (_, Kind::Date) => value.clone(),
                    (_, Kind::Number) => toml_float(value),
                    _ => toml_string(value),
                },
            };
            lines.push(format!("{} = {literal}", toml_key(field)));
        }
        for content in lines {
            text.push_str(&content);
            text.push('\n');
            line += 1;
            out.place(TIMELINE_FILE, line, sheet, row);
        }
    }
    out.files.insert(TIMELINE_FILE.into(), text.into_bytes());
    Ok(())
}

/// A table sheet that stands for a CSV file (FX, assessments): header, then one line per
/// non-empty row, in the sheet's column order.
fn read_csv_sheet(
    book: &mut Xlsx<BufReader<File>>,
    name: &str,
    file: &str,
    known: &[&str],
    kind: fn(&str) -> Kind,
    out: &mut WorkbookFiles,
    problems: &mut Vec<Diagnostic>,
) -> Result<(), String> {
    let (sheet, rows) = read_table(book, name, known, kind, out, problems)?;
    let header: Vec<String> = out.sheets[sheet as usize].columns.clone();
    let used: Vec<usize> = (0..header.len())
        .filter(|c| !header[*c].is_empty())
        .collect();
    let mut bytes = Vec::new();
    for (i, column) in used.iter().enumerate() {
        if i > 0 {
            bytes.push(b',');
        }
        quote_csv(&header[*column], &mut bytes);
    }
    bytes.push(b'\n');
    out.place(file, 1, sheet, 0);
    let mut line = 1;
    for fields in rows {
        let row = fields[0].2;
        for (i, column) in used.iter().enumerate() {
            if i > 0 {
                bytes.push(b',');
            }
            if let Some((_, value, _)) = fields.iter().find(|(name, _, _)| name == &header[*column])
            {
                quote_csv(value, &mut bytes);
            }
        }
        bytes.push(b'\n');
        line += 1;
        out.place(file, line, sheet, row);
    }
    out.files.insert(file.to_string(), bytes);
    Ok(())
}

/// Appends a cell's text for a column of `kind` to `out` as a CSV field, on the common
/// paths without allocating; `Ok(false)` for an empty cell. Anything unusual goes through
/// [`cell_text`], which also words the errors.
fn append_cell(
    value: &DataRef<'_>,
    kind: Kind,
    formula: bool,
    out: &mut Vec<u8>,
    scratch: &mut String,
) -> Result<bool, String> {
    use std::fmt::Write as _;
    let text: &str = match value {
        DataRef::SharedString(text) => text,
        DataRef::String(text) => text.as_str(),
        DataRef::Float(number) if kind == Kind::Number => {
            scratch.clear();
            let _ = write!(scratch, "{number}");
            out.extend_from_slice(scratch.as_bytes());
            return Ok(true);
        }
        DataRef::Int(number) if kind == Kind::Number => {
            scratch.clear();
            let _ = write!(scratch, "{number}");
            out.extend_from_slice(scratch.as_bytes());
            return Ok(true);
        }
        other => {
            return match cell_text(other, kind, formula)? {
                Some(text) => {
                    quote_csv(&text, out);
                    Ok(true)
                }
                None => Ok(false),
            }
        }
    };
    match kind {
        Kind::Text | Kind::Period if !text.trim().is_empty() => {
            quote_csv(text, out);
            Ok(true)
        }
        _ => match cell_text(value, kind, formula)? {
            Some(text) => {
                quote_csv(&text, out);
                Ok(true)
            }
            None => Ok(false),
        },
    }
}

/// The text of a row being built from a Facts sheet, in the CSV field order.
struct RowText {
    text: Vec<u8>,
    /// Fields begun so far.
    fields: usize,
    /// Whether any field holds a value (empty rows are skipped).
    filled: bool,
    /// The `file` column's value.
    file: Option<String>,
}

impl RowText {
    /// Writes the separators up to the field at `position`.
    fn reach(&mut self, position: usize) {
        while self.fields < position {
            if self.fields > 0 {
                self.text.push(b',');
            }
            self.fields += 1;
        }
    }
}

/// Where a Facts sheet's rows go: the fact files' text and, per line, the sheet row.
struct FactSink<'a> {
    sheet: u16,
    name: &'a str,
    width: usize,
    file_column: Option<usize>,
    header: Vec<u8>,
    files: &'a mut FactFiles,
}

impl FactSink<'_> {
    fn finish(&mut self, row: u32, text: &mut RowText, problems: &mut Vec<Diagnostic>) {
        if !text.filled {
            text.text.clear();
            text.fields = 0;
            text.file = None;
            return;
        }
        text.reach(self.width);
        text.text.push(b'\n');
        let file = match text.file.take() {
            None => FACTS_FILE.to_string(),
            Some(file)
                if file == FACTS_FILE
                    || (file.starts_with("facts/")
                        && file.ends_with(".csv")
                        && !file[6..].contains('/')) =>
            {
                file
            }
            Some(file) => {
                problems.push(Diagnostic {
                    file: address(self.name, row, self.file_column.unwrap_or(0) as u32),
                    line: None,
                    field: Some("file".into()),
                    message: format!(
                        "expected facts.csv or facts/NAME.csv, found {file:?} (or leave it empty)"
                    ),
                });
                FACTS_FILE.to_string()
            }
        };
        let (sheet, header) = (self.sheet, &self.header);
        let entry = self
            .files
            .entry(file)
            .or_insert_with(|| (header.clone(), vec![(sheet, 0)]));
        entry.0.extend_from_slice(&text.text);
        // A quoted value holding line breaks spans several lines of the file.
        let lines = text.text.iter().filter(|b| **b == b'\n').count();
        for _ in 0..lines {
            entry.1.push((sheet, row));
        }
        text.text.clear();
        text.fields = 0;
        text.filled = false;
    }
}

/// A Facts sheet, streamed straight into the CSV text of its fact files: each cell is
/// appended to its row's text as it arrives (cells come in row order), so a million rows
/// never exist as cells or strings in memory. The optional `file` column routes a row to
/// `facts/NAME.csv`; without it a row goes to facts.csv.
fn read_facts(
    book: &mut Xlsx<BufReader<File>>,
    name: &str,
    out: &mut WorkbookFiles,
    problems: &mut Vec<Diagnostic>,
    files: &mut FactFiles,
) -> Result<(), String> {
    let sheet = out.sheet(name, Vec::new(), None);
    let mut header: Vec<String> = Vec::new();
    // Per sheet column: its kind and its field's position in the CSV (None: not written).
    let mut layout: Vec<(Kind, Option<usize>)> = Vec::new();
    let mut file_column: Option<usize> = None;
    let mut row = RowText {
        text: Vec::with_capacity(256),
        fields: 0,
        filled: false,
        file: None,
    };
    let mut current_row = u32::MAX;
    let mut bad: Vec<(u16, u32, u32)> = Vec::new();
    let mut scratch = String::new();
    let mut sink = FactSink {
        sheet,
        name,
        width: 0,
        file_column: None,
        header: Vec::new(),
        files,
    };
    stream_sheet(book, name, |cell| {
        let column = cell.column as usize;
        if cell.row == 0 {
            let text = cell_text(&cell.value, Kind::Text, cell.formula)
                .ok()
                .flatten()
                .unwrap_or_default()
                .trim()
                .to_string();
            if header.len() <= column {
                header.resize(column + 1, String::new());
            }
            if text == "file" {
                file_column = Some(column);
            }
            header[column] = text;
            return;
        }
        if cell.row != current_row {
            if current_row == u32::MAX {
                let mut position = 0;
                let mut header_text = Vec::new();
                layout = header
                    .iter()
                    .enumerate()
                    .map(|(index, h)| {
                        if h.is_empty() || Some(index) == file_column {
                            return (fact_kind(h), None);
                        }
                        if position > 0 {
                            header_text.push(b',');
                        }
                        quote_csv(h, &mut header_text);
                        position += 1;
                        (fact_kind(h), Some(position - 1))
                    })
                    .collect();
                header_text.push(b'\n');
                sink.width = position;
                sink.file_column = file_column;
                sink.header = header_text;
            } else {
                sink.finish(current_row, &mut row, problems);
            }
            current_row = cell.row;
        }
        if Some(column) == file_column {
            row.file = cell_text(&cell.value, Kind::Text, cell.formula)
                .ok()
                .flatten()
                .map(|f| f.trim().to_string());
            return;
        }
        let Some(&(kind, Some(position))) = layout.get(column) else {
            if !matches!(cell.value, DataRef::Empty) {
                problems.push(Diagnostic {
                    file: address(name, cell.row, cell.column),
                    line: None,
                    field: None,
                    message:
                        "a value in a column without a name in row 1; delete it or name the column"
                            .into(),
                });
            }
            return;
        };
        let (mark, fields) = (row.text.len(), row.fields);
        row.reach(position);
        if position > 0 {
            row.text.push(b',');
        }
        match append_cell(&cell.value, kind, cell.formula, &mut row.text, &mut scratch) {
            Ok(true) => {
                row.fields = position + 1;
                row.filled = true;
            }
            Ok(false) => {
                // An empty cell: its separators come with the next value.
                row.text.truncate(mark);
                row.fields = fields;
            }
            Err(message) => {
                row.text.truncate(mark);
                row.fields = fields;
                bad.push((sheet, cell.row, cell.column));
                problems.push(Diagnostic {
                    file: address(name, cell.row, cell.column),
                    line: None,
                    field: Some(header[column].clone()),
                    message,
                });
                // The row still goes to the folder reader, which reports its other problems.
                row.filled = true;
            }
        }
    })?;
    if current_row != u32::MAX {
        sink.finish(current_row, &mut row, problems);
    }
    if header.is_empty() {
        problems.push(Diagnostic {
            file: name.to_string(),
            line: None,
            field: None,
            message: format!(
                "empty sheet: a Facts sheet starts with a header row ({})",
                FACT_SHEET_COLUMNS[..9].join(", ")
            ),
        });
    }
    out.sheets[sheet as usize].columns = header;
    out.reported.extend(bad);
    Ok(())
}

/// The CSV document a domain registered whose sheet is named `sheet` (`People` ->
/// `people.csv`).
fn registered_csv(sheet: &str) -> Option<&'static str> {
    extension::domains()
        .into_iter()
        .flat_map(|d| d.documents.iter())
        .map(|doc| doc.path)
        .find(|path| path.ends_with(".csv") && document_sheet_name(path) == sheet)
}

/// A sheet holding a TOML document one line per row, its path in A1.
fn read_text_document(
    book: &mut Xlsx<BufReader<File>>,
    name: &str,
    out: &mut WorkbookFiles,
    problems: &mut Vec<Diagnostic>,
) -> Result<(), String> {
    let mut lines: BTreeMap<u32, String> = BTreeMap::new();
    let mut path: Option<String> = None;
    let mut bad = Vec::new();
    stream_sheet(book, name, |cell| {
        if cell.column > 0 {
            if !matches!(cell.value, DataRef::Empty) {
                problems.push(Diagnostic { file: address(name, cell.row, cell.column), line: None, field: None, message: "a document sheet holds one line of the file per row, in column A; move this text there".into() });
            }
            return;
        }
        match cell_text(&cell.value, Kind::Text, cell.formula) {
            Ok(Some(text)) if cell.row == 0 => path = Some(text.trim().to_string()),
            Ok(Some(text)) => {
                lines.insert(cell.row, text);
            }
            Ok(None) => {}
            Err(message) => {
                bad.push(cell.row);
                problems.push(Diagnostic {
                    file: address(name, cell.row, 0),
                    line: None,
                    field: None,
                    message,
                });
            }
        }
    })?;
    let Some(path) = path.filter(|p| is_document_file(p) && p.ends_with(".toml")) else {
        return Err(format!(
            "unknown sheet: a model workbook has the sheets Group, Metrics, Timeline, Facts, FX, Assessments, and document sheets whose cell A1 names the file (strategy.toml, capital.toml, scenarios/NAME.toml); rename or delete `{name}`"
        ));
    };
    if out.files.contains_key(&path) {
        return Err(format!("a second sheet for {path}: keep one"));
    }
    let sheet = out.sheet(name, Vec::new(), Some(0));
    out.reported
        .extend(bad.into_iter().map(|row| (sheet, row, 0)));
    let last = lines.keys().next_back().copied().unwrap_or(0);
    let mut text = String::new();
    for row in 1..=last {
        if let Some(line) = lines.get(&row) {
            text.push_str(line);
        }
        text.push('\n');
        out.place(&path, row as usize, sheet, row);
    }
    out.files.insert(path, text.into_bytes());
    Ok(())
}
