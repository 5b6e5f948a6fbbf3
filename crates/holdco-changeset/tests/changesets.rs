//! The rules of change sets (docs/semantics.md, "Change sets"), on every store backend:
//! review states, four eyes, conflicts, revert, audit entries, and the problems a change set
//! can have. PostgreSQL runs in a schema of its own per test (skipped without a server,
//! failed when `CI=true`).

use chrono::NaiveDate;
use holdco_changeset::{
    act, apply, create, current, log, patch, revert, show, Action, ChangesetError, Patch, Proposal,
};
use holdco_core::format::read_model;
use holdco_core::Model;
use holdco_store::testing::TestSchema;
use holdco_store::{ChangesetState, MemoryStore, PostgresStore, SqliteStore, Store, StoreError};
use std::path::Path;
use tempfile::TempDir;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
}

fn example() -> Model {
    let files =
        holdco_folder::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/alibaba"))
            .expect("the example folder reads");
    let (model, problems) = read_model(&files);
    assert!(problems.is_empty(), "{problems:#?}");
    model.unwrap()
}

/// A store of each backend holding the example, with what keeps it alive.
struct Backend {
    name: &'static str,
    store: Box<dyn Store>,
    _dir: Option<TempDir>,
    _schema: Option<TestSchema>,
}

fn backends(test: &str) -> Vec<Backend> {
    let model = example();
    let mut out = Vec::new();
    out.push(Backend {
        name: "memory",
        store: Box::new(MemoryStore::new()),
        _dir: None,
        _schema: None,
    });
    let dir = TempDir::new().unwrap();
    out.push(Backend {
        name: "sqlite",
        store: Box::new(SqliteStore::open(dir.path().join("holdco.db")).unwrap()),
        _dir: Some(dir),
        _schema: None,
    });
    if let Some(schema) = TestSchema::create(test) {
        out.push(Backend {
            name: "postgres",
            store: Box::new(PostgresStore::open(&schema.url).unwrap()),
            _dir: None,
            _schema: Some(schema),
        });
    }
    for backend in &mut out {
        // As `holdco import` does: an import recorded as an applied change set.
        let record = holdco_changeset::import_record(None, &model, "examples/alibaba", "setup", 0);
        backend
            .store
            .apply(&model, "examples/alibaba", &record)
            .unwrap();
    }
    out
}

/// A change set in the JSON form: a new unit under the group with a fact, and a revised
/// figure.
const PATCH: &str = r#"{
  "timeline": "[[change]]\nid = \"create-ventures\"\ndate = 2025-06-01\nkind = \"create\"\nunit = \"ventures\"\nname = \"Ventures\"\nparent = \"alibaba\"\n",
  "facts": "unit,period,metric,value,currency,counterparty,basis,structure,source\nventures,FY2026,revenue,1200,,,,,board pack\ncloud_intelligence,FY2025,revenue,118100,,,restated,2025-04-01,restated figure\n"
}"#;

fn parse(store: &dyn Store, text: &str) -> Patch {
    let (model, _) = current(store).unwrap();
    patch::from_json(text, &model).unwrap_or_else(|problems| panic!("{problems:#?}"))
}

fn propose(store: &mut dyn Store, text: &str, author: &str) -> i64 {
    let patch = parse(store, text);
    create(
        store,
        Proposal {
            patch,
            author,
            message: "add the ventures unit",
            kind: "patch",
            reverts: None,
        },
        today(),
    )
    .unwrap_or_else(|error| panic!("{error}"))
    .id
}

fn approve(store: &mut dyn Store, id: i64, author: &str, approver: &str) {
    act(store, id, Action::Submit, author, None).unwrap();
    act(store, id, Action::Approve, approver, None).unwrap();
}

fn patch_text() -> String {
    PATCH.to_string()
}

