//! Loading the bundled Alibaba example, with documents replaced or added for a test.

use holdco_core::format::{read_model, ModelFiles};
use holdco_core::validate::validate;
use holdco_core::Model;
use std::path::Path;

/// The example folder's model files (facts and scenarios included), read as the command
/// line reads a folder.
pub fn example_files() -> ModelFiles {
    holdco_folder::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/alibaba"))
        .expect("the example folder reads")
}

/// The example model (valid).
pub fn example() -> Model {
    model_of(&example_files())
}

/// A model from files that must be valid as far as core is concerned.
pub fn model_of(files: &ModelFiles) -> Model {
    let (model, problems) = read_model(files);
    let model = model.expect("model parses");
    let mut problems = problems;
    problems.extend(validate(&model).1);
    assert!(problems.is_empty(), "{problems:#?}");
    model
}

/// The example with one document's text edited.
pub fn edited(file: &str, edit: impl Fn(&str) -> String) -> Model {
    let mut model = example();
    let text = model.documents.get(file).cloned().unwrap_or_default();
    model.documents.insert(file.to_string(), edit(&text));
    model
}
