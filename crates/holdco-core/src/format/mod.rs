//! Model folders as text: parsing every file into a [`Model`] with all problems collected,
//! and writing a model back to files (the export side of the round-trip).
//!
//! Files come in as bytes keyed by their path relative to the model folder, so this module
//! stays free of IO; the CLI reads and writes the disk.

mod csv_files;
pub mod fact_columns;
mod fast_facts;
pub mod streamed;
mod toml_files;
mod write;

use crate::model::{Change, Diagnostic, Group, Metric, Model};
use std::collections::BTreeMap;

pub use csv_files::MAX_VALUE_MAGNITUDE;
pub use write::write_model;

/// The files of a model folder: relative path (with `/`) to raw bytes.
pub type ModelFiles = BTreeMap<String, Vec<u8>>;

/// Name of the file holding the group and its metrics.
pub const GROUP_FILE: &str = "group.toml";
/// Name of the file holding the timeline.
pub const TIMELINE_FILE: &str = "timeline.toml";
/// Name of the single facts file (besides `facts/*.csv`).
pub const FACTS_FILE: &str = "facts.csv";
/// Folder of further fact files.
pub const FACTS_DIR: &str = "facts";
/// Name of the FX rates file.
pub const FX_FILE: &str = "fx.csv";

/// Model files kept as documents ([`Model::documents`]): read as text, stored and written
/// back unchanged; their meaning belongs to the `holdco-strategy` crate.
pub const DOCUMENT_FILES: [&str; 3] = ["strategy.toml", "assessments.csv", "capital.toml"];

/// Folder of scenario files (`scenarios/NAME.toml`), kept as documents; their meaning
/// belongs to the `holdco-scenario` crate.
pub const SCENARIOS_DIR: &str = "scenarios";

/// True for the paths kept as documents: the strategy files, `scenarios/*.toml`, and the
/// files registered by domains ([`crate::extension::register`]).
pub fn is_document_file(path: &str) -> bool {
    DOCUMENT_FILES.contains(&path)
        || crate::extension::document_type(path).is_some()
        || (path.starts_with("scenarios/")
            && path.ends_with(".toml")
            && path.len() > 15
            && !path[10..].contains('/'))
}

/// True for the paths a model folder may hold that this module reads.
pub fn is_model_file(path: &str) -> bool {
    path == GROUP_FILE
        || path == TIMELINE_FILE
        || path == FACTS_FILE
        || path == FX_FILE
        || is_document_file(path)
        || (path.starts_with("facts/") && path.ends_with(".csv") && !path[6..].contains('/'))
}

/// Parses the `[[change]]` entries, written as in timeline.toml, of a file that holds other
/// tables too (a scenario's future changes), with diagnostics naming `path` and its lines.
/// TOML syntax errors are not reported here: the file's owner reports them.
pub fn parse_changes(
    path: &str,
    text: &str,
    group: &Group,
    metrics: &[Metric],
    problems: &mut Vec<Diagnostic>,
) -> Vec<Change> {
    toml_files::parse_embedded_changes(path, text, group, metrics, problems)
}

/// Decodes a file as UTF-8 text, accepting a byte-order mark; reports the line of the first
/// invalid byte otherwise.
pub(crate) fn decode<'a>(
    path: &str,
    bytes: &'a [u8],
    problems: &mut Vec<Diagnostic>,
) -> Option<&'a str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(error) => {
            let line = bytes[..error.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u32
                + 1;
            problems.push(Diagnostic {
                file: path.to_string(),
                line: Some(line),
                field: None,
                message:
                    "the file is not valid UTF-8 (save it as UTF-8; a byte-order mark is fine)"
                        .into(),
            });
            None
        }
    }
}

