//! The columnar import ([`SqliteStore::import_columns`], and PostgreSQL's) stores exactly
//! what the reference import of the same facts as a model stores: the same rows, the same
//! model read back, the same histories, and later imports merge with it the same way.

use holdco_core::format::fact_columns::read_model_columns;
use holdco_core::format::{read_model, write_model};
use holdco_core::synth::{Synth, SynthSpec};
use holdco_core::{Basis, Currency, Model};
use holdco_store::{SqliteStore, Store};
use tempfile::TempDir;

/// A generated group with a few sources, plan and restated figures mixed in.
fn generated(seed: u64) -> Model {
    let spec = SynthSpec {
        units: 40,
        facts: 6_000,
        changes: 25,
        seed,
        months: Some(30),
        ..SynthSpec::default()
    };
    let mut model = Synth::generate(&spec).into_model();
    let late = model
        .timeline
        .iter()
        .map(|change| change.date)
        .max()
        .expect("changes");
    for (index, fact) in model.facts.iter_mut().enumerate() {
        match index % 97 {
            0 => fact.source = Some(format!("annual report {} p {}", index % 5, index % 3)),
            1 => fact.key.basis = Basis::Plan,
            2 => fact.key.basis = Basis::Restated { structure: late },
            3 if fact.currency.is_none() => fact.currency = Some(Currency::parse("usd").unwrap()),
            _ => {}
        }
    }
    model
}

