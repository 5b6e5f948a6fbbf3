//! The data model of a group, introduced in one place.
//!
//! A [`Model`] is what a model folder holds and what the store persists: the group, its
//! metric definitions, the timeline of dated changes (the only source of structure), the
//! facts, and FX rates. Everything else (structures, lineage, roll-ups) is derived from it.

use crate::ids::{Currency, MetricId, UnitId};
use crate::period::{FiscalCalendar, Period};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Where an item came from: file and line. Never makes two items differ.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Origin {
    /// The file path as given to the parser.
    pub file: String,
    /// One-based line number.
    pub line: u32,
}

impl PartialEq for Origin {
    fn eq(&self, _other: &Self) -> bool {
        // Origins are provenance, not content: a model read back from the store equals the
        // model parsed from files.
        true
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// The group: its root unit, name, reporting currency and fiscal calendar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Id of the root unit (created by the first change of the timeline).
    pub id: UnitId,
    /// Display name (any Unicode).
    pub name: String,
    /// Currency every currency metric is reported in.
    pub currency: Currency,
    /// Fiscal year end as month and day, e.g. (3, 31).
    pub fiscal_year_end: (u8, u8),
}

impl Group {
    /// The fiscal calendar periods are labelled in.
    pub fn calendar(&self) -> FiscalCalendar {
        FiscalCalendar {
            year_end_month: self.fiscal_year_end.0,
        }
    }
}

/// What a metric measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Money, translated into the reporting currency.
    Currency,
    /// A count (stores, employees).
    Count,
    /// People using a product (DAU, MAU, customers).
    Users,
    /// A percentage or other pure number.
    Percent,
}

/// How a metric aggregates over units and periods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Aggregation {
    /// Sums over units and periods (revenue, EBITA, capex).
    Flow,
    /// Sums over units; over time takes the period-end value (headcount, cash).
    Stock,
    /// Never summed: only reported where recorded (DAU).
    NonAdditive,
    /// Computed after aggregation as numerator / denominator (margin).
    Ratio {
        /// Metric on top.
        numerator: MetricId,
        /// Metric below.
        denominator: MetricId,
    },
}

impl Aggregation {
    /// The name used in files.
    pub fn name(&self) -> &'static str {
        match self {
            Aggregation::Flow => "flow",
            Aggregation::Stock => "stock",
            Aggregation::NonAdditive => "non_additive",
            Aggregation::Ratio { .. } => "ratio",
        }
    }
}

/// A metric definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Stable id used in facts.
    pub id: MetricId,
    /// Display name.
    pub name: String,
    /// What it measures.
    pub measure: Measure,
    /// How it aggregates.
    pub aggregation: Aggregation,
    /// Display scale of recorded values, e.g. "millions" (a label only; values are not rescaled).
    pub scale: Option<String>,
    /// Where it was defined.
    pub origin: Origin,
}

/// Split shares of one part: a default and optional per-metric overrides.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Shares {
    /// Share for every metric not listed in `per_metric`.
    pub default: Option<f64>,
    /// Shares for named metrics.
    pub per_metric: BTreeMap<MetricId, f64>,
}

impl Shares {
    /// The share that applies to `metric`, if any is given.
    pub fn for_metric(&self, metric: &MetricId) -> Option<f64> {
        self.per_metric.get(metric).copied().or(self.default)
    }
}

/// One successor of a split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitPart {
    /// The unit receiving this part (the split unit itself for a carve-out it survives).
    pub unit: UnitId,
    /// Its shares of the split unit's history.
    pub shares: Shares,
}

/// How a unit enters the group's figures after a stake change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consolidation {
    /// Controlled: counted in full, the minority share reported beside it.
    Full,
    /// Not controlled: counted at the group's share.
    Share,
    /// Out of consolidation: not counted.
    None,
    /// An associate under the equity method: its revenue and EBITA are not consolidated
    /// (not counted); its value is a fact on the stake.
    Equity,
    /// A financial investment carried at fair value: not counted; its value is a fact on
    /// the stake.
    FairValue,
}

impl Consolidation {
    /// The name used in files.
    pub fn name(&self) -> &'static str {
        match self {
            Consolidation::Full => "full",
            Consolidation::Share => "share",
            Consolidation::None => "none",
            Consolidation::Equity => "equity",
            Consolidation::FairValue => "fair_value",
        }
    }

    /// Whether the unit's figures count in the group's (in full or at its share).
    pub fn counts(&self) -> bool {
        matches!(self, Consolidation::Full | Consolidation::Share)
    }
}

