//! Integration tests of holdco-strategy: the Alibaba example (golden), bad input (file,
//! line, field), and properties of classification and the capital plan.

mod alibaba;
mod bad_input;
mod common;
mod fuzz;
mod properties;
