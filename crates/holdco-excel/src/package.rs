//! Reporting packages: the workbook a business unit's controller fills in for one period
//! (its place in the structure, its metrics with the previous periods for reference, input
//! cells that take numbers only, protected reference and formula cells, intercompany rows
//! per counterparty, a hidden sheet saying which unit, period and model revision it is
//! for), and reading a returned one back into figures with `Sheet!A1` messages.

use crate::cells::address;
use crate::guard::{open, Limits, OpenError};
use crate::model_write::{header, Styles, WriteError};
use calamine::{Data, Range, Reader};
use holdco_core::Diagnostic;
use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, DataValidationRule, Format, Formula, Workbook,
};
use std::path::Path;

/// Name of the hidden sheet that identifies a package.
pub const ID_SHEET: &str = "Package";
/// Marks a workbook as a holdco reporting package (and its layout version).
pub const PACKAGE_FORMAT: &str = "holdco reporting package 1";

/// A metric the unit reports.
#[derive(Debug, Clone)]
pub struct PackageMetric {
    /// Metric id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Unit of the figures, e.g. `CNY millions`.
    pub unit: String,
    /// The unit's figures for the previous periods (oldest first), for reference.
    pub previous: Vec<Option<f64>>,
}

/// Everything a package shows and identifies.
#[derive(Debug, Clone)]
pub struct PackageSpec {
    /// Unit id.
    pub unit: String,
    /// Its name on the period's last day.
    pub unit_name: String,
    /// Its kind.
    pub unit_kind: String,
    /// Period label.
    pub period: String,
    /// First and last day of the period.
    pub period_days: (chrono::NaiveDate, chrono::NaiveDate),
    /// The units above it, from the group down to its parent: (id, name).
    pub path: Vec<(String, String)>,
    /// The group's share in it (relative to its parent).
    pub ownership: f64,
    /// The units directly below it: (id, name).
    pub children: Vec<(String, String)>,
    /// Labels of the previous periods (oldest first).
    pub previous: Vec<String>,
    /// Metrics to report.
    pub metrics: Vec<PackageMetric>,
    /// Metrics that take intercompany rows.
    pub intercompany_metrics: Vec<String>,
    /// Counterparties offered for intercompany rows: (id, name).
    pub counterparties: Vec<(String, String)>,
    /// The store's import id the package was made from.
    pub revision: i64,
    /// Fingerprint of the model's structure and metrics when the package was made.
    pub fingerprint: String,
}

/// A figure read from a returned package.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnedValue {
    /// Metric id.
    pub metric: String,
    /// Counterparty for an intercompany row.
    pub counterparty: Option<String>,
    /// The figure.
    pub value: f64,
    /// Where it comes from, if the controller said.
    pub source: Option<String>,
    /// The cell it was read from (`Input!F2`).
    pub cell: String,
}

/// A returned package, identified by its hidden sheet.
#[derive(Debug, Clone)]
pub struct ReturnedPackage {
    /// Unit id the package was made for.
    pub unit: String,
    /// Period label.
    pub period: String,
    /// Store revision it was made from.
    pub revision: i64,
    /// Structure fingerprint it was made from.
    pub fingerprint: String,
    /// Figures entered.
    pub values: Vec<ReturnedValue>,
}

/// Columns of the Input sheet before the previous periods.
const INPUT_LEAD: [&str; 3] = ["metric", "name", "unit"];

fn value_header(period: &str) -> String {
    format!("{period} (enter)")
}

