//! Fuzz target: class rules (CEL) through the limits, the parser and, when accepted, the
//! interpreter. Nothing may panic, overflow the stack or run past the step limit.
#![no_main]

use holdco_strategy::rule::{Rule, RuleBounds};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(rule) = Rule::compile(text, RuleBounds { list_elements: 16 }) {
            let _ = rule.execute(&cel_interpreter::Context::default());
        }
    }
});
