//! Invariants that must hold for any model, checked on generated ones: restating never
//! creates or loses money; replay and roll-ups are deterministic and independent of file
//! order; files -> model -> files round-trips; eliminations never touch a unit's own figure.

use chrono::{Days, NaiveDate};
use holdco_core::format::{read_model, write_model};
use holdco_core::rollup::{BasisFilter, Engine, Query, View};
use holdco_core::timeline::Timeline;
use holdco_core::validate::validate;
use holdco_core::*;
use proptest::prelude::*;

fn unit(i: usize) -> UnitId {
    UnitId::parse(&format!("u{i}")).unwrap()
}

fn change(date: NaiveDate, kind: ChangeKind) -> Change {
    Change {
        id: None,
        date,
        kind,
        note: None,
        source: None,
        origin: Origin::default(),
    }
}

fn metrics() -> Vec<Metric> {
    ["revenue", "ebita"]
        .iter()
        .map(|id| Metric {
            id: MetricId::parse(id).unwrap(),
            name: id.to_string(),
            measure: Measure::Currency,
            aggregation: Aggregation::Flow,
            scale: None,
            origin: Origin::default(),
        })
        .collect()
}

fn group() -> Group {
    Group {
        id: UnitId::parse("g").unwrap(),
        name: "集团".into(),
        currency: Currency::parse("CNY").unwrap(),
        fiscal_year_end: (3, 31),
    }
}

