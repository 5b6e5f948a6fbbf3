//! The rules of the decision maths that docs/semantics.md section 6 states, one test each:
//! reporting factors per year, dis-synergies, discounting of one-offs and multiples,
//! empirical distributions, the yearly common factor, capital by fiscal year, the tornado
//! of a comparison, percentile rounding and the warning for a merged-away unit.

use crate::common::{example, part, projection, with_scenario};
use holdco_scenario::compile::{compile, compile_with_warnings, years_from_valuation};
use holdco_scenario::dist::Dist;
use holdco_scenario::engine::{self, Basis, Correlation, Method, OneOff, Var};
use holdco_scenario::report::{self, round_to_accuracy};
use holdco_scenario::spec;

fn quiet(_: u64) {}

/// A scenario on top of keep-cloud (its assumptions inherited) with `extra` appended.
fn on_keep_cloud(name: &str, extra: &str) -> holdco_core::Model {
    with_scenario(
        name,
        &format!("title = \"{name}\"\nbase = \"keep-cloud\"\n{extra}"),
    )
}

#[test]
fn a_stake_cut_in_fy2028_reports_in_full_before() {
    // Cloud's stake cut to 40% (share consolidation) on 2027-04-01, the first day of FY2028.
    let model = on_keep_cloud(
        "cut",
        "[[change]]\nid = \"cut-cloud\"\ndate = 2027-04-01\nkind = \"stake\"\nunit = \"cloud_intelligence\"\nshare = 0.4\nconsolidation = \"share\"\n",
    );
    let (scenarios, problems) = spec::read_all(&model);
    assert!(problems.is_empty(), "{problems:#?}");
    let cut = compile(&model, &scenarios["cut"]).unwrap();
    let cloud = cut
        .parts
        .iter()
        .find(|p| p.unit == "cloud_intelligence")
        .unwrap();
    assert_eq!(cloud.report, vec![1.0, 1.0, 0.4, 0.4, 0.4]);
    // The valuation takes the stake at the end of the horizon.
    assert_eq!(cloud.held, 0.4);
    // A cut in the middle of FY2027 (2026-10-01, day 183 of 365) reports by days held.
    let model = on_keep_cloud(
        "mid",
        "[[change]]\nid = \"cut-cloud\"\ndate = 2026-10-01\nkind = \"stake\"\nunit = \"cloud_intelligence\"\nshare = 0.4\nconsolidation = \"share\"\n",
    );
    let (scenarios, _) = spec::read_all(&model);
    let mid = compile(&model, &scenarios["mid"]).unwrap();
    let cloud = mid
        .parts
        .iter()
        .find(|p| p.unit == "cloud_intelligence")
        .unwrap();
    let expected = (183.0 + 182.0 * 0.4) / 365.0;
    assert!(
        (cloud.report[1] - expected).abs() < 1e-12,
        "{:?}",
        cloud.report
    );
}

#[test]
fn projected_revenue_follows_the_reporting_factor_of_each_year() {
    // Revenue 100, no growth, reported in full in year 1 and at 40% in year 2.
    let mut a = part(
        "a",
        100.0,
        Dist::Fixed(0.0),
        Dist::Fixed(0.2),
        Dist::Fixed(10.0),
    );
    a.report = vec![1.0, 0.4];
    let p = projection("r", vec![a], 3, 1);
    let simulation = engine::simulate(&[&p], 256, 1, &quiet);
    let stats = &simulation.stats[0];
    let revenue: Vec<f64> = stats.revenue.iter().map(|s| s.quantile(0.5)).collect();
    let ebita: Vec<f64> = stats.ebita.iter().map(|s| s.quantile(0.5)).collect();
    // Sketch quantiles are within 0.2% (a constant is stored in one bucket).
    for (got, want) in revenue.iter().zip([100.0, 40.0, 40.0]) {
        assert!((got - want).abs() <= 0.002 * want, "{revenue:?}");
    }
    for (got, want) in ebita.iter().zip([20.0, 8.0, 8.0]) {
        assert!((got - want).abs() <= 0.002 * want, "{ebita:?}");
    }
}

