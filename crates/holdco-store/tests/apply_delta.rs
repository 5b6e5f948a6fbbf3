//! An apply that looks up only the keys it writes ([`Store::apply_delta`], semantics C16)
//! leaves the store exactly as today's apply ([`Store::apply`], which reads every stored
//! fact) does: two SQLite stores get the same imports and then the same change sets, one
//! through each path, and after every step every table of the two files holds the same rows
//! (the current facts, every revision and deletion, segments and their superseded lists, the
//! import log and its counts, the change sets, transitions and audit entries, the columnar
//! images of migration 0009 and the timeline image of 0010), save the clock's timestamps.

use holdco_core::synth::{Synth, SynthSpec};
use holdco_core::{Basis, Currency, Fact, FactKey, Model, Period, UnitId};
use holdco_store::{
    ApplyRecord, ApplyTarget, ImportOptions, NewChangeset, SqliteStore, Store, StoreError,
};
use proptest::prelude::*;
use rusqlite::types::Value;
use std::path::Path;
use tempfile::TempDir;

/// Every row of every table, as text, sorted; columns holding the clock's time are blanked.
fn dump(path: &Path) -> Vec<String> {
    let connection = rusqlite::Connection::open(path).unwrap();
    let tables: Vec<String> = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut rows = Vec::new();
    for table in tables {
        let mut statement = connection
            .prepare(&format!("SELECT * FROM \"{table}\""))
            .unwrap();
        let names: Vec<String> = statement.column_names().map(str::to_string).collect();
        let mut cursor = statement.query([]).unwrap();
        let mut of_table = Vec::new();
        while let Some(row) = cursor.next().unwrap() {
            let cells: Vec<String> = names
                .iter()
                .enumerate()
                .map(|(index, name)| {
                    if matches!(
                        name.as_str(),
                        "imported_at" | "created_at" | "applied_at" | "at"
                    ) {
                        return format!("{name}=<clock>");
                    }
                    let value: Value = row.get(index).unwrap();
                    format!("{name}={value:?}")
                })
                .collect();
            of_table.push(format!("{table}: {}", cells.join(", ")));
        }
        of_table.sort();
        rows.extend(of_table);
    }
    rows
}

/// The store's facts through the trait: the current model and every key's history (with
/// the clock blanked).
fn through_the_trait(store: &dyn Store, keys: &[FactKey]) -> (Option<Model>, Vec<String>) {
    let model = store.load().unwrap();
    let histories = keys
        .iter()
        .map(|key| {
            let history: Vec<String> = store
                .fact_history(key)
                .unwrap()
                .into_iter()
                .map(|mut revision| {
                    revision.imported_at = 0;
                    format!("{revision:?}")
                })
                .collect();
            format!("{key:?}: {history:?}")
        })
        .collect();
    (model, histories)
}

/// A generated group of a few hundred facts, some with a source, a note, a precision or
/// a currency, some planned.
fn base_model(seed: u64) -> Model {
    let spec = SynthSpec {
        units: 8,
        facts: 300,
        changes: 6,
        seed,
        months: Some(12),
        ..SynthSpec::default()
    };
    let mut model = Synth::generate(&spec).into_model();
    for (index, fact) in model.facts.iter_mut().enumerate() {
        match index % 23 {
            0 => fact.source = Some(format!("report {}", index % 3)),
            1 => fact.note = Some("restated".to_string()),
            2 => fact.precision = Some(0.5),
            3 => fact.currency = Some(Currency::parse("usd").unwrap()),
            4 => fact.key.basis = Basis::Plan,
            _ => {}
        }
    }
    let mut seen = std::collections::HashSet::new();
    model.facts.retain(|fact| seen.insert(fact.key.clone()));
    model
}

/// One write of a change set: which base fact (by index), what becomes of its key, and the
/// figure written.
#[derive(Debug, Clone)]
struct Write {
    index: usize,
    /// 0 and 1: the fact's own key (revised; 1 also with a source); 2: a new key in the
    /// fact's series; 3: a new key in a new series (another counterparty); 4: the base fact
    /// exactly as first imported (unchanged, or a revision back to it).
    how: u8,
    value: f64,
}

/// One change set: facts written, keys removed (base facts by index, or keys never stored).
#[derive(Debug, Clone)]
struct Change {
    writes: Vec<Write>,
    removes: Vec<(usize, bool)>,
}

