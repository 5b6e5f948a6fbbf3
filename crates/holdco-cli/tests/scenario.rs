//! `holdco scenario` as a user meets it, and scenario files in check, import and export (all
//! or nothing).

use predicates::prelude::*;

mod common;

use common::{example, example_copy, holdco};

#[test]
fn run_compare_and_diff_on_the_imported_example() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    holdco(&db).arg("import").arg(example()).assert().success();
    holdco(&db)
        .args(["scenario", "list"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("keep-cloud")
                .and(predicate::str::contains("spin-off-cloud"))
                .and(predicate::str::contains("one-alibaba")),
        );
    // run: JSON with the distribution, the bridge and the tornado.
    let output = holdco(&db)
        .args([
            "scenario",
            "run",
            "keep-cloud",
            "--paths",
            "4000",
            "--seed",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let run: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(run["paths"], 4000);
    let value = &run["result"]["value"];
    assert!(value["p5"].as_f64().unwrap() < value["p50"].as_f64().unwrap());
    assert!(value["p50"].as_f64().unwrap() < value["p95"].as_f64().unwrap());
    assert!(!run["tornado"]["swings"].as_array().unwrap().is_empty());
    // The same seed on one and on two threads: the same answer, bit for bit.
    let threads = |t: &str| {
        let out = holdco(&db)
            .args([
                "scenario",
                "run",
                "spin-off-cloud",
                "--paths",
                "3000",
                "--seed",
                "9",
                "--json",
                "--threads",
                t,
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    };
    assert_eq!(threads("1"), threads("2"));
    // compare: table with P(A > B) and the charts.
    let svg = dir.path().join("charts");
    holdco(&db)
        .args([
            "scenario",
            "compare",
            "spin-off-cloud",
            "keep-cloud",
            "--paths",
            "4000",
            "--svg",
        ])
        .arg(&svg)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("P(spin-off-cloud > keep-cloud)")
                .and(predicate::str::contains("holding discount"))
                // What the tornado is, the sketch's accuracy, and the dis-synergy taken from revenue.
                .and(predicate::str::contains(
                    "deterministic sensitivity around the all-median point",
                ))
                .and(predicate::str::contains("(not the Monte Carlo mean)"))
                .and(predicate::str::contains("accurate to ±0.2%"))
                .and(predicate::str::contains(
                    "of its revenue and EBITA (valued on revenue",
                )),
        );
    // A merged-away unit's inherited table is warned about on stderr and in --json.
    let output = holdco(&db)
        .args([
            "scenario",
            "run",
            "one-alibaba",
            "--paths",
            "2000",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("warning: scenarios/keep-cloud.toml:"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let run: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(run["result"]["warnings"][0]
        .as_str()
        .unwrap()
        .contains("[unit.international_commerce]"));
    assert_eq!(run["result"]["value"]["quantile_accuracy"], 0.002);
    for chart in [
        "revenue-fan.svg",
        "ebita-fan.svg",
        "value.svg",
        "tornado.svg",
    ] {
        let text = std::fs::read_to_string(svg.join(chart)).unwrap();
        assert!(text.contains("<svg") && !text.contains("NaN"), "{chart}");
    }
    holdco(&db)
        .args([
            "scenario",
            "compare",
            "spin-off-cloud",
            "keep-cloud",
            "--paths",
            "2000",
            "--csv",
        ])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "scenario,section,line,statistic,value",
        ));
    // diff: changes and assumptions.
    holdco(&db)
        .args(["scenario", "diff", "spin-off-cloud", "keep-cloud"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("divest cloud_intelligence")
                .and(predicate::str::contains("separation.spin-off-cloud.cost")),
        );
    // An unknown scenario names the known ones.
    holdco(&db)
        .args(["scenario", "run", "nope"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("keep-cloud"));
}

#[test]
fn a_bad_scenario_is_refused_by_check_and_import_and_the_store_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let model = example_copy(dir.path());
    let db = dir.path().join("h.db");
    holdco(&db).arg("import").arg(&model).assert().success();
    let before = std::fs::read(&db).unwrap();
    let file = model.join("scenarios/keep-cloud.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("mean = 0.04, sd = 0.03", "mean = 0.04, sd = -0.03"),
    )
    .unwrap();
    holdco(&db)
        .arg("check")
        .arg(&model)
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("scenarios/keep-cloud.toml:")
                .and(predicate::str::contains("unit.china_commerce.growth.sd")),
        );
    holdco(&db).arg("import").arg(&model).assert().failure();
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "a refused import must leave the store as it was"
    );
}

#[test]
fn scenario_files_round_trip_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    holdco(&db).arg("import").arg(example()).assert().success();
    let out = dir.path().join("out");
    holdco(&db).arg("export").arg(&out).assert().success();
    for name in ["keep-cloud.toml", "spin-off-cloud.toml", "one-alibaba.toml"] {
        assert_eq!(
            std::fs::read(out.join("scenarios").join(name)).unwrap(),
            std::fs::read(example().join("scenarios").join(name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn an_infeasible_capital_plan_is_left_to_plan_and_stops_only_the_scenarios_that_need_it() {
    let dir = tempfile::tempdir().unwrap();
    let model = example_copy(dir.path());
    let capital = model.join("capital.toml");
    let text = std::fs::read_to_string(&capital).unwrap()
        + "\n[[floor]]\nunit = \"xianyu\"\namount = 5000\nyears = [2025, 2025]\n";
    std::fs::write(&capital, text).unwrap();
    let db = dir.path().join("none.db");
    // The model still loads: check passes and plan names the conflict (exit 1).
    holdco(&db).arg("check").arg(&model).assert().success();
    holdco(&db)
        .arg("--model")
        .arg(&model)
        .arg("plan")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("floor of xianyu in 2025"));
    // A scenario that takes capital from the plan says why it cannot run, and where to look.
    holdco(&db)
        .arg("--model")
        .arg(&model)
        .args(["scenario", "run", "keep-cloud", "--paths", "1000"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("capital plan cannot be solved")
                .and(predicate::str::contains("holdco plan")),
        );
}