#[test]
fn a_dis_synergy_takes_revenue_from_a_part_valued_on_revenue_and_ebita_only_from_one_on_ebita() {
    // Revenue 100, margin 20%, 2x revenue or 10x EBITA in year 1, 10% lost from year 1.
    let lost = || Some((Var::one("separation.x.dis_synergy.a", Dist::Fixed(0.1)), 0));
    let mut on_revenue = part(
        "a",
        100.0,
        Dist::Fixed(0.0),
        Dist::Fixed(0.2),
        Dist::Fixed(2.0),
    );
    on_revenue.basis = Basis::Revenue;
    on_revenue.dis_synergy = lost();
    let mut on_ebita = part(
        "a",
        100.0,
        Dist::Fixed(0.0),
        Dist::Fixed(0.2),
        Dist::Fixed(10.0),
    );
    on_ebita.dis_synergy = lost();
    for (p, revenue_after) in [
        (projection("rev", vec![on_revenue], 1, 1), 90.0),
        (projection("ebita", vec![on_ebita], 1, 1), 100.0),
    ] {
        let simulation = engine::simulate(&[&p], 256, 1, &quiet);
        let stats = &simulation.stats[0];
        // Both lose 10% of a value of 200: the bridge shows 200 and -20.
        let lines = p.line_names();
        let line = |name: &str| stats.lines[lines.iter().position(|l| l == name).unwrap()].mean();
        assert!(
            (line("a") - 200.0).abs() < 1e-9 && (line("dis-synergies") + 20.0).abs() < 1e-9,
            "{}: {} {}",
            p.name,
            line("a"),
            line("dis-synergies")
        );
        assert!((stats.value.mean() - 180.0).abs() < 1e-9);
        // EBITA loses 10% in both; revenue only where the part is valued on revenue.
        assert!(
            (stats.ebita[0].quantile(0.5) - 18.0).abs() <= 0.002 * 18.0,
            "{}",
            p.name
        );
        assert!(
            (stats.revenue[0].quantile(0.5) - revenue_after).abs() <= 0.002 * revenue_after,
            "{}: {}",
            p.name,
            stats.revenue[0].quantile(0.5)
        );
    }
}

#[test]
fn a_dis_synergy_runs_from_its_year_through_the_terminal_value_before_the_holding_discount() {
    // DCF over 3 years: revenue 100 flat, margin 20%, conversion 1, WACC 10%, terminal growth
    // 0; 10% lost from year 2 (index 1); holding discount 20% on what is left.
    let mut a = part(
        "a",
        100.0,
        Dist::Fixed(0.0),
        Dist::Fixed(0.2),
        Dist::Fixed(0.0),
    );
    a.dis_synergy = Some((Var::one("separation.x.dis_synergy.a", Dist::Fixed(0.1)), 1));
    let mut p = projection("dcf", vec![a], 3, 1);
    p.method = Method::Dcf {
        wacc: Var::one("valuation.wacc", Dist::Fixed(0.1)),
        terminal_growth: Var::one("valuation.terminal_growth", Dist::Fixed(0.0)),
        conversion: Var::one("valuation.cash_conversion", Dist::Fixed(1.0)),
    };
    p.discount = Some(Var::one("valuation.holding_discount", Dist::Fixed(0.2)));
    let cash = [20.0, 18.0, 18.0];
    let mut by_hand: f64 = cash
        .iter()
        .enumerate()
        .map(|(t, c)| c / 1.1f64.powi(t as i32 + 1))
        .sum();
    by_hand += 18.0 * 1.0 / 0.1 / 1.1f64.powi(3);
    by_hand *= 0.8;
    let value = engine::value_at(&p, None);
    assert!(
        (value - by_hand).abs() < 1e-9 * by_hand,
        "{value} vs {by_hand}"
    );
}

