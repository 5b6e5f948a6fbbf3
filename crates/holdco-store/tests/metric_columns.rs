//! The columnar images of migration 0009 ([`SqliteStore::fact_table_from_images`]) give
//! exactly the table the series rows give ([`SqliteStore::fact_table_from_rows`]), for all
//! metrics and for each one alone, after every kind of write: a first import by columns or
//! by model, revisions (twice over, and back), keys only the revision log holds, deletions
//! (`--prune`), intercompany figures and foreign currencies; and an image is never read
//! out of date: facts changed by hand send readers to the rows until the next import.

use holdco_core::columnar::FactTable;
use holdco_core::format::fact_columns::read_model_columns;
use holdco_core::format::write_model;
use holdco_core::rollup::Engine;
use holdco_core::synth::{Synth, SynthSpec};
use holdco_core::{Basis, Currency, Model};
use holdco_store::{ImportOptions, SqliteStore, Store};
use tempfile::TempDir;

/// A generated group (intercompany figures included) with sources, plan, restated,
/// pro-forma-free figures and a foreign currency mixed in.
fn generated(seed: u64) -> Model {
    let spec = SynthSpec {
        units: 30,
        facts: 4_000,
        changes: 20,
        seed,
        months: Some(24),
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
        match index % 89 {
            0 => fact.source = Some(format!("annual report {}", index % 5)),
            1 => fact.key.basis = Basis::Plan,
            2 => fact.key.basis = Basis::Restated { structure: late },
            3 if fact.currency.is_none() => fact.currency = Some(Currency::parse("usd").unwrap()),
            4 if fact.currency.is_none() => fact.currency = Some(Currency::parse("chf").unwrap()),
            _ => {}
        }
    }
    model
}

fn bits(table: &FactTable) -> Vec<u64> {
    table.value.iter().map(|v| v.to_bits()).collect()
}

/// The images answer (`images_answer`: or decline, as they must when told) and give the
/// rows' table, to the bit, for every metric together and for each alone.
fn images_equal_rows(store: &SqliteStore, images_answer: bool) -> usize {
    let model = store.load_without_facts().unwrap().unwrap();
    let engine = Engine::new(&model).unwrap();
    let mut asks: Vec<Option<Vec<holdco_core::MetricId>>> = vec![None];
    for metric in &model.metrics {
        asks.push(Some(vec![metric.id.clone()]));
    }
    asks.push(Some(
        model
            .metrics
            .iter()
            .rev()
            .take(3)
            .map(|m| m.id.clone())
            .collect(),
    ));
    let mut rows_compared = 0;
    for ask in asks {
        let rows = store
            .fact_table_from_rows(&engine, ask.as_deref())
            .unwrap()
            .expect("the rows make a table");
        let images = store
            .fact_table_from_images(&engine, ask.as_deref())
            .unwrap();
        assert_eq!(images.is_some(), images_answer, "{ask:?}");
        if let Some(images) = images {
            assert_eq!(images.0, rows.0, "{ask:?}");
            assert_eq!(bits(&images.0), bits(&rows.0));
            assert_eq!(images.1, rows.1, "the count of every fact");
            rows_compared += images.0.len();
        }
        // What callers use: the same table either way.
        let table = store.fact_table(&engine, ask.as_deref()).unwrap().unwrap();
        assert_eq!(bits(&table.0), bits(&rows.0));
        assert_eq!(table.0, rows.0);
    }
    rows_compared
}

fn columns_of(model: &Model) -> (Model, holdco_core::format::fact_columns::FactColumns) {
    let (without_facts, mut columns) =
        read_model_columns(&write_model(model)).expect("a folder the fast reader takes");
    assert!(columns.sort_series());
    (without_facts, columns)
}

fn stale(path: &std::path::Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("SELECT count(*) FROM metric_columns_stale", [], |row| {
            row.get(0)
        })
        .unwrap()
}

