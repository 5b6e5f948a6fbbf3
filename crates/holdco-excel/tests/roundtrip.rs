//! Folder -> workbook -> folder is identical: on the bundled example and on generated models.

use crate::common::*;
use holdco_core::synth::{Synth, SynthSpec};
use proptest::prelude::*;

#[test]
fn the_example_round_trips_through_a_workbook() {
    let dir = tempfile::tempdir().unwrap();
    let model = example_model();
    let path = to_workbook(&model, dir.path());
    let (files, back, problems) = read_back(&path);
    assert!(problems.is_empty(), "{problems:#?}");
    let back = back.unwrap();
    let differences = differences(&model, &back);
    assert!(differences.is_empty(), "{differences:#?}");
    let (expected, actual) = (canonical(&model), canonical(&back));
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        actual.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &expected {
        assert_eq!(
            String::from_utf8_lossy(bytes),
            String::from_utf8_lossy(&actual[name]),
            "{name} differs"
        );
    }
    // The folder's own files come back byte for byte where the workbook keeps their text.
    let original = holdco_folder::read(&example()).unwrap();
    for name in ["strategy.toml", "capital.toml"] {
        assert_eq!(
            String::from_utf8_lossy(&original[name]),
            String::from_utf8_lossy(&files[name]),
            "{name}"
        );
    }
}

fn synth_model(units: usize, facts: usize, changes: usize, seed: u64) -> holdco_core::Model {
    let spec = SynthSpec {
        units,
        facts,
        changes,
        seed,
        depth: 3,
        months: Some(24),
        ..SynthSpec::default()
    };
    Synth::generate(&spec).into_model()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn generated_models_round_trip(units in 3usize..30, facts in 0usize..400, changes in 0usize..40, seed in 0u64..1_000) {
        let dir = tempfile::tempdir().unwrap();
        let model = synth_model(units, facts, changes, seed);
        let path = to_workbook(&model, dir.path());
        let (_, back, problems) = read_back(&path);
        prop_assert!(problems.is_empty(), "{:#?}", problems);
        let back = back.unwrap();
        prop_assert_eq!(canonical(&back), canonical(&model));
        let differences = differences(&model, &back);
        prop_assert!(differences.is_empty(), "{:#?}", differences);
    }
}

#[test]
fn facts_beyond_a_sheet_continue_on_further_sheets() {
    let dir = tempfile::tempdir().unwrap();
    let model = synth_model(6, 300, 5, 3);
    let path = dir.path().join("split.xlsx");
    let summary = holdco_excel::model_write::write_model_workbook_with(&model, &path, 100).unwrap();
    let facts_sheets: Vec<&String> = summary
        .sheets
        .iter()
        .filter(|s| s.starts_with("Facts"))
        .collect();
    assert_eq!(facts_sheets.len(), model.facts.len().div_ceil(100));
    assert_eq!(facts_sheets[1], "Facts 2");
    let (_, back, problems) = read_back(&path);
    assert!(problems.is_empty(), "{problems:?}");
    let differences = differences(&model, &back.unwrap());
    assert!(differences.is_empty(), "{differences:#?}");
}
