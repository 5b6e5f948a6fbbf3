//! Bad workbooks: each gets a clear message naming the file or the sheet and cell, never a
//! panic, and nothing is read past a refusal.

use crate::common::read_back;
use holdco_excel::{read_model_workbook, Limits, OpenError};
use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook, Worksheet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// A small model workbook whose Facts sheet `facts` fills (after its header, `columns`).
fn book(dir: &Path, columns: &[&str], facts: impl FnOnce(&mut Worksheet)) -> PathBuf {
    let mut workbook = Workbook::new();
    let group = workbook.add_worksheet().set_name("Group").unwrap();
    for (row, (field, value)) in [
        ("field", "value"),
        ("id", "g"),
        ("name", "Group"),
        ("currency", "CNY"),
        ("fiscal_year_end", "12-31"),
    ]
    .iter()
    .enumerate()
    {
        group.write(row as u32, 0, *field).unwrap();
        group.write(row as u32, 1, *value).unwrap();
    }
    let metrics = workbook.add_worksheet().set_name("Metrics").unwrap();
    for (column, (head, value)) in [
        ("id", "revenue"),
        ("name", "Revenue"),
        ("measure", "currency"),
        ("aggregation", "flow"),
    ]
    .iter()
    .enumerate()
    {
        metrics.write(0, column as u16, *head).unwrap();
        metrics.write(1, column as u16, *value).unwrap();
    }
    let timeline = workbook.add_worksheet().set_name("Timeline").unwrap();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (column, head) in ["date", "kind", "unit", "name", "parent"]
        .iter()
        .enumerate()
    {
        timeline.write(0, column as u16, *head).unwrap();
    }
    for (row, (unit, parent)) in [("g", ""), ("a", "g"), ("b", "g")].iter().enumerate() {
        let row = row as u32 + 1;
        timeline
            .write_datetime_with_format(row, 0, ExcelDateTime::from_ymd(2020, 1, 1).unwrap(), &date)
            .unwrap();
        timeline.write(row, 1, "create").unwrap();
        timeline.write(row, 2, *unit).unwrap();
        timeline.write(row, 3, unit.to_uppercase()).unwrap();
        if !parent.is_empty() {
            timeline.write(row, 4, *parent).unwrap();
        }
    }
    let sheet = workbook.add_worksheet().set_name("Facts").unwrap();
    for (column, head) in columns.iter().enumerate() {
        sheet.write(0, column as u16, *head).unwrap();
    }
    facts(sheet);
    let path = dir.join("book.xlsx");
    workbook.save(&path).unwrap();
    path
}

const COLUMNS: [&str; 4] = ["unit", "period", "metric", "value"];

fn row(sheet: &mut Worksheet, row: u32, unit: &str, period: &str, value: f64) {
    sheet.write(row, 0, unit).unwrap();
    sheet.write(row, 1, period).unwrap();
    sheet.write(row, 2, "revenue").unwrap();
    sheet.write(row, 3, value).unwrap();
}

#[test]
fn a_good_small_book_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = book(dir.path(), &COLUMNS, |s| {
        row(s, 1, "a", "2021", 10.0);
        row(s, 2, "b", "2021", 5.5);
    });
    let (_, model, problems) = read_back(&path);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(model.unwrap().facts.len(), 2);
}

#[test]
fn text_where_a_number_belongs_names_the_cell() {
    let dir = tempfile::tempdir().unwrap();
    let path = book(dir.path(), &COLUMNS, |s| {
        row(s, 1, "a", "2021", 10.0);
        s.write(2, 0, "b").unwrap();
        s.write(2, 1, "2021").unwrap();
        s.write(2, 2, "revenue").unwrap();
        s.write(2, 3, "12,3a4").unwrap();
    });
    let (_, _, problems) = read_back(&path);
    assert_eq!(
        problems,
        vec![r#"Facts!D3: value: expected a number, found "12,3a4""#.to_string()]
    );
}

#[test]
fn a_formula_counts_by_its_computed_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = book(dir.path(), &COLUMNS, |s| {
        row(s, 1, "a", "2021", 10.0);
        row(s, 2, "b", "2021", 0.0);
        s.write_formula(2, 3, Formula::new("=D2*2").set_result("20"))
            .unwrap();
    });
    let (_, model, problems) = read_back(&path);
    assert!(problems.is_empty(), "{problems:?}");
    let model = model.unwrap();
    assert!(model
        .facts
        .iter()
        .any(|f| f.key.unit.as_str() == "b" && f.value == 20.0));
}

#[test]
fn a_formula_never_computed_is_an_error_naming_the_cell() {
    let dir = tempfile::tempdir().unwrap();
    let path = book(dir.path(), &COLUMNS, |s| {
        row(s, 1, "a", "2021", 10.0);
        row(s, 2, "b", "2021", 0.0);
        // As written by a program that does not calculate (openpyxl, most generators).
        s.set_formula_result_default("");
        s.write_formula(2, 3, Formula::new("=D2*2")).unwrap();
    });
    let (_, _, problems) = read_back(&path);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0]
            .starts_with("Facts!D3: value: the cell holds a formula without a computed value"),
        "{problems:?}"
    );
}

#[test]
fn merged_cells_are_refused_with_their_range() {
    let dir = tempfile::tempdir().unwrap();
    let path = book(dir.path(), &COLUMNS, |s| {
        row(s, 1, "a", "2021", 10.0);
        s.merge_range(2, 0, 3, 0, "b", &Format::new()).unwrap();
        for r in [2, 3] {
            s.write(r, 1, if r == 2 { "2021" } else { "2022" }).unwrap();
            s.write(r, 2, "revenue").unwrap();
            s.write(r, 3, 1.0).unwrap();
        }
    });
    let (_, _, problems) = read_back(&path);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("Facts!A3:A4: merged cells")),
        "{problems:?}"
    );
}

