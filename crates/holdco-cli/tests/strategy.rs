//! `holdco classify` and `holdco plan` as a user meets them, and the strategy documents in
//! check, import and export (all or nothing).

use predicates::prelude::*;

mod common;

use common::{example, example_copy, holdco};

#[test]
fn classify_and_plan_work_on_the_imported_example() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    holdco(&db).arg("import").arg(example()).assert().success();
    let output = holdco(&db)
        .args(["classify", "--at", "2023-11-16", "--json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let xianyu = json["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"] == "xianyu")
        .unwrap();
    assert_eq!(xianyu["class"], "strategic_innovation");
    assert_eq!(xianyu["score"], 87.5);
    assert!(xianyu["name"].as_str().unwrap().contains("Xianyu"));

    let svg = dir.path().join("plan.svg");
    let mps = dir.path().join("plan.mps");
    let output = holdco(&db)
        .arg("plan")
        .arg("--json")
        .arg("--svg")
        .arg(&svg)
        .arg("--export-lp")
        .arg(&mps)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(json["allocation"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["unit"] == "cloud_intelligence" && a["year"] == 2025));
    assert!(json["binding"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["constraint"] == "total"
            && (b["shadow_price"].as_f64().unwrap() - 1.1).abs() < 1e-4));
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    assert!(std::fs::read_to_string(&mps).unwrap().contains("OBJSENSE"));

    holdco(&db)
        .args(["history", "xianyu"])
        .assert()
        .success()
        .stdout(predicate::str::contains("classified strategic_innovation"));
    holdco(&db)
        .args(["classify", "--csv"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("unit,name,class,score"));
}

#[test]
fn export_writes_the_documents_back_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    holdco(&db).arg("import").arg(example()).assert().success();
    let out = dir.path().join("out");
    holdco(&db).arg("export").arg(&out).assert().success();
    for name in ["strategy.toml", "assessments.csv", "capital.toml"] {
        assert_eq!(
            std::fs::read_to_string(out.join(name)).unwrap(),
            std::fs::read_to_string(example().join(name)).unwrap(),
            "{name}"
        );
    }
    holdco(&db).arg("check").arg(&out).assert().success();
}

#[test]
fn a_bad_document_refuses_check_and_import_and_leaves_the_store_alone() {
    let dir = tempfile::tempdir().unwrap();
    let model = example_copy(dir.path());
    let capital = model.join("capital.toml");
    let text = std::fs::read_to_string(&capital).unwrap().replacen(
        "amount = 135000",
        "amount = -135000",
        1,
    );
    std::fs::write(&capital, text).unwrap();
    let db = dir.path().join("h.db");
    holdco(&db)
        .arg("check")
        .arg(&model)
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("capital.toml:")
                .and(predicate::str::contains("negative budget")),
        );
    holdco(&db)
        .arg("import")
        .arg(&model)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the store was not changed"));
    assert!(
        !db.exists() || {
            let output = holdco(&db).arg("classify").output().unwrap();
            !output.status.success()
        }
    );
}

#[test]
fn an_infeasible_plan_names_the_conflict_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let model = example_copy(dir.path());
    let capital = model.join("capital.toml");
    let text = std::fs::read_to_string(&capital).unwrap()
        + "\n[[floor]]\nunit = \"xianyu\"\namount = 5000\nyears = [2025, 2025]\n";
    std::fs::write(&capital, text).unwrap();
    holdco(&dir.path().join("none.db"))
        .arg("--model")
        .arg(&model)
        .arg("plan")
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("infeasible")
                .and(predicate::str::contains("floor of xianyu in 2025"))
                .and(predicate::str::contains("tranche xianyu-ai")),
        );
}
