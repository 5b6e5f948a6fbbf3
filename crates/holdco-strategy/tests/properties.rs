//! Properties: plans respect every budget and bound; more budget never lowers the value;
//! classification does not depend on the order of rows or lists.

use crate::common::example;
use chrono::NaiveDate;
use holdco_core::rollup::Engine;
use holdco_core::UnitId;
use holdco_strategy::capital::{Budget, Capital, Tranche, UnitBound};
use holdco_strategy::plan::{self, PlanError};
use holdco_strategy::strategy::{Class, Policy, Strategy};
use proptest::prelude::*;
use std::collections::BTreeMap;

const YEARS: [i32; 3] = [2025, 2026, 2027];

fn unit(i: usize) -> UnitId {
    UnitId::parse(&format!("u{i}")).unwrap()
}

fn strategy(min_a: f64, max_c: f64) -> Strategy {
    let class = |id: &str, share_min: Option<f64>, share_max: Option<f64>| Class {
        id: id.into(),
        name: id.into(),
        rule: "true".into(),
        policy: Policy {
            share_min,
            share_max,
            ..Policy::default()
        },
        line: 1,
    };
    Strategy {
        name: "generated".into(),
        weights_sum: 1.0,
        portfolio: Vec::new(),
        focus_areas: Vec::new(),
        criteria: Vec::new(),
        classes: vec![
            class("a", (min_a > 0.0).then_some(min_a), None),
            class("b", None, None),
            class("c", None, Some(max_c)),
        ],
        assessments: Vec::new(),
    }
}

fn classes(units: usize) -> BTreeMap<UnitId, String> {
    (0..units)
        .map(|i| (unit(i), ["a", "b", "c"][i % 3].to_string()))
        .collect()
}

prop_compose! {
    fn capital()(
        budgets in prop::collection::vec(0.0f64..1000.0, 3),
        total in prop::option::of(500.0f64..3000.0),
        tranches in prop::collection::vec((0usize..6, 1.0f64..800.0, 0usize..3, 0usize..3, -0.5f64..2.0, 0.0f64..1.0), 1..15),
        floors in prop::collection::vec((0usize..6, 0.0f64..50.0, 0usize..3), 0..3),
        caps in prop::collection::vec((0usize..6, 0.0f64..300.0, 0usize..3), 0..3),
        cycles in prop::collection::vec((0usize..6, 0.0f64..20.0), 0..2),
        risk_aversion in 0.0f64..1.0,
    ) -> Capital {
        Capital {
            name: "generated".into(),
            currency: "CNY".into(),
            scale: Some("millions".into()),
            total,
            risk_aversion,
            classes_on: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
            budgets: budgets.iter().zip(YEARS).map(|(amount, year)| Budget { year, amount: *amount, line: 1 }).collect(),
            proceeds: Vec::new(),
            tranches: tranches.iter().enumerate().map(|(i, (u, amount, a, b, value, risk))| Tranche {
                id: format!("t{i}"),
                unit: unit(*u),
                amount: *amount,
                years: (YEARS[*a.min(b)], YEARS[*a.max(b)]),
                value: *value,
                risk: *risk,
                line: 1,
            }).collect(),
            floors: floors.iter().map(|(u, amount, y)| UnitBound { unit: unit(*u), amount: *amount, years: (YEARS[*y], YEARS[*y]), note: None, line: 1 }).collect(),
            caps: caps.iter().map(|(u, amount, y)| UnitBound { unit: unit(*u), amount: *amount, years: (YEARS[*y], YEARS[*y]), note: None, line: 1 }).collect(),
            cycles: cycles.iter().map(|(u, amount)| UnitBound { unit: unit(*u), amount: *amount, years: (YEARS[0], YEARS[2]), note: None, line: 1 }).collect(),
            previous: Vec::new(),
        }
    }
}