#[test]
fn state_machine_moves_only_along_its_arrows() {
    for mut backend in backends("state_machine") {
        let store = backend.store.as_mut();
        let id = propose(store, &patch_text(), "ana");
        assert_eq!(
            store.changeset(id).unwrap().unwrap().state,
            ChangesetState::Draft
        );
        // Not yet submitted: neither approved nor applied.
        assert!(matches!(
            act(store, id, Action::Approve, "bo", None),
            Err(ChangesetError::WrongState(_))
        ));
        assert!(matches!(
            apply(store, id, "bo"),
            Err(ChangesetError::WrongState(_))
        ));
        // Only the author submits and withdraws.
        assert!(matches!(
            act(store, id, Action::Submit, "bo", None),
            Err(ChangesetError::NotAllowed(_))
        ));
        act(store, id, Action::Submit, "ana", None).unwrap();
        act(store, id, Action::Reject, "bo", Some("figures unsourced")).unwrap();
        let record = store.changeset(id).unwrap().unwrap();
        assert_eq!(record.state, ChangesetState::Rejected, "{}", backend.name);
        // Final: nothing leaves it.
        for action in [
            Action::Submit,
            Action::Approve,
            Action::Reject,
            Action::Withdraw,
        ] {
            assert!(act(store, id, action, "bo", None).is_err());
            assert!(act(store, id, action, "ana", None).is_err());
        }
        let steps: Vec<(Option<ChangesetState>, ChangesetState, String)> = store
            .transitions(id)
            .unwrap()
            .into_iter()
            .map(|t| (t.from, t.to, t.actor))
            .collect();
        assert_eq!(
            steps,
            vec![
                (None, ChangesetState::Draft, "ana".to_string()),
                (
                    Some(ChangesetState::Draft),
                    ChangesetState::Submitted,
                    "ana".to_string()
                ),
                (
                    Some(ChangesetState::Submitted),
                    ChangesetState::Rejected,
                    "bo".to_string()
                ),
            ],
            "{}",
            backend.name
        );
        assert_eq!(
            store.transitions(id).unwrap()[2].note.as_deref(),
            Some("figures unsourced")
        );
        // A withdrawn change set is final too.
        let second = propose(store, &patch_text(), "ana");
        act(store, second, Action::Withdraw, "ana", None).unwrap();
        assert!(act(store, second, Action::Submit, "ana", None).is_err());
    }
}

#[test]
fn four_eyes_the_author_never_approves_or_applies() {
    for mut backend in backends("four_eyes") {
        let store = backend.store.as_mut();
        let id = propose(store, &patch_text(), "ana");
        act(store, id, Action::Submit, "ana", None).unwrap();
        let refused = act(store, id, Action::Approve, "ana", None).unwrap_err();
        assert!(refused.to_string().contains("four eyes"), "{refused}");
        act(store, id, Action::Approve, "bo", None).unwrap();
        let refused = apply(store, id, "ana").unwrap_err();
        assert!(
            refused.to_string().contains("four eyes"),
            "{}: {refused}",
            backend.name
        );
        let applied = apply(store, id, "bo").unwrap();
        assert_eq!(applied.changeset_id, id);
        assert_eq!(
            store.changeset(id).unwrap().unwrap().state,
            ChangesetState::Applied
        );
    }
}

#[test]
fn a_stale_change_set_is_a_conflict_naming_what_changed() {
    for mut backend in backends("conflict") {
        let store = backend.store.as_mut();
        let base = store.revision().unwrap();
        let first = propose(store, &patch_text(), "ana");
        let rival = PATCH_RIVAL;
        let second = propose(store, rival, "cy");
        approve(store, first, "ana", "bo");
        approve(store, second, "cy", "bo");
        let model_before_second = store.load().unwrap().unwrap();
        apply(store, first, "bo").unwrap();
        let after_first = store.load().unwrap().unwrap();
        assert_ne!(after_first, model_before_second);
        match apply(store, second, "dee") {
            Err(ChangesetError::Conflict {
                expected,
                current,
                since,
            }) => {
                assert_eq!(expected, base);
                assert_eq!(current, base + 1);
                assert_eq!(since.len(), 1);
                assert_eq!(since[0].changeset_id, first);
                let message = ChangesetError::Conflict {
                    expected,
                    current,
                    since,
                }
                .to_string();
                assert!(message.contains("add the ventures unit"), "{message}");
            }
            other => panic!("{}: expected a conflict, got {other:?}", backend.name),
        }
        // Nothing written: the model is the first's, the second is still approved.
        assert_eq!(store.load().unwrap().unwrap(), after_first);
        assert_eq!(
            store.changeset(second).unwrap().unwrap().state,
            ChangesetState::Approved
        );
        assert_eq!(
            store.audit().unwrap().len(),
            2,
            "{}: the import and the first",
            backend.name
        );
    }
}

