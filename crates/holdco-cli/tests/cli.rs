//! The `holdco` binary as a user meets it: commands on the bundled example, error messages
//! for bad input, and the store left untouched when an import fails.

use predicates::prelude::*;
use std::path::{Path, PathBuf};

mod common;

use common::{example, example_copy, holdco};

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn append(path: &Path, text: &str) {
    let mut content = std::fs::read_to_string(path).unwrap();
    content.push_str(text);
    std::fs::write(path, content).unwrap();
}

#[test]
fn check_accepts_the_example() {
    let dir = tempfile::tempdir().unwrap();
    holdco(&dir.path().join("x.db"))
        .arg("check")
        .arg(example())
        .assert()
        .success()
        .stdout(predicate::str::contains("ok:"));
}

#[test]
fn check_lists_every_problem_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let model = example_copy(dir.path());
    let facts = model.join("facts/s2_1p6pn.csv");
    let header = std::fs::read_to_string(&facts)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    let columns = header.split(',').count();
    let pad = ",".repeat(columns - 4);
    append(
        &facts,
        &format!("nowhere,FY2024,revenue,1{pad}\ncloud_intelligence,FY2024,revenue,lots{pad}\n"),
    );
    append(&model.join("timeline.toml"), "\n[[change]]\ndate = 2030-01-01\nkind = \"move\"\nunit = \"ghost\"\nparent = \"alibaba\"\n");
    let output = holdco(&dir.path().join("x.db"))
        .arg("check")
        .arg(&model)
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let stderr = String::from_utf8(output).unwrap();
    assert!(
        stderr.contains("s2_1p6pn.csv:") && stderr.contains("unit: unknown unit `nowhere`"),
        "{stderr}"
    );
    assert!(stderr.contains("value: `lots` is not a number"), "{stderr}");
    assert!(
        stderr.contains("timeline.toml:") && stderr.contains("unknown unit `ghost`"),
        "{stderr}"
    );
    assert!(stderr.contains("3 problems found"), "{stderr}");
}

#[test]
fn a_failed_import_leaves_the_store_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    holdco(&db).arg("import").arg(example()).assert().success();
    let before = dir.path().join("before");
    holdco(&db).arg("export").arg(&before).assert().success();

    let model = example_copy(dir.path());
    // One good revision and one bad row: nothing of it may land.
    let facts = model.join("facts/s2_1p6pn.csv");
    let text = std::fs::read_to_string(&facts).unwrap();
    let changed = text.replacen("106374", "106375", 1);
    std::fs::write(&facts, format!("{changed}nowhere,FY2024,revenue,1,,,,,\n")).unwrap();
    holdco(&db)
        .arg("import")
        .arg(&model)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the store was not changed"));

    let after = dir.path().join("after");
    holdco(&db).arg("export").arg(&after).assert().success();
    for file in walk(&before) {
        let twin = after.join(file.strip_prefix(&before).unwrap());
        assert_eq!(
            std::fs::read(&file).unwrap(),
            std::fs::read(&twin).unwrap(),
            "{} changed",
            file.display()
        );
    }
}

#[test]
fn export_round_trips_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.db");
    holdco(&first)
        .arg("import")
        .arg(example())
        .assert()
        .success();
    let out1 = dir.path().join("out1");
    holdco(&first).arg("export").arg(&out1).assert().success();
    holdco(&first).arg("check").arg(&out1).assert().success();
    let second = dir.path().join("second.db");
    holdco(&second).arg("import").arg(&out1).assert().success();
    let out2 = dir.path().join("out2");
    holdco(&second).arg("export").arg(&out2).assert().success();
    let files1 = walk(&out1);
    assert_eq!(files1.len(), walk(&out2).len());
    for file in files1 {
        let twin = out2.join(file.strip_prefix(&out1).unwrap());
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            std::fs::read_to_string(&twin).unwrap(),
            "{}",
            file.display()
        );
    }
}

