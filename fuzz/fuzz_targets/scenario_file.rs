//! Fuzz target: one scenario file against a small valid model, through parsing, inheritance
//! and the checks `holdco check` runs.
#![no_main]

use holdco_core::format::{read_model, ModelFiles};
use libfuzzer_sys::fuzz_target;

const GROUP: &str = "[group]\nid = \"g\"\nname = \"G\"\ncurrency = \"CNY\"\nfiscal_year_end = \"03-31\"\n\n[[metric]]\nid = \"revenue\"\nname = \"Revenue\"\nmeasure = \"currency\"\naggregation = \"flow\"\n\n[[metric]]\nid = \"adjusted_ebita\"\nname = \"EBITA\"\nmeasure = \"currency\"\naggregation = \"flow\"\n";
const TIMELINE: &str = "[[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"g\"\nname = \"G\"\n\n[[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"a\"\nname = \"A\"\nparent = \"g\"\n";

fuzz_target!(|data: &[u8]| {
    let mut files = ModelFiles::new();
    files.insert("group.toml".into(), GROUP.as_bytes().to_vec());
    files.insert("timeline.toml".into(), TIMELINE.as_bytes().to_vec());
    files.insert(
        "facts.csv".into(),
        b"unit,period,metric,value\na,FY2024,revenue,100\na,FY2025,revenue,110\n".to_vec(),
    );
    files.insert("scenarios/s.toml".into(), data.to_vec());
    if let (Some(model), _) = read_model(&files) {
        let _ = holdco_scenario::check(&model);
    }
});
