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

pub mod corr;
pub mod dist;
pub mod rng;
pub mod stats;
pub mod svg;