fn any_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        -1.0e9..1.0e9f64,
        Just(0.0),
        Just(-0.0),
        Just(f64::MAX),
        Just(5e-324),
    ]
}

fn any_change() -> impl Strategy<Value = Change> {
    let write = (0..10_000usize, 0..5u8, any_value()).prop_map(|(index, how, value)| Write {
        index,
        how,
        value,
    });
    (
        proptest::collection::vec(write, 0..6),
        proptest::collection::vec((0..10_000usize, any::<bool>()), 0..4),
    )
        .prop_map(|(writes, removes)| Change { writes, removes })
}

/// The key `how` makes of base fact `fact`.
fn key_of(fact: &Fact, how: u8) -> FactKey {
    match how {
        2 => FactKey {
            period: Period::new(fact.key.period.start + 600, fact.key.period.granularity),
            ..fact.key.clone()
        },
        3 => FactKey {
            counterparty: Some(UnitId::parse("elsewhere").unwrap()),
            ..fact.key.clone()
        },
        _ => fact.key.clone(),
    }
}

/// The change set as [`Store::apply`] takes it from `holdco-changeset`: the model's small
/// parts with only the facts written, and the keys removed.
fn write_set(base: &Model, change: &Change, round: usize) -> (Model, Vec<FactKey>) {
    let facts = &base.facts;
    let mut written: Vec<Fact> = Vec::new();
    let mut keys = std::collections::HashSet::new();
    for write in &change.writes {
        let fact = &facts[write.index % facts.len()];
        let key = key_of(fact, write.how);
        if !keys.insert(key.clone()) {
            continue;
        }
        written.push(match write.how {
            4 => fact.clone(),
            1 => Fact {
                key,
                value: write.value,
                source: Some(format!("change set {round}")),
                ..fact.clone()
            },
            _ => Fact {
                key,
                value: write.value,
                ..fact.clone()
            },
        });
    }
    let retract = change
        .removes
        .iter()
        .map(|(index, never_stored)| {
            let fact = &facts[index % facts.len()];
            key_of(fact, if *never_stored { 3 } else { 0 })
        })
        .collect();
    let model = Model {
        facts: written,
        ..base.clone()
    };
    (model, retract)
}

fn record(round: usize, expected_base: i64, retract: Vec<FactKey>) -> ApplyRecord {
    ApplyRecord {
        target: ApplyTarget::New(NewChangeset {
            author: "ana".to_string(),
            message: format!("change set {round}"),
            base_revision: expected_base,
            kind: "patch".to_string(),
            body: "{}".to_string(),
            units: vec!["*".to_string()],
            reverts: None,
        }),
        actor: "bob".to_string(),
        expected_base: Some(expected_base),
        retract,
        prune: false,
        diff: "{}".to_string(),
        units: vec!["*".to_string()],
    }
}

/// The result of an apply without what differs by nature: the error's text or the counts.
fn outcome(result: Result<holdco_store::Applied, StoreError>) -> String {
    match result {
        Ok(applied) => format!("{applied:?}"),
        Err(error) => format!("error: {error}"),
    }
}

/// Both stores hold the same rows and answer the same through the trait.
fn assert_same(full: (&SqliteStore, &Path), delta: (&SqliteStore, &Path), keys: &[FactKey]) {
    let (left, right) = (dump(full.1), dump(delta.1));
    if left != right {
        let first = left
            .iter()
            .zip(&right)
            .position(|(a, b)| a != b)
            .unwrap_or(left.len().min(right.len()));
        panic!(
            "the stores differ ({} rows against {}); first difference:\n full: {:?}\ndelta: {:?}",
            left.len(),
            right.len(),
            left.get(first),
            right.get(first)
        );
    }
    assert_eq!(
        through_the_trait(full.0, keys),
        through_the_trait(delta.0, keys)
    );
}

