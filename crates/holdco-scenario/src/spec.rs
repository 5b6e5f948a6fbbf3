//! Scenario files (`scenarios/NAME.toml`): parsing, checking and inheritance.
//!
//! A file holds future changes (`[[change]]`, written as in timeline.toml) and assumptions
//! (`[horizon]`, `[valuation]`, `[correlation]`, `[unit.ID]`, `[separation.CHANGE_ID]`). A
//! scenario may start from another (`base = "NAME"`): it inherits that scenario's changes and
//! assumptions and overrides assumptions key by key. After inheritance every assumption has
//! a flat key (`unit.cloud_intelligence.growth`, `valuation.holding_discount`, ...), which is
//! what [`diff`] compares and what the tornado names.

use crate::dist::Dist;
use holdco_core::format::parse_changes;
use holdco_core::{Change, Diagnostic, Model};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use toml::Spanned;

/// Folder of scenario files inside a model folder.
pub const DIR: &str = "scenarios";

/// The value of one assumption.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Value {
    /// One distribution for every year, or one per year (growth and margin paths).
    Dists {
        /// The distributions; one entry applies to every year.
        #[serde(serialize_with = "describe_dists")]
        dists: Vec<Dist>,
    },
    /// Draw from the unit's own history (growth or margin), resolved against the model.
    History,
    /// A plain number that is not uncertain (years, elasticities, correlation factor).
    Number {
        /// The number.
        value: f64,
    },
    /// A word (method, basis, form) or a period or date as written.
    Text {
        /// The text.
        value: String,
    },
    /// A correlation matrix over named units.
    Matrix {
        /// Units in row order.
        units: Vec<String>,
        /// Rows.
        rows: Vec<Vec<f64>>,
    },
}

fn describe_dists<S: serde::Serializer>(dists: &[Dist], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(dists.iter().map(Dist::describe))
}

impl Value {
    /// Short text for tables and diffs.
    pub fn describe(&self) -> String {
        match self {
            Value::Dists { dists } if dists.len() == 1 => dists[0].describe(),
            Value::Dists { dists } => format!(
                "per year: {}",
                dists
                    .iter()
                    .map(Dist::describe)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Value::History => "empirical, from the unit's history".into(),
            Value::Number { value } => format!("{value}"),
            Value::Text { value } => value.clone(),
            Value::Matrix { units, rows } => {
                format!(
                    "{}x{} matrix over {}: {:?}",
                    rows.len(),
                    rows.len(),
                    units.join(", "),
                    rows
                )
            }
        }
    }
}

/// One assumption with where it was written.
#[derive(Debug, Clone, Serialize)]
pub struct Assumption {
    /// Flat key, e.g. `unit.cloud_intelligence.growth`.
    pub key: String,
    /// Its value.
    pub value: Value,
    /// The scenario file that set it (after inheritance, possibly a base's file).
    pub file: String,
    /// Line in that file.
    pub line: u32,
    /// Published source given with it, if any.
    pub source: Option<String>,
    /// Note given with it, if any.
    pub note: Option<String>,
}

/// A scenario after inheritance.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// Name (the file stem).
    pub name: String,
    /// File it was read from.
    pub file: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Names from this scenario up through its bases.
    pub chain: Vec<String>,
    /// Future changes, the bases' first.
    #[serde(skip)]
    pub changes: Vec<Change>,
    /// Assumptions by flat key.
    pub assumptions: BTreeMap<String, Assumption>,
}

impl Scenario {
    /// The assumption under `key`, if set.
    pub fn get(&self, key: &str) -> Option<&Assumption> {
        self.assumptions.get(key)
    }

    /// Units with assumptions, in key order: the parts of the sum.
    pub fn parts(&self) -> Vec<String> {
        let mut parts: Vec<String> = self
            .assumptions
            .keys()
            .filter_map(|key| {
                key.strip_prefix("unit.")
                    .and_then(|rest| rest.rsplit_once('.'))
                    .map(|(unit, _)| unit.to_string())
            })
            .collect();
        parts.dedup();
        parts
    }

