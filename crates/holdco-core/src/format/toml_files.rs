//! Parsing group.toml and timeline.toml, keeping the line of every field for diagnostics.

use super::{decode, line_of};
use crate::extension::{self, FieldType, Lookup};
use crate::ids::{Currency, MetricId, UnitId};
use crate::model::{
    Aggregation, Change, ChangeKind, Consolidation, Diagnostic, EventValue, Group, Measure, Metric,
    Money, Origin, Shares, SplitPart,
};
use chrono::NaiveDate;
use std::collections::{BTreeMap, BTreeSet};
use toml::{Spanned, Value};

type Fields = BTreeMap<String, Spanned<Value>>;

/// One TOML table with the position of each field, turned into typed values with
/// diagnostics that name the field and line.
struct Entry<'a> {
    path: &'a str,
    text: &'a str,
    line: u32,
    fields: Fields,
    used: BTreeSet<String>,
    problems: Vec<Diagnostic>,
}

impl<'a> Entry<'a> {
    fn new(path: &'a str, text: &'a str, spanned: Spanned<Fields>) -> Self {
        let line = line_of(text, spanned.span().start);
        Self::at_line(path, text, spanned, line)
    }

    /// [`Entry::new`] with the table's line already known.
    fn at_line(path: &'a str, text: &'a str, spanned: Spanned<Fields>, line: u32) -> Self {
        Entry {
            path,
            text,
            line,
            fields: spanned.into_inner(),
            used: BTreeSet::new(),
            problems: Vec::new(),
        }
    }

    fn origin(&self) -> Origin {
        Origin {
            file: self.path.to_string(),
            line: self.line,
        }
    }

    fn field_line(&self, name: &str) -> u32 {
        self.fields
            .get(name)
            .map(|v| line_of(self.text, v.span().start))
            .unwrap_or(self.line)
    }

    fn problem(&mut self, name: &str, message: impl Into<String>) {
        let line = self.field_line(name);
        self.problems.push(Diagnostic {
            file: self.path.to_string(),
            line: Some(line),
            field: Some(name.to_string()),
            message: message.into(),
        });
    }

    fn value(&mut self, name: &str) -> Option<Value> {
        self.used.insert(name.to_string());
        self.fields.get(name).map(|v| v.get_ref().clone())
    }

    fn opt_str(&mut self, name: &str) -> Option<String> {
        match self.value(name)? {
            Value::String(s) => Some(s),
            other => {
                self.problem(
                    name,
                    format!("expected text in quotes, found {}", other.type_str()),
                );
                None
            }
        }
    }

    fn req_str(&mut self, name: &str, hint: &str) -> Option<String> {
        if !self.fields.contains_key(name) {
            let line = self.line;
            self.problems.push(Diagnostic {
                file: self.path.to_string(),
                line: Some(line),
                field: Some(name.to_string()),
                message: format!("missing; expected {hint}"),
            });
            self.used.insert(name.to_string());
            return None;
        }
        self.opt_str(name)
    }

    fn parse_with<T>(
        &mut self,
        name: &str,
        text: Option<String>,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let text = text?;
        match parse(&text) {
            Ok(v) => Some(v),
            Err(message) => {
                self.problem(name, message);
                None
            }
        }
    }

    fn req_unit(&mut self, name: &str) -> Option<UnitId> {
        let text = self.req_str(name, "a unit id")?;
        self.parse_with(name, Some(text), UnitId::parse)
    }

    fn opt_unit(&mut self, name: &str) -> Option<UnitId> {
        let text = self.opt_str(name);
        self.parse_with(name, text, UnitId::parse)
    }

    fn opt_number(&mut self, name: &str) -> Option<f64> {
        match self.value(name)? {
            Value::Integer(i) if (i as f64).abs() <= super::csv_files::MAX_VALUE_MAGNITUDE => {
                Some(i as f64)
            }
            Value::Float(f)
                if f.is_finite() && f.abs() <= super::csv_files::MAX_VALUE_MAGNITUDE =>
            {
                Some(f)
            }
            Value::Integer(_) | Value::Float(_) => {
                self.problem(
                    name,
                    "expected a finite number of at most 1e15 in magnitude",
                );
                None
            }
            other => {
                self.problem(
                    name,
                    format!("expected a number, found {}", other.type_str()),
                );
                None
            }
        }
    }

