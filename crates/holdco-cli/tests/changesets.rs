//! `holdco changeset`, `holdco log` and `holdco revert` run as the binary, on SQLite and
//! PostgreSQL: the review flow, exit codes and outputs, imports recorded as change sets,
//! two approvers applying conflicting change sets at once (exactly one wins), and `kill -9`
//! of a real apply (the store holds the change set applied or not, never half).

mod common;

use common::{example, holdco};
use holdco_store::testing::TestSchema;
use holdco_store::{open_store, ChangesetState};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use tempfile::TempDir;

fn at(db: &str) -> assert_cmd::Command {
    holdco(Path::new(db))
}

/// A change set adding a unit with a figure and revising Cloud's FY2025 revenue.
const PATCH: &str = r#"{
  "timeline": "[[change]]\nid = \"create-ventures\"\ndate = 2025-06-01\nkind = \"create\"\nunit = \"ventures\"\nname = \"Ventures\"\nparent = \"alibaba\"\n",
  "facts": "unit,period,metric,value,currency,counterparty,basis,structure,source\nventures,FY2026,revenue,1200,,,,,board pack\ncloud_intelligence,FY2025,revenue,118100,,,restated,2025-04-01,restated figure\n"
}"#;

/// A rival change set revising the same figure.
const RIVAL: &str = r#"{
  "facts": "unit,period,metric,value,currency,counterparty,basis,structure,source\ncloud_intelligence,FY2025,revenue,117000,,,restated,2025-04-01,another restatement\n"
}"#;

