//! Fuzz target: a whole model folder (group.toml, timeline.toml, facts.csv, fx.csv) from
//! one input split at 0xFF bytes, through the reference reader and both validations.
#![no_main]

use holdco_core::format::{read_model, ModelFiles};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut files = ModelFiles::new();
    for (name, part) in ["group.toml", "timeline.toml", "facts.csv", "fx.csv"]
        .iter()
        .zip(data.split(|b| *b == 0xFF))
    {
        files.insert(name.to_string(), part.to_vec());
    }
    let (model, _) = read_model(&files);
    if let Some(model) = model {
        let _ = holdco_core::validate::validate(&model);
        let _ = holdco_core::bulk_validate::validate(&model);
    }
});
