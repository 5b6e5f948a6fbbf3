//! Integration tests of holdco-core: one binary, one module per concern.

mod alibaba;
mod annotations;
mod columnar;
mod common;
mod defects;
mod format_errors;
mod fuzz;
mod layers;
mod pro_forma;
mod properties;
mod ratios;
mod semantics;