/// The stores to run on: an SQLite file, and a PostgreSQL schema when a server answers.
fn stores(dir: &Path, test: &str) -> Vec<(String, Option<TestSchema>)> {
    let mut out = vec![(dir.join(format!("{test}.db")).display().to_string(), None)];
    if let Some(schema) = TestSchema::create(test) {
        out.push((schema.url.clone(), Some(schema)));
    }
    out
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_review_flow_from_the_command_line() {
    let dir = TempDir::new().unwrap();
    let patch = write(dir.path(), "patch.json", PATCH);
    for (db, _schema) in stores(dir.path(), "cli_flow") {
        // The import's output is unchanged, and it is the first entry of the log.
        at(&db)
            .arg("import")
            .arg(example())
            .assert()
            .success()
            .stdout(predicates::str::starts_with("imported "));
        let out = at(&db)
            .args([
                "changeset",
                "create",
                "--message",
                "add ventures",
                "--user",
                "ana",
                "--file",
            ])
            .arg(&patch)
            .assert()
            .success();
        let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        assert!(
            text.contains("change set 2 recorded as a draft by ana on revision 1"),
            "{text}"
        );
        assert!(
            text.contains("118,028") && text.contains("118,100"),
            "{text}"
        );
        assert!(text.contains("ventures"), "{text}");
        // Four eyes, from the command line: exit 1 with the rule named.
        at(&db)
            .args(["changeset", "submit", "2", "--user", "ana"])
            .assert()
            .success();
        at(&db)
            .args(["changeset", "approve", "2", "--user", "ana"])
            .assert()
            .code(1)
            .stderr(predicates::str::contains("four eyes"));
        at(&db)
            .args(["changeset", "approve", "2", "--user", "bo"])
            .assert()
            .success();
        at(&db)
            .args(["changeset", "apply", "2", "--user", "bo"])
            .assert()
            .success()
            .stdout(predicates::str::contains("revision 2"));
        // list, with --state and --json.
        let out = at(&db)
            .args(["changeset", "list", "--state", "applied", "--json"])
            .assert()
            .success();
        let rows: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        let ids: Vec<i64> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, vec![1, 2]);
        assert_eq!(rows[0]["kind"], "import");
        at(&db)
            .args(["changeset", "list", "--state", "done"])
            .assert()
            .failure()
            .stderr(predicates::str::contains("not a state"));
        // log: table, --csv, --json, --unit, --since.
        let out = at(&db)
            .args(["log", "--csv", "--unit", "ventures"])
            .assert()
            .success();
        let csv = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3, "{csv}");
        assert!(
            lines[0].starts_with("revision,base_revision,changeset,at,applied_by,author"),
            "{csv}"
        );
        assert!(
            lines[2].contains(",bo,ana,") && lines[2].contains("add ventures"),
            "{csv}"
        );
        let out = at(&db)
            .args(["log", "--json", "--since", "2999-01-01"])
            .assert()
            .success();
        assert_eq!(
            String::from_utf8_lossy(&out.get_output().stdout).trim(),
            "[]"
        );
        at(&db)
            .args(["log", "--since", "yesterday"])
            .assert()
            .failure();
        // show of the applied change set, then revert it and apply the revert.
        at(&db)
            .args(["changeset", "show", "2"])
            .assert()
            .success()
            .stdout(predicates::str::contains("applied as revision 2"));
        let before = open_store(&db).unwrap().load().unwrap().unwrap();
        at(&db)
            .args(["revert", "2", "--user", "cy"])
            .assert()
            .success()
            .stdout(predicates::str::contains(
                "change set 3 recorded as a draft by cy: the inverse of change set 2",
            ));
        at(&db)
            .args(["changeset", "submit", "3", "--user", "cy"])
            .assert()
            .success();
        at(&db)
            .args(["changeset", "approve", "3", "--user", "bo"])
            .assert()
            .success();
        at(&db)
            .args(["changeset", "apply", "3", "--user", "bo"])
            .assert()
            .success();
        let reverted = open_store(&db).unwrap().load().unwrap().unwrap();
        assert_ne!(before, reverted);
        // Re-importing the example changes nothing in the model: the revert gave it back.
        let original = holdco_core::format::read_model(&holdco_folder::read(&example()).unwrap())
            .0
            .unwrap();
        assert_eq!(reverted.timeline, original.timeline);
        let mut facts = original.facts.clone();
        facts.sort_by(|a, b| a.key.cmp(&b.key));
        assert_eq!(reverted.facts, facts);
        // Bad input: a fact for no unit names the file and line; nothing recorded.
        let bad = write(
            dir.path(),
            "bad.json",
            r#"{"facts": "unit,period,metric,value\nnowhere,FY2026,revenue,5\n"}"#,
        );
        at(&db)
            .args(["changeset", "create", "--message", "m", "--file"])
            .arg(&bad)
            .assert()
            .code(1)
            .stderr(predicates::str::contains("bad.json#/facts:2"));
        at(&db)
            .args(["changeset", "create", "--message", "", "--file"])
            .arg(&patch)
            .assert()
            .code(1)
            .stderr(predicates::str::contains("needs a message"));
        at(&db)
            .args(["changeset", "show", "99"])
            .assert()
            .code(1)
            .stderr(predicates::str::contains("there is no change set 99"));
        assert_eq!(open_store(&db).unwrap().changesets().unwrap().len(), 3);
    }
}

/// A folder patch: model files holding only what changes.
#[test]
fn a_folder_is_a_change_set_too() {
    let dir = TempDir::new().unwrap();
    let folder = dir.path().join("patch");
    std::fs::create_dir_all(&folder).unwrap();
    write(
        &folder,
        "facts.csv",
        "unit,period,metric,value,currency,counterparty,basis,structure,source\ncloud_intelligence,FY2025,revenue,118100,,,restated,2025-04-01,restated figure\n",
    );
    let db = dir.path().join("folder.db").display().to_string();
    at(&db).arg("import").arg(example()).assert().success();
    at(&db)
        .args([
            "changeset",
            "create",
            "--message",
            "restated cloud",
            "--user",
            "ana",
            "--json",
            "--folder",
        ])
        .arg(&folder)
        .assert()
        .success()
        .stdout(predicates::str::contains("\"id\": 2"));
    // group.toml is refused, naming the file.
    write(&folder, "group.toml", "");
    at(&db)
        .args(["changeset", "create", "--message", "m", "--folder"])
        .arg(&folder)
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "group.toml: a change set cannot change the group",
        ));
}

