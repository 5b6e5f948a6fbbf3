//! Questions on the ledger: leaders and boards on a date, a person's history, moves, the
//! leadership pipeline, who approves a decision, and the governance check.

use crate::config::{PipelineTarget, Right};
use crate::ledger::{Ending, Holding, Ledger, Seat, Stay};
use crate::roster;
use chrono::{Datelike, NaiveDate};
use holdco_core::timeline::{HistoryEvent, Timeline, UnitIndex};
use holdco_core::{ChangeKind, Model, UnitId};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The unit a seat belongs to (a body's unit for a body seat).
pub fn seat_unit<'a>(ledger: &'a Ledger, seat: &'a Seat) -> Option<&'a UnitId> {
    match seat {
        Seat::Unit(u) => Some(u),
        Seat::Body(b) => ledger.config.bodies.get(b).map(|b| &b.unit),
    }
}

/// One role held on a date, as a table row.
#[derive(Debug, Clone, Serialize)]
pub struct LeaderRow {
    /// Unit id.
    pub unit: String,
    /// Unit name on the date.
    pub unit_name: String,
    /// Depth below the node asked for.
    pub depth: u32,
    /// Body id, for a seat on a body.
    pub body: Option<String>,
    /// Role kind id.
    pub role: String,
    /// Person id.
    pub person: String,
    /// Person name (the id when no name is recorded).
    pub name: String,
    /// Title as published.
    pub title: Option<String>,
    /// First day in the role.
    pub since: NaiveDate,
    /// Last day of the term, if limited.
    pub term_end: Option<NaiveDate>,
    /// Source of the appointment.
    pub source: Option<String>,
}

/// Errors of a question (the model is valid).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryError(pub String);

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn unit_on(timeline: &Timeline, id: &UnitId, date: NaiveDate) -> Result<UnitIndex, QueryError> {
    let index = timeline.unit(id).ok_or_else(|| {
        QueryError(format!(
            "unknown unit `{id}`; `holdco structure --at {date}` lists the units"
        ))
    })?;
    if !timeline.record(index).alive_on(date) {
        return Err(QueryError(format!(
            "unit `{id}` does not exist on {date}; `holdco history {id}` shows its life"
        )));
    }
    Ok(index)
}

/// One role held on a date, borrowing from the ledger and the timeline: the answer of
/// [`leaders`] (nothing copied per role held); [`Leader::to_row`] gives the owned row.
/// Serialises exactly as [`LeaderRow`].
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Leader<'a> {
    /// Unit id.
    pub unit: &'a str,
    /// Unit name on the date.
    pub unit_name: &'a str,
    /// Depth below the node asked for.
    pub depth: u32,
    /// Body id, for a seat on a body.
    pub body: Option<&'a str>,
    /// Role kind id.
    pub role: &'a str,
    /// Person id.
    pub person: &'a str,
    /// Person name (the id when no name is recorded).
    pub name: &'a str,
    /// Title as published.
    pub title: Option<&'a str>,
    /// First day in the role.
    pub since: NaiveDate,
    /// Last day of the term, if limited.
    pub term_end: Option<NaiveDate>,
    /// Source of the appointment.
    pub source: Option<&'a str>,
}

impl Leader<'_> {
    /// The owned row.
    pub fn to_row(&self) -> LeaderRow {
        LeaderRow {
            unit: self.unit.to_string(),
            unit_name: self.unit_name.to_string(),
            depth: self.depth,
            body: self.body.map(str::to_string),
            role: self.role.to_string(),
            person: self.person.to_string(),
            name: self.name.to_string(),
            title: self.title.map(str::to_string),
            since: self.since,
            term_end: self.term_end,
            source: self.source.map(str::to_string),
        }
    }
}

/// One role held on a date as [`as_of`] keeps it (12 bytes): the roster position of the
/// span, its unit and the unit's depth below the node asked for. [`AsOf::leader`] resolves
/// it into a [`Leader`] (ids, names, dates) when it is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// Position of the span in the roster ([`crate::roster::Roster::span`]).
    pub span: u32,
    /// The unit.
    pub unit: UnitIndex,
    /// Depth below the node asked for.
    pub depth: u32,
}

/// The leaders of one unit on a date by birth cohort: people holding a leadership role in
/// the unit itself or on one of its bodies, each counted once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UnitCohorts {
    /// The unit.
    pub unit: UnitIndex,
    /// Born in the cohort year or later.
    pub cohort: u32,
    /// Born before.
    pub older: u32,
    /// Birth year not published.
    pub unknown: u32,
}

impl UnitCohorts {
    /// People counted.
    pub fn leaders(&self) -> u32 {
        self.cohort + self.older + self.unknown
    }