#[test]
fn a_multiple_is_discounted_year_minus_one_years() {
    // 10x EBITA of year 3 (revenue 100 growing 10%, margin 20%) at a 10% rate: two years.
    let mut p = projection(
        "m",
        vec![part(
            "a",
            100.0,
            Dist::Fixed(0.1),
            Dist::Fixed(0.2),
            Dist::Fixed(10.0),
        )],
        5,
        3,
    );
    p.method = Method::Multiple {
        year: 3,
        rate: Some(Var::one("valuation.discount_rate", Dist::Fixed(0.1))),
    };
    let by_hand = 10.0 * 100.0 * 1.1f64.powi(3) * 0.2 / 1.1f64.powi(2);
    let value = engine::value_at(&p, None);
    assert!(
        (value - by_hand).abs() < 1e-9 * by_hand,
        "{value} vs {by_hand}"
    );
}

#[test]
fn one_offs_are_discounted_from_the_day_they_fall_due() {
    // A cost of 100 due 1.5 years after the valuation date and proceeds of 50 today, at a
    // 10% rate (multiple method) and at a WACC of 8% (DCF); net cash is never discounted.
    let base = part(
        "a",
        100.0,
        Dist::Fixed(0.0),
        Dist::Fixed(0.2),
        Dist::Fixed(0.0),
    );
    let mut p = projection("m", vec![base], 3, 1);
    p.method = Method::Multiple {
        year: 1,
        rate: Some(Var::one("valuation.discount_rate", Dist::Fixed(0.1))),
    };
    p.costs.push(OneOff::at(
        Var::one("separation.x.cost", Dist::Fixed(100.0)),
        1.5,
    ));
    p.proceeds.push(OneOff::now(Var::one(
        "separation.x.proceeds",
        Dist::Fixed(50.0),
    )));
    p.net_cash = Some(Var::one("valuation.net_cash", Dist::Fixed(7.0)));
    let value = engine::value_at(&p, None);
    let by_hand = -100.0 * 1.1f64.powf(-1.5) + 50.0 + 7.0;
    assert!((value - by_hand).abs() < 1e-9, "{value} vs {by_hand}");
    p.method = Method::Dcf {
        wacc: Var::one("valuation.wacc", Dist::Fixed(0.08)),
        terminal_growth: Var::one("valuation.terminal_growth", Dist::Fixed(0.0)),
        conversion: Var::one("valuation.cash_conversion", Dist::Fixed(0.0)),
    };
    let value = engine::value_at(&p, None);
    let by_hand = -100.0 * 1.08f64.powf(-1.5) + 50.0 + 7.0;
    assert!((value - by_hand).abs() < 1e-9, "{value} vs {by_hand}");
    // Without a discount rate (multiple method), nothing is discounted.
    p.method = Method::Multiple {
        year: 1,
        rate: None,
    };
    assert!((engine::value_at(&p, None) - (-100.0 + 50.0 + 7.0)).abs() < 1e-9);
}

#[test]
fn the_spin_off_cost_falls_due_on_its_date() {
    // The spin-off of 2025-06-30 falls 90 days into FY2026 (2025-04-01, 365 days).
    let model = example();
    let (scenarios, _) = spec::read_all(&model);
    let spin = compile(&model, &scenarios["spin-off-cloud"]).unwrap();
    assert_eq!(spin.costs.len(), 1);
    assert!(
        (spin.costs[0].years - 90.0 / 365.0).abs() < 1e-12,
        "{}",
        spin.costs[0].years
    );
    let periods: Vec<holdco_core::Period> = (2026..=2030)
        .map(|y| holdco_core::Period::parse(&format!("FY{y}"), model.group.calendar()).unwrap())
        .collect();
    let date = |text: &str| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    assert_eq!(years_from_valuation(&periods, date("2025-04-01")), 0.0);
    assert_eq!(years_from_valuation(&periods, date("2027-04-01")), 2.0);
    assert_eq!(years_from_valuation(&periods, date("2024-12-31")), 0.0);
}

