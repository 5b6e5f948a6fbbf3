//! Writing a model back to files: the export half of files -> store -> files.
//!
//! Output is deterministic (canonical order, shortest round-trip number format), so an
//! export diffs cleanly against the folder it came from.

use super::csv_files::{FACT_COLUMNS, FACT_FILE_COLUMNS, FX_COLUMNS};
use super::{is_model_file, ModelFiles, FACTS_FILE, FX_FILE, GROUP_FILE, TIMELINE_FILE};
use crate::model::{Aggregation, ChangeKind, Consolidation, EventValue, Measure, Model, Money};
use std::collections::BTreeMap;
use std::fmt::Write as _;

fn quote(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

fn number(value: f64) -> String {
    // Rust prints the shortest text that reads back to the same f64.
    format!("{value}")
}

/// Writes the model as a model folder's files.
pub fn write_model(model: &Model) -> ModelFiles {
    let mut files = ModelFiles::new();
    files.insert(GROUP_FILE.into(), write_group(model).into_bytes());
    files.insert(TIMELINE_FILE.into(), write_timeline(model).into_bytes());
    for (path, text) in &model.documents {
        files.insert(path.clone(), text.clone().into_bytes());
    }
    let calendar = model.group.calendar();

    let mut facts = model.facts.clone();
    facts.sort_by(|a, b| a.key.cmp(&b.key));
    let mut by_file: BTreeMap<String, Vec<&crate::model::Fact>> = BTreeMap::new();
    for fact in &facts {
        let file = if is_model_file(&fact.origin.file)
            && (fact.origin.file.starts_with("facts/") || fact.origin.file == FACTS_FILE)
        {
            fact.origin.file.clone()
        } else {
            FACTS_FILE.to_string()
        };
        by_file.entry(file).or_default().push(fact);
    }
    for (file, facts) in by_file {
        let mut writer = csv::Writer::from_writer(Vec::new());
        // The annotation columns only in a file whose facts have some, so files without
        // them are written as before.
        let annotated = facts
            .iter()
            .any(|fact| fact.note.is_some() || fact.precision.is_some());
        if annotated {
            let _ = writer.write_record(FACT_FILE_COLUMNS);
        } else {
            let _ = writer.write_record(FACT_COLUMNS);
        }
        for fact in facts {
            let structure = fact
                .key
                .basis
                .structure()
                .map(|d| d.to_string())
                .unwrap_or_default();
            let label = fact.key.period.label(calendar);
            let value = number(fact.value);
            let precision = fact.precision.map(number).unwrap_or_default();
            let mut record = vec![
                fact.key.unit.as_str(),
                &label,
                fact.key.metric.as_str(),
                &value,
                fact.currency.as_ref().map(|c| c.as_str()).unwrap_or(""),
                fact.key
                    .counterparty
                    .as_ref()
                    .map(|c| c.as_str())
                    .unwrap_or(""),
                fact.key.basis.name(),
                &structure,
                fact.source.as_deref().unwrap_or(""),
            ];
            if annotated {
                record.push(fact.note.as_deref().unwrap_or(""));
                record.push(&precision);
            }
            let _ = writer.write_record(record);
        }
        files.insert(file, writer.into_inner().unwrap_or_default());
    }
    if !model.fx.is_empty() {
        let mut rates = model.fx.clone();
        rates.sort_by(|a, b| (&a.currency, a.period).cmp(&(&b.currency, b.period)));
        let mut writer = csv::Writer::from_writer(Vec::new());
        let _ = writer.write_record(FX_COLUMNS);
        for rate in rates {
            let _ = writer.write_record([
                rate.currency.as_str(),
                &rate.period.label(calendar),
                &number(rate.average),
                &number(rate.closing),
                rate.source.as_deref().unwrap_or(""),
            ]);
        }
        files.insert(FX_FILE.into(), writer.into_inner().unwrap_or_default());
    }
    files
}

fn write_group(model: &Model) -> String {
    let group = &model.group;
    let mut out = String::new();
    let _ = writeln!(out, "[group]");
    let _ = writeln!(out, "id = {}", quote(group.id.as_str()));
    let _ = writeln!(out, "name = {}", quote(&group.name));
    let _ = writeln!(out, "currency = {}", quote(group.currency.as_str()));
    let _ = writeln!(
        out,
        "fiscal_year_end = \"{:02}-{:02}\"",
        group.fiscal_year_end.0, group.fiscal_year_end.1
    );
    for metric in &model.metrics {
        let _ = writeln!(out, "\n[[metric]]");
        let _ = writeln!(out, "id = {}", quote(metric.id.as_str()));
        let _ = writeln!(out, "name = {}", quote(&metric.name));
        let measure = match metric.measure {
            Measure::Currency => "currency",
            Measure::Count => "count",
            Measure::Users => "users",
            Measure::Percent => "percent",
        };
        let _ = writeln!(out, "measure = \"{measure}\"");
        let _ = writeln!(out, "aggregation = \"{}\"", metric.aggregation.name());
        if let Aggregation::Ratio {
            numerator,
            denominator,
        } = &metric.aggregation
        {
            let _ = writeln!(out, "numerator = {}", quote(numerator.as_str()));
            let _ = writeln!(out, "denominator = {}", quote(denominator.as_str()));
        }
        if let Some(scale) = &metric.scale {
            let _ = writeln!(out, "scale = {}", quote(scale));
        }
    }
    out
}

fn write_proceeds(out: &mut String, proceeds: &Option<Money>) {
    if let Some(money) = proceeds {
        let _ = writeln!(out, "proceeds = {}", number(money.amount));
        let _ = writeln!(
            out,
            "proceeds_currency = {}",
            quote(money.currency.as_str())
        );
    }
}

fn write_timeline(model: &Model) -> String {
    let mut out = String::new();
    for (index, change) in model.timeline.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "[[change]]");
        if let Some(id) = &change.id {
            let _ = writeln!(out, "id = {}", quote(id));
        }
        let _ = writeln!(out, "date = {}", change.date);
        let _ = writeln!(out, "kind = {}", quote(change.kind.file_kind()));
        match &change.kind {
            ChangeKind::Create {
                unit,
                name,
                parent,
                unit_kind,
                ownership,
                ..
            } => {
                let _ = writeln!(out, "unit = {}", quote(unit.as_str()));
                let _ = writeln!(out, "name = {}", quote(name));
                if let Some(parent) = parent {
                    let _ = writeln!(out, "parent = {}", quote(parent.as_str()));
                }
                let _ = writeln!(out, "unit_kind = {}", quote(unit_kind));
                if *ownership != 1.0 {
                    let _ = writeln!(out, "ownership = {}", number(*ownership));
                }
            }
            ChangeKind::Rename { unit, name } => {
                let _ = writeln!(out, "unit = {}", quote(unit.as_str()));
                let _ = writeln!(out, "name = {}", quote(name));
            }
            ChangeKind::Move { unit, parent } => {
                let _ = writeln!(out, "unit = {}", quote(unit.as_str()));
                let _ = writeln!(out, "parent = {}", quote(parent.as_str()));
            }
            ChangeKind::Merge { units, into } => {
                let list: Vec<String> = units.iter().map(|u| quote(u.as_str())).collect();
                let _ = writeln!(out, "units = [{}]", list.join(", "));
                let _ = writeln!(out, "into = {}", quote(into.as_str()));
            }
            ChangeKind::Split { unit, parts } => {
                let _ = writeln!(out, "unit = {}", quote(unit.as_str()));
                let _ = writeln!(out, "parts = [");
                for part in parts {
                    let mut fields = vec![format!("unit = {}", quote(part.unit.as_str()))];
                    if let Some(share) = part.shares.default {
                        fields.push(format!("share = {}", number(share)));
                    }
                    if !part.shares.per_metric.is_empty() {
                        let per: Vec<String> = part
                            .shares
                            .per_metric
                            .iter()
                            .map(|(m, s)| format!("{} = {}", m, number(*s)))
                            .collect();
                        fields.push(format!("shares = {{ {} }}", per.join(", ")));
                    }
                    let _ = writeln!(out, "  {{ {} }},", fields.join(", "));
                }
                let _ = writeln!(out, "]");
            }
            ChangeKind::Stake {
                unit,
                share,
                consolidation,
                proceeds,
            } => {
                let _ = writeln!(out, "unit = {}", quote(unit.as_str()));
                let _ = writeln!(out, "share = {}", number(*share));
                let default = if *share > 0.5 {
                    Consolidation::Full
                } else {
                    Consolidation::Share
                };
                if *consolidation != default {
                    let _ = writeln!(out, "consolidation = \"{}\"", consolidation.name());
                }
                write_proceeds(&mut out, proceeds);
            }
            ChangeKind::Divest {
                unit,
                proceeds,
                buyer,
            } => {
                let _ = writeln!(out, "unit = {}", quote(unit.as_str()));
                write_proceeds(&mut out, proceeds);
                if let Some(buyer) = buyer {
                    let _ = writeln!(out, "buyer = {}", quote(buyer));
                }
            }
            ChangeKind::SpinOff {
                unit,
                retained,
                method,
            } => {
                let _ = writeln!(out, "unit = {}", quote(unit.as_str()));
                if *retained > 0.0 {
                    let _ = writeln!(out, "retained = {}", number(*retained));
                    let _ = writeln!(out, "method = \"{}\"", method.name());
                }
            }
            ChangeKind::Close { unit } => {
                let _ = writeln!(out, "unit = {}", quote(unit.as_str()));
            }
            ChangeKind::Classify { unit, class } => {
                let _ = writeln!(out, "unit = {}", quote(unit.as_str()));
                let _ = writeln!(out, "class = {}", quote(class));
            }
            ChangeKind::Decision { unit, decision } => {
                let _ = writeln!(out, "unit = {}", quote(unit.as_str()));
                let _ = writeln!(out, "decision = {}", quote(decision));
            }
            ChangeKind::Event { fields, .. } => {
                for (name, value) in fields {
                    let text = match value {
                        EventValue::Text(text) => quote(text),
                        EventValue::Unit(unit) => quote(unit.as_str()),
                        EventValue::Date(date) => date.to_string(),
                        EventValue::Number(n) => number(*n),
                        EventValue::Flag(flag) => flag.to_string(),
                    };
                    let _ = writeln!(out, "{name} = {text}");
                }
            }
        }
        if let Some(note) = &change.note {
            let _ = writeln!(out, "note = {}", quote(note));
        }
        if let Some(source) = &change.source {
            let _ = writeln!(out, "source = {}", quote(source));
        }
    }
    out
}