    /// Separation entries (change ids), in key order.
    pub fn separations(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .assumptions
            .keys()
            .filter_map(|key| {
                key.strip_prefix("separation.")
                    .and_then(|rest| rest.split_once('.'))
                    .map(|(id, _)| id.to_string())
            })
            .collect();
        ids.dedup();
        ids
    }
}

// ----- raw file ------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // note, source and change are accepted here; changes are read by core
struct File {
    title: Option<String>,
    description: Option<String>,
    base: Option<Spanned<String>>,
    note: Option<String>,
    source: Option<String>,
    horizon: Option<Spanned<toml::Table>>,
    valuation: Option<Spanned<toml::Table>>,
    correlation: Option<Spanned<toml::Table>>,
    #[serde(default)]
    unit: BTreeMap<String, Spanned<toml::Table>>,
    #[serde(default)]
    separation: BTreeMap<String, Spanned<toml::Table>>,
    #[serde(default)]
    change: Vec<toml::Value>,
}

/// Which keys a section takes and what each holds.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Dist,
    DistOrHistory,
    Number,
    Whole,
    Text(&'static [&'static str]),
    Period,
    Date,
    Units,
    Matrix,
    Ignored,
}

const HORIZON: &[(&str, Kind)] = &[
    ("start", Kind::Period),
    ("years", Kind::Whole),
    ("structure", Kind::Date),
    ("note", Kind::Ignored),
    ("source", Kind::Ignored),
];
const VALUATION: &[(&str, Kind)] = &[
    ("method", Kind::Text(&["multiple", "dcf"])),
    ("year", Kind::Whole),
    ("net_cash", Kind::Dist),
    ("other_assets", Kind::Dist),
    ("holding_discount", Kind::Dist),
    ("discount_rate", Kind::Dist),
    ("wacc", Kind::Dist),
    ("terminal_growth", Kind::Dist),
    ("cash_conversion", Kind::Dist),
    ("note", Kind::Ignored),
    ("source", Kind::Ignored),
];
const CORRELATION: &[(&str, Kind)] = &[
    ("factor", Kind::Number),
    ("units", Kind::Units),
    ("matrix", Kind::Matrix),
    ("note", Kind::Ignored),
    ("source", Kind::Ignored),
];
const UNIT: &[(&str, Kind)] = &[
    ("growth", Kind::DistOrHistory),
    ("margin", Kind::DistOrHistory),
    ("multiple", Kind::Dist),
    ("basis", Kind::Text(&["ebita", "revenue"])),
    ("capital_elasticity", Kind::Number),
    ("note", Kind::Ignored),
    ("source", Kind::Ignored),
];
const SEPARATION: &[(&str, Kind)] = &[
    (
        "form",
        Kind::Text(&["spin_off", "sale", "listing", "integration"]),
    ),
    ("cost", Kind::Dist),
    ("proceeds", Kind::Dist),
    ("dis_synergy", Kind::Ignored),
    ("note", Kind::Ignored),
    ("source", Kind::Ignored),
];

/// One scenario file as written (before inheritance).
#[derive(Debug, Clone)]
pub struct Parsed {
    /// Name (file stem).
    pub name: String,
    /// Path.
    pub file: String,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Base scenario and the line naming it.
    pub base: Option<(String, u32)>,
    /// Own changes.
    pub changes: Vec<Change>,
    /// Own assumptions.
    pub assumptions: BTreeMap<String, Assumption>,
    /// True when the `[correlation]` table is given (it replaces the base's whole table).
    pub has_correlation: bool,
}

fn line_of(text: &str, offset: usize) -> u32 {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u32
        + 1
}