/// Every row of a table or view, as text, in a fixed order.
fn rows(path: &std::path::Path, sql: &str) -> Vec<Vec<String>> {
    let connection = rusqlite::Connection::open(path).unwrap();
    let mut statement = connection.prepare(sql).unwrap();
    let width = statement.column_count();
    let rows = statement
        .query_map([], |row| {
            (0..width)
                .map(|index| row.get_ref(index).map(|value| format!("{value:?}")))
                .collect::<Result<Vec<String>, _>>()
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows
}

const FACT_ROWS: &str = "SELECT unit, granularity, metric, counterparty, basis, structure, import_id, periods,
    figures, extras, superseded FROM facts ORDER BY unit, granularity, metric, counterparty, basis, structure";
const CURRENT: &str = "SELECT * FROM current_facts
    ORDER BY unit, period_start, granularity, metric, counterparty, basis, structure";

/// A folder's model and its columns (sorted by period within each series).
fn columns_of(model: &Model) -> (Model, holdco_core::format::fact_columns::FactColumns) {
    let (without_facts, mut columns) =
        read_model_columns(&write_model(model)).expect("a folder the fast reader takes");
    assert!(columns.sort_series());
    (without_facts, columns)
}

/// Both stores hold the same rows, model and import log.
fn assert_same(
    fast: &SqliteStore,
    fast_path: &std::path::Path,
    slow: &SqliteStore,
    slow_path: &std::path::Path,
) {
    assert_eq!(fast.load().unwrap(), slow.load().unwrap());
    assert_eq!(rows(fast_path, FACT_ROWS), rows(slow_path, FACT_ROWS));
    assert_eq!(rows(fast_path, CURRENT), rows(slow_path, CURRENT));
    assert_eq!(
        rows(fast_path, "SELECT count(*) FROM fact_revisions"),
        rows(slow_path, "SELECT count(*) FROM fact_revisions")
    );
    let log = "SELECT id, label, facts_new, facts_revised, facts_unchanged FROM imports";
    assert_eq!(rows(fast_path, log), rows(slow_path, log));
}

#[test]
fn columns_store_what_the_reference_import_stores() {
    for seed in [1, 2, 3] {
        let full = generated(seed);
        let mut partial = full.clone();
        partial.facts = full
            .facts
            .iter()
            .enumerate()
            .filter(|(index, _)| index % 5 != 0)
            .map(|(_, fact)| fact.clone())
            .collect();
        let files = write_model(&partial);
        let (reference, problems) = read_model(&files);
        assert!(problems.is_empty(), "{problems:?}");
        let reference = reference.unwrap();
        let (without_facts, mut columns) =
            read_model_columns(&files).expect("a folder the fast reader takes");
        assert_eq!(columns.len(), reference.facts.len());
        // The mixed-in figures make some generated groups invalid (a restated figure of a
        // unit gone by then, a currency on headcount): the columnar check says so exactly when
        // the reference check finds a problem. The store takes them either way.
        let (_, problems) = holdco_core::bulk_validate::validate(&reference);
        assert_eq!(
            holdco_core::bulk_validate::columns_valid(&without_facts, &mut columns),
            problems.is_empty()
        );
        assert!(columns.sort_series());

        let folder = TempDir::new().unwrap();
        let (slow_path, fast_path) = (folder.path().join("slow.db"), folder.path().join("fast.db"));
        let mut slow = SqliteStore::open(&slow_path).unwrap();
        let mut fast = SqliteStore::open(&fast_path).unwrap();
        assert!(!fast.holds_facts().unwrap());
        let slow_summary = slow.import(&reference, "folder").unwrap();
        let fast_summary = fast
            .import_columns(&without_facts, &columns, "folder")
            .unwrap()
            .expect("a store without facts");
        assert_eq!(fast_summary, slow_summary);
        assert!(fast.holds_facts().unwrap());
        assert!(!fast.holds_revisions().unwrap());
        assert_same(&fast, &fast_path, &slow, &slow_path);
        for fact in reference.facts.iter().step_by(211) {
            let mut fast_history = fast.fact_history(&fact.key).unwrap();
            let mut slow_history = slow.fact_history(&fact.key).unwrap();
            assert_eq!(fast_history.len(), 1);
            fast_history[0].imported_at = 0;
            slow_history[0].imported_at = 0;
            assert_eq!(fast_history, slow_history);
        }

        // The same folder again: every fact unchanged, nothing written.
        let a = fast
            .import_columns(&without_facts, &columns, "again")
            .unwrap()
            .expect("unchanged facts");
        let b = slow.import(&reference, "again").unwrap();
        assert_eq!(
            (a.facts_new, a.facts_revised, a.facts_unchanged),
            (b.facts_new, b.facts_revised, b.facts_unchanged)
        );
        assert_eq!((a.facts_new, a.facts_unchanged), (0, reference.facts.len()));
        assert_same(&fast, &fast_path, &slow, &slow_path);

        // The whole group: the missing fifth comes as new segments, the rest unchanged.
        let (full_without_facts, full_columns) = columns_of(&full);
        let a = fast
            .import_columns(&full_without_facts, &full_columns, "full")
            .unwrap()
            .expect("new and unchanged facts");
        let (full_reference, _) = read_model(&write_model(&full));
        let full_reference = full_reference.unwrap();
        let b = slow.import(&full_reference, "full").unwrap();
        assert_eq!(
            (a.facts_new, a.facts_revised, a.facts_unchanged),
            (b.facts_new, b.facts_revised, b.facts_unchanged)
        );
        assert!(a.facts_new > 0 && a.facts_unchanged > 0);
        assert_same(&fast, &fast_path, &slow, &slow_path);

        // A folder lacking stored facts needs the reference merge (the merged model must be
        // validated): the columnar import answers None and writes nothing.
        assert!(fast
            .import_columns(&without_facts, &columns, "partial")
            .unwrap()
            .is_none());
        assert_same(&fast, &fast_path, &slow, &slow_path);
        // Revising figures (currencies and sources too), again on top of a revision log, back
        // to earlier figures, and through the reference import in between: the columnar
        // merge writes exactly what the reference import writes (issue 11 item 2: revisions
        // no longer send a store to the slow path).
        let revise = |model: &Model, step: usize, by: f64| {
            let mut revised = model.clone();
            for (index, fact) in revised
                .facts
                .iter_mut()
                .enumerate()
                .filter(|(i, _)| i % step == 0)
            {
                fact.value += by;
                match index % 3 {
                    0 => fact.source = Some(format!("restated {by}")),
                    1 => fact.source = None,
                    _ => {}
                }
            }
            revised
        };
        let first = revise(&full_reference, 7, 1.0);
        let second = revise(&first, 3, 2.5);
        let back = revise(&full_reference, 7, 1.0);
        let general = revise(&second, 11, -4.0);
        for (label, model, columnar) in [
            ("revised", &first, true),
            ("revised again", &second, true),
            ("general", &general, false),
            ("back", &back, true),
            ("back again", &back, true),
        ] {
            let a = if columnar {
                let (without_facts, columns) = columns_of(model);
                fast.import_columns(&without_facts, &columns, label)
                    .unwrap()
                    .expect("every stored key held")
            } else {
                fast.import(model, label).unwrap()
            };
            let b = slow.import(model, label).unwrap();
            assert_eq!(
                (a.facts_new, a.facts_revised, a.facts_unchanged),
                (b.facts_new, b.facts_revised, b.facts_unchanged),
                "{label}"
            );
            assert_eq!(a.facts_revised > 0, label != "back again", "{label}");
            assert_same(&fast, &fast_path, &slow, &slow_path);
            for fact in model.facts.iter().step_by(7).take(50) {
                let strip = |mut history: Vec<holdco_store::FactRevision>| {
                    history.iter_mut().for_each(|r| r.imported_at = 0);
                    history
                };
                assert_eq!(
                    strip(fast.fact_history(&fact.key).unwrap()),
                    strip(slow.fact_history(&fact.key).unwrap()),
                    "{label}"
                );
            }
        }
        assert!(fast.holds_revisions().unwrap() && fast.takes_columns().unwrap());
    }
}

#[test]
fn the_columnar_import_refuses_a_model_with_facts() {
    let model = generated(4);
    let files = write_model(&model);
    let (_, columns) = read_model_columns(&files).unwrap();
    let mut store = SqliteStore::open_in_memory().unwrap();
    assert!(store.import_columns(&model, &columns, "x").is_err());
    assert_eq!(store.load().unwrap(), None);
}

#[test]
fn the_columnar_import_works_beside_another_connection_and_leaves_the_log_on() {
    let model = generated(5);
    let (without_facts, columns) = columns_of(&model);
    let folder = TempDir::new().unwrap();
    let path = folder.path().join("shared.db");
    let mut writer = SqliteStore::open(&path).unwrap();
    let reader = SqliteStore::open(&path).unwrap();
    assert_eq!(reader.load().unwrap(), None);
    let summary = writer
        .import_columns(&without_facts, &columns, "shared")
        .unwrap()
        .expect("a store without facts");
    assert_eq!(summary.facts_new, columns.len());
    assert_eq!(reader.load().unwrap(), writer.load().unwrap());
    drop(reader);
    let mut alone = SqliteStore::open(folder.path().join("alone.db")).unwrap();
    alone
        .import_columns(&without_facts, &columns, "alone")
        .unwrap()
        .expect("a store without facts");
    assert_eq!(alone.load().unwrap(), writer.load().unwrap());
    for file in ["shared.db", "alone.db"] {
        let connection = rusqlite::Connection::open(folder.path().join(file)).unwrap();
        let mode: String = connection
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal", "{file}");
    }
}

/// The same story on PostgreSQL: its columnar import (`Store::import_columns`) ends with the
/// model, import log and histories the reference import gives (here into SQLite), and steps
/// aside (`None`, nothing written) exactly where the SQLite one does.
#[test]
fn postgres_columns_store_what_the_reference_import_stores() {
    let Some(schema) = holdco_store::testing::TestSchema::create(
        "postgres_columns_store_what_the_reference_import_stores",
    ) else {
        return;
    };
    let log = |store: &dyn Store| -> Vec<(String, usize, usize, usize)> {
        store
            .imports()
            .unwrap()
            .into_iter()
            .map(|r| (r.label, r.facts_new, r.facts_revised, r.facts_unchanged))
            .collect()
    };
    let assert_same = |fast: &dyn Store, slow: &dyn Store, keys: &[holdco_core::FactKey]| {
        assert_eq!(fast.load().unwrap(), slow.load().unwrap());
        assert_eq!(log(fast), log(slow));
        for key in keys {
            let strip = |mut history: Vec<holdco_store::FactRevision>| {
                history.iter_mut().for_each(|r| r.imported_at = 0);
                history
            };
            assert_eq!(
                strip(fast.fact_history(key).unwrap()),
                strip(slow.fact_history(key).unwrap())
            );
        }
    };
    let full = generated(6);
    let mut partial = full.clone();
    partial.facts = full
        .facts
        .iter()
        .enumerate()
        .filter(|(index, _)| index % 5 != 0)
        .map(|(_, fact)| fact.clone())
        .collect();
    let keys: Vec<holdco_core::FactKey> = full
        .facts
        .iter()
        .step_by(97)
        .map(|f| f.key.clone())
        .collect();
    let (reference, _) = read_model(&write_model(&partial));
    let reference = reference.unwrap();
    let (without_facts, columns) = columns_of(&partial);
    let mut fast = holdco_store::PostgresStore::open(&schema.url).unwrap();
    let mut slow = SqliteStore::open_in_memory().unwrap();

    let a = fast
        .import_columns(&without_facts, &columns, "folder")
        .unwrap()
        .expect("a store without facts");
    assert_eq!(a, slow.import(&reference, "folder").unwrap());
    assert!(!fast.holds_revisions().unwrap());
    assert_same(&fast, &slow, &keys);
    // The same folder again: every fact unchanged, nothing written.
    let a = fast
        .import_columns(&without_facts, &columns, "again")
        .unwrap()
        .expect("unchanged facts");
    assert_eq!(a, slow.import(&reference, "again").unwrap());
    assert_same(&fast, &slow, &keys);
    // The whole group: the missing fifth new, the rest unchanged.
    let (full_without_facts, full_columns) = columns_of(&full);
    let (full_reference, _) = read_model(&write_model(&full));
    let full_reference = full_reference.unwrap();
    let a = fast
        .import_columns(&full_without_facts, &full_columns, "full")
        .unwrap()
        .expect("new and unchanged");
    assert_eq!(a, slow.import(&full_reference, "full").unwrap());
    assert!(a.facts_new > 0 && a.facts_unchanged > 0);
    assert_same(&fast, &slow, &keys);
    // Lacking stored facts: None, nothing written (the general merge validates them).
    assert!(fast
        .import_columns(&without_facts, &columns, "partial")
        .unwrap()
        .is_none());
    assert_same(&fast, &slow, &keys);
    // Revising every seventh figure (sources too), then again with a revision log, then a
    // mix: the columnar merge writes what the reference import writes.
    let revise = |model: &Model, step: usize, by: f64| {
        let mut revised = model.clone();
        for (index, fact) in revised
            .facts
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| i % step == 0)
        {
            fact.value += by;
            if index % 2 == 0 {
                fact.source = Some(format!("restated {by}"));
            }
        }
        revised
    };
    let first = revise(&full_reference, 7, 1.0);
    let second = revise(&first, 3, 2.5);
    let third = revise(&full_reference, 7, 1.0); // back to the first revision's figures
    for (label, model) in [
        ("revised", &first),
        ("revised again", &second),
        ("back", &third),
    ] {
        let (without_facts, columns) = columns_of(model);
        let a = fast
            .import_columns(&without_facts, &columns, label)
            .unwrap()
            .expect("every stored key held");
        let b = slow.import(model, label).unwrap();
        assert_eq!(a, b, "{label}");
        assert!(a.facts_revised > 0, "{label}");
        assert_same(&fast, &slow, &keys);
    }
    assert!(fast.holds_revisions().unwrap() && fast.takes_columns().unwrap());
    // The general merge on top agrees too.
    let fourth = revise(&second, 11, -4.0);
    assert_eq!(
        fast.import(&fourth, "general").unwrap(),
        slow.import(&fourth, "general").unwrap()
    );
    assert_same(&fast, &slow, &keys);
}