    fn req_date(&mut self, name: &str) -> Option<NaiveDate> {
        let Some(value) = self.value(name) else {
            let line = self.line;
            self.problems.push(Diagnostic {
                file: self.path.to_string(),
                line: Some(line),
                field: Some(name.to_string()),
                message: "missing; expected a date such as 2023-04-01".into(),
            });
            return None;
        };
        let text = match value {
            Value::String(s) => s,
            Value::Datetime(d) => d.to_string(),
            other => {
                self.problem(
                    name,
                    format!(
                        "expected a date such as 2023-04-01, found {}",
                        other.type_str()
                    ),
                );
                return None;
            }
        };
        match crate::period::parse_iso_date(text.trim()) {
            Some(date) => Some(date),
            None => {
                self.problem(
                    name,
                    format!("`{text}` is not a date (expected YYYY-MM-DD such as 2023-04-01)"),
                );
                None
            }
        }
    }

    /// Reports every field that no reader asked for: a typo must not pass silently.
    fn finish(mut self, allowed_hint: &str) -> Vec<Diagnostic> {
        let unknown: Vec<String> = self
            .fields
            .keys()
            .filter(|k| !self.used.contains(*k))
            .cloned()
            .collect();
        for name in unknown {
            self.problem(
                &name,
                format!("unknown field (expected one of: {allowed_hint})"),
            );
        }
        self.problems
    }
}