    /// Shares of the cohort, the older and the unknown (sum to 1; the unit has leaders).
    pub fn shares(&self) -> [f64; 3] {
        let n = self.leaders().max(1) as f64;
        [self.cohort, self.older, self.unknown].map(|c| c as f64 / n)
    }
}

/// Who holds what on a date, and the cohorts of each unit's leaders, found in one pass
/// over the roster ([`as_of`]); rows are resolved into names only when read.
#[derive(Debug, Clone)]
pub struct AsOf<'a> {
    ledger: &'a Ledger,
    timeline: &'a Timeline<'a>,
    date: NaiveDate,
    /// Every role held, unit by unit in tree order, in listing order within a unit.
    pub held: Vec<Held>,
    /// Units with leaders, in tree order, with their leaders by cohort (empty when no
    /// cohort year was asked).
    pub cohorts: Vec<UnitCohorts>,
}

impl<'a> AsOf<'a> {
    /// The date asked.
    pub fn date(&self) -> NaiveDate {
        self.date
    }

    /// Number of roles held.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// True when nobody holds a role.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// One role held as a row borrowing the ledger's and the timeline's strings.
    pub fn leader(&self, held: &Held) -> Leader<'a> {
        let r = &self.ledger.roster;
        let span = r.span(held.span);
        let record = self.timeline.record(held.unit);
        let date_of = |d: i32| NaiveDate::from_num_days_from_ce_opt(d).unwrap_or(self.date);
        let (person, name) = match &span.who {
            Some((id, name)) => (&**id, &**name),
            None => (
                self.ledger.holdings[span.holding as usize].person.as_str(),
                "",
            ),
        };
        Leader {
            unit: record.id.as_str(),
            unit_name: record.name_on(self.date),
            depth: held.depth,
            body: match span.body {
                roster::NONE => None,
                b => Some(r.bodies[b as usize].as_str()),
            },
            role: r.role(span.role),
            person,
            name,
            title: r.text(span.title),
            since: date_of(span.since),
            term_end: (span.term_end != i32::MIN).then(|| date_of(span.term_end)),
            source: r.text(span.source),
        }
    }

    /// Every role held as rows, in order.
    pub fn leaders(&self) -> impl ExactSizeIterator<Item = Leader<'a>> + '_ {
        self.held.iter().map(|h| self.leader(h))
    }
}

/// Leaders and bodies on `date` below `node` (the group when None) and, with `born_from`,
/// each unit's leaders by birth cohort, in one pass: units in tree order, each unit's spans
/// read from the roster (8 bytes per span not held), a held span kept as a [`Held`] and, when
/// it is a leadership role, its person counted in the unit's cohorts unless already counted
/// there. Nothing is sorted, hashed or copied per role held.
pub fn as_of<'a>(
    ledger: &'a Ledger,
    timeline: &'a Timeline<'a>,
    date: NaiveDate,
    node: Option<&UnitId>,
    born_from: Option<i32>,
) -> Result<AsOf<'a>, QueryError> {
    let root = match node {
        Some(id) => unit_on(timeline, id, date)?,
        None => timeline.root,
    };
    let day = roster::day(date);
    let r = &ledger.roster;
    let days = r.days();
    let order = timeline.tree_order_on(date, root);
    let mut held = Vec::new();
    let mut cohorts = Vec::new();
    // People counted in the current unit (a unit has a handful of leaders).
    let mut counted: Vec<u32> = Vec::new();
    for (unit, depth) in order {
        let range = r.range(unit);
        let first = range.start as u32;
        let mut counts = [0u32; 3];
        counted.clear();
        for (i, &[from, until]) in days[range].iter().enumerate() {
            if from > day || day >= until {
                continue;
            }
            let span = first + i as u32;
            held.push(Held { span, unit, depth });
            let Some(born_from) = born_from else { continue };
            let hot = r.hot(span);
            if !hot.leadership || hot.person == roster::NONE || counted.contains(&hot.person) {
                continue;
            }
            counted.push(hot.person);
            counts[match hot.born {
                i32::MIN => 2,
                year if year >= born_from => 0,
                _ => 1,
            }] += 1;
        }
        if counts != [0; 3] {
            cohorts.push(UnitCohorts {
                unit,
                cohort: counts[0],
                older: counts[1],
                unknown: counts[2],
            });
        }
    }
    Ok(AsOf {
        ledger,
        timeline,
        date,
        held,
        cohorts,
    })
}

