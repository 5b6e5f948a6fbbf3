//! Invariants of patches, on the example with generated edits (proptest): the inverse of
//! what a patch did undoes it exactly, whatever it revises, adds or removes.

use holdco_changeset::{apply_patch, Patch, PlacedChange};
use holdco_core::format::read_model;
use holdco_core::{Fact, Model, Period};
use proptest::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

fn example() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let files = holdco_folder::read(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/alibaba"),
        )
        .unwrap();
        let mut model = read_model(&files).0.unwrap();
        model.canonicalize();
        model
    })
}

/// A patch over the example: facts revised (by index), facts removed, new facts (a stored
/// key moved to a later year), timeline changes removed and put back elsewhere, documents.
fn patches() -> impl Strategy<Value = Patch> {
    let facts = example().facts.len();
    let changes = example().timeline.len();
    (
        prop::collection::btree_map(0..facts, -1000.0f64..1000.0, 0..20),
        prop::collection::btree_set(0..facts, 0..10),
        prop::collection::btree_set(0..facts, 0..10),
        prop::collection::btree_set(1..changes, 0..4),
        prop::collection::vec((0..changes, 1..changes), 0..3),
        prop::option::of("[a-z ]{0,40}"),
    )
        .prop_map(
            move |(revised, removed, moved, dropped, placed, document)| {
                let model = example();
                let mut patch = Patch::default();
                for (index, delta) in &revised {
                    if removed.contains(index) {
                        continue;
                    }
                    let mut fact = model.facts[*index].clone();
                    fact.value += delta;
                    patch.facts.push(fact);
                }
                for index in &removed {
                    patch.remove_facts.push(model.facts[*index].key.clone());
                }
                for index in &moved {
                    let mut fact: Fact = model.facts[*index].clone();
                    fact.key.period =
                        Period::new(fact.key.period.start + 1200, fact.key.period.granularity);
                    if !patch.facts.iter().any(|f| f.key == fact.key) {
                        patch.facts.push(fact);
                    }
                }
                for index in &dropped {
                    patch.remove_changes.push(PlacedChange {
                        position: Some(*index),
                        change: model.timeline[*index].clone(),
                    });
                }
                for (source, position) in placed {
                    patch.add_changes.push(PlacedChange {
                        position: Some(position.min(changes - dropped.len())),
                        change: model.timeline[source].clone(),
                    });
                }
                match document {
                    Some(text) => {
                        patch.documents.insert("strategy.toml".into(), text);
                    }
                    None => patch.remove_documents.push("capital.toml".into()),
                }
                patch
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// `revert_round_trip_on_generated_patches`: apply(apply(M, P).after, inverse) == M.
    #[test]
    fn revert_round_trip_on_generated_patches(patch in patches()) {
        let base = example();
        let (after, diff) = apply_patch(base, &patch).expect("the generated patch applies");
        let (back, undo) = apply_patch(&after, &diff.inverse()).expect("its inverse applies");
        prop_assert_eq!(&back.timeline, &base.timeline);
        prop_assert_eq!(&back.facts, &base.facts);
        prop_assert_eq!(&back.documents, &base.documents);
        prop_assert_eq!(&back, base);
        // Undoing the undo gives the model after again.
        let (again, _) = apply_patch(&back, &undo.inverse()).expect("the inverse of the inverse applies");
        prop_assert_eq!(&again, &after);
    }
}