/// Runs the story: the base imported into both stores (whole, then with `revise` figures
/// revised by an import so the revision log holds some keys, then pruned of `prune` facts),
/// then each change set applied through [`Store::apply`] on one and
/// [`Store::apply_delta`] on the other, compared after every step.
fn story(seed: u64, revise: &[usize], prune: &[usize], changes: &[Change], by_columns: bool) {
    let mut base = base_model(seed);
    if by_columns {
        // The columns carry no notes or precisions.
        for fact in &mut base.facts {
            (fact.note, fact.precision) = (None, None);
        }
    }
    let dir = TempDir::new().unwrap();
    let (full_path, delta_path) = (dir.path().join("full.db"), dir.path().join("delta.db"));
    let mut full = SqliteStore::open(&full_path).unwrap();
    let mut delta = SqliteStore::open(&delta_path).unwrap();
    let mut keys: Vec<FactKey> = base.facts.iter().map(|fact| fact.key.clone()).collect();
    for store in [&mut full, &mut delta] {
        if by_columns {
            let files = holdco_core::format::write_model(&base);
            let (model, columns) = holdco_core::format::fact_columns::read_model_columns(&files)
                .expect("a folder the columns reader takes");
            store
                .import_columns(&model, &columns, "columns")
                .unwrap()
                .expect("a first import by columns");
        } else {
            store.import(&base, "base").unwrap();
        }
        let mut revised = base.clone();
        for index in revise {
            let at = index % revised.facts.len();
            revised.facts[at].value += 1.0;
        }
        store.import(&revised, "revised").unwrap();
        let mut pruned = revised.clone();
        let gone: std::collections::HashSet<usize> =
            prune.iter().map(|index| index % base.facts.len()).collect();
        pruned.facts = revised
            .facts
            .iter()
            .enumerate()
            .filter(|(at, _)| !gone.contains(at))
            .map(|(_, fact)| fact.clone())
            .collect();
        store
            .import_with(&pruned, "pruned", ImportOptions { prune: true })
            .unwrap();
    }
    assert_same((&full, &full_path), (&delta, &delta_path), &keys);
    for (round, change) in changes.iter().enumerate() {
        let (incoming, retract) = write_set(&base, change, round);
        keys.extend(incoming.facts.iter().map(|fact| fact.key.clone()));
        keys.extend(retract.iter().cloned());
        let revision = full.revision().unwrap();
        assert_eq!(revision, delta.revision().unwrap());
        let label = format!("change set {round}");
        let record = record(round, revision, retract);
        let by_full = outcome(full.apply(&incoming, &label, &record));
        let by_delta = outcome(delta.apply_delta(&incoming, &label, &record));
        assert_eq!(by_full, by_delta, "round {round}");
        assert_same((&full, &full_path), (&delta, &delta_path), &keys);
    }
    // A stale base is refused by both, and changes nothing.
    let (incoming, retract) = write_set(&base, &changes[0], 99);
    let stale = record(99, 0, retract);
    let by_full = outcome(full.apply(&incoming, "stale", &stale));
    let by_delta = outcome(delta.apply_delta(&incoming, "stale", &stale));
    assert_eq!(by_full, by_delta);
    assert!(by_full.starts_with("error"), "{by_full}");
    assert_same((&full, &full_path), (&delta, &delta_path), &keys);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn an_apply_of_only_the_changed_keys_leaves_the_store_as_the_full_apply_does(
        seed in 0u64..1_000,
        revise in proptest::collection::vec(0..10_000usize, 0..8),
        prune in proptest::collection::vec(0..10_000usize, 0..4),
        changes in proptest::collection::vec(any_change(), 1..6),
        by_columns in any::<bool>(),
    ) {
        story(seed, &revise, &prune, &changes, by_columns);
    }
}

/// A key written twice in one change set is refused by both paths alike, and nothing is
/// written.
#[test]
fn a_key_written_twice_is_refused_alike() {
    for how in [0u8, 2] {
        let base = base_model(7);
        let dir = TempDir::new().unwrap();
        let (full_path, delta_path) = (dir.path().join("full.db"), dir.path().join("delta.db"));
        let mut full = SqliteStore::open(&full_path).unwrap();
        let mut delta = SqliteStore::open(&delta_path).unwrap();
        full.import(&base, "base").unwrap();
        delta.import(&base, "base").unwrap();
        let fact = Fact {
            key: key_of(&base.facts[3], how),
            value: 1.0,
            ..base.facts[3].clone()
        };
        let incoming = Model {
            facts: vec![fact.clone(), Fact { value: 2.0, ..fact }],
            ..base.clone()
        };
        let record = record(0, 1, Vec::new());
        let by_full = outcome(full.apply(&incoming, "twice", &record));
        let by_delta = outcome(delta.apply_delta(&incoming, "twice", &record));
        assert_eq!(by_full, by_delta);
        assert!(by_full.starts_with("error"), "{by_full}");
        let keys: Vec<FactKey> = base.facts.iter().map(|f| f.key.clone()).collect();
        assert_same((&full, &full_path), (&delta, &delta_path), &keys);
    }
}
