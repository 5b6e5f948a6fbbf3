//! `holdco import` of a generated folder into a new store takes the columnar path; it must
//! store what the reference path stores (same export), give the same diagnostics for bad
//! input and leave the store untouched then.

use std::path::{Path, PathBuf};

#[allow(dead_code)]
mod common;

use common::holdco;

/// A generated folder of a few thousand facts in two files (with currencies and
/// intercompany figures).
fn generated(dir: &Path) -> PathBuf {
    let model = dir.join("gen");
    holdco(&dir.join("unused.db"))
        .args([
            "gen",
            &model.display().to_string(),
            "--units",
            "40",
            "--facts",
            "8000",
            "--changes",
            "30",
            "--months",
            "36",
        ])
        .assert()
        .success();
    model
}

fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push((
                path.strip_prefix(dir).unwrap().to_path_buf(),
                std::fs::read(&path).unwrap(),
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn the_columnar_import_stores_what_the_reference_import_stores() {
    let dir = tempfile::tempdir().unwrap();
    let model = generated(dir.path());
    let (fast, slow) = (dir.path().join("fast.db"), dir.path().join("slow.db"));
    let fast_out = holdco(&fast)
        .arg("import")
        .arg(&model)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let slow_out = holdco(&slow)
        .env("HOLDCO_REFERENCE_IMPORT", "1")
        .arg("import")
        .arg(&model)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = |bytes: Vec<u8>, db: &Path| {
        String::from_utf8(bytes)
            .unwrap()
            .replace(&db.display().to_string(), "DB")
    };
    assert_eq!(text(fast_out, &fast), text(slow_out, &slow));
    let (fast_export, slow_export) = (dir.path().join("fast-out"), dir.path().join("slow-out"));
    holdco(&fast)
        .arg("export")
        .arg(&fast_export)
        .assert()
        .success();
    holdco(&slow)
        .arg("export")
        .arg(&slow_export)
        .assert()
        .success();
    assert_eq!(files(&fast_export), files(&slow_export));
    holdco(&fast)
        .arg("check")
        .arg(&fast_export)
        .assert()
        .success();

    // Round trip: the export imported into a new store (columnar again) exports the same.
    let again = dir.path().join("again.db");
    holdco(&again)
        .arg("import")
        .arg(&fast_export)
        .assert()
        .success();
    let again_export = dir.path().join("again-out");
    holdco(&again)
        .arg("export")
        .arg(&again_export)
        .assert()
        .success();
    assert_eq!(files(&again_export), files(&fast_export));

    // Importing the same folder again: every fact unchanged, on both paths.
    let fast_out = holdco(&fast)
        .arg("import")
        .arg(&model)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let slow_out = holdco(&slow)
        .env("HOLDCO_REFERENCE_IMPORT", "1")
        .arg("import")
        .arg(&model)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let fast_out = text(fast_out, &fast);
    assert!(fast_out.contains("0 facts new, 0 revised"), "{fast_out}");
    assert_eq!(fast_out, text(slow_out, &slow));
    let (fast_export, slow_export) = (dir.path().join("fast-out-2"), dir.path().join("slow-out-2"));
    holdco(&fast)
        .arg("export")
        .arg(&fast_export)
        .assert()
        .success();
    holdco(&slow)
        .arg("export")
        .arg(&slow_export)
        .assert()
        .success();
    assert_eq!(files(&fast_export), files(&slow_export));
}

#[test]
fn bad_input_gives_the_reference_diagnostics_and_leaves_no_store() {
    let dir = tempfile::tempdir().unwrap();
    let model = generated(dir.path());
    let part = model.join("facts/part-0001.csv");
    let text = std::fs::read_to_string(&part).unwrap();
    let repeated = text.lines().nth(1).unwrap().to_string();
    let lines = text.lines().count();
    std::fs::write(
        &part,
        format!("{text}{repeated}\nnowhere,2020-01,revenue,1,,\n"),
    )
    .unwrap();
    let db = dir.path().join("new.db");
    let fast = holdco(&db)
        .arg("import")
        .arg(&model)
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    assert!(
        !db.exists(),
        "a failed import into a new store creates nothing"
    );
    let fast = String::from_utf8(fast).unwrap();
    assert!(
        fast.contains(&format!(
            "part-0001.csv:{}: unit: duplicate fact",
            lines + 1
        )),
        "{fast}"
    );
    assert!(
        fast.contains(&format!(
            "part-0001.csv:{}: unit: unknown unit `nowhere`",
            lines + 2
        )),
        "{fast}"
    );
    assert!(fast.contains("the store was not changed"), "{fast}");
    let slow = holdco(&db)
        .env("HOLDCO_REFERENCE_IMPORT", "1")
        .arg("import")
        .arg(&model)
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    assert_eq!(fast, String::from_utf8(slow).unwrap());
}
