//! Files checked by an independent reader: openpyxl (Python) must open every workbook holdco
//! writes and see what holdco meant (typed cells, frozen headers, filters, notes, links,
//! charts, protection, validation), and workbooks openpyxl edits must read back in holdco.
//! A file only holdco can read fails here. `.ci/run` installs openpyxl.

use crate::common::*;
use holdco_excel::package::{read_package, write_package, PackageMetric, PackageSpec};
use holdco_excel::{write_table, Limits, Pivot, TableSheet, Value};
use serde_json::Value as Json;
use std::path::Path;
use std::process::Command;

fn tool(args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openpyxl_tool.py");
    let python = std::env::var("HOLDCO_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = Command::new(&python)
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {python}: {e} (these tests need Python 3 with openpyxl: pip install openpyxl)"));
    assert!(
        output.status.success(),
        "openpyxl could not {args:?}: {} (pip install openpyxl if it is missing)",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn describe(path: &Path) -> Json {
    serde_json::from_str(&tool(&["describe", path.to_str().unwrap()])).unwrap()
}

fn sheet<'a>(book: &'a Json, name: &str) -> &'a Json {
    book["sheets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no sheet {name}"))
}

fn cell<'a>(sheet: &'a Json, reference: &str) -> &'a Json {
    sheet["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["ref"] == reference)
        .unwrap_or_else(|| panic!("no cell {reference}"))
}

fn column(sheet: &Json, letter: &str) -> Vec<Json> {
    sheet["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            let reference = c["ref"].as_str().unwrap();
            reference.starts_with(letter)
                && reference[letter.len()..]
                    .chars()
                    .all(|ch| ch.is_ascii_digit())
                && reference != format!("{letter}1")
        })
        .cloned()
        .collect()
}

#[test]
fn openpyxl_reads_the_model_workbook_as_holdco_means_it() {
    let dir = tempfile::tempdir().unwrap();
    let model = example_model();
    let path = to_workbook(&model, dir.path());
    let book = describe(&path);
    let names: Vec<&str> = book["sheets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(&names[..4], ["Group", "Metrics", "Timeline", "Facts"]);
    let facts = sheet(&book, "Facts");
    assert_eq!(facts["freeze"], "A2");
    // unit .. source, note, precision, file: twelve columns, A to L.
    assert_eq!(facts["filter"], format!("A1:L{}", model.facts.len() + 1));
    let values = column(facts, "D");
    assert_eq!(values.len(), model.facts.len());
    assert!(
        values
            .iter()
            .all(|c| c["type"] == "float" || c["type"] == "int"),
        "values are numbers"
    );
    let total: f64 = values.iter().map(|c| c["value"].as_f64().unwrap()).sum();
    let expected: f64 = model.facts.iter().map(|f| f.value).sum();
    assert!((total - expected).abs() < 1e-6 * expected.abs());
    let restated = column(facts, "H");
    assert!(
        !restated.is_empty() && restated.iter().all(|c| c["type"] == "date"),
        "structure dates are dates"
    );
    let timeline = sheet(&book, "Timeline");
    assert!(column(timeline, "B").iter().all(|c| c["type"] == "date"));
    assert_eq!(
        cell(timeline, "B2")["value"],
        model.timeline[0].date.to_string()
    );
    assert_eq!(
        cell(sheet(&book, "Group"), "B2")["value"],
        model.group.id.as_str()
    );
}

#[test]
fn a_workbook_edited_by_openpyxl_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let model = example_model();
    let path = to_workbook(&model, dir.path());
    let edited = dir.path().join("edited.xlsx");
    tool(&[
        "edit",
        path.to_str().unwrap(),
        edited.to_str().unwrap(),
        "Facts!D2=123456.5",
    ]);
    let (_, back, problems) = read_back(&edited);
    assert!(problems.is_empty(), "{problems:?}");
    let back = normalised(&back.unwrap());
    let first = &normalised(&model).facts[0];
    let changed = back.facts.iter().find(|f| f.key == first.key).unwrap();
    assert_eq!(changed.value, 123456.5);
    assert_eq!(back.facts.len(), model.facts.len());
    // openpyxl writes formulas without a computed value: named, not taken as zero.
    let formula = dir.path().join("formula.xlsx");
    tool(&[
        "edit",
        path.to_str().unwrap(),
        formula.to_str().unwrap(),
        "Facts!D3==D2*2",
    ]);
    let (_, _, problems) = read_back(&formula);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0]
            .starts_with("Facts!D3: value: the cell holds a formula without a computed value"),
        "{problems:?}"
    );
}

