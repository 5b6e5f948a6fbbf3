//! P5: the capital plan at scale. 10,000 tranches of 1,000 units over five years, with class
//! share bounds, floors for core battles, caps and cycle commitments for innovation units,
//! solved by holdco (clarabel through good_lp) and exported as free MPS so that
//! `bench/scipy_p5.py` solves the identical programme with scipy's HiGHS.
//!
//! Usage: cargo run --release -p holdco-bench --bin p5 -- [OUT.mps] [--repeat N]

use chrono::NaiveDate;
use holdco_core::UnitId;
use holdco_strategy::capital::{Budget, Capital, Proceeds, Tranche, UnitBound};
use holdco_strategy::plan;
use holdco_strategy::strategy::{Class, Policy, Strategy};
use std::collections::BTreeMap;
use std::time::Instant;

const TRANCHES: usize = 10_000;
const UNITS: usize = 1_000;
const YEARS: [i32; 5] = [2026, 2027, 2028, 2029, 2030];

/// A small deterministic generator (xorshift64*), so every run builds the same programme.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n
    }
}

fn unit(i: usize) -> UnitId {
    UnitId::parse(&format!("unit_{i:04}")).expect("valid id")
}

/// Units 0..600 core, 600..850 strategic innovation, 850..1000 non-core.
fn class_of(i: usize) -> &'static str {
    match i {
        0..=599 => "core",
        600..=849 => "strategic_innovation",
        _ => "non_core",
    }
}

fn workload() -> (Capital, Strategy, BTreeMap<UnitId, String>) {
    let mut rng = Rng(0x5EED_0005);
    let budgets: Vec<Budget> = YEARS
        .iter()
        .map(|&year| Budget {
            year,
            amount: 400_000.0 + 20_000.0 * (year - 2026) as f64,
            line: 0,
        })
        .collect();
    let proceeds = vec![
        Proceeds {
            unit: unit(990),
            year: 2026,
            amount: 15_000.0,
            source: None,
            line: 0,
        },
        Proceeds {
            unit: unit(995),
            year: 2028,
            amount: 8_000.0,
            source: None,
            line: 0,
        },
    ];
    let mut tranches = Vec::with_capacity(TRANCHES);
    for t in 0..TRANCHES {
        // Every unit gets at least one tranche spanning all years, so floors and cycles can be met.
        let u = if t < UNITS { t } else { rng.below(UNITS) };
        let (first, last) = if t < UNITS {
            (0, YEARS.len() - 1)
        } else {
            let a = rng.below(YEARS.len());
            let b = rng.below(YEARS.len());
            (a.min(b), a.max(b))
        };
        let base = match class_of(u) {
            "core" => 1.05,
            "strategic_innovation" => 1.10,
            _ => 0.95,
        };
        tranches.push(Tranche {
            id: format!("t{t:05}"),
            unit: unit(u),
            amount: 50.0 + (rng.unit() * 400.0).round(),
            years: (YEARS[first], YEARS[last]),
            value: base + 0.4 * rng.unit(),
            risk: 0.5 * rng.unit(),
            line: 0,
        });
    }
    let every = (YEARS[0], YEARS[YEARS.len() - 1]);
    let floors = (0..100)
        .map(|i| UnitBound {
            unit: unit(i * 6),
            amount: 20.0,
            years: every,
            note: None,
            line: 0,
        })
        .collect();
    let caps = (0..100)
        .map(|i| UnitBound {
            unit: unit(i * 6 + 1),
            amount: 150.0,
            years: every,
            note: None,
            line: 0,
        })
        .collect();
    let cycles = (600..850)
        .step_by(2)
        .map(|i| UnitBound {
            unit: unit(i),
            amount: 10.0,
            years: every,
            note: None,
            line: 0,
        })
        .collect();
    let capital = Capital {
        name: "P5".into(),
        currency: "CNY".into(),
        scale: Some("millions".into()),
        total: Some(2_000_000.0),
        risk_aversion: 0.5,
        classes_on: NaiveDate::from_ymd_opt(2026, 1, 1).expect("valid date"),
        budgets,
        proceeds,
        tranches,
        floors,
        caps,
        cycles,
        previous: Vec::new(),
    };
    let class = |id: &str, share_min: Option<f64>, share_max: Option<f64>| Class {
        id: id.into(),
        name: id.into(),
        rule: "true".into(),
        policy: Policy {
            share_min,
            share_max,
            ..Policy::default()
        },
        line: 0,
    };
    let strategy = Strategy {
        name: "P5".into(),
        weights_sum: 1.0,
        portfolio: Vec::new(),
        focus_areas: Vec::new(),
        criteria: Vec::new(),
        classes: vec![
            class("strategic_innovation", Some(0.05), Some(0.15)),
            class("core", Some(0.6), None),
            class("non_core", None, Some(0.03)),
        ],
        assessments: Vec::new(),
    };
    let classes = (0..UNITS)
        .map(|i| (unit(i), class_of(i).to_string()))
        .collect();
    (capital, strategy, classes)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut out = "target/p5.mps".to_string();
    let mut repeat = 3usize;
    while let Some(arg) = args.next() {
        if arg == "--repeat" {
            repeat = args.next().and_then(|n| n.parse().ok()).unwrap_or(3).max(1);
        } else {
            out = arg;
        }
    }
    let (capital, strategy, classes) = workload();
    let programme = plan::build(&capital, Some(&strategy), &classes);
    let lp = &programme.lp;
    let nonzeros: usize = lp.rows.iter().map(|r| r.terms.len()).sum();
    if let Err(error) = std::fs::write(&out, lp.to_mps("p5")) {
        eprintln!("error: writing {out}: {error}");
        std::process::exit(2);
    }
    println!(
        "P5: {} tranches, {} variables, {} rows, {} nonzeros; LP written to {out}",
        capital.tranches.len(),
        lp.names.len(),
        lp.rows.len(),
        nonzeros
    );
    let mut times = Vec::new();
    let mut objective = f64::NAN;
    for _ in 0..repeat {
        let started = Instant::now();
        match lp.solve() {
            Ok(solution) => objective = solution.objective,
            Err(error) => {
                eprintln!("error: the P5 programme did not solve: {error}");
                std::process::exit(1);
            }
        }
        times.push(started.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!("holdco (clarabel via good_lp): objective {objective:.9e}, solve {:.3} s (best of {repeat}; median {:.3} s)", times[0], times[times.len() / 2]);
    println!("{{\"objective\": {objective}, \"seconds\": {}}}", times[0]);
}