fn problem(file: &str, line: u32, field: Option<String>, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        file: file.to_string(),
        line: (line > 0).then_some(line),
        field,
        message: message.into(),
    }
}

/// The name of a scenario file: `scenarios/keep-cloud.toml` → `keep-cloud`.
pub fn name_of(path: &str) -> Option<&str> {
    path.strip_prefix("scenarios/")
        .and_then(|rest| rest.strip_suffix(".toml"))
}

/// Parses one scenario file; every problem goes to `problems`.
pub fn parse(
    model: &Model,
    path: &str,
    text: &str,
    problems: &mut Vec<Diagnostic>,
) -> Option<Parsed> {
    let name = name_of(path).unwrap_or(path).to_string();
    let file: File = match toml::from_str(text) {
        Ok(file) => file,
        Err(error) => {
            let line = error
                .span()
                .map(|span| line_of(text, span.start))
                .unwrap_or(0);
            problems.push(problem(
                path,
                line,
                None,
                format!("TOML: {}", error.message().trim()),
            ));
            return None;
        }
    };
    let changes = parse_changes(path, text, &model.group, &model.metrics, problems);
    let mut assumptions = BTreeMap::new();
    if let Some(horizon) = &file.horizon {
        section(
            path,
            text,
            "horizon",
            horizon,
            HORIZON,
            &mut assumptions,
            problems,
        );
    }
    if let Some(valuation) = &file.valuation {
        section(
            path,
            text,
            "valuation",
            valuation,
            VALUATION,
            &mut assumptions,
            problems,
        );
    }
    if let Some(correlation) = &file.correlation {
        section(
            path,
            text,
            "correlation",
            correlation,
            CORRELATION,
            &mut assumptions,
            problems,
        );
    }
    for (unit, table) in &file.unit {
        section(
            path,
            text,
            &format!("unit.{unit}"),
            table,
            UNIT,
            &mut assumptions,
            problems,
        );
    }
    for (id, table) in &file.separation {
        section(
            path,
            text,
            &format!("separation.{id}"),
            table,
            SEPARATION,
            &mut assumptions,
            problems,
        );
        let table_line = line_of(text, table.span().start);
        match table.get_ref().get("dis_synergy") {
            None => {}
            Some(toml::Value::Table(units)) => {
                for (unit, value) in units {
                    let field = format!("separation.{id}.dis_synergy.{unit}");
                    let line = find_key_line(text, table.span().start, table.span().end, unit).unwrap_or(table_line);
                    match read_value(value, Kind::Dist) {
                        Ok(parsed) => {
                            let (source, note) = source_note(units, unit, value_table(Some(value)));
                            assumptions.insert(field.clone(), Assumption { key: field, value: parsed, file: path.into(), line, source, note });
                        }
                        Err((sub, message)) => {
                            let field = if sub.is_empty() { field } else { format!("{field}.{sub}") };
                            problems.push(problem(path, line, Some(field), message));
                        }
                    }
                }
            }
            Some(_) => problems.push(problem(
                path,
                table_line,
                Some(format!("separation.{id}.dis_synergy")),
                "expected a table of unit = share of its EBITA lost, e.g. dis_synergy = { china_commerce = { dist = \"uniform\", min = 0.0, max = 0.02 } }",
            )),
        }
    }
    let base = file
        .base
        .as_ref()
        .map(|base| (base.get_ref().clone(), line_of(text, base.span().start)));
    Some(Parsed {
        name,
        file: path.to_string(),
        title: file.title,
        description: file.description,
        base,
        changes,
        assumptions,
        has_correlation: file.correlation.is_some(),
    })
}

