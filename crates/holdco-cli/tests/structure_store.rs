//! `holdco structure` from a SQLite store reads the compiled timeline (migration 0010) and
//! prints exactly what the replayed model prints (`HOLDCO_NO_TIMELINE_IMAGE=1`), as a table,
//! `--json` and `--csv`, on any date, and says the same when the group did not exist yet.

#[allow(dead_code)]
mod common;

use common::holdco;
use std::path::Path;

fn structure(db: &Path, image: bool, args: &[&str]) -> (bool, String, String) {
    let mut command = holdco(db);
    command
        .env("HOLDCO_TIMING", "1")
        .arg("structure")
        .args(args);
    if !image {
        command.env("HOLDCO_NO_TIMELINE_IMAGE", "1");
    }
    let output = command.output().unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn compare(db: &Path, dates: &[&str]) {
    for date in dates {
        for format in [None, Some("--json"), Some("--csv")] {
            for depth in [None, Some("1")] {
                let mut args = Vec::new();
                if !date.is_empty() {
                    args.extend(["--at", date]);
                }
                args.extend(format);
                if let Some(depth) = depth {
                    args.extend(["--depth", depth]);
                }
                let (ok, fast, timing) = structure(db, true, &args);
                let (slow_ok, slow, slow_timing) = structure(db, false, &args);
                assert!(
                    timing.contains("timeline image"),
                    "the image was not read: {timing}"
                );
                assert!(!slow_timing.contains("timeline image"));
                assert_eq!(ok, slow_ok, "{args:?}");
                assert_eq!(fast, slow, "{args:?}");
                if !ok {
                    let last = |text: &str| text.lines().last().unwrap_or("").to_string();
                    assert_eq!(last(&timing), last(&slow_timing), "{args:?}");
                }
            }
        }
    }
}

#[test]
fn structure_from_the_image_prints_what_the_replayed_model_prints() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("gen");
    let db = dir.path().join("store.db");
    holdco(&db)
        .arg("gen")
        .arg(&model)
        .args(["--units", "400", "--facts", "4000", "--changes", "900"])
        .args(["--months", "24", "--seed", "11"])
        .assert()
        .success();
    holdco(&db).arg("import").arg(&model).assert().success();
    compare(
        &db,
        &[
            "",
            "1990-01-01",
            "2015-04-15",
            "2016-02-29",
            "2017-01-01",
            "2030-12-31",
        ],
    );
    // The bundled example: stakes, spin-offs, renames over ten years.
    let example = dir.path().join("example.db");
    holdco(&example)
        .arg("import")
        .arg(common::example())
        .assert()
        .success();
    compare(&example, &["", "2016-03-31", "2021-01-01", "2023-09-11"]);
}