/// An amount of money in a currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Money {
    /// Amount, in the scale the group uses for currency metrics.
    pub amount: f64,
    /// Currency of the amount.
    pub currency: Currency,
}

/// What a change does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeKind {
    /// A unit comes into being (or is acquired) under `parent`; the root has no parent.
    Create {
        /// New unit id.
        unit: UnitId,
        /// Display name.
        name: String,
        /// Parent unit, none only for the group root.
        parent: Option<UnitId>,
        /// Kind of unit (group, segment, company, business_line, ...).
        unit_kind: String,
        /// True when bought from outside: excluded from organic comparisons.
        acquired: bool,
        /// Group's share in the unit relative to its parent (1 when omitted).
        ownership: f64,
    },
    /// New display name; identity and history unchanged.
    Rename {
        /// Unit renamed.
        unit: UnitId,
        /// New name.
        name: String,
    },
    /// New parent; history moves with the unit.
    Move {
        /// Unit moved.
        unit: UnitId,
        /// New parent.
        parent: UnitId,
    },
    /// `units` end and their history flows to `into` with weight 1; their children move to `into`.
    Merge {
        /// Units absorbed.
        units: Vec<UnitId>,
        /// Surviving unit.
        into: UnitId,
    },
    /// `unit`'s history is shared among `parts`; it ends unless it is one of the parts.
    Split {
        /// Unit split.
        unit: UnitId,
        /// Successors with their shares.
        parts: Vec<SplitPart>,
    },
    /// The group's ownership share changes (listing, partial sale, spin-off distribution).
    Stake {
        /// Unit concerned.
        unit: UnitId,
        /// New share relative to the parent, 0 to 1.
        share: f64,
        /// How it is counted from now on.
        consolidation: Consolidation,
        /// Cash received, if any.
        proceeds: Option<Money>,
    },
    /// The unit is distributed to the group's shareholders (a spin-off). With `retained` above
    /// 0 the group keeps that share, no longer consolidated (`method`: equity or fair value),
    /// and the unit stays in the structure as a holding; with 0 it leaves like a divestment.
    /// Either way its history before the date is a discontinued line in any structure after
    /// it: continuing operations no longer hold it.
    SpinOff {
        /// Unit spun off.
        unit: UnitId,
        /// Share the group keeps, 0 to 1 (relative to the parent).
        retained: f64,
        /// How a retained stake is carried (equity or fair value; none when nothing is kept).
        method: Consolidation,
    },
    /// The unit (and everything below it) leaves the group.
    Divest {
        /// Unit sold.
        unit: UnitId,
        /// Cash received.
        proceeds: Option<Money>,
        /// Who bought it.
        buyer: Option<String>,
    },
    /// The unit (and everything below it) stops operating.
    Close {
        /// Unit closed.
        unit: UnitId,
    },
    /// A portfolio decision: from this date the unit belongs to `class` (core, strategic
    /// innovation, non-core, ...). The structure is unchanged; the class names are the
    /// strategy file's, which core does not interpret.
    Classify {
        /// Unit classified.
        unit: UnitId,
        /// Class id, as declared in the strategy file.
        class: String,
    },
    /// A dated decision about a unit that leaves the structure alone (a spin-off approved or
    /// shelved, a management grouping): kept in the log so `history` shows it.
    Decision {
        /// Unit the decision is about.
        unit: UnitId,
        /// What was decided, in a few words.
        decision: String,
    },
    /// A dated event of a domain crate (governance: an appointment, a transfer...), written
    /// `kind = "NAMESPACE.NAME"` in the timeline. Core keeps its fields, checks their types
    /// and that every unit it names exists on the date; the domain that registered the kind
    /// ([`crate::extension`]) gives it meaning. The structure is unchanged.
    Event {
        /// The event kind, `NAMESPACE.NAME` (e.g. `people.appoint`).
        event: String,
        /// Its fields by name (not `id`, `date`, `kind`, `note`, `source`).
        fields: BTreeMap<String, EventValue>,
    },
}

