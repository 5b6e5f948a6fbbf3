//! holdco-store: persistence for holdco models behind one [`Store`] trait.
//!
//! A store holds the current [`Model`] of one group: its group record, metric definitions,
//! timeline, FX rates, and every revision of every fact. An import replaces the group,
//! metrics, timeline and rates, and merges facts by [`FactKey`]: a changed figure becomes a
//! new revision and the old one stays in the history. Each import is one transaction: it
//! happens entirely or not at all.
//!
//! Backends: [`SqliteStore`] (an embedded file, or in memory), [`PostgresStore`] (a team's
//! shared PostgreSQL database) and [`MemoryStore`] (plain Rust collections, for fast
//! hermetic tests). [`open_store`] picks one from a URL; the core crate never sees a
//! database type.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod changesets;
mod error;
mod memory;
mod merge;
mod postgres;
mod sqlite;
pub mod testing;
mod url;

pub use changesets::{
    Applied, ApplyRecord, ApplyTarget, AuditRecord, ChangesetRecord, ChangesetState, NewChangeset,
    TransitionRecord,
};
pub use error::{BackendError, StoreError};
pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use url::{open_store, redact, StoreUrl};

use holdco_core::{Currency, FactKey, Model, Origin};

/// The file name given to the [`Origin`] of every item loaded from a store.
pub const STORE_ORIGIN_FILE: &str = "<store>";

/// The origin of items read back from a store: file [`STORE_ORIGIN_FILE`], line 0.
pub fn store_origin() -> Origin {
    Origin {
        file: STORE_ORIGIN_FILE.to_string(),
        line: 0,
    }
}

/// Persistence of one group's model, with fact revisions and an import log.
///
/// Every backend behaves the same way; `tests/story.rs` runs one suite against each.
/// No method panics on bad input or a failing backend, and a failing [`Store::import`]
/// leaves the store exactly as it was.
///
/// The last five methods are fast paths for large stores: each has a default that is
/// correct for any backend (built on the four required methods), so code that holds a
/// `dyn Store` never needs to know which backend it has.
pub trait Store: Send {
    /// The current model, or `None` when nothing has been imported yet.
    ///
    /// Holds the group, metrics, timeline (in the order imported) and FX rates of the last
    /// import, and the latest revision of every fact ever imported. Facts and rates come in
    /// canonical order ([`Model::canonicalize`]); every origin is [`store_origin`].
    fn load(&self) -> Result<Option<Model>, StoreError>;

    /// Imports a model in one transaction, recording it under `label` (e.g. a folder path).
    ///
    /// The group, metrics, timeline, FX rates and documents are replaced by `incoming`'s. Facts merge
    /// by key: a new key is stored as revision 1; a stored key whose value, currency or
    /// source differs gets a new revision (values compare bit for bit, so even -0.0 after 0.0
    /// is a revision); an identical one is left alone; stored keys that
    /// `incoming` lacks stay as they are. The same key twice in `incoming`, a fact value
    /// that is not finite, a metric defined twice, or any item that would not read back
    /// exactly is refused, and nothing is written.
    fn import(&mut self, incoming: &Model, label: &str) -> Result<ImportSummary, StoreError> {
        self.import_with(incoming, label, ImportOptions::default())
    }

    /// [`Store::import`] with options: with [`ImportOptions::prune`], every stored key that
    /// `incoming` lacks is removed from the current model by a deletion revision (its
    /// history stays; importing the key again makes its next revision). Still one
    /// transaction: all of it or nothing.
    fn import_with(
        &mut self,
        incoming: &Model,
        label: &str,
        options: ImportOptions,
    ) -> Result<ImportSummary, StoreError>;

    /// Every revision of the fact with this key, oldest first (empty when never stored).
    fn fact_history(&self, key: &FactKey) -> Result<Vec<FactRevision>, StoreError>;

    /// Every successful import, oldest first.
    fn imports(&self) -> Result<Vec<ImportRecord>, StoreError>;

    /// The store's revision: the id of its last import (every applied change set is one),
    /// 0 when nothing has been imported.
    fn revision(&self) -> Result<i64, StoreError>;

    /// [`Store::import`] recorded as an applied change set, in the import's one transaction:
    /// the base revision is checked first ([`StoreError::Conflict`] when the store moved on),
    /// `record.retract`'s facts are removed after the merge, the change set is marked applied
    /// (an existing one must be approved: else [`StoreError::ChangesetState`]) and its audit
    /// entry written. On any error nothing is written.
    fn apply(
        &mut self,
        incoming: &Model,
        label: &str,
        record: &ApplyRecord,
    ) -> Result<Applied, StoreError>;

