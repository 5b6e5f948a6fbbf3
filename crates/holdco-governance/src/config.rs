//! `governance.toml`: role kinds, bodies, class policies, limits, the decision-rights table,
//! pipeline targets and incentive plans. Every problem names the line and field.

use chrono::NaiveDate;
use holdco_core::{Diagnostic, FiscalCalendar, MetricId, Period, UnitId};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use toml::{Spanned, Value};

/// The governance file.
pub const GOVERNANCE_FILE: &str = "governance.toml";

/// A kind of role.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleKind {
    /// Id used in events.
    pub id: String,
    /// Display name.
    pub name: String,
    /// One holder per unit (or body) at a time.
    pub exclusive: bool,
    /// Counted as a leadership role in the pipeline and as an accountable leader.
    pub leadership: bool,
    /// Counted as an independent director of a body.
    pub independent: bool,
    /// A director's seat (counts against a body's seats).
    pub director: bool,
}

/// The built-in role kinds: (id, name, exclusive, leadership, independent, director).
const BUILT_IN: [(&str, &str, bool, bool, bool, bool); 8] = [
    ("chair", "Chair", true, true, false, false),
    ("ceo", "Chief executive officer", true, true, false, false),
    ("cfo", "Chief financial officer", true, true, false, false),
    ("president", "President", true, true, false, false),
    (
        "head_of_business_group",
        "Head of business group",
        true,
        true,
        false,
        false,
    ),
    (
        "director_independent",
        "Independent director",
        false,
        false,
        true,
        true,
    ),
    (
        "director_executive",
        "Executive director",
        false,
        false,
        false,
        true,
    ),
    (
        "director_non_executive",
        "Non-executive director",
        false,
        false,
        false,
        true,
    ),
];

/// A board or committee of a unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Body {
    /// Id used in events.
    pub id: String,
    /// The unit it governs.
    pub unit: UnitId,
    /// `board` or `committee`.
    pub kind: String,
    /// Display name.
    pub name: String,
    /// Director seats, if limited.
    pub seats: Option<u32>,
    /// Fewest independent directors.
    pub min_independent: u32,
    /// Line in governance.toml.
    pub line: u32,
}

/// What a class of strategy.toml requires of its units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    /// Class id (from strategy.toml).
    pub class: String,
    /// The unit must have its own CEO.
    pub own_ceo: bool,
    /// The unit must have its own board.
    pub own_board: bool,
    /// Fewest independent directors on that board.
    pub min_independent_directors: u32,
    /// Months after a classification by which a decision about the unit must be recorded.
    pub review_months: Option<u32>,
    /// Line in governance.toml.
    pub line: u32,
}

/// One row of the delegation-of-authority table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Right {
    /// Decision kind (capex, acquisition, disposal, merge, split, incentive_plan, ...).
    pub decision: String,
    /// Class of the unit the decision is about, or `*` for any.
    pub class: String,
    /// Smallest amount (inclusive), in the group's currency and scale.
    pub from: f64,
    /// Amount from which this row no longer applies (exclusive); unbounded when None.
    pub to: Option<f64>,
    /// Who approves: `ROLE` (held in the unit), `ROLE@group` (held in the group root),
    /// `board` (the unit's own board, else the nearest board above it) or `body:ID`.
    pub approver: String,
    /// Free text.
    pub note: Option<String>,
    /// Line in governance.toml.
    pub line: u32,
}

/// A target for the share of leadership roles held by a birth cohort.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineTarget {
    /// Id.
    pub id: String,
    /// The cohort: people born in this year or later.
    pub born_from: i32,
    /// The share to reach (0 to 1).
    pub share: f64,
    /// The date to reach it by.
    pub by: NaiveDate,
    /// The date the target was set.
    pub set: Option<NaiveDate>,
    /// The unit whose subtree it is about (the group when omitted).
    pub unit: Option<UnitId>,
    /// Where it was published.
    pub source: Option<String>,
    /// Line in governance.toml.
    pub line: u32,
}

/// One measure of an incentive plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpi {
    /// Metric (from group.toml).
    pub metric: MetricId,
    /// Unit measured.
    pub unit: UnitId,
    /// Weight in the plan (the weights sum to 1).
    pub weight: f64,
    /// Result below which nothing is paid.
    pub threshold: f64,
    /// Result that pays the target payout (1).
    pub target: f64,
    /// Result at which the payout is capped.
    pub maximum: f64,
}