#[test]
fn an_empirical_distribution_interpolates_between_its_values() {
    // Values 0.01, 0.02, 0.05: the median is 0.02, P25 halfway between 0.01 and 0.02, and
    // draws fill the gaps rather than repeat the three values.
    let dist = Dist::empirical(vec![0.05, 0.01, 0.02]).unwrap();
    assert_eq!(dist.quantile(0.5), 0.02);
    assert!((dist.quantile(0.25) - 0.015).abs() < 1e-15);
    assert!((dist.quantile(0.75) - 0.035).abs() < 1e-15);
    assert!((dist.at_z(0.0) - 0.02).abs() < 1e-15);
    let p = projection(
        "e",
        vec![part("a", 100.0, dist, Dist::Fixed(1.0), Dist::Fixed(1.0))],
        1,
        1,
    );
    let simulation = engine::simulate(&[&p], 4096, 3, &quiet);
    let q = |x: f64| simulation.stats[0].value_sketch.quantile(x);
    // 100 x (1 + g): about 101.5 at P25 and 103.5 at P75, values no sample holds.
    assert!(
        (q(0.25) - 101.5).abs() < 0.3 && (q(0.75) - 103.5).abs() < 0.3,
        "{} {}",
        q(0.25),
        q(0.75)
    );
}

#[test]
fn growth_from_history_is_an_empirical_distribution_centred_on_the_median_year() {
    let mut model = example();
    let text = model.documents["scenarios/keep-cloud.toml"].replace(
        "growth = { dist = \"normal\", mean = 0.04, sd = 0.03, note = \"Assumption, informed by FY2025 growth of 4.2% (508,375 vs 487,771 restated).\" }",
        "growth = { dist = \"history\" }",
    );
    model
        .documents
        .insert("scenarios/keep-cloud.toml".into(), text);
    let (scenarios, _) = spec::read_all(&model);
    let keep = compile(&model, &scenarios["keep-cloud"]).unwrap();
    let china = keep
        .parts
        .iter()
        .find(|p| p.unit == "china_commerce")
        .unwrap();
    let Dist::Empirical(values) = &china.growth.dists[0] else {
        panic!("{:?}", china.growth.dists)
    };
    // One distribution for every year (drawn afresh each year), its median the median
    // restated yearly growth.
    assert_eq!(china.growth.dists.len(), 1);
    let mut sorted = values.clone();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    assert!((china.growth.at(0, 0.0) - median).abs() < 1e-12);
    assert!((china.growth.at(4, 0.0) - median).abs() < 1e-12);
}

#[test]
fn the_common_factor_is_drawn_once_a_year_independently_across_years() {
    // Two parts, growth N(0, 0.1) each year, factor correlation 1: both parts see the same
    // growth in a year. Over two years the value 100 (1 + g1)(1 + g2) per part has variance
    // 100^2 ((1 + 0.01)^2 - 1) = 201 if g1 and g2 are independent; a factor shared across
    // years would give 100^2 (E(1 + g)^4 - 1) = 100^2 x 0.0603 = 603.
    let parts = vec![
        part(
            "a",
            100.0,
            Dist::Normal { mean: 0.0, sd: 0.1 },
            Dist::Fixed(1.0),
            Dist::Fixed(1.0),
        ),
        part(
            "b",
            100.0,
            Dist::Normal { mean: 0.0, sd: 0.1 },
            Dist::Fixed(1.0),
            Dist::Fixed(1.0),
        ),
    ];
    let mut p = projection("f", parts, 2, 2);
    p.correlation = Correlation::Factor(1.0);
    let n = 200_000u64;
    let simulation = engine::simulate(&[&p], n, 8, &quiet);
    let sd = simulation.stats[0].value.sd();
    // Perfectly correlated parts: the sum has twice one part's sd.
    let expected = 2.0 * 201f64.sqrt();
    let se = expected / (2.0 * n as f64).sqrt();
    assert!(
        (sd - expected).abs() < 4.0 * se * 1.5,
        "sd {sd} vs {expected}"
    );
}

