//! The story every store backend must tell the same way, run against each of them.
//!
//! Each `#[test]` here takes every backend in turn through the same steps via `&mut dyn Store`;
//! a new backend joins by adding a line to [`backends`]. PostgreSQL joins when a server
//! answers (each test in a schema of its own, see `holdco_store::testing`); otherwise its
//! part is skipped with a message, and fails when `CI=true`. Tests that only make sense for a
//! file (reopening, schema versions) follow in `mod sqlite_file`, properties in
//! `mod properties`, and an ignored import-speed measurement in `mod speed`.

use holdco_core::{
    Aggregation, Basis, Change, ChangeKind, Consolidation, Currency, Fact, FactKey, FxRate,
    Granularity, Group, Measure, Metric, MetricId, Model, Money, Origin, Period, Shares, SplitPart,
    UnitId,
};
use holdco_store::testing::TestSchema;
use holdco_store::{
    FactRevision, ImportRecord, MemoryStore, PostgresStore, SqliteStore, Store, StoreError,
    STORE_ORIGIN_FILE,
};
use std::collections::BTreeMap;
use tempfile::TempDir;

/// A fresh, empty store of one backend.
struct Backend {
    name: &'static str,
    store: Box<dyn Store>,
    /// The folder a file-backed store lives in, removed when the backend is dropped.
    _folder: Option<TempDir>,
    /// The PostgreSQL schema of a server-backed store, dropped after the store.
    _schema: Option<TestSchema>,
}

/// A fresh PostgreSQL store in a schema of its own, or `None` when the test is skipped.
fn postgres_store(test: &str) -> Option<(Box<dyn Store>, TestSchema)> {
    let schema = TestSchema::create(test)?;
    let store = PostgresStore::open(&schema.url).unwrap();
    Some((Box::new(store), schema))
}

/// One fresh store of every backend.
fn backends() -> Vec<Backend> {
    let folder = TempDir::new().unwrap();
    let file = SqliteStore::open(folder.path().join("holdco.db")).unwrap();
    let mut backends = vec![
        Backend {
            name: "memory",
            store: Box::new(MemoryStore::new()),
            _folder: None,
            _schema: None,
        },
        Backend {
            name: "sqlite file",
            store: Box::new(file),
            _folder: Some(folder),
            _schema: None,
        },
        Backend {
            name: "sqlite in memory",
            store: Box::new(SqliteStore::open_in_memory().unwrap()),
            _folder: None,
            _schema: None,
        },
    ];
    if let Some((store, schema)) = postgres_store("story") {
        backends.push(Backend {
            name: "postgres",
            store,
            _folder: None,
            _schema: Some(schema),
        });
    }
    backends
}

/// Runs `story` once against a fresh store of every backend.
fn each_backend(story: impl Fn(&str, &mut dyn Store)) {
    for mut backend in backends() {
        story(backend.name, backend.store.as_mut());
    }
}

fn unit(id: &str) -> UnitId {
    UnitId::parse(id).unwrap()
}

fn metric(id: &str) -> MetricId {
    MetricId::parse(id).unwrap()
}

fn currency(code: &str) -> Currency {
    Currency::parse(code).unwrap()
}

fn origin(file: &str, line: u32) -> Origin {
    Origin {
        file: file.to_string(),
        line,
    }
}

fn period(label: &str) -> Period {
    Period::parse(label, holdco_core::FiscalCalendar { year_end_month: 3 }).unwrap()
}

fn date(text: &str) -> chrono::NaiveDate {
    text.parse().unwrap()
}

fn change(line: u32, day: &str, kind: ChangeKind) -> Change {
    Change {
        id: None,
        date: date(day),
        kind,
        note: None,
        source: None,
        origin: origin("timeline.toml", line),
    }
}

fn key(
    unit_id: &str,
    period_label: &str,
    metric_id: &str,
    counterparty: Option<&str>,
    basis: Basis,
) -> FactKey {
    FactKey {
        unit: unit(unit_id),
        period: period(period_label),
        metric: metric(metric_id),
        counterparty: counterparty.map(unit),
        basis,
    }
}

fn fact(key: FactKey, value: f64, line: u32) -> Fact {
    Fact {
        key,
        value,
        currency: None,
        source: None,
        note: None,
        precision: None,
        origin: origin("facts.csv", line),
    }
}