/// Leaders and bodies on `date`, unit by unit in tree order below `node` (the group when
/// None); within a unit its own seats, then each body by id, by role rank (chair, CEO,
/// president, CFO, heads, others, directors), first day and person id: [`as_of`]'s rows,
/// resolved.
pub fn leaders<'a>(
    ledger: &'a Ledger,
    timeline: &'a Timeline,
    date: NaiveDate,
    node: Option<&UnitId>,
) -> Result<Vec<Leader<'a>>, QueryError> {
    Ok(as_of(ledger, timeline, date, node, None)?
        .leaders()
        .collect())
}

/// [`leaders`] as owned rows.
pub fn leaders_on(
    ledger: &Ledger,
    timeline: &Timeline,
    date: NaiveDate,
    node: Option<&UnitId>,
) -> Result<Vec<LeaderRow>, QueryError> {
    Ok(leaders(ledger, timeline, date, node)?
        .iter()
        .map(Leader::to_row)
        .collect())
}

/// A body on a date.
#[derive(Debug, Clone, Serialize)]
pub struct BoardReport {
    /// Body id.
    pub body: String,
    /// Name.
    pub name: String,
    /// board or committee.
    pub kind: String,
    /// Seats, if limited.
    pub seats: Option<u32>,
    /// Directors seated.
    pub directors: u32,
    /// Independent directors seated.
    pub independent: u32,
    /// Fewest independent directors required (the body's own minimum, or a class policy's).
    pub min_independent: u32,
    /// Members on the date.
    pub members: Vec<LeaderRow>,
}

/// The bodies of `unit` on `date`.
pub fn board(
    ledger: &Ledger,
    timeline: &Timeline,
    unit: &UnitId,
    date: NaiveDate,
) -> Result<Vec<BoardReport>, QueryError> {
    unit_on(timeline, unit, date)?;
    let rows = leaders_on(ledger, timeline, date, Some(unit))?;
    let class = class_on(timeline, unit, date);
    let policy_min = class
        .as_ref()
        .and_then(|c| ledger.config.policies.iter().find(|p| &p.class == c))
        .map(|p| p.min_independent_directors)
        .unwrap_or(0);
    let mut out = Vec::new();
    for body in ledger.config.bodies.values().filter(|b| &b.unit == unit) {
        let members: Vec<LeaderRow> = rows
            .iter()
            .filter(|r| r.body.as_deref() == Some(body.id.as_str()))
            .cloned()
            .collect();
        let (directors, independent) = count_directors(ledger, &members);
        out.push(BoardReport {
            body: body.id.clone(),
            name: body.name.clone(),
            kind: body.kind.clone(),
            seats: body.seats,
            directors,
            independent,
            min_independent: if body.kind == "board" {
                body.min_independent.max(policy_min)
            } else {
                body.min_independent
            },
            members,
        });
    }
    Ok(out)
}

fn count_directors(ledger: &Ledger, members: &[LeaderRow]) -> (u32, u32) {
    let mut directors = 0;
    let mut independent = 0;
    for m in members {
        if let Some(role) = ledger.role(&m.role) {
            if role.director {
                directors += 1;
            }
            if role.independent {
                independent += 1;
            }
        }
    }
    (directors, independent)
}

/// The class of `unit` on `date`: its latest `classify` decision on or before the date.
pub fn class_on(timeline: &Timeline, unit: &UnitId, date: NaiveDate) -> Option<String> {
    timeline
        .changes
        .iter()
        .filter(|c| c.date <= date)
        .filter_map(|c| match &c.kind {
            ChangeKind::Classify { unit: u, class } if u == unit => Some(class.clone()),
            _ => None,
        })
        .next_back()
}

/// One role of a person's history.
#[derive(Debug, Clone, Serialize)]
pub struct RoleLine {
    /// Role kind id.
    pub role: String,
    /// Where it was held (the seats over time, joined by →).
    pub seat: String,
    /// First day.
    pub from: NaiveDate,
    /// First day no longer held.
    pub until: Option<NaiveDate>,
    /// Title.
    pub title: Option<String>,
    /// Why it ended, in words.
    pub ended: Option<String>,
    /// Source.
    pub source: Option<String>,
}

/// A person's record.
#[derive(Debug, Clone, Serialize)]
pub struct PersonReport {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Birth year, where published.
    pub birth_year: Option<i32>,
    /// First day in the group, where published.
    pub joined: Option<NaiveDate>,
    /// Day left, if they did.
    pub left: Option<NaiveDate>,
    /// The date the tenures are counted to.
    pub at: NaiveDate,
    /// Days in the group (never reset by a transfer or reorganisation; None when the
    /// first day is not published).
    pub group_tenure_days: Option<i64>,
    /// The unit on the date, if known.
    pub unit: Option<String>,
    /// Days in that unit.
    pub unit_tenure_days: Option<i64>,
    /// Roles, in order.
    pub roles: Vec<RoleLine>,
    /// Units, in order.
    pub units: Vec<Stay>,
    /// Source.
    pub source: Option<String>,
}