/// Reads one table of assumptions: every key must be one of `allowed`.
fn section(
    path: &str,
    text: &str,
    prefix: &str,
    table: &Spanned<toml::Table>,
    allowed: &[(&str, Kind)],
    assumptions: &mut BTreeMap<String, Assumption>,
    problems: &mut Vec<Diagnostic>,
) {
    let table_line = line_of(text, table.span().start);
    for (key, value) in table.get_ref() {
        let field = format!("{prefix}.{key}");
        let Some((_, kind)) = allowed.iter().find(|(name, _)| name == key) else {
            let names: Vec<&str> = allowed.iter().map(|(name, _)| *name).collect();
            problems.push(problem(
                path,
                table_line,
                Some(field),
                format!(
                    "unknown key `{key}` (expected one of: {})",
                    names.join(", ")
                ),
            ));
            continue;
        };
        if *kind == Kind::Ignored {
            continue;
        }
        let line =
            find_key_line(text, table.span().start, table.span().end, key).unwrap_or(table_line);
        match read_value(value, *kind) {
            Ok(value) => {
                if let Some(message) = out_of_range(key, &value) {
                    problems.push(problem(path, line, Some(field), message));
                    continue;
                }
                let (source, note) =
                    source_note(table.get_ref(), key, value_table(table.get_ref().get(key)));
                assumptions.insert(
                    field.clone(),
                    Assumption {
                        key: field,
                        value,
                        file: path.to_string(),
                        line,
                        source,
                        note,
                    },
                );
            }
            Err((sub, message)) => {
                let field = if sub.is_empty() {
                    field
                } else {
                    format!("{field}.{sub}")
                };
                problems.push(problem(path, line, Some(field), message));
            }
        }
    }
}

/// Sensible bounds of the values an assumption may reach, by key: rates and growth beyond
/// them are typing mistakes (a `-1` for `0.1`), and they keep discounting and compounding
/// over every path and year finite. (`holding_discount` is checked with the projection.)
pub const ASSUMPTION_RANGES: &[(&str, f64, f64, &str)] = &[
    ("discount_rate", -0.5, 1.0, "a yearly discount rate"),
    ("wacc", -0.5, 1.0, "a yearly discount rate"),
    (
        "terminal_growth",
        -0.5,
        0.5,
        "a perpetual yearly growth rate",
    ),
    (
        "growth",
        -1.0,
        10.0,
        "a yearly growth rate (-1 is a total loss)",
    ),
    ("margin", -10.0, 10.0, "a margin (EBITA over revenue)"),
    ("multiple", -1000.0, 1000.0, "a valuation multiple"),
    (
        "cash_conversion",
        -10.0,
        10.0,
        "free cash flow per unit of EBITA",
    ),
    (
        "capital_elasticity",
        -100.0,
        100.0,
        "growth per year of capital equal to a year's revenue",
    ),
];

/// The normal score at which a distribution's reach is judged: beyond every score the
/// generator draws for a single variable (about ±6.2 from 32-bit uniforms).
const REACH_Z: f64 = 6.0;

/// A message when `value` of assumption `key` can reach outside its sensible range.
fn out_of_range(key: &str, value: &Value) -> Option<String> {
    let (_, lo, hi, what) = ASSUMPTION_RANGES.iter().find(|(name, ..)| *name == key)?;
    let reaches: Vec<(f64, f64)> = match value {
        Value::Dists { dists } => dists
            .iter()
            .map(|d| (d.at_z(-REACH_Z), d.at_z(REACH_Z)))
            .collect(),
        Value::Number { value } => vec![(*value, *value)],
        _ => return None,
    };
    let (low, high) = reaches
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (l, h)| {
            (a.min(*l), b.max(*h))
        });
    if low < *lo || high > *hi || !low.is_finite() || !high.is_finite() {
        let reach = if low == high {
            format!("{low}")
        } else {
            format!("{low:.4} to {high:.4} (at ±{REACH_Z} sd)")
        };
        Some(format!(
            "`{key}` is {what}, from {lo} to {hi}; this value reaches {reach}"
        ))
    } else {
        None
    }
}

