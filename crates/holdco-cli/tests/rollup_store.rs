//! `holdco rollup` on a large store reads the model without its facts and the facts straight
//! from the series rows into columns; its figures must be the engine's (`--exact`) and those
//! of the columnar path over the loaded model (`--model`). A store with a revision log takes
//! the full load.

use holdco_store::{SqliteStore, Store};
use std::path::Path;

#[allow(dead_code)]
mod common;

use common::holdco;

type Rows = Vec<(String, String, Option<f64>)>;

fn rollup(db: &Path, model: Option<&Path>, exact: bool) -> (Rows, String) {
    let mut command = holdco(db);
    if let Some(model) = model {
        command.arg("--model").arg(model);
    }
    command.env("HOLDCO_TIMING", "1").args([
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
    let output = command.assert().success().get_output().clone();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let rows = json["rows"]
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
        .collect();
    (rows, String::from_utf8(output.stderr).unwrap())
}

fn assert_close(fast: &Rows, exact: &Rows) {
    assert_eq!(fast.len(), exact.len());
    assert!(!fast.is_empty());
    for ((a, p, x), (b, q, y)) in fast.iter().zip(exact) {
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

#[test]
fn large_stores_answer_from_columns_read_straight_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("big");
    let db = dir.path().join("store.db");
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
    holdco(&db).arg("import").arg(&model).assert().success();

    let (from_store, timing) = rollup(&db, None, false);
    assert!(
        timing.contains("facts into columns"),
        "the store path was not taken: {timing}"
    );
    let (exact, _) = rollup(&db, None, true);
    assert_close(&from_store, &exact);
    let (from_model, _) = rollup(&db, Some(&model), false);
    assert_close(&from_store, &from_model);

    // Several metrics in one call: one read of the store, the same figures per metric as one
    // call each (JSON: an array of roll-ups, in the order asked).
    let several = |metrics: &str| -> (serde_json::Value, String) {
        let output = holdco(&db)
            .env("HOLDCO_TIMING", "1")
            .args([
                "rollup",
                metrics,
                "--view",
                "restated",
                "--periods",
                "2016-01..2016-12",
                "--depth",
                "2",
                "--json",
            ])
            .assert()
            .success()
            .get_output()
            .clone();
        (
            serde_json::from_slice(&output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let (both, timing) = several("revenue,ebita");
    assert!(timing.contains("facts into columns"), "{timing}");
    assert_eq!(timing.matches("facts into columns").count(), 1, "{timing}");
    let both = both.as_array().unwrap();
    assert_eq!(both.len(), 2);
    assert_eq!(both[0]["metric"], "revenue");
    assert_eq!(both[1]["metric"], "ebita");
    let node_rows = |rollup: &serde_json::Value| -> Rows {
        rollup["rows"]
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
    assert_close(&node_rows(&both[0]), &exact);
    let (all, _) = several("all");
    let all = all.as_array().unwrap();
    let metrics: Vec<&str> = all.iter().map(|r| r["metric"].as_str().unwrap()).collect();
    assert_eq!(
        metrics.len(),
        SqliteStore::open(&db)
            .unwrap()
            .load_without_facts()
            .unwrap()
            .unwrap()
            .metrics
            .len()
    );
    // Another set of metrics read moves the pass's fixed chunk boundaries: equal to rounding.
    assert_eq!(all[1]["metric"], "ebita");
    assert_close(&node_rows(&all[1]), &node_rows(&both[1]));

    // The core's phase timings go through `tracing`; with HOLDCO_PROFILE the CLI prints them
    // as `[profile]` lines on stderr, without it nothing.
    let profiled = |profile: bool| -> String {
        let mut command = holdco(&db);
        if profile {
            command.env("HOLDCO_PROFILE", "1");
        }
        let output = command
            .args([
                "rollup", "revenue", "--view", "restated", "--period", "2016-01", "--csv",
            ])
            .assert()
            .success()
            .get_output()
            .clone();
        String::from_utf8(output.stderr).unwrap()
    };
    let with = profiled(true);
    assert!(with.contains("  [profile] plan "), "{with}");
    assert!(with.contains("  [profile] run "), "{with}");
    assert!(!profiled(false).contains("[profile]"));

    // Errors come from the model without facts.
    holdco(&db)
        .args(["rollup", "profit", "--period", "2016-01"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unknown metric `profit`"));

    // A revision: the store path still answers (revised figures put in place, issue 11
    // item 2) and the answer holds the revised figure, as the exact engine's does.
    let mut store = SqliteStore::open(&db).unwrap();
    let mut current = store.load().unwrap().unwrap();
    let revised = current
        .facts
        .iter()
        .position(|f| {
            f.key.metric.as_str() == "revenue"
                && f.key.basis == holdco_core::Basis::Reported
                && f.key.counterparty.is_none()
                && f.key
                    .period
                    .label(current.group.calendar())
                    .starts_with("2016")
        })
        .expect("a revenue fact in 2016");
    current.facts[revised].value += 1000.0;
    store.import(&current, "revised").unwrap();
    drop(store);
    let (after, timing) = rollup(&db, None, false);
    assert!(timing.contains("facts into columns"), "{timing}");
    let (exact_after, _) = rollup(&db, None, true);
    assert_close(&after, &exact_after);
    assert_ne!(after, from_store);
}
