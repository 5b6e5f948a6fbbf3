//! The bundled Alibaba scenarios: they parse, inherit, branch the timeline and value.

use crate::common::example;
use holdco_scenario::{compile::compile, engine, spec};

fn quiet(_: u64) {}

#[test]
fn the_three_scenarios_are_valid_and_inherit() {
    let model = example();
    assert_eq!(holdco_scenario::check(&model), Vec::new());
    let (scenarios, problems) = spec::read_all(&model);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        scenarios.keys().cloned().collect::<Vec<_>>(),
        ["keep-cloud", "one-alibaba", "spin-off-cloud"]
    );
    let spin = &scenarios["spin-off-cloud"];
    assert_eq!(spin.chain, ["spin-off-cloud", "keep-cloud"]);
    // Inherited from keep-cloud, overridden here.
    assert_eq!(
        spin.get("valuation.holding_discount").unwrap().file,
        "scenarios/keep-cloud.toml"
    );
    assert_eq!(
        spin.get("unit.cloud_intelligence.capital_elasticity")
            .unwrap()
            .file,
        "scenarios/spin-off-cloud.toml"
    );
}

#[test]
fn base_year_figures_are_holdcos_restated_fy2025() {
    let model = example();
    let (scenarios, _) = spec::read_all(&model);
    let keep = compile(&model, &scenarios["keep-cloud"]).unwrap();
    let revenue = |p: &engine::Projection, unit: &str| {
        p.parts.iter().find(|x| x.unit == unit).map(|x| x.revenue0)
    };
    // FY2025 restated into the four segments of 2025-04-01 (published: 508,380 for China
    // E-commerce; holdco's calibrated restatement gives 508,375).
    assert_eq!(revenue(&keep, "cloud_intelligence"), Some(118_028.0));
    assert_eq!(revenue(&keep, "international_commerce"), Some(132_300.0));
    assert!((revenue(&keep, "china_commerce").unwrap() - 508_380.0).abs() < 10.0);
    // One Alibaba merges international into China E-commerce: the part is restated from both.
    let one = compile(&model, &scenarios["one-alibaba"]).unwrap();
    assert_eq!(revenue(&one, "international_commerce"), None);
    let merged = revenue(&one, "china_commerce").unwrap();
    assert!(
        (merged - revenue(&keep, "china_commerce").unwrap() - 132_300.0).abs() < 1e-6,
        "{merged}"
    );
    // The spin-off hands Cloud to the shareholders.
    let spin = compile(&model, &scenarios["spin-off-cloud"]).unwrap();
    let cloud = spin
        .parts
        .iter()
        .find(|p| p.unit == "cloud_intelligence")
        .unwrap();
    assert_eq!((cloud.held, cloud.direct), (0.0, 1.0));
    // Reported in FY2026 up to the day before the spin-off (2025-04-01..2025-06-29: 90 of 365 days), not after.
    assert_eq!(cloud.report, vec![90.0 / 365.0, 0.0, 0.0, 0.0, 0.0]);
    assert!(cloud.status.starts_with("spun off"), "{}", cloud.status);
    // Cloud gets the capital plan when kept (RMB 360bn over 2025-2027 feeds FY2026-FY2028).
    let kept = keep
        .parts
        .iter()
        .find(|p| p.unit == "cloud_intelligence")
        .unwrap();
    let capital: f64 = kept.capital.iter().sum();
    assert!((capital - 360_000.0).abs() < 1.0, "{:?}", kept.capital);
}

