//! Workbooks on the command line: the model as a workbook (export, check, import, query),
//! a failed workbook import leaving the store as it was, `--xlsx` on table commands, and
//! reporting packages made, filled in by another program (openpyxl) and collected.

use predicates::prelude::*;
use std::path::Path;
use std::process::Command as Process;

mod common;

use common::{example, holdco};

/// openpyxl, the independent reader (tests of holdco-excel describe it).
fn openpyxl(args: &[&str]) -> String {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../holdco-excel/tests/openpyxl_tool.py");
    let output = Process::new("python3")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 with openpyxl (pip install openpyxl)");
    assert!(
        output.status.success(),
        "openpyxl: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn exported(db: &Path, dir: &Path) -> String {
    let out = dir.join(format!(
        "export-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    holdco(db).arg("export").arg(&out).assert().success();
    let mut text = String::new();
    let mut files: Vec<_> = walk(&out);
    files.sort();
    for file in files {
        text.push_str(&std::fs::read_to_string(&file).unwrap());
    }
    text
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn the_model_goes_out_as_a_workbook_and_comes_back_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    holdco(&a).arg("import").arg(example()).assert().success();
    let book = dir.path().join("model.xlsx");
    holdco(&a)
        .arg("export")
        .arg("--xlsx")
        .arg(&book)
        .assert()
        .success()
        .stdout(predicate::str::contains("Facts"));
    holdco(&a)
        .arg("export")
        .arg("--xlsx")
        .arg(&book)
        .assert()
        .failure()
        .stderr(predicate::str::contains("--force"));
    holdco(&b)
        .arg("check")
        .arg(&book)
        .assert()
        .success()
        .stdout(predicate::str::contains("ok:"));
    holdco(&b)
        .arg("import")
        .arg(&book)
        .assert()
        .success()
        .stdout(predicate::str::contains("282 facts new"));
    assert_eq!(exported(&a, dir.path()), exported(&b, dir.path()));
    // Queried straight from the workbook.
    holdco(&b)
        .arg("--model")
        .arg(&book)
        .arg("rollup")
        .arg("revenue")
        .arg("--period")
        .arg("FY2024")
        .assert()
        .success()
        .stdout(predicate::str::contains("941,168"));
}

#[test]
fn a_bad_workbook_is_refused_with_cells_and_the_store_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    holdco(&db).arg("import").arg(example()).assert().success();
    let before = exported(&db, dir.path());
    let book = dir.path().join("model.xlsx");
    holdco(&db)
        .arg("export")
        .arg("--xlsx")
        .arg(&book)
        .assert()
        .success();
    let bad = dir.path().join("bad.xlsx");
    openpyxl(&[
        "edit",
        book.to_str().unwrap(),
        bad.to_str().unwrap(),
        "Facts!D17=12,3a4",
        "Facts!A5=nowhere",
    ]);
    holdco(&db)
        .arg("import")
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            r#"Facts!D17: value: expected a number, found "12,3a4""#,
        ))
        .stderr(predicate::str::contains(
            "Facts!A5: unit: unknown unit `nowhere`",
        ))
        .stderr(predicate::str::contains("the store was not changed"));
    holdco(&db)
        .arg("check")
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Facts!D17"));
    let garbage = dir.path().join("garbage.xlsx");
    std::fs::write(&garbage, b"PK\x03\x04 not really a zip").unwrap();
    holdco(&db)
        .arg("import")
        .arg(&garbage)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("corrupted .xlsx"));
    assert_eq!(before, exported(&db, dir.path()));
}

