//! The model as a workbook: one sheet per part of a model folder, typed cells (dates as
//! dates, numbers as numbers), frozen headers and filters. `model_read` reads it back.

use crate::cells::{number_text, MAX_ROWS};
use holdco_core::format::is_document_file;
use holdco_core::{Basis, ChangeKind, Consolidation, EventValue, Model, Period};
use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, Workbook, Worksheet, XlsxError};
use std::collections::HashMap;
use std::path::Path;

/// Columns of the Group sheet (a field and its value per row).
pub const GROUP_COLUMNS: [&str; 2] = ["field", "value"];
/// Columns of the Metrics sheet.
pub const METRIC_COLUMNS: [&str; 7] = [
    "id",
    "name",
    "measure",
    "aggregation",
    "numerator",
    "denominator",
    "scale",
];
/// Columns of the Timeline sheet: every field a change of any kind may have.
pub const TIMELINE_COLUMNS: [&str; 22] = [
    "id",
    "date",
    "kind",
    "unit",
    "name",
    "parent",
    "unit_kind",
    "ownership",
    "units",
    "into",
    "parts",
    "share",
    "consolidation",
    "proceeds",
    "proceeds_currency",
    "buyer",
    "class",
    "retained",
    "method",
    "decision",
    "note",
    "source",
];
/// Columns of the Facts sheets: the fact file's columns, then the file a fact belongs to.
pub const FACT_SHEET_COLUMNS: [&str; 12] = [
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
    "file",
];
/// Columns of the FX sheet.
pub const FX_COLUMNS: [&str; 5] = ["currency", "period", "average", "closing", "source"];

/// Why a model could not be written as a workbook.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The spreadsheet writer failed (disk, temporary files).
    #[error("writing the workbook: {0}")]
    Xlsx(#[from] XlsxError),
    /// The model holds something a workbook can't.
    #[error("{0}")]
    Refused(String),
}

/// What [`write_model_workbook`] wrote.
#[derive(Debug, Clone, Default)]
pub struct WriteSummary {
    /// Sheet names in order.
    pub sheets: Vec<String>,
    /// Fact rows written.
    pub facts: usize,
}