/// The line of `key = ` in the table that starts at `start`: searched from there to the
/// next table header (a `[` at the start of a line), or within `end` for an inline table.
fn find_key_line(text: &str, start: usize, end: usize, key: &str) -> Option<u32> {
    let inline = text
        .get(start..end.min(text.len()))
        .is_some_and(|span| span.trim_start().starts_with('{'));
    let rest = text.get(start..)?;
    let mut offset = 0;
    for (i, line) in rest.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_start();
        if i > 0 && trimmed.starts_with('[') && !inline {
            break;
        }
        if inline && start + offset > end {
            break;
        }
        let mut candidates = vec![trimmed];
        if inline {
            candidates.extend(line.match_indices(key).map(|(at, _)| &line[at..]));
        }
        for candidate in candidates {
            if let Some(after) = candidate
                .strip_prefix(key)
                .or_else(|| candidate.strip_prefix(&format!("\"{key}\"")))
            {
                if after.trim_start().starts_with('=') {
                    return Some(line_of(text, start + offset));
                }
            }
        }
        offset += line.len();
    }
    None
}

fn value_table(value: Option<&toml::Value>) -> Option<&toml::Table> {
    match value {
        Some(toml::Value::Table(table)) => Some(table),
        _ => None,
    }
}

/// The source and note of an assumption: inside its own table, or the section's.
fn source_note(
    section: &toml::Table,
    _key: &str,
    own: Option<&toml::Table>,
) -> (Option<String>, Option<String>) {
    let text = |table: Option<&toml::Table>, name: &str| {
        table
            .and_then(|t| t.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let source = text(own, "source").or_else(|| text(Some(section), "source"));
    let note = text(own, "note").or_else(|| text(Some(section), "note"));
    (source, note)
}

/// Reads one value as `kind`; errors name the sub-field (may be empty) and say what was expected.
fn read_value(value: &toml::Value, kind: Kind) -> Result<Value, (String, String)> {
    let number = |value: &toml::Value| match value {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) if f.is_finite() => Some(*f),
        _ => None,
    };
    let dist = |value: &toml::Value| Dist::parse(value).map_err(|e| (e.field, e.message));
    match kind {
        Kind::Dist => Ok(Value::Dists {
            dists: vec![dist(value)?],
        }),
        Kind::DistOrHistory => {
            if let toml::Value::Table(table) = value {
                if table.get("dist").and_then(|d| d.as_str()) == Some("history") {
                    if let Some(extra) = table
                        .keys()
                        .find(|k| !matches!(k.as_str(), "dist" | "source" | "note"))
                    {
                        return Err((extra.clone(), format!("unknown key `{extra}` (a history distribution takes only dist, source and note)")));
                    }
                    return Ok(Value::History);
                }
            }
            if let toml::Value::Array(items) = value {
                if items.is_empty() {
                    return Err((
                        String::new(),
                        "expected at least one distribution (one for every year, or one per year)"
                            .into(),
                    ));
                }
                let mut dists = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    dists.push(Dist::parse(item).map_err(|e| {
                        (
                            format!("{}.{}", i + 1, e.field)
                                .trim_end_matches('.')
                                .to_string(),
                            format!("year {}: {}", i + 1, e.message),
                        )
                    })?);
                }
                return Ok(Value::Dists { dists });
            }
            Ok(Value::Dists {
                dists: vec![dist(value)?],
            })
        }
        Kind::Number => number(value).map(|value| Value::Number { value }).ok_or((
            String::new(),
            format!("expected a number, found {}", value.type_str()),
        )),
        Kind::Whole => match value {
            toml::Value::Integer(i) if *i >= 1 && *i <= 100 => {
                Ok(Value::Number { value: *i as f64 })
            }
            _ => Err((
                String::new(),
                format!("expected a whole number from 1 to 100, found {value}"),
            )),
        },
        Kind::Text(allowed) => match value.as_str() {
            Some(text) if allowed.contains(&text) => Ok(Value::Text { value: text.into() }),
            _ => Err((
                String::new(),
                format!("expected one of {}, found {value}", allowed.join(", ")),
            )),
        },
        Kind::Period => match value.as_str() {
            Some(text) => Ok(Value::Text { value: text.into() }),
            None => Err((
                String::new(),
                format!("expected a fiscal year such as \"FY2025\", found {value}"),
            )),
        },
        Kind::Date => match value {
            toml::Value::Datetime(date) if date.date.is_some() && date.time.is_none() => {
                Ok(Value::Text {
                    value: date.to_string(),
                })
            }
            _ => Err((
                String::new(),
                format!("expected a date such as 2025-04-01 (no quotes), found {value}"),
            )),
        },
        Kind::Units => match value.as_array() {
            Some(items) if items.iter().all(|i| i.is_str()) => Ok(Value::Matrix {
                units: items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect(),
                rows: Vec::new(),
            }),
            _ => Err((String::new(), "expected a list of unit ids".into())),
        },
        Kind::Matrix => {
            let rows: Option<Vec<Vec<f64>>> = value.as_array().and_then(|rows| {
                rows.iter()
                    .map(|row| {
                        row.as_array()
                            .and_then(|cells| cells.iter().map(number).collect())
                    })
                    .collect()
            });
            match rows {
                Some(rows) => Ok(Value::Matrix {
                    units: Vec::new(),
                    rows,
                }),
                None => Err((
                    String::new(),
                    "expected a list of rows of numbers, e.g. [[1.0, 0.3], [0.3, 1.0]]".into(),
                )),
            }
        }
        Kind::Ignored => Ok(Value::Text {
            value: String::new(),
        }),
    }
}

