//! Questions about people (the governance domain, `holdco-governance`) on a snapshot: who
//! holds which role on a date, the bodies of a unit, a person's record. The ledger is built
//! once per snapshot, on the first question. A front end that limits what a caller sees (the
//! server's scoped tokens) passes a predicate saying which units on which dates it may see;
//! the filtering itself is here, so every front end filters alike.

use crate::Snapshot;
use chrono::NaiveDate;
use holdco_core::UnitId;
use holdco_governance::ledger::{Ledger, Seat};
use holdco_governance::queries::{self, BoardReport, LeaderRow, PersonReport};

/// Why a question about people cannot be answered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PeopleError {
    /// The model has no people file nor people events.
    #[error("the model has no people: add people.csv and `people.appoint` events (docs/format.md, \"people.csv\") and import it again")]
    NoPeople,
    /// The governance files have problems (a valid store never holds such a model).
    #[error("{count} problem(s) in the governance files (first: {first})")]
    Problems {
        /// How many.
        count: usize,
        /// The first one.
        first: String,
    },
    /// The question names an unknown unit or person, or a unit not alive on the date.
    #[error("{0}")]
    Question(String),
}

/// The people ledger of the snapshot's model, built on first use.
pub fn ledger(snapshot: &Snapshot) -> Result<&Ledger, PeopleError> {
    snapshot
        .ledger
        .get_or_init(|| {
            let model = snapshot.model();
            if !holdco_governance::in_use(model) {
                return Err(PeopleError::NoPeople);
            }
            let (ledger, problems) = holdco_governance::load(model, snapshot.engine().timeline());
            match problems.first() {
                Some(first) => Err(PeopleError::Problems {
                    count: problems.len(),
                    first: first.to_string(),
                }),
                None => Ok(ledger),
            }
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn question(error: queries::QueryError) -> PeopleError {
    PeopleError::Question(error.0)
}

/// Roles held on `date` below `node` (the group when `None`), in tree order: the CLI's
/// `holdco people --at DATE [--unit U]`.
pub fn leaders(
    snapshot: &Snapshot,
    date: NaiveDate,
    node: Option<&UnitId>,
) -> Result<Vec<LeaderRow>, PeopleError> {
    let ledger = ledger(snapshot)?;
    queries::leaders_on(ledger, snapshot.engine().timeline(), date, node).map_err(question)
}

/// The bodies of `unit` on `date` with their members: the CLI's `holdco board`.
pub fn board(
    snapshot: &Snapshot,
    unit: &UnitId,
    date: NaiveDate,
) -> Result<Vec<BoardReport>, PeopleError> {
    let ledger = ledger(snapshot)?;
    queries::board(ledger, snapshot.engine().timeline(), unit, date).map_err(question)
}

/// A person's record with tenures counted to `date`: the CLI's `holdco person`.
pub fn person(snapshot: &Snapshot, id: &str, date: NaiveDate) -> Result<PersonReport, PeopleError> {
    queries::person(ledger(snapshot)?, id, date).map_err(question)
}

/// A person's record as seen by someone who sees only the units `seen` accepts (a unit and
/// a date): only the roles whose every seat was seen on the day the role took it, and only
/// the stays in seen units; `None` when no role of the person is seen (the person is then
/// not theirs to see at all).
pub fn person_seen(
    snapshot: &Snapshot,
    id: &str,
    date: NaiveDate,
    seen: impl Fn(&UnitId, NaiveDate) -> bool,
) -> Result<Option<PersonReport>, PeopleError> {
    let ledger = ledger(snapshot)?;
    let mut report = queries::person(ledger, id, date).map_err(question)?;
    let index = ledger.index[id];
    let holdings = &ledger.by_person[index];
    let kept: Vec<bool> = holdings
        .iter()
        .map(|&h| {
            let holding = &ledger.holdings[h];
            !holding.path.is_empty()
                && holding.path.iter().all(|(from, seat)| {
                    seat_unit(ledger, seat).is_some_and(|unit| seen(unit, *from))
                })
        })
        .collect();
    if !kept.iter().any(|k| *k) || kept.len() != report.roles.len() {
        return Ok(None);
    }
    let mut keep = kept.iter();
    report.roles.retain(|_| *keep.next().unwrap_or(&false));
    report
        .units
        .retain(|stay| stay.unit.as_ref().is_some_and(|u| seen(u, stay.from)));
    if !report
        .unit
        .as_deref()
        .and_then(|u| UnitId::parse(u).ok())
        .is_some_and(|u| seen(&u, date))
    {
        report.unit = None;
        report.unit_tenure_days = None;
    }
    Ok(Some(report))
}

fn seat_unit<'a>(ledger: &'a Ledger, seat: &'a Seat) -> Option<&'a UnitId> {
    queries::seat_unit(ledger, seat)
}
