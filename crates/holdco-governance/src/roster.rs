//! The roster: every role held, as compact spans grouped by unit, built once with the
//! ledger so that "who holds what on a date" is a scan of small records rather than a walk
//! over the holdings with their strings.
//!
//! A holding whose role follows a merge has one span per seat (its `path`). The spans of a
//! unit (its own seats and the seats on its bodies) are contiguous and kept in the order
//! [`crate::queries::leaders_on`] lists them: unit seats first, then each body by id; within
//! that by role rank (chair, CEO, president, CFO, heads, others, directors), first day,
//! person id and appointment order. An as-of question then reads each unit's spans' days
//! (8 bytes a span) and keeps the positions of those with `from <= date < until`: no
//! sorting, no hashing and no allocation per role held.

use crate::ledger::{Holding, Seat};
use chrono::{Datelike, NaiveDate};
use holdco_core::timeline::{Timeline, UnitIndex};
use std::collections::HashMap;
use std::sync::Arc;

/// No person / no body.
pub(crate) const NONE: u32 = u32::MAX;

/// One seat of one holding over a span of days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// First day (days from the common era).
    pub from: i32,
    /// First day no longer held (`i32::MAX` while held).
    pub until: i32,
    /// The holding ([`crate::ledger::Ledger::holdings`]).
    pub holding: u32,
    /// The person's index in the ledger (`u32::MAX` when unknown).
    pub person: u32,
    /// The body's position among governance.toml's bodies (by id), `u32::MAX` for a seat in
    /// the unit itself.
    pub body: u32,
    /// True for a leadership role.
    pub leadership: bool,
    /// The role's position in [`Roster::role`].
    pub role: u16,
    /// The holding's first day (days from the common era).
    pub since: i32,
    /// The last day of its term (`i32::MIN` when not limited).
    pub term_end: i32,
    /// The title, as [`Roster::text`] (`u32::MAX` when none).
    pub title: u32,
    /// The source, as [`Roster::text`] (`u32::MAX` when none).
    pub source: u32,
    /// The person's id and name (the id when no name is recorded), shared with every span
    /// of the person: a row reads them here, in the order the spans are read, rather than
    /// from a table in the person's order.
    pub who: Option<(Arc<str>, Arc<str>)>,
}

/// The part of a held span the cohort counts read (the scan itself reads only
/// [`Roster::days`]; the rest of the span is read when a row is resolved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hot {
    /// First day (days from the common era).
    pub from: i32,
    /// First day no longer held (`i32::MAX` while held).
    pub until: i32,
    /// The person's index (`u32::MAX` when unknown).
    pub person: u32,
    /// The person's birth year (`i32::MIN` when not published).
    pub born: i32,
    /// True for a leadership role.
    pub leadership: bool,
}

impl Hot {
    /// True when held on the day `day` (days from the common era).
    #[inline]
    pub fn held_on(&self, day: i32) -> bool {
        self.from <= day && day < self.until
    }
}

impl Span {
    /// True when held on the day `day` (days from the common era).
    #[inline]
    pub fn held_on(&self, day: i32) -> bool {
        self.from <= day && day < self.until
    }
}

/// Days from the common era, the roster's date form.
pub fn day(date: NaiveDate) -> i32 {
    date.num_days_from_ce()
}

/// Spans grouped by unit index, in listing order.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    /// Unit `u`'s spans are `spans[start[u]..start[u + 1]]`.
    start: Vec<u32>,
    spans: Vec<Span>,
    /// The same spans' cohort part, in the same order (read for the spans held).
    hot: Vec<Hot>,
    /// The same spans' days (first day, first day no longer held): all an as-of scan
    /// reads for a span it does not keep (8 bytes).
    when: Vec<[i32; 2]>,
    /// Bodies by id, as `body` counts them.
    pub bodies: Vec<String>,
    /// Role ids, as `role` counts them.
    roles: Vec<String>,
    /// Every distinct title and source.
    texts: Vec<Box<str>>,
}

