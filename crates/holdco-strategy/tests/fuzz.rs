//! A bounded fuzz that runs with `cargo test`: random text and the example's documents with
//! random edits go through the strategy parsers (strategy.toml, assessments.csv,
//! capital.toml) and the rule compiler. None may panic; a rule either compiles within the
//! limits or is refused with a message. The unbounded version is `fuzz/` (docs/format.md).

use crate::common::example;
use holdco_strategy::rule::{Rule, RuleBounds};
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

fn edits() -> impl Strategy<Value = Vec<(f64, usize, String)>> {
    prop::collection::vec(
        (
            0.0..1.0f64,
            0usize..4,
            "[\\[\\](){}\"'=,.\n0-9a-z&|!?:-]{0,5}",
        ),
        1..5,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn edited_documents_never_panic(which in 0usize..3, edits in edits()) {
        let mut model = example();
        let name = ["strategy.toml", "assessments.csv", "capital.toml"][which];
        let text = model.documents[name].clone();
        model.documents.insert(name.to_string(), edit(&text, &edits));
        let _ = holdco_strategy::check(&model);
    }

    #[test]
    fn any_rule_text_compiles_or_is_refused(text in "[\\[\\](){}\"'=<>,.0-9a-z_&|!?:+*/% -]{0,80}") {
        if let Ok(rule) = Rule::compile(&text, RuleBounds { list_elements: 8 }) {
            let _ = rule.variables();
            let _ = rule.execute(&cel_interpreter::Context::default());
        }
    }
}