/// Describes an ending.
pub fn ending_text(ending: &Ending) -> String {
    match ending {
        Ending::SteppedDown => "stepped down".into(),
        Ending::Left => "left the group".into(),
        Ending::Reorganisation {
            what,
            needs_decision,
        } => {
            if *needs_decision {
                format!("{what} (needs a decision)")
            } else {
                what.clone()
            }
        }
    }
}

/// The record of person `id`, tenures counted to `date`.
pub fn person(ledger: &Ledger, id: &str, date: NaiveDate) -> Result<PersonReport, QueryError> {
    let index = *ledger.index.get(id).ok_or_else(|| {
        QueryError(format!(
            "unknown person `{id}`; `holdco people --at DATE` lists the people holding roles"
        ))
    })?;
    let p = &ledger.people[index];
    let roles = ledger.by_person[index]
        .iter()
        .map(|&h| &ledger.holdings[h])
        .map(|h| RoleLine {
            role: h.role.clone(),
            seat: h
                .path
                .iter()
                .map(|(_, s)| s.to_string())
                .collect::<Vec<_>>()
                .join(" → "),
            from: h.from,
            until: h.until,
            title: h.title.clone(),
            ended: h.ending.as_ref().map(ending_text),
            source: h.source.clone(),
        })
        .collect();
    let stay = ledger.stay_on(index, date);
    Ok(PersonReport {
        id: p.id.clone(),
        name: p.display().to_string(),
        birth_year: p.birth_year,
        joined: p.joined,
        left: ledger.left[index],
        at: date,
        group_tenure_days: ledger.group_tenure_days(index, date),
        unit: stay.and_then(|s| s.unit.as_ref().map(|u| u.to_string())),
        unit_tenure_days: ledger.unit_tenure_days(index, date),
        roles,
        units: ledger.stays[index].clone(),
        source: p.source.clone(),
    })
}

/// Transfers between `from` and `to` (inclusive), and how many kept the years of service.
pub fn moves(ledger: &Ledger, from: NaiveDate, to: NaiveDate) -> (Vec<crate::ledger::Move>, usize) {
    let list: Vec<_> = ledger
        .moves
        .iter()
        .filter(|m| from <= m.date && m.date <= to)
        .cloned()
        .collect();
    let kept = list.iter().filter(|m| m.kept_service).count();
    (list, kept)
}

/// Cohort counts of leaders in one scope on one date.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineRow {
    /// The unit (the group's root for the whole group).
    pub unit: String,
    /// Its name on the date.
    pub name: String,
    /// The date.
    pub date: NaiveDate,
    /// People holding at least one leadership role in the scope.
    pub leaders: usize,
    /// Of them, born in the cohort year or later.
    pub cohort: usize,
    /// Born before.
    pub older: usize,
    /// Birth year not published.
    pub unknown: usize,
    /// Shares of the three (sum to 1 when there are leaders).
    pub cohort_share: Option<f64>,
    /// Share born before.
    pub older_share: Option<f64>,
    /// Share unknown.
    pub unknown_share: Option<f64>,
}

/// Cohort counts of the leaders of each unit on a date (people holding a leadership role in
/// the unit itself or on one of its bodies; each counted once per unit), in one pass over
/// the roles held: (unit, cohort, older, unknown), units in index order.
pub fn cohorts_by_unit(
    ledger: &Ledger,
    timeline: &Timeline,
    date: NaiveDate,
    born_from: i32,
) -> Vec<(UnitIndex, u32, u32, u32)> {
    let _ = timeline;
    let day = roster::day(date);
    // The last unit each person was counted in (units are visited once, in order).
    let mut counted_in = vec![roster::NONE; ledger.people.len()];
    let mut out = Vec::new();
    for unit in ledger.roster.units() {
        let (mut cohort, mut older, mut unknown) = (0, 0, 0);
        for span in ledger.roster.hot_of_unit(unit) {
            if !span.leadership || !span.held_on(day) || span.person == roster::NONE {
                continue;
            }
            let seen = &mut counted_in[span.person as usize];
            if *seen == unit {
                continue;
            }
            *seen = unit;
            match span.born {
                i32::MIN => unknown += 1,
                year if year >= born_from => cohort += 1,
                _ => older += 1,
            }
        }
        if cohort + older + unknown > 0 {
            out.push((unit, cohort, older, unknown));
        }
    }
    out
}