/// The solver's accuracy: about 1e-8 of the problem's scale (budgets up to 1,000), with margin.
fn tolerance(amount: f64) -> f64 {
    1e-6 * amount.max(1000.0)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn a_plan_respects_every_budget_and_bound(capital in capital(), min_a in 0.0f64..0.3, max_c in 0.05f64..0.6) {
        let strategy = strategy(min_a, max_c);
        let classes = classes(6);
        match plan::solve(&capital, Some(&strategy), &classes) {
            Ok(plan) => {
                let mut per_unit_year: BTreeMap<(UnitId, i32), f64> = BTreeMap::new();
                for a in &plan.allocation {
                    prop_assert!(a.amount >= -tolerance(1000.0));
                    *per_unit_year.entry((a.unit.clone(), a.year)).or_default() += a.amount;
                }
                let mut grand = 0.0;
                for (budget, year) in capital.budgets.iter().zip(YEARS) {
                    let spent: f64 = plan.allocation.iter().filter(|a| a.year == year).map(|a| a.amount).sum();
                    grand += spent;
                    prop_assert!(spent <= budget.amount + tolerance(budget.amount), "{year}: {spent} > {}", budget.amount);
                    let of_class = |c: &str| plan.allocation.iter().filter(|a| a.year == year && a.class == c).map(|a| a.amount).sum::<f64>();
                    if min_a > 0.0 {
                        prop_assert!(of_class("a") >= min_a * budget.amount - tolerance(budget.amount), "class a {year}");
                    }
                    prop_assert!(of_class("c") <= max_c * budget.amount + tolerance(budget.amount), "class c {year}");
                }
                if let Some(total) = capital.total {
                    prop_assert!(grand <= total + tolerance(total));
                }
                for floor in &capital.floors {
                    let got = per_unit_year.get(&(floor.unit.clone(), floor.years.0)).copied().unwrap_or(0.0);
                    prop_assert!(got >= floor.amount - tolerance(floor.amount), "floor {floor:?}: {got}");
                }
                for cycle in &capital.cycles {
                    for year in YEARS {
                        let got = per_unit_year.get(&(cycle.unit.clone(), year)).copied().unwrap_or(0.0);
                        prop_assert!(got >= cycle.amount - tolerance(cycle.amount), "cycle {cycle:?} in {year}: {got}");
                    }
                }
                for cap in &capital.caps {
                    let got = per_unit_year.get(&(cap.unit.clone(), cap.years.0)).copied().unwrap_or(0.0);
                    prop_assert!(got <= cap.amount + tolerance(cap.amount), "cap {cap:?}: {got}");
                }
            }
            Err(PlanError::Infeasible(conflict)) => {
                prop_assert!(!conflict.is_empty());
                // The conflict is irreducible: infeasible on its own, feasible without any one of it.
                let lp = plan::build(&capital, Some(&strategy), &classes).lp;
                let groups = lp.conflict();
                let others: std::collections::BTreeSet<String> = lp.groups().into_iter().filter(|g| !groups.contains(g)).collect();
                prop_assert!(!lp.feasible_without(&others));
                for group in &groups {
                    let mut without = others.clone();
                    without.insert(group.clone());
                    prop_assert!(lp.feasible_without(&without), "{group} is not needed");
                }
            }
            Err(other) => prop_assert!(false, "{other:?}"),
        }
    }

    #[test]
    fn more_budget_never_lowers_the_value(capital in capital(), max_c in 0.05f64..0.6, year in 0usize..3, extra in 1.0f64..500.0) {
        // Least shares of the budget are left out: they rise with the budget and may force
        // money into worse tranches, so for them the property does not hold.
        let strategy = strategy(0.0, max_c);
        let classes = classes(6);
        if let Ok(base) = plan::solve(&capital, Some(&strategy), &classes) {
            let mut richer = capital.clone();
            richer.budgets[year].amount += extra;
            if let Some(total) = richer.total.as_mut() {
                *total += extra;
            }
            let more = plan::solve(&richer, Some(&strategy), &classes);
            prop_assert!(more.is_ok(), "{more:?}");
            let more = more.unwrap();
            prop_assert!(more.objective >= base.objective - 1e-6 * base.objective.abs().max(1.0), "{} < {}", more.objective, base.objective);
        }
    }

    #[test]
    fn classification_does_not_depend_on_order(seed in any::<u64>()) {
        let base = example();
        let mut shuffled = base.clone();
        let text = shuffled.documents["assessments.csv"].clone();
        let mut lines: Vec<&str> = text.lines().collect();
        let header = lines.remove(0);
        // A deterministic shuffle from the seed.
        let mut state = seed | 1;
        for i in (1..lines.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            lines.swap(i, (state % (i as u64 + 1)) as usize);
        }
        shuffled.documents.insert("assessments.csv".into(), format!("{header}\n{}\n", lines.join("\n")));
        let strategy_text = shuffled.documents["strategy.toml"].replace(
            "\"china_commerce\", \"international_commerce\", \"local_services\", \"cloud_intelligence\", \"cainiao\",",
            "\"cainiao\", \"cloud_intelligence\", \"local_services\", \"international_commerce\", \"china_commerce\",",
        );
        shuffled.documents.insert("strategy.toml".into(), strategy_text);
        let date = NaiveDate::from_ymd_opt(2023, 11, 16).unwrap();
        let summary = |model: &holdco_core::Model| {
            let strategy = holdco_strategy::check(model).0.strategy.unwrap();
            let engine = Engine::new(model).unwrap();
            holdco_strategy::classify::classify(&engine, &strategy, date)
                .units
                .into_iter()
                .map(|u| (u.unit, u.class, u.score.to_bits(), u.criteria.iter().map(|c| (c.criterion.clone(), c.value.map(f64::to_bits), c.contribution.to_bits())).collect::<Vec<_>>()))
                .collect::<Vec<_>>()
        };
        let first = summary(&base);
        prop_assert_eq!(&first, &summary(&base), "deterministic");
        prop_assert_eq!(&first, &summary(&shuffled), "independent of order");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any edit of the example's documents is either accepted or reported; nothing panics,
    /// and whatever is accepted can be classified and planned.
    #[test]
    fn edited_documents_never_panic(file in 0usize..3, at in any::<prop::sample::Index>(), cut in 0usize..40, insert in "[ -~\n]{0,30}") {
        let name = ["strategy.toml", "assessments.csv", "capital.toml"][file];
        let mut model = example();
        let text = model.documents[name].clone();
        let mut position = at.index(text.len() + 1);
        while !text.is_char_boundary(position) {
            position -= 1;
        }
        let mut end = (position + cut).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let edited = format!("{}{insert}{}", &text[..position], &text[end..]);
        model.documents.insert(name.to_string(), edited);
        let (documents, problems) = holdco_strategy::check(&model);
        if problems.is_empty() {
            let engine = Engine::new(&model).unwrap();
            if let Some(strategy) = &documents.strategy {
                let _ = holdco_strategy::classify::classify(&engine, strategy, NaiveDate::from_ymd_opt(2023, 11, 16).unwrap());
            }
            if let Some(capital) = &documents.capital {
                let classes = plan::classes_on(&engine, documents.strategy.as_ref(), capital.classes_on);
                let _ = plan::solve(capital, documents.strategy.as_ref(), &classes);
            }
        } else {
            prop_assert!(problems.iter().all(|p| !p.message.is_empty() && !p.file.is_empty()));
        }
    }
}
