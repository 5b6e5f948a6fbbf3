//! Semantics C17: after an apply, the snapshot the server builds from the one it served
//! (`Snapshot::successor`: the columnar table with the revised figures put in, the fact index
//! taken over; rebuilt when the change adds or removes keys or changes the timeline) answers
//! exactly as a snapshot of the model loaded afresh from the store.
//!
//! A property test on the example (published totals above their segments, so the table's
//! recorded-total adjustments are exercised) and on a generated group (intercompany figures):
//! random sequences of change sets, each applied through `holdco_changeset::apply_on` on the
//! served snapshot as the server applies them (facts revised, sometimes in another currency,
//! added, removed; some moving a timeline change), each step's successor compared with the
//! model reloaded from the SQLite store: the columnar tables equal (every column, every
//! adjustment), and every metric's restated and as-reported roll-up, on the columnar path
//! and on the explainable engine, equal row by row, field by field.

use chrono::NaiveDate;
use holdco_app::rollup::{rollup, Route};
use holdco_app::store::{snapshot_of, StoreUrl};
use holdco_app::Snapshot;
use holdco_changeset::{Action, ChangesetError, Patch, PlacedChange, Proposal};
use holdco_core::format::read_model;
use holdco_core::rollup::{BasisFilter, Query, View};
use holdco_core::synth::{SplitMix, Synth, SynthSpec};
use holdco_core::{Currency, Granularity, Model, Period};
use std::path::Path;
use std::sync::Arc;

fn example() -> Model {
    let files =
        holdco_folder::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/alibaba"))
            .unwrap();
    read_model(&files).0.unwrap()
}

fn generated() -> Model {
    Synth::generate(&SynthSpec {
        units: 40,
        facts: 6_000,
        changes: 30,
        seed: 3,
        depth: 3,
        months: Some(36),
        metrics: None,
        intercompany: 0.03,
    })
    .into_model()
}

/// What a step's change set does.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Figures revised (some in another currency).
    Revise,
    /// Facts added and removed, figures revised.
    Keys,
    /// A timeline change moved, figures revised.
    Timeline,
}

/// A random change set of `kind` on `model`.
fn patch(model: &Model, kind: Kind, rng: &mut SplitMix) -> Patch {
    let mut patch = Patch::default();
    let facts = model.facts.len();
    let mut keys = std::collections::BTreeSet::new();
    for _ in 0..1 + rng.below(4) {
        let mut fact = model.facts[rng.below(facts)].clone();
        fact.value = (fact.value * (0.5 + rng.below(100) as f64 / 100.0)).round() + 1.0;
        if rng.below(5) == 0 {
            fact.currency = Some(Currency::parse(["USD", "CNY"][rng.below(2)]).unwrap());
        }
        if keys.insert(fact.key.clone()) {
            patch.facts.push(fact);
        }
    }
    match kind {
        Kind::Revise => {}
        Kind::Keys => {
            for _ in 0..1 + rng.below(2) {
                // A figure for another period of a series (new key), or one removed.
                let mut fact = model.facts[rng.below(facts)].clone();
                if rng.below(2) == 0 {
                    let shift = [-12, -1, 1, 12][rng.below(4)];
                    fact.key.period =
                        Period::new(fact.key.period.start + shift, fact.key.period.granularity);
                    if keys.insert(fact.key.clone()) {
                        patch.facts.push(fact);
                    }
                } else if keys.insert(fact.key.clone()) {
                    patch.remove_facts.push(fact.key);
                }
            }
        }
        Kind::Timeline => {
            let index = 1 + rng.below(model.timeline.len() - 1);
            let change = model.timeline[index].clone();
            let mut moved = change.clone();
            moved.date += chrono::Duration::days(rng.below(60) as i64 - 30);
            patch.remove_changes.push(PlacedChange {
                position: Some(index),
                change,
            });
            patch.add_changes.push(PlacedChange {
                position: None,
                change: moved,
            });
        }
    }
    patch
}

/// Every metric's roll-ups (restated and as reported, the last three fiscal years, every
/// row) on `a` and `b`, on the columnar path and on the engine, equal field by field.
fn same_answers(a: &Snapshot, b: &Snapshot, step: usize) {
    assert!(
        a.fact_table() == b.fact_table(),
        "step {step}: the columnar tables differ"
    );
    let model = b.model();
    let date = b.structure_date(None);
    let year = Period::containing(date, Granularity::Year, model.group.calendar());
    let periods: Vec<Period> = (1..=3).rev().map(|back| year.shift(-back)).collect();
    for metric in &model.metrics {
        for view in [View::Restated, View::Reported] {
            let query = Query {
                metric: metric.id.clone(),
                periods: periods.clone(),
                view,
                structure: Some(date),
                node: None,
                depth: u32::MAX,
                currency: None,
                basis: BasisFilter::Reported,
            };
            let rows = |snapshot: &Snapshot, columnar: bool| {
                let answer = if columnar {
                    holdco_app::rollup::columnar(snapshot, &query).map(Ok)
                } else {
                    Some(rollup(snapshot, &query, Route::Exact).map(|answer| answer.rollup))
                };
                answer.map(|answer| {
                    answer
                        .map(|rollup| serde_json::to_value(&rollup.rows).unwrap())
                        .map_err(|error| error.to_string())
                })
            };
            for columnar in [true, false] {
                let (left, right) = (rows(a, columnar), rows(b, columnar));
                match (&left, &right) {
                    (
                        Some(Ok(serde_json::Value::Array(l))),
                        Some(Ok(serde_json::Value::Array(r))),
                    ) => {
                        assert_eq!(l.len(), r.len(), "step {step}: {} {view:?} rows", metric.id);
                        for (x, y) in l.iter().zip(r) {
                            assert_eq!(
                                x, y,
                                "step {step}: {} {view:?} columnar {columnar}",
                                metric.id
                            );
                        }
                    }
                    _ => assert_eq!(
                        left, right,
                        "step {step}: {} {view:?} columnar {columnar}",
                        metric.id
                    ),
                }
            }
        }
    }
}

