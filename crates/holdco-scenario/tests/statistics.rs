//! The engine against closed forms, with tolerances derived from the standard error.

use crate::common::{part, projection};
use holdco_scenario::dist::Dist;
use holdco_scenario::engine::{self, Correlation, Method, OneOff, Var};

fn quiet(_: u64) {}

/// Four standard errors: a correct engine fails this about once in 16,000 runs, and with a
/// fixed seed the outcome is fixed.
const Z: f64 = 4.0;

#[test]
fn zero_variance_reproduces_the_deterministic_value_exactly() {
    let mut p = projection(
        "fixed",
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
    p.discount = Some(Var::one("valuation.holding_discount", Dist::Fixed(0.1)));
    p.net_cash = Some(Var::one("valuation.net_cash", Dist::Fixed(50.0)));
    p.costs
        .push(OneOff::now(Var::one("separation.x.cost", Dist::Fixed(5.0))));
    let simulation = engine::simulate(&[&p], 10_000, 7, &quiet);
    let stats = &simulation.stats[0];
    let deterministic = engine::value_at(&p, None);
    // By hand: EV = 10 x EBITA in year 3 = 10 x 100 x 1.1^3 x 0.2; 10% discount; +50 cash; -5 costs.
    let by_hand = 10.0 * 100.0 * 1.1f64.powi(3) * 0.2 * 0.9 + 50.0 - 5.0;
    assert!(
        (deterministic - by_hand).abs() <= 1e-12 * by_hand,
        "{deterministic} vs {by_hand}"
    );
    assert_eq!(stats.value.mean().to_bits(), deterministic.to_bits());
    assert_eq!(stats.value.sd(), 0.0);
    let report = holdco_scenario::report::scenario_result(&p, "fixed", "CNY", stats);
    for q in [
        report.value.p5,
        report.value.p25,
        report.value.p50,
        report.value.p75,
        report.value.p95,
    ] {
        assert_eq!(q.to_bits(), deterministic.to_bits());
    }
    // The bridge adds up to the value.
    let bridge: f64 = report.bridge.iter().map(|l| l.mean).sum();
    assert!((bridge - deterministic).abs() <= 1e-9 * deterministic);
}

#[test]
fn mean_of_a_lognormal_multiple_matches_its_closed_form() {
    let (mu, sigma) = (2.0f64.ln(), 0.5);
    let p = projection(
        "ln",
        vec![part(
            "a",
            100.0,
            Dist::Fixed(0.0),
            Dist::Fixed(1.0),
            Dist::LogNormal { mu, sigma },
        )],
        1,
        1,
    );
    let simulation = engine::simulate(&[&p], 200_000, 11, &quiet);
    let m = &simulation.stats[0].value;
    let closed = 100.0 * (mu + sigma * sigma / 2.0).exp();
    assert!(
        (m.mean() - closed).abs() < Z * m.se(),
        "mean {} vs {closed}, se {}",
        m.mean(),
        m.se()
    );
    // The sample sd also matches: sd of a lognormal = mean x sqrt(exp(sigma^2) - 1).
    let sd = closed * ((sigma * sigma).exp() - 1.0).sqrt();
    assert!((m.sd() - sd).abs() / sd < 0.05, "sd {} vs {sd}", m.sd());
}

#[test]
fn mean_of_a_compounded_revenue_path_matches_its_closed_form() {
    // Independent yearly growth g ~ N(0.05, 0.1): E[R_T] = R0 (1 + 0.05)^T.
    let mut p = projection(
        "path",
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
        10,
        10,
    );
    p.method = Method::Multiple {
        year: 10,
        rate: None,
    };
    let simulation = engine::simulate(&[&p], 100_000, 3, &quiet);
    let m = &simulation.stats[0].value;
    let closed = 1000.0 * 1.05f64.powi(10);
    assert!(
        (m.mean() - closed).abs() < Z * m.se(),
        "mean {} vs {closed}, se {}",
        m.mean(),
        m.se()
    );
}

#[test]
fn a_common_factor_correlates_growth_as_stated() {
    // Two parts with the same N(0, 0.1) growth over one year, factor loading rho: the value
    // of the sum has variance 100^2 x 0.01 x (2 + 2 rho).
    let rho = 0.6;
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
    let mut p = projection("corr", parts, 1, 1);
    p.correlation = Correlation::Factor(rho);
    let n = 200_000u64;
    let simulation = engine::simulate(&[&p], n, 5, &quiet);
    let sd = simulation.stats[0].value.sd();
    let expected = (100.0f64 * 100.0 * 0.01 * (2.0 + 2.0 * rho)).sqrt();
    // The standard error of a sample sd is about sd / sqrt(2n).
    let se = expected / (2.0 * n as f64).sqrt();
    assert!(
        (sd - expected).abs() < Z * se,
        "sd {sd} vs {expected}, se {se}"
    );
}

#[test]
fn identical_scenarios_compare_even() {
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
                Dist::Triangular {
                    min: 0.1,
                    mode: 0.2,
                    max: 0.3,
                },
                Dist::LogNormal {
                    mu: 2.0,
                    sigma: 0.3,
                },
            )],
            5,
            3,
        )
    };
    let (a, b) = (make("a"), make("b"));
    let simulation = engine::simulate(&[&a, &b], 50_000, 9, &quiet);
    let diff = simulation.diff.as_ref().unwrap();
    // Common random numbers: the same assumptions draw the same numbers, so every path ties.
    assert_eq!(diff.p_greater(), 0.5);
    assert_eq!(diff.moments.sd(), 0.0);
    assert_eq!(
        simulation.stats[0].value.mean().to_bits(),
        simulation.stats[1].value.mean().to_bits()
    );
}

