//! Text that leaves the program: terminal text with control characters made visible, CSV
//! cells safe to open in a spreadsheet, and rows written as CSV. The CLI's `--csv` and the
//! API's `text/csv` answers both come from [`csv_bytes`].

use serde::Serialize;
use std::borrow::Cow;

/// True for a character a terminal may act on rather than show: C0 controls, DEL, C1
/// controls (escape sequences, clear screen, window titles, colours, carriage return), and
/// the bidirectional overrides and isolates that reorder what is shown.
fn is_unsafe_for_terminal(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

fn visible(c: char, out: &mut String) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        other => out.push_str(&format!("\\u{{{:x}}}", u32::from(other))),
    }
}

/// Text for a terminal, line breaks kept: every other control character is shown as a
/// visible escape (`\u{1b}`, `\r`, `\t`), so a name can't clear the screen or forge output.
pub fn terminal(text: &str) -> Cow<'_, str> {
    escape_where(text, |c| c != '\n' && is_unsafe_for_terminal(c))
}

/// One value (a name, a cell) for a terminal: as [`terminal`], and line breaks escaped too.
pub fn terminal_value(text: &str) -> Cow<'_, str> {
    escape_where(text, is_unsafe_for_terminal)
}

fn escape_where(text: &str, unsafe_char: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            visible(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One CSV cell, safe to open in a spreadsheet: control characters made visible (as for a
/// terminal), and a cell a spreadsheet would run as a formula (starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return) prefixed with `'`, as OWASP recommends against CSV
/// injection. A plain number (`-62708`, `1.5e3`) is left alone: it can't be a formula.
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    let risky = matches!(
        text.chars().next(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r')
    );
    let number = text.parse::<f64>().is_ok()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    let shown = terminal_value(text);
    if risky && !number {
        Cow::Owned(format!("'{shown}"))
    } else {
        shown
    }
}

/// Serializable rows as CSV, every cell through [`csv_cell`]: serde writes the rows (header
/// from the field names), then each cell is escaped on its way out.
pub fn csv_bytes<T: Serialize>(rows: &[T]) -> Result<Vec<u8>, csv::Error> {
    let mut plain = csv::Writer::from_writer(Vec::new());
    for row in rows {
        plain.serialize(row)?;
    }
    let plain = plain
        .into_inner()
        .map_err(|e| csv::Error::from(std::io::Error::other(e.to_string())))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(plain.as_slice());
    // One record reused for every row, and a cell copied only when it must be escaped (a
    // roll-up of every metric prints 110,000 rows).
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(plain.len() + plain.len() / 8));
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record)? {
        let cells: Vec<Cow<'_, str>> = record.iter().map(csv_cell).collect();
        writer.write_record(cells.iter().map(|cell| cell.as_bytes()))?;
    }
    writer
        .into_inner()
        .map_err(|e| csv::Error::from(std::io::Error::other(e.to_string())))
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

#[cfg(test)]
mod tests {
    use super::{csv_cell, number, terminal, terminal_value};

    /// Issue 16 items 12 and 13: formula characters and control characters are neutralised.
    #[test]
    fn cells_and_terminal_text_are_escaped() {
        assert_eq!(
            csv_cell("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        for risky in ["+1+2", "-2+3", "@SUM(A1)", "\tx", "=1"] {
            assert!(csv_cell(risky).starts_with('\''), "{risky}");
        }
        for plain in ["-62708", "1.5e3", "941168", "Taobao", "", "a=b"] {
            assert_eq!(csv_cell(plain), plain);
        }
        assert_eq!(
            terminal("a\u{1b}]0;title\u{7}b\nc"),
            "a\\u{1b}]0;title\\u{7}b\nc"
        );
        assert_eq!(terminal_value("x\ny\rz"), "x\\ny\\rz");
        assert_eq!(terminal("\u{202e}evil"), "\\u{202e}evil");
        assert_eq!(terminal("阿里巴巴 Alibaba"), "阿里巴巴 Alibaba");
        assert_eq!(csv_cell("\u{1b}[2J"), "\\u{1b}[2J");
    }

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