/// Applies `steps` random change sets to `model` in a fresh SQLite store, each on the served
/// snapshot as the server applies it, and compares each step's successor with the store
/// reloaded. The numbers of steps applied by kind.
fn run(model: Model, steps: usize, seed: u64) -> [usize; 3] {
    let dir = tempfile::tempdir().unwrap();
    let url = StoreUrl::parse(dir.path().join("store.db").to_str().unwrap()).unwrap();
    let mut store = url.open().unwrap();
    let record = holdco_changeset::import_record(None, &model, "model", "setup", 0);
    store.apply(&model, "model", &record).unwrap();
    let mut served = snapshot_of(store.as_ref(), &url).unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let mut rng = SplitMix::new(seed);
    let mut applied = [0; 3];
    let mut revised_in_place = 0;
    for step in 0..steps {
        // The caches the successor takes over, built as a serving snapshot builds them.
        let _ = served.fact_table();
        let _ = rollup(
            &served,
            &Query {
                metric: served.model().metrics[0].id.clone(),
                periods: vec![served.model().facts[0].key.period],
                view: View::Restated,
                structure: None,
                node: None,
                depth: 1,
                currency: None,
                basis: BasisFilter::Reported,
            },
            Route::Exact,
        );
        let kind = [Kind::Revise, Kind::Revise, Kind::Keys, Kind::Timeline][rng.below(4)];
        let patch = patch(served.model(), kind, &mut rng);
        let revision = served.revision().unwrap();
        let base = served.model();
        let Ok(evaluation) = holdco_changeset::evaluate_valid_frame(base, &patch) else {
            continue;
        };
        let created = match holdco_changeset::create_on(
            store.as_mut(),
            Proposal {
                patch,
                author: "analyst",
                message: "a step",
                kind: "patch",
                reverts: None,
            },
            revision,
            base,
            evaluation,
            today,
        ) {
            Ok(created) => created,
            Err(ChangesetError::Empty) => continue,
            Err(error) => panic!("step {step}: {error}"),
        };
        let id = created.id;
        holdco_changeset::act(store.as_mut(), id, Action::Submit, "analyst", None).unwrap();
        holdco_changeset::act(store.as_mut(), id, Action::Approve, "approver", None).unwrap();
        let on = holdco_changeset::apply_on(store.as_mut(), id, "approver", base, revision)
            .unwrap_or_else(|error| panic!("step {step}: {error}"));
        let model = on.model.expect("applied on the served revision");
        let next = served
            .successor(Arc::new(model), Some(on.applied.revision))
            .unwrap();
        // A change set that only revises figures takes the previous table over, with them
        // put in (nothing else built it yet).
        let group_currency = &base.group.currency;
        let currency =
            |fact: &holdco_core::Fact| fact.currency.clone().filter(|c| c != group_currency);
        let only_revised = !created.diff.facts.is_empty()
            && created.diff.facts.iter().all(|change| {
                change
                    .before
                    .as_ref()
                    .zip(change.after.as_ref())
                    .is_some_and(|(b, a)| currency(b) == currency(a))
            })
            && created.diff.timeline_added.is_empty()
            && created.diff.timeline_removed.is_empty();
        if only_revised {
            assert!(
                next.has_fact_table(),
                "step {step}: the table was built again"
            );
            revised_in_place += 1;
        }
        let reloaded = snapshot_of(store.as_ref(), &url).unwrap();
        assert_eq!(next.revision(), reloaded.revision());
        let canonical = |model: &Model| {
            let mut model = model.clone();
            model.canonicalize();
            model
        };
        assert_eq!(
            canonical(next.model()),
            canonical(reloaded.model()),
            "step {step}: the models"
        );
        same_answers(&next, &reloaded, step);
        applied[kind as usize] += 1;
        served = next;
    }
    assert!(
        revised_in_place >= 5,
        "only {revised_in_place} steps took the previous table over"
    );
    applied
}

#[test]
fn an_incremental_apply_answers_as_the_model_reloaded_from_the_store_on_the_example() {
    let applied = run(example(), 40, 17);
    assert!(
        applied[Kind::Revise as usize] >= 10 && applied[Kind::Keys as usize] >= 3,
        "applied by kind: {applied:?}"
    );
}

#[test]
fn an_incremental_apply_answers_as_the_model_reloaded_from_the_store_on_a_generated_group() {
    let applied = run(generated(), 30, 29);
    assert!(
        applied[Kind::Revise as usize] >= 8
            && applied[Kind::Keys as usize] >= 2
            && applied[Kind::Timeline as usize] >= 1,
        "applied by kind: {applied:?}"
    );
}
