//! Golden figures of the Alibaba example: the 2023-11-16 classification and the 2025 plan.

use crate::common::example;
use chrono::NaiveDate;
use holdco_core::rollup::Engine;
use holdco_strategy::{check, classify::classify, plan};
use std::collections::BTreeMap;

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

#[test]
fn the_documents_are_clean() {
    let model = example();
    let (documents, problems) = check(&model);
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(documents.strategy.is_some() && documents.capital.is_some());
}

#[test]
fn the_2023_classification_names_the_four_innovation_businesses() {
    let model = example();
    let (documents, _) = check(&model);
    let strategy = documents.strategy.unwrap();
    let engine = Engine::new(&model).unwrap();
    let result = classify(&engine, &strategy, date("2023-11-16"));
    assert!(result.problems.is_empty(), "{:#?}", result.problems);
    let classes: BTreeMap<String, (String, f64)> = result
        .units
        .iter()
        .map(|u| {
            (
                u.unit.to_string(),
                (u.class.clone().unwrap(), (u.score * 100.0).round() / 100.0),
            )
        })
        .collect();
    let expected = [
        ("amap", "core", 68.75),
        ("cainiao", "core", 62.5),
        ("china_commerce", "core", 75.0),
        ("cloud_intelligence", "core", 87.5),
        ("dingtalk", "strategic_innovation", 81.25),
        ("dme", "non_core", 25.0),
        ("eleme", "core", 43.75),
        ("fliggy", "core", 43.75),
        ("freshippo", "non_core", 43.75),
        ("international_commerce", "core", 62.5),
        ("intime", "non_core", 0.0),
        ("local_services", "core", 43.75),
        ("quark", "strategic_innovation", 81.25),
        ("sun_art", "non_core", 6.25),
        ("wholesale_1688", "strategic_innovation", 75.0),
        ("xianyu", "strategic_innovation", 87.5),
    ];
    let expected: BTreeMap<String, (String, f64)> = expected
        .iter()
        .map(|(u, c, s)| (u.to_string(), (c.to_string(), *s)))
        .collect();
    assert_eq!(classes, expected);
    // The rules agree with every decision recorded on the day.
    for unit in &result.units {
        if let Some(recorded) = &unit.recorded {
            assert_eq!(Some(&recorded.class), unit.class.as_ref(), "{}", unit.unit);
            assert_eq!(recorded.date, date("2023-11-16"));
        }
    }
    // Computed criteria read FY2023 restated into the structure of the day.
    assert_eq!(result.fiscal_year, "FY2023");
    let china = result
        .units
        .iter()
        .find(|u| u.unit.as_str() == "china_commerce")
        .unwrap();
    // Taobao and Tmall Group's FY2023 as Alibaba published it in the 1+6+N structure
    // (413,206), not the old China commerce segment with the direct-sales businesses (582,731):
    // the calibrated S1 -> S2 bridge reproduces it within rounding of its shares.
    assert!(
        (china.size_value.unwrap() - 413_206.0).abs() < 5.0,
        "{:?}",
        china.size_value
    );
}

#[test]
fn before_the_decision_nothing_is_recorded_and_after_the_sales_the_retailers_are_gone() {
    let model = example();
    let strategy = check(&model).0.strategy.unwrap();
    let engine = Engine::new(&model).unwrap();
    let before = classify(&engine, &strategy, date("2023-11-15"));
    assert!(before.units.iter().all(|u| u.recorded.is_none()));
    let after = classify(&engine, &strategy, date("2025-05-15"));
    let absent: Vec<&str> = after.absent.iter().map(|u| u.as_str()).collect();
    assert_eq!(absent, vec!["intime", "local_services", "sun_art"]);
}

#[test]
fn the_2025_plan_spends_the_380bn_and_the_proceeds() {
    let model = example();
    let (documents, _) = check(&model);
    let capital = documents.capital.as_ref().unwrap();
    let engine = Engine::new(&model).unwrap();
    let classes = plan::classes_on(&engine, documents.strategy.as_ref(), capital.classes_on);
    let plan = plan::solve(capital, documents.strategy.as_ref(), &classes).unwrap();
    // 330,000 x 1.2 + 30,000 x 1.275 + 9,000 x 1.2 + 18,325 x 1.1 + 3,000 x (1.025 + 1.05 + 1.075)
    assert!(
        (plan.objective - 474_657.5).abs() < 1e-6 * 474_657.5,
        "{}",
        plan.objective
    );
    let mut per_unit: BTreeMap<String, f64> = BTreeMap::new();
    for a in &plan.allocation {
        *per_unit.entry(a.unit.to_string()).or_default() += a.amount;
    }
    let expected = [
        ("china_commerce", 18_325.0),
        ("cloud_intelligence", 360_000.0),
        ("dingtalk", 3_000.0),
        ("quark", 9_000.0),
        ("wholesale_1688", 3_000.0),
        ("xianyu", 3_000.0),
    ];
    assert_eq!(per_unit.len(), expected.len(), "{per_unit:?}");
    for (unit, amount) in expected {
        assert!(
            (per_unit[unit] - amount).abs() < 1.0,
            "{unit}: {}",
            per_unit[unit]
        );
    }
    let total: f64 = plan.years.iter().map(|y| y.allocated).sum();
    assert!((total - 396_325.0).abs() < 1.0, "{total}");
    // The total binds at the value of the marginal tranche (Taobao AI, 1.15 - 0.5 x 0.10).
    let total_binding = plan
        .binding
        .iter()
        .find(|b| b.constraint == "total")
        .unwrap();
    assert!(
        (total_binding.shadow_price - 1.10).abs() < 1e-4,
        "{}",
        total_binding.shadow_price
    );
    // The proceeds come from the non-core units, whose policy is to sell.
    assert_eq!(plan.realisations.len(), 3);
    assert!(
        plan.realisations
            .iter()
            .all(|r| r.class == "non_core" && r.form.as_deref() == Some("sale")),
        "{:?}",
        plan.realisations
    );
    let cycle = plan
        .binding
        .iter()
        .find(|b| b.constraint == "cycle_xianyu_2026")
        .unwrap();
    assert!(
        (cycle.shadow_price + 0.05).abs() < 1e-4,
        "{}",
        cycle.shadow_price
    );
}