/// Two approvers apply two conflicting change sets made on the same revision, as two
/// processes at once: exactly one applies, the other is refused with a conflict (exit 1)
/// and the model holds the winner's figure.
#[test]
fn two_approvers_applying_conflicting_change_sets_exactly_one_wins() {
    let dir = TempDir::new().unwrap();
    let first = write(dir.path(), "first.json", PATCH);
    let second = write(dir.path(), "second.json", RIVAL);
    for (db, _schema) in stores(dir.path(), "cli_conflict") {
        at(&db).arg("import").arg(example()).assert().success();
        for (file, author) in [(&first, "ana"), (&second, "cy")] {
            at(&db)
                .args([
                    "changeset",
                    "create",
                    "--message",
                    "restate",
                    "--user",
                    author,
                    "--file",
                ])
                .arg(file)
                .assert()
                .success();
        }
        for (id, author) in [("2", "ana"), ("3", "cy")] {
            at(&db)
                .args(["changeset", "submit", id, "--user", author])
                .assert()
                .success();
            at(&db)
                .args(["changeset", "approve", id, "--user", "bo"])
                .assert()
                .success();
        }
        let spawn = |id: &str, user: &str| {
            Command::new(env!("CARGO_BIN_EXE_holdco"))
                .args(["--db", &db, "changeset", "apply", id, "--user", user])
                .env_remove("HOLDCO_DB")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let a = spawn("2", "bo");
        let b = spawn("3", "dee");
        let a = a.wait_with_output().unwrap();
        let b = b.wait_with_output().unwrap();
        let codes = [a.status.code(), b.status.code()];
        assert!(
            codes == [Some(0), Some(1)] || codes == [Some(1), Some(0)],
            "{db}: {codes:?}\n{}\n{}",
            String::from_utf8_lossy(&a.stderr),
            String::from_utf8_lossy(&b.stderr)
        );
        let loser = if codes[0] == Some(1) { &a } else { &b };
        assert!(
            String::from_utf8_lossy(&loser.stderr).contains("conflict"),
            "{}",
            String::from_utf8_lossy(&loser.stderr)
        );
        let store = open_store(&db).unwrap();
        let states: Vec<ChangesetState> = store
            .changesets()
            .unwrap()
            .iter()
            .map(|c| c.state)
            .collect();
        assert_eq!(
            states
                .iter()
                .filter(|s| **s == ChangesetState::Applied)
                .count(),
            2,
            "the import and one"
        );
        assert_eq!(store.audit().unwrap().len(), 2);
        assert_eq!(store.revision().unwrap(), 2);
        let winner = if codes[0] == Some(0) {
            118100.0
        } else {
            117000.0
        };
        let model = store.load().unwrap().unwrap();
        assert!(model
            .facts
            .iter()
            .any(|f| f.key.unit.as_str() == "cloud_intelligence"
                && f.key.basis != holdco_core::Basis::Reported
                && f.key.metric.as_str() == "revenue"
                && f.value == winner));
    }
}

/// What a store holds that an apply changes: the change sets' states, the audit trail's
/// revisions, the import log's length and the model.
type State = (
    Vec<ChangesetState>,
    Vec<i64>,
    usize,
    Option<holdco_core::Model>,
);

fn state(db: &str) -> State {
    let store = open_store(db).unwrap();
    (
        store
            .changesets()
            .unwrap()
            .iter()
            .map(|c| c.state)
            .collect(),
        store.audit().unwrap().iter().map(|a| a.revision).collect(),
        store.imports().unwrap().len(),
        store.load().unwrap(),
    )
}

/// A generated model, and a folder patch revising every one of its facts.
fn generated(dir: &Path, facts: usize) -> (PathBuf, PathBuf) {
    let model = dir.join("gen");
    at("unused.db")
        .args([
            "gen",
            &model.display().to_string(),
            "--units",
            "200",
            "--changes",
            "20",
            "--seed",
            "5",
        ])
        .args(["--facts", &facts.to_string()])
        .assert()
        .success();
    let patch = dir.join("revise");
    std::fs::create_dir_all(patch.join("facts")).unwrap();
    for entry in std::fs::read_dir(model.join("facts")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        let value = header.split(',').position(|c| c == "value").unwrap();
        let mut out = format!("{header}\n");
        for line in lines {
            let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
            let figure: f64 = cells[value].parse().unwrap();
            cells[value] = format!("{}", figure + 0.5);
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        std::fs::write(patch.join("facts").join(path.file_name().unwrap()), out).unwrap();
    }
    (model, patch)
}

/// A store holding the generated model and change set 2 (revising every fact) approved.
fn prepared(db: &str, model: &Path, patch: &Path) {
    at(db).arg("import").arg(model).assert().success();
    at(db)
        .args([
            "changeset",
            "create",
            "--json",
            "--message",
            "revise everything",
            "--user",
            "ana",
            "--folder",
        ])
        .arg(patch)
        .assert()
        .success();
    at(db)
        .args(["changeset", "submit", "2", "--user", "ana"])
        .assert()
        .success();
    at(db)
        .args(["changeset", "approve", "2", "--user", "bo"])
        .assert()
        .success();
}

fn spawn_apply(db: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_holdco"))
        .args(["--db", db, "changeset", "apply", "2", "--user", "bo"])
        .env_remove("HOLDCO_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// `kill -9` of `holdco changeset apply` at several moments: the store holds the state
/// before the apply or after it, and the apply, run again, completes.
fn kill_during_apply(
    make: &dyn Fn(&str) -> Option<(String, Option<TestSchema>)>,
    model: &Path,
    patch: &Path,
    name: &str,
) {
    let Some((db, _schema)) = make("reference") else {
        return;
    };
    prepared(&db, model, patch);
    let before = state(&db);
    let started = Instant::now();
    assert!(
        spawn_apply(&db).wait().unwrap().success(),
        "{name}: the uninterrupted apply failed"
    );
    let took = started.elapsed();
    let after = state(&db);
    assert_ne!(before.3, after.3);
    assert_eq!(after.0[1], ChangesetState::Applied);
    let mut hits = 0;
    for (moment, fraction) in [0.3, 0.6, 0.85].into_iter().enumerate() {
        let Some((db, _schema)) = make(&format!("kill{moment}")) else {
            return;
        };
        prepared(&db, model, patch);
        let mut child = spawn_apply(&db);
        std::thread::sleep(took.mul_f64(fraction));
        if child.try_wait().unwrap().is_none() {
            hits += 1;
        }
        child.kill().ok(); // SIGKILL
        child.wait().unwrap();
        let now = state(&db);
        assert!(
            (now.0.clone(), now.1.clone(), now.2) == (before.0.clone(), before.1.clone(), before.2)
                && now.3 == before.3
                || (now.0.clone(), now.1.clone(), now.2) == (after.0.clone(), after.1.clone(), after.2)
                    && now.3 == after.3,
            "{name}: killed at {fraction} of {took:?}: neither the state before the apply nor after it \
             (states {:?}, audit {:?}, imports {})",
            now.0,
            now.1,
            now.2
        );
        if now.0[1] == ChangesetState::Approved {
            assert!(
                spawn_apply(&db).wait().unwrap().success(),
                "{name}: apply after the kill"
            );
            assert_eq!(
                state(&db).3,
                after.3,
                "{name}: apply after a kill at {fraction}"
            );
        }
    }
    eprintln!("{name}: {hits} of 3 kills hit a running apply ({took:?} uninterrupted)");
    assert!(hits > 0, "{name}: no kill hit a running apply");
}

#[test]
fn kill_9_during_an_apply_leaves_it_applied_or_not() {
    let dir = TempDir::new().unwrap();
    let (model, patch) = generated(dir.path(), 15_000);
    let sqlite_dir = dir.path().to_path_buf();
    kill_during_apply(
        &|label| {
            Some((
                sqlite_dir
                    .join(format!("kill_{label}.db"))
                    .display()
                    .to_string(),
                None,
            ))
        },
        &model,
        &patch,
        "sqlite",
    );
    kill_during_apply(
        &|label| {
            let schema = TestSchema::create(&format!("changeset_kill_{label}"))?;
            Some((schema.url.clone(), Some(schema)))
        },
        &model,
        &patch,
        "postgres",
    );
}
