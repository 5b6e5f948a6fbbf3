//! Synthetic people and role events for a generated group (`holdco gen --people N`, the P7
//! benchmark): deterministic from the seed (core's SplitMix64), and valid: events the
//! replay refuses (a role that followed a merge elsewhere, say) are dropped until the
//! ledger replays without a problem.

use crate::config::Config;
use crate::events::{APPOINT, STEP_DOWN, TRANSFER};
use crate::ledger::Ledger;
use crate::people::{write_people, Person};
use chrono::{Datelike, Days, NaiveDate};
use holdco_core::synth::SplitMix;
use holdco_core::timeline::Timeline;
use holdco_core::{Change, ChangeKind, EventValue, Origin, UnitId};
use std::collections::{BTreeMap, HashMap};

/// The generated people and events.
pub struct SynthPeople {
    /// The people.
    pub people: Vec<Person>,
    /// people.csv.
    pub people_csv: String,
    /// The `people.*` events, in date order.
    pub events: Vec<Change>,
}

const EXCLUSIVE: [&str; 5] = ["ceo", "chair", "cfo", "president", "head_of_business_group"];
const DIRECTORS: [&str; 3] = [
    "director_independent",
    "director_executive",
    "director_non_executive",
];

fn event(date: NaiveDate, kind: &str, fields: &[(&str, EventValue)], line: u32) -> Change {
    Change {
        id: None,
        date,
        kind: ChangeKind::Event {
            event: kind.to_string(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<BTreeMap<_, _>>(),
        },
        note: None,
        source: None,
        origin: Origin {
            file: "timeline.toml".into(),
            line,
        },
    }
}

/// `people` people and about `events` role events over the life of `timeline` (appointments,
/// step-downs and transfers; exclusive roles stepped down before they are filled again).
pub fn synth_people(
    model: &holdco_core::Model,
    timeline: &Timeline,
    people: usize,
    events: usize,
    seed: u64,
) -> SynthPeople {
    let mut rng = SplitMix::new(seed ^ 0x9e37_79b9_7f4a_7c15);
    let first = timeline
        .changes
        .first()
        .map(|c| c.date)
        .unwrap_or(NaiveDate::MIN);
    let last = timeline.changes.last().map(|c| c.date).unwrap_or(first);
    let span = ((last - first).num_days().max(1) as usize) + 365;
    let day = |offset: usize| first + Days::new(offset as u64);
    let mut list = Vec::with_capacity(people);
    for i in 0..people {
        let joined = day(rng.below(span / 2 + 1));
        let birth_year = (rng.below(10) < 7).then(|| 1950 + rng.below(50) as i32);
        let birth_year = birth_year.filter(|y| *y < joined.year());
        list.push(Person {
            id: format!("p{i}"),
            name: format!("Person {i}"),
            birth_year,
            joined: Some(joined),
            unit: None,
            source: None,
            line: i as u32 + 2,
        });
    }
    let mut dates: Vec<usize> = (0..events).map(|_| rng.below(span)).collect();
    dates.sort_unstable();
    let units: Vec<usize> = (0..timeline.units.len()).collect();
    let mut out = Vec::with_capacity(events + events / 4);
    // (role, unit) -> holder; active (person, role, unit) for step-downs.
    let mut holder: HashMap<(usize, usize), usize> = HashMap::new();
    // Roles held, for random step-downs: a list to pick from and a set that says which
    // entries are still held (a replaced holder's entry is dropped when picked).
    let mut active: Vec<(usize, usize, usize)> = Vec::new();
    let mut held: std::collections::HashSet<(usize, usize, usize)> = Default::default();
    let role_name = |r: usize| {
        if r < EXCLUSIVE.len() {
            EXCLUSIVE[r]
        } else {
            DIRECTORS[r - EXCLUSIVE.len()]
        }
    };
    for offset in dates {
        let date = day(offset);
        let line = out.len() as u32 + 1;
        let person = rng.below(people.max(1));
        if people == 0 || list[person].joined.is_some_and(|j| j > date) {
            continue;
        }
        // A unit alive on the date (a few tries).
        let mut unit = None;
        for _ in 0..8 {
            let u = units[rng.below(units.len())];
            if timeline.units[u].alive_on(date) {
                unit = Some(u);
                break;
            }
        }
        let Some(unit) = unit else { continue };
        let unit_id = timeline.units[unit].id.clone();
        let dice = rng.below(100);
        if dice < 35 && !active.is_empty() {
            let pick = rng.below(active.len());
            let (p, r, u) = active.swap_remove(pick);
            if !held.remove(&(p, r, u)) {
                continue;
            }
            if r < EXCLUSIVE.len() {
                holder.remove(&(r, u));
            }
            out.push(event(
                date,
                STEP_DOWN,
                &[
                    ("person", EventValue::Text(format!("p{p}"))),
                    ("role", EventValue::Text(role_name(r).into())),
                    ("unit", EventValue::Unit(timeline.units[u].id.clone())),
                ],
                line,
            ));
        } else if dice < 45 {
            out.push(event(
                date,
                TRANSFER,
                &[
                    ("person", EventValue::Text(format!("p{person}"))),
                    ("to", EventValue::Unit(unit_id)),
                ],
                line,
            ));
        } else {
            let role = rng.below(EXCLUSIVE.len() + DIRECTORS.len());
            if role < EXCLUSIVE.len() {
                if let Some(previous) = holder.remove(&(role, unit)) {
                    held.remove(&(previous, role, unit));
                    out.push(event(
                        date,
                        STEP_DOWN,
                        &[
                            ("person", EventValue::Text(format!("p{previous}"))),
                            ("role", EventValue::Text(role_name(role).into())),
                            ("unit", EventValue::Unit(unit_id.clone())),
                        ],
                        line,
                    ));
                }
                holder.insert((role, unit), person);
            }
            // Already held: a reappointment (a new term); its entry is in the list already.
            if held.insert((person, role, unit)) {
                active.push((person, role, unit));
            }
            out.push(event(
                date,
                APPOINT,
                &[
                    ("person", EventValue::Text(format!("p{person}"))),
                    ("role", EventValue::Text(role_name(role).into())),
                    ("unit", EventValue::Unit(unit_id)),
                ],
                line + 1,
            ));
        }
    }
    // Lines in the final order, then drop what the replay refuses until nothing is left.
    for (i, change) in out.iter_mut().enumerate() {
        change.origin.line = i as u32 + 1;
    }
    loop {
        let mut problems = Vec::new();
        let mut extended = timeline
            .changes
            .iter()
            .map(|c| (*c).clone())
            .collect::<Vec<Change>>();
        extended.extend(out.iter().cloned());
        let (t, refused) = Timeline::replay(&model.group, &model.metrics, &extended);
        problems.extend(refused);
        let _ = Ledger::build(list.clone(), Config::built_in(), &t, &mut problems);
        if problems.is_empty() {
            break;
        }
        let bad: std::collections::HashSet<u32> = problems
            .iter()
            .filter(|p| p.file == "timeline.toml")
            .filter_map(|p| p.line)
            .collect();
        if bad.is_empty() {
            break;
        }
        out.retain(|c| c.origin.file != "timeline.toml" || !bad.contains(&c.origin.line));
    }
    let people_csv = write_people(&list, true);
    SynthPeople {
        people: list,
        people_csv,
        events: out,
    }
}

/// The unit ids of a timeline (for tests).
pub fn unit_ids(timeline: &Timeline) -> Vec<UnitId> {
    timeline.units.iter().map(|u| u.id.clone()).collect()
}