/// Parses a model folder. Returns the model when every file could be read into one (it may
/// still fail [`crate::validate`]), and every problem found on the way.
pub fn read_model(files: &ModelFiles) -> (Option<Model>, Vec<Diagnostic>) {
    let mut problems = Vec::new();
    let model = read_model_with(files, &mut problems, |calendar, problems| {
        let fact_files: Vec<(&str, &[u8])> = files
            .iter()
            .filter(|(path, _)| is_fact_path(path))
            .map(|(path, bytes)| (path.as_str(), bytes.as_slice()))
            .collect();
        fast_facts::parse_fact_files(&fact_files, calendar, problems)
    });
    (model, problems)
}

/// True for the paths of fact files: `facts.csv` and `facts/*.csv`.
pub(crate) fn is_fact_path(path: &str) -> bool {
    path == FACTS_FILE || (path.starts_with("facts/") && is_model_file(path))
}

/// [`read_model`] with the facts read by `read_facts` (given the calendar and the problems
/// found so far: those of group.toml and timeline.toml), at the place in the order of the
/// problems where [`read_model`] reads them: after the timeline, before fx.csv and the
/// documents. Fact files among `files` are not read here.
pub(crate) fn read_model_with(
    files: &ModelFiles,
    problems: &mut Vec<Diagnostic>,
    read_facts: impl FnOnce(
        crate::period::FiscalCalendar,
        &mut Vec<Diagnostic>,
    ) -> Vec<crate::model::Fact>,
) -> Option<Model> {
    let group_file = files.get(GROUP_FILE);
    if group_file.is_none() {
        problems.push(Diagnostic {
            file: GROUP_FILE.into(),
            line: None,
            field: None,
            message: "missing: a model folder needs group.toml (the group and its metrics); see docs/format.md".into(),
        });
    }
    if !files.contains_key(TIMELINE_FILE) {
        problems.push(Diagnostic {
            file: TIMELINE_FILE.into(),
            line: None,
            field: None,
            message: "missing: a model folder needs timeline.toml (the dated changes that make the structure)".into(),
        });
    }
    let group = group_file.and_then(|bytes| toml_files::parse_group(GROUP_FILE, bytes, problems));
    let (group, metrics) = group?;
    let calendar = group.calendar();
    let timeline = files
        .get(TIMELINE_FILE)
        .map(|bytes| toml_files::parse_timeline(TIMELINE_FILE, bytes, &group, &metrics, problems))
        .unwrap_or_default();
    let facts = read_facts(calendar, problems);
    let fx = files
        .get(FX_FILE)
        .map(|bytes| csv_files::parse_fx(FX_FILE, bytes, calendar, problems))
        .unwrap_or_default();
    let mut documents = std::collections::BTreeMap::new();
    for (name, bytes) in files.iter().filter(|(name, _)| is_document_file(name)) {
        if let Some(text) = decode(name, bytes, problems) {
            documents.insert(name.to_string(), text.to_string());
        }
    }
    let model = Model {
        group,
        metrics,
        timeline,
        facts,
        fx,
        documents,
    };
    Some(model)
}

/// Counts the line of a byte offset (one-based).
pub(crate) fn line_of(text: &str, offset: usize) -> u32 {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u32
        + 1
}

/// Appends up to `window` more bytes of a fact file to `buffer` and answers whether the file
/// has ended; while `first`, a UTF-8 byte-order mark at the start is taken off (once three
/// bytes or the end are there). The streamed readers (`fact_columns`, `streamed`) share it.
pub(crate) fn read_window<R: std::io::Read>(
    reader: &mut R,
    buffer: &mut Vec<u8>,
    window: usize,
    first: &mut bool,
) -> std::io::Result<bool> {
    use std::io::Read as _;
    let read = reader.take(window.max(1) as u64).read_to_end(buffer)?;
    let at_end = read == 0;
    if *first && (at_end || buffer.len() >= 3) {
        if buffer.starts_with(b"\xEF\xBB\xBF") {
            buffer.drain(..3);
        }
        *first = false;
    }
    Ok(at_end)
}