/// Builds a valid model from random choices: each op picks its units among those alive.
fn build(
    initial: usize,
    ops: &[(u8, u16, u16, u16)],
    values: &[i32],
    with_totals: bool,
    intercompany: bool,
) -> Model {
    let start = NaiveDate::from_ymd_opt(2019, 4, 1).unwrap();
    let mut changes = vec![change(
        start,
        ChangeKind::Create {
            unit: UnitId::parse("g").unwrap(),
            name: "集团".into(),
            parent: None,
            unit_kind: "group".into(),
            acquired: false,
            ownership: 1.0,
        },
    )];
    let mut next = 0usize;
    for k in 0..initial {
        let parent = if k == 0 {
            UnitId::parse("g").unwrap()
        } else {
            unit(k / 2)
        };
        changes.push(change(
            start,
            ChangeKind::Create {
                unit: unit(next),
                name: format!("Unit {next}"),
                parent: Some(parent),
                unit_kind: "unit".into(),
                acquired: false,
                ownership: 1.0,
            },
        ));
        next += 1;
    }
    for (i, (op, a, b, s)) in ops.iter().enumerate() {
        let date = start
            .checked_add_days(Days::new(200 + 150 * i as u64))
            .unwrap();
        let (timeline, problems) = Timeline::replay(&group(), &metrics(), &changes);
        assert!(
            problems.is_empty(),
            "generator made an invalid timeline: {problems:?}"
        );
        let structure = timeline.structure_on(date);
        let alive: Vec<u32> = (0..timeline.units.len() as u32)
            .filter(|u| structure.alive[*u as usize] && *u != timeline.root)
            .collect();
        let all: Vec<u32> = (0..timeline.units.len() as u32)
            .filter(|u| structure.alive[*u as usize])
            .collect();
        let leaves: Vec<u32> = alive
            .iter()
            .copied()
            .filter(|u| structure.children[*u as usize].is_empty())
            .collect();
        let id = |u: u32| timeline.record(u).id.clone();
        let pick = |list: &[u32], n: u16| list[n as usize % list.len()];
        match op % 6 {
            0 => {
                let parent = pick(&all, *a);
                let acquired = b % 3 == 0;
                changes.push(change(
                    date,
                    ChangeKind::Create {
                        unit: unit(next),
                        name: format!("Unit {next}"),
                        parent: Some(id(parent)),
                        unit_kind: "unit".into(),
                        acquired,
                        ownership: 1.0,
                    },
                ));
                next += 1;
            }
            1 if !alive.is_empty() => {
                let moved = pick(&alive, *a);
                let targets: Vec<u32> = all
                    .iter()
                    .copied()
                    .filter(|t| !structure.in_subtree(*t, moved))
                    .collect();
                if !targets.is_empty() {
                    changes.push(change(
                        date,
                        ChangeKind::Move {
                            unit: id(moved),
                            parent: id(pick(&targets, *b)),
                        },
                    ));
                }
            }
            2 if !alive.is_empty() => {
                let merged = pick(&alive, *a);
                let targets: Vec<u32> = all
                    .iter()
                    .copied()
                    .filter(|t| !structure.in_subtree(*t, merged))
                    .collect();
                if !targets.is_empty() {
                    changes.push(change(
                        date,
                        ChangeKind::Merge {
                            units: vec![id(merged)],
                            into: id(pick(&targets, *b)),
                        },
                    ));
                }
            }
            3 if !leaves.is_empty() => {
                let split = pick(&leaves, *a);
                let others: Vec<u32> = all.iter().copied().filter(|t| *t != split).collect();
                let other = pick(&others, *b);
                let keep = s % 2 == 0;
                let first = if keep {
                    split
                } else {
                    pick(&others, b.wrapping_add(1))
                };
                if first != other {
                    let share = f64::from(s % 100) / 100.0;
                    let ebita_share = f64::from(s % 7) / 7.0;
                    let parts = vec![
                        SplitPart {
                            unit: id(first),
                            shares: Shares {
                                default: Some(share),
                                per_metric: [(MetricId::parse("ebita").unwrap(), ebita_share)]
                                    .into(),
                            },
                        },
                        SplitPart {
                            unit: id(other),
                            shares: Shares {
                                default: Some(1.0 - share),
                                per_metric: [(
                                    MetricId::parse("ebita").unwrap(),
                                    1.0 - ebita_share,
                                )]
                                .into(),
                            },
                        },
                    ];
                    changes.push(change(
                        date,
                        ChangeKind::Split {
                            unit: id(split),
                            parts,
                        },
                    ));
                }
            }
            4 if !alive.is_empty() => {
                let gone = pick(&alive, *a);
                let kind = if b % 2 == 0 {
                    ChangeKind::Divest {
                        unit: id(gone),
                        proceeds: None,
                        buyer: None,
                    }
                } else {
                    ChangeKind::Close { unit: id(gone) }
                };
                changes.push(change(date, kind));
            }
            5 if !alive.is_empty() => {
                let owned = pick(&alive, *a);
                let share = f64::from(s % 101) / 100.0;
                changes.push(change(
                    date,
                    ChangeKind::Stake {
                        unit: id(owned),
                        share,
                        consolidation: if share > 0.5 {
                            Consolidation::Full
                        } else {
                            Consolidation::Share
                        },
                        proceeds: None,
                    },
                ));
            }
            _ => {}
        }
    }
    let (timeline, problems) = Timeline::replay(&group(), &metrics(), &changes);
    assert!(
        problems.is_empty(),
        "generator made an invalid timeline: {problems:?}"
    );
    let calendar = FiscalCalendar { year_end_month: 3 };
    let mut facts = Vec::new();
    let mut v = values.iter().cycle();
    for fy in 2020..=2024 {
        let period = Period::parse(&format!("FY{fy}"), calendar).unwrap();
        let structure = timeline.structure_on(period.last_day());
        for (index, record) in timeline.units.iter().enumerate() {
            let overlaps = record.created <= period.last_day()
                && record.ended.is_none_or(|(end, _)| end > period.first_day());
            if !overlaps || (index as u32 == timeline.root && !with_totals) {
                continue;
            }
            for metric in ["revenue", "ebita"] {
                let value = f64::from(*v.next().unwrap()) / 4.0;
                let key = FactKey {
                    unit: record.id.clone(),
                    period,
                    metric: MetricId::parse(metric).unwrap(),
                    counterparty: None,
                    basis: Basis::Reported,
                };
                facts.push(Fact {
                    key,
                    value,
                    currency: None,
                    source: None,
                    note: None,
                    precision: None,
                    origin: Origin::default(),
                });
            }
            if intercompany && structure.alive[index] && index as u32 != timeline.root {
                let n = *v.next().unwrap();
                let candidates: Vec<usize> = (0..timeline.units.len())
                    .filter(|o| *o != index && *o as u32 != timeline.root && structure.alive[*o])
                    .collect();
                if !candidates.is_empty() && n % 2 == 0 {
                    let other = candidates[n.unsigned_abs() as usize % candidates.len()];
                    let key = FactKey {
                        unit: record.id.clone(),
                        period,
                        metric: MetricId::parse("revenue").unwrap(),
                        counterparty: Some(timeline.units[other].id.clone()),
                        basis: Basis::Reported,
                    };
                    facts.push(Fact {
                        key,
                        value: f64::from(n % 50),
                        currency: None,
                        source: None,
                        note: None,
                        precision: None,
                        origin: Origin::default(),
                    });
                }
            }
        }
    }
    Model {
        group: group(),
        metrics: metrics(),
        timeline: changes,
        facts,
        fx: Vec::new(),
        documents: Default::default(),
    }
}

