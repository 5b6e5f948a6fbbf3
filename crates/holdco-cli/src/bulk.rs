//! Reading and validating a model folder for `holdco check` and `holdco import`, with the
//! core's parallel validation (the same problems in the same order as the one-table check,
//! in a fraction of the time on folders of millions of facts).

use crate::folder;
use anyhow::Result;
use holdco_core::format::read_model;
use holdco_core::{Diagnostic, Model};
use std::path::Path;

/// Parses and validates a folder; Err(problems) when anything is wrong.
pub fn load_folder(dir: &Path) -> Result<std::result::Result<Model, Vec<Diagnostic>>> {
    let files = folder::read(dir)?;
    let (model, mut problems) = read_model(&files);
    drop(files);
    let Some(model) = model else { return Ok(Err(problems)) };
    let (_, more) = holdco_core::bulk_validate::validate(&model);
    problems.extend(more);
    if problems.is_empty() {
        // The strategy documents are checked against a model that is valid itself.
        problems.extend(holdco_strategy::check(&model).1);
    }
    if problems.is_empty() {
        Ok(Ok(model))
    } else {
        Ok(Err(problems))
    }
}
