//! holdco-core: the pure domain engine of holdco.
//!
//! The group is a dated log of changes ([`model::Change`]); the structure on any date is
//! derived by replaying it ([`timeline`]); facts roll up to any node under any view, as
//! reported or restated into another date's structure ([`rollup`]). This crate does no IO
//! and depends on no database, async runtime or HTTP crate: time, rates and files come in as
//! values, and every failure on user input is a typed [`model::Diagnostic`] or error.
#![deny(missing_docs)]
// Numerical kernels (elimination, rate tables, parent arrays) index several arrays at once.
#![allow(clippy::needless_range_loop)]

pub mod ids;
pub mod model;
pub mod period;

pub use ids::{Currency, MetricId, UnitId};
pub use model::*;
pub use period::{FiscalCalendar, Granularity, Period};
pub mod bulk_validate;
pub mod calibrate;
pub mod columnar;
pub mod extension;
pub mod format;
pub mod reconcile;
pub mod rollup;
pub mod synth;
pub mod timeline;
pub mod timeline_image;
pub mod validate;