/// The pipeline answer.
#[derive(Debug, Clone, Serialize)]
pub struct Pipeline {
    /// The cohort: born in this year or later.
    pub born_from: i32,
    /// The date asked.
    pub at: NaiveDate,
    /// Group (and per unit with `by_unit`) on the date.
    pub rows: Vec<PipelineRow>,
    /// The group on the same day of each earlier year with leaders, then the date.
    pub trajectory: Vec<PipelineRow>,
    /// The target, if governance.toml sets one.
    pub target: Option<PipelineTarget>,
    /// Target share less the cohort share on the date (positive: still to go).
    pub gap: Option<f64>,
}

fn pipeline_row(
    ledger: &Ledger,
    timeline: &Timeline,
    structure: &holdco_core::timeline::Structure,
    scope: UnitIndex,
    date: NaiveDate,
    born_from: i32,
) -> PipelineRow {
    let mut people: BTreeSet<&str> = BTreeSet::new();
    for h in ledger.held_on(date) {
        if !ledger.role(&h.role).is_some_and(|r| r.leadership) {
            continue;
        }
        let Some(unit) = seat_unit(ledger, h.seat_on(date)) else {
            continue;
        };
        let Some(index) = timeline.unit(unit) else {
            continue;
        };
        if structure.in_subtree(index, scope) {
            people.insert(h.person.as_str());
        }
    }
    let (mut cohort, mut older, mut unknown) = (0, 0, 0);
    for id in &people {
        match ledger.person(id).and_then(|p| p.birth_year) {
            Some(year) if year >= born_from => cohort += 1,
            Some(_) => older += 1,
            None => unknown += 1,
        }
    }
    let leaders = people.len();
    let share = |n: usize| (leaders > 0).then(|| n as f64 / leaders as f64);
    let record = timeline.record(scope);
    PipelineRow {
        unit: record.id.to_string(),
        name: record.name_on(date).to_string(),
        date,
        leaders,
        cohort,
        older,
        unknown,
        cohort_share: share(cohort),
        older_share: share(older),
        unknown_share: share(unknown),
    }
}

/// The share of leadership roles held by the cohort on `date`: the group (or the target's
/// unit), each unit below it with `by_unit`, the trajectory, and the gap to the target.
pub fn pipeline(
    ledger: &Ledger,
    timeline: &Timeline,
    date: NaiveDate,
    by_unit: bool,
    born_from: Option<i32>,
) -> Result<Pipeline, QueryError> {
    let target = ledger.config.pipeline.first().cloned();
    let born_from = born_from
        .or(target.as_ref().map(|t| t.born_from))
        .ok_or_else(|| {
            QueryError(
                "no cohort: give --born-from YEAR, or a [[pipeline]] target in governance.toml"
                    .into(),
            )
        })?;
    let scope = match target.as_ref().and_then(|t| t.unit.as_ref()) {
        Some(unit) => unit_on(timeline, unit, date)?,
        None => timeline.root,
    };
    let structure = timeline.structure_on(date);
    let mut rows = vec![pipeline_row(
        ledger, timeline, &structure, scope, date, born_from,
    )];
    if by_unit {
        // Units below the scope with at least one leader.
        for &child in &structure.children[scope as usize] {
            let row = pipeline_row(ledger, timeline, &structure, child, date, born_from);
            if row.leaders > 0 {
                rows.push(row);
            }
        }
    }
    let first = ledger.holdings.iter().map(|h| h.from).min();
    let mut trajectory = Vec::new();
    if let Some(first) = first {
        let mut year = first.year().max(date.year() - 10);
        while year < date.year() {
            // The same day of an earlier year (28 February for a 29th in a common year).
            let same_day = NaiveDate::from_ymd_opt(year, date.month(), date.day())
                .or_else(|| NaiveDate::from_ymd_opt(year, date.month(), 28));
            if let Some(day) = same_day {
                if day >= first {
                    let s = timeline.structure_on(day);
                    if s.alive[scope as usize] {
                        trajectory.push(pipeline_row(ledger, timeline, &s, scope, day, born_from));
                    }
                }
            }
            year += 1;
        }
    }
    trajectory.push(rows[0].clone());
    let gap = match (&target, rows[0].cohort_share) {
        (Some(t), Some(share)) if t.born_from == born_from => Some(t.share - share),
        _ => None,
    };
    Ok(Pipeline {
        born_from,
        at: date,
        rows,
        trajectory,
        target,
        gap,
    })
}

/// Who approves a decision.
#[derive(Debug, Clone, Serialize)]
pub struct RightAnswer {
    /// The unit.
    pub unit: String,
    /// Its class on the date (None when never classified).
    pub class: Option<String>,
    /// The row of the table that applies.
    pub rule: Right,
    /// The approving body or role, resolved: (seat, role or body).
    pub approver: String,
    /// Who holds the approving role, or sits on the approving body, on the date.
    pub holders: Vec<LeaderRow>,
}