/// A small group with every kind of item a store must keep: Unicode names, a ratio metric,
/// a split with per-metric shares, a stake with proceeds, restated, intercompany, foreign
/// currency and sourced facts, and FX rates.
fn small_model() -> Model {
    let group = Group {
        id: unit("acme"),
        name: "Acme 集团 Group".to_string(),
        currency: currency("CNY"),
        fiscal_year_end: (3, 31),
    };
    let metrics = vec![
        Metric {
            id: metric("revenue"),
            name: "Revenue".into(),
            measure: Measure::Currency,
            aggregation: Aggregation::Flow,
            scale: Some("millions".into()),
            origin: origin("group.toml", 7),
        },
        Metric {
            id: metric("ebita"),
            name: "Adjusted EBITA".into(),
            measure: Measure::Currency,
            aggregation: Aggregation::Flow,
            scale: None,
            origin: origin("group.toml", 14),
        },
        Metric {
            id: metric("margin"),
            name: "EBITA margin".into(),
            measure: Measure::Percent,
            aggregation: Aggregation::Ratio {
                numerator: metric("ebita"),
                denominator: metric("revenue"),
            },
            scale: None,
            origin: origin("group.toml", 20),
        },
        Metric {
            id: metric("headcount"),
            name: "Employees".into(),
            measure: Measure::Count,
            aggregation: Aggregation::Stock,
            scale: None,
            origin: origin("group.toml", 27),
        },
    ];
    let create = |line, day, id: &str, parent: Option<&str>| {
        change(
            line,
            day,
            ChangeKind::Create {
                unit: unit(id),
                name: format!("{id} 部"),
                parent: parent.map(unit),
                unit_kind: "segment".into(),
                acquired: false,
                ownership: 1.0,
            },
        )
    };
    let timeline = vec![
        create(1, "2016-04-01", "acme", None),
        create(8, "2016-04-01", "cloud", Some("acme")),
        create(15, "2016-04-01", "commerce", Some("acme")),
        create(22, "2023-04-01", "taobao", Some("acme")),
        create(29, "2023-04-01", "intl", Some("acme")),
        Change {
            id: Some("split-commerce-2023".into()),
            note: Some("six business groups".into()),
            source: Some("https://example.com/split".into()),
            ..change(
                36,
                "2023-04-01",
                ChangeKind::Split {
                    unit: unit("commerce"),
                    parts: vec![
                        SplitPart {
                            unit: unit("taobao"),
                            shares: Shares {
                                default: Some(0.7),
                                per_metric: BTreeMap::from([(metric("ebita"), 0.85)]),
                            },
                        },
                        SplitPart {
                            unit: unit("intl"),
                            shares: Shares {
                                default: Some(0.3),
                                per_metric: BTreeMap::from([(metric("ebita"), 0.15)]),
                            },
                        },
                    ],
                },
            )
        },
        change(
            50,
            "2024-09-30",
            ChangeKind::Stake {
                unit: unit("cloud"),
                share: 0.8125,
                consolidation: Consolidation::Full,
                proceeds: Some(Money {
                    amount: 12_345.678,
                    currency: currency("USD"),
                }),
            },
        ),
        change(
            57,
            "2025-01-01",
            ChangeKind::Rename {
                unit: unit("cloud"),
                name: "Cloud Intelligence".into(),
            },
        ),
    ];
    let facts = vec![
        fact(
            key("acme", "FY2024", "revenue", None, Basis::Reported),
            941_168.0,
            2,
        ),
        fact(
            key("cloud", "FY2024", "revenue", None, Basis::Reported),
            106_374.25,
            3,
        ),
        fact(
            key(
                "cloud",
                "FY2024Q1",
                "revenue",
                Some("taobao"),
                Basis::Reported,
            ),
            -1_234.5,
            4,
        ),
        Fact {
            currency: Some(currency("USD")),
            source: Some("https://example.com/20-F".into()),
            note: None,
            precision: None,
            ..fact(
                key(
                    "intl",
                    "FY2024",
                    "ebita",
                    None,
                    Basis::Restated {
                        structure: date("2025-04-01"),
                    },
                ),
                -0.1,
                5,
            )
        },
        fact(
            key("taobao", "2023-09", "headcount", None, Basis::Estimate),
            12_000.0,
            6,
        ),
        fact(
            key("acme", "FY2026", "revenue", None, Basis::Plan),
            1.0e300,
            7,
        ),
    ];
    let fx = vec![
        FxRate {
            currency: currency("USD"),
            period: period("FY2024"),
            average: 7.189,
            closing: 7.257,
            source: Some("central bank".into()),
            origin: origin("fx.csv", 2),
        },
        FxRate {
            currency: currency("HKD"),
            period: period("FY2024"),
            average: 0.918_273_645_5,
            closing: 0.92,
            source: None,
            origin: origin("fx.csv", 3),
        },
    ];
    Model {
        group,
        metrics,
        timeline,
        facts,
        fx,
        documents: Default::default(),
    }
}

fn canonical(model: &Model) -> Model {
    let mut model = model.clone();
    model.canonicalize();
    model
}

/// Loads the model, which must exist.
fn loaded(name: &str, store: &dyn Store) -> Model {
    store
        .load()
        .unwrap()
        .unwrap_or_else(|| panic!("{name}: the store should hold a model"))
}

/// Everything the trait can say about a store, for before/after comparisons.
fn snapshot(
    store: &dyn Store,
    keys: &[FactKey],
) -> (Option<Model>, Vec<ImportRecord>, Vec<Vec<FactRevision>>) {
    let histories = keys
        .iter()
        .map(|key| store.fact_history(key).unwrap())
        .collect();
    (store.load().unwrap(), store.imports().unwrap(), histories)
}

