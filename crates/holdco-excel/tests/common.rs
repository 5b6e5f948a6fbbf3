//! Helpers shared by the tests: the bundled example and workbook round trips.

use holdco_core::format::{read_model, write_model, ModelFiles};
use holdco_core::{Diagnostic, Model};
use holdco_excel::{read_model_workbook, write_model_workbook, Limits};
use std::path::{Path, PathBuf};

/// The bundled Alibaba example folder.
pub fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/alibaba")
}

/// The example read as a model.
pub fn example_model() -> Model {
    let files = holdco_folder::read(&example()).unwrap();
    let (model, problems) = read_model(&files);
    assert!(problems.is_empty(), "{problems:?}");
    model.unwrap()
}

/// Reads a workbook back: its files and every problem, cell problems first, the folder
/// reader's (located in the workbook) after.
pub fn read_back(path: &Path) -> (ModelFiles, Option<Model>, Vec<String>) {
    let (book, mut problems) = read_model_workbook(path, Limits::default()).unwrap();
    let (model, more) = read_model(&book.files);
    problems.extend(more.iter().filter_map(|p| book.locate(p)));
    if let Some(model) = &model {
        let (_, more) = holdco_core::bulk_validate::validate(model);
        problems.extend(more.iter().filter_map(|p| book.locate(p)));
    }
    let shown = problems.iter().map(Diagnostic::to_string).collect();
    (book.files, model, shown)
}

/// Writes `model` as a workbook in `dir` and returns its path.
pub fn to_workbook(model: &Model, dir: &Path) -> PathBuf {
    let path = dir.join("model.xlsx");
    write_model_workbook(model, &path).unwrap();
    path
}

/// The canonical files of a model (what `holdco export` writes).
pub fn canonical(model: &Model) -> ModelFiles {
    write_model(model)
}

/// The model with facts and rates in key order (files may list them in any order).
pub fn normalised(model: &Model) -> Model {
    let mut model = model.clone();
    model.facts.sort_by(|a, b| a.key.cmp(&b.key));
    model
        .fx
        .sort_by(|a, b| (&a.currency, a.period).cmp(&(&b.currency, b.period)));
    model
}

/// Which parts of two models differ (empty when none).
pub fn differences(a: &Model, b: &Model) -> Vec<String> {
    let (a, b) = (normalised(a), normalised(b));
    let mut out = Vec::new();
    if a.group != b.group {
        out.push(format!("group: {:?} vs {:?}", a.group, b.group));
    }
    if a.metrics != b.metrics {
        out.push(format!("metrics: {:?} vs {:?}", a.metrics, b.metrics));
    }
    for (x, y) in a.timeline.iter().zip(&b.timeline) {
        if x != y {
            out.push(format!("change: {x:?} vs {y:?}"));
        }
    }
    if a.timeline.len() != b.timeline.len() {
        out.push(format!(
            "{} vs {} changes",
            a.timeline.len(),
            b.timeline.len()
        ));
    }
    for (x, y) in a.facts.iter().zip(&b.facts) {
        if x != y {
            out.push(format!("fact: {x:?} vs {y:?}"));
            break;
        }
    }
    if a.facts.len() != b.facts.len() {
        out.push(format!("{} vs {} facts", a.facts.len(), b.facts.len()));
    }
    if a.fx != b.fx {
        out.push("fx differ".into());
    }
    for (name, text) in &a.documents {
        if b.documents.get(name) != Some(text) {
            out.push(format!(
                "document {name}: {text:?} vs {:?}",
                b.documents.get(name)
            ));
        }
    }
    out
}