/// Writes a package for one unit.
pub fn write_package(spec: &PackageSpec, path: &Path) -> Result<(), WriteError> {
    let mut workbook = Workbook::new();
    let styles = Styles::new();
    let input = Format::new()
        .set_unlocked()
        .set_background_color(0xFFF2CC)
        .set_num_format("#,##0.##;[Red](#,##0.##)");
    let input_text = Format::new().set_unlocked().set_background_color(0xFFF2CC);
    let reference = Format::new()
        .set_num_format("#,##0.##;[Red](#,##0.##)")
        .set_font_color(0x595959);
    let percent = Format::new().set_num_format("0.0%;[Red]-0.0%").set_italic();
    let numbers_only = DataValidation::new()
        .allow_decimal_number(DataValidationRule::Between(-1e15, 1e15))
        .ignore_blank(false)
        .set_input_title("Required")?
        .set_input_message("A number, in the unit of the column header.")?
        .set_error_title("Numbers only")?
        .set_error_message("Enter a number (no text, no thousands separators typed as text).")?
        .set_error_style(DataValidationErrorStyle::Stop);
    let optional_number = DataValidation::new()
        .allow_decimal_number(DataValidationRule::Between(-1e15, 1e15))
        .set_error_title("Numbers only")?
        .set_error_message(
            "Enter a number, or leave the cell empty when there is no intercompany amount.",
        )?;

    // The unit's place in the structure on the period's last day (reference only).
    {
        let sheet = workbook.add_worksheet();
        sheet.set_name("Unit")?;
        header(sheet, &["", ""], &[24.0, 70.0], &styles)?;
        sheet.write_string_with_format(0, 0, "field", &styles.header)?;
        sheet.write_string_with_format(0, 1, "value", &styles.header)?;
        let path_text: Vec<String> = spec
            .path
            .iter()
            .map(|(id, name)| format!("{name} ({id})"))
            .collect();
        let children: Vec<String> = spec
            .children
            .iter()
            .map(|(id, name)| format!("{name} ({id})"))
            .collect();
        let rows: Vec<(&str, String)> = vec![
            ("unit", spec.unit.clone()),
            ("name", spec.unit_name.clone()),
            ("kind", spec.unit_kind.clone()),
            ("period", spec.period.clone()),
            ("from", spec.period_days.0.to_string()),
            ("to", spec.period_days.1.to_string()),
            ("structure on", spec.period_days.1.to_string()),
            ("above it", path_text.join(" › ")),
            ("group's share", format!("{:.2}%", spec.ownership * 100.0)),
            ("below it", if children.is_empty() { "—".into() } else { children.join(", ") }),
            ("how to fill in", "Enter the period's figures in the yellow cells of the Input sheet (numbers only, all required) and any intercompany amounts in the Intercompany sheet; everything else is protected. Return the file as it is: holdco reads it back with `holdco package collect`.".into()),
        ];
        for (index, (field, value)) in rows.iter().enumerate() {
            sheet.write_string(index as u32 + 1, 0, *field)?;
            sheet.write_string(index as u32 + 1, 1, value)?;
        }
        sheet.protect();
    }

    // The figures: previous periods for reference, the period to enter, the change as a formula.
    {
        let sheet = workbook.add_worksheet();
        sheet.set_name("Input")?;
        let mut columns: Vec<String> = INPUT_LEAD.iter().map(|s| s.to_string()).collect();
        columns.extend(spec.previous.iter().cloned());
        columns.push(value_header(&spec.period));
        columns.push("change".into());
        columns.push("source (optional)".into());
        let refs: Vec<&str> = columns.iter().map(String::as_str).collect();
        let mut widths = vec![22.0, 28.0, 14.0];
        widths.extend(spec.previous.iter().map(|_| 13.0));
        widths.extend([16.0, 9.0, 40.0]);
        header(sheet, &refs, &widths, &styles)?;
        let value_column = (INPUT_LEAD.len() + spec.previous.len()) as u16;
        for (index, metric) in spec.metrics.iter().enumerate() {
            let row = index as u32 + 1;
            sheet.write_string(row, 0, &metric.id)?;
            sheet.write_string(row, 1, &metric.name)?;
            sheet.write_string(row, 2, &metric.unit)?;
            for (offset, value) in metric.previous.iter().enumerate() {
                if let Some(value) = value {
                    sheet.write_number_with_format(
                        row,
                        (INPUT_LEAD.len() + offset) as u16,
                        *value,
                        &reference,
                    )?;
                }
            }
            sheet.write_blank(row, value_column, &input)?;
            sheet.write_blank(row, value_column + 2, &input_text)?;
            if !spec.previous.is_empty() {
                let entered = address("", row, value_column as u32)
                    .trim_start_matches('!')
                    .to_string();
                let last = address("", row, value_column as u32 - 1)
                    .trim_start_matches('!')
                    .to_string();
                let formula = format!("=IF(AND(ISNUMBER({entered}),ISNUMBER({last}),{last}<>0),{entered}/{last}-1,\"\")");
                sheet.write_formula_with_format(
                    row,
                    value_column + 1,
                    Formula::new(formula),
                    &percent,
                )?;
            }
        }
        if !spec.metrics.is_empty() {
            sheet.add_data_validation(
                1,
                value_column,
                spec.metrics.len() as u32,
                value_column,
                &numbers_only,
            )?;
        }
        sheet.protect();
    }

    // Intercompany: one row per metric and counterparty.
    {
        let sheet = workbook.add_worksheet();
        sheet.set_name("Intercompany")?;
        let columns = [
            "metric",
            "counterparty",
            "counterparty name",
            &value_header(&spec.period),
            "source (optional)",
        ];
        header(sheet, &columns, &[22.0, 22.0, 36.0, 16.0, 40.0], &styles)?;
        let mut row = 0u32;
        for metric in &spec.intercompany_metrics {
            for (id, name) in &spec.counterparties {
                row += 1;
                sheet.write_string(row, 0, metric)?;
                sheet.write_string(row, 1, id)?;
                sheet.write_string(row, 2, name)?;
                sheet.write_blank(row, 3, &input)?;
                sheet.write_blank(row, 4, &input_text)?;
            }
        }
        if row > 0 {
            sheet.add_data_validation(1, 3, row, 3, &optional_number)?;
        }
        sheet.protect();
    }

    // Which package this is: read back by `collect`, hidden from the controller.
    {
        let sheet = workbook.add_worksheet();
        sheet.set_name(ID_SHEET)?;
        let rows = [
            ("format", PACKAGE_FORMAT.to_string()),
            ("unit", spec.unit.clone()),
            ("period", spec.period.clone()),
            ("revision", spec.revision.to_string()),
            ("fingerprint", spec.fingerprint.clone()),
            ("metrics", spec.metrics.len().to_string()),
        ];
        for (index, (field, value)) in rows.iter().enumerate() {
            sheet.write_string(index as u32, 0, *field)?;
            sheet.write_string(index as u32, 1, value)?;
        }
        sheet.protect();
        sheet.set_hidden(true);
    }
    workbook.save(path)?;
    Ok(())
}