#[test]
fn capital_elasticity_maps_plan_years_to_the_fiscal_years_that_start_in_them() {
    let model = example();
    let (scenarios, _) = spec::read_all(&model);
    let keep = compile(&model, &scenarios["keep-cloud"]).unwrap();
    let cloud = keep
        .parts
        .iter()
        .find(|p| p.unit == "cloud_intelligence")
        .unwrap();
    // The plan's calendar years 2025, 2026, 2027 feed FY2026 (starting 2025-04-01), FY2027
    // and FY2028; FY2029 and FY2030 get nothing.
    assert_eq!(
        keep.years,
        ["FY2026", "FY2027", "FY2028", "FY2029", "FY2030"]
    );
    let (documents, _) = holdco_strategy::check(&model);
    let capital = documents.capital.as_ref().unwrap();
    let engine = holdco_core::rollup::Engine::new(&model).unwrap();
    let classes =
        holdco_strategy::plan::classes_on(&engine, documents.strategy.as_ref(), capital.classes_on);
    let plan =
        holdco_strategy::plan::solve(capital, documents.strategy.as_ref(), &classes).unwrap();
    for (t, year) in [2025, 2026, 2027].into_iter().enumerate() {
        let planned: f64 = plan
            .allocation
            .iter()
            .filter(|a| a.unit.as_str() == "cloud_intelligence" && a.year == year)
            .map(|a| a.amount)
            .sum();
        assert!(
            (cloud.capital[t] - planned).abs() < 1e-6,
            "{t}: {} vs {planned}",
            cloud.capital[t]
        );
    }
    assert_eq!(&cloud.capital[3..], &[0.0, 0.0]);
    assert_eq!(cloud.elasticity, 0.03);
    // The effect: growth + elasticity x capital / last year's revenue, year by year.
    let mut a = part(
        "a",
        100.0,
        Dist::Fixed(0.05),
        Dist::Fixed(1.0),
        Dist::Fixed(1.0),
    );
    a.elasticity = 0.5;
    a.capital = vec![20.0, 0.0];
    let p = projection("c", vec![a], 2, 2);
    let by_hand = 100.0 * (1.0 + 0.05 + 0.5 * 20.0 / 100.0) * 1.05;
    assert!((engine::value_at(&p, None) - by_hand).abs() < 1e-9);
}

#[test]
fn the_tornado_of_a_comparison_moves_only_what_differs() {
    let model = example();
    let (scenarios, _) = spec::read_all(&model);
    let keep = compile(&model, &scenarios["keep-cloud"]).unwrap();
    let spin = compile(&model, &scenarios["spin-off-cloud"]).unwrap();
    let (base, shown, dropped) = engine::tornado(&spin, Some(&keep), 5);
    assert_eq!(shown.len(), 5);
    assert!(!dropped.is_empty());
    // Base: both at all medians, not the Monte Carlo mean.
    assert!((base - (engine::value_at(&spin, None) - engine::value_at(&keep, None))).abs() < 1e-6);
    // Net cash and other assets are added alike to both: they cannot move A - B.
    for s in shown.iter().chain(&dropped) {
        assert!(
            !["valuation.other_assets", "valuation.net_cash"].contains(&s.assumption.as_str()),
            "{s:?}"
        );
    }
    // The holding discount moves it most, and each end is the paired difference of the two
    // scenarios' values with the discount at that end.
    assert_eq!(shown[0].assumption, "valuation.holding_discount");
    let at = |p: &engine::Projection, z: f64| {
        engine::value_at(p, Some(("valuation.holding_discount", z)))
    };
    assert!((shown[0].low - (at(&spin, -engine::Z90) - at(&keep, -engine::Z90))).abs() < 1e-6);
    assert!((shown[0].high - (at(&spin, engine::Z90) - at(&keep, engine::Z90))).abs() < 1e-6);
    // Cloud's multiple differs between the two (4.0 kept, 4.5 spun off, as medians): the note
    // says where it lands in each.
    let multiple = shown
        .iter()
        .find(|s| s.assumption == "unit.cloud_intelligence.multiple")
        .unwrap();
    assert!(
        multiple.low_note.starts_with("spin-off-cloud: ")
            && multiple.low_note.contains(", keep-cloud: "),
        "{}",
        multiple.low_note
    );
    // Sorted by swing, the dropped ones no wider than the narrowest shown.
    let swing = |s: &engine::Swing| (s.high - s.low).abs();
    assert!(dropped.iter().all(|d| swing(d) <= swing(&shown[4])));
    // The report names them, says what the tornado is, and labels units by name.
    let simulation = engine::simulate(&[&spin, &keep], 2048, 1, &quiet);
    let comparison = report::compare((&spin, "spin"), (&keep, "keep"), "CNY", &simulation, 5);
    assert!(comparison.tornado.method.contains("all-median point"));
    assert_eq!(comparison.tornado.dropped.len(), dropped.len());
    assert_eq!(
        comparison.tornado.label("unit.cloud_intelligence.multiple"),
        "阿里云智能集团 Cloud Intelligence Group: multiple"
    );
    let charts = report::charts(
        &[&comparison.a, &comparison.b],
        &comparison.tornado,
        &report::ChartContext::default(),
    );
    let tornado = &charts
        .iter()
        .find(|(name, _)| name == "tornado.svg")
        .unwrap()
        .1;
    assert!(
        tornado.contains("all-median point") && tornado.contains("Not shown"),
        "{tornado}"
    );
}

