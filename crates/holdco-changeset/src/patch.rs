//! What a change set changes: [`Patch`], and the two forms a user writes it in (JSON with
//! fragments in the model folder's formats, or a folder of model files), parsed with the
//! same diagnostics as `holdco check`.

use holdco_core::format::{self, ModelFiles};
use holdco_core::{Change, Currency, Diagnostic, Fact, FactKey, FxRate, Model, Period};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A change of the model: timeline changes, facts, FX rates and documents to add, revise or
/// remove. The group and the metric definitions are not part of a change set (an import
/// changes them).
///
/// Stored as JSON in the change set's body; origins name where each item was written (a
/// JSON pointer into the submitted JSON, or a file of the submitted folder, with its line).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    /// Timeline changes to add: at `position` of the timeline (after the removals), or at
    /// its end when `None`.
    #[serde(default)]
    pub add_changes: Vec<PlacedChange>,
    /// Timeline changes to remove, each matched by its content: the change at `position`
    /// when it is equal, else the first equal change not removed yet.
    #[serde(default)]
    pub remove_changes: Vec<PlacedChange>,
    /// Facts to add or revise (by key).
    #[serde(default)]
    pub facts: Vec<Fact>,
    /// Facts to remove.
    #[serde(default)]
    pub remove_facts: Vec<FactKey>,
    /// FX rates to add or replace (by currency and period).
    #[serde(default)]
    pub fx: Vec<FxRate>,
    /// FX rates to remove (currency and period).
    #[serde(default)]
    pub remove_fx: Vec<(Currency, Period)>,
    /// Documents to write, by path (strategy.toml, scenarios/NAME.toml ...).
    #[serde(default)]
    pub documents: BTreeMap<String, String>,
    /// Documents to remove.
    #[serde(default)]
    pub remove_documents: Vec<String>,
}

/// A timeline change and where it goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlacedChange {
    /// Index in the timeline (file order); `None` appends.
    pub position: Option<usize>,
    /// The change.
    pub change: Change,
}

impl Patch {
    /// True when it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.add_changes.is_empty()
            && self.remove_changes.is_empty()
            && self.facts.is_empty()
            && self.remove_facts.is_empty()
            && self.fx.is_empty()
            && self.remove_fx.is_empty()
            && self.documents.is_empty()
            && self.remove_documents.is_empty()
    }
}

/// The JSON form a user submits (`holdco changeset create --file`, `POST
/// /api/v1/changesets`): text fragments in the model folder's own formats, plus removals.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PatchJson {
    /// `[[change]]` tables as in timeline.toml: changes to add.
    #[serde(default)]
    pub timeline: Option<String>,
    /// CSV as in facts.csv, with its header: facts to add or revise.
    #[serde(default)]
    pub facts: Option<String>,
    /// CSV as in fx.csv, with its header: rates to add or replace.
    #[serde(default)]
    pub fx: Option<String>,
    /// Documents to write, by path.
    #[serde(default)]
    pub documents: BTreeMap<String, String>,
    /// What to remove.
    #[serde(default)]
    pub remove: Removals,
}

/// Removals of the JSON form.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Removals {
    /// Ids of timeline changes.
    #[serde(default)]
    pub changes: Vec<String>,
    /// Fact keys.
    #[serde(default)]
    pub facts: Vec<KeyJson>,
    /// Rates by currency and period.
    #[serde(default)]
    pub fx: Vec<RateKeyJson>,
    /// Document paths.
    #[serde(default)]
    pub documents: Vec<String>,
}

/// A fact key as JSON, with the period as its label (`FY2024`, `2024Q3`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeyJson {
    /// Unit id.
    pub unit: String,
    /// Period label.
    pub period: String,
    /// Metric id.
    pub metric: String,
    /// Counterparty unit of an intercompany figure.
    #[serde(default)]
    pub counterparty: Option<String>,
    /// reported (default), restated, pro_forma, plan or estimate.
    #[serde(default)]
    pub basis: Option<String>,
    /// Structure date (YYYY-MM-DD) of a restated figure.
    #[serde(default)]
    pub structure: Option<String>,
}

/// A rate's key as JSON.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateKeyJson {
    /// Currency code.
    pub currency: String,
    /// Period label.
    pub period: String,
}

/// The name of the submitted JSON in diagnostics (`patch.json#/facts:3: value: ...`).
pub const JSON_NAME: &str = "patch.json";