/// The store's own check: an apply whose base moved on is refused inside the transaction
/// even when the caller did not look first.
#[test]
fn the_store_refuses_a_stale_base_inside_the_transaction() {
    for mut backend in backends("store_conflict") {
        let store = backend.store.as_mut();
        let model = store.load().unwrap().unwrap();
        let revision = store.revision().unwrap();
        let record =
            holdco_changeset::import_record(Some(&model), &model, "again", "ana", revision);
        let mut stale = record.clone();
        stale.expected_base = Some(revision - 1);
        let before = (store.imports().unwrap().len(), store.audit().unwrap().len());
        match store.apply(&model, "again", &stale) {
            Err(StoreError::Conflict { expected, current }) => {
                assert_eq!((expected, current), (revision - 1, revision));
            }
            other => panic!("{}: {other:?}", backend.name),
        }
        assert_eq!(
            before,
            (store.imports().unwrap().len(), store.audit().unwrap().len())
        );
        let mut fresh = record;
        fresh.expected_base = Some(revision);
        assert_eq!(
            store.apply(&model, "again", &fresh).unwrap().revision,
            revision + 1
        );
    }
}

const PATCH_RIVAL: &str = r#"{
  "facts": "unit,period,metric,value,currency,counterparty,basis,structure,source\ncloud_intelligence,FY2025,revenue,117000,,,restated,2025-04-01,another restatement\n"
}"#;

#[test]
fn apply_then_revert_gives_the_original_model() {
    for mut backend in backends("revert") {
        let store = backend.store.as_mut();
        let original = store.load().unwrap().unwrap();
        // Revise, add and remove facts, a rate-free timeline change, and a document.
        let text = r#"{
          "timeline": "[[change]]\nid = \"create-ventures\"\ndate = 2025-06-01\nkind = \"create\"\nunit = \"ventures\"\nname = \"Ventures\"\nparent = \"alibaba\"\n",
          "facts": "unit,period,metric,value,currency,counterparty,basis,structure,source\nventures,FY2026,revenue,1200,,,,,board pack\ncloud_intelligence,FY2025,revenue,118100,,,restated,2025-04-01,restated figure\n",
          "remove": {"facts": [{"unit": "cloud_intelligence", "period": "FY2024", "metric": "adjusted_ebita", "basis": "restated", "structure": "2025-04-01"}]}
        }"#;
        let id = propose(store, text, "ana");
        approve(store, id, "ana", "bo");
        apply(store, id, "bo").unwrap();
        let changed = store.load().unwrap().unwrap();
        assert_ne!(changed, original);
        assert_eq!(changed.facts.len(), original.facts.len());
        let inverse = revert(store, id, "cy", None, today()).unwrap();
        let record = store.changeset(inverse.id).unwrap().unwrap();
        assert_eq!((record.kind.as_str(), record.reverts), ("revert", Some(id)));
        assert_eq!(record.state, ChangesetState::Draft);
        approve(store, inverse.id, "cy", "bo");
        apply(store, inverse.id, "bo").unwrap();
        let reverted = store.load().unwrap().unwrap();
        assert_eq!(reverted.timeline, original.timeline, "{}", backend.name);
        assert_eq!(reverted.facts, original.facts, "{}", backend.name);
        assert_eq!(reverted, original, "{}", backend.name);
        // A removed fact comes back; a revised one has its former figure as a new revision.
        let key = original
            .facts
            .iter()
            .find(|f| {
                f.key.unit.as_str() == "cloud_intelligence"
                    && f.value == 118028.0
                    && f.key.basis != holdco_core::Basis::Reported
            })
            .unwrap()
            .key
            .clone();
        let history = store.fact_history(&key).unwrap();
        let values: Vec<f64> = history.iter().map(|r| r.value).collect();
        assert_eq!(
            values,
            vec![118028.0, 118100.0, 118028.0],
            "{}",
            backend.name
        );
    }
}