#[test]
fn reimporting_a_changed_figure_keeps_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    holdco(&db).arg("import").arg(example()).assert().success();
    let model = example_copy(dir.path());
    let facts = model.join("facts/s2_1p6pn.csv");
    let text = std::fs::read_to_string(&facts).unwrap();
    std::fs::write(&facts, text.replacen(",106374,", ",106375,", 1)).unwrap();
    holdco(&db)
        .arg("import")
        .arg(&model)
        .assert()
        .success()
        .stdout(predicate::str::contains("1 revised"));
    holdco(&db)
        .args(["revisions", "cloud_intelligence", "revenue", "FY2024"])
        .assert()
        .success()
        .stdout(predicate::str::contains("106,374").and(predicate::str::contains("106,375")));
}

#[test]
fn rollup_prints_json_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    holdco(&db).arg("import").arg(example()).assert().success();
    let output = holdco(&db)
        .args([
            "rollup",
            "revenue",
            "--period",
            "FY2024",
            "--view",
            "restated",
            "--structure",
            "2025-04-01",
            "--json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&output).unwrap();
    let rows = json["rows"].as_array().unwrap();
    let group = rows.iter().find(|r| r["node"] == "alibaba").unwrap();
    assert_eq!(group["value"].as_f64(), Some(941168.0));
    for field in ["node", "name", "period", "metric", "value"] {
        assert!(group.get(field).is_some(), "{field} missing");
    }
    holdco(&db)
        .args(["rollup", "revenue", "--period", "FY2024", "--csv"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "node,name,depth,kind,period,metric,value",
        ));
}

#[test]
fn queries_point_at_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("missing.db");
    holdco(&db)
        .args(["rollup", "revenue", "--period", "FY2024"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("import a model first"));
    let db = dir.path().join("store.db");
    holdco(&db).arg("import").arg(example()).assert().success();
    holdco(&db)
        .args(["rollup", "revenue", "--period", "FY2024Q7"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("expected a period such as"));
    holdco(&db)
        .args(["rollup", "profit", "--period", "FY2024"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown metric `profit`"));
    holdco(&db)
        .args([
            "explain", "revenue", "--node", "cloud", "--period", "FY2024",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown unit `cloud`"));
}

#[test]
fn large_models_answer_on_the_columnar_path_with_the_engines_figures() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("big");
    let db = dir.path().join("unused.db");
    holdco(&db)
        .args(["gen"])
        .arg(&model)
        .args([
            "--units",
            "300",
            "--facts",
            "130000",
            "--changes",
            "60",
            "--months",
            "24",
            "--seed",
            "3",
        ])
        .assert()
        .success();
    let run = |exact: bool| -> Vec<(String, String, Option<f64>)> {
        let mut command = holdco(&db);
        command.arg("--model").arg(&model).args([
            "rollup",
            "revenue",
            "--view",
            "restated",
            "--periods",
            "2016-01..2016-12",
            "--depth",
            "2",
            "--json",
        ]);
        if exact {
            command.arg("--exact");
        }
        let output = command.assert().success().get_output().stdout.clone();
        let json: serde_json::Value = serde_json::from_slice(&output).unwrap();
        json["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["kind"] == "node")
            .map(|r| {
                (
                    r["node"].as_str().unwrap().to_string(),
                    r["period"].as_str().unwrap().to_string(),
                    r["value"].as_f64(),
                )
            })
            .collect()
    };
    let fast = run(false);
    let exact = run(true);
    assert_eq!(fast.len(), exact.len());
    for ((a, p, x), (b, q, y)) in fast.iter().zip(&exact) {
        assert_eq!((a, p), (b, q));
        match (x, y) {
            (Some(x), Some(y)) => assert!(
                (x - y).abs() <= 1e-9 * (1.0 + x.abs()),
                "{a} {p}: {x} vs {y}"
            ),
            (x, y) => assert_eq!(x, y, "{a} {p}"),
        }
    }
}

/// Re-importing a folder from which facts were deleted says so (issue "Fidelity", item 10):
/// an import never deletes figures, and a user must not believe they are gone.
#[test]
fn reimporting_a_folder_without_some_facts_says_they_were_kept() {
    let dir = tempfile::tempdir().unwrap();
    let model = common::example_copy(dir.path());
    let db = dir.path().join("store.db");
    common::holdco(&db)
        .arg("import")
        .arg(&model)
        .assert()
        .success();
    std::fs::remove_file(model.join("facts/quarters.csv")).unwrap();
    common::holdco(&db)
        .arg("import")
        .arg(&model)
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "71 fact(s) in the store are not in",
        ));
}