#[test]
fn exchangeable_independent_scenarios_compare_even_within_error() {
    // Same distributions on different streams: A and B are independent and exchangeable.
    let a = projection(
        "a",
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
        3,
        3,
    );
    let b = projection(
        "b",
        vec![part(
            "b",
            100.0,
            Dist::Normal {
                mean: 0.05,
                sd: 0.1,
            },
            Dist::Fixed(0.2),
            Dist::Fixed(10.0),
        )],
        3,
        3,
    );
    let simulation = engine::simulate(&[&a, &b], 100_000, 13, &quiet);
    let diff = simulation.diff.as_ref().unwrap();
    assert!(
        (diff.p_greater() - 0.5).abs() < Z * diff.p_greater_se(),
        "P = {} ± {}",
        diff.p_greater(),
        diff.p_greater_se()
    );
}

#[test]
fn paired_paths_make_a_fixed_cost_an_exact_difference() {
    let base = projection(
        "a",
        vec![part(
            "a",
            100.0,
            Dist::Normal {
                mean: 0.05,
                sd: 0.1,
            },
            Dist::Fixed(0.2),
            Dist::LogNormal {
                mu: 2.0,
                sigma: 0.3,
            },
        )],
        5,
        3,
    );
    let mut cheaper = base.clone();
    cheaper.name = "b".into();
    cheaper.costs.push(OneOff::now(Var::one(
        "separation.x.cost",
        Dist::Fixed(10.0),
    )));
    let simulation = engine::simulate(&[&base, &cheaper], 20_000, 1, &quiet);
    let diff = simulation.diff.as_ref().unwrap();
    assert_eq!(diff.p_greater(), 1.0);
    assert!((diff.moments.mean() - 10.0).abs() < 1e-9);
    assert!(diff.moments.sd() < 1e-9);
}

#[test]
fn results_are_identical_on_one_and_two_threads() {
    let mut p = projection(
        "t",
        vec![
            part(
                "a",
                100.0,
                Dist::Normal {
                    mean: 0.05,
                    sd: 0.1,
                },
                Dist::Triangular {
                    min: 0.1,
                    mode: 0.2,
                    max: 0.3,
                },
                Dist::LogNormal {
                    mu: 2.0,
                    sigma: 0.3,
                },
            ),
            part(
                "b",
                50.0,
                Dist::Uniform {
                    min: -0.05,
                    max: 0.2,
                },
                Dist::Fixed(0.1),
                Dist::Fixed(12.0),
            ),
        ],
        6,
        2,
    );
    p.correlation = Correlation::Factor(0.4);
    p.discount = Some(Var::one(
        "valuation.holding_discount",
        Dist::Triangular {
            min: 0.0,
            mode: 0.14,
            max: 0.3,
        },
    ));
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| engine::simulate(&[&p], 30_000, 42, &quiet))
    };
    let (one, two) = (run(1), run(2));
    let key = |s: &engine::Simulation| {
        let st = &s.stats[0];
        let mut v = vec![st.value.mean().to_bits(), st.value.sd().to_bits()];
        v.extend([0.05, 0.25, 0.5, 0.75, 0.95].map(|q| st.value_sketch.quantile(q).to_bits()));
        v.extend(st.lines.iter().map(|l| l.mean().to_bits()));
        v.extend(st.revenue.iter().map(|r| r.quantile(0.5).to_bits()));
        v
    };
    assert_eq!(key(&one), key(&two));
    // And the seed matters.
    let other = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| engine::simulate(&[&p], 30_000, 43, &quiet));
    assert_ne!(key(&one), key(&other));
}

#[test]
fn progress_is_told_every_few_chunks_up_to_the_total() {
    let p = projection(
        "t",
        vec![part(
            "a",
            100.0,
            Dist::Normal {
                mean: 0.05,
                sd: 0.1,
            },
            Dist::Fixed(0.1),
            Dist::Fixed(12.0),
        )],
        3,
        2,
    );
    let told = std::sync::Mutex::new(Vec::new());
    let paths = 30_000;
    rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| engine::simulate(&[&p], paths, 7, &|done| told.lock().unwrap().push(done)));
    let told = told.into_inner().unwrap();
    // Two threads: waves of four chunks of 2,048 paths, so 15 chunks are told in 4 steps.
    assert_eq!(told, vec![8_192, 16_384, 24_576, 30_000]);
}

