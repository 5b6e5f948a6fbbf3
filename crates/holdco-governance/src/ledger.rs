//! The people ledger: the people, their roles and their units over time, built by replaying
//! the `people.*` events of the timeline together with the reorganisations around them.
//!
//! Rules (docs/semantics.md, "Governance and people"):
//! - Events of one date apply after the structure changes of that date, step-downs and
//!   departures before transfers, transfers before appointments (file order within each),
//!   so a successor appointed on the day the predecessor steps down never overlaps.
//! - A role in a unit follows the unit through renames, moves and stake changes. When the
//!   unit is merged into another, the role follows into the survivor unless the survivor has
//!   a holder of the same exclusive role then: that role ends and is reported as needing a
//!   decision. When the unit is split and ends, or leaves the group, the role ends; a split
//!   needs a decision (which part?). A person's unit follows merges and splits (the part
//!   with the largest default share); a person whose unit leaves the group leaves with it.
//! - Tenure in the group counts from the first day in the group; no transfer or
//!   reorganisation resets it. Tenure in the unit counts from the arrival by joining or by a
//!   transfer; reorganisations of the unit keep it.

use crate::config::{Config, RoleKind};
use crate::events::{APPOINT, LEAVE, STEP_DOWN, TRANSFER};
use crate::people::Person;
use crate::roster::Roster;
use chrono::NaiveDate;
use holdco_core::extension;
use holdco_core::timeline::{HistoryEvent, Timeline, UnitIndex};
use holdco_core::{Change, ChangeKind, Diagnostic, UnitId};
use serde::Serialize;
use std::collections::HashMap;

/// Where a role is held.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Seat {
    /// In a unit (CEO of cloud_intelligence).
    Unit(UnitId),
    /// On a body of governance.toml (a director of alibaba_board).
    Body(String),
}

impl std::fmt::Display for Seat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Seat::Unit(u) => write!(f, "{u}"),
            Seat::Body(b) => write!(f, "body {b}"),
        }
    }
}

/// Why a role ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Ending {
    /// `people.step_down`, or a reappointment that started a new term.
    SteppedDown,
    /// The person left the group.
    Left,
    /// A reorganisation ended it.
    Reorganisation {
        /// What happened, in words.
        what: String,
        /// True when someone must decide what becomes of the role.
        needs_decision: bool,
    },
}

/// One person holding one role for a span of time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Holding {
    /// Person id.
    pub person: String,
    /// Role kind id.
    pub role: String,
    /// The seat when appointed.
    pub seat: Seat,
    /// The unit seats over time (a unit role follows merges): (from, seat).
    pub path: Vec<(NaiveDate, Seat)>,
    /// First day.
    pub from: NaiveDate,
    /// First day no longer held; None while held.
    pub until: Option<NaiveDate>,
    /// Last day of the term, if limited.
    pub term_end: Option<NaiveDate>,
    /// Title as published.
    pub title: Option<String>,
    /// Why it ended.
    pub ending: Option<Ending>,
    /// Source of the appointment.
    pub source: Option<String>,
    /// File and line of the appointment.
    pub origin: String,
}

impl Holding {
    /// True when held on `date`.
    pub fn held_on(&self, date: NaiveDate) -> bool {
        self.from <= date && self.until.is_none_or(|u| date < u)
    }
    /// The seat on `date`.
    pub fn seat_on(&self, date: NaiveDate) -> &Seat {
        self.path
            .iter()
            .rev()
            .find(|(d, _)| *d <= date)
            .map(|(_, s)| s)
            .unwrap_or(&self.seat)
    }
    /// The current (last) seat.
    pub fn last_seat(&self) -> &Seat {
        self.path.last().map(|(_, s)| s).unwrap_or(&self.seat)
    }
}

