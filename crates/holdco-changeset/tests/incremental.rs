//! The fast paths a server takes on its valid served model give what the whole-model paths
//! give, on random patches of the example and of a generated group:
//!
//! - `validate_changed` (only what the patch can affect) reports exactly the problems, in
//!   the same order, that `validate` (the whole model after, as `holdco check`) reports;
//! - `preview_of` (only the metrics the patch touches, from the facts of the two years
//!   compared) gives exactly the changed cells and structure of `preview` (every metric's
//!   roll-up on both whole models);
//! - the same two on the patch evaluated without making the model after
//!   (`evaluate_patch`: frame and diff; `validate_evaluation`, `preview_evaluated`), and the
//!   model it makes equals `apply_patch`'s.
//!
//! The patches revise, move and remove facts, give facts other units, metrics, currencies
//! and counterparties (often invalid ones), remove and move timeline changes (changing the
//! lives of units) and remove or add rates, so many of them have problems; the tests check
//! that both valid and invalid patches were generated.

use chrono::NaiveDate;
use holdco_changeset::{
    apply_patch, evaluate_patch, preview, preview_evaluated, preview_of, validate,
    validate_changed, validate_evaluation,
};
use holdco_changeset::{Patch, PlacedChange};
use holdco_core::format::read_model;
use holdco_core::synth::{SplitMix, Synth, SynthSpec};
use holdco_core::{Currency, Model, Period};
use std::path::Path;

fn example() -> Model {
    let files =
        holdco_folder::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/alibaba"))
            .unwrap();
    let mut model = read_model(&files).0.unwrap();
    model.canonicalize();
    model
}

fn generated() -> Model {
    let synth = Synth::generate(&SynthSpec {
        units: 60,
        facts: 20_000,
        changes: 40,
        seed: 7,
        depth: 3,
        months: Some(48),
        metrics: None,
        intercompany: 0.02,
    });
    let mut model = synth.into_model();
    model.canonicalize();
    model
}

/// A random patch of `model`: a few edits of every kind.
fn patch(model: &Model, rng: &mut SplitMix) -> Patch {
    let mut patch = Patch::default();
    let facts = model.facts.len();
    let units: Vec<holdco_core::UnitId> = model
        .timeline
        .iter()
        .flat_map(|change| change.kind.units().into_iter().cloned())
        .collect();
    let mut keys = std::collections::BTreeSet::new();
    for _ in 0..rng.below(6) {
        let mut fact = model.facts[rng.below(facts)].clone();
        fact.value += 1.0 + rng.below(1000) as f64;
        match rng.below(8) {
            0 if !units.is_empty() => fact.key.unit = units[rng.below(units.len())].clone(),
            1 => {
                let shift = 12 * (rng.below(5) as i32 - 2);
                fact.key.period =
                    Period::new(fact.key.period.start + shift, fact.key.period.granularity);
            }
            2 => {
                fact.currency = Some(Currency::parse(["XYZ", "USD", "CNY"][rng.below(3)]).unwrap())
            }
            3 if !units.is_empty() => {
                fact.key.counterparty = Some(units[rng.below(units.len())].clone())
            }
            4 => fact.key.metric = model.metrics[rng.below(model.metrics.len())].id.clone(),
            _ => {}
        }
        if keys.insert(fact.key.clone()) {
            patch.facts.push(fact);
        }
    }
    for _ in 0..rng.below(3) {
        let key = model.facts[rng.below(facts)].key.clone();
        if keys.insert(key.clone()) {
            patch.remove_facts.push(key);
        }
    }
    if rng.below(3) == 0 && model.timeline.len() > 1 {
        // A change removed, and sometimes put back at another date (units live longer or
        // shorter, or are not created at all).
        let index = 1 + rng.below(model.timeline.len() - 1);
        let change = model.timeline[index].clone();
        patch.remove_changes.push(PlacedChange {
            position: Some(index),
            change: change.clone(),
        });
        if rng.below(2) == 0 {
            let mut moved = change;
            moved.date += chrono::Duration::days(rng.below(1500) as i64 - 750);
            patch.add_changes.push(PlacedChange {
                position: None,
                change: moved,
            });
        }
    }
    if rng.below(4) == 0 && !model.fx.is_empty() {
        let rate = &model.fx[rng.below(model.fx.len())];
        if rng.below(2) == 0 {
            patch.remove_fx.push((rate.currency.clone(), rate.period));
        } else {
            let mut rate = rate.clone();
            rate.average *= 1.1;
            rate.currency = Currency::parse(["XYZ", "EUR"][rng.below(2)]).unwrap();
            patch.fx.push(rate);
        }
    }
    patch
}

/// Checks both fast paths on `count` random patches of `model`; the counts of valid and
/// invalid patches.
fn check(model: &Model, date: NaiveDate, count: usize, seed: u64) -> (usize, usize) {
    let mut rng = SplitMix::new(seed);
    let (mut valid, mut invalid) = (0, 0);
    for round in 0..count {
        let patch = patch(model, &mut rng);
        let Ok((after, diff)) = apply_patch(model, &patch) else {
            assert!(evaluate_patch(model, &patch).is_err());
            continue;
        };
        // The evaluation without the model after: the same diff, the same model when made.
        let evaluation = evaluate_patch(model, &patch).expect("applies as apply_patch does");
        assert_eq!(evaluation.diff, diff, "round {round}");
        assert!(evaluation.frame.facts.is_empty());
        assert_eq!(
            evaluation.model(model),
            after,
            "round {round}: the model after"
        );
        let full = validate(&after);
        let changed = validate_changed(model, &after, &diff);
        assert_eq!(
            changed, full,
            "round {round}: incremental validation differs from the whole model's"
        );
        assert_eq!(
            validate_evaluation(model, &evaluation),
            full,
            "round {round}: validation of the evaluation differs from the whole model's"
        );
        if !full.is_empty() {
            invalid += 1;
            continue;
        }
        valid += 1;
        let whole = preview(model, &after, date);
        let reduced = preview_of(model, &after, &diff, date);
        assert_eq!(reduced.cells, whole.cells, "round {round}: changed cells");
        assert_eq!(reduced.moved, whole.moved, "round {round}");
        assert_eq!(reduced.new_units, whole.new_units, "round {round}");
        assert_eq!(reduced.gone_units, whole.gone_units, "round {round}");
        assert_eq!(reduced.periods, whole.periods, "round {round}");
        let evaluated = preview_evaluated(model, &evaluation, date);
        assert_eq!(
            evaluated, reduced,
            "round {round}: the preview of the evaluation"
        );
    }
    (valid, invalid)
}

#[test]
fn incremental_validation_and_reduced_preview_equal_the_whole_on_the_example() {
    let model = example();
    let date = NaiveDate::from_ymd_opt(2024, 6, 30).unwrap();
    let (valid, invalid) = check(&model, date, 48, 11);
    assert!(
        valid >= 8 && invalid >= 8,
        "valid {valid}, invalid {invalid}"
    );
}

#[test]
fn incremental_validation_and_reduced_preview_equal_the_whole_on_a_generated_group() {
    let model = generated();
    let date = NaiveDate::from_ymd_opt(2018, 9, 30).unwrap();
    let (valid, invalid) = check(&model, date, 24, 5);
    assert!(
        valid >= 4 && invalid >= 4,
        "valid {valid}, invalid {invalid}"
    );
}
