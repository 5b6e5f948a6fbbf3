//! Integration tests of holdco-scenario: statistical properties of the engine (tolerances
//! from standard errors), the Alibaba example's scenarios, and bad input.

mod alibaba;
mod bad_input;
mod common;
mod decision;
mod fuzz;
mod statistics;