/// A span of time a person spent in one unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stay {
    /// The unit (None when not known).
    pub unit: Option<UnitId>,
    /// First day of this record.
    pub from: NaiveDate,
    /// Arrival in the unit by joining or transfer (a reorganisation keeps it).
    pub since: NaiveDate,
    /// First day no longer there.
    pub until: Option<NaiveDate>,
    /// How the person got there: joined, transfer, or what reorganisation carried them.
    pub how: String,
}

/// A transfer between units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Move {
    /// Effective date.
    pub date: NaiveDate,
    /// Person id.
    pub person: String,
    /// The unit left (None when not known).
    pub from: Option<UnitId>,
    /// The unit joined.
    pub to: UnitId,
    /// False when the employer reset the years of service.
    pub kept_service: bool,
    /// Tenure in the group on the day, in days (never reset; None when the first day is
    /// not published).
    pub group_tenure_days: Option<i64>,
}

/// Everything about the people of a model, replayed.
#[derive(Debug, Clone)]
pub struct Ledger {
    /// The people, in file order.
    pub people: Vec<Person>,
    /// Person id to index.
    pub index: HashMap<String, usize>,
    /// The configuration (roles, bodies, policies...).
    pub config: Config,
    /// Every role held, in appointment order.
    pub holdings: Vec<Holding>,
    /// Per person: stays in units, in order.
    pub stays: Vec<Vec<Stay>>,
    /// Per person: the day they left the group.
    pub left: Vec<Option<NaiveDate>>,
    /// Every transfer, in order.
    pub moves: Vec<Move>,
    /// Per person: their holdings, in appointment order.
    pub by_person: Vec<Vec<usize>>,
    /// The roles held as spans grouped by unit, for questions on a date.
    pub roster: Roster,
}

fn order_class(change: &Change) -> u8 {
    match &change.kind {
        ChangeKind::Event { event, .. } => match event.as_str() {
            STEP_DOWN | LEAVE => 1,
            TRANSFER => 2,
            APPOINT => 3,
            _ => 0,
        },
        _ => 0,
    }
}

impl Ledger {
    /// The person with this id.
    pub fn person(&self, id: &str) -> Option<&Person> {
        self.index.get(id).map(|&i| &self.people[i])
    }

    /// The role kind with this id.
    pub fn role(&self, id: &str) -> Option<&RoleKind> {
        self.config.roles.get(id)
    }

    /// True when the person is in the group on `date`.
    pub fn in_group(&self, person: usize, date: NaiveDate) -> bool {
        self.people[person].joined.is_none_or(|j| j <= date)
            && self.left[person].is_none_or(|l| date < l)
    }

    /// Days in the group on `date` (0 before joining; counting stops on leaving); None when
    /// the first day is not published.
    pub fn group_tenure_days(&self, person: usize, date: NaiveDate) -> Option<i64> {
        let end = match self.left[person] {
            Some(left) if left < date => left,
            _ => date,
        };
        let joined = self.people[person].joined?;
        Some((end - joined).num_days().max(0))
    }

    /// The stay of a person on `date`.
    pub fn stay_on(&self, person: usize, date: NaiveDate) -> Option<&Stay> {
        self.stays[person]
            .iter()
            .rev()
            .find(|s| s.from <= date && s.until.is_none_or(|u| date < u))
    }

    /// Days in the current unit on `date`, when the unit is known.
    pub fn unit_tenure_days(&self, person: usize, date: NaiveDate) -> Option<i64> {
        let stay = self.stay_on(person, date)?;
        stay.unit.as_ref()?;
        Some((date - stay.since).num_days().max(0))
    }

    /// The holdings held on `date`.
    pub fn held_on(&self, date: NaiveDate) -> impl Iterator<Item = &Holding> {
        self.holdings.iter().filter(move |h| h.held_on(date))
    }