fn text(range: &Range<Data>, row: u32, column: u32) -> Option<String> {
    match range.get_value((row, column))? {
        Data::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Data::Float(f) => Some(format!("{f}")),
        Data::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// A figure cell: a number, or a formula's computed value; text that is a number is taken.
fn figure(
    values: &Range<Data>,
    formulas: &Range<String>,
    row: u32,
    column: u32,
) -> Result<Option<f64>, String> {
    let formula = formulas
        .get_value((row, column))
        .is_some_and(|f| !f.is_empty());
    match values.get_value((row, column)) {
        None | Some(Data::Empty) if formula => Err("the cell holds a formula without a computed value (let Excel calculate and save, or type the number)".into()),
        None | Some(Data::Empty) => Ok(None),
        Some(Data::Float(f)) => Ok(Some(*f)),
        Some(Data::Int(i)) => Ok(Some(*i as f64)),
        Some(Data::String(s)) if s.trim().is_empty() && formula => Err("the cell holds a formula without a computed value (let Excel calculate and save, or type the number)".into()),
        Some(Data::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Data::String(s)) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()).map(Some).ok_or_else(|| format!("expected a number, found {s:?}")),
        Some(Data::Error(e)) => Err(format!("the cell holds the error {e}")),
        Some(other) => Err(format!("expected a number, found {other}")),
    }
}

/// Reads a returned package. `Err(problems)` lists every cell that is wrong.
pub fn read_package(
    path: &Path,
    limits: Limits,
) -> Result<Result<ReturnedPackage, Vec<Diagnostic>>, OpenError> {
    let mut book = open(path, limits)?;
    let mut problems = Vec::new();
    let problem =
        |problems: &mut Vec<Diagnostic>, file: String, field: Option<&str>, message: String| {
            problems.push(Diagnostic {
                file,
                line: None,
                field: field.map(str::to_string),
                message,
            });
        };
    let Ok(id) = book.worksheet_range(ID_SHEET) else {
        problem(&mut problems, path.display().to_string(), None, "not a reporting package: it has no Package sheet (make packages with `holdco package make`)".into());
        return Ok(Err(problems));
    };
    let field = |name: &str| {
        (0..id.height() as u32)
            .find(|r| text(&id, *r, 0).as_deref() == Some(name))
            .and_then(|r| text(&id, r, 1))
    };
    if field("format").as_deref() != Some(PACKAGE_FORMAT) {
        problem(
            &mut problems,
            format!("{ID_SHEET}!B1"),
            None,
            format!("not a package this version of holdco reads (expected `{PACKAGE_FORMAT}`)"),
        );
        return Ok(Err(problems));
    }
    let (Some(unit), Some(period), Some(revision), Some(fingerprint)) = (
        field("unit"),
        field("period"),
        field("revision").and_then(|r| r.parse::<i64>().ok()),
        field("fingerprint"),
    ) else {
        problem(&mut problems, ID_SHEET.into(), None, "the package's identification was changed (unit, period, revision): use the file as it was made".into());
        return Ok(Err(problems));
    };
    let mut values = Vec::new();
    for (sheet, intercompany) in [("Input", false), ("Intercompany", true)] {
        let (Ok(cells), Ok(formulas)) =
            (book.worksheet_range(sheet), book.worksheet_formula(sheet))
        else {
            problem(
                &mut problems,
                sheet.into(),
                None,
                "missing sheet: use the package as it was made".into(),
            );
            continue;
        };
        let merged = book.merge_cells_by_sheet_name(sheet).unwrap_or_default();
        for region in merged {
            problem(
                &mut problems,
                address(sheet, region.start.0, region.start.1),
                None,
                "merged cells: unmerge them".into(),
            );
        }
        let header: Vec<String> = (0..cells.width() as u32)
            .map(|c| text(&cells, 0, c).unwrap_or_default())
            .collect();
        let value_header = value_header(&period);
        let Some(value_column) = header.iter().position(|h| *h == value_header) else {
            problem(&mut problems, address(sheet, 0, 0), None, format!("no column `{value_header}`: the sheet's layout was changed (use the package as it was made)"));
            continue;
        };
        let source_column = header.iter().position(|h| h.starts_with("source"));
        let start_row = cells.start().map(|(row, _)| row).unwrap_or(0);
        let last_row = start_row + cells.height() as u32;
        let mut metric_rows = 0usize;
        for row in 1..last_row {
            let Some(metric) = text(&cells, row, 0) else {
                continue;
            };
            metric_rows += 1;
            let counterparty = if intercompany {
                text(&cells, row, 1)
            } else {
                None
            };
            let cell = address(sheet, row, value_column as u32);
            match figure(&cells, &formulas, row, value_column as u32) {
                Ok(Some(value)) => values.push(ReturnedValue {
                    metric,
                    counterparty,
                    value,
                    source: source_column.and_then(|c| text(&cells, row, c as u32)),
                    cell,
                }),
                Ok(None) if !intercompany => problem(
                    &mut problems,
                    cell,
                    Some(&metric),
                    format!("required: enter the figure for {period}"),
                ),
                Ok(None) => {}
                Err(message) => problem(&mut problems, cell, Some(&metric), message),
            }
        }
        // Every metric row the package was made with must come back: a removed row would
        // silently drop a required figure.
        let expected = field("metrics").and_then(|m| m.parse::<usize>().ok());
        if !intercompany && expected.is_some_and(|expected| expected != metric_rows) {
            problem(
                &mut problems,
                sheet.into(),
                None,
                format!("{metric_rows} metric rows where the package was made with {}: rows were removed or added (use the package as it was made)", expected.unwrap_or(0)),
            );
        }
    }
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    Ok(Ok(ReturnedPackage {
        unit,
        period,
        revision,
        fingerprint,
        values,
    }))
}