fn all_keys(models: &[&Model]) -> Vec<FactKey> {
    let mut keys: Vec<FactKey> = models
        .iter()
        .flat_map(|model| model.facts.iter().map(|f| f.key.clone()))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Asserts that two models hold the same facts with bit-identical values.
fn assert_same_bits(name: &str, left: &Model, right: &Model) {
    assert_eq!(left.facts.len(), right.facts.len(), "{name}: fact count");
    for (a, b) in left.facts.iter().zip(&right.facts) {
        assert_eq!(a.key, b.key, "{name}");
        assert_eq!(
            a.value.to_bits(),
            b.value.to_bits(),
            "{name}: value of {:?}: {} vs {}",
            a.key,
            a.value,
            b.value
        );
    }
}

#[test]
fn an_empty_store_holds_nothing() {
    each_backend(|name, store| {
        assert_eq!(store.load().unwrap(), None, "{name}");
        assert_eq!(store.imports().unwrap(), vec![], "{name}");
        let first = &small_model().facts[0].key;
        assert_eq!(store.fact_history(first).unwrap(), vec![], "{name}");
    });
}

#[test]
fn an_import_loads_back_as_the_same_model() {
    each_backend(|name, store| {
        let model = small_model();
        let summary = store.import(&model, "examples/acme").unwrap();
        assert_eq!(
            (
                summary.facts_new,
                summary.facts_revised,
                summary.facts_unchanged
            ),
            (model.facts.len(), 0, 0),
            "{name}"
        );
        assert_eq!(
            (summary.changes, summary.metrics, summary.fx_rates),
            (8, 4, 2),
            "{name}"
        );

        let back = loaded(name, store);
        assert_eq!(back, canonical(&model), "{name}");
        assert_same_bits(name, &back, &canonical(&model));
        assert_eq!(
            back.timeline, model.timeline,
            "{name}: the timeline keeps its order"
        );
        let origins = back
            .metrics
            .iter()
            .map(|m| &m.origin)
            .chain(back.timeline.iter().map(|c| &c.origin));
        for origin in origins
            .chain(back.facts.iter().map(|f| &f.origin))
            .chain(back.fx.iter().map(|r| &r.origin))
        {
            assert_eq!(
                (origin.file.as_str(), origin.line),
                (STORE_ORIGIN_FILE, 0),
                "{name}"
            );
        }

        let imports = store.imports().unwrap();
        assert_eq!(imports.len(), 1, "{name}");
        assert_eq!(imports[0].id, summary.import_id, "{name}");
        assert_eq!(imports[0].label, "examples/acme", "{name}");
        assert_eq!(imports[0].facts_new, model.facts.len(), "{name}");
        assert!(
            imports[0].imported_at > 1_600_000_000,
            "{name}: a Unix time in seconds"
        );

        let sourced = &model.facts[3];
        let history = store.fact_history(&sourced.key).unwrap();
        assert_eq!(history.len(), 1, "{name}");
        assert_eq!(history[0].revision, 1, "{name}");
        assert_eq!(history[0].value.to_bits(), (-0.1f64).to_bits(), "{name}");
        assert_eq!(history[0].currency, Some(currency("USD")), "{name}");
        assert_eq!(
            history[0].source.as_deref(),
            Some("https://example.com/20-F"),
            "{name}"
        );
        assert_eq!(
            (history[0].import_id, history[0].import_label.as_str()),
            (summary.import_id, "examples/acme")
        );
    });
}

#[test]
fn a_changed_figure_becomes_a_revision_and_history_is_kept() {
    each_backend(|name, store| {
        let first = small_model();
        let first_import = store.import(&first, "v1").unwrap().import_id;
        let mut second = first.clone();
        second.facts[1].value = 106_375.0;
        let summary = store.import(&second, "v2").unwrap();
        assert_eq!(
            (
                summary.facts_new,
                summary.facts_revised,
                summary.facts_unchanged
            ),
            (0, 1, first.facts.len() - 1),
            "{name}"
        );
        assert!(
            summary.import_id > first_import,
            "{name}: import ids increase"
        );

        let history = store.fact_history(&second.facts[1].key).unwrap();
        let told: Vec<(u32, f64, &str)> = history
            .iter()
            .map(|r| (r.revision, r.value, r.import_label.as_str()))
            .collect();
        assert_eq!(
            told,
            vec![(1, 106_374.25, "v1"), (2, 106_375.0, "v2")],
            "{name}"
        );
        assert_eq!(
            loaded(name, store),
            canonical(&second),
            "{name}: load shows the latest revision"
        );

        // A currency or a source alone also makes a revision; history grows oldest first.
        let mut third = second.clone();
        third.facts[1].currency = Some(currency("CNY"));
        third.facts[2].source = Some("restated in the 2025 annual report".into());
        let summary = store.import(&third, "v3").unwrap();
        assert_eq!((summary.facts_new, summary.facts_revised), (0, 2), "{name}");
        let revisions: Vec<u32> = store
            .fact_history(&third.facts[1].key)
            .unwrap()
            .iter()
            .map(|r| r.revision)
            .collect();
        assert_eq!(revisions, vec![1, 2, 3], "{name}");
        assert_eq!(loaded(name, store), canonical(&third), "{name}");

        let records: Vec<(String, usize, usize, usize)> = store
            .imports()
            .unwrap()
            .into_iter()
            .map(|r| (r.label, r.facts_new, r.facts_revised, r.facts_unchanged))
            .collect();
        assert_eq!(
            records,
            vec![
                ("v1".into(), 6, 0, 0),
                ("v2".into(), 0, 1, 5),
                ("v3".into(), 0, 2, 4)
            ],
            "{name}"
        );
    });
}

#[test]
fn an_identical_import_writes_no_fact() {
    each_backend(|name, store| {
        let model = small_model();
        store.import(&model, "first").unwrap();
        let summary = store.import(&model, "again").unwrap();
        assert_eq!(
            (
                summary.facts_new,
                summary.facts_revised,
                summary.facts_unchanged
            ),
            (0, 0, 6),
            "{name}"
        );
        assert_eq!(loaded(name, store), canonical(&model), "{name}");
        for fact in &model.facts {
            assert_eq!(store.fact_history(&fact.key).unwrap().len(), 1, "{name}");
        }
        assert_eq!(
            store.imports().unwrap().len(),
            2,
            "{name}: the import itself is logged"
        );
    });
}

#[test]
fn an_import_replaces_structure_and_keeps_facts_it_does_not_mention() {
    each_backend(|name, store| {
        let first = small_model();
        store.import(&first, "first").unwrap();
        let mut second = first.clone();
        second.timeline.truncate(3);
        second.timeline.push(change(
            90,
            "2026-01-01",
            ChangeKind::Close {
                unit: unit("commerce"),
            },
        ));
        second.metrics.retain(|m| m.id != metric("margin"));
        second.fx = vec![FxRate {
            average: 7.3,
            closing: 7.4,
            ..first.fx[0].clone()
        }];
        second.group.name = "Acme Holdings".into();
        let kept = second.facts.remove(0);
        let added = fact(
            key("intl", "FY2025", "revenue", None, Basis::Reported),
            5.5,
            9,
        );
        second.facts.push(added.clone());

        let summary = store.import(&second, "second").unwrap();
        assert_eq!(
            (summary.facts_new, summary.facts_unchanged, summary.changes),
            (1, 5, 4),
            "{name}"
        );
        let back = loaded(name, store);
        assert_eq!(back.group, second.group, "{name}");
        assert_eq!(back.metrics, second.metrics, "{name}");
        assert_eq!(
            back.timeline, second.timeline,
            "{name}: the timeline is replaced, not merged"
        );
        assert_eq!(back.fx, second.fx, "{name}");
        let mut expected = second.clone();
        expected.facts.push(kept);
        assert_eq!(
            back,
            canonical(&expected),
            "{name}: facts absent from the import stay"
        );
        assert_eq!(
            store.fact_history(&added.key).unwrap()[0].import_label,
            "second",
            "{name}"
        );
    });
}

/// A model with `count` generated facts, in an order that is not key order.
fn many_facts(count: usize, value: impl Fn(usize) -> f64) -> Model {
    let units = ["acme", "cloud", "taobao", "intl", "commerce"];
    let facts = (0..count)
        .map(|i| {
            let key = FactKey {
                unit: unit(units[i % units.len()]),
                period: Period::new(24_000 + (i / units.len()) as i32, Granularity::Month),
                metric: metric("revenue"),
                counterparty: None,
                basis: Basis::Reported,
            };
            fact(key, value(i), i as u32 + 2)
        })
        .collect();
    Model {
        facts,
        ..small_model()
    }
}

#[test]
fn a_large_import_is_written_whole() {
    each_backend(|name, store| {
        // More facts than one insert batch, and a count that leaves a remainder.
        let first = many_facts(1_000, |i| i as f64 * 0.25);
        let summary = store.import(&first, "first").unwrap();
        assert_eq!(summary.facts_new, 1_000, "{name}");
        assert_eq!(loaded(name, store), canonical(&first), "{name}");

        // Every seventh figure revised, 333 keys added, the rest unchanged.
        let second = many_facts(1_333, |i| {
            if i % 7 == 0 {
                -(i as f64)
            } else {
                i as f64 * 0.25
            }
        });
        let summary = store.import(&second, "second").unwrap();
        // Figure 0 too: -0.0 is stored bit for bit, so it differs from 0.0.
        let revised = (0..1_000).filter(|i| i % 7 == 0).count();
        assert_eq!(
            (
                summary.facts_new,
                summary.facts_revised,
                summary.facts_unchanged
            ),
            (333, revised, 1_000 - revised),
            "{name}"
        );
        assert_eq!(loaded(name, store), canonical(&second), "{name}");
        let history = store.fact_history(&second.facts[700].key).unwrap();
        let values: Vec<f64> = history.iter().map(|r| r.value).collect();
        assert_eq!(values, vec![175.0, -700.0], "{name}");
    });
}

/// An import that must be refused: what is wrong, the model, and a check of the error.
type Refused = (&'static str, Model, fn(&StoreError) -> bool);

/// Imports that must be refused, built from a valid model.
fn refused_imports(base: &Model) -> Vec<Refused> {
    // The repeated key sorts last, so a backend writing in key order has written every other
    // fact (and the group, metrics, timeline and rates) before it meets the repeat.
    let mut repeated = base.clone();
    repeated.timeline.truncate(2);
    repeated.facts[1].value = 42.0;
    let last = fact(
        key("zeta", "FY2030", "revenue", None, Basis::Estimate),
        1.0,
        98,
    );
    repeated.facts.insert(0, last.clone());
    repeated.facts.push(Fact { value: 2.0, ..last });
    repeated.facts.push(fact(
        key("new_unit", "FY2024", "revenue", None, Basis::Reported),
        3.0,
        99,
    ));

    let mut not_finite = base.clone();
    not_finite.facts[0].value = f64::NAN;
    let mut twice_defined = base.clone();
    twice_defined.metrics.push(twice_defined.metrics[0].clone());
    let mut infinite_rate = base.clone();
    infinite_rate.fx[1].closing = f64::INFINITY;
    let mut nan_share = base.clone();
    if let ChangeKind::Split { parts, .. } = &mut nan_share.timeline[5].kind {
        parts[0].shares.default = Some(f64::NAN);
    }
    vec![
        (
            "a repeated key",
            repeated,
            |e| matches!(e, StoreError::DuplicateFact { key } if key == "(zeta, FY2030, revenue, estimate)"),
        ),
        ("a NaN value", not_finite, |e| {
            matches!(e, StoreError::NonFiniteValue { .. })
        }),
        (
            "a metric defined twice",
            twice_defined,
            |e| matches!(e, StoreError::DuplicateMetric { metric } if metric == "revenue"),
        ),
        (
            "an infinite rate",
            infinite_rate,
            |e| matches!(e, StoreError::Unstorable { item, .. } if item.contains("HKD")),
        ),
        (
            "a NaN split share",
            nan_share,
            |e| matches!(e, StoreError::Unstorable { item, .. } if item.starts_with("change 6")),
        ),
    ]
}

#[test]
fn a_refused_import_leaves_the_store_as_it_was() {
    each_backend(|name, store| {
        let base = small_model();
        // On an empty store...
        for (what, model, expected) in refused_imports(&base) {
            let error = store.import(&model, "refused").expect_err(what);
            assert!(expected(&error), "{name}: {what}: {error}");
            assert_eq!(store.load().unwrap(), None, "{name}: {what}");
            assert_eq!(store.imports().unwrap(), vec![], "{name}: {what}");
        }
        // ...and on one that holds a model.
        store.import(&base, "base").unwrap();
        let refused = refused_imports(&base);
        let models: Vec<&Model> = std::iter::once(&base)
            .chain(refused.iter().map(|(_, m, _)| m))
            .collect();
        let keys = all_keys(&models);
        let before = snapshot(store, &keys);
        for (what, model, expected) in &refused {
            let error = store.import(model, "refused").expect_err(what);
            assert!(expected(&error), "{name}: {what}: {error}");
            assert_eq!(snapshot(store, &keys), before, "{name}: {what}");
        }
        // The store is still usable, and import ids carry on.
        let mut next = base.clone();
        next.facts[0].value = 1.5;
        let summary = store.import(&next, "after").unwrap();
        assert_eq!(summary.facts_revised, 1, "{name}");
        assert_eq!(store.imports().unwrap().len(), 2, "{name}");
    });
}

/// Tests that need an SQLite file: what is on disk, reopening, schema versions.
mod sqlite_file {
    use super::*;
    use rusqlite::types::Value;
    use rusqlite::Connection;

    /// Every row of every table, read through a separate connection.
    fn dump(path: &std::path::Path) -> Vec<String> {
        let connection = Connection::open(path).unwrap();
        let tables: Vec<String> = connection
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut lines = Vec::new();
        for table in tables {
            let mut statement = connection
                .prepare(&format!("SELECT * FROM \"{table}\""))
                .unwrap();
            let width = statement.column_count();
            let mut rows = statement.query([]).unwrap();
            while let Some(row) = rows.next().unwrap() {
                let values: Vec<Value> = (0..width).map(|i| row.get(i).unwrap()).collect();
                lines.push(format!("{table}: {values:?}"));
            }
        }
        lines.sort();
        lines
    }

    #[test]
    fn a_refused_import_changes_no_row_on_disk() {
        let folder = TempDir::new().unwrap();
        let path = folder.path().join("holdco.db");
        let mut store = SqliteStore::open(&path).unwrap();
        let base = small_model();
        store.import(&base, "base").unwrap();
        let before = dump(&path);
        assert!(
            before.iter().any(|line| line.starts_with("facts: ")),
            "the dump sees the facts"
        );
        for (what, model, _) in refused_imports(&base) {
            store.import(&model, "refused").expect_err(what);
            assert_eq!(dump(&path), before, "{what}");
        }
    }

    #[test]
    fn a_database_failure_in_the_middle_of_writing_facts_rolls_everything_back() {
        let folder = TempDir::new().unwrap();
        let path = folder.path().join("holdco.db");
        let mut store = SqliteStore::open(&path).unwrap();
        let base = small_model();
        store.import(&base, "base").unwrap();
        // The database itself refuses the last fact written (key order puts `zeta` last) and
        // any retired revision of `intl`, after the import has replaced the group, metrics,
        // timeline and rates and written or retired other facts.
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "CREATE TRIGGER refuse_zeta BEFORE INSERT ON facts WHEN NEW.unit = 'zeta'
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END;
                 CREATE TRIGGER refuse_intl BEFORE UPDATE ON facts WHEN NEW.unit = 'intl'
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
            )
            .unwrap();
        let before = dump(&path);

        let mut late = base.clone();
        late.timeline.truncate(1);
        late.facts[0].value = 1.0;
        late.facts.push(fact(
            key("cloud", "FY2031", "revenue", None, Basis::Plan),
            1.0,
            90,
        ));
        late.facts.push(fact(
            key("zeta", "FY2031", "revenue", None, Basis::Plan),
            1.0,
            91,
        ));
        let mut revising = base.clone();
        revising.metrics.truncate(1);
        revising.facts[0].value = 2.0;
        revising.facts[3].value = 3.0; // intl: its retirement is refused
        for (what, model) in [("insert", late), ("retire", revising)] {
            let error = store.import(&model, "doomed").expect_err(what);
            assert!(
                matches!(&error, StoreError::Database { action, .. } if *action == "writing facts"),
                "{what}: {error}"
            );
            assert!(error.to_string().contains("writing facts"), "{error}");
            assert_eq!(dump(&path), before, "{what}");
            assert_eq!(store.load().unwrap().unwrap(), canonical(&base), "{what}");
        }
    }

    #[test]
    fn data_persists_across_reopening() {
        let folder = TempDir::new().unwrap();
        let path = folder.path().join("nested.db");
        let model = small_model();
        let key = model.facts[1].key.clone();
        {
            let mut store = SqliteStore::open(&path).unwrap();
            store.import(&model, "first").unwrap();
        }
        let mut store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.location(), path.display().to_string());
        let back = store.load().unwrap().unwrap();
        assert_eq!(back, canonical(&model));
        assert_same_bits("reopened", &back, &canonical(&model));
        assert_eq!(store.imports().unwrap().len(), 1);

        let mut revised = model.clone();
        revised.facts[1].value = -7.0;
        assert_eq!(store.import(&revised, "second").unwrap().facts_revised, 1);
        drop(store);
        let store = SqliteStore::open(&path).unwrap();
        let values: Vec<f64> = store
            .fact_history(&key)
            .unwrap()
            .iter()
            .map(|r| r.value)
            .collect();
        assert_eq!(values, vec![106_374.25, -7.0]);
    }

    #[test]
    fn a_store_from_a_newer_holdco_is_refused() {
        let folder = TempDir::new().unwrap();
        let path = folder.path().join("future.db");
        SqliteStore::open(&path)
            .unwrap()
            .import(&small_model(), "today")
            .unwrap();
        let future = SqliteStore::schema_version() + 1;
        Connection::open(&path)
            .unwrap()
            .execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, 'from_the_future.sql', 0)",
                [future],
            )
            .unwrap();
        let before = dump(&path);
        let error = SqliteStore::open(&path).expect_err("a newer schema must be refused");
        assert!(
            matches!(error, StoreError::SchemaTooNew { found, supported, .. } if found == future && supported == future - 1),
            "{error}"
        );
        let message = error.to_string();
        assert!(
            message.contains("future.db") && message.contains("upgrade holdco"),
            "{message}"
        );
        assert_eq!(dump(&path), before, "refusing touches nothing");
    }

    #[test]
    fn a_file_that_is_not_a_store_is_refused_with_its_path() {
        let folder = TempDir::new().unwrap();
        let path = folder.path().join("notes.txt");
        std::fs::write(
            &path,
            "these are not the pages you are looking for ".repeat(100),
        )
        .unwrap();
        let error = SqliteStore::open(&path).expect_err("not a database");
        assert!(matches!(error, StoreError::Open { .. }), "{error}");
        assert!(error.to_string().contains("notes.txt"), "{error}");
    }

    #[test]
    fn the_schema_is_recorded_and_facts_are_columns() {
        let folder = TempDir::new().unwrap();
        let path = folder.path().join("holdco.db");
        SqliteStore::open(&path)
            .unwrap()
            .import(&small_model(), "columns")
            .unwrap();
        let connection = Connection::open(&path).unwrap();
        let mode: String = connection
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let version: i64 = connection
            .query_row("SELECT MAX(version) FROM schema_migrations", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(version, SqliteStore::schema_version());
        let row: (String, i64, String, String, String, String, String, i64, f64, Option<String>) = connection
            .query_row(
                "SELECT unit, period_start, granularity, metric, counterparty, basis, structure, revision, value, currency
                 FROM current_facts WHERE unit = 'intl'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?)),
            )
            .unwrap();
        let fy2024_start = 2023 * 12 + 3;
        assert_eq!(
            row,
            (
                "intl".into(),
                fy2024_start,
                "year".into(),
                "ebita".into(),
                String::new(),
                "restated".into(),
                "2025-04-01".into(),
                1,
                -0.1,
                Some("USD".into())
            )
        );
    }
}

