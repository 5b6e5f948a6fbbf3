//! Fuzz target: a fact file under a fixed, valid group and timeline, through the reference
//! reader, the fast reader and the columnar reader; the columns may accept only what the
//! reference accepts.
#![no_main]

use holdco_core::format::fact_columns::read_model_columns;
use holdco_core::format::{read_model, ModelFiles};
use libfuzzer_sys::fuzz_target;

const GROUP: &str = "[group]\nid = \"g\"\nname = \"G\"\ncurrency = \"CNY\"\nfiscal_year_end = \"03-31\"\n\n[[metric]]\nid = \"revenue\"\nname = \"Revenue\"\nmeasure = \"currency\"\naggregation = \"flow\"\n";
const TIMELINE: &str = "[[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"g\"\nname = \"G\"\n\n[[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"a\"\nname = \"A\"\nparent = \"g\"\n";

fuzz_target!(|data: &[u8]| {
    let mut files = ModelFiles::new();
    files.insert("group.toml".into(), GROUP.as_bytes().to_vec());
    files.insert("timeline.toml".into(), TIMELINE.as_bytes().to_vec());
    files.insert("facts/a.csv".into(), data.to_vec());
    let (model, problems) = read_model(&files);
    let clean = model
        .as_ref()
        .is_some_and(|m| problems.is_empty() && holdco_core::validate::validate(m).1.is_empty());
    if let Some((model, mut columns)) = read_model_columns(&files) {
        assert!(!holdco_core::bulk_validate::columns_valid(&model, &mut columns) || clean);
    }
});