    /// Replays the people events of `timeline` (a valid model's) with the people file and
    /// the configuration; every problem with file, line and field.
    pub fn build(
        people: Vec<Person>,
        config: Config,
        timeline: &Timeline,
        problems: &mut Vec<Diagnostic>,
    ) -> Ledger {
        let index: HashMap<String, usize> = people
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        let n = people.len();
        let mut ledger = Ledger {
            stays: people
                .iter()
                .map(|p| {
                    let from = p.joined.unwrap_or(NaiveDate::MIN);
                    vec![Stay {
                        unit: p.unit.clone(),
                        from,
                        since: from,
                        until: None,
                        how: "joined".into(),
                    }]
                })
                .collect(),
            people,
            index,
            config,
            holdings: Vec::new(),
            left: vec![None; n],
            moves: Vec::new(),
            by_person: Vec::new(),
            roster: Roster::default(),
        };
        for (i, person) in ledger.people.iter().enumerate() {
            if let (Some(unit), Some(joined)) = (&person.unit, person.joined) {
                let alive = timeline
                    .unit(unit)
                    .is_some_and(|u| timeline.record(u).alive_on(joined));
                if !alive {
                    problems.push(Diagnostic {
                        file: crate::people::PEOPLE_FILE.into(),
                        line: Some(person.line),
                        field: Some("unit".into()),
                        message: format!("unit `{unit}` does not exist on {joined}, the day `{}` joined; give a unit of that date or leave it empty", ledger.people[i].id),
                    });
                }
            }
        }
        let mut order: Vec<(usize, &Change)> =
            timeline.changes.iter().copied().enumerate().collect();
        order.sort_by_key(|(_, c)| (c.date, order_class(c)));
        // Units each change ended, by the change's position in replay order.
        let mut ended_by: HashMap<usize, Vec<UnitIndex>> = HashMap::new();
        for (index, record) in timeline.units.iter().enumerate() {
            if let Some((_, seq)) = record.ended {
                ended_by.entry(seq).or_default().push(index as UnitIndex);
            }
        }
        let mut active = Active::default();
        for (index, person) in ledger.people.iter().enumerate() {
            if let Some(unit) = &person.unit {
                active.here.entry(unit.clone()).or_default().push(index);
            }
        }
        for (seq, change) in order {
            match &change.kind {
                ChangeKind::Event { event, fields } => {
                    let at = |field: &str, message: String| {
                        Diagnostic::at(&change.origin, Some(field), message)
                    };
                    let Some(person_id) = extension::text(fields, "person") else {
                        continue;
                    };
                    let Some(&person) = ledger.index.get(person_id) else {
                        if matches!(event.as_str(), APPOINT | STEP_DOWN | LEAVE | TRANSFER) {
                            problems.push(at("person", format!("unknown person `{person_id}`; add a row to people.csv (id, name, birth_year, joined, unit, source) or correct the id")));
                        }
                        continue;
                    };
                    let date = change.date;
                    if let Some(year) = ledger.people[person].birth_year {
                        use chrono::Datelike;
                        if year > date.year() {
                            problems.push(Diagnostic {
                                file: crate::people::PEOPLE_FILE.into(),
                                line: Some(ledger.people[person].line),
                                field: Some("birth_year".into()),
                                message: format!("`{person_id}` is born in {year}, after the event on {date} ({}): a birth year in the future? Give the published year or leave it empty", change.origin),
                            });
                            continue;
                        }
                    }
                    match event.as_str() {
                        APPOINT => ledger.appoint(person, change, &mut active, timeline, problems),
                        STEP_DOWN => {
                            let role = extension::text(fields, "role").unwrap_or_default();
                            let seat = seat_of(fields);
                            let found = seat.as_ref().and_then(|seat| {
                                active
                                    .at_seat(role, seat)
                                    .iter()
                                    .copied()
                                    .find(|&h| ledger.holdings[h].person == person_id)
                            });
                            match found {
                                Some(h) => {
                                    active.remove(&ledger.holdings, &ledger.config, h);
                                    ledger.holdings[h].until = Some(date);
                                    ledger.holdings[h].ending = Some(Ending::SteppedDown);
                                }
                                None => problems.push(at("role", format!(
                                    "`{person_id}` does not hold {role} of {} on {date}; check the appointment before it, or the role and seat",
                                    seat.map(|s| s.to_string()).unwrap_or_default()
                                ))),
                            }
                        }
                        LEAVE => {
                            if !ledger.in_group(person, date) {
                                problems.push(at(
                                    "person",
                                    not_in_group(&ledger, person, date, "leave"),
                                ));
                                continue;
                            }
                            ledger.left[person] = Some(date);
                            ledger.end_stay(person, date, &mut active);
                            for h in active.of_person(person_id).to_vec() {
                                active.remove(&ledger.holdings, &ledger.config, h);
                                ledger.holdings[h].until = Some(date);
                                ledger.holdings[h].ending = Some(Ending::Left);
                            }
                        }
                        TRANSFER => {
                            if !ledger.in_group(person, date) {
                                problems.push(at(
                                    "person",
                                    not_in_group(&ledger, person, date, "transfer"),
                                ));
                                continue;
                            }
                            let Some(to) =
                                extension::text(fields, "to").and_then(|t| UnitId::parse(t).ok())
                            else {
                                continue;
                            };
                            let current = ledger.stays[person].last().and_then(|s| s.unit.clone());
                            if current.as_ref() == Some(&to) {
                                problems.push(at("to", format!("`{person_id}` is already in `{to}` on {date}; a transfer moves a person to another unit")));
                                continue;
                            }
                            let kept = extension::flag(fields, "reset_service") != Some(true);
                            ledger.moves.push(Move {
                                date,
                                person: person_id.to_string(),
                                from: current,
                                to: to.clone(),
                                kept_service: kept,
                                group_tenure_days: ledger.group_tenure_days(person, date),
                            });
                            ledger.set_stay(
                                person,
                                Some(to),
                                date,
                                true,
                                "transfer".into(),
                                &mut active,
                            );
                        }
                        _ => {}
                    }
                }
                ChangeKind::Merge { .. }
                | ChangeKind::Split { .. }
                | ChangeKind::Divest { .. }
                | ChangeKind::Close { .. }
                | ChangeKind::SpinOff { .. } => {
                    if let Some(units) = ended_by.get(&seq) {
                        ledger.follow_lineage(change, units, &mut active, timeline);
                    }
                }
                _ => {}
            }
        }
        ledger.by_person = vec![Vec::new(); ledger.people.len()];
        for (h, holding) in ledger.holdings.iter().enumerate() {
            if let Some(&p) = ledger.index.get(&holding.person) {
                ledger.by_person[p].push(h);
            }
        }
        let names: Vec<&str> = ledger.people.iter().map(|p| p.name.as_str()).collect();
        ledger.roster = Roster::build(
            &ledger.holdings,
            &ledger.index,
            &names,
            &ledger
                .people
                .iter()
                .map(|p| p.birth_year)
                .collect::<Vec<_>>(),
            &ledger.config,
            timeline,
        );
        ledger
    }

