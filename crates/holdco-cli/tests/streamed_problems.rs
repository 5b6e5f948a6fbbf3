//! A folder with problems is diagnosed with its fact files streamed (issue 16 item 7): `check`
//! and `import` must print exactly what the reference path prints (HOLDCO_REFERENCE_IMPORT=1,
//! one `Fact` per row), whatever the bad rows and wherever the windows cut the files, and
//! leave the store untouched.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::{Path, PathBuf};

#[allow(dead_code)]
mod common;

use common::holdco;

/// A generated folder of a few thousand facts, its fact file split in three.
fn generated(dir: &Path) -> PathBuf {
    let model = dir.join("gen");
    holdco(&dir.join("unused.db"))
        .args([
            "gen",
            &model.display().to_string(),
            "--units",
            "40",
            "--facts",
            "3000",
            "--changes",
            "30",
            "--months",
            "36",
        ])
        .assert()
        .success();
    let part = model.join("facts/part-0001.csv");
    let text = std::fs::read_to_string(&part).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let rows: Vec<&str> = lines.collect();
    let third = rows.len() / 3;
    std::fs::remove_file(&part).unwrap();
    for (index, piece) in rows.chunks(third.max(1)).enumerate() {
        std::fs::write(
            model.join(format!("facts/part-{:04}.csv", index + 1)),
            format!("{header}\n{}\n", piece.join("\n")),
        )
        .unwrap();
    }
    model
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// Exit code, stdout and stderr of a run, with the store's path spelled DB.
fn run(db: &Path, args: &[&str], reference: bool, window: usize) -> (i32, String, String) {
    let mut command = holdco(db);
    command.args(args);
    if reference {
        command.env("HOLDCO_REFERENCE_IMPORT", "1");
    } else {
        command.env("HOLDCO_STREAM_WINDOW", window.to_string());
    }
    let output = command.output().unwrap();
    let text =
        |bytes: &[u8]| String::from_utf8_lossy(bytes).replace(&db.display().to_string(), "DB");
    (
        output.status.code().unwrap_or(-1),
        text(&output.stdout),
        text(&output.stderr),
    )
}

/// Rows that are wrong in one way or another (in the generated files' columns: unit,
/// period, metric, value, currency, counterparty).
const BAD_ROWS: [&str; 12] = [
    "nowhere,2020-01,revenue,1,,",
    "u1,2020-01,revenue,x,,",
    "u1,2020-01,revenue,\"1,5\",,",
    "u1,2020-13,revenue,1,,",
    "u1,2020-01,nothing,1,,",
    "u1,2020-01,revenue,1,XXX,",
    "u1,2020-01,revenue,1,,u1",
    "u1,2020-01,revenue,1,,zz",
    "u1,2020-01,revenue,1,,,extra",
    "u1,2020-01",
    "",
    "u1,2020-01,revenue,\"two\nlines\",,",
];

#[test]
fn check_and_import_print_the_reference_problems_for_any_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let original = generated(dir.path());
    // A store holding the folder: a refused import must leave it as it is.
    let held = dir.path().join("held.db");
    holdco(&held)
        .arg("import")
        .arg(&original)
        .assert()
        .success();
    let before = run(&held, &["revisions"], true, 0);
    let mut runner = TestRunner::new(Config {
        cases: 12,
        ..Config::default()
    });
    let case = AtomicCase::default();
    runner
        .run(
            &(
                proptest::collection::vec((0usize..3, 0usize..2000, 0usize..BAD_ROWS.len()), 1..6),
                prop_oneof![Just(1usize << 20), 1usize..400],
                any::<bool>(),
            ),
            |(bad, window, duplicate)| {
                let model = dir.path().join(format!("case-{}", case.next()));
                copy(&original, &model);
                for (file, at, row) in &bad {
                    let path = model.join(format!("facts/part-{:04}.csv", file + 1));
                    let text = std::fs::read_to_string(&path).unwrap();
                    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
                    let at = 1 + at % lines.len();
                    lines.insert(at, BAD_ROWS[*row].to_string());
                    if duplicate {
                        let repeated = lines[1].clone();
                        lines.push(repeated);
                    }
                    std::fs::write(&path, format!("{}\n", lines.join("\n"))).unwrap();
                }
                let shown = model.display().to_string();
                // Each path writes to a store of its own (a blank line alone leaves the folder
                // valid, and then the import succeeds: the second path must not find the
                // first one's facts), both spelled DB in the output.
                let fresh = |path: &str| dir.path().join(format!("{}-{path}.db", case.current()));
                let (fresh_streamed, fresh_reference) = (fresh("s"), fresh("r"));
                for args in [
                    vec!["check", shown.as_str()],
                    vec!["import", shown.as_str()],
                ] {
                    let streamed = run(&fresh_streamed, &args, false, window);
                    let reference = run(&fresh_reference, &args, true, window);
                    prop_assert_eq!(&streamed, &reference);
                    if streamed.0 != 0 {
                        prop_assert!(
                            !fresh_streamed.exists(),
                            "a refused import creates no store"
                        );
                    }
                }
                let (held_streamed, held_reference) = (fresh("hs"), fresh("hr"));
                std::fs::copy(&held, &held_streamed).unwrap();
                std::fs::copy(&held, &held_reference).unwrap();
                let streamed = run(&held_streamed, &["import", &shown], false, window);
                let reference = run(&held_reference, &["import", &shown], true, window);
                prop_assert_eq!(&streamed, &reference);
                if streamed.0 != 0 {
                    prop_assert_eq!(&run(&held_streamed, &["revisions"], true, 0), &before);
                }
                let _ = std::fs::remove_dir_all(&model);
                Ok(())
            },
        )
        .unwrap();
}

