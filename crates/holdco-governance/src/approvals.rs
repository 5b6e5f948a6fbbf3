//! The approvals a capital plan or a scenario branch needs under the decision-rights table
//! of governance.toml (docs/semantics.md, rule 8.11).
//!
//! Each action (an allocation of the plan, a disposal whose proceeds it counts on, a change
//! of a branch) is a decision of a kind about a unit, with an amount when one is known. The
//! row of `[[rights]]` is found as `holdco rights` finds it (the unit's class, or the
//! plan's class for an allocation; class rows before `*` rows; the band holding the
//! amount); an action without an amount takes the highest band that applies. The approver
//! is resolved on the action's date, with who holds the role or sits on the body then.

use crate::config::Right;
use crate::ledger::Ledger;
use crate::queries::{self, LeaderRow};
use chrono::NaiveDate;
use holdco_core::timeline::Timeline;
use holdco_core::{ChangeKind, Currency, UnitId};
use serde::Serialize;
use std::collections::HashMap;

/// One action that needs a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// Where it comes from, in words ("allocation 2026", "change spin-off-cloud").
    pub what: String,
    /// The unit the decision is about.
    pub unit: UnitId,
    /// Decision kinds to look up, in order: the first one the table has rows for is used
    /// (`divest`, then `disposal`).
    pub decisions: Vec<String>,
    /// The amount, in the group's currency and scale, when known.
    pub amount: Option<f64>,
    /// Why there is no amount, when there is none.
    pub no_amount: Option<String>,
    /// The class the decision is taken under (the plan's class of an allocation); None:
    /// the unit's class on the date (or its nearest classified ancestor's).
    pub class: Option<String>,
    /// The day the decision is resolved on.
    pub date: NaiveDate,
    /// Relative tolerance of the amount: an amount within `tolerance × max(1, |edge|)` of a
    /// band's edge is taken as the edge (a solver's answer, such as a plan's allocation of
    /// 999.9999988 for a floor of 1,000, is accurate to about 1e-8 of its scale); 0 for
    /// amounts as written.
    pub tolerance: f64,
}

/// How an action stands against the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A row of the table applies: `approver` says who approves.
    Approver,
    /// No row applies: the table leaves the decision open.
    NoRule,
    /// The unit is not in the group on the date (it left earlier, or does not exist yet).
    NotInGroup,
}

/// The approval one action needs.
#[derive(Debug, Clone, Serialize)]
pub struct Approval {
    /// Where the action comes from.
    pub what: String,
    /// The unit.
    pub unit: String,
    /// The decision kind looked up (the first of the action's kinds the table knows).
    pub decision: String,
    /// The amount, when known (a solved amount within its tolerance of a band's edge is the
    /// edge).
    pub amount: Option<f64>,
    /// The class the row was chosen for.
    pub class: Option<String>,
    /// The date the approver is resolved on.
    pub date: NaiveDate,
    /// How the action stands.
    pub status: Status,
    /// The band of the row that applies ("1000 to 10000", "from 10000").
    pub band: Option<String>,
    /// The approver, resolved ("ceo of alibaba", "body alibaba_board (board of alibaba)").
    pub approver: Option<String>,
    /// Who holds the approving role or sits on the approving body on the date.
    pub holders: Vec<LeaderRow>,
    /// The row's line in governance.toml.
    pub line: Option<u32>,
    /// What to know about the action: why no amount, why no row applies.
    pub note: Option<String>,
    /// The row's own note (governance.toml `note`).
    pub rule_note: Option<String>,
}

/// One approval as a CSV row.
#[derive(Debug, Clone, Serialize)]
pub struct ApprovalRow {
    /// Where the action comes from (the plan, the branch).
    pub source: String,
    /// What it is.
    pub what: String,
    /// Unit.
    pub unit: String,
    /// Decision kind.
    pub decision: String,
    /// Amount.
    pub amount: Option<f64>,
    /// Class.
    pub class: Option<String>,
    /// Date.
    pub date: NaiveDate,
    /// Status.
    pub status: Status,
    /// Band.
    pub band: Option<String>,
    /// Approver.
    pub approver: Option<String>,
    /// Holders, `name (id)` joined by `; `.
    pub holders: String,
    /// governance.toml line.
    pub line: Option<u32>,
    /// Note about the action.
    pub note: Option<String>,
    /// The row's note.
    pub rule_note: Option<String>,
}

impl Approval {
    /// The CSV row, with the plan or branch it belongs to.
    pub fn row(&self, source: &str) -> ApprovalRow {
        ApprovalRow {
            source: source.to_string(),
            what: self.what.clone(),
            unit: self.unit.clone(),
            decision: self.decision.clone(),
            amount: self.amount,
            class: self.class.clone(),
            date: self.date,
            status: self.status,
            band: self.band.clone(),
            approver: self.approver.clone(),
            holders: self.holders_text(),
            line: self.line,
            note: self.note.clone(),
            rule_note: self.rule_note.clone(),
        }
    }