    /// Ends a person's open stay (they left the group).
    fn end_stay(&mut self, person: usize, date: NaiveDate, active: &mut Active) {
        if let Some(stay) = self.stays[person].last_mut() {
            if stay.until.is_none() {
                stay.until = Some(date);
                if let Some(unit) = &stay.unit {
                    remove_from(&mut active.here, unit, person);
                }
            }
        }
    }

    fn set_stay(
        &mut self,
        person: usize,
        unit: Option<UnitId>,
        date: NaiveDate,
        arrival: bool,
        how: String,
        active: &mut Active,
    ) {
        let stays = &mut self.stays[person];
        if let Some(old) = stays.last().and_then(|s| s.unit.as_ref()) {
            remove_from(&mut active.here, old, person);
        }
        if let Some(new) = &unit {
            active.here.entry(new.clone()).or_default().push(person);
        }
        let since = if arrival {
            date
        } else {
            stays.last().map(|s| s.since).unwrap_or(date)
        };
        if let Some(last) = stays.last_mut() {
            if last.from == date {
                // Same day: replace rather than leave an empty span.
                last.unit = unit;
                last.since = since;
                last.how = how;
                return;
            }
            last.until = Some(date);
        }
        stays.push(Stay {
            unit,
            from: date,
            since,
            until: None,
            how,
        });
    }

