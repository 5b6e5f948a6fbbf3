//! Reading and validating a model folder for `holdco check` and `holdco import`, with the
//! core's parallel validation (the same problems in the same order as the one-table check,
//! in a fraction of the time on folders of millions of facts).

use anyhow::{Context, Result};
use holdco_core::format::fact_columns::{read_model_columns, FactColumns};
use holdco_core::format::{read_model, ModelFiles};
use holdco_core::{Diagnostic, Model};
use holdco_folder as folder;
use std::path::Path;

/// Parses and validates a folder; Err(problems) when anything is wrong.
pub fn load_folder(dir: &Path) -> Result<std::result::Result<Model, Vec<Diagnostic>>> {
    Ok(load_files(folder::read(dir)?))
}

/// Parses and validates the files of a model folder held in memory (a folder read from
/// disk, or the files a workbook stands for); Err(problems) when anything is wrong.
pub fn load_files(files: ModelFiles) -> std::result::Result<Model, Vec<Diagnostic>> {
    let (model, mut problems) = read_model(&files);
    drop(files);
    let Some(model) = model else {
        return Err(problems);
    };
    // A timeline that could not be read at all (a TOML syntax error) creates no unit: checking
    // the facts against it would report one "unknown unit" per fact, millions of lines that
    // say nothing the syntax error does not.
    let timeline_unreadable = model.timeline.is_empty()
        && problems
            .iter()
            .any(|p| p.file == holdco_core::format::TIMELINE_FILE);
    if timeline_unreadable {
        return Err(problems);
    }
    let (_, more) = holdco_core::bulk_validate::validate(&model);
    problems.extend(more);
    if problems.is_empty() {
        // The strategy documents are checked against a model that is valid itself.
        problems.extend(holdco_strategy::check(&model).1);
        problems.extend(holdco_scenario::check(&model));
        // The domains registered on the log (holdco_core::extension): governance.
        problems.extend(holdco_core::extension::check(&model));
    }
    if problems.is_empty() {
        Ok(model)
    } else {
        Err(problems)
    }
}

/// Reads a folder for a fresh import on the columnar path: the model without facts and its
/// facts as validated columns (sorted by period within each series). `None` when anything
/// is not certain — a problem anywhere, a fact file the fast reader does not take, strategy
/// documents (checked against whole facts) — and then [`load_folder`] gives the answer and
/// its diagnostics.
pub fn load_folder_columns(dir: &Path) -> Result<Option<(Model, FactColumns)>> {
    let Some((model, mut columns)) = read_folder_columns(dir)? else {
        return Ok(None);
    };
    if !holdco_core::bulk_validate::columns_valid(&model, &mut columns) {
        return Ok(None);
    }
    Ok(Some((model, columns)))
}

/// [`load_folder_columns`] without the validation: the caller validates the columns
/// ([`holdco_core::bulk_validate::columns_valid_timeline`], keeping the replayed timeline).
/// `None` for a folder with documents or a fact file the fast reader does not take.
pub fn read_folder_columns(dir: &Path) -> Result<Option<(Model, FactColumns)>> {
    let timing = std::env::var_os("HOLDCO_TIMING").is_some();
    let started = std::time::Instant::now();
    let lap = |what: &str| {
        if timing {
            eprintln!("import: {what} at {:.2?}", started.elapsed());
        }
    };
    // The small files are read whole; the fact files are streamed, one window at a time, so
    // memory holds the columns and one window, never a whole fact file beside them (issue
    // 16 item 7).
    let listed = folder::read_names(dir)?;
    let is_fact_file = |name: &str| {
        name == holdco_core::format::FACTS_FILE
            || (name.starts_with("facts/") && holdco_core::format::is_model_file(name))
    };
    let (fact_names, other_names): (Vec<_>, Vec<_>) =
        listed.into_iter().partition(|(name, _)| is_fact_file(name));
    let mut others = ModelFiles::new();
    for (name, path) in other_names {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        others.insert(name, bytes);
    }
    let mut streams = Vec::with_capacity(fact_names.len());
    for (name, path) in &fact_names {
        let file =
            std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
        streams.push((name.clone(), file));
    }
    let read = holdco_core::format::fact_columns::read_model_columns_from(&others, streams)
        .map_err(|(name, error)| {
            anyhow::anyhow!("reading {}: {error}", dir.join(name).display())
        })?;
    lap("read and parsed the files");
    let Some((model, columns)) = read else {
        return Ok(None);
    };
    if !model.documents.is_empty() {
        return Ok(None);
    }
    Ok(Some((model, columns)))
}

/// [`load_folder_columns`] for files held in memory (a folder's, or a workbook's).
pub fn load_files_columns(files: &ModelFiles, lap: &dyn Fn(&str)) -> Option<(Model, FactColumns)> {
    let (model, mut columns) = read_model_columns(files)?;
    lap("parsed");
    let has_events = model
        .timeline
        .iter()
        .any(|c| matches!(c.kind, holdco_core::ChangeKind::Event { .. }));
    if !model.documents.is_empty()
        || has_events
        || !holdco_core::bulk_validate::columns_valid(&model, &mut columns)
    {
        return None;
    }
    lap("validated");
    Some((model, columns))
}