#[test]
fn images_give_the_rows_table_after_every_kind_of_write() {
    for seed in [1, 7, 23] {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("store.db");
        let mut store = SqliteStore::open(&path).unwrap();
        let model = generated(seed);
        assert!(model.facts.iter().any(|f| f.key.counterparty.is_some()));

        // First import by columns.
        let (without_facts, columns) = columns_of(&model);
        store
            .import_columns(&without_facts, &columns, "first")
            .unwrap()
            .expect("columns taken");
        assert_eq!(stale(&path), 0);
        assert!(images_equal_rows(&store, true) > 0);

        // Revisions by columns: some figures changed, some currencies added.
        let mut revised = model.clone();
        for (index, fact) in revised.facts.iter_mut().enumerate().step_by(17) {
            fact.value = -fact.value - index as f64;
            if index % 3 == 0 && fact.currency.is_none() {
                fact.currency = Some(Currency::parse("eur").unwrap());
            }
        }
        let (without_facts, columns) = columns_of(&revised);
        store
            .import_columns(&without_facts, &columns, "revised")
            .unwrap()
            .expect("columns taken");
        assert_eq!(stale(&path), 0);
        images_equal_rows(&store, true);

        // Revised again by the model import (three revisions of some keys), then back.
        for fact in revised.facts.iter_mut().step_by(34) {
            fact.value *= 2.0;
        }
        store.import(&revised, "revised again").unwrap();
        images_equal_rows(&store, true);
        store.import(&model, "back").unwrap();
        images_equal_rows(&store, true);

        // A fact deleted (prune): its metric's image is rewritten.
        let mut fewer = model.clone();
        fewer.facts.retain(|f| f.key.period.start % 7 != 0);
        store
            .import_with(&fewer, "pruned", ImportOptions { prune: true })
            .unwrap();
        assert_eq!(stale(&path), 0);
        images_equal_rows(&store, true);

        // A key only the revision log holds (as stores written before 0003 keep every
        // fact), written by hand: readers take the rows until the next import.
        let connection = rusqlite::Connection::open(&path).unwrap();
        let (metric, granularity): (String, String) = connection
            .query_row(
                "SELECT metric, granularity FROM facts WHERE basis = 0 AND counterparty = '' LIMIT 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        let some_unit: String = connection
            .query_row("SELECT unit FROM facts LIMIT 1", [], |row| row.get(0))
            .unwrap();
        connection
            .execute(
                "INSERT INTO fact_revisions (unit, period_start, granularity, metric, counterparty,
                     basis, structure, revision, value, currency, source, import_id, is_current)
                 VALUES (?1, 1000 * 12, ?2, ?3, '', 0, '', 1, 42.5, NULL, NULL, 1, 1)",
                rusqlite::params![some_unit, granularity, metric],
            )
            .unwrap();
        drop(connection);
        assert_eq!(stale(&path), 1);
        images_equal_rows(&store, false);
        // The next import, even of nothing new, writes the image again.
        store.import(&fewer, "unchanged").unwrap();
        assert_eq!(stale(&path), 0);
        images_equal_rows(&store, true);

        // A figure changed by hand in a series row: stale again, then rewritten.
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .execute(
                "UPDATE facts SET import_id = import_id WHERE unit = (SELECT unit FROM facts LIMIT 1)",
                [],
            )
            .unwrap();
        drop(connection);
        assert!(stale(&path) > 0);
        images_equal_rows(&store, false);
        // (The folder lacks the key written by hand, so the columnar import declines it.)
        let (without_facts, columns) = columns_of(&fewer);
        let by_columns = store
            .import_columns(&without_facts, &columns, "unchanged by columns")
            .unwrap();
        assert!(by_columns.is_none());
        assert!(stale(&path) > 0);
        store.import(&fewer, "unchanged by the model").unwrap();
        assert_eq!(stale(&path), 0);
        images_equal_rows(&store, true);
    }
}

/// A currency written out as the reporting one beside figures that leave it blank: the
/// rows' table puts both in one series, which the images (kept by currency text) do not
/// make as they are, so they decline and the rows answer; the answer is the same.
/// Images larger than the reader's buffer (256 KiB): each metric's rows are read in pieces,
/// with series cut at the pieces' edges, into their places in the table, and still give the
/// rows' table to the bit (200,000 rows a metric: 400 KB of periods, 1.6 MB of figures).
#[test]
fn images_larger_than_the_read_buffer_give_the_rows_table() {
    let spec = SynthSpec {
        units: 2_000,
        facts: 400_000,
        changes: 20,
        seed: 3,
        months: Some(120),
        metrics: Some(2),
        ..SynthSpec::default()
    };
    let model = Synth::generate(&spec).into_model();
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("store.db");
    let mut store = SqliteStore::open(&path).unwrap();
    let (without_facts, columns) = columns_of(&model);
    store
        .import_columns(&without_facts, &columns, "first")
        .unwrap()
        .expect("columns taken");
    assert_eq!(stale(&path), 0);
    let largest: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT max(length(period)) FROM metric_columns",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(largest > 1 << 18, "an image of {largest} bytes of periods");
    assert!(images_equal_rows(&store, true) >= model.facts.len());
}