    fn appoint(
        &mut self,
        person: usize,
        change: &Change,
        active: &mut Active,
        timeline: &Timeline,
        problems: &mut Vec<Diagnostic>,
    ) {
        let ChangeKind::Event { fields, .. } = &change.kind else {
            return;
        };
        let at =
            |field: &str, message: String| Diagnostic::at(&change.origin, Some(field), message);
        let date = change.date;
        let person_id = self.people[person].id.clone();
        if !self.in_group(person, date) {
            problems.push(at(
                "person",
                not_in_group(self, person, date, "appointment"),
            ));
            return;
        }
        let role_id = extension::text(fields, "role")
            .unwrap_or_default()
            .to_string();
        let Some(role) = self.config.roles.get(&role_id).cloned() else {
            let known: Vec<&str> = self.config.roles.keys().map(String::as_str).collect();
            problems.push(at("role", format!("unknown role `{role_id}` (known: {}; declare others as [[role]] in governance.toml)", known.join(", "))));
            return;
        };
        let Some(seat) = seat_of(fields) else { return };
        if let Seat::Body(body) = &seat {
            match self.config.bodies.get(body) {
                None => {
                    let known: Vec<&str> = self.config.bodies.keys().map(String::as_str).collect();
                    problems.push(at(
                        "body",
                        format!(
                            "unknown body `{body}` (bodies of governance.toml: {})",
                            if known.is_empty() {
                                "none".to_string()
                            } else {
                                known.join(", ")
                            }
                        ),
                    ));
                    return;
                }
                Some(b) => {
                    let alive = timeline
                        .unit(&b.unit)
                        .is_some_and(|u| timeline.record(u).alive_on(date));
                    if !alive {
                        problems.push(at(
                            "body",
                            format!(
                                "body `{body}` governs `{}`, which does not exist on {date}",
                                b.unit
                            ),
                        ));
                        return;
                    }
                }
            }
        }
        let term_end = extension::date(fields, "term_end");
        if let (Some(end), Some(years)) = (term_end, self.config.max_term_years) {
            let limit = date
                .checked_add_months(chrono::Months::new(12 * years))
                .unwrap_or(NaiveDate::MAX);
            if end > limit {
                problems.push(at("term_end", format!("a term to {end} is longer than the {years} years governance.toml allows (max_term_years): end it by {limit}")));
                return;
            }
        }
        // A reappointment to the same seat starts a new term.
        if let Some(h) = active
            .at_seat(&role_id, &seat)
            .iter()
            .copied()
            .find(|&h| self.holdings[h].person == person_id)
        {
            active.remove(&self.holdings, &self.config, h);
            self.holdings[h].until = Some(date);
            self.holdings[h].ending = Some(Ending::SteppedDown);
        }
        if role.exclusive {
            if let Some(&other) = active.at_seat(&role_id, &seat).first() {
                let other = &self.holdings[other];
                problems.push(at("person", format!(
                    "{role_id} of {seat} is an exclusive role already held by `{}` since {} ({}); record `people.step_down` for them first (on or before {date})",
                    other.person, other.from, other.origin
                )));
                return;
            }
        }
        let h = self.holdings.len();
        self.holdings.push(Holding {
            person: person_id,
            role: role_id,
            path: vec![(date, seat.clone())],
            seat,
            from: date,
            until: None,
            term_end,
            title: extension::text(fields, "title").map(str::to_string),
            ending: None,
            source: change.source.clone(),
            origin: change.origin.to_string(),
        });
        active.insert(&self.holdings, &self.config, h);
    }