fn model_strategy(with_totals: bool, intercompany: bool) -> impl Strategy<Value = Model> {
    (
        2usize..7,
        prop::collection::vec(
            (any::<u8>(), any::<u16>(), any::<u16>(), any::<u16>()),
            0..10,
        ),
        prop::collection::vec(-4000i32..4000, 1..50),
    )
        .prop_map(move |(initial, ops, values)| {
            build(initial, &ops, &values, with_totals, intercompany)
        })
}

fn root_value(
    engine: &Engine,
    metric: &str,
    period: Period,
    view: View,
    structure: Option<NaiveDate>,
) -> Option<f64> {
    let query = Query {
        metric: MetricId::parse(metric).unwrap(),
        periods: vec![period],
        view,
        structure,
        node: None,
        depth: 1,
        currency: None,
        basis: BasisFilter::Reported,
    };
    engine.rollup(&query).unwrap().rows[0].value
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn restating_preserves_the_group_total(model in model_strategy(true, true), day in 0u64..2500) {
        let (_, problems) = validate(&model);
        prop_assert!(problems.is_empty(), "{problems:?}");
        let engine = Engine::new(&model).unwrap();
        let calendar = model.group.calendar();
        let target = NaiveDate::from_ymd_opt(2019, 4, 1).unwrap().checked_add_days(Days::new(day)).unwrap();
        for fy in 2020..=2024 {
            let period = Period::parse(&format!("FY{fy}"), calendar).unwrap();
            for metric in ["revenue", "ebita"] {
                let reported = root_value(&engine, metric, period, View::Reported, None).unwrap_or(0.0);
                let restated = root_value(&engine, metric, period, View::Restated, Some(target)).unwrap_or(0.0);
                prop_assert!(close(reported, restated), "{metric} FY{fy} into {target}: reported {reported}, restated {restated}");
                // And the lines under the root (children, own remainder, eliminations,
                // discontinued) add up to it.
                let query = Query { metric: MetricId::parse(metric).unwrap(), periods: vec![period], view: View::Restated, structure: Some(target), node: None, depth: 1, currency: None, basis: BasisFilter::Reported };
                let rows = engine.rollup(&query).unwrap().rows;
                // (The continuing-operations row is a subtotal of these, not a part.)
                let parts: f64 = rows.iter().skip(1).filter(|r| r.kind != holdco_core::rollup::RowKind::Continuing).filter_map(|r| r.value).sum();
                prop_assert!(close(parts, restated), "{metric} FY{fy}: lines {parts} vs total {restated}: {rows:#?}");
            }
        }
    }

    #[test]
    fn replay_and_rollups_are_deterministic_and_order_free(model in model_strategy(false, true), seed in any::<u64>()) {
        let engine = Engine::new(&model).unwrap();
        let mut shuffled = model.clone();
        // A deterministic shuffle of the fact rows, as if the files listed them differently.
        let n = shuffled.facts.len();
        let mut state = seed | 1;
        for i in (1..n).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            shuffled.facts.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let other = Engine::new(&shuffled).unwrap();
        let calendar = model.group.calendar();
        let target = other.latest_structure_date();
        for fy in 2020..=2024 {
            let period = Period::parse(&format!("FY{fy}"), calendar).unwrap();
            for view in [View::Reported, View::Restated, View::Organic] {
                let query = Query { metric: MetricId::parse("revenue").unwrap(), periods: vec![period], view, structure: Some(target), node: None, depth: 3, currency: None, basis: BasisFilter::Reported };
                let a: Vec<(String, Option<u64>)> = engine.rollup(&query).unwrap().rows.iter().map(|r| (r.node.clone(), r.value.map(f64::to_bits))).collect();
                let b: Vec<(String, Option<u64>)> = other.rollup(&query).unwrap().rows.iter().map(|r| (r.node.clone(), r.value.map(f64::to_bits))).collect();
                prop_assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn files_round_trip(
        model in model_strategy(true, true),
        annotations in prop::collection::vec(
            (
                prop::option::of("[a-z阿][a-z ,\"é阿]{0,10}[a-z]"),
                prop::option::of(prop_oneof![Just(1.0), Just(0.5), Just(100.0), Just(1e-3), Just(0.1)]),
            ),
            0..64,
        ),
    ) {
        // Some facts carry a note (commas and quotes included) and a precision.
        let mut model = model;
        for (fact, (note, precision)) in model.facts.iter_mut().zip(annotations) {
            fact.note = note;
            fact.precision = precision;
        }
        let files = write_model(&model);
        let (read, problems) = read_model(&files);
        prop_assert!(problems.is_empty(), "{problems:?}");
        let mut read = read.unwrap();
        let mut expected = model.clone();
        read.canonicalize();
        expected.canonicalize();
        prop_assert_eq!(&read, &expected);
        // And writing again gives the same bytes.
        prop_assert_eq!(write_model(&read), write_model(&expected));
    }

    #[test]
    fn eliminations_never_change_a_units_own_figure(model in model_strategy(false, true)) {
        // The same model with every intercompany figure recorded as external.
        let mut external = model.clone();
        let mut merged: std::collections::BTreeMap<FactKey, f64> = Default::default();
        for fact in &model.facts {
            let mut key = fact.key.clone();
            key.counterparty = None;
            *merged.entry(key).or_insert(0.0) += fact.value;
        }
        external.facts = merged.into_iter().map(|(key, value)| Fact { key, value, currency: None, source: None, note: None, precision: None, origin: Origin::default() }).collect();
        let engine = Engine::new(&model).unwrap();
        let plain = Engine::new(&external).unwrap();
        let timeline = engine.timeline();
        let calendar = model.group.calendar();
        // Units that never had a unit below them: their figure is their own.
        let parents: std::collections::BTreeSet<u32> = timeline.units.iter().flat_map(|u| u.parents.iter().filter_map(|(_, p)| *p)).collect();
        for fy in 2020..=2024 {
            let period = Period::parse(&format!("FY{fy}"), calendar).unwrap();
            // (Restated, a unit may absorb both sides of a figure: eliminating it there is
            // what regrouping means, so the reported view is where this must hold.)
            for view in [View::Reported] {
                let structure = engine.structure(if view == View::Reported { period.last_day() } else { engine.latest_structure_date() });
                for (index, record) in timeline.units.iter().enumerate() {
                    if !structure.alive[index] || parents.contains(&(index as u32)) {
                        continue;
                    }
                    let query = Query { metric: MetricId::parse("revenue").unwrap(), periods: vec![period], view, structure: None, node: Some(record.id.clone()), depth: 0, currency: None, basis: BasisFilter::Reported };
                    let with = engine.rollup(&query).unwrap().rows[0].value.unwrap_or(0.0);
                    let without = plain.rollup(&query).unwrap().rows[0].value.unwrap_or(0.0);
                    prop_assert!(close(with, without), "{} FY{fy} {view}: {with} with eliminations, {without} without", record.id);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever bytes arrive, reading and validating them reports problems; it never panics.
    #[test]
    fn arbitrary_input_never_panics(
        timeline in "(\\[\\[change\\]\\]\n(date = (2020-01-0[1-9]|\"x\"|20)\n)?(kind = \"(create|move|merge|split|stake|divest|close|rename)\"\n)?(unit = \"[a-c]\"\n)?(parent = \"[a-cg]\"\n)?(units = \\[\"[a-c]\"\\]\n)?(into = \"[a-cg]\"\n)?(parts = \\[\\{ unit = \"[a-c]\", share = 0.[0-9] \\}\\]\n)?(share = [0-9.e-]{1,4}\n)?\n){0,8}",
        facts in "unit,period,metric,value\n([a-cg\u{4e00}]{0,2},(FY20[0-9]{2}(Q[0-9])?|20[0-9]{2}-[0-9]{2}|x)?,(revenue|ebita|x)?,[-0-9.eEinfNa,\"]{0,6}\n){0,10}",
        noise in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut files = crate::common::files(&timeline, &facts, None);
        let _ = crate::common::problems(&files);
        files.insert("fx.csv".into(), noise.clone());
        files.insert("facts/more.csv".into(), noise);
        let (model, _) = read_model(&files);
        if let Some(model) = model {
            let _ = validate(&model);
            if let Ok(engine) = Engine::new(&model) {
                let calendar = model.group.calendar();
                let period = Period::parse("FY2021", calendar).unwrap();
                for view in [View::Reported, View::Restated, View::Organic] {
                    let query = Query { metric: MetricId::parse("margin").unwrap(), periods: vec![period], view, structure: None, node: None, depth: 3, currency: None, basis: BasisFilter::Reported };
                    let _ = engine.rollup(&query);
                    let _ = engine.explain(&query);
                }
            }
        }
    }
}