fn toml_error(path: &str, text: &str, error: &toml::de::Error) -> Diagnostic {
    let line = error.span().map(|s| line_of(text, s.start));
    let message = error.message().trim().to_string();
    Diagnostic {
        file: path.to_string(),
        line,
        field: None,
        message: format!("TOML syntax: {message}"),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupFile {
    group: Option<Spanned<Fields>>,
    #[serde(default)]
    metric: Vec<Spanned<Fields>>,
}

/// Parses group.toml into the group and its metrics.
pub(super) fn parse_group(
    path: &str,
    bytes: &[u8],
    problems: &mut Vec<Diagnostic>,
) -> Option<(Group, Vec<Metric>)> {
    let text = decode(path, bytes, problems)?;
    let file: GroupFile = match toml::from_str(text) {
        Ok(file) => file,
        Err(error) => {
            problems.push(toml_error(path, text, &error));
            return None;
        }
    };
    let Some(group_table) = file.group else {
        problems.push(Diagnostic {
            file: path.into(),
            line: Some(1),
            field: Some("group".into()),
            message: "missing [group] table (id, name, currency, fiscal_year_end)".into(),
        });
        return None;
    };
    let mut entry = Entry::new(path, text, group_table);
    let id = entry.req_unit("id");
    let name = entry.req_str("name", "the group's display name");
    let currency_text = entry.req_str("currency", "a currency code such as CNY");
    let currency = entry.parse_with("currency", currency_text, Currency::parse);
    let fye_text = entry.req_str(
        "fiscal_year_end",
        "the fiscal year end as MM-DD, e.g. \"03-31\"",
    );
    let fye = entry.parse_with("fiscal_year_end", fye_text, parse_month_day);
    problems.extend(entry.finish("id, name, currency, fiscal_year_end"));
    let group = Group {
        id: id?,
        name: name?,
        currency: currency?,
        fiscal_year_end: fye?,
    };

    let mut metrics: Vec<Metric> = Vec::new();
    let mut seen: BTreeMap<MetricId, u32> = BTreeMap::new();
    for table in file.metric {
        let mut entry = Entry::new(path, text, table);
        let id_text = entry.req_str("id", "a metric id such as revenue");
        let id = entry.parse_with("id", id_text, MetricId::parse);
        let name = entry.req_str("name", "the metric's display name");
        let measure_text = entry.req_str("measure", "currency, count, users or percent");
        let measure = entry.parse_with("measure", measure_text, |s| match s {
            "currency" => Ok(Measure::Currency),
            "count" => Ok(Measure::Count),
            "users" => Ok(Measure::Users),
            "percent" => Ok(Measure::Percent),
            other => Err(format!(
                "`{other}` is not a measure (expected currency, count, users or percent)"
            )),
        });
        let aggregation_text = entry.req_str("aggregation", "flow, stock, non_additive or ratio");
        let numerator_text = entry.opt_str("numerator");
        let numerator = entry.parse_with("numerator", numerator_text, MetricId::parse);
        let denominator_text = entry.opt_str("denominator");
        let denominator = entry.parse_with("denominator", denominator_text, MetricId::parse);
        let aggregation = match aggregation_text.as_deref() {
            Some("flow") => Some(Aggregation::Flow),
            Some("stock") => Some(Aggregation::Stock),
            Some("non_additive") => Some(Aggregation::NonAdditive),
            Some("ratio") => match (numerator.clone(), denominator.clone()) {
                (Some(numerator), Some(denominator)) => Some(Aggregation::Ratio {
                    numerator,
                    denominator,
                }),
                _ => {
                    entry.problem(
                        "aggregation",
                        "a ratio needs `numerator` and `denominator` metric ids",
                    );
                    None
                }
            },
            Some(other) => {
                entry.problem("aggregation", format!("`{other}` is not an aggregation (expected flow, stock, non_additive or ratio)"));
                None
            }
            None => None,
        };
        if !matches!(aggregation, Some(Aggregation::Ratio { .. }) | None)
            && (numerator.is_some() || denominator.is_some())
        {
            entry.problem(
                "numerator",
                "only a ratio metric takes numerator and denominator",
            );
        }
        let scale = entry.opt_str("scale");
        let origin = entry.origin();
        let line = entry.line;
        problems
            .extend(entry.finish("id, name, measure, aggregation, numerator, denominator, scale"));
        if let (Some(id), Some(name), Some(measure), Some(aggregation)) =
            (id, name, measure, aggregation)
        {
            if let Some(first) = seen.insert(id.clone(), line) {
                problems.push(Diagnostic {
                    file: path.into(),
                    line: Some(line),
                    field: Some("id".into()),
                    message: format!("duplicate metric id `{id}` (first defined on line {first})"),
                });
                continue;
            }
            metrics.push(Metric {
                id,
                name,
                measure,
                aggregation,
                scale,
                origin,
            });
        }
    }
    for metric in &metrics {
        if let Aggregation::Ratio {
            numerator,
            denominator,
        } = &metric.aggregation
        {
            for (field, part) in [("numerator", numerator), ("denominator", denominator)] {
                match metrics.iter().find(|m| &m.id == part) {
                    None => problems.push(Diagnostic::at(
                        &metric.origin,
                        Some(field),
                        format!("unknown metric `{part}` (define it with [[metric]])"),
                    )),
                    Some(m) if matches!(m.aggregation, Aggregation::Ratio { .. }) => {
                        problems.push(Diagnostic::at(
                            &metric.origin,
                            Some(field),
                            format!(
                                "`{part}` is itself a ratio; a ratio takes two additive metrics"
                            ),
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
    }
    Some((group, metrics))
}

fn parse_month_day(text: &str) -> Result<(u8, u8), String> {
    let bad = || format!("`{text}` is not a month-day (expected MM-DD such as 03-31 or 12-31)");
    let (m, d) = text.trim().split_once('-').ok_or_else(bad)?;
    // Exactly two digits each: `str::parse` alone takes `+3` (issue 16 item 11).
    if [m, d]
        .iter()
        .any(|part| part.len() != 2 || !part.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let month: u8 = m.parse().map_err(|_| bad())?;
    let day: u8 = d.parse().map_err(|_| bad())?;
    NaiveDate::from_ymd_opt(2024, u32::from(month), u32::from(day)).ok_or_else(bad)?;
    Ok((month, day))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TimelineFile {
    #[serde(default)]
    change: Vec<Spanned<Fields>>,
}

const CHANGE_FIELDS: &str =
    "id, date, kind, unit, name, parent, unit_kind, ownership, units, into, parts, share, consolidation, proceeds, proceeds_currency, buyer, class, note, source";

/// The `[[change]]` entries of a file that holds other tables too (a scenario).
#[derive(serde::Deserialize)]
struct ChangesOnly {
    #[serde(default)]
    change: Vec<Spanned<Fields>>,
}

/// Parses timeline.toml; changes with problems are left out and reported.
pub(super) fn parse_timeline(
    path: &str,
    bytes: &[u8],
    group: &Group,
    metrics: &[Metric],
    problems: &mut Vec<Diagnostic>,
) -> Vec<Change> {
    let Some(text) = decode(path, bytes, problems) else {
        return Vec::new();
    };
    match toml::from_str::<TimelineFile>(text) {
        Ok(file) => parse_change_tables(path, text, file.change, group, metrics, problems),
        Err(error) => {
            problems.push(toml_error(path, text, &error));
            Vec::new()
        }
    }
}

/// Parses the `[[change]]` entries of a file whose other tables belong to someone else
/// (a scenario file); TOML syntax errors are left to that owner to report.
pub(super) fn parse_embedded_changes(
    path: &str,
    text: &str,
    group: &Group,
    metrics: &[Metric],
    problems: &mut Vec<Diagnostic>,
) -> Vec<Change> {
    match toml::from_str::<ChangesOnly>(text) {
        Ok(file) => parse_change_tables(path, text, file.change, group, metrics, problems),
        Err(_) => Vec::new(),
    }
}

fn parse_change_tables(
    path: &str,
    text: &str,
    tables: Vec<Spanned<Fields>>,
    group: &Group,
    metrics: &[Metric],
    problems: &mut Vec<Diagnostic>,
) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut ids: BTreeMap<String, u32> = BTreeMap::new();
    // Tables come in file order: count lines on from the previous table, not from the top
    // for each (which took seconds on timelines of thousands of changes).
    let (mut counted_to, mut line) = (0usize, 1u32);
    for table in tables {
        let start = table.span().start.min(text.len());
        if start < counted_to {
            (counted_to, line) = (0, 1);
        }
        line += text.as_bytes()[counted_to..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u32;
        counted_to = start;
        let mut entry = Entry::at_line(path, text, table, line);
        let id = entry.opt_str("id");
        let date = entry.req_date("date");
        let note = entry.opt_str("note");
        let source = entry.opt_str("source");
        let kind_text = entry.req_str(
            "kind",
            "create, acquire, rename, move, merge, split, stake, divest, close or classify",
        );
        let kind = match kind_text.as_deref() {
            Some(kind) => parse_change_kind(&mut entry, kind, date, &group.currency, metrics),
            None => None,
        };
        let origin = entry.origin();
        let line = entry.line;
        let allowed = match &kind {
            Some(ChangeKind::Event { event, .. }) => event_fields_hint(event),
            _ => CHANGE_FIELDS.to_string(),
        };
        problems.extend(entry.finish(&allowed));
        if let Some(id) = &id {
            if let Some(first) = ids.insert(id.clone(), line) {
                problems.push(Diagnostic {
                    file: path.into(),
                    line: Some(line),
                    field: Some("id".into()),
                    message: format!("duplicate change id `{id}` (first used on line {first})"),
                });
            }
        }
        if let (Some(date), Some(kind)) = (date, kind) {
            changes.push(Change {
                id,
                date,
                kind,
                note,
                source,
                origin,
            });
        }
    }
    changes
}

fn proceeds(entry: &mut Entry, default_currency: &Currency) -> Option<Option<Money>> {
    let amount = entry.opt_number("proceeds");
    let currency_text = entry.opt_str("proceeds_currency");
    let currency = entry.parse_with("proceeds_currency", currency_text.clone(), Currency::parse);
    match (amount, currency_text) {
        (None, None) => Some(None),
        (None, Some(_)) => {
            entry.problem("proceeds_currency", "given without `proceeds`");
            None
        }
        (Some(amount), _) if amount < 0.0 => {
            entry.problem(
                "proceeds",
                "proceeds can't be negative (record a loss as a fact)",
            );
            None
        }
        (Some(amount), None) => Some(Some(Money {
            amount,
            currency: default_currency.clone(),
        })),
        (Some(amount), Some(_)) => Some(Some(Money {
            amount,
            currency: currency?,
        })),
    }
}

fn parse_change_kind(
    entry: &mut Entry,
    kind: &str,
    date: Option<NaiveDate>,
    currency: &Currency,
    metrics: &[Metric],
) -> Option<ChangeKind> {
    match kind {
        "create" | "acquire" => {
            let unit = entry.req_unit("unit");
            let name = entry.req_str("name", "the unit's display name");
            let parent = entry.opt_unit("parent");
            let unit_kind = entry
                .opt_str("unit_kind")
                .unwrap_or_else(|| "unit".to_string());
            let ownership = entry.opt_number("ownership").unwrap_or(1.0);
            if !(0.0..=1.0).contains(&ownership) {
                entry.problem(
                    "ownership",
                    format!("{ownership} is not a share (expected 0 to 1)"),
                );
                return None;
            }
            Some(ChangeKind::Create {
                unit: unit?,
                name: name?,
                parent,
                unit_kind,
                acquired: kind == "acquire",
                ownership,
            })
        }
        "rename" => {
            let unit = entry.req_unit("unit");
            let name = entry.req_str("name", "the new display name");
            Some(ChangeKind::Rename {
                unit: unit?,
                name: name?,
            })
        }
        "move" => {
            let unit = entry.req_unit("unit");
            let parent = entry.req_unit("parent");
            Some(ChangeKind::Move {
                unit: unit?,
                parent: parent?,
            })
        }
        "merge" => {
            let into = entry.req_unit("into");
            let units = match entry.value("units") {
                Some(Value::Array(items)) if !items.is_empty() => {
                    let mut units = Vec::new();
                    for item in items {
                        match item.as_str().map(UnitId::parse) {
                            Some(Ok(unit)) => units.push(unit),
                            Some(Err(message)) => entry.problem("units", message),
                            None => entry.problem("units", "expected a list of unit ids in quotes"),
                        }
                    }
                    Some(units)
                }
                Some(_) => {
                    entry.problem(
                        "units",
                        "expected a non-empty list of unit ids, e.g. [\"a\", \"b\"]",
                    );
                    None
                }
                None => {
                    entry.problem(
                        "units",
                        "missing; expected the list of units merged, e.g. [\"a\", \"b\"]",
                    );
                    None
                }
            };
            Some(ChangeKind::Merge {
                units: units?,
                into: into?,
            })
        }
        "split" => {
            let unit = entry.req_unit("unit");
            let parts = parse_parts(entry, metrics);
            Some(ChangeKind::Split {
                unit: unit?,
                parts: parts?,
            })
        }
        "stake" => {
            let unit = entry.req_unit("unit");
            let share = entry.opt_number("share");
            if share.is_none() && !entry.fields.contains_key("share") {
                entry.problem("share", "missing; expected the group's new share, 0 to 1");
            }
            let share = share?;
            if !(0.0..=1.0).contains(&share) {
                entry.problem("share", format!("{share} is not a share (expected 0 to 1)"));
                return None;
            }
            let consolidation_text = entry.opt_str("consolidation");
            let consolidation = match consolidation_text.as_deref() {
                None => Some(if share > 0.5 {
                    Consolidation::Full
                } else {
                    Consolidation::Share
                }),
                Some("full") => Some(Consolidation::Full),
                Some("share") => Some(Consolidation::Share),
                Some("none") => Some(Consolidation::None),
                Some("equity") => Some(Consolidation::Equity),
                Some("fair_value") => Some(Consolidation::FairValue),
                Some(other) => {
                    entry.problem(
                        "consolidation",
                        format!("`{other}` is not a consolidation (expected full, share, none, equity or fair_value)"),
                    );
                    None
                }
            };
            let proceeds = proceeds(entry, currency);
            Some(ChangeKind::Stake {
                unit: unit?,
                share,
                consolidation: consolidation?,
                proceeds: proceeds?,
            })
        }
        "spin_off" => {
            let unit = entry.req_unit("unit");
            let retained = entry.opt_number("retained").unwrap_or(0.0);
            if !(0.0..1.0).contains(&retained) {
                entry.problem(
                    "retained",
                    format!(
                        "{retained} is not a retained share (expected 0 up to, not including, 1)"
                    ),
                );
                return None;
            }
            let method = match (entry.opt_str("method").as_deref(), retained > 0.0) {
                (None, true) | (Some("fair_value"), true) => Consolidation::FairValue,
                (Some("equity"), true) => Consolidation::Equity,
                (None, false) => Consolidation::None,
                (Some(other), true) => {
                    entry.problem("method", format!("`{other}` is not how a retained stake is carried (expected equity or fair_value)"));
                    return None;
                }
                (Some(_), false) => {
                    entry.problem(
                        "method",
                        "a method needs a retained share (retained = 0.199, say)",
                    );
                    return None;
                }
            };
            Some(ChangeKind::SpinOff {
                unit: unit?,
                retained,
                method,
            })
        }
        "divest" => {
            let unit = entry.req_unit("unit");
            let proceeds = proceeds(entry, currency);
            let buyer = entry.opt_str("buyer");
            Some(ChangeKind::Divest {
                unit: unit?,
                proceeds: proceeds?,
                buyer,
            })
        }
        "close" => {
            let unit = entry.req_unit("unit");
            Some(ChangeKind::Close { unit: unit? })
        }
        "classify" => {
            let unit = entry.req_unit("unit");
            let class = entry.req_str(
                "class",
                "the class id declared in strategy.toml, e.g. \"core\"",
            );
            if let Some(class) = &class {
                if class.trim().is_empty() {
                    entry.problem(
                        "class",
                        "empty; expected a class id declared in strategy.toml",
                    );
                    return None;
                }
            }
            Some(ChangeKind::Classify {
                unit: unit?,
                class: class?,
            })
        }
        "decision" => {
            let unit = entry.req_unit("unit");
            let decision =
                entry.req_str("decision", "what was decided, e.g. \"spin-off approved\"");
            if decision.as_deref().is_some_and(|d| d.trim().is_empty()) {
                entry.problem(
                    "decision",
                    "empty; say what was decided, e.g. \"spin-off approved\"",
                );
                return None;
            }
            Some(ChangeKind::Decision {
                unit: unit?,
                decision: decision?,
            })
        }
        other if other.contains('.') => parse_event(entry, other, date),
        other => {
            // Without a known kind the other fields can't be judged: don't call them unknown.
            let names: Vec<String> = entry.fields.keys().cloned().collect();
            entry.used.extend(names);
            entry.problem(
                "kind",
                format!("`{other}` is not a change kind (expected create, acquire, rename, move, merge, split, stake, spin_off, divest, close, classify or decision)"),
            );
            None
        }
    }
}

/// The fields a domain event may have, for the unknown-field message.
fn event_fields_hint(kind: &str) -> String {
    let mut names = vec!["id", "date", "kind", "note", "source"];
    if let Lookup::Known(event) = extension::lookup(kind) {
        names.extend(event.fields.iter().map(|f| f.name));
    }
    names.join(", ")
}

/// A domain event (`kind = "NAMESPACE.NAME"`, crate::extension): each field read with the
/// type its domain registered, then the domain's own check of the event.
fn parse_event(entry: &mut Entry, kind: &str, date: Option<NaiveDate>) -> Option<ChangeKind> {
    let common = ["id", "date", "kind", "note", "source"];
    match extension::lookup(kind) {
        Lookup::Known(event) => {
            let mut fields = BTreeMap::new();
            let mut complete = true;
            for spec in event.fields {
                entry.used.insert(spec.name.to_string());
                if !entry.fields.contains_key(spec.name) {
                    if spec.required {
                        let line = entry.line;
                        entry.problems.push(Diagnostic {
                            file: entry.path.to_string(),
                            line: Some(line),
                            field: Some(spec.name.to_string()),
                            message: format!("missing; `{kind}` needs {}", spec.hint),
                        });
                        complete = false;
                    }
                    continue;
                }
                let value = match spec.ty {
                    FieldType::Text => match entry.opt_str(spec.name) {
                        Some(text) if text.trim().is_empty() => {
                            entry.problem(spec.name, format!("empty; expected {}", spec.hint));
                            None
                        }
                        other => other.map(EventValue::Text),
                    },
                    FieldType::Unit => entry.opt_unit(spec.name).map(EventValue::Unit),
                    FieldType::Date => entry.req_date(spec.name).map(EventValue::Date),
                    FieldType::Number => entry.opt_number(spec.name).map(EventValue::Number),
                    FieldType::Flag => match entry.value(spec.name) {
                        Some(Value::Boolean(flag)) => Some(EventValue::Flag(flag)),
                        Some(other) => {
                            entry.problem(
                                spec.name,
                                format!("expected true or false, found {}", other.type_str()),
                            );
                            None
                        }
                        None => None,
                    },
                };
                match value {
                    Some(value) => {
                        fields.insert(spec.name.to_string(), value);
                    }
                    None => complete = false,
                }
            }
            if !complete {
                return None;
            }
            let found = match date {
                Some(date) => (event.check)(date, &fields),
                None => Vec::new(),
            };
            if !found.is_empty() {
                for (field, message) in found {
                    entry.problem(field, message);
                }
                return None;
            }
            Some(ChangeKind::Event {
                event: kind.to_string(),
                fields,
            })
        }
        Lookup::UnknownKind(domain) => {
            let names: Vec<String> = entry.fields.keys().cloned().collect();
            entry.used.extend(names);
            let kinds: Vec<&str> = domain.events.iter().map(|e| e.kind).collect();
            entry.problem(
                "kind",
                format!(
                    "`{kind}` is not an event kind of the {} domain (expected {})",
                    domain.name,
                    kinds.join(", ")
                ),
            );
            None
        }
        Lookup::UnknownNamespace if extension::is_complete() => {
            let names: Vec<String> = entry.fields.keys().cloned().collect();
            entry.used.extend(names);
            let known: Vec<String> = extension::domains()
                .iter()
                .map(|d| format!("{}.* ({})", d.namespace, d.name))
                .collect();
            entry.problem(
                "kind",
                format!(
                    "`{kind}` is neither a change kind nor an event kind of a known domain (event kinds: {}; change kinds: create, acquire, rename, move, merge, split, stake, spin_off, divest, close, classify, decision)",
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                ),
            );
            None
        }
        Lookup::UnknownNamespace => {
            // No domain of this program reads it: keep it as written (typed by its TOML
            // values), so the model round-trips through programs that lack the domain.
            let mut fields = BTreeMap::new();
            let names: Vec<String> = entry
                .fields
                .keys()
                .filter(|k| !common.contains(&k.as_str()))
                .cloned()
                .collect();
            for name in names {
                let value = match entry.value(&name) {
                    Some(Value::String(text)) => EventValue::Text(text),
                    Some(Value::Boolean(flag)) => EventValue::Flag(flag),
                    Some(Value::Datetime(d)) => {
                        match crate::period::parse_iso_date(&d.to_string()) {
                            Some(date) => EventValue::Date(date),
                            None => EventValue::Text(d.to_string()),
                        }
                    }
                    Some(value) => match number(&value) {
                        Some(n) => EventValue::Number(n),
                        None => {
                            entry.problem(&name, "expected text, a number, a date or true/false");
                            return None;
                        }
                    },
                    None => continue,
                };
                fields.insert(name, value);
            }
            Some(ChangeKind::Event {
                event: kind.to_string(),
                fields,
            })
        }
    }
}

fn parse_parts(entry: &mut Entry, metrics: &[Metric]) -> Option<Vec<SplitPart>> {
    let items = match entry.value("parts") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(_) => {
            entry.problem("parts", "expected a non-empty list such as [{ unit = \"a\", share = 0.6 }, { unit = \"b\", share = 0.4 }]");
            return None;
        }
        None => {
            entry.problem("parts", "missing; expected the successors, e.g. [{ unit = \"a\", share = 0.6 }, { unit = \"b\", share = 0.4 }]");
            return None;
        }
    };
    let mut parts = Vec::new();
    let mut ok = true;
    for (index, item) in items.iter().enumerate() {
        let position = index + 1;
        let Some(table) = item.as_table() else {
            entry.problem(
                "parts",
                format!("part {position}: expected {{ unit = \"...\", share = 0.5 }}"),
            );
            ok = false;
            continue;
        };
        let unit = match table.get("unit").and_then(Value::as_str).map(UnitId::parse) {
            Some(Ok(unit)) => Some(unit),
            Some(Err(message)) => {
                entry.problem("parts", format!("part {position}: {message}"));
                None
            }
            None => {
                entry.problem("parts", format!("part {position}: missing `unit`"));
                None
            }
        };
        let mut shares = Shares::default();
        for (key, value) in table {
            match key.as_str() {
                "unit" => {}
                "share" => match number(value) {
                    Some(share) => shares.default = Some(share),
                    None => {
                        entry.problem(
                            "parts",
                            format!("part {position}: `share` must be a finite number"),
                        );
                        ok = false;
                    }
                },
                "shares" => match value.as_table() {
                    Some(per_metric) => {
                        for (metric, value) in per_metric {
                            let Ok(metric_id) = MetricId::parse(metric) else {
                                entry.problem(
                                    "parts",
                                    format!("part {position}: `{metric}` is not a metric id"),
                                );
                                ok = false;
                                continue;
                            };
                            if !metrics.iter().any(|m| m.id == metric_id) {
                                entry.problem("parts", format!("part {position}: unknown metric `{metric}` in shares (define it in group.toml)"));
                                ok = false;
                            }
                            match number(value) {
                                Some(share) => {
                                    shares.per_metric.insert(metric_id, share);
                                }
                                None => {
                                    entry.problem("parts", format!("part {position}: share for `{metric}` must be a finite number"));
                                    ok = false;
                                }
                            }
                        }
                    }
                    None => {
                        entry.problem("parts", format!("part {position}: `shares` must be a table such as {{ revenue = 0.7 }}"));
                        ok = false;
                    }
                },
                other => {
                    entry.problem("parts", format!("part {position}: unknown field `{other}` (expected unit, share, shares)"));
                    ok = false;
                }
            }
        }
        // A default share is a part of the whole, 0 to 1. A share for a named metric may lie
        // outside that range (within -10 to 10): a profit that is the sum of a profitable and
        // a loss-making business gives one part more than all of it (docs/semantics.md, 1.3).
        for share in shares.default.iter() {
            if !(0.0..=1.0).contains(share) {
                entry.problem("parts", format!("part {position}: share {share} is outside 0 to 1 (a share of one metric, `shares = {{ METRIC = ... }}`, may go beyond for a profit line)"));
                ok = false;
            }
        }
        for (metric, share) in &shares.per_metric {
            if !(-10.0..=10.0).contains(share) {
                entry.problem(
                    "parts",
                    format!("part {position}: share {share} for `{metric}` is outside -10 to 10"),
                );
                ok = false;
            }
        }
        match unit {
            Some(unit) => parts.push(SplitPart { unit, shares }),
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    // Shares must sum to 1 for the default and for every metric named anywhere.
    let mut names: BTreeSet<Option<MetricId>> = BTreeSet::new();
    names.insert(None);
    for part in &parts {
        names.extend(part.shares.per_metric.keys().cloned().map(Some));
    }
    let all_have_default = parts.iter().all(|p| p.shares.default.is_some());
    for name in names {
        let shares: Vec<Option<f64>> = parts
            .iter()
            .map(|p| match &name {
                None => p.shares.default,
                Some(metric) => p.shares.for_metric(metric),
            })
            .collect();
        let label = name
            .as_ref()
            .map(|m| format!("for `{m}`"))
            .unwrap_or_else(|| "(default)".into());
        if shares.iter().any(Option::is_none) {
            if name.is_none() && !all_have_default {
                // Without defaults every metric must be listed per part; checked per metric below.
                let listed = metrics.iter().all(|m| {
                    parts.iter().all(|p| p.shares.for_metric(&m.id).is_some())
                        || matches!(m.aggregation, Aggregation::Ratio { .. })
                });
                if !listed {
                    entry.problem(
                        "parts",
                        "every part needs a default `share`, or `shares` for every metric",
                    );
                    return None;
                }
                continue;
            }
            entry.problem("parts", format!("shares {label}: some parts give none"));
            return None;
        }
        let sum: f64 = shares.iter().flatten().sum();
        if (sum - 1.0).abs() > 1e-9 {
            entry.problem("parts", format!("shares {label} sum to {sum}, expected 1"));
            return None;
        }
    }
    Some(parts)
}

fn number(value: &Value) -> Option<f64> {
    let magnitude = super::csv_files::MAX_VALUE_MAGNITUDE;
    match value {
        Value::Integer(i) if (*i as f64).abs() <= magnitude => Some(*i as f64),
        Value::Float(f) if f.is_finite() && f.abs() <= magnitude => Some(*f),
        _ => None,
    }
}
