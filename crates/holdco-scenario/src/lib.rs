//! holdco-scenario: what each path of the group is worth, and how sure we are.
//!
//! A scenario (`scenarios/NAME.toml`, kept raw by core in [`holdco_core::Model::documents`])
//! is a branch of the timeline: future changes on top of the base, plus assumptions
//! (projections with distributions, correlation, valuation multiples or DCF, net cash, the
//! holding discount, separation costs and dis-synergies). This crate parses and checks them,
//! projects every unit over the horizon and values the group by sum of the parts over many
//! seeded Monte Carlo paths.
//!
//! Numerical pieces: [`rng`] (counter-based random numbers, so a path's draws depend on the
//! seed, the variable and the path only: bit-identical on any number of threads, and common
//! across scenarios), [`dist`] (distributions as quantile functions of a normal score, a
//! Gaussian copula), [`corr`] (correlation matrices: checks, factors, nearest valid matrix),
//! [`stats`] (streaming moments and a mergeable quantile sketch, so memory does not grow with
//! the number of paths) and [`svg`] (fan chart, histogram, tornado).
#![deny(missing_docs)]

pub mod compile;
pub mod corr;
pub mod dist;
pub mod engine;
pub mod report;
pub mod rng;
pub mod spec;
pub mod stats;
pub mod svg;

use holdco_core::{Diagnostic, Model};

/// Checks every scenario of `model` (which must be valid itself): the files, inheritance,
/// the branch each makes of the timeline, and whether each can be projected and valued.
/// Returns every problem found, each with file, line and field. A capital plan that cannot
/// be solved is left to `holdco plan` (running such a scenario says so).
pub fn check(model: &Model) -> Vec<Diagnostic> {
    let (scenarios, mut problems) = spec::read_all(model);
    for scenario in scenarios.values() {
        // A scenario whose files already have problems is not compiled: its missing values
        // would only repeat them.
        let files: Vec<String> = scenario
            .chain
            .iter()
            .map(|name| format!("{}/{name}.toml", spec::DIR))
            .collect();
        if problems.iter().any(|p| files.contains(&p.file)) {
            continue;
        }
        if let Err(found) = compile::check(model, scenario) {
            for diagnostic in found {
                if !problems.contains(&diagnostic) {
                    problems.push(diagnostic);
                }
            }
        }
    }
    problems
}