/// The class of `unit` on `date`, or of its nearest classified ancestor.
pub fn class_above(
    timeline: &Timeline,
    structure: &holdco_core::timeline::Structure,
    unit: UnitIndex,
    date: NaiveDate,
) -> Option<String> {
    structure
        .ancestors(unit)
        .find_map(|u| class_on(timeline, &timeline.record(u).id, date))
}

/// The row of the decision-rights table for `decision` of `amount` on a unit of `class`:
/// class rows before `*` rows. Without an amount, the highest band that applies (the most
/// senior approver).
pub fn rule_for(
    rows: &[Right],
    decision: &str,
    amount: Option<f64>,
    class: Option<&str>,
) -> Result<Right, QueryError> {
    if !rows.iter().any(|r| r.decision == decision) {
        let known: BTreeSet<&str> = rows.iter().map(|r| r.decision.as_str()).collect();
        return Err(QueryError(format!(
            "no decision-rights row for `{decision}` (governance.toml [[rights]] knows: {})",
            if known.is_empty() {
                "nothing yet".to_string()
            } else {
                known.into_iter().collect::<Vec<_>>().join(", ")
            }
        )));
    }
    let fits = |r: &&Right| {
        r.decision == decision
            && amount.is_none_or(|amount| r.from <= amount && r.to.is_none_or(|t| amount < t))
    };
    let pick = |class: &str| {
        let rows = rows.iter().filter(fits).filter(|r| r.class == class);
        match amount {
            Some(_) => rows.min_by(|a, b| a.from.total_cmp(&b.from)),
            None => rows.max_by(|a, b| a.from.total_cmp(&b.from)),
        }
    };
    class
        .and_then(pick)
        .or_else(|| pick("*"))
        .cloned()
        .ok_or_else(|| {
            QueryError(format!(
                "no row of [[rights]] covers `{decision}`{} for class {} (add a band that covers it, or a class = \"*\" row)",
                amount.map(|a| format!(" of {a}")).unwrap_or_default(),
                class.unwrap_or("(none)")
            ))
        })
}

/// Who `rule` names for a decision about `unit` (alive in `structure`), and who holds that
/// role or sits on that body on `date`.
pub fn approver_of(
    ledger: &Ledger,
    timeline: &Timeline,
    structure: &holdco_core::timeline::Structure,
    unit: UnitIndex,
    rule: &Right,
    leaders: &[LeaderRow],
) -> (String, Vec<LeaderRow>) {
    if let Some(body) = rule.approver.strip_prefix("body:") {
        (
            format!("body {body}"),
            leaders
                .iter()
                .filter(|r| r.body.as_deref() == Some(body))
                .cloned()
                .collect(),
        )
    } else if rule.approver == "board" {
        // The unit's own board, else the nearest board above it.
        let board = structure.ancestors(unit).find_map(|u| {
            let id = &timeline.record(u).id;
            ledger
                .config
                .bodies
                .values()
                .find(|b| &b.unit == id && b.kind == "board")
        });
        match board {
            Some(b) => (
                format!("body {} (board of {})", b.id, b.unit),
                leaders
                    .iter()
                    .filter(|r| r.body.as_deref() == Some(b.id.as_str()))
                    .cloned()
                    .collect(),
            ),
            None => (
                "board (none recorded for the unit or above it)".into(),
                Vec::new(),
            ),
        }
    } else {
        let (role, seat) = match rule.approver.split_once('@') {
            Some((role, "group")) => (role, timeline.record(timeline.root).id.clone()),
            Some((role, other)) => (
                role,
                UnitId::parse(other).unwrap_or_else(|_| unit_id_fallback(timeline)),
            ),
            None => (rule.approver.as_str(), timeline.record(unit).id.clone()),
        };
        (
            format!("{role} of {seat}"),
            leaders
                .iter()
                .filter(|r| r.body.is_none() && r.role == role && r.unit == seat.as_str())
                .cloned()
                .collect(),
        )
    }
}

/// The row of the decision-rights table for `decision` and `amount` on `unit` (class rows
/// before `*` rows), with the approver resolved on `date`.
pub fn rights(
    ledger: &Ledger,
    timeline: &Timeline,
    unit: &UnitId,
    decision: &str,
    amount: f64,
    date: NaiveDate,
) -> Result<RightAnswer, QueryError> {
    let index = unit_on(timeline, unit, date)?;
    let structure = timeline.structure_on(date);
    let class = class_above(timeline, &structure, index, date);
    let rule = rule_for(
        &ledger.config.rights,
        decision,
        Some(amount),
        class.as_deref(),
    )?;
    let leaders = leaders_on(ledger, timeline, date, None)?;
    let (approver, holders) = approver_of(ledger, timeline, &structure, index, &rule, &leaders);
    Ok(RightAnswer {
        unit: unit.to_string(),
        class,
        rule,
        approver,
        holders,
    })
}

