//! Reading and validating a model folder for `holdco check` and `holdco import`, with the
//! core's parallel validation (the same problems in the same order as the one-table check,
//! in a fraction of the time on folders of millions of facts).

use crate::commands::ProblemLog;
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

/// Bytes of a fact file read at a time on the columnar path (HOLDCO_COLUMNS_WINDOW sets it,
/// for measurements). 16 MB took less memory than 64 MB on one folder of 3.5M facts and
/// more on one of 11.6M (each window's columns carry their own series tables until joined;
/// docs/PERFORMANCE.md, issue 16 item 7), so it stays at 64 MB.
const COLUMNS_WINDOW: usize = holdco_core::format::fact_columns::WINDOW_BYTES;

/// A folder's fact files (name and path, in the folder's order) and its other files read.
type SplitFolder = (Vec<(String, std::path::PathBuf)>, ModelFiles);

/// Lists a folder and reads its files other than the fact files, which are left to be
/// streamed.
fn split_folder(dir: &Path) -> Result<SplitFolder> {
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
    Ok((fact_names, others))
}

/// The fact files opened as streams.
fn open_fact_files(
    fact_names: &[(String, std::path::PathBuf)],
) -> Result<Vec<(String, std::fs::File)>> {
    let mut streams = Vec::with_capacity(fact_names.len());
    for (name, path) in fact_names {
        let file =
            std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
        streams.push((name.clone(), file));
    }
    Ok(streams)
}

/// True when the model holds scenario files: checking them compiles each scenario on the
/// model's facts, so they need the facts whole ([`load_folder`]).
fn has_scenarios(model: &Model) -> bool {
    model
        .documents
        .keys()
        .any(|name| name.starts_with("scenarios/"))
}

/// The problems of the documents of a model whose facts are valid, as [`load_files`] finds
/// them, for a model held without its facts: the strategy files and the registered domains
/// (governance) read no fact. Scenario files do; callers leave them to [`load_folder`].
fn document_problems(model: &Model) -> Vec<Diagnostic> {
    let mut problems = holdco_strategy::check(model).1;
    problems.extend(holdco_core::extension::check(model));
    problems
}

/// Reads a folder for a fresh import on the columnar path: the model without facts and its
/// facts as validated columns (sorted by period within each series). `None` when anything
/// is not certain — a problem anywhere, a fact file the fast reader does not take, scenario
/// files (checked against whole facts) — and then [`diagnose_folder`] and [`load_folder`]
/// give the answer and its diagnostics.
pub fn load_folder_columns(dir: &Path) -> Result<Option<(Model, FactColumns)>> {
    let Some((model, mut columns)) = read_folder_columns(dir)? else {
        return Ok(None);
    };
    if !holdco_core::bulk_validate::columns_valid(&model, &mut columns) || !documents_valid(&model)
    {
        return Ok(None);
    }
    Ok(Some((model, columns)))
}

/// True when the documents of a model whose facts are valid (strategy files, registered
/// domains) have no problem; scenario files never reach here ([`read_folder_columns`]).
pub fn documents_valid(model: &Model) -> bool {
    document_problems(model).is_empty()
}

/// [`load_folder_columns`] without the validation: the caller validates the columns
/// ([`holdco_core::bulk_validate::columns_valid_timeline`], keeping the replayed timeline)
/// and the documents ([`documents_valid`]). `None` for a folder with scenario files or a
/// fact file the fast reader does not take.
pub fn read_folder_columns(dir: &Path) -> Result<Option<(Model, FactColumns)>> {
    let timing = std::env::var_os("HOLDCO_TIMING").is_some();
    let started = std::time::Instant::now();
    let lap = |what: &str| {
        if timing {
            eprintln!(
                "import: {what} at {:.2?}{}",
                started.elapsed(),
                peak_memory()
            );
        }
    };
    // The small files are read whole; the fact files are streamed, one window at a time, so
    // memory holds the columns and one window, never a whole fact file beside them (issue
    // 16 item 7).
    let (fact_names, others) = split_folder(dir)?;
    let streams = open_fact_files(&fact_names)?;
    let window = std::env::var("HOLDCO_COLUMNS_WINDOW")
        .ok()
        .and_then(|text| text.parse().ok())
        .filter(|window: &usize| *window > 0)
        .unwrap_or(COLUMNS_WINDOW);
    let read =
        holdco_core::format::fact_columns::read_model_columns_windowed(&others, streams, window)
            .map_err(|(name, error)| {
                anyhow::anyhow!("reading {}: {error}", dir.join(name).display())
            })?;
    lap("read and parsed the files");
    let Some((model, columns)) = read else {
        return Ok(None);
    };
    if has_scenarios(&model) {
        return Ok(None);
    }
    Ok(Some((model, columns)))
}

/// ", peak N MB" from the process's high-water mark of resident memory, where the system
/// tells it (Linux); empty elsewhere. For HOLDCO_TIMING's laps.
fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!(", peak {} MB", kb / 1024))
        })
        .unwrap_or_default()
}

/// What [`diagnose_folder`] found.
pub enum Diagnosis {
    /// No problem: the model without its facts, and how many facts the folder holds.
    Valid(Model, usize),
    /// No problem in the facts, but scenario files to check against the facts whole: only
    /// [`load_folder`] can say.
    NeedsFacts,
    /// The problems, as [`load_folder`] finds them, in the same order.
    Problems(ProblemLog),
}

/// Bytes of a fact file read at a time by [`diagnose_folder`] (`HOLDCO_STREAM_WINDOW`
/// sets it, for tests of windows cutting through files).
fn stream_window() -> usize {
    std::env::var("HOLDCO_STREAM_WINDOW")
        .ok()
        .and_then(|text| text.parse().ok())
        .filter(|window| *window > 0)
        .unwrap_or(holdco_core::format::streamed::WINDOW_BYTES)
}

/// Finds every problem [`load_folder`] finds, in the same order and words, with the fact
/// files streamed through the reference readers window by window and each fact kept as 16
/// bytes (issue 16 item 7: a folder with one bad row among millions took one `Fact` per
/// row, 7.8 times the input). The problems are kept as [`ProblemLog`] keeps them.
pub fn diagnose_folder(dir: &Path) -> Result<Diagnosis> {
    let (fact_names, others) = split_folder(dir)?;
    let streams = open_fact_files(&fact_names)?;
    let mut log = ProblemLog::default();
    let mut timeline_problem = false;
    let read = holdco_core::format::streamed::read_model_streamed(
        &others,
        streams,
        stream_window(),
        &mut |problem| {
            timeline_problem |= problem.file == holdco_core::format::TIMELINE_FILE;
            log.push(problem);
        },
    )
    .map_err(|(name, error)| anyhow::anyhow!("reading {}: {error}", dir.join(name).display()))?;
    drop(others);
    let Some((model, rows)) = read else {
        return Ok(Diagnosis::Problems(log));
    };
    // As load_files: a timeline that could not be read at all creates no unit.
    if model.timeline.is_empty() && timeline_problem {
        return Ok(Diagnosis::Problems(log));
    }
    holdco_core::bulk_validate::validate_rows(&model, &rows, &mut |problem| log.push(problem));
    let facts = rows.len();
    drop(rows);
    if log.is_empty() {
        if has_scenarios(&model) {
            return Ok(Diagnosis::NeedsFacts);
        }
        for problem in document_problems(&model) {
            log.push(problem);
        }
    }
    Ok(if log.is_empty() {
        Diagnosis::Valid(model, facts)
    } else {
        Diagnosis::Problems(log)
    })
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