/// Parses every scenario document of `model` and resolves inheritance. Returns the
/// scenarios that could be read, by name, and every problem found.
pub fn read_all(model: &Model) -> (BTreeMap<String, Scenario>, Vec<Diagnostic>) {
    let mut problems = Vec::new();
    let mut parsed: BTreeMap<String, Parsed> = BTreeMap::new();
    for (path, text) in &model.documents {
        if name_of(path).is_some() {
            if let Some(file) = parse(model, path, text, &mut problems) {
                parsed.insert(file.name.clone(), file);
            }
        }
    }
    let mut resolved = BTreeMap::new();
    for name in parsed.keys() {
        if let Some(scenario) = resolve(&parsed, name, &mut problems) {
            resolved.insert(name.clone(), scenario);
        }
    }
    (resolved, problems)
}

/// Follows `base` links from `name` and merges the chain (bases first).
fn resolve(
    parsed: &BTreeMap<String, Parsed>,
    name: &str,
    problems: &mut Vec<Diagnostic>,
) -> Option<Scenario> {
    let mut chain: Vec<&Parsed> = vec![&parsed[name]];
    loop {
        let last = chain[chain.len() - 1];
        let Some((base, line)) = &last.base else {
            break;
        };
        if chain.iter().any(|p| &p.name == base) {
            if chain.len() == 1 || chain[0].name == *base {
                let names: Vec<&str> = chain
                    .iter()
                    .map(|p| p.name.as_str())
                    .chain([base.as_str()])
                    .collect();
                if chain[0].name == name {
                    problems.push(problem(
                        &last.file,
                        *line,
                        Some("base".into()),
                        format!("scenarios inherit in a circle: {}", names.join(" -> ")),
                    ));
                }
            }
            return None;
        }
        match parsed.get(base) {
            Some(next) => chain.push(next),
            None => {
                if chain.len() == 1 {
                    let known: Vec<&str> = parsed.keys().map(String::as_str).collect();
                    problems.push(problem(
                        &last.file,
                        *line,
                        Some("base".into()),
                        format!(
                            "unknown base scenario `{base}` (scenarios in this model: {})",
                            known.join(", ")
                        ),
                    ));
                }
                return None;
            }
        }
    }
    let own = chain[0];
    let mut assumptions: BTreeMap<String, Assumption> = BTreeMap::new();
    let mut changes = Vec::new();
    let mut title = None;
    let mut description = None;
    for file in chain.iter().rev() {
        if file.has_correlation {
            assumptions.retain(|key, _| !key.starts_with("correlation."));
        }
        for (key, assumption) in &file.assumptions {
            assumptions.insert(key.clone(), assumption.clone());
        }
        changes.extend(file.changes.iter().cloned());
        title = file.title.clone().or(title);
        description = file.description.clone().or(description);
    }
    // Units + matrix rows arrive as two keys; join them into one assumption.
    if let Some(units) = assumptions.remove("correlation.units") {
        let names = match &units.value {
            Value::Matrix { units, .. } => units.clone(),
            _ => Vec::new(),
        };
        match assumptions.get_mut("correlation.matrix") {
            Some(matrix) => {
                if let Value::Matrix { units, .. } = &mut matrix.value {
                    *units = names;
                }
            }
            None => problems.push(problem(
                &units.file,
                units.line,
                Some("correlation.matrix".into()),
                "`units` is given without `matrix`; give both, or use `factor`",
            )),
        }
    }
    Some(Scenario {
        name: own.name.clone(),
        file: own.file.clone(),
        title: title.unwrap_or_else(|| own.name.clone()),
        description,
        chain: chain.iter().map(|p| p.name.clone()).collect(),
        changes,
        assumptions,
    })
}