    /// Holders as `name (id)` joined by `; `.
    pub fn holders_text(&self) -> String {
        self.holders
            .iter()
            .map(|h| format!("{} ({})", h.name, h.person))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn band(rule: &Right) -> String {
    match rule.to {
        Some(to) => format!("{} to {}", rule.from, to),
        None => format!("from {}", rule.from),
    }
}

/// The approvals `actions` need, in their order.
pub fn approvals(ledger: &Ledger, timeline: &Timeline, actions: &[Action]) -> Vec<Approval> {
    let rows = &ledger.config.rights;
    let mut leaders_by_date: HashMap<NaiveDate, Vec<LeaderRow>> = HashMap::new();
    let mut structures = HashMap::new();
    actions
        .iter()
        .map(|action| {
            let decision = action
                .decisions
                .iter()
                .find(|d| rows.iter().any(|r| &r.decision == *d))
                .or(action.decisions.first())
                .cloned()
                .unwrap_or_default();
            // A solved amount at a band's edge (within its tolerance) is the edge.
            let amount = action.amount.map(|amount| {
                rows.iter()
                    .filter(|r| r.decision == decision)
                    .flat_map(|r| [Some(r.from), r.to])
                    .flatten()
                    .find(|edge| (amount - edge).abs() <= action.tolerance * edge.abs().max(1.0))
                    .unwrap_or(amount)
            });
            let mut answer = Approval {
                what: action.what.clone(),
                unit: action.unit.to_string(),
                decision: decision.clone(),
                amount,
                class: action.class.clone(),
                date: action.date,
                status: Status::NoRule,
                band: None,
                approver: None,
                holders: Vec::new(),
                line: None,
                note: action.no_amount.clone(),
                rule_note: None,
            };
            let alive = timeline
                .unit(&action.unit)
                .filter(|&u| timeline.record(u).alive_on(action.date));
            let Some(unit) = alive else {
                answer.status = Status::NotInGroup;
                answer.note = Some(format!(
                    "{} is not in the group on {}; no approval is pending",
                    action.unit, action.date
                ));
                return answer;
            };
            let structure = structures
                .entry(action.date)
                .or_insert_with(|| timeline.structure_on(action.date));
            if answer.class.is_none() {
                answer.class = queries::class_above(timeline, structure, unit, action.date);
            }
            match queries::rule_for(rows, &decision, amount, answer.class.as_deref()) {
                Err(e) => {
                    let tried = if action.decisions.len() > 1 {
                        format!(" (looked for: {})", action.decisions.join(", "))
                    } else {
                        String::new()
                    };
                    answer.note = Some(
                        [Some(format!("{e}{tried}")), answer.note.take()]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>()
                            .join("; "),
                    );
                }
                Ok(rule) => {
                    let leaders = leaders_by_date.entry(action.date).or_insert_with(|| {
                        queries::leaders_on(ledger, timeline, action.date, None).unwrap_or_default()
                    });
                    let (approver, holders) =
                        queries::approver_of(ledger, timeline, structure, unit, &rule, leaders);
                    answer.status = Status::Approver;
                    answer.band = Some(band(&rule));
                    answer.approver = Some(approver);
                    answer.holders = holders;
                    answer.line = Some(rule.line);
                    answer.note = answer
                        .note
                        .take()
                        .map(|n| format!("{n}: the highest band's approver"));
                    answer.rule_note = rule.note.clone();
                }
            }
            answer
        })
        .collect()
}

/// The action a change of a scenario branch asks for, decided on the eve of its date (in
/// force from the date, so approved before it), or None for a change that is not a decision
/// of the table (rename, classify, a recorded decision, a domain event):
///
/// | change | decision kinds (first one the table has) | unit | amount |
/// | --- | --- | --- | --- |
/// | create, acquired | acquisition | the parent | none |
/// | create | create, reorganisation | the parent | none |
/// | divest | divest, disposal | the unit | proceeds in the group's currency |
/// | spin_off | spin_off, disposal | the unit | none |
/// | stake | stake, disposal | the unit | proceeds in the group's currency |
/// | merge | merge, reorganisation | the survivor | none |
/// | split, move, close | split/move/close, reorganisation | the unit | none |
pub fn action_of_change(change: &holdco_core::Change, currency: &Currency) -> Option<Action> {
    let label = change
        .id
        .clone()
        .unwrap_or_else(|| format!("{} ({})", change.kind.name(), change.origin));
    let money = |proceeds: &Option<holdco_core::Money>| match proceeds {
        None => (None, Some("no proceeds stated".to_string())),
        Some(m) if &m.currency == currency => (Some(m.amount), None),
        Some(m) => (
            None,
            Some(format!(
                "proceeds in {}, not the group's {currency}",
                m.currency
            )),
        ),
    };
    let none = |what: &str| (None, Some(format!("a {what} states no amount")));
    let (unit, decisions, (amount, no_amount)): (UnitId, &[&str], _) = match &change.kind {
        ChangeKind::Create {
            parent: Some(parent),
            acquired,
            ..
        } => {
            if *acquired {
                (parent.clone(), &["acquisition"], none("acquisition"))
            } else {
                (
                    parent.clone(),
                    &["create", "reorganisation"],
                    none("creation"),
                )
            }
        }
        ChangeKind::Divest { unit, proceeds, .. } => {
            (unit.clone(), &["divest", "disposal"], money(proceeds))
        }
        ChangeKind::SpinOff { unit, .. } => {
            (unit.clone(), &["spin_off", "disposal"], none("spin-off"))
        }
        ChangeKind::Stake { unit, proceeds, .. } => {
            (unit.clone(), &["stake", "disposal"], money(proceeds))
        }
        ChangeKind::Merge { into, .. } => {
            (into.clone(), &["merge", "reorganisation"], none("merger"))
        }
        ChangeKind::Split { unit, .. } => {
            (unit.clone(), &["split", "reorganisation"], none("split"))
        }
        ChangeKind::Move { unit, .. } => (unit.clone(), &["move", "reorganisation"], none("move")),
        ChangeKind::Close { unit } => (unit.clone(), &["close", "reorganisation"], none("closure")),
        _ => return None,
    };
    Some(Action {
        what: format!("change {label}"),
        unit,
        decisions: decisions.iter().map(|d| d.to_string()).collect(),
        amount,
        no_amount,
        class: None,
        date: change.date.pred_opt().unwrap_or(change.date),
        tolerance: 0.0,
    })
}