/// An incentive plan for a role.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Id.
    pub id: String,
    /// The role it rewards.
    pub role: String,
    /// The unit of the role.
    pub unit: UnitId,
    /// The period measured.
    pub period: Period,
    /// The period label as written.
    pub period_label: String,
    /// The structure date results are measured in (the period's first day by default):
    /// later reorganisations never change the measure.
    pub structure: NaiveDate,
    /// Payout at the threshold (as a multiple of the target payout).
    pub threshold_payout: f64,
    /// Payout at the maximum.
    pub max_payout: f64,
    /// True when the plan is an illustrative assumption, not a published plan.
    pub assumption: bool,
    /// Free text.
    pub note: Option<String>,
    /// Its measures.
    pub kpis: Vec<Kpi>,
    /// Line in governance.toml.
    pub line: u32,
}

/// A KPI target written in governance.toml (besides `plan` facts).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    /// Unit.
    pub unit: UnitId,
    /// Metric.
    pub metric: MetricId,
    /// Period.
    pub period: Period,
    /// The target figure, in the group's currency and scale.
    pub value: f64,
    /// Free text (say whether it is an assumption).
    pub note: Option<String>,
    /// Line in governance.toml.
    pub line: u32,
}

/// Everything governance.toml holds (the defaults when there is no file).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Config {
    /// Role kinds, built-in and declared, by id.
    pub roles: BTreeMap<String, RoleKind>,
    /// Bodies by id.
    pub bodies: BTreeMap<String, Body>,
    /// Class policies.
    pub policies: Vec<Policy>,
    /// Most exclusive roles one person may hold at once.
    pub max_exclusive_roles: Option<u32>,
    /// Longest term an appointment may have, in years.
    pub max_term_years: Option<u32>,
    /// The decision-rights table.
    pub rights: Vec<Right>,
    /// Pipeline targets.
    pub pipeline: Vec<PipelineTarget>,
    /// Incentive plans.
    pub plans: Vec<Plan>,
    /// KPI targets.
    pub targets: Vec<Target>,
    /// True when the decision-rights table or the plans are marked as illustrative.
    pub assumptions_note: Option<String>,
}

impl Config {
    /// The built-in role kinds only.
    pub fn built_in() -> Config {
        let mut config = Config::default();
        for (id, name, exclusive, leadership, independent, director) in BUILT_IN {
            config.roles.insert(
                id.to_string(),
                RoleKind {
                    id: id.into(),
                    name: name.into(),
                    exclusive,
                    leadership,
                    independent,
                    director,
                },
            );
        }
        config
    }
}

type Fields = BTreeMap<String, Spanned<Value>>;

/// A TOML table with the line of every field.
struct Table<'a> {
    text: &'a str,
    line: u32,
    fields: Fields,
    used: BTreeSet<String>,
    problems: &'a mut Vec<Diagnostic>,
}

fn line_of(text: &str, offset: usize) -> u32 {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u32
        + 1
}

