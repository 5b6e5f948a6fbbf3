//! Table sheets (the CLI's `--xlsx`, the dashboard's downloads): text a spreadsheet would run
//! as a formula is written with Excel's quote prefix (issue 16 item 12), never as a formula.

use holdco_excel::{formula_leading, table_bytes, TableSheet, Value};
use std::io::Read;

fn part(bytes: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut text = String::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[test]
fn formula_leading_text_is_quoted_and_never_a_formula() {
    assert!(["=1+1", "+SUM(A1)", "-2+3", "@x", "\tx", "\rx"]
        .iter()
        .all(|t| formula_leading(t)));
    assert!(!formula_leading("Taobao") && !formula_leading("淘宝"));
    let table = TableSheet {
        sheet: "rollup".into(),
        title: "a test".into(),
        columns: vec!["name".into(), "value".into()],
        rows: vec![
            vec![
                Value::Text("=HYPERLINK(\"http://x\")".into()),
                Value::Number(1.0),
            ],
            vec![Value::Text("Plain".into()), Value::Number(-2.0)],
        ],
        ..TableSheet::default()
    };
    let bytes = table_bytes(&table).unwrap();
    assert!(bytes.starts_with(b"PK"), "an xlsx is a zip file");
    let sheet = part(&bytes, "xl/worksheets/sheet1.xml");
    assert!(!sheet.contains("<f>"), "no formula in the sheet: {sheet}");
    let styles = part(&bytes, "xl/styles.xml");
    assert!(styles.contains("quotePrefix=\"1\""), "{styles}");
    // The quoted cell has the quote-prefixed style; the plain one does not.
    let strings = part(&bytes, "xl/sharedStrings.xml");
    assert!(
        strings.contains("=HYPERLINK"),
        "the text is kept as typed: {strings}"
    );
}