#[test]
fn shadow_prices_match_a_re_solve_with_one_more_unit() {
    let model = example();
    let (documents, _) = check(&model);
    let mut capital = documents.capital.clone().unwrap();
    let engine = Engine::new(&model).unwrap();
    let classes = plan::classes_on(&engine, documents.strategy.as_ref(), capital.classes_on);
    let base = plan::solve(&capital, documents.strategy.as_ref(), &classes).unwrap();
    capital.total = capital.total.map(|t| t + 100.0);
    let more = plan::solve(&capital, documents.strategy.as_ref(), &classes).unwrap();
    let price = base
        .binding
        .iter()
        .find(|b| b.constraint == "total")
        .unwrap()
        .shadow_price;
    assert!(
        ((more.objective - base.objective) / 100.0 - price).abs() < 1e-3,
        "{} vs {price}",
        (more.objective - base.objective) / 100.0
    );
}

#[test]
fn the_reallocation_rate_counts_money_moved_between_units() {
    let model = example();
    let (documents, _) = check(&model);
    let mut capital = documents.capital.clone().unwrap();
    let engine = Engine::new(&model).unwrap();
    let classes = plan::classes_on(&engine, documents.strategy.as_ref(), capital.classes_on);
    let first = plan::solve(&capital, documents.strategy.as_ref(), &classes).unwrap();
    assert_eq!(first.reallocation, None);
    // The previous plan: this one, but with 3,000 of Taobao's 2025 money at Xianyu.
    capital.previous = first
        .allocation
        .iter()
        .map(|a| {
            let shift = match (a.unit.as_str(), a.year) {
                ("china_commerce", 2025) => -3_000.0,
                ("xianyu", 2025) => 3_000.0,
                _ => 0.0,
            };
            holdco_strategy::capital::Previous {
                unit: a.unit.clone(),
                year: a.year,
                amount: a.amount + shift,
            }
        })
        .collect();
    let second = plan::solve(&capital, documents.strategy.as_ref(), &classes).unwrap();
    let reallocation = second.reallocation.unwrap();
    assert!(
        (reallocation.moved - 3_000.0).abs() < 1e-3,
        "{reallocation:?}"
    );
    assert!(
        (reallocation.rate - 3_000.0 / 396_325.0).abs() < 1e-8,
        "{reallocation:?}"
    );
}

#[test]
fn the_2025_classification_says_what_changed_since_2023() {
    let model = example();
    let strategy = check(&model).0.strategy.unwrap();
    let engine = Engine::new(&model).unwrap();
    let result = classify(&engine, &strategy, date("2025-05-15"));
    assert_eq!(result.previous_date, Some(date("2023-11-16")));
    assert_eq!(result.fiscal_year, "FY2025");
    let eleme = result
        .units
        .iter()
        .find(|u| u.unit.as_str() == "eleme")
        .unwrap();
    assert_eq!(
        (eleme.class.as_deref(), eleme.score, eleme.previous_score),
        (Some("core"), 50.0, Some(43.75))
    );
    assert!(
        eleme.change.ends_with("score 43.8 on 2023-11-16"),
        "{}",
        eleme.change
    );
    let xianyu = result
        .units
        .iter()
        .find(|u| u.unit.as_str() == "xianyu")
        .unwrap();
    assert_eq!(xianyu.change, "strategic_innovation since 2023-11-16");
    // Growth and margin of FY2025 restated into the 2025 structure (the portfolio matrix).
    let cloud = result
        .units
        .iter()
        .find(|u| u.unit.as_str() == "cloud_intelligence")
        .unwrap();
    assert!(
        (cloud.growth.unwrap() - (118_028.0 / 106_374.0 - 1.0)).abs() < 1e-9,
        "{:?}",
        cloud.growth
    );
    assert!(
        (cloud.margin.unwrap() - 10_556.0 / 118_028.0).abs() < 1e-9,
        "{:?}",
        cloud.margin
    );
}