fn unit_id_fallback(timeline: &Timeline) -> UnitId {
    timeline.record(timeline.root).id.clone()
}

/// One breach found by the governance check.
#[derive(Debug, Clone, Serialize)]
pub struct Breach {
    /// Kind: vacant_role, policy_ceo, policy_board, independence, seats, term_expired,
    /// too_many_roles, review_overdue, plan_unit_ended, needs_decision, not_in_group.
    pub kind: String,
    /// The unit, body or person concerned.
    pub subject: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// Every breach of the rules on `date`.
pub fn check(ledger: &Ledger, timeline: &Timeline, model: &Model, date: NaiveDate) -> Vec<Breach> {
    let mut out = Vec::new();
    let mut breach = |kind: &str, subject: String, message: String| {
        out.push(Breach {
            kind: kind.into(),
            subject,
            message,
        })
    };
    let held: Vec<&Holding> = ledger.held_on(date).collect();
    // Vacant exclusive roles: held in a unit before the date, nobody holds them on it.
    let mut ever: BTreeMap<(String, String), NaiveDate> = BTreeMap::new();
    for h in &ledger.holdings {
        if h.from > date || !ledger.role(&h.role).is_some_and(|r| r.exclusive) {
            continue;
        }
        for (i, (d, seat)) in h.path.iter().enumerate() {
            if *d > date {
                break;
            }
            let end = h.path.get(i + 1).map(|(n, _)| *n).or(h.until);
            if let Seat::Unit(u) = seat {
                if let Some(end) = end.filter(|e| *e <= date) {
                    let entry = ever.entry((u.to_string(), h.role.clone())).or_insert(end);
                    *entry = (*entry).max(end);
                } else {
                    ever.insert((u.to_string(), h.role.clone()), NaiveDate::MAX);
                }
            }
        }
    }
    for ((unit, role), since) in &ever {
        if *since == NaiveDate::MAX {
            continue;
        }
        let alive = UnitId::parse(unit)
            .ok()
            .and_then(|u| timeline.unit(&u))
            .is_some_and(|u| timeline.record(u).alive_on(date));
        let filled = held.iter().any(|h| {
            h.role == *role && matches!(h.seat_on(date), Seat::Unit(u) if u.as_str() == unit)
        });
        if alive && !filled {
            breach(
                "vacant_role",
                unit.clone(),
                format!("{role} of {unit} has been vacant since {since}: appoint a successor (people.appoint)"),
            );
        }
    }
    // Class policies.
    let structure = timeline.structure_on(date);
    for (index, record) in timeline.units.iter().enumerate() {
        if !structure.alive[index] {
            continue;
        }
        let Some(class) = class_on(timeline, &record.id, date) else {
            continue;
        };
        let Some(policy) = ledger.config.policies.iter().find(|p| p.class == class) else {
            continue;
        };
        let unit = record.id.to_string();
        if policy.own_ceo
            && !held.iter().any(|h| {
                h.role == "ceo" && matches!(h.seat_on(date), Seat::Unit(u) if u == &record.id)
            })
        {
            breach("policy_ceo", unit.clone(), format!("{unit} is {class}, whose policy requires its own CEO; none holds the role on {date}"));
        }
        if policy.own_board {
            let boards: Vec<_> = ledger
                .config
                .bodies
                .values()
                .filter(|b| b.unit == record.id && b.kind == "board")
                .collect();
            if boards.is_empty() {
                breach("policy_board", unit.clone(), format!("{unit} is {class}, whose policy requires its own board; declare one as [[body]] in governance.toml and seat its directors"));
            }
            for b in boards {
                let independent = held
                    .iter()
                    .filter(|h| matches!(h.seat_on(date), Seat::Body(x) if x == &b.id))
                    .filter(|h| ledger.role(&h.role).is_some_and(|r| r.independent))
                    .count() as u32;
                if independent < policy.min_independent_directors {
                    breach("independence", b.id.clone(), format!("{} has {independent} independent director(s) on {date}; the {class} policy requires at least {}", b.id, policy.min_independent_directors));
                }
            }
        }
        if let Some(months) = policy.review_months {
            let classified = timeline
                .changes
                .iter()
                .filter(|c| c.date <= date)
                .filter(
                    |c| matches!(&c.kind, ChangeKind::Classify { unit: u, .. } if u == &record.id),
                )
                .map(|c| c.date)
                .next_back();
            if let Some(classified) = classified {
                let due = classified
                    .checked_add_months(chrono::Months::new(months))
                    .unwrap_or(NaiveDate::MAX);
                let decided = timeline.changes.iter().any(|c| {
                    c.date > classified
                        && c.date <= date
                        && matches!(&c.kind, ChangeKind::Decision { unit: u, .. } if u == &record.id)
                });
                if due < date && !decided {
                    breach("review_overdue", unit.clone(), format!("{unit} was classified {class} on {classified}; its review was due by {due} ({months} months) and no decision about it is recorded (add a `decision` change)"));
                }
            }
        }
    }
    // Bodies: independence and seats.
    for body in ledger.config.bodies.values() {
        let alive = timeline
            .unit(&body.unit)
            .is_some_and(|u| timeline.record(u).alive_on(date));
        if !alive {
            continue;
        }
        let members: Vec<&&Holding> = held
            .iter()
            .filter(|h| matches!(h.seat_on(date), Seat::Body(b) if b == &body.id))
            .collect();
        let independent = members
            .iter()
            .filter(|h| ledger.role(&h.role).is_some_and(|r| r.independent))
            .count() as u32;
        let directors = members
            .iter()
            .filter(|h| ledger.role(&h.role).is_some_and(|r| r.director))
            .count() as u32;
        if independent < body.min_independent && !members.is_empty() {
            breach("independence", body.id.clone(), format!("{} has {independent} independent director(s) on {date}, below its minimum of {}", body.id, body.min_independent));
        }
        if let Some(seats) = body.seats {
            if directors > seats {
                breach(
                    "seats",
                    body.id.clone(),
                    format!(
                        "{} seats {directors} directors on {date}, more than its {seats} seats",
                        body.id
                    ),
                );
            }
        }
    }
    // Terms and limits per person.
    let mut exclusive: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for h in &held {
        if let Some(end) = h.term_end {
            if end < date {
                breach("term_expired", h.person.clone(), format!("{}'s term as {} of {} ended on {end}; reappoint (people.appoint) or record the step-down", h.person, h.role, h.seat_on(date)));
            }
        }
        if ledger.role(&h.role).is_some_and(|r| r.exclusive) {
            exclusive
                .entry(h.person.as_str())
                .or_default()
                .push(format!("{} of {}", h.role, h.seat_on(date)));
        }
        if let Some(&p) = ledger.index.get(&h.person) {
            if !ledger.in_group(p, date) {
                breach("not_in_group", h.person.clone(), format!("{} holds {} of {} but is not in the group on {date} (left {}); record the step-down", h.person, h.role, h.seat_on(date), ledger.left[p].map(|d| d.to_string()).unwrap_or_default()));
            }
        }
    }
    if let Some(max) = ledger.config.max_exclusive_roles {
        for (person, roles) in exclusive {
            if roles.len() as u32 > max {
                breach("too_many_roles", person.to_string(), format!("{person} holds {} exclusive roles on {date} ({}); governance.toml allows {max}", roles.len(), roles.join(", ")));
            }
        }
    }
    // Roles ended by a reorganisation that need a decision nobody recorded since.
    for h in &ledger.holdings {
        if let Some(Ending::Reorganisation {
            what,
            needs_decision: true,
        }) = &h.ending
        {
            let Some(until) = h.until.filter(|u| *u <= date) else {
                continue;
            };
            let decided = ledger
                .holdings
                .iter()
                .any(|o| o.person == h.person && o.from >= until && o.from <= date);
            if !decided {
                breach("needs_decision", h.person.clone(), format!("{}'s role as {} of {} ended on {until}: {what}; appoint them to a role or record a decision", h.person, h.role, h.last_seat()));
            }
        }
    }
    // Incentive plans whose measured unit ended without lineage.
    for plan in &ledger.config.plans {
        for kpi in &plan.kpis {
            let Some(unit) = timeline.unit(&kpi.unit) else {
                continue;
            };
            let record = timeline.record(unit);
            let Some((end, _)) = record.ended else {
                continue;
            };
            if end > date || end > plan.period.last_day() {
                continue;
            }
            let without_lineage = record.events.iter().any(|e| {
                e.date == end
                    && matches!(
                        e.event,
                        HistoryEvent::Divested | HistoryEvent::Closed | HistoryEvent::LeftWith(_)
                    )
            });
            if without_lineage {
                breach("plan_unit_ended", plan.id.clone(), format!("plan {} measures {} of {}, which ended on {end} without a successor; amend the plan", plan.id, kpi.metric, kpi.unit));
            }
        }
    }
    let _ = model;
    out
}