    /// [`Store::apply`] of a change set that lists what it touches: `incoming.facts` holds
    /// only the facts it adds or revises, `record.retract` the keys it removes, and
    /// `record.prune` is false, so every other stored fact stays as it is. The store may
    /// then look up only those keys instead of every stored fact (SQLite: indexed reads of
    /// each key's series row and revision log; semantics C16), so an apply costs in
    /// proportion to what changed. It writes exactly what [`Store::apply`] writes (revision
    /// numbers, deletion revisions, the record and audit entry, in one transaction); the
    /// default calls it.
    fn apply_delta(
        &mut self,
        incoming: &Model,
        label: &str,
        record: &ApplyRecord,
    ) -> Result<Applied, StoreError> {
        self.apply(incoming, label, record)
    }

    /// [`Store::apply`] of a model whose facts come as columns, when the backend can (as
    /// [`Store::import_columns`]); `Ok(None)` and nothing written otherwise.
    fn apply_columns(
        &mut self,
        _incoming: &Model,
        _facts: &holdco_core::format::fact_columns::FactColumns,
        _label: &str,
        _record: &ApplyRecord,
    ) -> Result<Option<Applied>, StoreError> {
        Ok(None)
    }

    /// Records a change set as a draft (with its first transition); returns its id.
    fn create_changeset(&mut self, new: &NewChangeset) -> Result<i64, StoreError>;

    /// The change set with this id, or `None`.
    fn changeset(&self, id: i64) -> Result<Option<ChangesetRecord>, StoreError>;

    /// Every change set, oldest first.
    fn changesets(&self) -> Result<Vec<ChangesetRecord>, StoreError>;

    /// A change set's transitions, oldest first.
    fn transitions(&self, id: i64) -> Result<Vec<TransitionRecord>, StoreError>;

    /// Moves change set `id` from `from` to `to` and records who did it, when it is still
    /// in `from` ([`StoreError::ChangesetState`] otherwise, [`StoreError::NoChangeset`]
    /// when there is none). Rules of who may do what live with the caller.
    fn transition_changeset(
        &mut self,
        id: i64,
        from: ChangesetState,
        to: ChangesetState,
        actor: &str,
        note: Option<&str>,
    ) -> Result<(), StoreError>;

    /// The audit trail: every applied change set, oldest first.
    fn audit(&self) -> Result<Vec<AuditRecord>, StoreError>;

    /// The current model without its facts (group, metrics, timeline, FX rates,
    /// documents), or `None` when nothing has been imported yet: what a query needs besides
    /// the facts. Backends override it to skip reading the facts.
    fn load_without_facts(&self) -> Result<Option<Model>, StoreError> {
        Ok(self.load()?.map(|mut model| {
            model.facts = Vec::new();
            model
        }))
    }

    /// The current timeline compiled into a [`holdco_core::timeline_image::TimelineImage`]
    /// (names, parents and stakes of every unit over time), when the backend keeps one for
    /// the current model: a structure on a date is then read without loading or replaying
    /// the changes, with the same answer. `None` otherwise (the default; PostgreSQL and
    /// memory stores, SQLite stores whose last import predates migration 0010): load the model.
    fn timeline_image(
        &self,
    ) -> Result<Option<holdco_core::timeline_image::TimelineImage>, StoreError> {
        Ok(None)
    }

    /// True when some fact has more than one revision. The default says so always, since
    /// the default [`Store::takes_columns`] is built on it; backends whose fast paths handle
    /// revisions (SQLite, PostgreSQL) answer either way.
    fn holds_revisions(&self) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// False when [`Store::import_columns`] is sure to answer `None`, so that a caller need
    /// not read a folder as columns first. The default: when the store holds no revisions.
    fn takes_columns(&self) -> Result<bool, StoreError> {
        Ok(!self.holds_revisions()?)
    }

    /// The current facts (of `metrics`, or all) as a
    /// [`holdco_core::columnar::FactTable`] for `engine`, read without building a
    /// [`holdco_core::Fact`] each, with the number of facts in the store (of every metric).
    /// `None` when the backend has no such path or it does not apply (then load the model);
    /// the default is `None`.
    fn fact_table(
        &self,
        _engine: &holdco_core::rollup::Engine,
        _metrics: Option<&[holdco_core::MetricId]>,
    ) -> Result<Option<(holdco_core::columnar::FactTable, usize)>, StoreError> {
        Ok(None)
    }