/// What differs between two scenarios.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    /// Scenario A.
    pub a: String,
    /// Scenario B.
    pub b: String,
    /// Changes only in A (described).
    pub changes_only_a: Vec<String>,
    /// Changes only in B.
    pub changes_only_b: Vec<String>,
    /// Assumptions that differ: key, A's value, B's value (None when not set).
    pub assumptions: Vec<AssumptionDiff>,
}

/// One assumption that differs.
#[derive(Debug, Clone, Serialize)]
pub struct AssumptionDiff {
    /// Flat key.
    pub key: String,
    /// In A.
    pub a: Option<String>,
    /// In B.
    pub b: Option<String>,
}

/// Describes a change in one line (date, kind, units).
pub fn describe_change(change: &Change) -> String {
    let units: Vec<&str> = change
        .kind
        .units()
        .into_iter()
        .map(|u| u.as_str())
        .collect();
    format!(
        "{} {} {}{}",
        change.date,
        change.kind.name(),
        units.join(", "),
        change
            .id
            .as_ref()
            .map(|id| format!(" ({id})"))
            .unwrap_or_default()
    )
}

/// Compares two scenarios: changes by content, assumptions by key.
pub fn diff(a: &Scenario, b: &Scenario) -> Diff {
    let same = |x: &Change, y: &Change| x.date == y.date && x.kind == y.kind && x.id == y.id;
    let only = |left: &Scenario, right: &Scenario| -> Vec<String> {
        left.changes
            .iter()
            .filter(|c| !right.changes.iter().any(|d| same(c, d)))
            .map(describe_change)
            .collect()
    };
    let mut keys: Vec<&String> = a.assumptions.keys().chain(b.assumptions.keys()).collect();
    keys.sort();
    keys.dedup();
    let assumptions = keys
        .into_iter()
        .filter_map(|key| {
            let left = a.assumptions.get(key);
            let right = b.assumptions.get(key);
            let differs = match (left, right) {
                (Some(x), Some(y)) => x.value != y.value,
                _ => true,
            };
            differs.then(|| AssumptionDiff {
                key: key.clone(),
                a: left.map(|x| x.value.describe()),
                b: right.map(|y| y.value.describe()),
            })
        })
        .collect();
    Diff {
        a: a.name.clone(),
        b: b.name.clone(),
        changes_only_a: only(a, b),
        changes_only_b: only(b, a),
        assumptions,
    }
}
