//! Cell addresses (`Facts!D17`) and the conversion of one read cell into the text a model
//! file holds, with the message that names the cell when the cell does not fit.

use calamine::DataRef;
use chrono::NaiveDate;

/// The largest number of rows a sheet holds (Excel's limit).
pub const MAX_ROWS: u32 = 1_048_576;

/// Column letters of a zero-based column index: 0 -> A, 27 -> AB.
pub fn column_letters(mut column: u32) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (column % 26) as u8);
        if column < 26 {
            break;
        }
        column = column / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).expect("ASCII letters")
}

/// `Sheet!D17` for a zero-based row and column. Sheet names with spaces or punctuation are
/// quoted as Excel writes them (`'Facts 2'!D17`).
pub fn address(sheet: &str, row: u32, column: u32) -> String {
    format!(
        "{}!{}{}",
        sheet_reference(sheet),
        column_letters(column),
        row + 1
    )
}

/// A sheet's name as a reference writes it: quoted when it holds spaces or punctuation.
pub fn sheet_reference(sheet: &str) -> String {
    let plain = sheet.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        sheet.to_string()
    } else {
        format!("'{}'", sheet.replace('\'', "''"))
    }
}

/// What a column of a model sheet holds, which decides how a cell is turned into text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text or an id; a number typed into it is taken as its digits (a unit called 1688).
    Text,
    /// A number.
    Number,
    /// A date: a date cell, or text written YYYY-MM-DD.
    Date,
    /// A period label (FY2024, 2023Q3, 2023-09, 2023): text, or a whole number for a year.
    Period,
}

/// Shortest text that reads back to the same number.
pub fn number_text(value: f64) -> String {
    format!("{value}")
}

/// Why a cell can't be read as its column's kind; the caller adds the cell's address.
pub type CellError = String;

fn shown(text: &str) -> String {
    let short: String = text.chars().take(60).collect();
    if short.len() < text.len() {
        format!("\"{short}…\"")
    } else {
        format!("\"{short}\"")
    }
}

/// A date cell's calendar date.
pub fn cell_date(value: &DataRef<'_>) -> Option<NaiveDate> {
    match value {
        DataRef::DateTime(datetime) => datetime.as_datetime().map(|d| d.date()),
        DataRef::DateTimeIso(text) => {
            NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d").ok()
        }
        _ => None,
    }
}

/// The text of a cell for a column of `kind`; `None` for an empty cell. `formula` says the
/// cell holds a formula, so an empty value means Excel never computed it.
pub fn cell_text(
    value: &DataRef<'_>,
    kind: Kind,
    formula: bool,
) -> Result<Option<String>, CellError> {
    let text = match value {
        DataRef::Empty if formula => {
            return Err("the cell holds a formula without a computed value (open the file in Excel or LibreOffice, let it calculate and save, or type the value)".into())
        }
        DataRef::Empty => return Ok(None),
        DataRef::Error(error) => return Err(format!("the cell holds the error {error} (type a value instead)")),
        DataRef::String(text) => text.as_str(),
        DataRef::SharedString(text) => text,
        DataRef::Bool(flag) => return Err(format!("expected {}, found the logical value {}", kind_name(kind), if *flag { "TRUE" } else { "FALSE" })),
        DataRef::Int(number) => return number_for(*number as f64, kind).map(Some),
        DataRef::Float(number) => return number_for(*number, kind).map(Some),
        DataRef::DateTime(_) | DataRef::DateTimeIso(_) => {
            return match (kind, cell_date(value)) {
                (Kind::Date, Some(date)) => Ok(Some(date.to_string())),
                (Kind::Period, Some(date)) => Err(format!(
                    "expected a period label, found the date {date} (Excel turns text like 2023-09 into a date: type the label as text, e.g. '2023-09, or format the column as Text)"
                )),
                (_, Some(date)) => Err(format!("expected {}, found the date {date}", kind_name(kind))),
                (_, None) => Err(format!("expected {}, found a time or duration", kind_name(kind))),
            }
        }
        DataRef::DurationIso(text) => return Err(format!("expected {}, found the duration {text}", kind_name(kind))),
    };
    let trimmed = text.trim();
    if trimmed.is_empty() && formula {
        return Err("the cell holds a formula without a computed value (open the file in Excel or LibreOffice, let it calculate and save, or type the value)".into());
    }
    if trimmed.is_empty() {
        return Ok(None);
    }
    match kind {
        Kind::Text | Kind::Period => Ok(Some(text.to_string())),
        Kind::Number => match trimmed.parse::<f64>() {
            Ok(number) if number.is_finite() => Ok(Some(trimmed.to_string())),
            _ => Err(format!("expected a number, found {}", shown(text))),
        },
        Kind::Date => match NaiveDate::parse_from_str(trimmed, "%Y-%m-%d") {
            Ok(date) if trimmed.len() == 10 => Ok(Some(date.to_string())),
            _ => Err(format!(
                "expected a date, found the text {} (use a date cell, or text written YYYY-MM-DD)",
                shown(text)
            )),
        },
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "text",
        Kind::Number => "a number",
        Kind::Date => "a date",
        Kind::Period => "a period label",
    }
}

fn number_for(number: f64, kind: Kind) -> Result<String, CellError> {
    match kind {
        Kind::Number => Ok(number_text(number)),
        // An id or a year typed as a number: its digits are what was meant.
        Kind::Text | Kind::Period if number.fract() == 0.0 && number.abs() < 1e15 => {
            Ok(format!("{}", number as i64))
        }
        Kind::Text => Ok(number_text(number)),
        Kind::Period => Err(format!(
            "expected a period label (FY2024, 2023Q3, 2023-09, 2023), found the number {}",
            number_text(number)
        )),
        Kind::Date => Err(format!(
            "expected a date, found the number {} (format the cell as a date, or type YYYY-MM-DD)",
            number_text(number)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_like_excel() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27), "AB");
        assert_eq!(column_letters(16_383), "XFD");
        assert_eq!(address("Facts", 16, 3), "Facts!D17");
        assert_eq!(address("Facts 2", 0, 0), "'Facts 2'!A1");
    }

    #[test]
    fn cells_become_text_or_a_message() {
        assert_eq!(
            cell_text(&DataRef::Float(12.5), Kind::Number, false)
                .unwrap()
                .as_deref(),
            Some("12.5")
        );
        assert_eq!(
            cell_text(&DataRef::Float(1688.0), Kind::Text, false)
                .unwrap()
                .as_deref(),
            Some("1688")
        );
        assert_eq!(
            cell_text(&DataRef::Float(2023.0), Kind::Period, false)
                .unwrap()
                .as_deref(),
            Some("2023")
        );
        let error = cell_text(&DataRef::String("12,3a4".into()), Kind::Number, false).unwrap_err();
        assert_eq!(error, "expected a number, found \"12,3a4\"");
        assert!(cell_text(&DataRef::Empty, Kind::Number, true)
            .unwrap_err()
            .contains("formula"));
        assert!(
            cell_text(&DataRef::String("01/04/2025".into()), Kind::Date, false)
                .unwrap_err()
                .contains("YYYY-MM-DD")
        );
        assert_eq!(
            cell_text(&DataRef::String("2025-04-01".into()), Kind::Date, false)
                .unwrap()
                .as_deref(),
            Some("2025-04-01")
        );
        assert!(cell_text(&DataRef::Float(45000.0), Kind::Date, false)
            .unwrap_err()
            .contains("format the cell as a date"));
    }
}