    /// [`Store::import`] of a model whose facts come as columns (`incoming.facts` empty,
    /// every series sorted by period), when the backend can merge them without building a
    /// fact each. `Ok(None)` and nothing written when it cannot (then call
    /// [`Store::import`]); the default is `Ok(None)`. When it answers, the store holds
    /// exactly what [`Store::import`] of the same facts would have written.
    fn import_columns(
        &mut self,
        _incoming: &Model,
        _facts: &holdco_core::format::fact_columns::FactColumns,
        _label: &str,
    ) -> Result<Option<ImportSummary>, StoreError> {
        Ok(None)
    }
}

/// How an import treats the stored facts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Remove from the current model every stored fact the incoming model lacks (a
    /// deletion revision each, so the history stays). Without it such facts are kept.
    pub prune: bool,
}

/// What one import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// Id of the import record written.
    pub import_id: i64,
    /// Facts whose key was not stored before (stored as revision 1).
    pub facts_new: usize,
    /// Facts whose key was stored with another value, currency or source (new revision).
    pub facts_revised: usize,
    /// Facts identical to the stored latest revision (nothing written).
    pub facts_unchanged: usize,
    /// Stored facts the import lacked and removed (with [`ImportOptions::prune`]; 0
    /// otherwise): a deletion revision each.
    pub facts_deleted: usize,
    /// Changes in the timeline now stored.
    pub changes: usize,
    /// Metric definitions now stored.
    pub metrics: usize,
    /// FX rates now stored.
    pub fx_rates: usize,
}

/// One stored series of facts (one unit, metric, granularity, counterparty and basis) as
/// columns: read by [`SqliteStore::fact_series`] or [`PostgresStore::fact_series`] without building a [`holdco_core::Fact`].
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSeries {
    /// The series: every field of a fact key but the period's start (which is 0 here).
    pub key: FactKey,
    /// Period starts (month indexes), one per fact.
    pub starts: Vec<i32>,
    /// Values, one per fact.
    pub values: Vec<f64>,
    /// Currencies, one per fact; `None` when no fact of the series has one.
    pub currencies: Option<Vec<Option<Currency>>>,
}

/// One entry of the import log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecord {
    /// Import id, increasing with every import.
    pub id: i64,
    /// The label given to [`Store::import`].
    pub label: String,
    /// When it happened: seconds since the Unix epoch (UTC), read from the system clock.
    pub imported_at: i64,
    /// Facts stored as new keys.
    pub facts_new: usize,
    /// Facts stored as new revisions of known keys.
    pub facts_revised: usize,
    /// Facts found identical to what was stored.
    pub facts_unchanged: usize,
    /// Facts removed (`import --prune`).
    pub facts_deleted: usize,
}

/// One stored revision of a fact.
#[derive(Debug, Clone, PartialEq)]
pub struct FactRevision {
    /// Revision number, 1 for the first figure recorded under the key.
    pub revision: u32,
    /// The figure.
    pub value: f64,
    /// Currency of the figure, when given.
    pub currency: Option<Currency>,
    /// Where it was published, when given.
    pub source: Option<String>,
    /// The fact's note, when given.
    pub note: Option<String>,
    /// The step the figure was published to, when given.
    pub precision: Option<f64>,
    /// True for a deletion revision: the import removed the fact (`import --prune`); the
    /// value, currency and source repeat those of the revision it ends.
    pub deleted: bool,
    /// The import that recorded this revision.
    pub import_id: i64,
    /// That import's label.
    pub import_label: String,
    /// That import's time: seconds since the Unix epoch.
    pub imported_at: i64,
}

/// Test helper for every backend: each `.sql` file of a migrations folder is listed once, in
/// order of increasing versions, each file named after its version. (Versions may skip a
/// number another branch holds: SQLite's `run` applies every listed migration not recorded.)
#[cfg(test)]
pub(crate) fn migrations_listed_in_order(folder: &str, listed: &[(i64, &str)]) {
    let mut files: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    files.sort();
    let names: Vec<&str> = listed.iter().map(|(_, name)| *name).collect();
    assert_eq!(files, names, "{folder} and MIGRATIONS disagree");
    for (index, (version, name)) in listed.iter().enumerate() {
        assert!(
            *version > index as i64 && (index == 0 || *version > listed[index - 1].0),
            "versions increase from 1"
        );
        assert!(
            name.starts_with(&format!("{version:04}_")),
            "{name} should start with its version"
        );
    }
}