#[test]
fn every_apply_is_an_audit_entry_with_who_when_why_and_the_diff() {
    for mut backend in backends("audit") {
        let store = backend.store.as_mut();
        let id = propose(store, &patch_text(), "ana");
        approve(store, id, "ana", "bo");
        let applied = apply(store, id, "bo").unwrap();
        let audit = store.audit().unwrap();
        assert_eq!(
            audit.len(),
            2,
            "{}: the import and the change set",
            backend.name
        );
        let entry = &audit[1];
        assert_eq!(entry.changeset_id, id);
        assert_eq!(entry.actor, "bo");
        assert_eq!(entry.author, "ana");
        assert_eq!(entry.message, "add the ventures unit");
        assert_eq!(entry.revision, applied.revision);
        assert_eq!(entry.base_revision, applied.revision - 1);
        assert!(entry.at > 1_700_000_000);
        assert_eq!(
            entry.units,
            vec!["alibaba", "cloud_intelligence", "ventures"]
        );
        let diff = holdco_changeset::decode_diff(entry).unwrap();
        assert_eq!(diff.timeline_added.len(), 1);
        assert_eq!(diff.facts.len(), 2);
        let revised = diff.facts.iter().find(|f| f.before.is_some()).unwrap();
        assert_eq!(revised.before.as_ref().unwrap().value, 118028.0);
        assert_eq!(revised.after.as_ref().unwrap().value, 118100.0);
        // The import that loaded the example is the first entry.
        assert_eq!(audit[0].revision, 1);
        let imported = store.changeset(audit[0].changeset_id).unwrap().unwrap();
        assert_eq!(imported.kind, "import");
        // holdco log: by unit, and since a date.
        let entries = log(store, Some("ventures"), None).unwrap();
        assert_eq!(entries.len(), 2, "the import touches the whole group");
        assert_eq!(
            entries[1].summary,
            "1 change added, 1 fact new, 1 fact revised"
        );
        assert_eq!(log(store, Some("nobody"), None).unwrap().len(), 1);
        assert!(log(
            store,
            None,
            Some(NaiveDate::from_ymd_opt(2999, 1, 1).unwrap())
        )
        .unwrap()
        .is_empty());
    }
}

#[test]
fn problems_name_the_json_pointer_and_line() {
    let model = example();
    // A fact for a unit that does not exist, on line 3 of the facts fragment.
    let text = r#"{"facts": "unit,period,metric,value\ncloud_intelligence,FY2026,revenue,1\nnowhere,FY2026,revenue,5\n"}"#;
    let patch = patch::from_json(text, &model).unwrap();
    let problems = holdco_changeset::evaluate(&model, &patch).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].file, "patch.json#/facts");
    assert_eq!(problems[0].line, Some(3));
    assert!(problems[0].message.contains("nowhere"), "{}", problems[0]);
    // A bad value on line 2.
    let text = r#"{"facts": "unit,period,metric,value\ncloud_intelligence,FY2026,revenue,lots\n"}"#;
    let problems = patch::from_json(text, &model).unwrap_err();
    assert_eq!(
        (problems[0].file.as_str(), problems[0].line),
        ("patch.json#/facts", Some(2))
    );
    assert_eq!(problems[0].field.as_deref(), Some("value"));
    // Removals name their pointer and field.
    let text = r#"{"remove": {"facts": [{"unit": "cloud_intelligence", "period": "FY20X", "metric": "revenue"}], "changes": ["no-such-change"]}}"#;
    let problems = patch::from_json(text, &model).unwrap_err();
    let places: Vec<(String, Option<String>)> = problems
        .iter()
        .map(|p| (p.file.clone(), p.field.clone()))
        .collect();
    assert!(
        places.contains(&("patch.json#/remove/changes/0".into(), None)),
        "{places:?}"
    );
    assert!(
        places.contains(&("patch.json#/remove/facts/0".into(), Some("period".into()))),
        "{places:?}"
    );
    // Unknown fields and bad JSON: refused with the line.
    let problems = patch::from_json("{\n \"fact\": \"\"\n}", &model).unwrap_err();
    assert_eq!(problems[0].line, Some(2));
    assert!(
        problems[0].message.contains("unknown field"),
        "{}",
        problems[0]
    );
}

#[test]
fn a_change_set_needs_a_message_and_a_change() {
    let mut store = MemoryStore::new();
    store.import(&example(), "examples/alibaba").unwrap();
    let patch = parse(&store, &patch_text());
    let no_message = create(
        &mut store,
        Proposal {
            patch,
            author: "ana",
            message: "  ",
            kind: "patch",
            reverts: None,
        },
        today(),
    );
    assert!(matches!(no_message, Err(ChangesetError::NoMessage)));
    // The same figure again changes nothing.
    let same = r#"{"facts": "unit,period,metric,value,currency,counterparty,basis,structure,source\ncloud_intelligence,FY2025,revenue,118028,,,restated,2025-04-01,http://archive.fast-edgar.com/20260520/AN2L462EZW2RNZZ2222N2ZYO4RTFZZ22D282/R66.htm\n"}"#;
    let patch = parse(&store, same);
    let empty = create(
        &mut store,
        Proposal {
            patch,
            author: "ana",
            message: "nothing",
            kind: "patch",
            reverts: None,
        },
        today(),
    );
    assert!(matches!(empty, Err(ChangesetError::Empty)), "{empty:?}");
    assert!(store.changesets().unwrap().is_empty());
}

