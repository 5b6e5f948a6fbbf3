//! Facts read from the store straight into columns ([`SqliteStore::fact_series`],
//! [`SqliteStore::fact_table`]) are exactly the current facts [`Store::load`] gives, and the
//! columnar roll-up over them answers as over the table built from the loaded model, with a
//! revision log too (revised figures in place, issue 11 item 2).

use holdco_core::columnar::{rollup_from_table, FactTable};
use holdco_core::rollup::{BasisFilter, Engine, Query, View};
use holdco_core::synth::{Synth, SynthSpec};
use holdco_core::{Basis, Currency, Model, Period};
use holdco_store::{SqliteStore, Store};
use tempfile::TempDir;

/// A valid generated group with currencies, sources, plan and restated figures mixed in.
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
    let currency_metrics: Vec<_> = model
        .metrics
        .iter()
        .filter(|m| m.measure == holdco_core::Measure::Currency)
        .map(|m| m.id.clone())
        .collect();
    for (index, fact) in model.facts.iter_mut().enumerate() {
        match index % 97 {
            0 => fact.source = Some(format!("annual report {} p {}", index % 5, index % 3)),
            1 => fact.key.basis = Basis::Plan,
            2 => {
                fact.key.basis = Basis::Restated {
                    structure: fact.key.period.last_day(),
                }
            }
            3 if fact.currency.is_none() && currency_metrics.contains(&fact.key.metric) => {
                fact.currency = Some(Currency::parse("usd").unwrap())
            }
            _ => {}
        }
    }
    let (_, problems) = holdco_core::validate::validate(&model);
    assert!(problems.is_empty(), "{problems:?}");
    model
}

fn stored(model: &Model) -> (TempDir, SqliteStore) {
    let dir = TempDir::new().unwrap();
    let mut store = SqliteStore::open(dir.path().join("store.db")).unwrap();
    store.import(model, "generated").unwrap();
    (dir, store)
}

/// (key, value bits, currency) of every fact, sorted.
type Row = (holdco_core::FactKey, u64, Option<Currency>);

