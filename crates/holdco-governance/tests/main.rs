//! holdco-governance tests: golden figures of the Alibaba example, bad input, properties.

mod alibaba;
mod approvals;
mod bad_input;
mod common;
mod properties;
