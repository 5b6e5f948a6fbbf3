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

pub use holdco_app::text::number;

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
    table.set_header(header.iter().map(Cell::new).collect::<Vec<_>>());
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

/// Prints serializable rows as CSV, every cell through [`csv_cell`]: serde writes the rows
/// (header from the field names), then each cell is escaped on its way out.
pub fn print_csv<T: Serialize>(rows: &[T]) -> anyhow::Result<()> {
    // `--xlsx FILE`: the same rows become a workbook (excel_commands::write_rows).
    if crate::excel_commands::tables_target().is_some() {
        return crate::excel_commands::write_rows(rows);
    }
    use std::io::Write as _;
    let bytes = holdco_app::text::csv_bytes(rows)?;
    std::io::stdout().write_all(&bytes)?;
    Ok(())
}

/// Prints a value as pretty JSON, raw: JSON escapes what it must itself, and programs read
/// names exactly as written.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    std::println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub use holdco_app::text::{terminal, terminal_value};

/// `println!` through [`terminal`] (installed for the whole crate in main.rs).
pub fn print_line(text: &str) {
    std::println!("{}", terminal(text));
}

/// `eprintln!` through [`terminal`]: error messages quote names and file content.
pub fn eprint_line(text: &str) {
    std::eprintln!("{}", terminal(text));
}