    /// Carries roles and people through a change that ended `units` (merge, split, divest,
    /// close, spin-off).
    fn follow_lineage(
        &mut self,
        change: &Change,
        units: &[UnitIndex],
        active: &mut Active,
        timeline: &Timeline,
    ) {
        let date = change.date;
        let name = |i: UnitIndex| timeline.record(i).id.clone();
        for &unit_index in units {
            let record = timeline.record(unit_index);
            let unit = record.id.clone();
            let Some(event) = record.events.iter().rev().find(|e| e.date == date) else {
                continue;
            };
            let event = event.event.clone();
            // Roles held in the unit or on its bodies, in appointment order.
            let mut here = active.in_unit(&unit).to_vec();
            here.sort_unstable();
            for h in here {
                let seat = self.holdings[h].last_seat().clone();
                let role = self.holdings[h].role.clone();
                let exclusive = self.config.roles.get(&role).is_some_and(|r| r.exclusive);
                let end = |what: String, needs_decision: bool| Ending::Reorganisation {
                    what,
                    needs_decision,
                };
                let outcome = match (&event, &seat) {
                    (HistoryEvent::MergedInto(into), Seat::Unit(_)) => {
                        let into = name(*into);
                        let target = Seat::Unit(into.clone());
                        if exclusive && !active.at_seat(&role, &target).is_empty() {
                            Err(end(
                                format!("{unit} merged into {into}, which already has a {role}"),
                                true,
                            ))
                        } else {
                            Ok(target)
                        }
                    }
                    (HistoryEvent::MergedInto(into), Seat::Body(_)) => Err(end(
                        format!("{unit}, whose body it was, merged into {}", name(*into)),
                        true,
                    )),
                    (HistoryEvent::Split(parts), _) => Err(end(
                        format!(
                            "{unit} split into {}",
                            parts
                                .iter()
                                .map(|(i, _)| name(*i).to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        true,
                    )),
                    (HistoryEvent::Divested, _) => {
                        Err(end(format!("{unit} left the group (divested)"), false))
                    }
                    (HistoryEvent::Closed, _) => Err(end(format!("{unit} closed"), true)),
                    (HistoryEvent::LeftWith(a), _) => Err(end(
                        format!("{unit} left the group with {}", name(*a)),
                        false,
                    )),
                };
                active.remove(&self.holdings, &self.config, h);
                match outcome {
                    Ok(target) => {
                        self.holdings[h].path.push((date, target));
                        active.insert(&self.holdings, &self.config, h);
                    }
                    Err(ending) => {
                        self.holdings[h].until = Some(date);
                        self.holdings[h].ending = Some(ending);
                    }
                }
            }
            // People whose unit it was.
            let mut people = active.here.get(&unit).cloned().unwrap_or_default();
            people.sort_unstable();
            for person in people {
                match &event {
                    HistoryEvent::MergedInto(into) => {
                        self.set_stay(
                            person,
                            Some(name(*into)),
                            date,
                            false,
                            format!("{unit} merged into {}", name(*into)),
                            active,
                        );
                    }
                    HistoryEvent::Split(parts) => {
                        let best = parts
                            .iter()
                            .max_by(|a, b| {
                                let sa = a.1.shares.default.unwrap_or(0.0);
                                let sb = b.1.shares.default.unwrap_or(0.0);
                                sa.partial_cmp(&sb)
                                    .unwrap_or(std::cmp::Ordering::Equal)
                                    .then(b.0.cmp(&a.0))
                            })
                            .map(|(i, _)| name(*i));
                        self.set_stay(
                            person,
                            best.clone(),
                            date,
                            false,
                            format!(
                                "{unit} split; its largest part {}",
                                best.map(|b| b.to_string()).unwrap_or_default()
                            ),
                            active,
                        );
                    }
                    HistoryEvent::Closed => {
                        let parent = record.parent_on(date.pred_opt().unwrap_or(date)).map(name);
                        self.set_stay(
                            person,
                            parent,
                            date,
                            false,
                            format!("{unit} closed; its parent"),
                            active,
                        );
                    }
                    HistoryEvent::Divested | HistoryEvent::LeftWith(_) => {
                        self.left[person] = Some(date);
                        self.end_stay(person, date, active);
                    }
                }
            }
        }
    }
}

/// Active holdings and people, indexed for the replay.
#[derive(Default)]
struct Active {
    /// (role, seat) -> holdings.
    by_seat: HashMap<(String, Seat), Vec<usize>>,
    /// Person id -> holdings.
    by_person: HashMap<String, Vec<usize>>,
    /// Unit of the seat (a body's unit for a body seat) -> holdings.
    by_unit: HashMap<UnitId, Vec<usize>>,
    /// Unit -> people whose open stay is there.
    here: HashMap<UnitId, Vec<usize>>,
}

fn remove_from<K, Q>(map: &mut HashMap<K, Vec<usize>>, key: &Q, value: usize)
where
    K: std::hash::Hash + Eq + std::borrow::Borrow<Q>,
    Q: std::hash::Hash + Eq + ?Sized,
{
    if let Some(list) = map.get_mut(key) {
        if let Some(pos) = list.iter().position(|v| *v == value) {
            list.swap_remove(pos);
        }
    }
}

impl Active {
    fn seat_unit(config: &Config, seat: &Seat) -> Option<UnitId> {
        match seat {
            Seat::Unit(u) => Some(u.clone()),
            Seat::Body(b) => config.bodies.get(b).map(|b| b.unit.clone()),
        }
    }

    fn insert(&mut self, holdings: &[Holding], config: &Config, h: usize) {
        let holding = &holdings[h];
        let seat = holding.last_seat().clone();
        if let Some(unit) = Self::seat_unit(config, &seat) {
            self.by_unit.entry(unit).or_default().push(h);
        }
        self.by_seat
            .entry((holding.role.clone(), seat))
            .or_default()
            .push(h);
        self.by_person
            .entry(holding.person.clone())
            .or_default()
            .push(h);
    }

    /// Removes `h` (before its seat changes: the keys are its current seat).
    fn remove(&mut self, holdings: &[Holding], config: &Config, h: usize) {
        let holding = &holdings[h];
        let seat = holding.last_seat().clone();
        if let Some(unit) = Self::seat_unit(config, &seat) {
            remove_from(&mut self.by_unit, &unit, h);
        }
        remove_from(&mut self.by_seat, &(holding.role.clone(), seat), h);
        remove_from(&mut self.by_person, holding.person.as_str(), h);
    }

    fn at_seat(&self, role: &str, seat: &Seat) -> &[usize] {
        self.by_seat
            .get(&(role.to_string(), seat.clone()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    fn of_person(&self, person: &str) -> &[usize] {
        self.by_person.get(person).map(Vec::as_slice).unwrap_or(&[])
    }

    fn in_unit(&self, unit: &UnitId) -> &[usize] {
        self.by_unit.get(unit).map(Vec::as_slice).unwrap_or(&[])
    }
}

fn seat_of(fields: &extension::EventFields) -> Option<Seat> {
    if let Some(unit) = extension::text(fields, "unit") {
        return UnitId::parse(unit).ok().map(Seat::Unit);
    }
    extension::text(fields, "body").map(|b| Seat::Body(b.to_string()))
}

fn not_in_group(ledger: &Ledger, person: usize, date: NaiveDate, what: &str) -> String {
    let p = &ledger.people[person];
    match ledger.left[person] {
        Some(left) if left <= date => format!(
            "`{}` left the group on {left}; the {what} on {date} needs them in the group (correct the date, or the person)",
            p.id
        ),
        _ => format!(
            "`{}` joins the group on {} (people.csv line {}), after the {what} on {date}; correct the date, or the first day in people.csv",
            p.id,
            p.joined.map(|d| d.to_string()).unwrap_or_default(),
            p.line
        ),
    }
}
