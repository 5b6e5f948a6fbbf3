//! Properties: tenure never decreases through a transfer or a reorganisation; at most one
//! holder of an exclusive role per date; incentive attainment does not move when a
//! reorganisation is recorded mid-plan; pipeline shares sum to 1 with unknowns.

use crate::common::{problems_of, small, valid, with_ledger};
use chrono::{Days, NaiveDate};
use holdco_core::rollup::Engine;
use holdco_core::Period;
use holdco_governance::ledger::Seat;
use holdco_governance::{measure, queries};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn day(offset: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2021, 1, 1).expect("date") + Days::new(offset)
}

/// One generated event: (day offset, what, person, unit index).
#[derive(Debug, Clone)]
#[allow(clippy::enum_variant_names)]
enum Step {
    Appoint(u64, usize, usize, usize),
    StepDown(u64, usize, usize, usize),
    Transfer(u64, usize, usize),
    Merge(u64, usize),
    Split(u64, usize),
}

const UNITS: [&str; 3] = ["a", "b", "c"];
const ROLES: [&str; 3] = ["ceo", "chair", "director_independent"];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u64..900, 0usize..3, 0usize..4, 0usize..3)
            .prop_map(|(d, r, p, u)| Step::Appoint(d, r, p, u)),
        (0u64..900, 0usize..3, 0usize..4, 0usize..3)
            .prop_map(|(d, r, p, u)| Step::StepDown(d, r, p, u)),
        (0u64..900, 0usize..4, 0usize..3).prop_map(|(d, p, u)| Step::Transfer(d, p, u)),
        (300u64..700, 0usize..2).prop_map(|(d, u)| Step::Merge(d, u)),
        (300u64..700, 0usize..2).prop_map(|(d, u)| Step::Split(d, u)),
    ]
}

/// A timeline from steps; at most one reorganisation (the first), so the others stay
/// valid more often (invalid events are reported and skipped either way).
fn timeline(steps: &[Step]) -> String {
    let mut out = String::new();
    let mut reorganised = false;
    for s in steps {
        let text = match s {
            Step::Appoint(d, r, p, u) => format!("kind = \"people.appoint\"\ndate = {}\nperson = \"p{p}\"\nrole = \"{}\"\nunit = \"{}\"\n", day(*d), ROLES[*r], UNITS[*u]),
            Step::StepDown(d, r, p, u) => format!("kind = \"people.step_down\"\ndate = {}\nperson = \"p{p}\"\nrole = \"{}\"\nunit = \"{}\"\n", day(*d), ROLES[*r], UNITS[*u]),
            Step::Transfer(d, p, u) => format!("kind = \"people.transfer\"\ndate = {}\nperson = \"p{p}\"\nto = \"{}\"\n", day(*d), UNITS[*u]),
            Step::Merge(d, u) if !reorganised => {
                reorganised = true;
                format!("kind = \"merge\"\ndate = {}\nunits = [\"{}\"]\ninto = \"c\"\n", day(*d), UNITS[*u])
            }
            Step::Split(d, u) if !reorganised => {
                reorganised = true;
                format!("kind = \"split\"\ndate = {}\nunit = \"{}\"\nparts = [{{ unit = \"c\", share = 0.7 }}, {{ unit = \"{}\", share = 0.3 }}]\n", day(*d), UNITS[*u], UNITS[1 - *u])
            }
            _ => continue,
        };
        out.push_str("[[change]]\n");
        out.push_str(&text);
        out.push('\n');
    }
    out
}

fn people(years: &[Option<i32>]) -> String {
    years
        .iter()
        .enumerate()
        .map(|(i, y)| {
            format!(
                "p{i},Person {i},{},2020-{:02}-01,a,\n",
                y.map(|y| y.to_string()).unwrap_or_default(),
                i + 1
            )
        })
        .collect()
}

/// The ledger of generated files, whatever events were refused (they are skipped).
fn ledger_of(
    files: &holdco_core::format::ModelFiles,
) -> Option<(holdco_core::Model, Vec<holdco_core::Diagnostic>)> {
    let (model, _) = problems_of(files);
    let model = model?;
    let (_, core) = holdco_core::validate::validate(&model);
    if !core.is_empty() {
        return None;
    }
    Some((model, core))
}

