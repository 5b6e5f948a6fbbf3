//! Fuzz target: strategy.toml, assessments.csv and capital.toml (split at 0xFF bytes) against
//! a small valid model.
#![no_main]

use holdco_core::format::{read_model, ModelFiles};
use libfuzzer_sys::fuzz_target;

const GROUP: &str = "[group]\nid = \"g\"\nname = \"G\"\ncurrency = \"CNY\"\nfiscal_year_end = \"03-31\"\n\n[[metric]]\nid = \"revenue\"\nname = \"Revenue\"\nmeasure = \"currency\"\naggregation = \"flow\"\n";
const TIMELINE: &str = "[[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"g\"\nname = \"G\"\n\n[[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"a\"\nname = \"A\"\nparent = \"g\"\n";

fuzz_target!(|data: &[u8]| {
    let mut files = ModelFiles::new();
    files.insert("group.toml".into(), GROUP.as_bytes().to_vec());
    files.insert("timeline.toml".into(), TIMELINE.as_bytes().to_vec());
    for (name, part) in ["strategy.toml", "assessments.csv", "capital.toml"]
        .iter()
        .zip(data.split(|b| *b == 0xFF))
    {
        files.insert(name.to_string(), part.to_vec());
    }
    if let (Some(model), _) = read_model(&files) {
        let _ = holdco_strategy::check(&model);
    }
});