fn sorted(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

fn queries(model: &Model, periods: &[Period]) -> Vec<Query> {
    let late = model
        .timeline
        .iter()
        .map(|change| change.date)
        .max()
        .expect("changes");
    let mut queries = Vec::new();
    for metric in &model.metrics {
        for view in [View::Reported, View::Restated, View::Organic] {
            for basis in [
                BasisFilter::Reported,
                BasisFilter::Plan,
                BasisFilter::Restated(late),
            ] {
                queries.push(Query {
                    metric: metric.id.clone(),
                    periods: periods.to_vec(),
                    view,
                    structure: None,
                    node: None,
                    depth: 2,
                    currency: None,
                    basis,
                });
            }
        }
    }
    queries
}

#[test]
fn series_are_the_current_facts_and_the_table_answers_alike() {
    for seed in [3, 11] {
        let model = generated(seed);
        let (_dir, store) = stored(&model);
        answers_as_loaded(&store);
    }
}

/// The store's series and tables hold exactly the facts of its loaded model, and roll-ups over
/// them answer as over the table built from that model.
fn answers_as_loaded(store: &SqliteStore) {
    let loaded = store.load().unwrap().unwrap();

    // The series hold exactly the loaded facts.
    let (series, count) = store.fact_series(None).unwrap().expect("no revision log");
    assert_eq!(count, loaded.facts.len());
    let mut from_series = Vec::new();
    for s in &series {
        for (i, start) in s.starts.iter().enumerate() {
            let mut key = s.key.clone();
            key.period = Period::new(*start, key.period.granularity);
            let currency = s.currencies.as_ref().and_then(|c| c[i].clone());
            from_series.push((key, s.values[i].to_bits(), currency));
        }
    }
    let from_load: Vec<Row> = loaded
        .facts
        .iter()
        .map(|f| (f.key.clone(), f.value.to_bits(), f.currency.clone()))
        .collect();
    assert_eq!(sorted(from_series), sorted(from_load));

    // The model without facts is the loaded model less its facts.
    let without = store.load_without_facts().unwrap().unwrap();
    let mut expected = loaded.clone();
    expected.facts.clear();
    assert_eq!(without, expected);

    // Same answers as the table built from the loaded model, to the bit, with all facts
    // read; and, reading only the metric asked, the same answers up to rounding.
    let engine = Engine::new(&loaded).unwrap();
    let reference = FactTable::from_model(&loaded, &engine).unwrap();
    let light_engine = Engine::new(&without).unwrap();
    let (table, count) = store
        .fact_table(&light_engine, None)
        .unwrap()
        .expect("a table");
    assert_eq!(count, loaded.facts.len());
    assert_eq!(table.len(), reference.len());
    assert_eq!(table.series, reference.series);
    assert_eq!(table.offsets, reference.offsets);
    assert_eq!(table.period, reference.period);
    assert_eq!(table.periods, reference.periods);
    assert_eq!(table.currencies, reference.currencies);
    assert!(table
        .value
        .iter()
        .zip(&reference.value)
        .all(|(a, b)| a.to_bits() == b.to_bits()));

    let periods: Vec<Period> = reference
        .periods
        .iter()
        .rev()
        .take(6)
        .rev()
        .copied()
        .collect();
    let mut answered = 0;
    for query in queries(&loaded, &periods) {
        let want = rollup_from_table(&engine, &reference, &query)
            .map(|r| serde_json::to_value(&r).unwrap());
        let got = rollup_from_table(&light_engine, &table, &query)
            .map(|r| serde_json::to_value(&r).unwrap());
        assert_eq!(
            got, want,
            "{:?} {:?} {:?}",
            query.metric, query.view, query.basis
        );
        let definition = loaded.metric(&query.metric).unwrap();
        let metrics = match &definition.aggregation {
            holdco_core::Aggregation::Ratio {
                numerator,
                denominator,
            } => vec![numerator.clone(), denominator.clone()],
            _ => vec![query.metric.clone()],
        };
        let (only, count) = store
            .fact_table(&light_engine, Some(&metrics))
            .unwrap()
            .expect("a table");
        assert_eq!(count, loaded.facts.len());
        let got = rollup_from_table(&light_engine, &only, &query)
            .map(|r| serde_json::to_value(&r).unwrap());
        match (got, want) {
            (Ok(got), Ok(want)) => {
                answered += 1;
                assert_close(&got, &want);
            }
            (got, want) => assert_eq!(got.is_ok(), want.is_ok(), "{:?}", query.metric),
        }
    }
    assert!(answered > 0, "some queries take the columnar path");
}

/// Equal JSON, numbers equal up to rounding (the pass adds in chunks cut by row count).
fn assert_close(got: &serde_json::Value, want: &serde_json::Value) {
    use serde_json::Value;
    match (got, want) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!(
                (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0),
                "{a} vs {b}"
            );
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len());
            a.iter().zip(b).for_each(|(a, b)| assert_close(a, b));
        }
        (Value::Object(a), Value::Object(b)) => {
            assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
            a.iter().for_each(|(k, v)| assert_close(v, &b[k]));
        }
        (a, b) => assert_eq!(a, b),
    }
}

#[test]
fn a_store_with_a_revision_log_gives_the_revised_figures() {
    let model = generated(5);
    let (_dir, mut store) = stored(&model);
    let mut revised = model.clone();
    for (index, fact) in revised.facts.iter_mut().enumerate().step_by(13) {
        fact.value += 1.0 + index as f64;
    }
    store.import(&revised, "revised").unwrap();
    // Twice, so that some keys have three revisions.
    for fact in revised.facts.iter_mut().step_by(26) {
        fact.value *= 2.0;
    }
    store.import(&revised, "revised again").unwrap();
    assert!(store.holds_revisions().unwrap());
    answers_as_loaded(&store);
}

#[test]
fn an_empty_store_has_no_model() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(dir.path().join("store.db")).unwrap();
    assert!(store.load_without_facts().unwrap().is_none());
    let (series, count) = store.fact_series(None).unwrap().expect("no revision log");
    assert!(series.is_empty());
    assert_eq!(count, 0);
}