/// Properties over random models, checked on every backend.
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Any finite double: negative, huge, subnormal, and both zeros.
    fn any_finite() -> impl Strategy<Value = f64> {
        use proptest::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
        prop_oneof![
            POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO,
            Just(-0.0),
            Just(f64::MAX),
            Just(f64::MIN),
            -1.0e12..1.0e12f64,
        ]
    }

    fn any_basis() -> impl Strategy<Value = Basis> {
        prop_oneof![
            Just(Basis::Reported),
            Just(Basis::Plan),
            Just(Basis::Estimate),
            (0i64..20_000).prop_map(|days| Basis::Restated {
                structure: date("1990-01-01") + chrono::Duration::days(days)
            }),
        ]
    }

    fn any_fact() -> impl Strategy<Value = Fact> {
        let units = ["acme", "cloud", "taobao", "intl"];
        let granularities = [Granularity::Month, Granularity::Quarter, Granularity::Year];
        (
            (0..units.len(), -600i32..600, 0..3usize, 0..3usize),
            (
                proptest::option::of(0..units.len()),
                any_basis(),
                any_finite(),
            ),
            (
                proptest::option::of(prop_oneof![Just("USD"), Just("CNY"), Just("HKD")]),
                proptest::option::of("[a-z é阿:/.]{0,12}"),
                proptest::option::of("[a-z é阿,\"]{0,12}"),
                proptest::option::of(prop_oneof![Just(1.0), Just(0.5), Just(100.0), Just(1e-3)]),
            ),
        )
            .prop_map(
                move |(
                    (unit_index, start, granularity, metric_index),
                    (counterparty, basis, value),
                    (code, source, note, precision),
                )| Fact {
                    key: FactKey {
                        unit: unit(units[unit_index]),
                        period: Period::new(2020 * 12 + start, granularities[granularity]),
                        metric: metric(["revenue", "ebita", "headcount"][metric_index]),
                        counterparty: counterparty.map(|index| unit(units[index])),
                        basis,
                    },
                    value,
                    currency: code.map(currency),
                    source,
                    note,
                    precision,
                    origin: Origin::default(),
                },
            )
    }

    /// The small model's structure with these facts in the order given, each key once.
    fn model_with(facts: Vec<Fact>) -> Model {
        let mut seen = std::collections::HashSet::new();
        let facts = facts
            .into_iter()
            .filter(|fact| seen.insert(fact.key.clone()))
            .collect();
        Model {
            facts,
            ..small_model()
        }
    }

    /// One fresh store of every backend, with the PostgreSQL schema to drop after it.
    fn fresh_stores() -> Vec<(&'static str, Box<dyn Store>, Option<TestSchema>)> {
        let mut stores: Vec<(&'static str, Box<dyn Store>, Option<TestSchema>)> = vec![
            ("memory", Box::new(MemoryStore::new()), None),
            (
                "sqlite",
                Box::new(SqliteStore::open_in_memory().unwrap()),
                None,
            ),
        ];
        if let Some((store, schema)) = postgres_store("properties") {
            stores.push(("postgres", store, Some(schema)));
        }
        stores
    }

    /// What a revision holds: value bits, currency, source, note, precision bits, and
    /// whether it is a deletion (`import --prune`).
    type Content = (
        u64,
        Option<Currency>,
        Option<String>,
        Option<String>,
        Option<u64>,
        bool,
    );

    fn content(fact: &Fact) -> Content {
        (
            fact.value.to_bits(),
            fact.currency.clone(),
            fact.source.clone(),
            fact.note.clone(),
            fact.precision.map(f64::to_bits),
            false,
        )
    }

    /// A series of imports drawn from one pool of facts, so that keys recur: for each import
    /// and each pool fact, 0 leaves it out, 1 imports it as drawn, 2 with another figure
    /// (and without note or precision); each import with or without `--prune`.
    fn import_series() -> impl Strategy<Value = Vec<(Model, bool)>> {
        let pool = proptest::collection::vec(any_fact(), 0..40);
        let alternatives =
            proptest::collection::vec((any_finite(), proptest::option::of("[a-z]{0,6}")), 40);
        let choices =
            proptest::collection::vec((proptest::collection::vec(0..3u8, 40), any::<bool>()), 1..5);
        (pool, alternatives, choices).prop_map(|(pool, alternatives, choices)| {
            let pool = model_with(pool).facts;
            choices
                .iter()
                .map(|(choice, prune)| {
                    let facts = pool
                        .iter()
                        .zip(&alternatives)
                        .zip(choice)
                        .filter_map(|((fact, (value, source)), choice)| match choice {
                            0 => None,
                            1 => Some(fact.clone()),
                            _ => Some(Fact {
                                value: *value,
                                source: source.clone(),
                                note: None,
                                precision: None,
                                ..fact.clone()
                            }),
                        })
                        .collect();
                    (model_with(facts), *prune)
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn an_import_round_trips_bit_for_bit(facts in proptest::collection::vec(any_fact(), 0..40)) {
            let model = model_with(facts);
            for (name, mut store, _schema) in fresh_stores() {
                store.import(&model, "random").unwrap();
                let back = store.load().unwrap().unwrap();
                prop_assert_eq!(&back, &canonical(&model), "{}", name);
                assert_same_bits(name, &back, &canonical(&model));
            }
        }

        #[test]
        fn imports_merge_by_key_and_keep_every_revision(series in import_series()) {
            for (name, mut store, _schema) in fresh_stores() {
                // What the store should hold: every key's revisions, oldest first.
                let mut expected: BTreeMap<FactKey, Vec<(Content, String)>> = BTreeMap::new();
                for (index, (model, prune)) in series.iter().enumerate() {
                    let label = format!("import {index}");
                    let (mut new, mut revised, mut unchanged, mut deleted) = (0, 0, 0, 0);
                    for fact in &model.facts {
                        let revisions = expected.entry(fact.key.clone()).or_default();
                        match revisions.last() {
                            None => new += 1,
                            Some((last, _)) if *last == content(fact) => unchanged += 1,
                            Some(_) => revised += 1,
                        }
                        if revisions.last().map(|(last, _)| last) != Some(&content(fact)) {
                            revisions.push((content(fact), label.clone()));
                        }
                    }
                    if *prune {
                        // Every current key the import lacks gets a deletion revision that
                        // repeats what it ends.
                        let incoming: std::collections::HashSet<&FactKey> =
                            model.facts.iter().map(|fact| &fact.key).collect();
                        for (key, revisions) in expected.iter_mut() {
                            let last = revisions.last().unwrap().0.clone();
                            if !incoming.contains(key) && !last.5 {
                                revisions.push(((last.0, last.1, last.2, last.3, last.4, true), label.clone()));
                                deleted += 1;
                            }
                        }
                    }
                    let options = holdco_store::ImportOptions { prune: *prune };
                    let summary = store.import_with(model, &label, options).unwrap();
                    prop_assert_eq!(
                        (summary.facts_new, summary.facts_revised, summary.facts_unchanged, summary.facts_deleted),
                        (new, revised, unchanged, deleted),
                        "{} {}", name, label
                    );
                    let record = store.imports().unwrap().pop().unwrap();
                    prop_assert_eq!(record.facts_deleted, deleted, "{} {}", name, label);

                    let back = store.load().unwrap().unwrap();
                    let held: Vec<(FactKey, Content)> =
                        back.facts.iter().map(|fact| (fact.key.clone(), content(fact))).collect();
                    let want: Vec<(FactKey, Content)> = expected
                        .iter()
                        .map(|(key, revisions)| (key.clone(), revisions.last().unwrap().0.clone()))
                        .filter(|(_, content)| !content.5)
                        .collect();
                    prop_assert_eq!(held, want, "{} {}", name, label);
                    for (key, revisions) in &expected {
                        let history: Vec<(Content, String)> = store
                            .fact_history(key)
                            .unwrap()
                            .into_iter()
                            .map(|r| {
                                let content = (
                                    r.value.to_bits(),
                                    r.currency,
                                    r.source,
                                    r.note,
                                    r.precision.map(f64::to_bits),
                                    r.deleted,
                                );
                                (content, r.import_label)
                            })
                            .collect();
                        prop_assert_eq!(&history, revisions, "{} {}", name, label);
                    }
                }
            }
        }
    }
}

/// Import speed, measured on demand:
/// `HOLDCO_STORE_FACTS=1000000 cargo test --release -p holdco-store --test story -- --ignored --nocapture`
mod speed {
    use super::*;
    use std::time::Instant;

    #[test]
    #[ignore = "a measurement, not a check"]
    fn import_speed() {
        let count: usize = std::env::var("HOLDCO_STORE_FACTS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1_000_000);
        let units: Vec<UnitId> = (0..1_000).map(|i| unit(&format!("unit_{i:04}"))).collect();
        let metrics = [
            metric("revenue"),
            metric("ebita"),
            metric("headcount"),
            metric("margin"),
        ];
        let facts: Vec<Fact> = (0..count)
            .map(|i| Fact {
                key: FactKey {
                    unit: units[i % units.len()].clone(),
                    period: Period::new(
                        2000 * 12 + (i / (units.len() * metrics.len())) as i32,
                        Granularity::Month,
                    ),
                    metric: metrics[(i / units.len()) % metrics.len()].clone(),
                    counterparty: None,
                    basis: Basis::Reported,
                },
                value: i as f64 * 1.5,
                currency: None,
                source: None,
                note: None,
                precision: None,
                origin: Origin::default(),
            })
            .collect();
        let model = Model {
            facts,
            ..small_model()
        };
        let rate = |started: Instant| count as f64 / started.elapsed().as_secs_f64();
        for (order, model) in [
            ("in file order", model.clone()),
            ("in key order", canonical(&model)),
        ] {
            let folder = TempDir::new().unwrap();
            let mut store = SqliteStore::open(folder.path().join("speed.db")).unwrap();
            let started = Instant::now();
            store.import(&model, "fresh").unwrap();
            println!(
                "{count} facts {order}: fresh import at {:.0} facts/s",
                rate(started)
            );
            let started = Instant::now();
            store.import(&model, "again").unwrap();
            println!(
                "{count} facts {order}: identical re-import at {:.0} facts/s",
                rate(started)
            );
            let started = Instant::now();
            let loaded = store.load().unwrap().unwrap();
            assert_eq!(loaded.facts.len(), count);
            println!("{count} facts: load at {:.0} facts/s", rate(started));
        }
    }
}

#[test]
fn documents_are_stored_and_replaced_by_the_next_import() {
    each_backend(|name, store| {
        let mut first = small_model();
        first
            .documents
            .insert("strategy.toml".into(), "[strategy]\nname = \"一\"\n".into());
        first
            .documents
            .insert("capital.toml".into(), "# plan\n".into());
        store.import(&first, "first").unwrap();
        let loaded = store.load().unwrap().unwrap();
        assert_eq!(
            loaded.documents, first.documents,
            "{name}: documents read back as written"
        );

        // The next import replaces every document, dropping those it lacks.
        let mut second = small_model();
        second
            .documents
            .insert("assessments.csv".into(), "unit,date\n".into());
        store.import(&second, "second").unwrap();
        let loaded = store.load().unwrap().unwrap();
        assert_eq!(
            loaded.documents, second.documents,
            "{name}: documents replaced"
        );

        // A refused import leaves them alone.
        let mut refused = second.clone();
        refused
            .documents
            .insert("strategy.toml".into(), "changed".into());
        let duplicate = refused.facts[0].clone();
        refused.facts.push(duplicate);
        assert!(
            store.import(&refused, "refused").is_err(),
            "{name}: duplicate fact refused"
        );
        assert_eq!(
            store.load().unwrap().unwrap().documents,
            second.documents,
            "{name}: documents untouched"
        );
    });
}

/// Readers during an import, on every database backend: each load, from a store opened
/// while the import runs (as a new process would), sees the store as it was before the
/// import or as it is after it, and does not wait for the import to finish.
mod concurrent {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    fn readers_see_before_or_after(name: &str, open: impl Fn() -> Box<dyn Store> + Sync) {
        let mut writer = open();
        writer.import(&small_model(), "first").unwrap();
        let before = loaded(name, writer.as_ref());
        let big = many_facts(200_000, |i| i as f64 * 0.5 + 1.0);
        let expected_facts = {
            let keys: std::collections::HashSet<&FactKey> =
                big.facts.iter().map(|f| &f.key).collect();
            before
                .facts
                .iter()
                .filter(|f| !keys.contains(&f.key))
                .count()
                + big.facts.len()
        };
        let done = AtomicBool::new(false);
        let (mut during, mut after) = (0, 0);
        std::thread::scope(|scope| {
            let import = scope.spawn(|| {
                let result = writer.import(&big, "big");
                done.store(true, Ordering::SeqCst);
                result
            });
            while !done.load(Ordering::SeqCst) {
                let reader = open();
                let model = loaded(name, reader.as_ref());
                let imports = reader.imports().unwrap().len();
                if model == before {
                    during += 1;
                } else {
                    assert_eq!(
                        model.facts.len(),
                        expected_facts,
                        "{name}: a load saw part of the import"
                    );
                    after += 1;
                }
                assert!((1..=2).contains(&imports), "{name}: {imports} imports");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            import.join().unwrap().unwrap();
        });
        assert_eq!(
            loaded(name, open().as_ref()).facts.len(),
            expected_facts,
            "{name}"
        );
        // Readers that waited for the write lock would all have come back after the import.
        assert!(
            during >= 3,
            "{name}: only {during} loads ran during the import ({after} after it)"
        );
    }

    #[test]
    fn sqlite_readers_never_wait_for_an_import() {
        let folder = TempDir::new().unwrap();
        let path = folder.path().join("holdco.db");
        readers_see_before_or_after("sqlite", || Box::new(SqliteStore::open(&path).unwrap()));
    }

    #[test]
    fn postgres_readers_never_wait_for_an_import() {
        let Some(schema) = TestSchema::create("postgres_readers_never_wait_for_an_import") else {
            return;
        };
        readers_see_before_or_after("postgres", || {
            Box::new(PostgresStore::open(&schema.url).unwrap())
        });
    }

    /// Two imports at once into one store: the second waits for the first, then merges onto
    /// it, so that neither's revisions are lost.
    fn two_imports_lose_nothing(name: &str, open: impl Fn() -> Box<dyn Store> + Sync) {
        let base = many_facts(30_000, |i| i as f64);
        open().import(&base, "base").unwrap();
        // Each revises its own third of the facts and leaves out the rest.
        let part = |remainder: usize| Model {
            facts: base
                .facts
                .iter()
                .enumerate()
                .filter(|(index, _)| index % 3 == remainder)
                .map(|(_, fact)| Fact {
                    value: fact.value + 0.5,
                    ..fact.clone()
                })
                .collect(),
            ..base.clone()
        };
        let (one, two) = (part(0), part(1));
        std::thread::scope(|scope| {
            let first = scope.spawn(|| open().import(&one, "one"));
            let second = scope.spawn(|| open().import(&two, "two"));
            first.join().unwrap().unwrap();
            second.join().unwrap().unwrap();
        });
        let store = open();
        let labels: Vec<String> = store
            .imports()
            .unwrap()
            .into_iter()
            .map(|record| record.label)
            .collect();
        assert_eq!(labels.len(), 3, "{name}: {labels:?}");
        let expected = Model {
            facts: base
                .facts
                .iter()
                .enumerate()
                .map(|(index, fact)| Fact {
                    value: if index % 3 == 2 {
                        fact.value
                    } else {
                        fact.value + 0.5
                    },
                    ..fact.clone()
                })
                .collect(),
            ..base.clone()
        };
        assert_eq!(loaded(name, store.as_ref()), canonical(&expected), "{name}");
        let history = store.fact_history(&base.facts[4].key).unwrap();
        assert_eq!(
            history.iter().map(|r| r.value).collect::<Vec<_>>(),
            vec![4.0, 4.5],
            "{name}"
        );
        assert_eq!(history[1].import_label, "two", "{name}");
    }

    #[test]
    fn sqlite_two_imports_at_once_lose_nothing() {
        let folder = TempDir::new().unwrap();
        let path = folder.path().join("holdco.db");
        two_imports_lose_nothing("sqlite", || Box::new(SqliteStore::open(&path).unwrap()));
    }

    #[test]
    fn postgres_two_imports_at_once_lose_nothing() {
        let Some(schema) = TestSchema::create("postgres_two_imports_at_once_lose_nothing") else {
            return;
        };
        two_imports_lose_nothing("postgres", || {
            Box::new(PostgresStore::open(&schema.url).unwrap())
        });
    }
}

/// What PostgreSQL cannot hold (a NUL character in text) is refused before anything is
/// written, with the item named; the other backends keep it.
#[test]
fn postgres_refuses_a_nul_character_and_changes_nothing() {
    let Some((mut store, _schema)) =
        postgres_store("postgres_refuses_a_nul_character_and_changes_nothing")
    else {
        return;
    };
    let base = small_model();
    store.import(&base, "base").unwrap();
    let keys = all_keys(&[&base]);
    let before = snapshot(store.as_ref(), &keys);
    let mut with_nul = base.clone();
    with_nul.facts[0].source = Some("page\u{0}7".to_string());
    let error = store.import(&with_nul, "nul").unwrap_err();
    assert!(
        matches!(&error, StoreError::Unstorable { item, reason } if item.starts_with("the source of fact") && reason.contains("NUL")),
        "{error}"
    );
    let mut document = base.clone();
    document
        .documents
        .insert("strategy.toml".into(), "a\u{0}b".into());
    assert!(matches!(
        store.import(&document, "nul").unwrap_err(),
        StoreError::Unstorable { .. }
    ));
    assert_eq!(snapshot(store.as_ref(), &keys), before);
    let mut memory = MemoryStore::new();
    memory.import(&with_nul, "nul").unwrap();
}

/// A PostgreSQL schema gets every migration once; reopening applies nothing; a schema written
/// by a newer holdco is refused with its URL.
#[test]
fn postgres_migrations_run_once_and_a_newer_schema_is_refused() {
    let Some(schema) =
        TestSchema::create("postgres_migrations_run_once_and_a_newer_schema_is_refused")
    else {
        return;
    };
    let mut store = PostgresStore::open(&schema.url).unwrap();
    store.import(&small_model(), "first").unwrap();
    drop(store);
    let reopened = PostgresStore::open(&schema.url).unwrap();
    assert_eq!(reopened.load().unwrap(), Some(canonical(&small_model())));
    drop(reopened);
    let mut client =
        postgres::Client::connect(&holdco_store::testing::server_url(), postgres::NoTls).unwrap();
    let table = format!("\"{}\".schema_migrations", schema.name());
    let applied: i64 = client
        .query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
        .unwrap()
        .get(0);
    assert_eq!(applied, PostgresStore::schema_version());
    client
        .batch_execute(&format!(
            "INSERT INTO {table} (version, name, applied_at) VALUES (99, 'future.sql', 0)"
        ))
        .unwrap();
    let error = PostgresStore::open(&schema.url).unwrap_err();
    assert!(
        matches!(&error, StoreError::SchemaTooNew { found: 99, location, .. } if location.contains(schema.name())),
        "{error}"
    );
}