/// The sheet a document is written to: `strategy.toml` -> `Strategy`,
/// `scenarios/keep-cloud.toml` -> `Scenario keep-cloud`.
pub fn document_sheet_name(path: &str) -> String {
    match path {
        "strategy.toml" => "Strategy".into(),
        "assessments.csv" => "Assessments".into(),
        "capital.toml" => "Capital".into(),
        // A document a domain registered (holdco_core::extension): its file name, e.g.
        // `people.csv` -> `People`.
        other if holdco_core::extension::document_type(other).is_some() => {
            let stem = other.split('.').next().unwrap_or(other);
            let mut chars = stem.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
        other => {
            let name = other
                .trim_start_matches("scenarios/")
                .trim_end_matches(".toml");
            format!("Scenario {name}")
        }
    }
}

/// The name of the `index`-th facts sheet (0: `Facts`, 1: `Facts 2`, ...).
pub fn facts_sheet_name(index: usize) -> String {
    if index == 0 {
        "Facts".into()
    } else {
        format!("Facts {}", index + 1)
    }
}

/// Formats shared by the sheets.
pub(crate) struct Styles {
    pub header: Format,
    pub date: Format,
    pub wrap: Format,
}

impl Styles {
    pub(crate) fn new() -> Styles {
        Styles {
            header: Format::new()
                .set_bold()
                .set_background_color(0xDDEBF7)
                .set_border_bottom(rust_xlsxwriter::FormatBorder::Thin),
            date: Format::new()
                .set_num_format("yyyy-mm-dd")
                .set_align(FormatAlign::Left),
            wrap: Format::new(),
        }
    }
}

/// Writes the header row, freezes it and sets column widths.
pub(crate) fn header(
    sheet: &mut Worksheet,
    columns: &[&str],
    widths: &[f64],
    styles: &Styles,
) -> Result<(), XlsxError> {
    for (index, name) in columns.iter().enumerate() {
        sheet.write_string_with_format(0, index as u16, *name, &styles.header)?;
        sheet.set_column_width(index as u16, widths.get(index).copied().unwrap_or(14.0))?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

/// A date as an Excel date.
pub(crate) fn excel_date(date: chrono::NaiveDate) -> Result<ExcelDateTime, XlsxError> {
    use chrono::Datelike;
    ExcelDateTime::from_ymd(date.year() as u16, date.month() as u8, date.day() as u8)
}

fn sheet_name_ok(name: &str) -> Result<(), WriteError> {
    if name.chars().count() > 31 || name.chars().any(|c| "[]:*?/\\".contains(c)) {
        return Err(WriteError::Refused(format!(
            "the sheet name `{name}` is not allowed by Excel (at most 31 characters, none of []:*?/\\): rename the scenario file to a shorter name"
        )));
    }
    Ok(())
}

/// Writes `model` as a workbook at `path`.
pub fn write_model_workbook(model: &Model, path: &Path) -> Result<WriteSummary, WriteError> {
    write_model_workbook_with(model, path, (MAX_ROWS - 1) as usize)
}

/// [`write_model_workbook`] with at most `facts_per_sheet` facts on a sheet (tests use a
/// small number to see facts continue on further sheets).
#[doc(hidden)]
pub fn write_model_workbook_with(
    model: &Model,
    path: &Path,
    facts_per_sheet: usize,
) -> Result<WriteSummary, WriteError> {
    let mut workbook = Workbook::new();
    let styles = Styles::new();
    let mut summary = WriteSummary::default();
    let calendar = model.group.calendar();

    // Group: a field and its value per row.
    {
        let sheet = workbook.add_worksheet();
        sheet.set_name("Group")?;
        header(sheet, &GROUP_COLUMNS, &[18.0, 40.0], &styles)?;
        let group = &model.group;
        let fiscal = format!(
            "{:02}-{:02}",
            group.fiscal_year_end.0, group.fiscal_year_end.1
        );
        for (row, (field, value)) in [
            ("id", group.id.as_str()),
            ("name", &group.name),
            ("currency", group.currency.as_str()),
            ("fiscal_year_end", &fiscal),
        ]
        .into_iter()
        .enumerate()
        {
            sheet.write_string(row as u32 + 1, 0, field)?;
            sheet.write_string(row as u32 + 1, 1, value)?;
        }
        summary.sheets.push("Group".into());
    }

    // Metrics.
    {
        let sheet = workbook.add_worksheet();
        sheet.set_name("Metrics")?;
        header(
            sheet,
            &METRIC_COLUMNS,
            &[22.0, 30.0, 10.0, 12.0, 16.0, 16.0, 10.0],
            &styles,
        )?;
        for (index, metric) in model.metrics.iter().enumerate() {
            let row = index as u32 + 1;
            let measure = serde_json::to_value(metric.measure)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            sheet.write_string(row, 0, metric.id.as_str())?;
            sheet.write_string(row, 1, &metric.name)?;
            sheet.write_string(row, 2, &measure)?;
            sheet.write_string(row, 3, metric.aggregation.name())?;
            if let holdco_core::Aggregation::Ratio {
                numerator,
                denominator,
            } = &metric.aggregation
            {
                sheet.write_string(row, 4, numerator.as_str())?;
                sheet.write_string(row, 5, denominator.as_str())?;
            }
            if let Some(scale) = &metric.scale {
                sheet.write_string(row, 6, scale)?;
            }
        }
        sheet.autofilter(
            0,
            0,
            model.metrics.len() as u32,
            METRIC_COLUMNS.len() as u16 - 1,
        )?;
        summary.sheets.push("Metrics".into());
    }

    write_timeline(&mut workbook, model, &styles)?;
    summary.sheets.push("Timeline".into());

    summary.facts = write_facts(
        &mut workbook,
        model,
        &styles,
        &mut summary.sheets,
        facts_per_sheet.clamp(1, (MAX_ROWS - 1) as usize),
    )?;

    if !model.fx.is_empty() {
        let sheet = workbook.add_worksheet();
        sheet.set_name("FX")?;
        header(sheet, &FX_COLUMNS, &[10.0, 10.0, 12.0, 12.0, 50.0], &styles)?;
        let mut rates: Vec<_> = model.fx.iter().collect();
        rates.sort_by(|a, b| (&a.currency, a.period).cmp(&(&b.currency, b.period)));
        for (index, rate) in rates.iter().enumerate() {
            let row = index as u32 + 1;
            sheet.write_string(row, 0, rate.currency.as_str())?;
            sheet.write_string(row, 1, rate.period.label(calendar))?;
            sheet.write_number(row, 2, rate.average)?;
            sheet.write_number(row, 3, rate.closing)?;
            if let Some(source) = &rate.source {
                sheet.write_string(row, 4, source)?;
            }
        }
        sheet.autofilter(0, 0, rates.len() as u32, FX_COLUMNS.len() as u16 - 1)?;
        summary.sheets.push("FX".into());
    }

    for (path, text) in &model.documents {
        if !is_document_file(path) {
            continue;
        }
        let name = document_sheet_name(path);
        sheet_name_ok(&name)?;
        if path.ends_with(".csv") {
            write_csv_document(&mut workbook, &name, path, text, &styles)?;
        } else {
            write_text_document(&mut workbook, &name, path, text, &styles)?;
        }
        summary.sheets.push(name);
    }
    workbook.save(path)?;
    Ok(summary)
}

fn write_timeline(
    workbook: &mut Workbook,
    model: &Model,
    styles: &Styles,
) -> Result<(), WriteError> {
    let sheet = workbook.add_worksheet();
    sheet.set_name("Timeline")?;
    let widths = [
        24.0, 11.0, 9.0, 20.0, 28.0, 18.0, 12.0, 9.0, 24.0, 18.0, 36.0, 8.0, 12.0, 10.0, 10.0,
        16.0, 18.0, 9.0, 11.0, 36.0, 40.0, 40.0,
    ];
    // Domain events (holdco_core::extension) bring their own fields: one more column per
    // field name, after the fixed ones, in name order.
    let mut extra: Vec<&str> = model
        .timeline
        .iter()
        .filter_map(|c| match &c.kind {
            ChangeKind::Event { fields, .. } => Some(fields.keys().map(String::as_str)),
            _ => None,
        })
        .flatten()
        .filter(|name| !TIMELINE_COLUMNS.contains(name))
        .collect();
    extra.sort_unstable();
    extra.dedup();
    let columns: Vec<&str> = TIMELINE_COLUMNS.iter().copied().chain(extra).collect();
    header(sheet, &columns, &widths, styles)?;
    let column = |name: &str| {
        columns
            .iter()
            .position(|c| *c == name)
            .expect("a timeline column") as u16
    };
    for (index, change) in model.timeline.iter().enumerate() {
        let row = index as u32 + 1;
        let mut text =
            |name: &str, value: &str| sheet.write_string(row, column(name), value).map(|_| ());
        if let Some(id) = &change.id {
            text("id", id)?;
        }
        text("kind", change.kind.file_kind())?;
        let mut numbers: Vec<(&str, f64)> = Vec::new();
        match &change.kind {
            ChangeKind::Create {
                unit,
                name,
                parent,
                unit_kind,
                ownership,
                ..
            } => {
                text("unit", unit.as_str())?;
                text("name", name)?;
                if let Some(parent) = parent {
                    text("parent", parent.as_str())?;
                }
                text("unit_kind", unit_kind)?;
                if *ownership != 1.0 {
                    numbers.push(("ownership", *ownership));
                }
            }
            ChangeKind::Rename { unit, name } => {
                text("unit", unit.as_str())?;
                text("name", name)?;
            }
            ChangeKind::Move { unit, parent } => {
                text("unit", unit.as_str())?;
                text("parent", parent.as_str())?;
            }
            ChangeKind::Merge { units, into } => {
                text(
                    "units",
                    &units
                        .iter()
                        .map(|u| u.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                )?;
                text("into", into.as_str())?;
            }
            ChangeKind::Split { unit, parts } => {
                text("unit", unit.as_str())?;
                let written: Vec<String> = parts
                    .iter()
                    .map(|part| {
                        let mut out = part.unit.to_string();
                        if let Some(share) = part.shares.default {
                            out.push_str(&format!("={}", number_text(share)));
                        }
                        for (metric, share) in &part.shares.per_metric {
                            out.push_str(&format!(", {metric}={}", number_text(*share)));
                        }
                        out
                    })
                    .collect();
                text("parts", &written.join("; "))?;
            }
            ChangeKind::Stake {
                unit,
                share,
                consolidation,
                proceeds,
            } => {
                text("unit", unit.as_str())?;
                numbers.push(("share", *share));
                let default = if *share > 0.5 {
                    Consolidation::Full
                } else {
                    Consolidation::Share
                };
                if *consolidation != default {
                    text("consolidation", consolidation.name())?;
                }
                if let Some(money) = proceeds {
                    numbers.push(("proceeds", money.amount));
                    text("proceeds_currency", money.currency.as_str())?;
                }
            }
            ChangeKind::Divest {
                unit,
                proceeds,
                buyer,
            } => {
                text("unit", unit.as_str())?;
                if let Some(money) = proceeds {
                    numbers.push(("proceeds", money.amount));
                    text("proceeds_currency", money.currency.as_str())?;
                }
                if let Some(buyer) = buyer {
                    text("buyer", buyer)?;
                }
            }
            ChangeKind::Close { unit } => text("unit", unit.as_str())?,
            ChangeKind::SpinOff {
                unit,
                retained,
                method,
            } => {
                text("unit", unit.as_str())?;
                if *retained > 0.0 {
                    numbers.push(("retained", *retained));
                    text("method", method.name())?;
                }
            }
            ChangeKind::Decision { unit, decision } => {
                text("unit", unit.as_str())?;
                text("decision", decision)?;
            }
            ChangeKind::Classify { unit, class } => {
                text("unit", unit.as_str())?;
                text("class", class)?;
            }
            ChangeKind::Event { fields, .. } => {
                // Dates as their text (the reader gives each field the type its event
                // kind registered), numbers as numbers, flags as true/false.
                for (name, value) in fields {
                    match value {
                        EventValue::Number(n) => numbers.push((name.as_str(), *n)),
                        other => text(name, &other.as_text())?,
                    }
                }
            }
        }
        if let Some(note) = &change.note {
            text("note", note)?;
        }
        if let Some(source) = &change.source {
            text("source", source)?;
        }
        for (name, value) in numbers {
            sheet.write_number(row, column(name), value)?;
        }
        sheet.write_datetime_with_format(
            row,
            column("date"),
            excel_date(change.date)?,
            &styles.date,
        )?;
    }
    sheet.autofilter(0, 0, model.timeline.len() as u32, columns.len() as u16 - 1)?;
    Ok(())
}

/// Facts in key order, `MAX_ROWS - 1` to a sheet (the first row is the header).
fn write_facts(
    workbook: &mut Workbook,
    model: &Model,
    styles: &Styles,
    sheets: &mut Vec<String>,
    per_sheet: usize,
) -> Result<usize, WriteError> {
    let calendar = model.group.calendar();
    let mut order: Vec<u32> = (0..model.facts.len() as u32).collect();
    order.sort_unstable_by(|a, b| {
        model.facts[*a as usize]
            .key
            .cmp(&model.facts[*b as usize].key)
    });
    let mut labels: HashMap<Period, String> = HashMap::new();
    let chunks: Vec<&[u32]> = if order.is_empty() {
        vec![&[][..]]
    } else {
        order.chunks(per_sheet).collect()
    };
    let mut dates: HashMap<chrono::NaiveDate, ExcelDateTime> = HashMap::new();
    for (sheet_index, chunk) in chunks.into_iter().enumerate() {
        // Large sheets keep only their strings in memory; rows go to a temporary file.
        let sheet = workbook.add_worksheet_with_low_memory()?;
        let name = facts_sheet_name(sheet_index);
        sheet.set_name(&name)?;
        header(
            sheet,
            &FACT_SHEET_COLUMNS,
            &[
                20.0, 10.0, 20.0, 14.0, 9.0, 16.0, 10.0, 11.0, 40.0, 30.0, 10.0, 18.0,
            ],
            styles,
        )?;
        for (offset, index) in chunk.iter().enumerate() {
            let fact = &model.facts[*index as usize];
            let row = offset as u32 + 1;
            sheet.write_string(row, 0, fact.key.unit.as_str())?;
            let label = labels
                .entry(fact.key.period)
                .or_insert_with(|| fact.key.period.label(calendar));
            sheet.write_string(row, 1, label.as_str())?;
            sheet.write_string(row, 2, fact.key.metric.as_str())?;
            sheet.write_number(row, 3, fact.value)?;
            if let Some(currency) = &fact.currency {
                sheet.write_string(row, 4, currency.as_str())?;
            }
            if let Some(counterparty) = &fact.key.counterparty {
                sheet.write_string(row, 5, counterparty.as_str())?;
            }
            if fact.key.basis != Basis::Reported {
                sheet.write_string(row, 6, fact.key.basis.name())?;
            }
            if let Some(structure) = fact.key.basis.structure() {
                let date = match dates.get(&structure) {
                    Some(date) => date.clone(),
                    None => {
                        let date = excel_date(structure)?;
                        dates.insert(structure, date.clone());
                        date
                    }
                };
                sheet.write_datetime_with_format(row, 7, date, &styles.date)?;
            }
            if let Some(source) = &fact.source {
                sheet.write_string(row, 8, source)?;
            }
            if let Some(note) = &fact.note {
                sheet.write_string(row, 9, note)?;
            }
            if let Some(precision) = fact.precision {
                sheet.write_number(row, 10, precision)?;
            }
            let file = &fact.origin.file;
            if file.starts_with("facts/") && file.ends_with(".csv") {
                sheet.write_string(row, 11, file)?;
            }
        }
        sheet.autofilter(
            0,
            0,
            chunk.len() as u32,
            FACT_SHEET_COLUMNS.len() as u16 - 1,
        )?;
        sheets.push(name);
    }
    Ok(order.len())
}

fn write_text_document(
    workbook: &mut Workbook,
    name: &str,
    path: &str,
    text: &str,
    styles: &Styles,
) -> Result<(), WriteError> {
    let sheet = workbook.add_worksheet();
    sheet.set_name(name)?;
    sheet.write_string_with_format(0, 0, path, &styles.header)?;
    sheet.set_column_width(0, 110.0)?;
    sheet.set_freeze_panes(1, 0)?;
    for (index, line) in text.lines().enumerate() {
        if line.chars().count() > 32_767 {
            return Err(WriteError::Refused(format!(
                "{path}:{}: a line longer than an Excel cell holds (32,767 characters)",
                index + 1
            )));
        }
        if !line.is_empty() {
            sheet.write_string_with_format(index as u32 + 1, 0, line, &styles.wrap)?;
        }
    }
    Ok(())
}

/// Column kinds of a CSV document (assessments.csv): dates and numbers typed, the rest text.
pub(crate) fn csv_document_kind(column: &str) -> crate::cells::Kind {
    match column {
        "date" => crate::cells::Kind::Date,
        "score" => crate::cells::Kind::Number,
        _ => crate::cells::Kind::Text,
    }
}

fn write_csv_document(
    workbook: &mut Workbook,
    name: &str,
    path: &str,
    text: &str,
    styles: &Styles,
) -> Result<(), WriteError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| WriteError::Refused(format!("{path}: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let sheet = workbook.add_worksheet();
    sheet.set_name(name)?;
    let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let widths: Vec<f64> = headers
        .iter()
        .map(|h| {
            if h == "rationale" || h == "source" {
                50.0
            } else {
                16.0
            }
        })
        .collect();
    header(sheet, &refs, &widths, styles)?;
    let mut rows = 0u32;
    for record in reader.records() {
        let record = record.map_err(|e| WriteError::Refused(format!("{path}: {e}")))?;
        rows += 1;
        for (column, value) in record.iter().enumerate() {
            let kind = headers
                .get(column)
                .map(|h| csv_document_kind(h))
                .unwrap_or(crate::cells::Kind::Text);
            let col = column as u16;
            // A value that does not fit its column stays text: check and import report it.
            match kind {
                crate::cells::Kind::Date => {
                    match chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
                        Ok(date) => sheet
                            .write_datetime_with_format(rows, col, excel_date(date)?, &styles.date)
                            .map(|_| ())?,
                        Err(_) => sheet.write_string(rows, col, value).map(|_| ())?,
                    }
                }
                crate::cells::Kind::Number => match value.trim().parse::<f64>() {
                    Ok(number) if number_text(number) == value.trim() => {
                        sheet.write_number(rows, col, number).map(|_| ())?
                    }
                    _ => sheet.write_string(rows, col, value).map(|_| ())?,
                },
                _ if value.is_empty() => {}
                _ => sheet.write_string(rows, col, value).map(|_| ())?,
            }
        }
    }
    sheet.autofilter(0, 0, rows, headers.len().max(1) as u16 - 1)?;
    Ok(())
}