#[test]
fn the_tornado_ranks_the_widest_input_first() {
    let p = projection(
        "t",
        vec![
            part(
                "wide",
                100.0,
                Dist::Fixed(0.0),
                Dist::Fixed(1.0),
                Dist::Uniform {
                    min: 5.0,
                    max: 15.0,
                },
            ),
            part(
                "narrow",
                100.0,
                Dist::Fixed(0.0),
                Dist::Fixed(1.0),
                Dist::Uniform {
                    min: 9.0,
                    max: 11.0,
                },
            ),
        ],
        1,
        1,
    );
    let (base, swings, dropped) = engine::tornado(&p, None, 10);
    assert!(dropped.is_empty());
    assert!((base - 2000.0).abs() < 1e-9);
    assert_eq!(swings.len(), 2);
    assert_eq!(swings[0].assumption, "unit.wide.multiple");
    // P10 and P90 of U(5, 15) are 6 and 14: the value moves by 100 x 8.
    assert!(
        (swings[0].high - swings[0].low - 800.0).abs() < 1e-6,
        "{:?}",
        swings[0]
    );
}

#[test]
fn a_fixed_dcf_matches_its_closed_form() {
    // Revenue 100 growing 10% a year for 3 years, margin 20%, cash conversion 0.5, WACC 10%,
    // terminal growth 2%: EV = sum of discounted cash + Gordon terminal value.
    let mut p = projection(
        "dcf",
        vec![part(
            "a",
            100.0,
            Dist::Fixed(0.1),
            Dist::Fixed(0.2),
            Dist::Fixed(0.0),
        )],
        3,
        1,
    );
    p.method = Method::Dcf {
        wacc: Var::one("valuation.wacc", Dist::Fixed(0.1)),
        terminal_growth: Var::one("valuation.terminal_growth", Dist::Fixed(0.02)),
        conversion: Var::one("valuation.cash_conversion", Dist::Fixed(0.5)),
    };
    let mut by_hand = 0.0;
    let mut cash = 0.0;
    for t in 1..=3 {
        cash = 100.0 * 1.1f64.powi(t) * 0.2 * 0.5;
        by_hand += cash / 1.1f64.powi(t);
    }
    by_hand += cash * 1.02 / (0.1 - 0.02) / 1.1f64.powi(3);
    let value = engine::value_at(&p, None);
    assert!(
        (value - by_hand).abs() < 1e-9 * by_hand,
        "{value} vs {by_hand}"
    );
}

#[test]
fn the_vector_kernel_gives_the_bits_of_the_portable_code() {
    // The common case (normal growth with a common factor, one margin per path, DCF) goes
    // through the AVX-512 kernel where the processor has it (five parts: two pairs and one
    // alone); 5,000 paths end in a block of 8 that the portable code takes either way.
    // Forbidding the kernel must change nothing.
    let growth = |k: f64| Dist::Normal {
        mean: 0.03 + 0.01 * k,
        sd: 0.05 + 0.01 * k,
    };
    let parts = (0..5)
        .map(|k| {
            part(
                &format!("u{k}"),
                100.0 + 10.0 * k as f64,
                growth(k as f64),
                Dist::Triangular {
                    min: 0.1,
                    mode: 0.2,
                    max: 0.3,
                },
                Dist::Fixed(0.0),
            )
        })
        .collect();
    let mut p = projection("v", parts, 7, 1);
    p.parts[3].report = vec![0.5];
    p.correlation = Correlation::Factor(0.3);
    p.method = Method::Dcf {
        wacc: Var::one(
            "valuation.wacc",
            Dist::Triangular {
                min: 0.08,
                mode: 0.09,
                max: 0.11,
            },
        ),
        terminal_growth: Var::one("valuation.terminal_growth", Dist::Fixed(0.02)),
        conversion: Var::one("valuation.cash_conversion", Dist::Fixed(0.7)),
    };
    p.discount = Some(Var::one(
        "valuation.holding_discount",
        Dist::Triangular {
            min: 0.0,
            mode: 0.14,
            max: 0.3,
        },
    ));
    let key = |s: &engine::Simulation| {
        let st = &s.stats[0];
        let mut v = vec![
            st.value.mean().to_bits(),
            st.value.sd().to_bits(),
            st.value.min().to_bits(),
            st.value.max().to_bits(),
        ];
        v.extend(
            st.lines
                .iter()
                .flat_map(|l| [l.mean().to_bits(), l.sd().to_bits()]),
        );
        v.extend(
            st.revenue
                .iter()
                .chain(&st.ebita)
                .flat_map(|r| [0.05, 0.5, 0.95].map(|q| r.quantile(q).to_bits())),
        );
        v
    };
    let with = engine::simulate(&[&p], 5_000, 77, &quiet);
    engine::allow_vector_kernel(false);
    let without = engine::simulate(&[&p], 5_000, 77, &quiet);
    engine::allow_vector_kernel(true);
    assert_eq!(key(&with), key(&without));
    assert!(with.stats[0].value.sd() > 0.0);
}
