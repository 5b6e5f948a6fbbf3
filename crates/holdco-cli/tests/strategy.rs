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
    // The total's rates up and down, measured by re-solving, agree: not degenerate.
    let total = json["binding"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["constraint"] == "total")
        .unwrap();
    assert_eq!(
        (
            total["rate_up"].as_f64(),
            total["rate_down"].as_f64(),
            total["degenerate"].as_bool()
        ),
        (Some(1.1), Some(1.1), Some(false))
    );
    holdco(&db).args(["plan", "--csv"]).assert().success().stdout(
        predicate::str::starts_with("section,unit,class,year,amount,constraint,description,shadow_price,rates_measured,rate_up,rate_down,degenerate")
            .and(predicate::str::contains("binding,,,,,total,")),
    );
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

#[test]
fn a_missing_assessment_is_null_in_json_scores_zero_and_is_warned() {
    // Quark without its market_potential score: the criterion adds 0 of its 25 points (as
    // the lowest score, 1, would), the rules see 0 (below the 1-5 scale), the JSON says null,
    // and classify says so on stderr.
    let dir = tempfile::tempdir().unwrap();
    let model = example_copy(dir.path());
    let path = model.join("assessments.csv");
    let text: String = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("quark,2023-11-16,market_potential,"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, text).unwrap();
    let db = dir.path().join("unused.db");
    let output = holdco(&db)
        .arg("--model")
        .arg(&model)
        .args(["classify", "--at", "2023-11-16", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("warning: quark: no `market_potential` assessment on or before 2023-11-16: it adds 0 of its 25.0 points"), "{stderr}");
    assert!(stderr.contains("below its scale 1-5"), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let quark = json["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"] == "quark")
        .unwrap();
    let market = quark["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["criterion"] == "market_potential")
        .unwrap();
    assert!(market["value"].is_null(), "{market}");
    assert_eq!(market["contribution"], 0.0);
    // 81.25 without the 18.75 points of its score of 4: 62.5, below the 75 of the rule.
    assert_eq!(quark["score"], 62.5);
    // The complete example warns of nothing.
    let output = holdco(&db)
        .arg("--model")
        .arg(example())
        .args(["classify", "--at", "2023-11-16"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("warning"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