impl<'a> Table<'a> {
    fn new(text: &'a str, spanned: Spanned<Fields>, problems: &'a mut Vec<Diagnostic>) -> Self {
        Table {
            text,
            line: line_of(text, spanned.span().start),
            fields: spanned.into_inner(),
            used: BTreeSet::new(),
            problems,
        }
    }
    fn problem(&mut self, field: &str, message: impl Into<String>) {
        let line = self
            .fields
            .get(field)
            .map(|v| line_of(self.text, v.span().start))
            .unwrap_or(self.line);
        self.problems.push(Diagnostic {
            file: GOVERNANCE_FILE.into(),
            line: Some(line),
            field: Some(field.into()),
            message: message.into(),
        });
    }
    fn value(&mut self, field: &str) -> Option<Value> {
        self.used.insert(field.into());
        self.fields.get(field).map(|v| v.get_ref().clone())
    }
    fn text(&mut self, field: &str) -> Option<String> {
        match self.value(field)? {
            Value::String(s) if !s.trim().is_empty() => Some(s),
            Value::String(_) => {
                self.problem(field, "empty; expected text");
                None
            }
            other => {
                self.problem(
                    field,
                    format!("expected text in quotes, found {}", other.type_str()),
                );
                None
            }
        }
    }
    fn req_text(&mut self, field: &str, hint: &str) -> Option<String> {
        if !self.fields.contains_key(field) {
            self.used.insert(field.into());
            self.problem(field, format!("missing; expected {hint}"));
            return None;
        }
        self.text(field)
    }
    fn number(&mut self, field: &str) -> Option<f64> {
        match self.value(field)? {
            Value::Integer(i) => Some(i as f64),
            Value::Float(f) if f.is_finite() => Some(f),
            other => {
                self.problem(
                    field,
                    format!("expected a number, found {}", other.type_str()),
                );
                None
            }
        }
    }
    fn req_number(&mut self, field: &str, hint: &str) -> Option<f64> {
        if !self.fields.contains_key(field) {
            self.used.insert(field.into());
            self.problem(field, format!("missing; expected {hint}"));
            return None;
        }
        self.number(field)
    }
    fn count(&mut self, field: &str) -> Option<u32> {
        let n = self.number(field)?;
        if n < 0.0 || n.fract() != 0.0 || n > 1e6 {
            self.problem(
                field,
                format!("{n} is not a count (expected a whole number such as 3)"),
            );
            return None;
        }
        Some(n as u32)
    }
    fn flag(&mut self, field: &str) -> Option<bool> {
        match self.value(field)? {
            Value::Boolean(b) => Some(b),
            other => {
                self.problem(
                    field,
                    format!("expected true or false, found {}", other.type_str()),
                );
                None
            }
        }
    }
    fn date(&mut self, field: &str) -> Option<NaiveDate> {
        let text = match self.value(field)? {
            Value::String(s) => s,
            Value::Datetime(d) => d.to_string(),
            other => {
                self.problem(
                    field,
                    format!(
                        "expected a date such as 2027-09-10, found {}",
                        other.type_str()
                    ),
                );
                return None;
            }
        };
        let date = holdco_core::period::parse_iso_date(text.trim());
        if date.is_none() {
            self.problem(
                field,
                format!("`{text}` is not a date (expected YYYY-MM-DD)"),
            );
        }
        date
    }
    fn unit(&mut self, field: &str) -> Option<UnitId> {
        let text = self.text(field)?;
        match UnitId::parse(&text) {
            Ok(u) => Some(u),
            Err(message) => {
                self.problem(field, message);
                None
            }
        }
    }
    fn finish(mut self, allowed: &str) {
        let unknown: Vec<String> = self
            .fields
            .keys()
            .filter(|k| !self.used.contains(*k))
            .cloned()
            .collect();
        for field in unknown {
            self.problem(
                &field,
                format!("unknown field (expected one of: {allowed})"),
            );
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    limits: Option<Spanned<Fields>>,
    #[serde(default)]
    role: Vec<Spanned<Fields>>,
    #[serde(default)]
    body: Vec<Spanned<Fields>>,
    #[serde(default)]
    policy: Vec<Spanned<Fields>>,
    #[serde(default)]
    rights: Vec<Spanned<Fields>>,
    #[serde(default)]
    pipeline: Vec<Spanned<Fields>>,
    #[serde(default)]
    plan: Vec<Spanned<Fields>>,
    #[serde(default)]
    target: Vec<Spanned<Fields>>,
}

fn id_ok(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Parses governance.toml. Names of units, metrics and classes are checked against the
/// model by [`crate::check`]; this checks the file on its own.
pub fn parse_config(
    text: &str,
    calendar: FiscalCalendar,
    problems: &mut Vec<Diagnostic>,
) -> Config {
    let mut config = Config::built_in();
    let file: File = match toml::from_str(text) {
        Ok(f) => f,
        Err(error) => {
            problems.push(Diagnostic {
                file: GOVERNANCE_FILE.into(),
                line: error.span().map(|s| line_of(text, s.start)),
                field: None,
                message: format!(
                    "TOML syntax: {} (tables: [limits], [[role]], [[body]], [[policy]], [[rights]], [[pipeline]], [[plan]], [[target]])",
                    error.message().trim()
                ),
            });
            return config;
        }
    };
    if let Some(limits) = file.limits {
        let mut t = Table::new(text, limits, problems);
        config.max_exclusive_roles = t.count("max_exclusive_roles");
        config.max_term_years = t.count("max_term_years");
        config.assumptions_note = t.text("assumptions");
        t.finish("max_exclusive_roles, max_term_years, assumptions");
    }
    for role in file.role {
        let mut t = Table::new(text, role, problems);
        let id = t.req_text("id", "a role id such as \"chief_ai_officer\"");
        let name = t.text("name");
        let exclusive = t.flag("exclusive").unwrap_or(false);
        let leadership = t.flag("leadership").unwrap_or(false);
        let independent = t.flag("independent_director").unwrap_or(false);
        let director = t.flag("director").unwrap_or(independent);
        if let Some(id) = &id {
            if !id_ok(id) {
                t.problem(
                    "id",
                    format!("`{id}` is not an id (lower-case letters, digits, _ and -)"),
                );
            } else if config.roles.contains_key(id) {
                t.problem("id", format!("role `{id}` is already defined (built-in roles: chair, ceo, cfo, president, head_of_business_group, director_independent, director_executive, director_non_executive)"));
            } else {
                config.roles.insert(
                    id.clone(),
                    RoleKind {
                        id: id.clone(),
                        name: name.unwrap_or_else(|| id.clone()),
                        exclusive,
                        leadership,
                        independent,
                        director,
                    },
                );
            }
        }
        t.finish("id, name, exclusive, leadership, director, independent_director");
    }
    for body in file.body {
        let mut t = Table::new(text, body, problems);
        let id = t.req_text("id", "a body id such as \"alibaba_board\"");
        let unit = if t.fields.contains_key("unit") {
            t.unit("unit")
        } else {
            t.used.insert("unit".into());
            t.problem("unit", "missing; expected the unit the body governs");
            None
        };
        let kind = t.text("kind").unwrap_or_else(|| "board".into());
        if kind != "board" && kind != "committee" {
            t.problem(
                "kind",
                format!("`{kind}` is not a body kind (expected board or committee)"),
            );
        }
        let name = t.text("name");
        let seats = t.count("seats");
        let min_independent = t.count("min_independent").unwrap_or(0);
        if let Some(seats) = seats {
            if min_independent > seats {
                t.problem("min_independent", format!("{min_independent} independent directors can't sit on {seats} seats; lower min_independent or raise seats"));
            }
        }
        let line = t.line;
        if let (Some(id), Some(unit)) = (id, unit) {
            if config.bodies.contains_key(&id) {
                t.problem("id", format!("body `{id}` is defined twice"));
            } else {
                config.bodies.insert(
                    id.clone(),
                    Body {
                        name: name.unwrap_or_else(|| id.clone()),
                        id,
                        unit,
                        kind,
                        seats,
                        min_independent,
                        line,
                    },
                );
            }
        }
        t.finish("id, unit, kind, name, seats, min_independent");
    }
    for policy in file.policy {
        let mut t = Table::new(text, policy, problems);
        let class = t.req_text("class", "a class id of strategy.toml");
        let own_ceo = t.flag("own_ceo").unwrap_or(false);
        let own_board = t.flag("own_board").unwrap_or(false);
        let min_independent_directors = t.count("min_independent_directors").unwrap_or(0);
        let review_months = t.count("review_months");
        let line = t.line;
        if let Some(class) = class {
            config.policies.push(Policy {
                class,
                own_ceo,
                own_board,
                min_independent_directors,
                review_months,
                line,
            });
        }
        t.finish("class, own_ceo, own_board, min_independent_directors, review_months");
    }
    for right in file.rights {
        let mut t = Table::new(text, right, problems);
        let decision = t.req_text(
            "decision",
            "a decision kind such as \"capex\" or \"acquisition\"",
        );
        let class = t.text("class").unwrap_or_else(|| "*".into());
        let from = t.number("from").unwrap_or(0.0);
        let to = t.number("to");
        let approver = t.req_text(
            "approver",
            "who approves: a role (\"ceo\"), \"ceo@group\", \"board\" or \"body:ID\"",
        );
        let note = t.text("note");
        if let Some(to) = to {
            if to <= from {
                t.problem("to", format!("the band ends at {to}, not above where it starts ({from}); `to` must be larger than `from`"));
            }
        }
        if from < 0.0 {
            t.problem("from", "amounts can't be negative");
        }
        let line = t.line;
        if let (Some(decision), Some(approver)) = (decision, approver) {
            config.rights.push(Right {
                decision,
                class,
                from,
                to,
                approver,
                note,
                line,
            });
        }
        t.finish("decision, class, from, to, approver, note");
    }
    // Overlapping bands of the same decision and class: the table must give one answer.
    for (i, a) in config.rights.iter().enumerate() {
        for b in &config.rights[..i] {
            if a.decision == b.decision && a.class == b.class {
                let a_end = a.to.unwrap_or(f64::INFINITY);
                let b_end = b.to.unwrap_or(f64::INFINITY);
                if a.from < b_end && b.from < a_end {
                    problems.push(Diagnostic {
                        file: GOVERNANCE_FILE.into(),
                        line: Some(a.line),
                        field: Some("from".into()),
                        message: format!(
                            "the band {} to {} for `{}` (class {}) overlaps the band {} to {} on line {}: each amount must have one approver; make one band end where the next starts",
                            a.from,
                            a.to.map(|t| t.to_string()).unwrap_or_else(|| "no limit".into()),
                            a.decision,
                            a.class,
                            b.from,
                            b.to.map(|t| t.to_string()).unwrap_or_else(|| "no limit".into()),
                            b.line
                        ),
                    });
                }
            }
        }
    }
    for target in file.pipeline {
        let mut t = Table::new(text, target, problems);
        let id = t.req_text("id", "a target id such as \"young_leaders\"");
        let born_from = t.req_number("born_from", "the first birth year of the cohort, e.g. 1985");
        let share = t.req_number("share", "the share of leadership roles to reach, 0 to 1");
        let by = if t.fields.contains_key("by") {
            t.date("by")
        } else {
            t.used.insert("by".into());
            t.problem("by", "missing; expected the date to reach the share by");
            None
        };
        let set = t.date("set");
        let unit = if t.fields.contains_key("unit") {
            t.unit("unit")
        } else {
            t.used.insert("unit".into());
            None
        };
        let source = t.text("source");
        if let Some(share) = share {
            if !(0.0..=1.0).contains(&share) {
                t.problem("share", format!("{share} is not a share (expected 0 to 1)"));
            }
        }
        if let (Some(set), Some(by)) = (set, by) {
            if by < set {
                t.problem(
                    "by",
                    format!("the target is due on {by}, before it was set on {set}"),
                );
            }
        }
        let line = t.line;
        if let (Some(id), Some(born_from), Some(share), Some(by)) = (id, born_from, share, by) {
            config.pipeline.push(PipelineTarget {
                id,
                born_from: born_from as i32,
                share,
                by,
                set,
                unit,
                source,
                line,
            });
        }
        t.finish("id, born_from, share, by, set, unit, source");
    }
    for plan in file.plan {
        let mut t = Table::new(text, plan, problems);
        let id = t.req_text("id", "a plan id");
        let role = t.req_text("role", "the role the plan rewards, e.g. \"ceo\"");
        let unit = if t.fields.contains_key("unit") {
            t.unit("unit")
        } else {
            t.used.insert("unit".into());
            t.problem("unit", "missing; expected the unit of the role");
            None
        };
        let period_label = t.req_text("period", "the period measured, e.g. \"FY2025\"");
        let period = period_label
            .as_ref()
            .and_then(|p| match Period::parse(p, calendar) {
                Ok(p) => Some(p),
                Err(message) => {
                    t.problem("period", message);
                    None
                }
            });
        let structure = t.date("structure");
        let threshold_payout = t.number("threshold_payout").unwrap_or(0.5);
        let max_payout = t.number("max_payout").unwrap_or(2.0);
        let assumption = t.flag("assumption").unwrap_or(false);
        let note = t.text("note");
        if !(0.0..=1.0).contains(&threshold_payout) {
            t.problem(
                "threshold_payout",
                "expected 0 to 1 (the payout at the threshold, as a share of the target payout)",
            );
        }
        if max_payout < 1.0 {
            t.problem("max_payout", "expected 1 or more (the payout at the maximum, as a multiple of the target payout)");
        }
        let mut kpis = Vec::new();
        let kpi_values = t.value("kpi");
        match kpi_values {
            Some(Value::Array(items)) if !items.is_empty() => {
                for (index, item) in items.iter().enumerate() {
                    let n = index + 1;
                    let Some(table) = item.as_table() else {
                        t.problem("kpi", format!("measure {n}: expected a table such as {{ metric = \"revenue\", weight = 1, threshold = 90, target = 100, maximum = 120 }}"));
                        continue;
                    };
                    for key in table.keys() {
                        if !["metric", "unit", "weight", "threshold", "target", "maximum"].contains(&key.as_str()) {
                            t.problem("kpi", format!("measure {n}: unknown field `{key}` (expected metric, unit, weight, threshold, target, maximum)"));
                        }
                    }
                    let num = |k: &str| match table.get(k) {
                        Some(Value::Integer(i)) => Some(*i as f64),
                        Some(Value::Float(f)) if f.is_finite() => Some(*f),
                        _ => None,
                    };
                    let metric = table.get("metric").and_then(|v| v.as_str()).map(MetricId::parse);
                    let kpi_unit = match table.get("unit").and_then(|v| v.as_str()) {
                        Some(u) => UnitId::parse(u).ok(),
                        None => unit.clone(),
                    };
                    let (Some(Ok(metric)), Some(kpi_unit), Some(weight), Some(threshold), Some(target), Some(maximum)) =
                        (metric, kpi_unit, num("weight"), num("threshold"), num("target"), num("maximum"))
                    else {
                        t.problem("kpi", format!("measure {n}: needs metric, weight, threshold, target and maximum (numbers), and a valid unit"));
                        continue;
                    };
                    if !(threshold < target && target < maximum) {
                        t.problem("kpi", format!("measure {n}: expected threshold < target < maximum, found {threshold}, {target}, {maximum}"));
                        continue;
                    }
                    if weight <= 0.0 {
                        t.problem("kpi", format!("measure {n}: the weight must be above 0"));
                        continue;
                    }
                    kpis.push(Kpi { metric, unit: kpi_unit, weight, threshold, target, maximum });
                }
                let total: f64 = kpis.iter().map(|k| k.weight).sum();
                if kpis.len() == items.len() && (total - 1.0).abs() > 1e-9 {
                    t.problem("kpi", format!("the weights add up to {total}, not 1"));
                }
            }
            _ => t.problem("kpi", "missing; expected the plan's measures, e.g. kpi = [{ metric = \"revenue\", weight = 1, threshold = 90, target = 100, maximum = 120 }]"),
        }
        let line = t.line;
        if let (Some(id), Some(role), Some(unit), Some(period), Some(period_label)) =
            (id, role, unit, period, period_label)
        {
            if config.plans.iter().any(|p| p.id == id) {
                t.problem("id", format!("plan `{id}` is defined twice"));
            }
            config.plans.push(Plan {
                id,
                role,
                unit,
                structure: structure.unwrap_or(period.first_day()),
                period,
                period_label,
                threshold_payout,
                max_payout,
                assumption,
                note,
                kpis,
                line,
            });
        }
        t.finish("id, role, unit, period, structure, threshold_payout, max_payout, assumption, note, kpi");
    }
    for target in file.target {
        let mut t = Table::new(text, target, problems);
        let unit = if t.fields.contains_key("unit") {
            t.unit("unit")
        } else {
            t.used.insert("unit".into());
            t.problem("unit", "missing; expected the unit the target is for");
            None
        };
        let metric = t
            .req_text("metric", "a metric id of group.toml, e.g. \"revenue\"")
            .and_then(|m| match MetricId::parse(&m) {
                Ok(m) => Some(m),
                Err(message) => {
                    t.problem("metric", message);
                    None
                }
            });
        let period = t
            .req_text("period", "the period, e.g. \"FY2025\"")
            .and_then(|p| match Period::parse(&p, calendar) {
                Ok(p) => Some(p),
                Err(message) => {
                    t.problem("period", message);
                    None
                }
            });
        let value = t.req_number("value", "the target figure");
        let note = t.text("note");
        let line = t.line;
        if let (Some(unit), Some(metric), Some(period), Some(value)) = (unit, metric, period, value)
        {
            if config
                .targets
                .iter()
                .any(|o| o.unit == unit && o.metric == metric && o.period == period)
            {
                t.problem(
                    "unit",
                    format!("a target for {unit} {metric} in this period is already set; keep one"),
                );
            }
            config.targets.push(Target {
                unit,
                metric,
                period,
                value,
                note,
                line,
            });
        }
        t.finish("unit, metric, period, value, note");
    }
    config
}