#[test]
fn the_reporting_currency_written_out_and_left_blank_reads_alike() {
    let mut model = generated(5);
    let reporting = model.group.currency.clone();
    for fact in model.facts.iter_mut().step_by(2) {
        if fact.currency.is_none() {
            fact.currency = Some(reporting.clone());
        }
    }
    let dir = TempDir::new().unwrap();
    let mut store = SqliteStore::open(dir.path().join("store.db")).unwrap();
    store.import(&model, "first").unwrap();
    let without = store.load_without_facts().unwrap().unwrap();
    let engine = Engine::new(&without).unwrap();
    assert!(store
        .fact_table_from_images(&engine, None)
        .unwrap()
        .is_none());
    let rows = store.fact_table_from_rows(&engine, None).unwrap().unwrap();
    let table = store.fact_table(&engine, None).unwrap().unwrap();
    assert_eq!(table.0, rows.0);
    assert_eq!(bits(&table.0), bits(&rows.0));
}

/// The store's facts as the reference loader reads them, as a table.
fn loaded_table(store: &SqliteStore) -> FactTable {
    let model = store.load().unwrap().unwrap();
    let without_facts = store.load_without_facts().unwrap().unwrap();
    let engine = Engine::new(&without_facts).unwrap();
    FactTable::from_model(&model, &engine).unwrap()
}

/// Deleted facts (`import --prune`) are gone from the columnar reads too (rows and images),
/// not read with their last figure; and the same facts brought back by a later import (by
/// columns, with their old figures) are facts again, on every path.
#[test]
fn deleted_facts_are_not_read_and_come_back_when_imported_again() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("store.db");
    let mut store = SqliteStore::open(&path).unwrap();
    let model = generated(5);
    let (without_facts, columns) = columns_of(&model);
    store
        .import_columns(&without_facts, &columns, "first")
        .unwrap()
        .expect("columns taken");
    // Revise some facts first, so deletions hit keys the log holds as well as keys only a
    // segment holds.
    let mut revised = model.clone();
    for fact in revised.facts.iter_mut().step_by(5) {
        fact.value += 1.0;
    }
    store.import(&revised, "revised").unwrap();
    let mut fewer = revised.clone();
    fewer.facts.retain(|f| f.key.period.start % 4 != 0);
    let removed = revised.facts.len() - fewer.facts.len();
    assert!(removed > 100);
    let summary = store
        .import_with(&fewer, "pruned", ImportOptions { prune: true })
        .unwrap();
    assert_eq!(summary.facts_deleted, removed);

    let model_now = store.load().unwrap().unwrap();
    assert_eq!(model_now.facts.len(), fewer.facts.len());
    let reference = loaded_table(&store);
    let without_facts = store.load_without_facts().unwrap().unwrap();
    let engine = Engine::new(&without_facts).unwrap();
    let rows = store.fact_table_from_rows(&engine, None).unwrap().unwrap();
    assert_eq!(
        rows.1,
        fewer.facts.len(),
        "the count leaves deleted facts out"
    );
    assert_eq!(rows.0.len(), fewer.facts.len());
    assert_eq!(bits(&rows.0), bits(&reference));
    assert_eq!(rows.0, reference);
    images_equal_rows(&store, true);

    // Brought back by columns, with the figures they had: a revision each, not "unchanged".
    let (without_facts, columns) = columns_of(&revised);
    store
        .import_columns(&without_facts, &columns, "back")
        .unwrap()
        .expect("columns taken");
    assert_eq!(
        store.load().unwrap().unwrap().facts.len(),
        revised.facts.len()
    );
    let rows = store.fact_table_from_rows(&engine, None).unwrap().unwrap();
    assert_eq!(rows.1, revised.facts.len());
    assert_eq!(rows.0, loaded_table(&store));
    images_equal_rows(&store, true);
}