/// A problem of the JSON itself (syntax, unknown field), with its line.
fn json_problem(name: &str, text: &str, error: &serde_json::Error) -> Diagnostic {
    let _ = text;
    Diagnostic {
        file: name.to_string(),
        line: (error.line() > 0).then_some(error.line() as u32),
        field: None,
        message: format!(
            "{error} (a change set in JSON has the fields timeline, facts, fx, documents and remove; see docs/format.md)"
        ),
    }
}

/// Parses the JSON form against the model it will change (its group and metrics give the
/// calendar and the metric names). Problems name `patch.json#/POINTER` and, inside a
/// fragment, the fragment's line.
pub fn from_json(text: &str, base: &Model) -> Result<Patch, Vec<Diagnostic>> {
    let json: PatchJson =
        serde_json::from_str(text).map_err(|error| vec![json_problem(JSON_NAME, text, &error)])?;
    let mut files = ModelFiles::new();
    let mut names = BTreeMap::new();
    if let Some(timeline) = &json.timeline {
        files.insert(
            format::TIMELINE_FILE.to_string(),
            timeline.clone().into_bytes(),
        );
        names.insert(
            format::TIMELINE_FILE.to_string(),
            format!("{JSON_NAME}#/timeline"),
        );
    }
    if let Some(facts) = &json.facts {
        files.insert(format::FACTS_FILE.to_string(), facts.clone().into_bytes());
        names.insert(
            format::FACTS_FILE.to_string(),
            format!("{JSON_NAME}#/facts"),
        );
    }
    if let Some(fx) = &json.fx {
        files.insert(format::FX_FILE.to_string(), fx.clone().into_bytes());
        names.insert(format::FX_FILE.to_string(), format!("{JSON_NAME}#/fx"));
    }
    let mut problems = Vec::new();
    for (path, body) in &json.documents {
        let pointer = format!("{JSON_NAME}#/documents/{}", escape_pointer(path));
        if !format::is_document_file(path) {
            problems.push(Diagnostic {
                file: pointer,
                line: None,
                field: None,
                message: format!(
                    "`{path}` is not a document a change set can write (expected strategy.toml, assessments.csv, capital.toml or scenarios/NAME.toml)"
                ),
            });
            continue;
        }
        files.insert(path.clone(), body.clone().into_bytes());
        names.insert(path.clone(), pointer);
    }
    let parsed = parse_files(files, &names, base);
    let mut patch = match parsed {
        Ok(patch) => patch,
        Err(more) => {
            problems.extend(more);
            Patch::default()
        }
    };
    let calendar = base.group.calendar();
    for (index, id) in json.remove.changes.iter().enumerate() {
        let pointer = format!("{JSON_NAME}#/remove/changes/{index}");
        match base
            .timeline
            .iter()
            .position(|change| change.id.as_deref() == Some(id))
        {
            Some(position) => patch.remove_changes.push(PlacedChange {
                position: Some(position),
                change: base.timeline[position].clone(),
            }),
            None => problems.push(Diagnostic {
                file: pointer,
                line: None,
                field: None,
                message: format!(
                    "no change of the timeline has the id `{id}` (`holdco history UNIT` lists a unit's changes; only changes with an id can be removed)"
                ),
            }),
        }
    }
    for (index, key) in json.remove.facts.iter().enumerate() {
        let pointer = format!("{JSON_NAME}#/remove/facts/{index}");
        match fact_key(key, base) {
            Ok(key) => patch.remove_facts.push(key),
            Err((field, message)) => problems.push(Diagnostic {
                file: pointer,
                line: None,
                field: Some(field.to_string()),
                message,
            }),
        }
    }
    for (index, rate) in json.remove.fx.iter().enumerate() {
        let pointer = format!("{JSON_NAME}#/remove/fx/{index}");
        let currency = Currency::parse(&rate.currency);
        let period = Period::parse(&rate.period, calendar);
        match (currency, period) {
            (Ok(currency), Ok(period)) => patch.remove_fx.push((currency, period)),
            (Err(error), _) => problems.push(Diagnostic {
                file: pointer,
                line: None,
                field: Some("currency".into()),
                message: error.to_string(),
            }),
            (_, Err(error)) => problems.push(Diagnostic {
                file: pointer,
                line: None,
                field: Some("period".into()),
                message: error,
            }),
        }
    }
    patch.remove_documents = json.remove.documents.clone();
    if problems.is_empty() {
        Ok(patch)
    } else {
        Err(problems)
    }
}

