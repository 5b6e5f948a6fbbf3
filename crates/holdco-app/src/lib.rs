//! holdco-app: the application layer both front ends call — the `holdco` CLI and
//! `holdco serve`.
//!
//! - [`Snapshot`]: a model validated once, shareable between threads (`Arc<Snapshot>` is
//!   `Send + Sync`), with the caches every question reuses built once per model revision:
//!   the engine (timeline replay, fact index, structures by date) at once, the columnar fact
//!   table on first use.
//! - [`request`]: a roll-up or explain question as a user writes it (text) turned into the
//!   core's [`holdco_core::rollup::Query`]; the default periods and the default structure
//!   date are decided here and nowhere else.
//! - [`rollup`]: the one front door for roll-ups: the columnar fast path when it covers the
//!   question, the explainable engine otherwise ("not covered" is an `Option`, never an error).
//! - [`store`]: the store chosen from a `--db` value (path, `sqlite://`, `postgres://`), the
//!   snapshot loaded from it with its revision, and the fast path that reads only the
//!   series a roll-up needs.
//! - [`views`]: the answers that are not the core's own types (structure rows, a unit's
//!   history), as serde types: the CLI's `--json` and the API's bodies are these values.
//! - [`text`]: CSV cells and terminal text made safe, and rows written as CSV (the CLI's
//!   `--csv` and the API's `text/csv` are the same bytes).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod people;
pub mod request;
pub mod rollup;
mod snapshot;
pub mod store;
pub mod tables;
pub mod text;
pub mod views;

pub use snapshot::Snapshot;

/// Models with at least this many facts answer roll-ups on the columnar path (below it the
/// explainable engine is as fast, and answers with every line).
pub const FAST_PATH_FACTS: usize = 100_000;