#[test]
fn comparison_is_paired_and_explained() {
    let model = example();
    let (scenarios, _) = spec::read_all(&model);
    let keep = compile(&model, &scenarios["keep-cloud"]).unwrap();
    let spin = compile(&model, &scenarios["spin-off-cloud"]).unwrap();
    let simulation = engine::simulate(&[&spin, &keep], 20_000, 2023, &quiet);
    let diff = simulation.diff.as_ref().unwrap();
    // Paired: the difference varies much less than either value.
    assert!(diff.moments.sd() < 0.5 * simulation.stats[1].value.sd());
    let result =
        holdco_scenario::report::compare((&spin, "spin"), (&keep, "keep"), "CNY", &simulation, 8);
    // The bridge adds up to the mean value in both scenarios.
    for r in [&result.a, &result.b] {
        let sum: f64 = r.bridge.iter().map(|l| l.mean).sum();
        assert!(
            (sum - r.value.mean).abs() < 1e-6 * r.value.mean.abs(),
            "{} vs {}",
            sum,
            r.value.mean
        );
    }
    // The tornado names scenario assumptions, largest swing first.
    assert!(!result.tornado.swings.is_empty());
    let swing = |s: &engine::Swing| (s.high - s.low).abs();
    assert!(result
        .tornado
        .swings
        .windows(2)
        .all(|w| swing(&w[0]) >= swing(&w[1])));
    let [revenue, ebita] =
        holdco_scenario::compile::actuals(&model, &scenarios["spin-off-cloud"], 4);
    let revenue = revenue.expect("revenue is defined");
    // FY2021..FY2025 restated into the structure at the end of FY2025, plus FY2026 when the
    // example holds it; every year before the projection is drawn or named as a gap.
    assert_eq!(revenue.structure.to_string(), "2025-03-31");
    assert!(
        revenue.points.len() + revenue.gaps.len() >= 5,
        "{revenue:?}"
    );
    assert!(
        revenue.points.iter().any(|(y, _)| y == "FY2025"),
        "{revenue:?}"
    );
    let context = holdco_scenario::report::ChartContext {
        paths: 20_000,
        seed: 2023,
        group: model.group.name.clone(),
        revenue: Some(revenue),
        ebita,
    };
    let charts =
        holdco_scenario::report::charts(&[&result.a, &result.b], &result.tornado, &context);
    assert_eq!(charts.len(), 4);
    let fan = &charts
        .iter()
        .find(|(n, _)| n == "revenue-fan.svg")
        .unwrap()
        .1;
    assert!(
        fan.contains(">actual<")
            && fan.contains("20,000 Monte Carlo paths, seed 2023")
            && fan.contains("restated into the group&#39;s structure of 2025-03-31")
            && fan.contains("FY2021"),
        "{fan}"
    );
    for (name, svg) in charts {
        assert!(
            svg.starts_with("<svg") || svg.starts_with("<?xml"),
            "{name}"
        );
        assert!(!svg.contains("NaN"), "{name}");
    }
}

#[test]
fn diff_lists_changes_and_assumptions() {
    let model = example();
    let (scenarios, _) = spec::read_all(&model);
    let diff = spec::diff(&scenarios["spin-off-cloud"], &scenarios["keep-cloud"]);
    assert_eq!(diff.changes_only_a.len(), 1);
    assert!(diff.changes_only_a[0].contains("divest cloud_intelligence"));
    assert!(diff.changes_only_b.is_empty());
    let keys: Vec<&str> = diff.assumptions.iter().map(|d| d.key.as_str()).collect();
    assert!(keys.contains(&"unit.cloud_intelligence.multiple"));
    assert!(keys.contains(&"separation.spin-off-cloud.cost"));
    assert!(!keys.contains(&"valuation.net_cash"));
}

#[test]
fn growth_from_history_is_the_units_restated_yearly_growth() {
    let mut model = example();
    let text = model.documents["scenarios/keep-cloud.toml"].replace(
        "growth = { dist = \"normal\", mean = 0.04, sd = 0.03, note = \"Assumption, informed by FY2025 growth of 4.2% (508,375 vs 487,771 restated).\" }",
        "growth = { dist = \"history\" }",
    );
    assert_ne!(text, model.documents["scenarios/keep-cloud.toml"]);
    model
        .documents
        .insert("scenarios/keep-cloud.toml".into(), text);
    let (scenarios, problems) = spec::read_all(&model);
    assert!(problems.is_empty(), "{problems:#?}");
    let keep = compile(&model, &scenarios["keep-cloud"]).unwrap();
    let china = keep
        .parts
        .iter()
        .find(|p| p.unit == "china_commerce")
        .unwrap();
    let holdco_scenario::dist::Dist::Empirical(values) = &china.growth.dists[0] else {
        panic!("{:?}", china.growth.dists)
    };
    // FY2025 over FY2024, restated into the 2025 structure: 508,375 / 487,771 - 1.
    assert!(
        values
            .iter()
            .any(|g| (g - (508_375.0 / 487_771.0 - 1.0)).abs() < 1e-3),
        "{values:?}"
    );
    assert!(values.len() >= 2);
}
