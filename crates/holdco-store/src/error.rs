//! The errors a store reports, each with the context a user needs to act on it.

use std::path::PathBuf;

/// An error boxed so that the variants stay independent of any one database crate.
pub type BackendError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a store operation failed. Whatever the variant, the store is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store file could not be opened or set up.
    #[error("cannot open the store at {}: {source}", path.display())]
    Open {
        /// The path given.
        path: PathBuf,
        /// What the database reported.
        #[source]
        source: BackendError,
    },

    /// The database server could not be reached or refused the connection.
    #[error(
        "cannot connect to the PostgreSQL store at {location}: {detail}; \
         check that the server runs there and accepts this user (`pg_isready` tells)"
    )]
    Connect {
        /// The URL, with its password hidden.
        location: String,
        /// What the driver reported, with its causes.
        detail: String,
    },

    /// Another import into the same store holds it for too long.
    #[error("the store at {location} is busy: {detail}; try again when it has finished")]
    Busy {
        /// The store's path or URL (password hidden).
        location: String,
        /// What holds it.
        detail: String,
    },

    /// A `--db` value names a kind of database holdco does not know.
    #[error(
        "`{url}` is not a store holdco can open: give an SQLite file path (holdco.db, \
         sqlite:///path/holdco.db) or a PostgreSQL URL (postgres://user@host/database)"
    )]
    UnsupportedUrl {
        /// The value given, password hidden.
        url: String,
    },

    /// The store was written by a newer holdco whose schema this one does not know.
    #[error(
        "the store at {location} has schema version {found}, but this holdco understands versions up to {supported}; \
         upgrade holdco to open it"
    )]
    SchemaTooNew {
        /// The store's path, or `:memory:`.
        location: String,
        /// Highest migration recorded in the store.
        found: i64,
        /// Highest migration this code carries.
        supported: i64,
    },

    /// A schema migration failed; the store stays at the previous version.
    #[error("migration {version} ({name}) of the store at {location} failed: {source}")]
    Migration {
        /// The store's path, or `:memory:`.
        location: String,
        /// Migration number.
        version: i64,
        /// Migration file name.
        name: &'static str,
        /// What the database reported.
        #[source]
        source: BackendError,
    },

    /// The same fact key appears more than once in one import.
    #[error("fact {key} appears more than once in the import; each key may be given once")]
    DuplicateFact {
        /// The key, described as unit, period, metric, counterparty and basis.
        key: String,
    },

    /// The same metric id is defined more than once in one import.
    #[error("metric `{metric}` is defined more than once in the import")]
    DuplicateMetric {
        /// The metric id.
        metric: String,
    },

    /// A fact's value is NaN or infinite.
    #[error("fact {key} has the value {value}, which is not a finite number")]
    NonFiniteValue {
        /// The key, described as unit, period, metric, counterparty and basis.
        key: String,
        /// The value given.
        value: f64,
    },

    /// An item would not read back from the store exactly as given (e.g. a NaN rate).
    #[error("{item} cannot be stored: {reason}")]
    Unstorable {
        /// Which item, e.g. `change 3 (2024-04-01 split)`.
        item: String,
        /// Why.
        reason: String,
    },

    /// The store holds something this code cannot read back.
    #[error("the store holds data holdco cannot read in {table}: {detail}")]
    Corrupt {
        /// The table or collection concerned.
        table: &'static str,
        /// What was wrong.
        detail: String,
    },

    /// The model changed since the revision a change set was computed on: nothing was written.
    #[error(
        "conflict: the model is at revision {current}, but the change set was made on revision {expected}; \
         nothing was written (`holdco log` shows what changed since; make the change set again on the current model)"
    )]
    Conflict {
        /// The revision the change set was made on.
        expected: i64,
        /// The store's revision now.
        current: i64,
    },

    /// A change set is not in the state an operation needs (another reviewer was quicker).
    #[error("change set {id} is {found}, not {expected}; `holdco changeset show {id}` shows its history")]
    ChangesetState {
        /// The change set.
        id: i64,
        /// The state the operation needs.
        expected: crate::ChangesetState,
        /// The state it is in.
        found: crate::ChangesetState,
    },

    /// No change set has this id.
    #[error("there is no change set {id} in the store; `holdco changeset list` shows them")]
    NoChangeset {
        /// The id asked for.
        id: i64,
    },

    /// The database failed while doing something.
    #[error("the store failed while {action}: {source}")]
    Database {
        /// What the store was doing, e.g. `writing facts`.
        action: &'static str,
        /// What the database reported.
        #[source]
        source: BackendError,
    },
}

/// An error and its causes on one line, `outer: inner: ...`, each said once.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let said = inner.to_string();
        if !text.ends_with(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = inner.source();
    }
    text
}

impl StoreError {
    /// A database failure while doing `action`.
    pub(crate) fn database(action: &'static str, source: impl Into<BackendError>) -> Self {
        StoreError::Database {
            action,
            source: source.into(),
        }
    }
}
