//! The `holdco` binary on each store backend, and what faults do to a store: every command
//! answering the same on PostgreSQL as on SQLite; a PostgreSQL that is down; `kill -9` of a
//! real import at several moments; two imports at once; reads during an import.
//!
//! The PostgreSQL parts run in a schema of their own per test (`holdco_store::testing`); on
//! a machine without PostgreSQL they say they are skipped, and fail when `CI=true`.

mod common;

use common::{example, holdco};
use holdco_core::Model;
use holdco_store::testing::TestSchema;
use holdco_store::{open_store, ImportRecord};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// `holdco --db URL` for any store URL.
fn holdco_at(db: &str) -> assert_cmd::Command {
    holdco(Path::new(db))
}

/// `holdco --db DB import DIR` as a child process, its output discarded.
fn spawn_import(db: &str, dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_holdco"))
        .arg("--db")
        .arg(db)
        .arg("import")
        .arg(dir)
        .env_remove("HOLDCO_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// An import as the log records it: label, facts new, revised and unchanged.
type Logged = (String, usize, usize, usize);

/// What a store holds: its import log and current model.
fn state(db: &str) -> (Vec<Logged>, Option<Model>) {
    let store = open_store(db).unwrap_or_else(|error| panic!("{db}: {error}"));
    let imports = store
        .imports()
        .unwrap()
        .into_iter()
        .map(
            |ImportRecord {
                 label,
                 facts_new,
                 facts_revised,
                 facts_unchanged,
                 ..
             }| { (label, facts_new, facts_revised, facts_unchanged) },
        )
        .collect();
    (imports, store.load().unwrap())
}

/// A generated model folder with about `facts` facts.
fn generate(dir: &Path, facts: usize) -> PathBuf {
    let target = dir.join(format!("gen-{facts}"));
    holdco_at("unused.db")
        .args([
            "gen",
            &target.display().to_string(),
            "--units",
            "200",
            "--changes",
            "20",
            "--seed",
            "4",
        ])
        .args(["--facts", &facts.to_string()])
        .assert()
        .success();
    target
}

/// A copy of a model folder whose facts are rewritten: row `i` (of all facts files, in
/// order) is left out when `keep(i)` is false, and gets 0.5 added when `revise(i)`.
fn rewrite(
    source: &Path,
    target: &Path,
    keep: impl Fn(usize) -> bool,
    revise: impl Fn(usize) -> bool,
) -> PathBuf {
    std::fs::create_dir_all(target.join("facts")).unwrap();
    for name in [
        "group.toml",
        "timeline.toml",
        "fx.csv",
        "people.csv",
        "governance.toml",
    ] {
        if source.join(name).exists() {
            std::fs::copy(source.join(name), target.join(name)).unwrap();
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(source.join("facts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut row = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        let value_column = header.split(',').position(|c| c == "value").unwrap();
        let mut out = format!("{header}\n");
        for line in lines {
            let index = row;
            row += 1;
            if !keep(index) {
                continue;
            }
            let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
            if revise(index) {
                let value: f64 = cells[value_column].parse().unwrap();
                cells[value_column] = format!("{}", value + 0.5);
            }
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        std::fs::write(target.join("facts").join(file.file_name().unwrap()), out).unwrap();
    }
    target.to_path_buf()
}

/// A fresh, empty store: an SQLite file in `dir`, or a PostgreSQL schema.
enum Fresh<'a> {
    Sqlite(&'a Path),
    Postgres,
}

impl Fresh<'_> {
    /// A new empty store's URL, with the schema to drop after it (PostgreSQL).
    fn store(&self, name: &str) -> Option<(String, Option<TestSchema>)> {
        match self {
            Fresh::Sqlite(dir) => {
                Some((dir.join(format!("{name}.db")).display().to_string(), None))
            }
            Fresh::Postgres => {
                let schema = TestSchema::create(name)?;
                Some((schema.url.clone(), Some(schema)))
            }
        }
    }
}

#[test]
fn every_command_answers_the_same_on_postgres_as_on_sqlite() {
    let Some(schema) =
        TestSchema::create("every_command_answers_the_same_on_postgres_as_on_sqlite")
    else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let sqlite = dir.path().join("alibaba.db").display().to_string();
    let postgres = schema.url.clone();
    for db in [&sqlite, &postgres] {
        holdco_at(db)
            .arg("import")
            .arg(example())
            .assert()
            .success();
    }
    let commands: Vec<Vec<&str>> = vec![
        vec!["structure", "--at", "2024-01-01"],
        vec!["history", "xianyu"],
        vec!["rollup", "revenue", "--period", "FY2024"],
        vec![
            "rollup",
            "revenue",
            "--periods",
            "FY2024..FY2026",
            "--view",
            "restated",
            "--structure",
            "2025-04-01",
            "--json",
        ],
        vec![
            "explain",
            "revenue",
            "--node",
            "cloud_intelligence",
            "--period",
            "FY2024",
        ],
        vec!["reconcile"],
        vec!["revisions", "cloud_intelligence", "revenue", "FY2024"],
        vec!["classify", "--csv"],
        vec!["plan"],
        vec!["scenario", "list"],
        vec![
            "scenario",
            "run",
            "keep-cloud",
            "--paths",
            "500",
            "--seed",
            "1",
            "--json",
        ],
    ];
    for command in &commands {
        let run = |db: &str| {
            let output = holdco_at(db).args(command).output().unwrap();
            (
                output.status.code(),
                String::from_utf8_lossy(&output.stdout).into_owned(),
            )
        };
        let (on_sqlite, on_postgres) = (run(&sqlite), run(&postgres));
        // 0, or 1 where the answer is "differences found" (reconcile); never an error.
        assert!(
            matches!(on_sqlite.0, Some(0 | 1)),
            "{command:?} on SQLite: {:?}",
            on_sqlite.0
        );
        assert_eq!(
            on_postgres, on_sqlite,
            "{command:?}: PostgreSQL answers differently from SQLite"
        );
    }
    // Export writes the same files from both.
    let exported = |db: &str, name: &str| {
        let target = dir.path().join(name);
        holdco_at(db).arg("export").arg(&target).assert().success();
        holdco_folder::read(&target).unwrap()
    };
    assert_eq!(
        exported(&postgres, "from-postgres"),
        exported(&sqlite, "from-sqlite")
    );
    // A revising import and its history, the same way on both.
    let revised = rewrite(
        &example(),
        &dir.path().join("revised"),
        |_| true,
        |row| row == 3,
    );
    for db in [&sqlite, &postgres] {
        holdco_at(db).arg("import").arg(&revised).assert().success();
    }
    assert_eq!(state(&postgres).1, state(&sqlite).1);
}

#[test]
fn a_postgres_that_is_down_is_named_without_its_password() {
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://holdco:s3cret@127.0.0.1:{port}/team");
    for command in [
        vec!["rollup", "revenue", "--period", "FY2024"],
        vec!["import", &example().display().to_string()],
    ] {
        let output = holdco_at(&url).args(&command).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(
            stderr.contains(&format!("postgres://holdco:***@127.0.0.1:{port}/team")),
            "{stderr}"
        );
        assert!(stderr.contains("cannot connect"), "{stderr}");
        assert!(
            !stderr.contains("s3cret") && !stderr.contains("panicked"),
            "{stderr}"
        );
    }
    // An unknown kind of URL is refused before anything is created.
    let output = holdco_at("mysql://root:pw@localhost/db")
        .arg("structure")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("postgres://user@host/database"));
    assert!(!Path::new("mysql:").exists());
}

/// `kill -9` of `holdco import` at several moments of an import onto `before` (a store the
/// test fills with `setup` first): after each, the store holds the state before the import
/// or the state after it. Returns how many kills hit a running import.
fn kill_during_import(
    fresh: &Fresh<'_>,
    name: &str,
    setup: Option<&Path>,
    folder: &Path,
) -> Option<usize> {
    let prepare = |label: &str| -> Option<(String, Option<TestSchema>)> {
        let (db, schema) = fresh.store(&format!("{name}_{label}"))?;
        if let Some(setup) = setup {
            holdco_at(&db).arg("import").arg(setup).assert().success();
        }
        Some((db, schema))
    };
    // The reference: the same import, uninterrupted, and how long it takes.
    let (db, _schema) = prepare("reference")?;
    let before = state(&db);
    let started = Instant::now();
    let status = spawn_import(&db, folder).wait().unwrap();
    let took = started.elapsed();
    assert!(status.success(), "{name}: the uninterrupted import failed");
    let after = state(&db);
    assert_ne!(before, after);
    let mut hits = 0;
    for (moment, fraction) in [0.15, 0.4, 0.65, 0.9].into_iter().enumerate() {
        let (db, _schema) = prepare(&format!("kill{moment}"))?;
        let mut child = spawn_import(&db, folder);
        std::thread::sleep(took.mul_f64(fraction));
        if child.try_wait().unwrap().is_none() {
            hits += 1;
        }
        child.kill().ok(); // SIGKILL
        child.wait().unwrap();
        let now = state(&db);
        assert!(
            now == before || now == after,
            "{name}: killed at {fraction} of {took:?}, the store holds neither the state before the import nor after it \
             ({} imports)",
            now.0.len()
        );
        // The store stays usable: the import, run again, completes to the same state.
        assert!(
            spawn_import(&db, folder).wait().unwrap().success(),
            "{name}: import after the kill"
        );
        let again = state(&db);
        assert_eq!(
            again.1, after.1,
            "{name}: re-import after a kill at {fraction}"
        );
    }
    eprintln!("{name}: {hits} of 4 kills hit a running import ({took:?} uninterrupted)");
    Some(hits)
}

fn crash_story(fresh: Fresh<'_>, backend: &str) {
    let dir = TempDir::new().unwrap();
    let big = generate(dir.path(), 250_000);
    let small = generate(dir.path(), 60_000);
    // Every fifth fact revised, every seventh left out: the general merge on both backends.
    let revised = rewrite(
        &small,
        &dir.path().join("revised"),
        |row| row % 7 != 0,
        |row| row % 5 == 0,
    );
    let Some(first) = kill_during_import(&fresh, &format!("{backend}_first"), None, &big) else {
        return;
    };
    let Some(revising) = kill_during_import(
        &fresh,
        &format!("{backend}_revising"),
        Some(&small),
        &revised,
    ) else {
        return;
    };
    // Every fifth fact of the big folder revised, none left out: PostgreSQL merges it from
    // columns (SQLite takes the general merge).
    let big_revised = rewrite(
        &big,
        &dir.path().join("big-revised"),
        |_| true,
        |row| row % 5 == 0,
    );
    let Some(columns) = kill_during_import(
        &fresh,
        &format!("{backend}_columns"),
        Some(&big),
        &big_revised,
    ) else {
        return;
    };
    assert!(
        first + revising + columns > 0,
        "{backend}: no kill hit a running import"
    );
}

#[test]
fn kill_9_during_an_sqlite_import_leaves_the_state_before_or_after() {
    let dir = TempDir::new().unwrap();
    crash_story(Fresh::Sqlite(dir.path()), "sqlite");
}

#[test]
fn kill_9_during_a_postgres_import_leaves_the_state_before_or_after() {
    crash_story(Fresh::Postgres, "postgres");
}

/// Two `holdco import` processes at once into one store, each revising its own third of
/// the facts (and leaving the rest out): each either succeeds or fails with a clear message,
/// and the store ends with exactly the revisions of those that succeeded.
fn two_imports_at_once(fresh: Fresh<'_>, backend: &str) {
    let dir = TempDir::new().unwrap();
    let base = generate(dir.path(), 60_000);
    let one = rewrite(&base, &dir.path().join("one"), |row| row % 3 == 0, |_| true);
    let two = rewrite(&base, &dir.path().join("two"), |row| row % 3 == 1, |_| true);
    let Some((db, _schema)) = fresh.store(&format!("{backend}_two_at_once")) else {
        return;
    };
    holdco_at(&db).arg("import").arg(&base).assert().success();
    let children = [spawn_import(&db, &one), spawn_import(&db, &two)];
    let mut succeeded = Vec::new();
    for (child, folder) in children.into_iter().zip([&one, &two]) {
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() {
            succeeded.push(folder);
        } else {
            assert!(
                stderr.contains("busy") && !stderr.contains("panicked"),
                "{backend}: unclear failure: {stderr}"
            );
        }
    }
    assert!(!succeeded.is_empty(), "{backend}: neither import succeeded");
    // The same imports one after the other, into a fresh store.
    let Some((reference, _reference_schema)) = fresh.store(&format!("{backend}_two_reference"))
    else {
        return;
    };
    holdco_at(&reference)
        .arg("import")
        .arg(&base)
        .assert()
        .success();
    for folder in &succeeded {
        holdco_at(&reference)
            .arg("import")
            .arg(folder)
            .assert()
            .success();
    }
    let (imports, model) = state(&db);
    assert_eq!(imports.len(), 1 + succeeded.len(), "{backend}");
    assert_eq!(model, state(&reference).1, "{backend}: an update was lost");
}

#[test]
fn two_sqlite_imports_at_once_lose_nothing() {
    let dir = TempDir::new().unwrap();
    two_imports_at_once(Fresh::Sqlite(dir.path()), "sqlite");
}

#[test]
fn two_postgres_imports_at_once_lose_nothing() {
    two_imports_at_once(Fresh::Postgres, "postgres");
}

/// Issue 16, item 9: `rollup` processes started while a revising import runs all answer,
/// with the figures before the import or after it, never "database is locked".
fn rollups_during_an_import(fresh: Fresh<'_>, backend: &str) {
    let dir = TempDir::new().unwrap();
    let base = generate(dir.path(), 60_000);
    let revised = rewrite(
        &base,
        &dir.path().join("revised"),
        |_| true,
        |row| row % 2 == 0,
    );
    let Some((db, _schema)) = fresh.store(&format!("{backend}_rollups")) else {
        return;
    };
    holdco_at(&db).arg("import").arg(&base).assert().success();
    let rollup = || {
        holdco_at(&db)
            .args(["rollup", "revenue", "--period", "2016-01", "--csv"])
            .output()
            .unwrap()
    };
    let before = rollup();
    assert!(before.status.success());
    let mut import = spawn_import(&db, &revised);
    let mut answers = Vec::new();
    while import.try_wait().unwrap().is_none() {
        answers.push(rollup());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(import.wait().unwrap().success());
    let after = rollup();
    assert_ne!(
        before.stdout, after.stdout,
        "{backend}: the import changed no figure"
    );
    for answer in &answers {
        assert!(
            answer.status.success(),
            "{backend}: {}",
            String::from_utf8_lossy(&answer.stderr)
        );
        assert!(
            answer.stdout == before.stdout || answer.stdout == after.stdout,
            "{backend}: a roll-up saw part of the import"
        );
    }
    eprintln!("{backend}: {} roll-ups during the import", answers.len());
}

#[test]
fn sqlite_rollups_during_an_import_read_the_previous_state() {
    let dir = TempDir::new().unwrap();
    rollups_during_an_import(Fresh::Sqlite(dir.path()), "sqlite");
}

#[test]
fn postgres_rollups_during_an_import_read_the_previous_state() {
    rollups_during_an_import(Fresh::Postgres, "postgres");
}

/// The roll-up fast path on PostgreSQL: a large store answers from columns read straight
/// from the series rows; every row's value equals the in-memory engine's (`--exact`), and
/// every field of every row the SQLite store's.
#[test]
fn postgres_rollups_from_columns_equal_the_engine_and_sqlite() {
    let Some(schema) =
        TestSchema::create("postgres_rollups_from_columns_equal_the_engine_and_sqlite")
    else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let model = dir.path().join("big");
    let sqlite = dir.path().join("store.db").display().to_string();
    holdco_at(&sqlite)
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
    for db in [&sqlite, &schema.url] {
        holdco_at(db).arg("import").arg(&model).assert().success();
    }
    let rollup = |db: &str, exact: bool| {
        let mut command = holdco_at(db);
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
        (
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let (from_columns, timing) = rollup(&schema.url, false);
    assert!(
        timing.contains("facts into columns"),
        "the store path was not taken: {timing}"
    );
    let rows = |json: &str| -> Vec<serde_json::Value> {
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        value["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|row| row["kind"] == "node")
            .cloned()
            .collect()
    };
    let (exact, _) = rollup(&schema.url, true);
    let (fast, engine) = (rows(&from_columns), rows(&exact));
    assert!(!fast.is_empty());
    assert_eq!(fast.len(), engine.len());
    // Each node row's node, period and value (what the columnar path answers for; the same
    // comparison as tests/rollup_store.rs makes on SQLite).
    for (a, b) in fast.iter().zip(&engine) {
        assert_eq!(
            (&a["node"], &a["period"], &a["kind"]),
            (&b["node"], &b["period"], &b["kind"])
        );
        match (a["value"].as_f64(), b["value"].as_f64()) {
            (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-9 * (1.0 + x.abs()), "{a} vs {b}"),
            (x, y) => assert_eq!(x, y, "{a} vs {b}"),
        }
    }
    // Every field of every row the same as from the SQLite store.
    assert_eq!(
        from_columns,
        rollup(&sqlite, false).0,
        "PostgreSQL and SQLite disagree"
    );
    // After a revising import the PostgreSQL store still answers from columns (the revision
    // log's figures put in place), and still as SQLite does.
    let before_revision = from_columns.clone();
    let revised = rewrite(
        &model,
        &dir.path().join("revised"),
        |_| true,
        |row| row % 10 == 0,
    );
    for db in [&sqlite, &schema.url] {
        holdco_at(db).arg("import").arg(&revised).assert().success();
    }
    let (from_columns, timing) = rollup(&schema.url, false);
    assert!(
        timing.contains("facts into columns"),
        "the store path was not taken after a revision: {timing}"
    );
    assert_ne!(
        from_columns, before_revision,
        "the revision changed no figure"
    );
    assert_eq!(
        from_columns,
        rollup(&sqlite, false).0,
        "PostgreSQL and SQLite disagree after a revision"
    );
    let (exact, _) = rollup(&schema.url, true);
    for (a, b) in rows(&from_columns).iter().zip(&rows(&exact)) {
        match (a["value"].as_f64(), b["value"].as_f64()) {
            (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-9 * (1.0 + x.abs()), "{a} vs {b}"),
            (x, y) => assert_eq!(x, y, "{a} vs {b}"),
        }
    }
}

/// `holdco import --prune` (issue 10, item 10): facts deleted from the folder leave the
/// current model, each with a deletion revision (history kept); all or nothing; without the
/// flag they are kept and the import says so; a pruned fact imported again is its next
/// revision.
fn prune_story(fresh: Fresh<'_>, backend: &str) {
    let Some((db, _schema)) = fresh.store(&format!("prune_{backend}")) else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let model = common::example_copy(dir.path());
    holdco_at(&db).arg("import").arg(&model).assert().success();
    let quarters = std::fs::read(model.join("facts/quarters.csv")).unwrap();
    std::fs::remove_file(model.join("facts/quarters.csv")).unwrap();
    holdco_at(&db)
        .arg("import")
        .arg(&model)
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "71 fact(s) in the store are not in",
        ));
    // A folder with a problem is refused whole, --prune or not: nothing removed.
    let facts = model.join("facts/s3_four_segments.csv");
    let good = std::fs::read_to_string(&facts).unwrap();
    std::fs::write(
        &facts,
        format!("{good}nobody,FY2025,revenue,1,,,reported,,,,\n"),
    )
    .unwrap();
    holdco_at(&db)
        .args(["import", "--prune"])
        .arg(&model)
        .assert()
        .code(1);
    assert_eq!(state(&db).1.unwrap().facts.len(), 282, "{backend}");
    std::fs::write(&facts, good).unwrap();
    holdco_at(&db)
        .args(["import", "--prune"])
        .arg(&model)
        .assert()
        .success()
        .stdout(predicates::str::contains("removed 71 fact(s) not in"));
    let (log, current) = state(&db);
    assert_eq!(current.unwrap().facts.len(), 282 - 71, "{backend}");
    assert_eq!(log.len(), 3, "{backend}: the refused import left no record");
    let records = open_store(&db).unwrap().imports().unwrap();
    assert_eq!(records.last().unwrap().facts_deleted, 71, "{backend}");
    // The history stays: the deletion is the fact's second revision.
    let history = holdco_at(&db)
        .args(["revisions", "cloud_intelligence", "revenue", "FY2024Q1"])
        .assert()
        .success();
    let text = String::from_utf8(history.get_output().stdout.clone()).unwrap();
    assert!(text.contains("deleted (25,120)"), "{backend}: {text}");
    // Back in the folder, the facts are current again, as revisions.
    std::fs::write(model.join("facts/quarters.csv"), quarters).unwrap();
    holdco_at(&db)
        .args(["import", "--prune"])
        .arg(&model)
        .assert()
        .success()
        .stdout(predicates::str::contains("0 facts new, 71 revised"));
    assert_eq!(state(&db).1.unwrap().facts.len(), 282, "{backend}");
    // The notes and precisions came back with them.
    let back = state(&db).1.unwrap();
    let rounded = back
        .facts
        .iter()
        .find(|f| {
            f.key.unit.as_str() == "alibaba"
                && f.key.period.label(back.group.calendar()) == "FY2023Q3"
        })
        .unwrap();
    assert_eq!(rounded.precision, Some(1000.0), "{backend}");
    assert_eq!(
        rounded.note.as_deref(),
        Some("published rounded to RMB 1 billion"),
        "{backend}"
    );
}

#[test]
fn sqlite_import_prune_removes_what_the_folder_lost() {
    let dir = TempDir::new().unwrap();
    prune_story(Fresh::Sqlite(dir.path()), "sqlite");
}

#[test]
fn postgres_import_prune_removes_what_the_folder_lost() {
    prune_story(Fresh::Postgres, "postgres");
}