#[test]
fn ties_count_half_in_p_a_greater_than_b() {
    // A equals B on every path (no assumption differs): every path ties, P = 1/2.
    let make = |name: &str| {
        projection(
            name,
            vec![part(
                "a",
                100.0,
                Dist::Normal {
                    mean: 0.05,
                    sd: 0.1,
                },
                Dist::Fixed(0.2),
                Dist::Fixed(10.0),
            )],
            2,
            1,
        )
    };
    let (a, b) = (make("a"), make("b"));
    let simulation = engine::simulate(&[&a, &b], 3000, 4, &quiet);
    let diff = simulation.diff.as_ref().unwrap();
    assert_eq!((diff.wins, diff.ties), (0, 3000));
    assert_eq!(diff.p_greater(), 0.5);
    // A ahead by a fixed amount on every path: P = 1.
    let mut ahead = make("ahead");
    ahead.proceeds.push(OneOff::now(Var::one(
        "separation.x.proceeds",
        Dist::Fixed(1.0),
    )));
    let simulation = engine::simulate(&[&ahead, &b], 3000, 4, &quiet);
    assert_eq!(simulation.diff.as_ref().unwrap().p_greater(), 1.0);
}

#[test]
fn percentiles_are_rounded_to_the_sketch_accuracy() {
    assert_eq!(round_to_accuracy(2_433_363.0, 0.002), 2_433_000.0);
    assert_eq!(round_to_accuracy(42_960.4, 0.002), 42_960.0);
    assert_eq!(round_to_accuracy(-29_886.0, 0.002), -29_890.0);
    assert_eq!(round_to_accuracy(123.456, 0.0), 123.456);
    let p = projection(
        "q",
        vec![part(
            "a",
            1000.0,
            Dist::Normal {
                mean: 0.05,
                sd: 0.1,
            },
            Dist::Fixed(1.0),
            Dist::Fixed(1.0),
        )],
        1,
        1,
    );
    let simulation = engine::simulate(&[&p], 4096, 2, &quiet);
    let result = report::scenario_result(&p, "q", "CNY", &simulation.stats[0]);
    assert_eq!(result.value.quantile_accuracy, engine::SKETCH_ALPHA);
    // About 1,050 at ±0.2% (±2.1): whole units.
    assert_eq!(result.value.p50, result.value.p50.round());
}

#[test]
fn a_merged_away_units_assumptions_are_warned_as_unused() {
    let model = example();
    let (scenarios, _) = spec::read_all(&model);
    let (one, warnings) = compile_with_warnings(&model, &scenarios["one-alibaba"]).unwrap();
    assert!(one.parts.iter().all(|p| p.unit != "international_commerce"));
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    let w = &warnings[0];
    assert_eq!(w.field.as_deref(), Some("unit.international_commerce"));
    assert_eq!(w.file, "scenarios/keep-cloud.toml");
    assert!(
        w.message
            .contains("merges it into `china_commerce` on 2025-09-30")
            && w.message.contains("not used"),
        "{}",
        w.message
    );
    // A scenario that merges nothing warns of nothing.
    let (_, none) = compile_with_warnings(&model, &scenarios["keep-cloud"]).unwrap();
    assert!(none.is_empty(), "{none:#?}");
}