/// The leaders on a date as the ledger's holdings say, found the slow way (every holding
/// tested, rows sorted per unit): what the roster's answer must equal.
pub(crate) fn leaders_the_slow_way(
    ledger: &holdco_governance::ledger::Ledger,
    timeline: &holdco_core::timeline::Timeline,
    date: NaiveDate,
) -> Vec<queries::LeaderRow> {
    let rank = |role: &str| match role {
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
    let structure = timeline.structure_on(date);
    let mut rows = Vec::new();
    let mut stack = vec![(timeline.root, 0u32)];
    while let Some((unit, depth)) = stack.pop() {
        let record = timeline.record(unit);
        let mut here: Vec<_> = ledger
            .held_on(date)
            .filter(|h| queries::seat_unit(ledger, h.seat_on(date)) == Some(&record.id))
            .collect();
        here.sort_by_key(|h| {
            let body = match h.seat_on(date) {
                Seat::Unit(_) => String::new(),
                Seat::Body(b) => b.clone(),
            };
            (
                body,
                rank(&h.role),
                h.role.clone(),
                h.from,
                h.person.clone(),
            )
        });
        for h in here {
            rows.push(queries::LeaderRow {
                unit: record.id.to_string(),
                unit_name: record.name_on(date).to_string(),
                depth,
                body: match h.seat_on(date) {
                    Seat::Body(b) => Some(b.clone()),
                    Seat::Unit(_) => None,
                },
                role: h.role.clone(),
                person: h.person.clone(),
                name: ledger
                    .person(&h.person)
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                title: h.title.clone(),
                since: h.from,
                term_end: h.term_end,
                source: h.source.clone(),
            });
        }
        for &child in structure.children[unit as usize].iter().rev() {
            stack.push((child, depth + 1));
        }
    }
    rows
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn leaders_and_cohorts_from_the_roster_equal_the_holdings_read_one_by_one(
        steps in prop::collection::vec(step(), 1..30),
        board in prop::collection::vec((0u64..900, 0usize..4, 0usize..3, any::<bool>()), 0..8),
        years in prop::collection::vec(prop::option::of(1950i32..2000), 4),
    ) {
        // Seats on a board of `a` as well, stepped down or not.
        let mut text = timeline(&steps);
        for (d, p, r, down) in &board {
            let role = ["director_independent", "chair", "director_executive"][*r];
            text.push_str(&format!("[[change]]\nkind = \"people.appoint\"\ndate = {}\nperson = \"p{p}\"\nrole = \"{role}\"\nbody = \"a_board\"\n\n", day(*d)));
            if *down {
                text.push_str(&format!("[[change]]\nkind = \"people.step_down\"\ndate = {}\nperson = \"p{p}\"\nrole = \"{role}\"\nbody = \"a_board\"\n\n", day(*d + 100)));
            }
        }
        let governance = "[[body]]\nid = \"a_board\"\nunit = \"a\"\nkind = \"board\"\nname = \"Board of a\"\n";
        let files = small(&text, &people(&years), governance, "");
        let Some((model, _)) = ledger_of(&files) else { return Ok(()); };
        let engine = Engine::new(&model).expect("engine");
        let timeline = engine.timeline();
        let (ledger, _) = holdco_governance::load(&model, timeline);
        for offset in (0..1100).step_by(13) {
            let date = day(offset);
            let fast = queries::leaders_on(&ledger, timeline, date, None).expect("leaders");
            let slow = leaders_the_slow_way(&ledger, timeline, date);
            prop_assert_eq!(
                serde_json::to_value(&fast).unwrap(),
                serde_json::to_value(&slow).unwrap(),
                "{}", date
            );
            // The borrowed answer serialises as the owned one.
            let borrowed = queries::leaders(&ledger, timeline, date, None).expect("leaders");
            prop_assert_eq!(serde_json::to_value(&borrowed).unwrap(), serde_json::to_value(&fast).unwrap());
            // Cohorts: each leader counted once per unit.
            let mut expected: BTreeMap<u32, (u32, u32, u32)> = BTreeMap::new();
            let mut seen = std::collections::BTreeSet::new();
            for h in ledger.held_on(date) {
                if !ledger.role(&h.role).is_some_and(|r| r.leadership) { continue; }
                let Some(unit) = queries::seat_unit(&ledger, h.seat_on(date)).and_then(|u| timeline.unit(u)) else { continue };
                if !seen.insert((unit, h.person.clone())) { continue; }
                let entry = expected.entry(unit).or_default();
                match ledger.person(&h.person).and_then(|p| p.birth_year) {
                    Some(y) if y >= 1975 => entry.0 += 1,
                    Some(_) => entry.1 += 1,
                    None => entry.2 += 1,
                }
            }
            let expected: Vec<_> = expected.into_iter().map(|(u, (a, b, c))| (u, a, b, c)).collect();
            prop_assert_eq!(&queries::cohorts_by_unit(&ledger, timeline, date, 1975), &expected);
            // The one-pass answer: the same rows and, sorted by unit, the same cohorts.
            let found = queries::as_of(&ledger, timeline, date, None, Some(1975)).expect("as_of");
            let rows: Vec<_> = found.leaders().map(|l| l.to_row()).collect();
            prop_assert_eq!(serde_json::to_value(&rows).unwrap(), serde_json::to_value(&fast).unwrap());
            let mut cohorts: Vec<_> = found.cohorts.iter().map(|c| (c.unit, c.cohort, c.older, c.unknown)).collect();
            cohorts.sort_unstable();
            prop_assert_eq!(cohorts, expected);
            for c in &found.cohorts {
                prop_assert!((c.shares().iter().sum::<f64>() - 1.0).abs() < 1e-12);
            }
            // Without a cohort year: the rows alone.
            let plain = queries::as_of(&ledger, timeline, date, None, None).expect("as_of");
            prop_assert!(plain.cohorts.is_empty());
            prop_assert_eq!(&plain.held, &found.held);
        }
    }

    #[test]
    fn tenure_never_decreases_through_transfers_or_reorganisations(steps in prop::collection::vec(step(), 1..25)) {
        let files = small(&timeline(&steps), &people(&[Some(1980), None, Some(1990), None]), "", "");
        let Some((model, _)) = ledger_of(&files) else { return Ok(()); };
        let engine = Engine::new(&model).expect("engine");
        let (ledger, _) = holdco_governance::load(&model, engine.timeline());
        for person in 0..ledger.people.len() {
            let mut last_group = -1i64;
            let mut last_unit: Option<(i64, Option<String>)> = None;
            for offset in (0..1000).step_by(7) {
                let date = day(offset);
                let group = ledger.group_tenure_days(person, date).expect("joined is given");
                prop_assert!(group >= last_group, "group tenure fell on {date}");
                last_group = group;
                let transferred = ledger.moves.iter().any(|m| m.person == ledger.people[person].id && m.date > date - Days::new(7) && m.date <= date);
                let unit = ledger.unit_tenure_days(person, date);
                let unit_id = ledger.stay_on(person, date).and_then(|s| s.unit.as_ref().map(|u| u.to_string()));
                if let (Some((before, _)), Some(now), false) = (&last_unit, unit, transferred) {
                    prop_assert!(now >= *before, "unit tenure fell on {date} without a transfer");
                }
                last_unit = unit.map(|u| (u, unit_id));
            }
        }
    }

    #[test]
    fn at_most_one_holder_of_an_exclusive_role_per_date(steps in prop::collection::vec(step(), 1..30)) {
        let files = small(&timeline(&steps), &people(&[None, None, None, None]), "", "");
        let Some((model, _)) = ledger_of(&files) else { return Ok(()); };
        let engine = Engine::new(&model).expect("engine");
        let (ledger, _) = holdco_governance::load(&model, engine.timeline());
        for offset in 0..1000 {
            let date = day(offset);
            let mut holders: BTreeMap<(String, Seat), usize> = BTreeMap::new();
            for h in ledger.held_on(date) {
                if ledger.role(&h.role).is_some_and(|r| r.exclusive) {
                    *holders.entry((h.role.clone(), h.seat_on(date).clone())).or_default() += 1;
                }
            }
            prop_assert!(holders.values().all(|n| *n <= 1), "{date}: {holders:?}");
        }
    }

    #[test]
    fn pipeline_shares_sum_to_one_with_unknowns(
        steps in prop::collection::vec(step(), 1..30),
        years in prop::collection::vec(prop::option::of(1950i32..2000), 4),
        born_from in 1950i32..2000,
    ) {
        let files = small(&timeline(&steps), &people(&years), "", "");
        let Some((model, _)) = ledger_of(&files) else { return Ok(()); };
        let engine = Engine::new(&model).expect("engine");
        let (ledger, _) = holdco_governance::load(&model, engine.timeline());
        for offset in (0..1000).step_by(50) {
            let answer = queries::pipeline(&ledger, engine.timeline(), day(offset), true, Some(born_from)).expect("pipeline");
            for row in &answer.rows {
                prop_assert_eq!(row.cohort + row.older + row.unknown, row.leaders);
                if row.leaders > 0 {
                    let sum = row.cohort_share.unwrap() + row.older_share.unwrap() + row.unknown_share.unwrap();
                    prop_assert!((sum - 1.0).abs() < 1e-12);
                } else {
                    prop_assert!(row.cohort_share.is_none());
                }
            }
        }
    }

    #[test]
    fn recording_a_reorganisation_mid_plan_leaves_attainment_alone(
        a in 50.0f64..150.0,
        b in 50.0f64..150.0,
        mid in 1u64..360,
        split in any::<bool>(),
        share in 0.05f64..0.95,
    ) {
        let governance = "[[plan]]\nid = \"p\"\nrole = \"ceo\"\nunit = \"a\"\nperiod = \"2022\"\nkpi = [\n  { metric = \"revenue\", unit = \"a\", weight = 0.5, threshold = 80, target = 100, maximum = 130 },\n  { metric = \"revenue\", unit = \"b\", weight = 0.5, threshold = 80, target = 100, maximum = 130 },\n]\n";
        let facts = format!("a,2022,revenue,{a}\nb,2022,revenue,{b}\nc,2022,revenue,40\n");
        let appoint = "[[change]]\ndate = 2021-06-01\nkind = \"people.appoint\"\nperson = \"p0\"\nrole = \"ceo\"\nunit = \"a\"\n\n";
        let before = small(appoint, &people(&[None]), governance, &facts);
        let date = NaiveDate::from_ymd_opt(2022, 1, 1).unwrap() + Days::new(mid);
        let reorganisation = if split {
            format!("[[change]]\ndate = {date}\nkind = \"split\"\nunit = \"a\"\nparts = [{{ unit = \"b\", share = {share} }}, {{ unit = \"c\", share = {} }}]\n", 1.0 - share)
        } else {
            format!("[[change]]\ndate = {date}\nkind = \"merge\"\nunits = [\"a\"]\ninto = \"b\"\n")
        };
        let after = small(&format!("{appoint}{reorganisation}"), &people(&[None]), governance, &facts);
        let measure = |files: &holdco_core::format::ModelFiles| {
            let model = valid(files);
            with_ledger(&model, |engine, ledger| {
                let period = Period::parse("2022", model.group.calendar()).unwrap();
                let plans = measure::incentives(engine, ledger, period);
                (plans[0].attainment, plans[0].payout, plans[0].kpis.iter().map(|k| k.actual).collect::<Vec<_>>())
            })
        };
        let (att_before, pay_before, actual_before) = measure(&before);
        let (att_after, pay_after, actual_after) = measure(&after);
        prop_assert_eq!(actual_before, actual_after);
        prop_assert_eq!(att_before, att_after);
        prop_assert_eq!(pay_before, pay_after);
        prop_assert!(att_before.is_some());
    }
}
