//! Loading the bundled Alibaba example, with documents replaced or added for a test.

use holdco_core::format::{is_model_file, read_model, ModelFiles};
use holdco_core::validate::validate;
use holdco_core::Model;
use std::path::Path;

/// The example folder's files.
pub fn example_files() -> ModelFiles {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/alibaba");
    let mut files = ModelFiles::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().to_string();
        if entry.path().is_dir() && name == "facts" {
            for inner in std::fs::read_dir(entry.path()).unwrap() {
                let inner = inner.unwrap();
                files.insert(format!("facts/{}", inner.file_name().to_string_lossy()), std::fs::read(inner.path()).unwrap());
            }
        } else if is_model_file(&name) {
            files.insert(name, std::fs::read(entry.path()).unwrap());
        }
    }
    files
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