/// Numbers the cases of the property above.
#[derive(Default)]
struct AtomicCase(std::sync::atomic::AtomicUsize);

impl AtomicCase {
    fn next(&self) -> usize {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// The number [`AtomicCase::next`] gave last.
    fn current(&self) -> usize {
        self.0
            .load(std::sync::atomic::Ordering::Relaxed)
            .saturating_sub(1)
    }
}

/// The example (strategy, capital, governance and scenario files): valid, then with a bad
/// row, the streamed path answers as the reference path.
#[test]
fn a_folder_with_strategy_files_gives_the_reference_answers() {
    let dir = tempfile::tempdir().unwrap();
    let model = common::example_copy(dir.path());
    let db = dir.path().join("new.db");
    let shown = model.display().to_string();
    let scenarios = model.join("scenarios");
    let kept_scenarios = dir.path().join("scenarios");
    for with_scenarios in [true, false] {
        if !with_scenarios {
            std::fs::rename(&scenarios, &kept_scenarios).unwrap();
        }
        let streamed = run(&db, &["check", &shown], false, 64);
        let reference = run(&db, &["check", &shown], true, 0);
        assert_eq!(streamed, reference);
        assert_eq!(streamed.0, 0, "{streamed:?}");
    }
    std::fs::rename(&kept_scenarios, &scenarios).unwrap();
    // A problem in strategy.toml alone (the facts are valid).
    let strategy = model.join("strategy.toml");
    let kept = std::fs::read_to_string(&strategy).unwrap();
    std::fs::write(&strategy, format!("{kept}\n[[nonsense]]\nx = 1\n")).unwrap();
    let streamed = run(&db, &["check", &shown], false, 64);
    assert_eq!(streamed, run(&db, &["check", &shown], true, 0));
    assert_eq!(streamed.0, 1, "{streamed:?}");
    std::fs::write(&strategy, kept).unwrap();
    // A bad row in a fact file.
    let facts = std::fs::read_dir(model.join("facts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "csv"))
        .unwrap();
    let mut text = std::fs::read_to_string(&facts).unwrap();
    let width = text.lines().next().unwrap().split(',').count();
    text.push_str(&format!("nowhere{}\n", ",".repeat(width - 1)));
    std::fs::write(&facts, text).unwrap();
    for window in [7, 1 << 20] {
        for args in [
            vec!["check", shown.as_str()],
            vec!["import", shown.as_str()],
        ] {
            let streamed = run(&db, &args, false, window);
            let reference = run(&db, &args, true, 0);
            assert_eq!(streamed, reference);
            assert_eq!(streamed.0, 1, "{streamed:?}");
            assert!(!db.exists());
        }
    }
}