#[test]
fn the_preview_shows_structure_and_restated_cells_before_and_after() {
    let mut store = MemoryStore::new();
    store.import(&example(), "examples/alibaba").unwrap();
    let patch = parse(&store, &patch_text());
    let created = create(
        &mut store,
        Proposal {
            patch,
            author: "ana",
            message: "m",
            kind: "patch",
            reverts: None,
        },
        today(),
    )
    .unwrap();
    let preview = &created.preview;
    assert_eq!(preview.periods, vec!["FY2025", "FY2026"]);
    assert_eq!(preview.new_units.len(), 1);
    assert_eq!(preview.new_units[0].unit, "ventures");
    assert_eq!(preview.new_units[0].parent.as_deref(), Some("alibaba"));
    assert!(preview.moved.is_empty() && preview.gone_units.is_empty());
    let cell = |node: &str, period: &str| {
        preview
            .cells
            .iter()
            .find(|c| {
                c.metric == "revenue" && c.node == node && c.period == period && c.kind == "node"
            })
            .unwrap_or_else(|| panic!("{node} {period}: {:#?}", preview.cells))
    };
    let cloud = cell("cloud_intelligence", "FY2025");
    assert_eq!(
        (cloud.before, cloud.after),
        (Some(118028.0), Some(118100.0))
    );
    let ventures = cell("ventures", "FY2026");
    assert_eq!((ventures.before, ventures.after), (None, Some(1200.0)));
    // Of FY2025 revenue only cloud and the group's unexplained remainder change (the group
    // total is published, so it stays).
    let revenue_2025: Vec<(&str, &str)> = preview
        .cells
        .iter()
        .filter(|c| c.metric == "revenue" && c.period == "FY2025")
        .map(|c| (c.node.as_str(), c.kind.as_str()))
        .collect();
    assert_eq!(
        revenue_2025,
        vec![("alibaba", "own"), ("cloud_intelligence", "node")],
        "{:#?}",
        preview.cells
    );
    // show gives the same preview while the change set is a draft.
    let shown = show(&store, created.id, today()).unwrap();
    assert_eq!(shown.preview.as_ref(), Some(preview));
    assert!(!shown.stale);
}