#[test]
fn a_degenerate_optimum_reports_one_sided_rates() {
    // The total set to the sum of the yearly budgets (395,000): the total and every yearly
    // budget bind together, and the dual of each alone is not unique (the solver returns
    // 0.58 for the total and 0.45 for each year). One more RMB m of any of them adds nothing
    // (the others still bind); one less loses the marginal use of money, which with the
    // 15,000 more to spend is a tranche worth 1.025 per RMB after risk.
    let model = example();
    let (documents, _) = check(&model);
    let mut capital = documents.capital.clone().unwrap();
    let engine = Engine::new(&model).unwrap();
    let classes = plan::classes_on(&engine, documents.strategy.as_ref(), capital.classes_on);
    capital.total = Some(capital.budgets.iter().map(|b| b.amount).sum());
    let degenerate = plan::solve(&capital, documents.strategy.as_ref(), &classes).unwrap();
    for name in ["total", "budget_2025", "budget_2026", "budget_2027"] {
        let b = degenerate
            .binding
            .iter()
            .find(|b| b.constraint == name)
            .unwrap_or_else(|| panic!("{name} binds: {:?}", degenerate.binding));
        assert!(b.degenerate, "{b:?}");
        assert_eq!(b.rate_up, Some(0.0), "{b:?}");
        assert!((b.rate_down.unwrap() - 1.025).abs() < 1e-3, "{b:?}");
    }
    // Checked by re-solving by hand: a whole RMB 1bn off the 2026 budget loses 1.025bn.
    let base = degenerate.objective;
    capital
        .budgets
        .iter_mut()
        .find(|b| b.year == 2026)
        .unwrap()
        .amount -= 1000.0;
    let less = plan::solve(&capital, documents.strategy.as_ref(), &classes)
        .unwrap()
        .objective;
    assert!(
        ((base - less) / 1000.0 - 1.025).abs() < 1e-3,
        "{}",
        (base - less) / 1000.0
    );
    // The example itself is not degenerate: its total binds with one rate both ways.
    let capital = documents.capital.clone().unwrap();
    let plan = plan::solve(&capital, documents.strategy.as_ref(), &classes).unwrap();
    let total = plan
        .binding
        .iter()
        .find(|b| b.constraint == "total")
        .unwrap();
    assert!(
        !total.degenerate && total.rate_up == Some(1.1) && total.rate_down == Some(1.1),
        "{total:?}"
    );
    assert!(
        plan.binding.iter().all(|b| !b.degenerate),
        "{:?}",
        plan.binding
    );
    // Measuring is bounded: with one row allowed, the total (a money row) is measured and the
    // twelve other binding rows show their duals only.
    let one = plan::solve_with_rates(&capital, documents.strategy.as_ref(), &classes, 1).unwrap();
    let measured: Vec<&str> = one
        .binding
        .iter()
        .filter(|b| b.rates_measured)
        .map(|b| b.constraint.as_str())
        .collect();
    assert_eq!(measured, ["total"]);
    assert_eq!(one.rates_not_measured, plan.binding.len() - 1);
    assert!(one
        .binding
        .iter()
        .filter(|b| !b.rates_measured)
        .all(|b| b.rate_up.is_none() && !b.degenerate && b.shadow_price != 0.0));
}

/// Rule 6.17: a strategic-innovation unit's cycle starts with its classification
/// (2023-11-16); the earliest review is 3 years on, the cycle ends after 5; the policy's
/// `review = 2026-11-16` is the next review; within six months of it the review is due,
/// after the cycle's end it is past.
#[test]
fn strategic_innovation_units_are_reviewed_on_their_three_to_five_year_cycle() {
    let model = example();
    let (documents, _) = check(&model);
    let strategy = documents.strategy.unwrap();
    let engine = Engine::new(&model).unwrap();
    let timeline = engine.timeline();
    let on = |d: &str| holdco_strategy::review::reviews(&strategy, timeline, date(d));
    assert!(on("2023-11-15").is_empty(), "nothing before the decision");
    let reviews = on("2025-04-01");
    let units: Vec<&str> = reviews.iter().map(|r| r.unit.as_str()).collect();
    assert_eq!(units, ["dingtalk", "quark", "wholesale_1688", "xianyu"]);
    for r in &reviews {
        assert_eq!(r.class, "strategic_innovation");
        assert_eq!(r.classified, date("2023-11-16"));
        assert_eq!(r.cycle_years, (3, 5));
        assert_eq!(r.earliest, date("2026-11-16"));
        assert_eq!(r.latest, date("2028-11-16"));
        assert_eq!(r.next, date("2026-11-16"));
        assert_eq!(r.status, "scheduled");
    }
    assert!(on("2026-06-01").iter().all(|r| r.status == "due"));
    assert!(on("2027-01-01").iter().all(|r| r.status == "due"));
    assert!(on("2028-11-17").iter().all(|r| r.status == "past"));
}