#[test]
fn table_commands_write_formatted_sheets() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    holdco(&db).arg("import").arg(example()).assert().success();
    let rollup = dir.path().join("rollup.xlsx");
    holdco(&db)
        .args([
            "rollup",
            "revenue",
            "--view",
            "restated",
            "--structure",
            "2025-04-01",
            "--periods",
            "FY2022..FY2026",
            "--xlsx",
        ])
        .arg(&rollup)
        .assert()
        .success();
    let book: serde_json::Value =
        serde_json::from_str(&openpyxl(&["describe", rollup.to_str().unwrap()])).unwrap();
    let sheet = &book["sheets"][0];
    assert_eq!(sheet["name"], "rollup");
    assert_eq!(sheet["charts"], serde_json::json!(["LineChart"]));
    let cells = sheet["cells"].as_array().unwrap();
    let find = |r: &str| {
        cells
            .iter()
            .find(|c| c["ref"] == r)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(find("E1")["value"], "FY2024 (CNY millions)");
    assert_eq!(find("E2")["value"], 941168.0);
    // Gaps carry their reason in a note: calendar 2024 of a group whose year ends in March
    // is built from quarters, several of them missing.
    let gaps = dir.path().join("gaps.xlsx");
    holdco(&db)
        .args(["rollup", "revenue", "--period", "2024", "--xlsx"])
        .arg(&gaps)
        .assert()
        .success();
    let gap_book: serde_json::Value =
        serde_json::from_str(&openpyxl(&["describe", gaps.to_str().unwrap()])).unwrap();
    assert!(
        gap_book["sheets"][0]["cells"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["note"].as_str().is_some_and(|n| n.contains("incomplete"))),
        "gaps carry their reason"
    );
    assert_eq!(book["sheets"][1]["name"], "Query");
    for (command, name) in [
        (vec!["reconcile"], "reconcile"),
        (vec!["classify"], "classify"),
        (vec!["plan"], "plan"),
    ] {
        let path = dir.path().join(format!("{name}.xlsx"));
        let _ = holdco(&db)
            .args(&command)
            .arg("--xlsx")
            .arg(&path)
            .output()
            .unwrap();
        let book: serde_json::Value =
            serde_json::from_str(&openpyxl(&["describe", path.to_str().unwrap()])).unwrap();
        assert_eq!(book["sheets"][0]["name"], name);
        assert!(
            book["sheets"][0]["cells"].as_array().unwrap().len() > 10,
            "{name} has rows"
        );
    }
    let explain = dir.path().join("explain.xlsx");
    holdco(&db)
        .args([
            "explain",
            "revenue",
            "--node",
            "china_commerce",
            "--period",
            "FY2024",
            "--view",
            "restated",
            "--structure",
            "2025-04-01",
            "--xlsx",
        ])
        .arg(&explain)
        .assert()
        .success();
    let text = openpyxl(&["describe", explain.to_str().unwrap()]);
    assert!(text.contains("https://"), "sources are links");
}

#[test]
fn packages_are_made_filled_in_and_collected_as_one_change() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    holdco(&db).arg("import").arg(example()).assert().success();
    let out = dir.path().join("packages");
    holdco(&db)
        .args([
            "package",
            "make",
            "--period",
            "FY2026",
            "--unit",
            "cloud_intelligence",
            "--unit",
            "china_commerce",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let cloud = out.join("cloud_intelligence-FY2026.xlsx");
    let commerce = out.join("china_commerce-FY2026.xlsx");
    // An empty package: every required figure is named.
    holdco(&db)
        .args(["package", "collect"])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cloud_intelligence-FY2026.xlsx: Input!G2: revenue: required",
        ))
        .stderr(predicate::str::contains("nothing was imported"));
    let fill = |path: &Path, revenue: &str| {
        openpyxl(&[
            "edit",
            path.to_str().unwrap(),
            path.to_str().unwrap(),
            &format!("Input!G2={revenue}"),
            "Input!G3=1000",
            "Intercompany!D2=50",
        ]);
    };
    fill(&cloud, "170000");
    fill(&commerce, "lots");
    holdco(&db)
        .args(["package", "collect"])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            r#"china_commerce-FY2026.xlsx: Input!G2: revenue: expected a number, found "lots""#,
        ));
    fill(&commerce, "560000");
    holdco(&db)
        .args(["package", "collect", "--period", "FY2025"])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("made for FY2026, not FY2025"));
    holdco(&db)
        .args(["package", "collect", "--dry-run"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "revised    cloud_intelligence FY2026 revenue: 158132 -> 170000",
        ))
        .stdout(predicate::str::contains("dry run"));
    holdco(&db)
        .args(["revisions", "cloud_intelligence", "revenue", "FY2026"])
        .assert()
        .success()
        .stdout(predicate::str::contains("170,000").not());
    holdco(&db)
        .args(["package", "collect"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("imported 2 packages"));
    holdco(&db)
        .args(["revisions", "cloud_intelligence", "revenue", "FY2026"])
        .assert()
        .success()
        .stdout(predicate::str::contains("170,000"));
    // Once the structure changes, the packages are of an older model and are refused.
    let book = dir.path().join("model.xlsx");
    holdco(&db)
        .arg("export")
        .arg("--xlsx")
        .arg(&book)
        .assert()
        .success();
    let model = dir.path().join("model");
    holdco(&db).arg("export").arg(&model).assert().success();
    let group = model.join("group.toml");
    let mut text = std::fs::read_to_string(&group).unwrap();
    text.push_str("\n[[metric]]\nid = \"gmv\"\nname = \"Gross merchandise volume\"\nmeasure = \"currency\"\naggregation = \"flow\"\n");
    std::fs::write(&group, text).unwrap();
    holdco(&db).arg("import").arg(&model).assert().success();
    holdco(&db)
        .args(["package", "collect"])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "the model's structure or metrics have changed since",
        ));
}