/// A field value of a domain event ([`ChangeKind::Event`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventValue {
    /// Free text or an id the domain resolves (a person, a role, a body).
    Text(String),
    /// A unit of the timeline, checked to exist on the event's date.
    Unit(UnitId),
    /// A date.
    Date(NaiveDate),
    /// A number.
    Number(f64),
    /// True or false.
    Flag(bool),
}

impl EventValue {
    /// The value as text, as it would be written in the timeline.
    pub fn as_text(&self) -> String {
        match self {
            EventValue::Text(t) => t.clone(),
            EventValue::Unit(u) => u.to_string(),
            EventValue::Date(d) => d.to_string(),
            EventValue::Number(n) => n.to_string(),
            EventValue::Flag(f) => f.to_string(),
        }
    }
}

impl ChangeKind {
    /// The name used in files.
    pub fn name(&self) -> &'static str {
        match self {
            ChangeKind::Create {
                acquired: false, ..
            } => "create",
            ChangeKind::Create { acquired: true, .. } => "acquire",
            ChangeKind::Rename { .. } => "rename",
            ChangeKind::Move { .. } => "move",
            ChangeKind::Merge { .. } => "merge",
            ChangeKind::Split { .. } => "split",
            ChangeKind::Stake { .. } => "stake",
            ChangeKind::SpinOff { .. } => "spin_off",
            ChangeKind::Divest { .. } => "divest",
            ChangeKind::Close { .. } => "close",
            ChangeKind::Classify { .. } => "classify",
            ChangeKind::Decision { .. } => "decision",
            ChangeKind::Event { .. } => "event",
        }
    }

    /// The kind as written in files: [`ChangeKind::name`], or the event kind of a domain
    /// event (`people.appoint`).
    pub fn file_kind(&self) -> &str {
        match self {
            ChangeKind::Event { event, .. } => event,
            other => other.name(),
        }
    }

    /// Whether the change alters the tree or where history goes (anything but a rename or
    /// a classification): a published restatement into a structure stays "published" in a
    /// later structure only when no such change lies between them.
    pub fn moves_history_or_tree(&self) -> bool {
        !matches!(
            self,
            ChangeKind::Rename { .. }
                | ChangeKind::Classify { .. }
                | ChangeKind::Decision { .. }
                | ChangeKind::Event { .. }
        )
    }

    /// Every unit the change names.
    pub fn units(&self) -> Vec<&UnitId> {
        match self {
            ChangeKind::Create { unit, parent, .. } => {
                std::iter::once(unit).chain(parent.iter()).collect()
            }
            ChangeKind::Rename { unit, .. }
            | ChangeKind::Stake { unit, .. }
            | ChangeKind::SpinOff { unit, .. }
            | ChangeKind::Divest { unit, .. }
            | ChangeKind::Close { unit }
            | ChangeKind::Classify { unit, .. }
            | ChangeKind::Decision { unit, .. } => vec![unit],
            ChangeKind::Move { unit, parent } => vec![unit, parent],
            ChangeKind::Merge { units, into } => {
                units.iter().chain(std::iter::once(into)).collect()
            }
            ChangeKind::Split { unit, parts } => std::iter::once(unit)
                .chain(parts.iter().map(|p| &p.unit))
                .collect(),
            ChangeKind::Event { fields, .. } => fields
                .values()
                .filter_map(|v| match v {
                    EventValue::Unit(u) => Some(u),
                    _ => None,
                })
                .collect(),
        }
    }
}

/// A dated change of structure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Optional stable id (needed to calibrate or refer to it).
    pub id: Option<String>,
    /// Effective date: the structure on this date includes the change.
    pub date: NaiveDate,
    /// What happens.
    pub kind: ChangeKind,
    /// Free text.
    pub note: Option<String>,
    /// Where it was published.
    pub source: Option<String>,
    /// Where it was defined.
    pub origin: Origin,
}

/// On what basis a fact was published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Basis {
    /// As reported for the period, in the structure then in force.
    Reported,
    /// As published later, restated into the structure in force on `structure`.
    Restated {
        /// The structure date the figure was published under.
        structure: NaiveDate,
    },
    /// A plan or budget figure.
    Plan,
    /// An estimate (analyst or internal).
    Estimate,
    /// Pro forma, as published in the structure in force on `structure`: the figure as if
    /// the deals around it had been made before the period (a group total without what it
    /// later sold; an acquired unit's own figures from before it joined). Read only by the
    /// pro-forma view (docs/semantics.md, 3.9).
    ProForma {
        /// The structure date the figure was published under.
        structure: NaiveDate,
    },
}

