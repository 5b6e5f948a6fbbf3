//! Excel workbooks for holdco: the model as a workbook (one sheet per part of a model
//! folder, read back through the folder reader so every rule and message is the same),
//! any table of the command-line tool as a formatted sheet, and reporting packages that
//! business units fill in and return.
//!
//! Reading goes through [`open`], which refuses what is not a plain workbook (an encrypted
//! file, a corrupted or oversized zip) before any cell is parsed, and reports problems in
//! cells as `Sheet!A1: field: message`.
#![forbid(unsafe_code)]

pub mod cells;
pub mod guard;
pub mod model_read;
pub mod model_write;
pub mod package;
mod scan;
pub mod table;

pub use guard::{open, Limits, OpenError};
pub use model_read::{read_model_workbook, WorkbookFiles};
pub use model_write::write_model_workbook;
pub use table::{
    formula_leading, rows_from_serialize, table_bytes, write_table, ColumnFormat, Pivot,
    TableSheet, Value,
};