/// Rank of a role for listing: chair, CEO, president, CFO, heads, others, directors; ties
/// by id.
pub(crate) fn role_rank(role: &str) -> (u8, &str) {
    let rank = match role {
        "chair" => 0,
        "ceo" => 1,
        "president" => 2,
        "cfo" => 3,
        "head_of_business_group" => 4,
        "director_executive" => 6,
        "director_non_executive" => 7,
        "director_independent" => 8,
        _ => 5,
    };
    (rank, role)
}

impl Roster {
    /// Builds the roster of `holdings` (of a ledger replayed on `timeline`).
    pub(crate) fn build(
        holdings: &[Holding],
        person_index: &HashMap<String, usize>,
        names: &[&str],
        born: &[Option<i32>],
        config: &crate::config::Config,
        timeline: &Timeline,
    ) -> Roster {
        let bodies: Vec<String> = config.bodies.keys().cloned().collect();
        let body_rank: HashMap<&str, u32> = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| (b.as_str(), i as u32))
            .collect();
        // Ranks of person ids and role ids, so the listing order is a tuple of integers.
        let mut ids: Vec<(&str, usize)> = person_index
            .iter()
            .map(|(id, &i)| (id.as_str(), i))
            .collect();
        ids.sort_unstable();
        let mut person_rank = vec![NONE; person_index.len()];
        for (rank, (_, i)) in ids.iter().enumerate() {
            person_rank[*i] = rank as u32;
        }
        let mut who: Vec<Option<(Arc<str>, Arc<str>)>> = vec![None; person_index.len()];
        for (id, &i) in person_index {
            let id: Arc<str> = Arc::from(id.as_str());
            let name = match names.get(i).copied().unwrap_or_default() {
                "" => id.clone(),
                name => Arc::from(name),
            };
            who[i] = Some((id, name));
        }
        let mut texts: Vec<Box<str>> = Vec::new();
        let mut text_ix: HashMap<&str, u32> = HashMap::new();
        let mut roles: Vec<&str> = holdings.iter().map(|h| h.role.as_str()).collect();
        roles.sort_unstable();
        roles.dedup();
        roles.sort_by_key(|r| role_rank(r));
        let role_ix: HashMap<&str, u32> = roles
            .iter()
            .enumerate()
            .map(|(i, r)| (*r, i as u32))
            .collect();
        // (unit, body, role, first day, person rank, holding) per span, then sorted.
        let mut keyed: Vec<([u32; 6], Span)> = Vec::with_capacity(holdings.len());
        let mut unit_cache: HashMap<&holdco_core::UnitId, Option<UnitIndex>> = HashMap::new();
        for (h, holding) in holdings.iter().enumerate() {
            let person = person_index
                .get(&holding.person)
                .map(|&p| p as u32)
                .unwrap_or(NONE);
            let leadership = config
                .roles
                .get(&holding.role)
                .is_some_and(|r| r.leadership);
            let until = holding.until.map(day).unwrap_or(i32::MAX);
            let role = role_ix[holding.role.as_str()];
            let [title, source] = [&holding.title, &holding.source].map(|text| match text {
                None => NONE,
                Some(text) => *text_ix.entry(text.as_str()).or_insert_with(|| {
                    texts.push(text.as_str().into());
                    (texts.len() - 1) as u32
                }),
            });
            for (i, (from, seat)) in holding.path.iter().enumerate() {
                let end = holding
                    .path
                    .get(i + 1)
                    .map(|(d, _)| day(*d))
                    .unwrap_or(until);
                let (unit_id, body) = match seat {
                    Seat::Unit(u) => (u, NONE),
                    Seat::Body(b) => match config.bodies.get(b) {
                        Some(body) => (&body.unit, body_rank[b.as_str()]),
                        None => continue,
                    },
                };
                let unit = *unit_cache
                    .entry(unit_id)
                    .or_insert_with(|| timeline.unit(unit_id));
                let Some(unit) = unit else { continue };
                let span = Span {
                    from: day(*from),
                    until: end,
                    holding: h as u32,
                    person,
                    body,
                    leadership,
                    role: role as u16,
                    since: day(holding.from),
                    term_end: holding.term_end.map(day).unwrap_or(i32::MIN),
                    title,
                    source,
                    who: who.get(person as usize).cloned().flatten(),
                };
                let rank = person_rank.get(person as usize).copied().unwrap_or(NONE);
                keyed.push((
                    [
                        unit,
                        // Unit seats before bodies.
                        body.wrapping_add(1),
                        role,
                        // Day numbers of real dates are positive.
                        day(holding.from) as u32,
                        rank,
                        h as u32,
                    ],
                    span,
                ));
            }
        }
        keyed.sort_unstable_by_key(|(k, _)| *k);
        let n = timeline.units.len();
        let mut start = vec![0u32; n + 1];
        for (k, _) in &keyed {
            start[k[0] as usize + 1] += 1;
        }
        for u in 0..n {
            start[u + 1] += start[u];
        }
        let spans: Vec<Span> = keyed.into_iter().map(|(_, s)| s).collect();
        let when = spans.iter().map(|s| [s.from, s.until]).collect();
        let hot = spans
            .iter()
            .map(|s| Hot {
                from: s.from,
                until: s.until,
                person: s.person,
                born: born
                    .get(s.person as usize)
                    .copied()
                    .flatten()
                    .unwrap_or(i32::MIN),
                leadership: s.leadership,
            })
            .collect();
        Roster {
            start,
            spans,
            hot,
            when,
            bodies,
            roles: roles.iter().map(|r| r.to_string()).collect(),
            texts,
        }
    }

    /// A role id by its position.
    pub fn role(&self, role: u16) -> &str {
        &self.roles[role as usize]
    }

    /// A title or source by its position (None for `u32::MAX`).
    pub fn text(&self, text: u32) -> Option<&str> {
        self.texts.get(text as usize).map(|t| &**t)
    }

    /// Every span of unit `unit` (its seats and its bodies'), in listing order.
    pub fn of_unit(&self, unit: UnitIndex) -> &[Span] {
        let u = unit as usize;
        match (self.start.get(u), self.start.get(u + 1)) {
            (Some(&a), Some(&b)) => &self.spans[a as usize..b as usize],
            _ => &[],
        }
    }

    /// The scanned part of unit `unit`'s spans, in the same order as [`Roster::of_unit`].
    pub fn hot_of_unit(&self, unit: UnitIndex) -> &[Hot] {
        let u = unit as usize;
        match (self.start.get(u), self.start.get(u + 1)) {
            (Some(&a), Some(&b)) => &self.hot[a as usize..b as usize],
            _ => &[],
        }
    }

    /// The positions of unit `unit`'s spans (in [`Roster::span`], [`Roster::hot`] and
    /// [`Roster::days`]).
    #[inline]
    pub fn range(&self, unit: UnitIndex) -> std::ops::Range<usize> {
        let u = unit as usize;
        match (self.start.get(u), self.start.get(u + 1)) {
            (Some(&a), Some(&b)) => a as usize..b as usize,
            _ => 0..0,
        }
    }

    /// The first day and the first day no longer held of every span, by position.
    #[inline]
    pub fn days(&self) -> &[[i32; 2]] {
        &self.when
    }

    /// The span at a position.
    #[inline]
    pub fn span(&self, position: u32) -> &Span {
        &self.spans[position as usize]
    }

    /// The cohort part of the span at a position.
    #[inline]
    pub fn hot(&self, position: u32) -> &Hot {
        &self.hot[position as usize]
    }

    /// The spans of unit `unit` held on the day `day` (days from the common era), in
    /// listing order.
    pub fn held(&self, unit: UnitIndex, day: i32) -> impl Iterator<Item = &Span> + '_ {
        let u = unit as usize;
        let (a, b) = match (self.start.get(u), self.start.get(u + 1)) {
            (Some(&a), Some(&b)) => (a as usize, b as usize),
            _ => (0, 0),
        };
        self.hot[a..b]
            .iter()
            .zip(&self.spans[a..b])
            .filter(move |(h, _)| h.held_on(day))
            .map(|(_, s)| s)
    }

    /// Units with at least one span, in index order.
    pub fn units(&self) -> impl Iterator<Item = UnitIndex> + '_ {
        self.start
            .windows(2)
            .enumerate()
            .filter(|(_, w)| w[0] < w[1])
            .map(|(u, _)| u as UnitIndex)
    }

    /// Number of spans.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when nobody ever held a role.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}