#[test]
fn dates_as_text_must_be_iso_and_periods_must_not_be_dates() {
    let dir = tempfile::tempdir().unwrap();
    let columns = ["unit", "period", "metric", "value", "basis", "structure"];
    let path = book(dir.path(), &columns, |s| {
        row(s, 1, "a", "2021", 10.0);
        s.write(1, 4, "restated").unwrap();
        s.write(1, 5, "31/12/2021").unwrap();
        row(s, 2, "b", "2021", 10.0);
        s.write(2, 4, "restated").unwrap();
        s.write(2, 5, "2021-12-31").unwrap();
        row(s, 3, "b", "2022", 1.0);
        s.write_datetime_with_format(
            3,
            1,
            ExcelDateTime::from_ymd(2023, 9, 1).unwrap(),
            &Format::new().set_num_format("yyyy-mm"),
        )
        .unwrap();
    });
    let (_, _, problems) = read_back(&path);
    assert!(
        problems.iter().any(|p| p
            .starts_with(r#"Facts!F2: structure: expected a date, found the text "31/12/2021""#)),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p
            .starts_with("Facts!B4: period: expected a period label, found the date 2023-09-01")),
        "{problems:?}"
    );
    assert!(
        !problems.iter().any(|p| p.contains("F3")),
        "ISO text is a date: {problems:?}"
    );
}

#[test]
fn an_extra_column_and_a_missing_one_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = book(
        dir.path(),
        &["unit", "period", "metric", "value", "comment"],
        |s| {
            row(s, 1, "a", "2021", 10.0);
            s.write(1, 4, "typo?").unwrap();
        },
    );
    let (_, _, problems) = read_back(&path);
    assert!(
        problems.iter().any(|p| p.starts_with("Facts!E1: comment:")),
        "{problems:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = book(dir.path(), &["unit", "period", "metric"], |s| {
        s.write(1, 0, "a").unwrap();
        s.write(1, 1, "2021").unwrap();
        s.write(1, 2, "revenue").unwrap();
    });
    let (_, _, problems) = read_back(&path);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("Facts") && p.contains("value")),
        "{problems:?}"
    );
}

#[test]
fn an_encrypted_workbook_is_refused_by_name() {
    // Excel stores a password-protected workbook in a compound (OLE) file, not a zip.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.xlsx");
    let mut bytes = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    bytes.extend(std::iter::repeat_n(0u8, 4096));
    std::fs::write(&path, bytes).unwrap();
    let error = read_model_workbook(&path, Limits::default()).unwrap_err();
    assert!(matches!(error, OpenError::Encrypted(_)));
    assert!(error.to_string().contains("password"), "{error}");
}

#[test]
fn a_corrupted_zip_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = book(dir.path(), &COLUMNS, |s| row(s, 1, "a", "2021", 10.0));
    let bytes = std::fs::read(&path).unwrap();
    let broken = dir.path().join("broken.xlsx");
    std::fs::write(&broken, &bytes[..bytes.len() / 2]).unwrap();
    let error = read_model_workbook(&broken, Limits::default()).unwrap_err();
    assert!(error.to_string().contains("corrupted .xlsx"), "{error}");
    let text = dir.path().join("text.xlsx");
    std::fs::write(&text, "unit,period\n").unwrap();
    let error = read_model_workbook(&text, Limits::default()).unwrap_err();
    assert!(
        error.to_string().contains("not an .xlsx workbook"),
        "{error}"
    );
}

/// A zip whose one sheet inflates from a few hundred kilobytes to 200 MB.
fn zip_bomb(path: &Path) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    zip.start_file("[Content_Types].xml", options).unwrap();
    zip.write_all(b"<Types/>").unwrap();
    zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..200 {
        zip.write_all(&chunk).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn a_zip_bomb_is_refused_before_it_is_inflated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.xlsx");
    zip_bomb(&path);
    assert!(std::fs::metadata(&path).unwrap().len() < 2 << 20);
    let error = read_model_workbook(&path, Limits::default()).unwrap_err();
    assert!(matches!(error, OpenError::TooLarge { .. }), "{error}");
    assert!(error.to_string().contains("expands"), "{error}");
    // The size limit alone refuses it too.
    let error = read_model_workbook(
        &path,
        Limits {
            max_uncompressed: 100 << 20,
            max_ratio: u64::MAX,
        },
    )
    .unwrap_err();
    assert!(error.to_string().contains("more than the"), "{error}");
}

#[test]
fn hidden_rows_and_columns_holding_data_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = book(dir.path(), &COLUMNS, |s| {
        row(s, 1, "a", "2021", 10.0);
        row(s, 2, "b", "2021", 5.0);
        s.set_row_hidden(2).unwrap();
        // A hidden row without data is only a view and passes.
        s.set_row_hidden(9).unwrap();
    });
    let (_, _, problems) = read_back(&path);
    assert_eq!(problems, vec!["Facts!3:3: a hidden row holding data: what is imported must be what you see (unhide the row, or delete it)".to_string()]);
    let dir = tempfile::tempdir().unwrap();
    let path = book(dir.path(), &COLUMNS, |s| {
        row(s, 1, "a", "2021", 10.0);
        s.set_column_hidden(3).unwrap();
    });
    let (_, _, problems) = read_back(&path);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("Facts!D:D: hidden columns")),
        "{problems:?}"
    );
}
