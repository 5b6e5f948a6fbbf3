//! Rendering answers: aligned tables for people, CSV and JSON for programs.

use comfy_table::{Cell, CellAlignment, ContentArrangement, LineStyle, Table, TableStyle};
use serde::Serialize;

/// How a command prints its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// An aligned table.
    Table,
    /// CSV with a header.
    Csv,
    /// JSON.
    Json,
}

impl Output {
    /// From the `--json` and `--csv` flags.
    pub fn from_flags(json: bool, csv: bool) -> Output {
        if json {
            Output::Json
        } else if csv {
            Output::Csv
        } else {
            Output::Table
        }
    }
}

/// Formats a number for people: thousands separators, decimals only where they matter.
pub fn number(value: f64, percent: bool) -> String {
    if percent {
        return format!("{:.1}%", value * 100.0);
    }
    // Sums of figures carry rounding noise (1e-10): what rounds to zero prints as zero.
    let value = if value.abs() < 0.005 { 0.0 } else { value };
    let decimals = if value.abs() >= 100.0 || value.fract() == 0.0 {
        0
    } else {
        2
    };
    let text = format!("{:.*}", decimals, value.abs());
    let (int, frac) = text
        .split_once('.')
        .map(|(i, f)| (i.to_string(), Some(f.to_string())))
        .unwrap_or((text.clone(), None));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if value < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// A new table in the house style.
pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    // Rules above, below and under the header only: rows stay dense and easy to scan.
    const HOUSE: TableStyle = TableStyle::new()
        .top_border(LineStyle::none().fill('─').junction('─'))
        .header_separator(LineStyle::none().fill('─').junction('─'))
        .bottom_border(LineStyle::none().fill('─').junction('─'));
    table
        .load_style(HOUSE)
        .set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(header.iter().map(|h| Cell::new(h)).collect::<Vec<_>>());
    table
}

/// Wraps a wide table to the terminal: `COLUMNS` when set, 120 otherwise (the full width
/// is always in `--json` and `--csv`). Only the `wrap` columns (long text) are wrapped; the
/// others keep their content's width.
pub fn fit_to_terminal(table: &mut Table, wrap: &[usize]) {
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|w| *w >= 40)
        .unwrap_or(120);
    let count = table.column_count();
    for index in (0..count).filter(|i| !wrap.contains(i)) {
        if let Some(column) = table.column_mut(index) {
            column.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
        }
    }
    table
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width);
}

/// Right-aligns the given columns (numbers).
pub fn align_right(table: &mut Table, columns: impl IntoIterator<Item = usize>) {
    for index in columns {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// Prints serializable rows as CSV.
pub fn print_csv<T: Serialize>(rows: &[T]) -> anyhow::Result<()> {
    let mut writer = csv::Writer::from_writer(std::io::stdout());
    for row in rows {
        writer.serialize(row)?;
    }
    writer.flush()?;
    Ok(())
}

/// Prints a value as pretty JSON.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(941168.0, false), "941,168");
        assert_eq!(number(-62708.0, false), "-62,708");
        assert_eq!(number(12.345, false), "12.35");
        assert_eq!(number(0.1753, true), "17.5%");
        // Rounding noise from sums prints as zero, not "0.00" or "-0.00".
        assert_eq!(number(-0.001, false), "0");
        assert_eq!(number(1.2e-10, false), "0");
    }
}