#[test]
fn a_table_sheet_has_units_notes_links_and_a_line_chart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("table.xlsx");
    let text = |s: &str| Value::Text(s.to_string());
    let mut rows = Vec::new();
    for (node, name, depth) in [("g", "Group", 0.0), ("a", "Unit A", 1.0)] {
        for (index, period) in ["FY2023", "FY2024", "FY2025"].iter().enumerate() {
            let gap = node == "a" && index == 1;
            rows.push(vec![
                text(node),
                text(name),
                Value::Number(depth),
                text(period),
                if gap {
                    Value::Empty
                } else {
                    Value::Number(-1234.5 * (index as f64 + 1.0))
                },
                if gap {
                    text("FY2024 is incomplete: no figure for FY2024Q3")
                } else {
                    Value::Empty
                },
                text("https://example.com/annual-report"),
            ]);
        }
    }
    let table = TableSheet {
        sheet: "rollup".into(),
        title: "revenue (reported)".into(),
        columns: ["node", "name", "depth", "period", "value", "gap", "source"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        rows: rows.clone(),
        units: [("value".to_string(), "CNY millions".to_string())]
            .into_iter()
            .collect(),
        pivot: Some(Pivot {
            rows: vec!["node".into(), "name".into()],
            across: "period".into(),
            value: "value".into(),
            note: Some("gap".into()),
            indent: Some("depth".into()),
        }),
        query: vec![("--periods".into(), "FY2023..FY2025".into())],
        ..TableSheet::default()
    };
    write_table(&table, &path).unwrap();
    let book = describe(&path);
    let sheet_json = sheet(&book, "rollup");
    assert_eq!(sheet_json["charts"], serde_json::json!(["LineChart"]));
    assert_eq!(cell(sheet_json, "C1")["value"], "FY2023 (CNY millions)");
    assert_eq!(cell(sheet_json, "C2")["value"], -1234.5);
    assert!(cell(sheet_json, "C2")["format"]
        .as_str()
        .unwrap()
        .contains("[Red]"));
    let gap = cell(sheet_json, "D3");
    assert!(
        gap["value"].is_null() && gap["note"].as_str().unwrap().contains("incomplete"),
        "{gap}"
    );
    assert_eq!(sheet_json["freeze"], "A2");
    assert_eq!(cell(sheet(&book, "Query"), "B3")["value"], "FY2023..FY2025");
    // Unpivoted, the source is a link.
    let flat = TableSheet {
        pivot: None,
        ..table
    };
    write_table(&flat, &path).unwrap();
    let book = describe(&path);
    assert_eq!(
        cell(sheet(&book, "rollup"), "G2")["link"],
        "https://example.com/annual-report"
    );
    assert!(cell(sheet(&book, "rollup"), "E3")["note"].is_null());
}

fn spec() -> PackageSpec {
    PackageSpec {
        unit: "cloud".into(),
        unit_name: "Cloud".into(),
        unit_kind: "segment".into(),
        period: "FY2025".into(),
        period_days: (
            chrono::NaiveDate::from_ymd_opt(2024, 4, 1).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2025, 3, 31).unwrap(),
        ),
        path: vec![("g".into(), "Group".into())],
        ownership: 1.0,
        children: vec![],
        previous: vec!["FY2023".into(), "FY2024".into()],
        metrics: vec![
            PackageMetric {
                id: "revenue".into(),
                name: "Revenue".into(),
                unit: "CNY millions".into(),
                previous: vec![Some(100.0), Some(110.0)],
            },
            PackageMetric {
                id: "ebita".into(),
                name: "EBITA".into(),
                unit: "CNY millions".into(),
                previous: vec![None, Some(9.0)],
            },
        ],
        intercompany_metrics: vec!["revenue".into()],
        counterparties: vec![("commerce".into(), "Commerce".into())],
        revision: 7,
        fingerprint: "abc".into(),
    }
}

#[test]
fn a_package_is_protected_validated_and_identified_for_openpyxl_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("package.xlsx");
    write_package(&spec(), &path).unwrap();
    let book = describe(&path);
    let id = sheet(&book, "Package");
    assert_eq!(id["state"], "hidden");
    assert_eq!(cell(id, "B2")["value"], "cloud");
    let input = sheet(&book, "Input");
    assert!(input["protected"].as_bool().unwrap());
    assert_eq!(input["validations"], serde_json::json!(["F2:F3"]));
    assert_eq!(cell(input, "F1")["value"], "FY2025 (enter)");
    assert_eq!(cell(input, "F2")["locked"], false);
    assert_eq!(cell(input, "D2")["locked"], true);
    assert!(cell(input, "G2")["value"]
        .as_str()
        .unwrap()
        .starts_with("=IF("));
    // Filled in by another program, it reads back; a required cell left empty is named.
    let filled = dir.path().join("filled.xlsx");
    tool(&[
        "edit",
        path.to_str().unwrap(),
        filled.to_str().unwrap(),
        "Input!F2=120",
        "Input!F3=10.5",
        "Intercompany!D2=4",
    ]);
    let package = read_package(&filled, Limits::default()).unwrap().unwrap();
    assert_eq!(
        (
            package.unit.as_str(),
            package.period.as_str(),
            package.revision
        ),
        ("cloud", "FY2025", 7)
    );
    let values: Vec<(String, Option<String>, f64)> = package
        .values
        .iter()
        .map(|v| (v.metric.clone(), v.counterparty.clone(), v.value))
        .collect();
    assert_eq!(
        values,
        vec![
            ("revenue".into(), None, 120.0),
            ("ebita".into(), None, 10.5),
            ("revenue".into(), Some("commerce".into()), 4.0)
        ]
    );
    let partial = dir.path().join("partial.xlsx");
    tool(&[
        "edit",
        path.to_str().unwrap(),
        partial.to_str().unwrap(),
        "Input!F2=120",
        "Input!F3=lots",
    ]);
    let problems = read_package(&partial, Limits::default())
        .unwrap()
        .unwrap_err();
    let shown: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        shown,
        vec![r#"Input!F3: ebita: expected a number, found "lots""#.to_string()]
    );
    // A metric row emptied out (the sheet's protection is Excel's, not a lock) is noticed.
    let removed = dir.path().join("removed.xlsx");
    tool(&[
        "edit",
        filled.to_str().unwrap(),
        removed.to_str().unwrap(),
        "Input!A3=",
        "Input!F3=",
    ]);
    let problems = read_package(&removed, Limits::default())
        .unwrap()
        .unwrap_err();
    assert!(
        problems.iter().any(|p| p
            .to_string()
            .starts_with("Input: 1 metric rows where the package was made with 2")),
        "{problems:?}"
    );
}