impl Basis {
    /// The name used in files.
    pub fn name(&self) -> &'static str {
        match self {
            Basis::Reported => "reported",
            Basis::Restated { .. } => "restated",
            Basis::Plan => "plan",
            Basis::Estimate => "estimate",
            Basis::ProForma { .. } => "pro_forma",
        }
    }

    /// The date of the structure the figure was published under (restated and pro-forma
    /// figures); `None` for figures placed in the structure of their own period.
    pub fn structure(&self) -> Option<NaiveDate> {
        match self {
            Basis::Restated { structure } | Basis::ProForma { structure } => Some(*structure),
            _ => None,
        }
    }
}

/// The identity of a fact: importing the same key again makes a revision.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FactKey {
    /// Unit the figure belongs to (including everything below it, see the format docs).
    pub unit: UnitId,
    /// Period covered.
    pub period: Period,
    /// Metric.
    pub metric: MetricId,
    /// Other side of an intercompany figure.
    pub counterparty: Option<UnitId>,
    /// Publication basis.
    pub basis: Basis,
}

/// A value of a metric for a unit and period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// Identity.
    pub key: FactKey,
    /// The figure, in `currency` for currency metrics.
    pub value: f64,
    /// Currency of the value; the group's when omitted.
    pub currency: Option<Currency>,
    /// Where it was published.
    pub source: Option<String>,
    /// A remark on the figure, e.g. "restated by the group in the FY2024 annual report".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The rounding step the figure was published to, in the fact's own units (the metric's
    /// scale and the fact's currency): `1` for a figure in millions published in millions,
    /// `100` for one published to a tenth of a billion. `None`: exact as far as is known.
    /// `holdco reconcile` does not count a difference within it as a defect
    /// (docs/semantics.md, 10.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<f64>,
    /// Where it was defined.
    pub origin: Origin,
}

/// Rates of one currency for one period, in reporting currency per unit of `currency`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FxRate {
    /// Foreign currency.
    pub currency: Currency,
    /// Period the rates are for.
    pub period: Period,
    /// Average rate over the period (for flows).
    pub average: f64,
    /// Rate at the period's end (for stocks).
    pub closing: f64,
    /// Where it was published.
    pub source: Option<String>,
    /// Where it was defined.
    pub origin: Origin,
}

/// Everything a model folder holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// The group.
    pub group: Group,
    /// Metric definitions.
    pub metrics: Vec<Metric>,
    /// Dated changes, in file order (replay sorts them stably by date).
    pub timeline: Vec<Change>,
    /// Facts.
    pub facts: Vec<Fact>,
    /// FX rates.
    pub fx: Vec<FxRate>,
    /// The other model files (strategy, assessments, capital plan), kept as raw text keyed
    /// by their path relative to the model folder. Core stores and round-trips them; the
    /// `holdco-strategy` crate gives them meaning.
    #[serde(default)]
    pub documents: BTreeMap<String, String>,
}

impl Model {
    /// The metric with this id.
    pub fn metric(&self, id: &MetricId) -> Option<&Metric> {
        self.metrics.iter().find(|m| &m.id == id)
    }

    /// The timeline in replay order: by date, then file order.
    pub fn ordered_timeline(&self) -> Vec<&Change> {
        let mut changes: Vec<&Change> = self.timeline.iter().collect();
        changes.sort_by_key(|c| c.date);
        changes
    }

    /// Puts facts and rates in canonical order (for deterministic export and comparison).
    pub fn canonicalize(&mut self) {
        self.facts.sort_by(|a, b| a.key.cmp(&b.key));
        self.fx
            .sort_by(|a, b| (&a.currency, a.period).cmp(&(&b.currency, b.period)));
    }
}

/// A problem found in the input: file, line, field and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// File the problem is in.
    pub file: String,
    /// One-based line, when known.
    pub line: Option<u32>,
    /// Field or column concerned, when known.
    pub field: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl Diagnostic {
    /// A problem at an origin.
    pub fn at(origin: &Origin, field: Option<&str>, message: impl Into<String>) -> Self {
        Diagnostic {
            file: origin.file.clone(),
            line: (origin.line > 0).then_some(origin.line),
            field: field.map(str::to_string),
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}