#[test]
fn a_change_set_that_breaks_the_model_is_refused_with_the_check_diagnostics() {
    let mut store = MemoryStore::new();
    store.import(&example(), "examples/alibaba").unwrap();
    // Removing the group's creation leaves every other change and fact dangling.
    let text = r#"{"remove": {"changes": ["s0-create-core-commerce"]}}"#;
    let patch = parse(&store, text);
    let refused = create(
        &mut store,
        Proposal {
            patch,
            author: "ana",
            message: "m",
            kind: "patch",
            reverts: None,
        },
        today(),
    );
    match refused {
        Err(ChangesetError::Invalid(problems)) => {
            assert!(!problems.is_empty());
            assert!(
                problems.iter().any(|p| p.message.contains("core_commerce")),
                "{problems:#?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(store.changesets().unwrap().is_empty());
}

/// Removing a fact by change set writes a deletion revision, as `import --prune` does: the
/// fact leaves the current model but its history stays, and a revert brings it back as a
/// new revision (semantics C11).
#[test]
fn removing_a_fact_keeps_its_history_as_a_deletion_revision() {
    for mut backend in backends("removal") {
        let store = backend.store.as_mut();
        let name = backend.name;
        let original = store.load().unwrap().unwrap();
        let removed = original
            .facts
            .iter()
            .find(|f| {
                f.key.unit.as_str() == "cloud_intelligence"
                    && f.key.metric.as_str() == "adjusted_ebita"
                    && f.key.basis != holdco_core::Basis::Reported
                    && f.key.period.label(original.group.calendar()) == "FY2024"
            })
            .unwrap_or_else(|| panic!("{name}: the example has the fact"))
            .clone();
        assert_eq!(store.fact_history(&removed.key).unwrap().len(), 1, "{name}");
        let text = r#"{"remove": {"facts": [{"unit": "cloud_intelligence", "period": "FY2024", "metric": "adjusted_ebita", "basis": "restated", "structure": "2025-04-01"}]}}"#;
        let id = propose(store, text, "ana");
        approve(store, id, "ana", "bo");
        let applied = apply(store, id, "bo").unwrap();
        assert_eq!(applied.summary.facts_deleted, 1, "{name}");
        let after = store.load().unwrap().unwrap();
        assert!(
            !after.facts.iter().any(|f| f.key == removed.key),
            "{name}: the fact left the current model"
        );
        assert_eq!(after.facts.len(), original.facts.len() - 1, "{name}");
        let history = store.fact_history(&removed.key).unwrap();
        let kept: Vec<(f64, bool, i64)> = history
            .iter()
            .map(|r| (r.value, r.deleted, r.import_id))
            .collect();
        assert_eq!(
            kept,
            vec![
                (removed.value, false, history[0].import_id),
                (removed.value, true, applied.revision)
            ],
            "{name}: the first figure and the deletion by the change set's revision"
        );
        assert_eq!(
            store.imports().unwrap().last().unwrap().facts_deleted,
            1,
            "{name}"
        );
        // The revert brings the figure back as a new revision; the history holds all three.
        let inverse = revert(store, id, "cy", None, today()).unwrap();
        approve(store, inverse.id, "cy", "bo");
        apply(store, inverse.id, "bo").unwrap();
        let history = store.fact_history(&removed.key).unwrap();
        let states: Vec<(u32, f64, bool)> = history
            .iter()
            .map(|r| (r.revision, r.value, r.deleted))
            .collect();
        assert_eq!(
            states,
            vec![
                (1, removed.value, false),
                (2, removed.value, true),
                (3, removed.value, false)
            ],
            "{name}"
        );
        assert_eq!(store.load().unwrap().unwrap(), original, "{name}");
    }
}

#[test]
fn a_capital_toml_document_is_checked_as_holdco_check_checks_it() {
    // What the dashboard's "Submit draft as change set" sends (semantics C14): the whole
    // capital.toml with amounts rewritten. A valid one is a change of that document only.
    let model = example();
    let stored = model.documents["capital.toml"].clone();
    let edited = stored.replacen("total = 380000", "total = 300000", 1);
    let text = serde_json::json!({ "documents": { "capital.toml": edited } }).to_string();
    let patch = patch::from_json(&text, &model).unwrap();
    let (after, diff) = holdco_changeset::evaluate(&model, &patch).unwrap();
    assert_eq!(diff.documents.len(), 1);
    assert_eq!(diff.documents[0].path, "capital.toml");
    assert_eq!(diff.documents[0].before.as_deref(), Some(stored.as_str()));
    assert_eq!(diff.units(), vec!["*".to_string()]);
    let capital = holdco_strategy::check(&after).0.capital.unwrap();
    assert_eq!(capital.total, Some(300000.0));
    // A floor on a unit the timeline never created: `holdco check`'s diagnostic, at the
    // floor's line in the document.
    let line = stored
        .lines()
        .position(|l| l.starts_with("[[floor]]"))
        .expect("the example has a floor")
        + 1;
    let broken = stored.replacen("[[floor]]\nunit = \"", "[[floor]]\nunit = \"nowhere_", 1);
    assert_ne!(broken, stored);
    let text = serde_json::json!({ "documents": { "capital.toml": broken } }).to_string();
    let patch = patch::from_json(&text, &model).unwrap();
    let problems = holdco_changeset::evaluate(&model, &patch).unwrap_err();
    let mut after = model.clone();
    after
        .documents
        .insert("capital.toml".into(), broken.clone());
    assert_eq!(
        problems,
        holdco_changeset::validate(&after),
        "the same diagnostics as `holdco check` on the model with that capital.toml"
    );
    assert!(
        problems.iter().any(|p| p.file.ends_with("capital.toml")
            && p.line == Some(line as u32)
            && p.message.contains("nowhere_")),
        "{problems:#?}"
    );
    // A capital.toml that is not TOML: read as a document, refused by the check with the line.
    let text = serde_json::json!({ "documents": { "capital.toml": "[capital\n" } }).to_string();
    let patch = patch::from_json(&text, &model).unwrap();
    let problems = holdco_changeset::evaluate(&model, &patch).unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.file == "capital.toml" && p.line == Some(1)),
        "{problems:#?}"
    );
}
