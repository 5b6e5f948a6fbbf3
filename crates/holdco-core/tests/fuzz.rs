//! A bounded fuzz that runs with `cargo test`: random bytes, and the example's files with
//! random edits, go through every parser of the model folder (the reference reader, the
//! fast fact reader, the columnar reader, both validations and the period labels). None may
//! panic, and the columnar path may accept only what the reference path accepts. The
//! unbounded, coverage-guided version is `fuzz/` (see docs/format.md, "Limits").

use holdco_core::format::fact_columns::read_model_columns;
use holdco_core::format::{read_model, ModelFiles};
use holdco_core::{bulk_validate, validate::validate, FiscalCalendar, Period};
use proptest::prelude::*;
use std::path::Path;

/// The example's model files that core reads.
fn example() -> ModelFiles {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/alibaba");
    let mut files = ModelFiles::new();
    for name in ["group.toml", "timeline.toml"] {
        files.insert(name.into(), std::fs::read(root.join(name)).unwrap());
    }
    // One fact file keeps each case fast; the edits reach every column of it.
    files.insert(
        "facts/s2_1p6pn.csv".into(),
        std::fs::read(root.join("facts/s2_1p6pn.csv")).unwrap(),
    );
    files.insert(
        "fx.csv".into(),
        b"currency,period,average,closing,source\nUSD,FY2025,7.189,7.257,x\n".to_vec(),
    );
    files
}

/// Bytes chosen to hit the parsers' edges: separators, quotes, signs, digits, exponents,
/// newlines, a byte-order mark's first byte, control and non-ASCII bytes.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        Just(b','),
        Just(b'"'),
        Just(b'\n'),
        Just(b'\r'),
        Just(b'-'),
        Just(b'+'),
        Just(b'.'),
        Just(b'e'),
        Just(b'['),
        Just(b']'),
        Just(b'='),
        Just(b'Q'),
        Just(b'F'),
        Just(b'Y'),
        Just(0xEF),
        Just(0x1b),
        Just(0),
        (b'0'..=b'9'),
        any::<u8>(),
    ]
}

/// An edit: at a relative position, delete `delete` bytes and insert `insert`.
fn edits() -> impl Strategy<Value = Vec<(f64, usize, Vec<u8>)>> {
    prop::collection::vec(
        (
            0.0..1.0f64,
            0usize..4,
            prop::collection::vec(interesting_byte(), 0..6),
        ),
        1..6,
    )
}

fn apply(bytes: &[u8], edits: &[(f64, usize, Vec<u8>)]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for (at, delete, insert) in edits {
        let start = ((out.len() as f64) * at) as usize;
        let end = (start + delete).min(out.len());
        out.splice(start..end, insert.iter().copied());
    }
    out
}

/// Every reader on `files`: no panic, and the columns accept only what the reference accepts.
fn every_reader(files: &ModelFiles) {
    let (model, problems) = read_model(files);
    let reference_clean = match &model {
        Some(model) => {
            let (_, one) = validate(model);
            let (_, bulk) = bulk_validate::validate(model);
            assert_eq!(
                one.len(),
                bulk.len(),
                "the two validations disagree: {one:?} vs {bulk:?}"
            );
            problems.is_empty() && one.is_empty()
        }
        None => false,
    };
    if let Some((model, mut columns)) = read_model_columns(files) {
        let valid = bulk_validate::columns_valid(&model, &mut columns);
        assert!(
            !valid || reference_clean,
            "the columnar path accepted what the reference refused: {problems:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn edited_example_files_never_panic(which in 0usize..4, edits in edits()) {
        let mut files = example();
        let name = files.keys().nth(which).unwrap().clone();
        let edited = apply(&files[&name], &edits);
        files.insert(name, edited);
        every_reader(&files);
    }

    #[test]
    fn random_bytes_never_panic(which in 0usize..4, bytes in prop::collection::vec(interesting_byte(), 0..400)) {
        let mut files = example();
        let name = files.keys().nth(which).unwrap().clone();
        files.insert(name, bytes);
        every_reader(&files);
    }

    #[test]
    fn period_labels_never_panic(text in "[-+ FYQfyq0-9]{0,12}", month in 1u8..=12) {
        let _ = Period::parse(&text, FiscalCalendar::new(month).unwrap());
        let _ = holdco_core::period::parse_iso_date(&text);
    }
}
