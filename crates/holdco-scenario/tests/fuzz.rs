//! A bounded fuzz that runs with `cargo test`: the example's scenario files with random
//! edits, and random distribution tables, go through the scenario parser and checks. None
//! may panic. The unbounded version is `fuzz/` (docs/format.md).

use crate::common::{example, with_scenario};
use proptest::prelude::*;

fn edit(text: &str, edits: &[(f64, usize, String)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for (at, delete, insert) in edits {
        let start = ((chars.len() as f64) * at) as usize;
        let end = (start + delete).min(chars.len());
        chars.splice(start..end, insert.chars());
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn edited_scenarios_never_panic(
        which in 0usize..3,
        edits in prop::collection::vec((0.0..1.0f64, 0usize..4, "[\\[\\]{}\"=,.\n0-9a-z_-]{0,6}"), 1..5),
    ) {
        let model = example();
        let name = ["scenarios/keep-cloud.toml", "scenarios/one-alibaba.toml", "scenarios/spin-off-cloud.toml"][which];
        let text = edit(&model.documents[name], &edits);
        let model = with_scenario(&name[10..name.len() - 5], &text);
        let _ = holdco_scenario::check(&model);
    }

    #[test]
    fn any_distribution_table_parses_or_is_refused(
        dist in "(normal|lognormal|triangular|uniform|empirical|fixed|x)",
        keys in prop::collection::vec(("(mean|sd|median|sd_log|min|mode|max|value)", prop_oneof![any::<f64>(), -1e3..1e3f64, Just(f64::MAX), Just(1e15)]), 0..4),
    ) {
        let mut table = toml::Table::new();
        table.insert("dist".into(), toml::Value::String(dist));
        for (key, value) in keys {
            table.insert(key, toml::Value::Float(value));
        }
        if let Ok(d) = holdco_scenario::dist::Dist::parse(&toml::Value::Table(table)) {
            for z in [-8.0, 0.0, 8.0] {
                prop_assert!(d.at_z(z).is_finite(), "{d:?} at {z}");
            }
        }
    }
}
