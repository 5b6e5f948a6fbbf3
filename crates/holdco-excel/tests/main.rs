//! The workbook crate's integration tests: round trips, bad input, and files checked by an
//! independent reader (openpyxl).

mod bad_input;
mod common;
mod openpyxl;
mod roundtrip;
mod tables;