/// RFC 6901 escaping of one pointer segment.
fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn fact_key(key: &KeyJson, base: &Model) -> Result<FactKey, (&'static str, String)> {
    let calendar = base.group.calendar();
    let unit = holdco_core::UnitId::parse(&key.unit).map_err(|e| ("unit", e))?;
    let metric = holdco_core::MetricId::parse(&key.metric).map_err(|e| ("metric", e))?;
    let period = Period::parse(&key.period, calendar).map_err(|e| ("period", e))?;
    let counterparty = key
        .counterparty
        .as_deref()
        .map(holdco_core::UnitId::parse)
        .transpose()
        .map_err(|e| ("counterparty", e))?;
    let basis = match key.basis.as_deref().unwrap_or("reported") {
        "reported" => holdco_core::Basis::Reported,
        "plan" => holdco_core::Basis::Plan,
        "estimate" => holdco_core::Basis::Estimate,
        name @ ("restated" | "pro_forma") => {
            let structure = key
                .structure
                .as_deref()
                .and_then(holdco_core::period::parse_iso_date)
                .ok_or((
                    "structure",
                    format!("a {name} fact needs its structure date as YYYY-MM-DD"),
                ))?;
            if name == "restated" {
                holdco_core::Basis::Restated { structure }
            } else {
                holdco_core::Basis::ProForma { structure }
            }
        }
        other => {
            return Err((
                "basis",
                format!("`{other}` is not a basis (expected reported, restated, pro_forma, plan or estimate)"),
            ))
        }
    };
    Ok(FactKey {
        unit,
        period,
        metric,
        counterparty,
        basis,
    })
}

/// Parses a folder patch: the files of a model folder holding only what changes
/// (timeline.toml with changes to add, facts.csv or facts/*.csv with facts to add or revise,
/// fx.csv, documents). `shown` prefixes file names in problems (the folder's path).
pub fn from_files(files: ModelFiles, shown: &str, base: &Model) -> Result<Patch, Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let mut names = BTreeMap::new();
    let mut kept = ModelFiles::new();
    for (path, bytes) in files {
        let name = format!("{}/{}", shown.trim_end_matches('/'), path);
        if path == format::GROUP_FILE {
            problems.push(Diagnostic {
                file: name,
                line: None,
                field: None,
                message: "a change set cannot change the group or its metrics: leave group.toml out (or import the whole folder with `holdco import`)".into(),
            });
            continue;
        }
        if !format::is_model_file(&path) {
            problems.push(Diagnostic {
                file: name,
                line: None,
                field: None,
                message: "not a file of the model folder format (see docs/format.md): remove it from the change set's folder".into(),
            });
            continue;
        }
        names.insert(path.clone(), name);
        kept.insert(path, bytes);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    parse_files(kept, &names, base)
}

/// Parses fragment files with the model folder's reader: the base model's group.toml is put
/// beside them (never a fragment), and an empty timeline when there is none.
fn parse_files(
    mut files: ModelFiles,
    names: &BTreeMap<String, String>,
    base: &Model,
) -> Result<Patch, Vec<Diagnostic>> {
    let group_only = Model {
        group: base.group.clone(),
        metrics: base.metrics.clone(),
        timeline: Vec::new(),
        facts: Vec::new(),
        fx: Vec::new(),
        documents: BTreeMap::new(),
    };
    let written = format::write_model(&group_only);
    if let Some(group) = written.get(format::GROUP_FILE) {
        files.insert(format::GROUP_FILE.to_string(), group.clone());
    }
    files.entry(format::TIMELINE_FILE.to_string()).or_default();
    let (model, problems) = format::read_model(&files);
    let rename = |file: &str| names.get(file).cloned().unwrap_or_else(|| file.to_string());
    let mut problems: Vec<Diagnostic> = problems
        .into_iter()
        .map(|mut problem| {
            problem.file = rename(&problem.file);
            problem
        })
        .collect();
    let Some(model) = model else {
        return Err(problems);
    };
    let mut patch = Patch::default();
    for mut change in model.timeline {
        change.origin.file = rename(&change.origin.file);
        patch.add_changes.push(PlacedChange {
            position: None,
            change,
        });
    }
    for mut fact in model.facts {
        fact.origin.file = rename(&fact.origin.file);
        patch.facts.push(fact);
    }
    for mut rate in model.fx {
        rate.origin.file = rename(&rate.origin.file);
        patch.fx.push(rate);
    }
    patch.documents = model.documents;
    problems.retain(|problem| !problem.message.is_empty());
    if problems.is_empty() {
        Ok(patch)
    } else {
        Err(problems)
    }
}
