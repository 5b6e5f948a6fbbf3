//! [`SqliteStore`]: the embedded backend, one SQLite file per group (or a database in memory).
//!
//! Facts an import records for the first time are written by series, one row of `facts` per
//! series with its periods and values as little-endian binary arrays (`segments`,
//! `series_codec`; rows of stores before migration 0008 hold JSON text arrays, read alike);
//! later revisions live in
//! `fact_revisions`, one row per revision keyed by the fact key and revision number. SQL reads
//! both through the `current_facts` view. The small parts of a model (group, metrics, changes, rates)
//! are serde_json text of the core types, one row each. The schema comes from the embedded
//! migrations in `migrations/sqlite/`.

mod changesets;
pub(crate) mod fact_series;
mod metric_columns;
mod migrations;
mod segments;
mod series_codec;

use crate::merge::{self, Latest, Tally};
use crate::{
    store_origin, Applied, ApplyRecord, AuditRecord, ChangesetRecord, ChangesetState, FactRevision,
    ImportOptions, ImportRecord, ImportSummary, NewChangeset, Store, StoreError, StoredSeries,
    TransitionRecord,
};
use chrono::NaiveDate;
use holdco_core::timeline::Timeline;
use holdco_core::timeline_image::{self, TimelineImage};
use holdco_core::{
    Basis, Change, Currency, Fact, FactKey, FxRate, Granularity, Group, Metric, MetricId, Model,
    Period, UnitId,
};
use rusqlite::{
    params, Connection, OptionalExtension, Row, Statement, Transaction, TransactionBehavior,
};
use std::borrow::Cow;
use std::path::Path;
use std::time::Duration;

/// A store in an SQLite database.
///
/// Opening applies any pending migration; a store written by a newer holdco is refused.
/// Each import is one transaction, and each load reads one snapshot. Files use write-ahead
/// logging, so other processes keep reading while an import runs and see the store as it was
/// before the import or after it, never in between.
#[derive(Debug)]
pub struct SqliteStore {
    connection: Connection,
    /// The path, or `:memory:`, for messages.
    location: String,
}

impl SqliteStore {
    /// Opens the store at `path`, creating the file and its schema when missing.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let failed = |error: rusqlite::Error| StoreError::Open {
            path: path.to_path_buf(),
            source: Box::new(error),
        };
        let connection = Connection::open(path).map_err(failed)?;
        connection
            .busy_timeout(Duration::from_secs(10))
            .map_err(failed)?;
        // A new file gets 64 KiB pages: a series row of facts (a few KiB of JSON) then fits
        // in its B-tree page instead of spilling into overflow pages that are mostly empty
        // (which tripled the file). No effect on an existing file.
        connection
            .pragma_update(None, "page_size", 65536)
            .map_err(failed)?;
        // The first statement to read the file: a file that is not a database fails here.
        // Only a file not yet in WAL mode (a new one, or one left by an import that was
        // stopped while it had the rollback journal) is switched: the switch needs the write
        // lock, which a reader must never wait for while an import runs.
        let mode: String = connection
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .map_err(failed)?;
        if !mode.eq_ignore_ascii_case("wal") {
            let _mode: String = connection
                .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
                .map_err(failed)?;
        }
        // With WAL, NORMAL keeps the database consistent on power loss; only the last
        // commits may be lost.
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(failed)?;
        connection
            .pragma_update(None, "foreign_keys", true)
            .map_err(failed)?;
        Self::migrated(connection, path.display().to_string())
    }

    /// A new, empty store in memory, gone when dropped.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let failed = |error: rusqlite::Error| StoreError::Open {
            path: ":memory:".into(),
            source: Box::new(error),
        };
        let connection = Connection::open_in_memory().map_err(failed)?;
        connection
            .pragma_update(None, "foreign_keys", true)
            .map_err(failed)?;
        Self::migrated(connection, ":memory:".to_string())
    }

    fn migrated(mut connection: Connection, location: String) -> Result<Self, StoreError> {
        migrations::run(&mut connection, &location)?;
        Ok(SqliteStore {
            connection,
            location,
        })
    }

    /// Where the store is: its path, or `:memory:`.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// True when the store holds any fact (then an import merges with them).
    pub fn holds_facts(&self) -> Result<bool, StoreError> {
        let failed = database("reading facts");
        let in_log: bool = self
            .connection
            .query_row("SELECT EXISTS (SELECT 1 FROM fact_revisions)", [], |row| {
                row.get(0)
            })
            .map_err(&failed)?;
        Ok(in_log || segments::any(&self.connection)?)
    }

    /// The current model without its facts (group, metrics, timeline, FX rates, documents),
    /// or `None` when nothing has been imported yet: what a query needs besides the facts,
    /// read in milliseconds whatever the number of facts.
    pub fn load_without_facts(&self) -> Result<Option<Model>, StoreError> {
        let transaction = self
            .connection
            .unchecked_transaction()
            .map_err(database("starting to load"))?;
        load_parts(&transaction)
    }

    /// The current timeline compiled into an image (migration 0010), when the last import
    /// wrote one: `None` for a store whose last import predates the migration, a timeline
    /// that did not replay cleanly, or an image this code cannot read (then the changes are
    /// read and replayed, which gives the same answers, slower).
    pub fn timeline_image(&self) -> Result<Option<TimelineImage>, StoreError> {
        let bytes: Option<Vec<u8>> = self
            .connection
            .query_row(
                "SELECT t.image FROM timeline_image t
                 JOIN model_group g ON g.singleton = 1 AND g.import_id = t.import_id",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(database("reading the timeline image"))?;
        Ok(bytes.and_then(|bytes| match TimelineImage::decode(&bytes) {
            Ok(image) => Some(image),
            Err(error) => {
                eprintln!(
                    "warning: {}: {error}; reading the changes instead",
                    self.location
                );
                None
            }
        }))
    }

    /// The current facts as series columns: each series row with the revision log's current
    /// figures in place of the ones they revise (the log holds only keys ever revised, so
    /// revisions cost in proportion to their number, never a slower path for the whole
    /// store). `metrics` keeps the facts of those metrics only (`None`: all); the count
    /// returned with them is that of every fact in the store. Always `Some`. Series come in
    /// no particular order.
    pub fn fact_series(
        &self,
        metrics: Option<&[MetricId]>,
    ) -> Result<Option<(Vec<StoredSeries>, usize)>, StoreError> {
        fact_series::read(&self.connection, metrics)
    }

    /// The current facts (of `metrics`, or all) as a [`holdco_core::columnar::FactTable`]
    /// for `engine` (built on the store's model, with or without facts), straight from the
    /// series rows: the table [`holdco_core::columnar::FactTable::from_model`] builds from the
    /// loaded model's facts of those metrics; with it the number of facts in the store (of
    /// every metric). `None` when the table refuses the facts (then load the model).
    pub fn fact_table(
        &self,
        engine: &holdco_core::rollup::Engine,
        metrics: Option<&[MetricId]>,
    ) -> Result<Option<(holdco_core::columnar::FactTable, usize)>, StoreError> {
        if let Some(found) = self.fact_table_from_images(engine, metrics)? {
            return Ok(Some(found));
        }
        self.fact_table_from_rows(engine, metrics)
    }

    /// [`SqliteStore::fact_table`] from the metrics' columnar images (migration 0009) only:
    /// `None` when they cannot answer (a metric's image is out of date, which only a store
    /// not imported into since 0009 or facts changed by hand leave, or the images do not
    /// make a table as they are). The same table as [`SqliteStore::fact_table_from_rows`].
    pub fn fact_table_from_images(
        &self,
        engine: &holdco_core::rollup::Engine,
        metrics: Option<&[MetricId]>,
    ) -> Result<Option<(holdco_core::columnar::FactTable, usize)>, StoreError> {
        metric_columns::table(&self.connection, engine, metrics)
    }

    /// [`SqliteStore::fact_table`] from the series rows (every store, any version).
    pub fn fact_table_from_rows(
        &self,
        engine: &holdco_core::rollup::Engine,
        metrics: Option<&[MetricId]>,
    ) -> Result<Option<(holdco_core::columnar::FactTable, usize)>, StoreError> {
        Ok(self.fact_series(metrics)?.and_then(|(series, facts)| {
            fact_series::table(&series, engine).map(|table| (table, facts))
        }))
    }

    /// True when the store holds revisions beyond the first of some fact (the revision log
    /// has rows). Informative only: the fast paths answer either way.
    pub fn holds_revisions(&self) -> Result<bool, StoreError> {
        self.connection
            .query_row("SELECT EXISTS (SELECT 1 FROM fact_revisions)", [], |row| {
                row.get(0)
            })
            .map_err(database("reading facts"))
    }

    /// [`Store::import`] of a model whose facts come as columns (`incoming.facts` must be
    /// empty; `facts` sorted by period within each series, e.g. by
    /// [`holdco_core::bulk_validate::columns_valid`]), when the columns hold every stored key
    /// (the usual case: a folder re-imported with some figures revised and some added).
    ///
    /// Returns `Ok(None)` and writes nothing otherwise (a stored key the columns lack would
    /// need validating against the incoming timeline: use [`Store::import`] then). When it
    /// answers, it stores exactly what [`Store::import`] of the same facts as a model would,
    /// in one transaction: unchanged facts write nothing, new ones are written as series
    /// straight from the columns, revised ones go to the revision log (with the first
    /// revision copied there and its segment position marked superseded). The cost is one
    /// pass over the stored series plus work in proportion to the revisions.
    pub fn import_columns(
        &mut self,
        incoming: &Model,
        facts: &holdco_core::format::fact_columns::FactColumns,
        label: &str,
    ) -> Result<Option<ImportSummary>, StoreError> {
        Ok(self
            .import_columns_recorded(incoming, facts, label, None)?
            .map(|(summary, _)| summary))
    }

    /// [`SqliteStore::import_columns`], recording an applied change set when `record` is
    /// given (see [`Store::apply`]); with the change set's id.
    fn import_columns_recorded(
        &mut self,
        incoming: &Model,
        facts: &holdco_core::format::fact_columns::FactColumns,
        label: &str,
        record: Option<&ApplyRecord>,
    ) -> Result<Option<(ImportSummary, Option<i64>)>, StoreError> {
        if !incoming.facts.is_empty() {
            return Err(StoreError::Unstorable {
                item: "the facts".to_string(),
                reason: "an import of columns takes its facts from the columns only".to_string(),
            });
        }
        let (encoded, image) = encode_with_image(incoming);
        let encoded = encoded?;
        // The first facts of a store are most of its pages. When no other connection has the
        // file open, a rollback journal instead of the write-ahead log writes new pages once,
        // into the file, rather than into the log and then again into the file; the journal
        // holds only the pages that existed before. The log comes back right after.
        // Without waiting: a reader holding the file keeps the log, and this import with it.
        // Only for the first import of a store: readers that open the file meanwhile find
        // nothing to read anyway, while on a store that holds a model they must keep reading
        // the previous state, which only the write-ahead log lets them do.
        let first_import = !self
            .connection
            .query_row("SELECT EXISTS (SELECT 1 FROM imports)", [], |row| {
                row.get::<_, bool>(0)
            })
            .map_err(database("reading the import log"))?;
        let switched = first_import && self.location != ":memory:" && {
            let _ = self.connection.busy_timeout(Duration::ZERO);
            let mode = journal_mode(&self.connection, "DELETE");
            let _ = self.connection.busy_timeout(Duration::from_secs(10));
            mode.ok()
                .is_some_and(|mode| mode.eq_ignore_ascii_case("delete"))
        };
        let result = self.import_columns_in_transaction(
            incoming,
            (&encoded, image.as_deref()),
            facts,
            label,
            record,
        );
        if switched {
            // Best effort: the import has committed (or rolled back) either way, and every
            // open of the store sets the write-ahead log again.
            let _ = journal_mode(&self.connection, "WAL");
        }
        result
    }

    fn import_columns_in_transaction(
        &mut self,
        incoming: &Model,
        (encoded, image): (&merge::Encoded, Option<&[u8]>),
        facts: &holdco_core::format::fact_columns::FactColumns,
        label: &str,
        record: Option<&ApplyRecord>,
    ) -> Result<Option<(ImportSummary, Option<i64>)>, StoreError> {
        let total = facts.len();
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(import_blocked(&self.location))?;
        // Facts the store holds already: unchanged ones write nothing, revised ones go to the
        // revision log, the others are new.
        let timing = std::env::var_os("HOLDCO_TIMING").is_some();
        let started = std::time::Instant::now();
        let mut merged = None;
        if segments::any(&transaction)? || self_holds_log(&transaction)? {
            let Some(found) =
                segments::merge_columns(&transaction, facts, incoming.group.calendar())?
            else {
                return Ok(None);
            };
            merged = Some(found);
            if timing {
                eprintln!(
                    "store: compared with the stored facts in {:.2?}",
                    started.elapsed()
                );
            }
        }
        let new_facts = merged.as_ref().map(|merged| facts.subset(&merged.new));
        let all_facts = facts;
        let facts = new_facts.as_ref().unwrap_or(facts);
        let revised = merged.as_ref().map_or(0, |merged| merged.revised.len());
        let unchanged = total - facts.len() - revised;
        transaction
            .execute(
                "INSERT INTO imports (label, imported_at, facts_new, facts_revised, facts_unchanged)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    label,
                    merge::unix_now(),
                    facts.len() as i64,
                    revised as i64,
                    unchanged as i64
                ],
            )
            .map_err(database("recording the import"))?;
        let import_id = transaction.last_insert_rowid();
        let base = record
            .map(|record| changesets::check_base(&transaction, import_id, record))
            .transpose()?;
        write_model_parts(&transaction, encoded, import_id)?;
        write_timeline_image(&transaction, image, import_id)?;
        write_documents(&transaction, &incoming.documents, import_id)?;
        let started = std::time::Instant::now();
        segments::write_columns(&transaction, facts, import_id, incoming.group.calendar())?;
        if let Some(merged) = &merged {
            segments::write_revisions(&transaction, all_facts, merged, import_id)?;
        }
        if timing {
            eprintln!("store: series written in {:.2?}", started.elapsed());
        }
        metric_columns::refresh(&transaction)?;
        if timing {
            eprintln!(
                "store: columnar images written at {:.2?}",
                started.elapsed()
            );
        }
        let changeset = match (record, base) {
            (Some(record), Some(base)) => Some(changesets::record_apply(
                &transaction,
                import_id,
                base,
                record,
            )?),
            _ => None,
        };
        transaction
            .commit()
            .map_err(database("committing the import"))?;
        if timing {
            eprintln!("store: committed at {:.2?}", started.elapsed());
        }
        // The columnar path never removes a fact (it declines a prune that would).
        let tally = Tally {
            new: facts.len(),
            revised,
            unchanged,
            deleted: 0,
        };
        Ok(Some((tally.summary(import_id, incoming), changeset)))
    }

    /// [`Store::import`], recording an applied change set when `record` is given (see
    /// [`Store::apply`]); with the change set's id.
    fn import_recorded(
        &mut self,
        incoming: &Model,
        label: &str,
        options: ImportOptions,
        record: Option<&ApplyRecord>,
        lookup: Lookup,
    ) -> Result<(ImportSummary, Option<i64>), StoreError> {
        let (encoded, image) = encode_with_image(incoming);
        let encoded = encoded?;
        // Dropping the transaction on any error below rolls everything back.
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(import_blocked(&self.location))?;
        transaction
            .execute(
                "INSERT INTO imports (label, imported_at, facts_new, facts_revised, facts_unchanged)
                 VALUES (?1, ?2, 0, 0, 0)",
                params![label, merge::unix_now()],
            )
            .map_err(database("recording the import"))?;
        let import_id = transaction.last_insert_rowid();
        let base = record
            .map(|record| changesets::check_base(&transaction, import_id, record))
            .transpose()?;
        write_model_parts(&transaction, &encoded, import_id)?;
        write_timeline_image(&transaction, image.as_deref(), import_id)?;
        write_documents(&transaction, &incoming.documents, import_id)?;
        let retract = record.map_or(&[][..], |record| record.retract.as_slice());
        let tally = write_facts(&transaction, incoming, import_id, options, retract, lookup)?;
        transaction
            .execute(
                "UPDATE imports SET facts_new = ?2, facts_revised = ?3, facts_unchanged = ?4,
                                    facts_deleted = ?5 WHERE id = ?1",
                params![
                    import_id,
                    tally.new as i64,
                    tally.revised as i64,
                    tally.unchanged as i64,
                    tally.deleted as i64
                ],
            )
            .map_err(database("recording the import"))?;
        metric_columns::refresh(&transaction)?;
        let changeset = match (record, base) {
            (Some(record), Some(base)) => Some(changesets::record_apply(
                &transaction,
                import_id,
                base,
                record,
            )?),
            _ => None,
        };
        transaction
            .commit()
            .map_err(database("committing the import"))?;
        Ok((tally.summary(import_id, incoming), changeset))
    }

    /// [`Store::apply`], looking the stored facts up as `lookup` says.
    fn apply_with(
        &mut self,
        incoming: &Model,
        label: &str,
        record: &ApplyRecord,
        lookup: Lookup,
    ) -> Result<Applied, StoreError> {
        let options = ImportOptions {
            prune: record.prune,
        };
        let (summary, changeset) =
            self.import_recorded(incoming, label, options, Some(record), lookup)?;
        Ok(Applied {
            changeset_id: changeset.unwrap_or_default(),
            revision: summary.import_id,
            summary,
        })
    }

    /// The schema version this code creates and understands.
    pub fn schema_version() -> i64 {
        migrations::latest_version()
    }
}

/// True when the revision log has rows.
fn self_holds_log(connection: &Connection) -> Result<bool, StoreError> {
    connection
        .query_row("SELECT EXISTS (SELECT 1 FROM fact_revisions)", [], |row| {
            row.get(0)
        })
        .map_err(database("reading facts"))
}

/// Sets the journal mode; returns the mode in force after (SQLite keeps the old one when it
/// can't switch, e.g. while another connection has the file open in WAL mode).
fn journal_mode(connection: &Connection, mode: &str) -> Result<String, StoreError> {
    connection
        .pragma_update_and_check(None, "journal_mode", mode, |row| row.get::<_, String>(0))
        .map_err(database("switching the journal"))
}

/// Maps the failure to start an import: [`StoreError::Busy`] when another connection kept
/// the write lock past the busy timeout (another import), [`StoreError::Database`] otherwise.
fn import_blocked(location: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |error| match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Busy {
                location: location.to_string(),
                detail: "another import into it has held it for over 10 seconds".to_string(),
            }
        }
        _ => StoreError::database("starting the import", error),
    }
}

/// Maps a database error to [`StoreError::Database`] while doing `action`.
fn database(action: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |error| StoreError::database(action, error)
}

impl Store for SqliteStore {
    fn load(&self) -> Result<Option<Model>, StoreError> {
        // One read transaction: a snapshot, even while another process imports.
        let transaction = self
            .connection
            .unchecked_transaction()
            .map_err(database("starting to load"))?;
        let Some(mut model) = load_parts(&transaction)? else {
            return Ok(None);
        };
        model.facts = load_facts(&transaction)?;
        model.canonicalize();
        Ok(Some(model))
    }

    fn import_with(
        &mut self,
        incoming: &Model,
        label: &str,
        options: ImportOptions,
    ) -> Result<ImportSummary, StoreError> {
        Ok(self
            .import_recorded(incoming, label, options, None, Lookup::All)?
            .0)
    }

    fn revision(&self) -> Result<i64, StoreError> {
        changesets::revision(&self.connection)
    }

    fn apply(
        &mut self,
        incoming: &Model,
        label: &str,
        record: &ApplyRecord,
    ) -> Result<Applied, StoreError> {
        self.apply_with(incoming, label, record, Lookup::All)
    }

    /// Looks up only the keys of `incoming.facts` and `record.retract` (the whole store
    /// still for a prune, which needs every stored key).
    fn apply_delta(
        &mut self,
        incoming: &Model,
        label: &str,
        record: &ApplyRecord,
    ) -> Result<Applied, StoreError> {
        self.apply_with(incoming, label, record, Lookup::Keys)
    }

    fn apply_columns(
        &mut self,
        incoming: &Model,
        facts: &holdco_core::format::fact_columns::FactColumns,
        label: &str,
        record: &ApplyRecord,
    ) -> Result<Option<Applied>, StoreError> {
        // Removed facts take deletion revisions, which the general path writes.
        if !record.retract.is_empty() {
            return Ok(None);
        }
        Ok(self
            .import_columns_recorded(incoming, facts, label, Some(record))?
            .map(|(summary, changeset)| Applied {
                changeset_id: changeset.unwrap_or_default(),
                revision: summary.import_id,
                summary,
            }))
    }

    fn create_changeset(&mut self, new: &NewChangeset) -> Result<i64, StoreError> {
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(import_blocked(&self.location))?;
        let id = changesets::insert(&transaction, new, ChangesetState::Draft, None)?;
        transaction
            .commit()
            .map_err(database("recording the change set"))?;
        Ok(id)
    }

    fn changeset(&self, id: i64) -> Result<Option<ChangesetRecord>, StoreError> {
        changesets::get(&self.connection, id)
    }

    fn changesets(&self) -> Result<Vec<ChangesetRecord>, StoreError> {
        changesets::list(&self.connection)
    }

    fn transitions(&self, id: i64) -> Result<Vec<TransitionRecord>, StoreError> {
        changesets::transitions(&self.connection, id)
    }

    fn transition_changeset(
        &mut self,
        id: i64,
        from: ChangesetState,
        to: ChangesetState,
        actor: &str,
        note: Option<&str>,
    ) -> Result<(), StoreError> {
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(import_blocked(&self.location))?;
        changesets::transition(&transaction, id, from, to, actor, note)?;
        transaction.commit().map_err(database("changing the state"))
    }

    fn audit(&self) -> Result<Vec<AuditRecord>, StoreError> {
        changesets::audit(&self.connection)
    }

    fn fact_history(&self, key: &FactKey) -> Result<Vec<FactRevision>, StoreError> {
        let failed = database("reading a fact's history");
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT f.revision, f.value, f.currency, f.source, f.import_id, i.label, i.imported_at,
                        f.note, f.precision_step, f.deleted
                 FROM fact_revisions AS f JOIN imports AS i ON i.id = f.import_id
                 WHERE f.unit = ?1 AND f.period_start = ?2 AND f.granularity = ?3 AND f.metric = ?4
                   AND f.counterparty = ?5 AND f.basis = ?6 AND f.structure = ?7
                 ORDER BY f.revision",
            )
            .map_err(&failed)?;
        let columns = KeyColumns::of(key);
        let mut rows = statement.query(columns.params()).map_err(&failed)?;
        let mut history = Vec::new();
        while let Some(row) = rows.next().map_err(&failed)? {
            history.push(FactRevision {
                revision: row.get(0).map_err(&failed)?,
                value: row.get(1).map_err(&failed)?,
                currency: optional_text(row, 2)?
                    .map(Currency::parse)
                    .transpose()
                    .map_err(corrupt)?,
                source: row.get(3).map_err(&failed)?,
                note: row.get(7).map_err(&failed)?,
                precision: row.get(8).map_err(&failed)?,
                deleted: row.get(9).map_err(&failed)?,
                import_id: row.get(4).map_err(&failed)?,
                import_label: row.get(5).map_err(&failed)?,
                imported_at: row.get(6).map_err(&failed)?,
            });
        }
        if history.is_empty() {
            // A key the facts table does not hold has at most its first revision, in a segment.
            return segments::history(&self.connection, key);
        }
        Ok(history)
    }

    fn timeline_image(&self) -> Result<Option<TimelineImage>, StoreError> {
        SqliteStore::timeline_image(self)
    }

    fn load_without_facts(&self) -> Result<Option<Model>, StoreError> {
        SqliteStore::load_without_facts(self)
    }

    fn holds_revisions(&self) -> Result<bool, StoreError> {
        SqliteStore::holds_revisions(self)
    }

    /// Always: the columnar merge handles a revision log too.
    fn takes_columns(&self) -> Result<bool, StoreError> {
        Ok(true)
    }

    fn fact_table(
        &self,
        engine: &holdco_core::rollup::Engine,
        metrics: Option<&[MetricId]>,
    ) -> Result<Option<(holdco_core::columnar::FactTable, usize)>, StoreError> {
        SqliteStore::fact_table(self, engine, metrics)
    }

    fn import_columns(
        &mut self,
        incoming: &Model,
        facts: &holdco_core::format::fact_columns::FactColumns,
        label: &str,
    ) -> Result<Option<ImportSummary>, StoreError> {
        SqliteStore::import_columns(self, incoming, facts, label)
    }

    fn imports(&self) -> Result<Vec<ImportRecord>, StoreError> {
        let failed = database("reading the import log");
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT id, label, imported_at, facts_new, facts_revised, facts_unchanged, facts_deleted
                 FROM imports ORDER BY id",
            )
            .map_err(&failed)?;
        let mut rows = statement.query([]).map_err(&failed)?;
        let mut records = Vec::new();
        while let Some(row) = rows.next().map_err(&failed)? {
            let count = |index: usize| -> Result<usize, StoreError> {
                let count: i64 = row.get(index).map_err(&failed)?;
                usize::try_from(count).map_err(|_| StoreError::Corrupt {
                    table: "imports",
                    detail: format!("negative count {count}"),
                })
            };
            records.push(ImportRecord {
                id: row.get(0).map_err(&failed)?,
                label: row.get(1).map_err(&failed)?,
                imported_at: row.get(2).map_err(&failed)?,
                facts_new: count(3)?,
                facts_revised: count(4)?,
                facts_unchanged: count(5)?,
                facts_deleted: count(6)?,
            });
        }
        Ok(records)
    }
}

/// The stored documents, by path.
/// The model of the last import without its facts, or `None` when there is none.
fn load_parts(transaction: &Transaction<'_>) -> Result<Option<Model>, StoreError> {
    let group_body: Option<String> = transaction
        .query_row(
            "SELECT body FROM model_group WHERE singleton = 1",
            [],
            |row| row.get(0),
        )
        .optional()
        .map_err(database("loading the group"))?;
    let Some(group_body) = group_body else {
        return Ok(None);
    };
    let group: Group = merge::decode("model_group", &group_body)?;
    let metrics: Vec<Metric> = bodies(
        transaction,
        "metrics",
        "SELECT body FROM metrics ORDER BY position",
    )?;
    let timeline: Vec<Change> = parallel_bodies(
        transaction,
        "changes",
        "SELECT body FROM changes ORDER BY sequence",
    )?;
    let fx: Vec<FxRate> = bodies(
        transaction,
        "fx_rates",
        "SELECT body FROM fx_rates ORDER BY position",
    )?;
    let documents = load_documents(transaction)?;
    let mut model = Model {
        group,
        metrics,
        timeline,
        facts: Vec::new(),
        fx,
        documents,
    };
    model.canonicalize();
    Ok(Some(model))
}

fn load_documents(
    connection: &Connection,
) -> Result<std::collections::BTreeMap<String, String>, StoreError> {
    let failed = database("loading the documents");
    let mut statement = connection
        .prepare("SELECT path, body FROM documents ORDER BY path")
        .map_err(&failed)?;
    let mut rows = statement.query([]).map_err(&failed)?;
    let mut documents = std::collections::BTreeMap::new();
    while let Some(row) = rows.next().map_err(&failed)? {
        documents.insert(row.get(0).map_err(&failed)?, row.get(1).map_err(&failed)?);
    }
    Ok(documents)
}

/// Replaces the stored documents with the import's.
fn write_documents(
    transaction: &Transaction<'_>,
    documents: &std::collections::BTreeMap<String, String>,
    import_id: i64,
) -> Result<(), StoreError> {
    let failed = database("writing the documents");
    transaction
        .execute("DELETE FROM documents", [])
        .map_err(&failed)?;
    let mut insert = transaction
        .prepare("INSERT INTO documents (path, body, import_id) VALUES (?1, ?2, ?3)")
        .map_err(&failed)?;
    for (path, body) in documents {
        insert
            .execute(params![path, body, import_id])
            .map_err(&failed)?;
    }
    Ok(())
}

/// Decodes the JSON `body` column of every row `sql` returns.
fn bodies<T: serde::de::DeserializeOwned>(
    connection: &Connection,
    table: &'static str,
    sql: &str,
) -> Result<Vec<T>, StoreError> {
    let failed = database("loading the model");
    let mut statement = connection.prepare(sql).map_err(&failed)?;
    let mut rows = statement.query([]).map_err(&failed)?;
    let mut items = Vec::new();
    while let Some(row) = rows.next().map_err(&failed)? {
        let body: String = row.get(0).map_err(&failed)?;
        items.push(merge::decode(table, &body)?);
    }
    Ok(items)
}

/// The incoming model checked and encoded, and its timeline compiled into an image (on a
/// second thread: the replay costs about as much as the encoding). No image when the timeline
/// does not replay cleanly: readers then replay the changes and report what they find.
fn encode_with_image(incoming: &Model) -> (Result<merge::Encoded, StoreError>, Option<Vec<u8>>) {
    std::thread::scope(|scope| {
        let image = scope.spawn(|| {
            let (timeline, problems) =
                Timeline::replay(&incoming.group, &incoming.metrics, &incoming.timeline);
            if problems.is_empty() {
                timeline_image::compile(&incoming.group, &timeline)
            } else {
                None
            }
        });
        let encoded = merge::check_and_encode(incoming);
        let image = image.join().ok().flatten();
        (
            encoded,
            image.filter(|bytes| bytes.len() <= IMAGE_MAX_BYTES),
        )
    })
}

/// The largest timeline image written (about six million units ever; SQLite refuses a value
/// above 1 GB): a larger timeline is stored without one, and read by replaying its changes.
const IMAGE_MAX_BYTES: usize = 512 << 20;

/// Replaces the stored timeline image with the import's (or removes it when there is none).
fn write_timeline_image(
    transaction: &Transaction<'_>,
    image: Option<&[u8]>,
    import_id: i64,
) -> Result<(), StoreError> {
    let failed = database("writing the timeline image");
    transaction
        .execute("DELETE FROM timeline_image", [])
        .map_err(&failed)?;
    if let Some(image) = image {
        transaction
            .execute(
                "INSERT INTO timeline_image (singleton, import_id, image) VALUES (1, ?1, ?2)",
                params![import_id, image],
            )
            .map_err(&failed)?;
    }
    Ok(())
}

/// [`bodies`] for tables of many rows (a million changes): the rows' text copied into one
/// buffer (no string per row), then decoded in as many consecutive chunks as there are
/// threads, in order; the first error in row order is the one reported.
fn parallel_bodies<T: serde::de::DeserializeOwned + Send>(
    connection: &Connection,
    table: &'static str,
    sql: &str,
) -> Result<Vec<T>, StoreError> {
    let failed = database("loading the model");
    let damaged = |detail: String| StoreError::Corrupt { table, detail };
    let mut statement = connection.prepare(sql).map_err(&failed)?;
    let mut rows = statement.query([]).map_err(&failed)?;
    let (mut text, mut ends) = (String::new(), Vec::<usize>::new());
    while let Some(row) = rows.next().map_err(&failed)? {
        let body = row.get_ref(0).map_err(&failed)?;
        text.push_str(body.as_str().map_err(|e| damaged(e.to_string()))?);
        ends.push(text.len());
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = ends.len().div_ceil(threads).max(4096);
    let (text, all) = (text.as_str(), ends.as_slice());
    let decode = |first: usize, part: &[usize]| -> Result<Vec<T>, StoreError> {
        let mut start = first.checked_sub(1).map_or(0, |before| all[before]);
        let mut items = Vec::with_capacity(part.len());
        for end in part {
            // Row boundaries are character boundaries: each row was a string of its own.
            let body = text
                .get(start..*end)
                .ok_or_else(|| damaged("a row outside the text".into()))?;
            items.push(merge::decode(table, body)?);
            start = *end;
        }
        Ok(items)
    };
    let parts: Vec<Result<Vec<T>, StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = all
            .chunks(chunk)
            .enumerate()
            .map(|(k, part)| {
                let decode = &decode;
                scope.spawn(move || decode(k * chunk, part))
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err(damaged("a decoding thread stopped".into())))
            })
            .collect()
    });
    let mut items = Vec::with_capacity(ends.len());
    for part in parts {
        items.extend(part?);
    }
    Ok(items)
}

/// Replaces the group, metrics, timeline and rates with those of the import.
fn write_model_parts(
    transaction: &Transaction<'_>,
    encoded: &merge::Encoded,
    import_id: i64,
) -> Result<(), StoreError> {
    let failed = database("writing the group, metrics, timeline and rates");
    transaction
        .execute_batch("DELETE FROM model_group; DELETE FROM metrics; DELETE FROM changes; DELETE FROM fx_rates;")
        .map_err(&failed)?;
    transaction
        .execute(
            "INSERT INTO model_group (singleton, body, import_id) VALUES (1, ?1, ?2)",
            params![encoded.group, import_id],
        )
        .map_err(&failed)?;
    let mut insert = transaction
        .prepare("INSERT INTO metrics (position, id, body) VALUES (?1, ?2, ?3)")
        .map_err(&failed)?;
    for (position, (id, body)) in encoded.metrics.iter().enumerate() {
        insert
            .execute(params![position as i64, id, body])
            .map_err(&failed)?;
    }
    let mut insert = transaction
        .prepare("INSERT INTO changes (sequence, date, body) VALUES (?1, ?2, ?3)")
        .map_err(&failed)?;
    for (sequence, (date, body)) in encoded.changes.iter().enumerate() {
        insert
            .execute(params![sequence as i64, date, body])
            .map_err(&failed)?;
    }
    let mut insert = transaction
        .prepare("INSERT INTO fx_rates (position, body) VALUES (?1, ?2)")
        .map_err(&failed)?;
    for (position, body) in encoded.fx.iter().enumerate() {
        insert
            .execute(params![position as i64, body])
            .map_err(&failed)?;
    }
    Ok(())
}

/// Fact rows inserted by one statement: binding many rows to one statement cuts the time per
/// fact by about a third (64 rows of 15 values stay far below SQLite's limit of 32,766).
const INSERT_BATCH: usize = 64;

/// An insert of `rows` fact rows, each the current revision.
pub(super) fn insert_facts_sql(rows: usize) -> String {
    let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)";
    format!(
        "INSERT INTO fact_revisions (unit, period_start, granularity, metric, counterparty, basis, structure, \
         revision, value, currency, source, import_id, note, precision_step, deleted, is_current) VALUES {}",
        vec![row; rows].join(", ")
    )
}

/// Marks a revision as superseded.
pub(super) const RETIRE_FACT: &str = "UPDATE fact_revisions SET is_current = 0
    WHERE unit = ?1 AND period_start = ?2 AND granularity = ?3 AND metric = ?4
      AND counterparty = ?5 AND basis = ?6 AND structure = ?7 AND revision = ?8";

/// The latest revision of every fact, in key order (the primary key's: no sorting needed).
const CURRENT_FACTS: &str =
    "SELECT unit, period_start, granularity, metric, counterparty, basis, structure,
           revision, value, currency, source, note, precision_step, deleted
    FROM fact_revisions
    WHERE is_current = 1
    ORDER BY unit, period_start, granularity, metric, counterparty, basis, structure";

/// Merges the incoming facts into the stored revisions.
///
/// Keys the store does not hold go into segments, one row per series. Every other fact is
/// compared with the latest stored revision of its key: unchanged ones write nothing, revised
/// ones a new row in the facts table (after copying a first revision that only a segment held
/// into the table, so that the table keeps the whole history of the key).
fn write_facts(
    transaction: &Transaction<'_>,
    incoming: &Model,
    import_id: i64,
    options: ImportOptions,
    retract: &[FactKey],
    lookup: Lookup,
) -> Result<Tally, StoreError> {
    let failed = database("writing facts");
    let calendar = incoming.group.calendar();
    let holds_facts: bool = transaction
        .query_row("SELECT EXISTS (SELECT 1 FROM fact_revisions)", [], |row| {
            row.get(0)
        })
        .map_err(&failed)?;
    let mut tally = Tally::default();
    if !holds_facts && !segments::any(transaction)? {
        let all: Vec<&Fact> = incoming.facts.iter().collect();
        segments::write(transaction, &all, import_id, calendar)?;
        tally.new = all.len();
        return Ok(tally);
    }
    // Only the keys written or removed are compared, so only they need looking up, unless
    // a prune removes every stored key the model lacks.
    let stored = match lookup {
        Lookup::Keys if !options.prune => stored_of(
            transaction,
            incoming.facts.iter().map(|fact| &fact.key).chain(retract),
        )?,
        _ => stored_latest(transaction)?,
    };
    let mut new = Vec::new();
    let mut rows: Vec<(&Fact, u32, bool)> = Vec::new();
    let mut seen: segments::FastMap<&FactKey, ()> = segments::FastMap::default();
    let mut retire = transaction.prepare_cached(RETIRE_FACT).map_err(&failed)?;
    let mut copy = transaction
        .prepare_cached(COPY_FIRST_REVISION)
        .map_err(&failed)?;
    for fact in &incoming.facts {
        let Some(held) = stored.get(&fact.key) else {
            new.push(fact);
            continue;
        };
        if seen.insert(&fact.key, ()).is_some() {
            return Err(StoreError::DuplicateFact {
                key: merge::describe_key(&fact.key, calendar),
            });
        }
        let latest = merge::Latest {
            revision: held.revision,
            value: held.fact.value,
            currency: held.fact.currency.as_ref().map(Currency::as_str),
            source: held.fact.source.as_deref(),
            note: held.fact.note.as_deref(),
            precision: held.fact.precision,
            deleted: held.deleted,
        };
        let outcome = merge::outcome(Some(latest), fact);
        tally.count(outcome);
        let Some(revision) = outcome.revision() else {
            continue;
        };
        supersede(transaction, held, &mut copy, &mut retire, revision)?;
        rows.push((fact, revision, false));
    }
    // With --prune, every stored key the folder lacks gets a deletion revision.
    if options.prune {
        for held in stored.values() {
            if held.deleted || seen.contains_key(&held.fact.key) {
                continue;
            }
            let revision = held.revision.saturating_add(1);
            supersede(transaction, held, &mut copy, &mut retire, revision)?;
            rows.push((&held.fact, revision, true));
            tally.deleted += 1;
        }
    }
    // A change set's removed facts: a deletion revision each, as --prune writes (the
    // history of the key stays; a later change set or revert may bring it back).
    if !options.prune {
        for key in retract {
            let Some(held) = stored.get(key) else {
                continue;
            };
            if held.deleted || seen.contains_key(key) {
                continue;
            }
            seen.insert(key, ());
            let revision = held.revision.saturating_add(1);
            supersede(transaction, held, &mut copy, &mut retire, revision)?;
            rows.push((&held.fact, revision, true));
            tally.deleted += 1;
        }
    }
    tally.new = new.len();
    segments::write(transaction, &new, import_id, calendar)?;
    insert_facts(transaction, &rows, import_id).map_err(&failed)?;
    Ok(tally)
}

/// Readies the history of a stored key for its next revision `revision`: a first revision
/// that only a segment held is copied into the revision log (superseded), a revision-log
/// row is retired.
fn supersede(
    transaction: &Transaction<'_>,
    held: &Held,
    copy: &mut Statement<'_>,
    retire: &mut Statement<'_>,
    revision: u32,
) -> Result<(), StoreError> {
    let failed = database("writing facts");
    let key = KeyColumns::of(&held.fact.key);
    match held.segment_import {
        Some((first_import, position)) => {
            segments::supersede(transaction, &held.fact.key, first_import, position)?;
            copy.execute(params![
                key.unit,
                key.period_start,
                key.granularity,
                key.metric,
                key.counterparty,
                key.basis,
                key.structure.as_ref(),
                held.fact.value,
                held.fact.currency.as_ref().map(Currency::as_str),
                held.fact.source.as_deref(),
                first_import,
                held.fact.note.as_deref(),
                held.fact.precision,
            ])
            .map_err(&failed)?;
        }
        None => {
            retire
                .execute(key.params_with(revision - 1))
                .map_err(&failed)?;
        }
    }
    Ok(())
}

/// Copies a first revision that only a segment holds into the facts table, superseded.
pub(super) const COPY_FIRST_REVISION: &str =
    "INSERT INTO fact_revisions (unit, period_start, granularity, metric,
    counterparty, basis, structure, revision, value, currency, source, import_id, note,
    precision_step, is_current)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?9, ?10, ?11, ?12, ?13, 0)";

/// The latest stored revision of a key, and the import of the segment holding it when the
/// facts table does not.
struct Held {
    fact: Fact,
    revision: u32,
    /// The latest revision is a deletion (`import --prune`).
    deleted: bool,
    segment_import: Option<(i64, usize)>,
}

/// The latest revision of every stored key.
fn stored_latest(connection: &Connection) -> Result<segments::FastMap<FactKey, Held>, StoreError> {
    let mut held: segments::FastMap<FactKey, Held> = segments::FastMap::default();
    for segment_fact in segments::read(connection, None)? {
        let key = segment_fact.fact.key.clone();
        held.insert(
            key,
            Held {
                fact: segment_fact.fact,
                revision: 1,
                deleted: false,
                segment_import: Some((segment_fact.import_id, segment_fact.position)),
            },
        );
    }
    for (fact, revision, deleted) in table_facts(connection)? {
        held.insert(
            fact.key.clone(),
            Held {
                fact,
                revision,
                deleted,
                segment_import: None,
            },
        );
    }
    Ok(held)
}

/// How an import finds the stored revisions of the keys it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lookup {
    /// Reads every stored fact once ([`stored_latest`]): the cheapest for an import that
    /// brings most of the store's keys.
    All,
    /// Looks up each key written or removed ([`stored_of`]): for a change set, whose few
    /// keys cost a few indexed reads instead of a read of the whole store.
    Keys,
}

/// The latest revision of each of `keys` that the store holds: what [`stored_latest`]
/// holds for them, read by key instead of reading every stored fact. Each series row of
/// the keys is read by its primary key and decoded once for all of its keys asked; each
/// key's current row of the revision log (which wins over a segment, as in
/// [`stored_latest`]) by the log's primary key.
fn stored_of<'k>(
    connection: &Connection,
    keys: impl IntoIterator<Item = &'k FactKey>,
) -> Result<segments::FastMap<FactKey, Held>, StoreError> {
    let failed = database("reading facts");
    // The keys by series (the key with period start 0), each series' starts ascending.
    let mut by_series: segments::FastMap<FactKey, Vec<i32>> = segments::FastMap::default();
    for key in keys {
        let series = FactKey {
            period: Period::new(0, key.period.granularity),
            ..key.clone()
        };
        by_series.entry(series).or_default().push(key.period.start);
    }
    let mut held: segments::FastMap<FactKey, Held> = segments::FastMap::default();
    let mut logged = connection
        .prepare_cached(
            "SELECT revision, value, currency, source, note, precision_step, deleted
             FROM fact_revisions
             WHERE unit = ?1 AND period_start = ?2 AND granularity = ?3 AND metric = ?4
               AND counterparty = ?5 AND basis = ?6 AND structure = ?7 AND is_current = 1",
        )
        .map_err(&failed)?;
    let mut currencies = Currencies::default();
    for (series, mut starts) in by_series {
        starts.sort_unstable();
        starts.dedup();
        for segment_fact in segments::read_starts(connection, &series, &starts)? {
            held.insert(
                segment_fact.fact.key.clone(),
                Held {
                    fact: segment_fact.fact,
                    revision: 1,
                    deleted: false,
                    segment_import: Some((segment_fact.import_id, segment_fact.position)),
                },
            );
        }
        for start in starts {
            let key = FactKey {
                period: Period::new(start, series.period.granularity),
                ..series.clone()
            };
            let columns = KeyColumns::of(&key);
            let mut rows = logged.query(columns.params()).map_err(&failed)?;
            let Some(row) = rows.next().map_err(&failed)? else {
                continue;
            };
            let currency = optional_text(row, 2)?.map(str::to_string);
            let fact = Fact {
                key: key.clone(),
                value: row.get(1).map_err(&failed)?,
                currency: currency.map(|code| currencies.get(code)).transpose()?,
                source: row.get(3).map_err(&failed)?,
                note: row.get(4).map_err(&failed)?,
                precision: row.get(5).map_err(&failed)?,
                origin: store_origin(),
            };
            let latest = Held {
                fact,
                revision: row.get(0).map_err(&failed)?,
                deleted: row.get(6).map_err(&failed)?,
                segment_import: None,
            };
            held.insert(key, latest);
        }
    }
    Ok(held)
}

/// Inserts fact rows (a fact and its revision number), in batches of [`INSERT_BATCH`].
fn insert_facts(
    transaction: &Transaction<'_>,
    rows: &[(&Fact, u32, bool)],
    import_id: i64,
) -> rusqlite::Result<()> {
    let mut batch = transaction.prepare_cached(&insert_facts_sql(INSERT_BATCH))?;
    let mut chunks = rows.chunks_exact(INSERT_BATCH);
    for chunk in &mut chunks {
        bind_fact_rows(&mut batch, chunk, import_id)?;
        batch.raw_execute()?;
    }
    let mut single = transaction.prepare_cached(&insert_facts_sql(1))?;
    for row in chunks.remainder() {
        bind_fact_rows(&mut single, std::slice::from_ref(row), import_id)?;
        single.raw_execute()?;
    }
    Ok(())
}

/// Binds the values of consecutive fact rows to an insert made by [`insert_facts_sql`].
fn bind_fact_rows(
    statement: &mut Statement<'_>,
    rows: &[(&Fact, u32, bool)],
    import_id: i64,
) -> rusqlite::Result<()> {
    for (offset, (fact, revision, deleted)) in rows.iter().enumerate() {
        let first = offset * 15 + 1;
        let key = KeyColumns::of(&fact.key);
        statement.raw_bind_parameter(first, key.unit)?;
        statement.raw_bind_parameter(first + 1, key.period_start)?;
        statement.raw_bind_parameter(first + 2, key.granularity)?;
        statement.raw_bind_parameter(first + 3, key.metric)?;
        statement.raw_bind_parameter(first + 4, key.counterparty)?;
        statement.raw_bind_parameter(first + 5, key.basis)?;
        statement.raw_bind_parameter(first + 6, key.structure.as_ref())?;
        statement.raw_bind_parameter(first + 7, revision)?;
        statement.raw_bind_parameter(first + 8, fact.value)?;
        statement.raw_bind_parameter(first + 9, fact.currency.as_ref().map(Currency::as_str))?;
        statement.raw_bind_parameter(first + 10, fact.source.as_deref())?;
        statement.raw_bind_parameter(first + 11, import_id)?;
        statement.raw_bind_parameter(first + 12, fact.note.as_deref())?;
        statement.raw_bind_parameter(first + 13, fact.precision)?;
        statement.raw_bind_parameter(first + 14, deleted)?;
    }
    Ok(())
}

/// The latest revision of every stored fact: the facts table's current rows, and the facts
/// of segments whose key the table does not hold (in no particular order).
fn load_facts(connection: &Connection) -> Result<Vec<Fact>, StoreError> {
    let table = table_facts(connection)?;
    let mut in_table: segments::FastMap<&FactKey, ()> = segments::FastMap::default();
    for (fact, _, _) in &table {
        in_table.insert(&fact.key, ());
    }
    let mut facts: Vec<Fact> = segments::read(connection, None)?
        .into_iter()
        .map(|segment_fact| segment_fact.fact)
        .filter(|fact| !in_table.contains_key(&fact.key))
        .collect();
    drop(in_table);
    // A key whose latest revision is a deletion is not in the model.
    facts.extend(
        table
            .into_iter()
            .filter(|(_, _, deleted)| !deleted)
            .map(|(fact, _, _)| fact),
    );
    Ok(facts)
}

/// The current rows of the facts table with their revision numbers and whether each is a
/// deletion, in key order.
fn table_facts(connection: &Connection) -> Result<Vec<(Fact, u32, bool)>, StoreError> {
    let failed = database("reading facts");
    let mut statement = connection.prepare(CURRENT_FACTS).map_err(&failed)?;
    let mut rows = statement.query([]).map_err(&failed)?;
    let mut facts = Vec::new();
    while let Some(row) = rows.next().map_err(&failed)? {
        let latest = read_latest(row)?;
        facts.push((
            Fact {
                key: KeyColumns::read(row)?.to_key()?,
                value: latest.value,
                currency: latest
                    .currency
                    .map(Currency::parse)
                    .transpose()
                    .map_err(corrupt)?,
                source: latest.source.map(str::to_string),
                note: latest.note.map(str::to_string),
                precision: latest.precision,
                origin: store_origin(),
            },
            latest.revision,
            latest.deleted,
        ));
    }
    Ok(facts)
}

/// Columns 7 to 13 of a [`CURRENT_FACTS`] row.
fn read_latest<'row>(row: &'row Row<'_>) -> Result<Latest<'row>, StoreError> {
    Ok(Latest {
        revision: row.get(7).map_err(database("reading facts"))?,
        value: row.get(8).map_err(database("reading facts"))?,
        currency: optional_text(row, 9)?,
        source: optional_text(row, 10)?,
        note: optional_text(row, 11)?,
        precision: row.get(12).map_err(database("reading facts"))?,
        deleted: row.get(13).map_err(database("reading facts"))?,
    })
}

/// A fact key as the values of the facts table's key columns.
///
/// The fields follow the primary key, so the derived order is the table's order; it is also
/// the order of [`FactKey`] (a test checks both), which lets sorted incoming facts and stored
/// rows be compared as they stream by.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct KeyColumns<'a> {
    unit: &'a str,
    period_start: i64,
    granularity: &'a str,
    metric: &'a str,
    counterparty: &'a str,
    basis: i64,
    structure: Cow<'a, str>,
}

impl<'a> KeyColumns<'a> {
    fn of(key: &'a FactKey) -> Self {
        let (basis, structure) = basis_columns(key.basis);
        KeyColumns {
            unit: key.unit.as_str(),
            period_start: i64::from(key.period.start),
            granularity: granularity_text(key.period.granularity),
            metric: key.metric.as_str(),
            counterparty: key.counterparty.as_ref().map_or("", UnitId::as_str),
            basis,
            structure,
        }
    }

    /// The key columns of a segment row (unit, granularity, metric, counterparty, basis,
    /// structure in columns 0 to 5), borrowed; a segment holds many periods, so the period
    /// start is 0.
    fn of_segment(row: &'a Row<'_>) -> Result<Self, StoreError> {
        Ok(KeyColumns {
            unit: text(row, 0)?,
            period_start: 0,
            granularity: text(row, 1)?,
            metric: text(row, 2)?,
            counterparty: text(row, 3)?,
            basis: row.get::<_, i64>(4).map_err(database("reading facts"))?,
            structure: Cow::Borrowed(text(row, 5)?),
        })
    }

    /// Columns 0 to 6 of a facts row, borrowed.
    fn read(row: &'a Row<'_>) -> Result<Self, StoreError> {
        let integer = |index| row.get::<_, i64>(index).map_err(database("reading facts"));
        Ok(KeyColumns {
            unit: text(row, 0)?,
            period_start: integer(1)?,
            granularity: text(row, 2)?,
            metric: text(row, 3)?,
            counterparty: text(row, 4)?,
            basis: integer(5)?,
            structure: Cow::Borrowed(text(row, 6)?),
        })
    }

    fn to_key(&self) -> Result<FactKey, StoreError> {
        let period_start = i32::try_from(self.period_start).map_err(|_| {
            corrupt(format!(
                "period start {} is out of range",
                self.period_start
            ))
        })?;
        let granularity = parse_granularity(self.granularity)?;
        let basis = match self.basis {
            0 => Basis::Reported,
            1 => Basis::Restated {
                structure: NaiveDate::parse_from_str(&self.structure, "%Y-%m-%d").map_err(
                    |_| corrupt(format!("`{}` is not a structure date", self.structure)),
                )?,
            },
            2 => Basis::Plan,
            3 => Basis::Estimate,
            4 => Basis::ProForma {
                structure: NaiveDate::parse_from_str(&self.structure, "%Y-%m-%d").map_err(
                    |_| corrupt(format!("`{}` is not a structure date", self.structure)),
                )?,
            },
            other => return Err(corrupt(format!("unknown basis code {other}"))),
        };
        Ok(FactKey {
            unit: UnitId::parse(self.unit).map_err(corrupt)?,
            period: Period::new(period_start, granularity),
            metric: MetricId::parse(self.metric).map_err(corrupt)?,
            counterparty: match self.counterparty {
                "" => None,
                other => Some(UnitId::parse(other).map_err(corrupt)?),
            },
            basis,
        })
    }

    fn params(&self) -> impl rusqlite::Params + '_ {
        (
            self.unit,
            self.period_start,
            self.granularity,
            self.metric,
            self.counterparty,
            self.basis,
            self.structure.as_ref(),
        )
    }

    fn params_with(&self, revision: u32) -> impl rusqlite::Params + '_ {
        (
            self.unit,
            self.period_start,
            self.granularity,
            self.metric,
            self.counterparty,
            self.basis,
            self.structure.as_ref(),
            revision,
        )
    }
}

/// A granularity as the facts table stores it.
pub(crate) fn granularity_text(granularity: Granularity) -> &'static str {
    match granularity {
        Granularity::Month => "month",
        Granularity::Quarter => "quarter",
        Granularity::Year => "year",
    }
}

/// A granularity from the facts table's text.
pub(crate) fn parse_granularity(text: &str) -> Result<Granularity, StoreError> {
    match text {
        "month" => Ok(Granularity::Month),
        "quarter" => Ok(Granularity::Quarter),
        "year" => Ok(Granularity::Year),
        other => Err(corrupt(format!("unknown granularity `{other}`"))),
    }
}

/// A basis as the facts table stores it: its code and the structure date (empty unless
/// restated).
pub(crate) fn basis_columns(basis: Basis) -> (i64, Cow<'static, str>) {
    match basis {
        Basis::Reported => (0, Cow::Borrowed("")),
        Basis::Restated { structure } => (1, Cow::Owned(structure.format("%Y-%m-%d").to_string())),
        Basis::Plan => (2, Cow::Borrowed("")),
        Basis::Estimate => (3, Cow::Borrowed("")),
        Basis::ProForma { structure } => (4, Cow::Owned(structure.format("%Y-%m-%d").to_string())),
    }
}

/// Currency codes read from the store, each parsed once.
#[derive(Default)]
struct Currencies(Vec<(String, Currency)>);

impl Currencies {
    /// The currency of a stored code.
    fn get(&mut self, code: String) -> Result<Currency, StoreError> {
        if let Some((_, currency)) = self.0.iter().find(|(text, _)| *text == code) {
            return Ok(currency.clone());
        }
        let currency = Currency::parse(&code).map_err(corrupt)?;
        self.0.push((code, currency.clone()));
        Ok(currency)
    }
}

fn corrupt(detail: String) -> StoreError {
    StoreError::Corrupt {
        table: "facts",
        detail,
    }
}

/// A text column, borrowed from the row.
fn text<'row>(row: &'row Row<'_>, index: usize) -> Result<&'row str, StoreError> {
    let value = row.get_ref(index).map_err(database("reading facts"))?;
    value.as_str().map_err(|error| corrupt(error.to_string()))
}

/// A text column that may be NULL, borrowed from the row.
fn optional_text<'row>(row: &'row Row<'_>, index: usize) -> Result<Option<&'row str>, StoreError> {
    let value = row.get_ref(index).map_err(database("reading facts"))?;
    value
        .as_str_or_null()
        .map_err(|error| corrupt(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_key() -> impl Strategy<Value = FactKey> {
        let units = ["a", "a.b", "a_b", "ab", "b", "B", "a-b"];
        let granularities = [Granularity::Month, Granularity::Quarter, Granularity::Year];
        (
            (0..units.len(), -30i32..30, 0..3usize, 0..units.len()),
            (
                proptest::option::of(0..units.len()),
                0..5u8,
                0i64..3_700_000,
            ),
        )
            .prop_map(
                move |((unit, start, granularity, metric), (counterparty, basis, days))| FactKey {
                    unit: UnitId::parse(units[unit]).unwrap(),
                    period: Period::new(start, granularities[granularity]),
                    metric: MetricId::parse(units[metric]).unwrap(),
                    counterparty: counterparty.map(|index| UnitId::parse(units[index]).unwrap()),
                    basis: match basis {
                        0 => Basis::Reported,
                        1 => Basis::Restated {
                            structure: NaiveDate::from_num_days_from_ce_opt(
                                1 + days as i32 % 3_652_059,
                            )
                            .unwrap(),
                        },
                        2 => Basis::Plan,
                        3 => Basis::Estimate,
                        _ => Basis::ProForma {
                            structure: NaiveDate::from_num_days_from_ce_opt(
                                1 + days as i32 % 3_652_059,
                            )
                            .unwrap(),
                        },
                    },
                },
            )
    }

    proptest! {
        #[test]
        fn key_columns_order_as_fact_keys_do(a in any_key(), b in any_key()) {
            prop_assert_eq!(KeyColumns::of(&a).cmp(&KeyColumns::of(&b)), a.cmp(&b));
            prop_assert_eq!(KeyColumns::of(&a).to_key().unwrap(), a);
        }
    }

    #[test]
    fn the_table_gives_facts_in_key_order_without_sorting() {
        let store = SqliteStore::open_in_memory().unwrap();
        let plan: Vec<String> = store
            .connection
            .prepare(&format!("EXPLAIN QUERY PLAN {CURRENT_FACTS}"))
            .unwrap()
            .query_map([], |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            !plan.iter().any(|step| step.contains("TEMP B-TREE")),
            "{plan:?}"
        );
    }

    /// Writes one binary series row of `starts` and `values` (position 1 superseded when
    /// `supersede`) and reads it back through `current_facts`.
    fn through_the_view(starts: &[i32], values: &[f64], supersede: bool) -> Vec<(i64, f64)> {
        let store = SqliteStore::open_in_memory().unwrap();
        let connection = &store.connection;
        connection
            .execute(
                "INSERT INTO imports (id, label, imported_at, facts_new, facts_revised, facts_unchanged)
                 VALUES (1, 'test', 0, 0, 0, 0)",
                [],
            )
            .unwrap();
        connection
            .execute(
                "INSERT INTO facts (unit, granularity, metric, counterparty, basis, structure,
                     import_id, periods, figures, superseded)
                 VALUES ('u', 'month', 'revenue', '', 0, '', 1, ?1, ?2, ?3)",
                params![
                    series_codec::encode_starts(starts),
                    series_codec::encode_values(values),
                    if supersede { "[1]" } else { "[]" }
                ],
            )
            .unwrap();
        let mut statement = connection
            .prepare("SELECT period_start, value FROM current_facts")
            .unwrap();
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<Vec<(i64, f64)>, _>>()
            .unwrap();
        rows
    }

    #[test]
    fn the_view_decodes_binary_series_exactly() {
        let starts = [i32::MIN, -1, 0, 1, 24_276, i32::MAX, 7, 8, 9];
        let values = [
            0.1,
            -1234.5678,
            f64::MIN_POSITIVE,
            5e-324,
            -2.5e-310,
            f64::MAX,
            -f64::MAX,
            1.0,
            0.0,
        ];
        let read = through_the_view(&starts, &values, false);
        assert_eq!(read.len(), starts.len());
        for ((start, value), (read_start, read_value)) in starts.iter().zip(values).zip(&read) {
            assert_eq!(i64::from(*start), *read_start);
            assert_eq!(
                value.to_bits(),
                read_value.to_bits(),
                "{value:e} read as {read_value:e}"
            );
        }
        // A superseded position is left out (its current figure is in the revision log).
        let read = through_the_view(&starts[..3], &values[..3], true);
        assert_eq!(
            read.iter().map(|r| r.0).collect::<Vec<_>>(),
            [i64::from(i32::MIN), 0]
        );
    }

    proptest! {
        #[test]
        fn the_view_reads_any_finite_double_bit_for_bit(
            bits in proptest::collection::vec(any::<u64>(), 1..20),
            first in any::<i32>(),
        ) {
            let values: Vec<f64> = bits
                .iter()
                .map(|b| f64::from_bits(*b))
                .filter(|v| v.is_finite() && *v != 0.0)
                .collect();
            let starts: Vec<i32> = (0..values.len() as i32).map(|k| first.saturating_add(k)).collect();
            let read = through_the_view(&starts, &values, false);
            prop_assert_eq!(read.len(), values.len());
            for (value, (_, read_value)) in values.iter().zip(&read) {
                prop_assert_eq!(value.to_bits(), read_value.to_bits());
            }
        }
    }

    #[test]
    fn rows_of_json_text_written_before_migration_7_still_read() {
        let store = SqliteStore::open_in_memory().unwrap();
        let connection = &store.connection;
        connection
            .execute(
                "INSERT INTO imports (id, label, imported_at, facts_new, facts_revised, facts_unchanged)
                 VALUES (1, 'test', 0, 0, 0, 0)",
                [],
            )
            .unwrap();
        let insert = "INSERT INTO facts (unit, granularity, metric, counterparty, basis, structure,
                          import_id, periods, figures, extras, superseded)
                      VALUES (?1, 'month', 'revenue', '', 0, '', 1, ?2, ?3, ?4, '[]')";
        // One row as migration 0003 wrote it, one as migration 0008 writes it.
        connection
            .execute(
                insert,
                params![
                    "a",
                    "[24276,24277]",
                    "[0.1,-2.5]",
                    r#"[["USD","s"],[null,null]]"#
                ],
            )
            .unwrap();
        connection
            .execute(
                insert,
                params![
                    "b",
                    series_codec::encode_starts(&[24276, 24277]),
                    series_codec::encode_values(&[0.1, -2.5]),
                    r#"[["USD","s"],[null,null]]"#
                ],
            )
            .unwrap();
        let (mut series, count) = store.fact_series(None).unwrap().unwrap();
        assert_eq!(count, 4);
        series.sort_by(|x, y| x.key.cmp(&y.key));
        assert_eq!(series.len(), 2);
        for stored in &series {
            assert_eq!(stored.starts, [24276, 24277]);
            assert_eq!(stored.values, [0.1, -2.5]);
            assert_eq!(
                stored.currencies,
                Some(vec![Some(Currency::parse("USD").unwrap()), None])
            );
        }
        let facts = segments::read(connection, None).unwrap();
        assert_eq!(facts.len(), 4);
        let mut statement = connection
            .prepare(
                "SELECT unit, period_start, value, currency, source FROM current_facts
                 ORDER BY unit, period_start",
            )
            .unwrap();
        type ViewRow = (String, i64, f64, Option<String>, Option<String>);
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            })
            .unwrap()
            .collect::<Result<Vec<ViewRow>, _>>()
            .unwrap();
        for unit in ["a", "b"] {
            let of_unit: Vec<_> = rows.iter().filter(|r| r.0 == unit).collect();
            assert_eq!(of_unit.len(), 2);
            assert_eq!((of_unit[0].1, of_unit[0].2), (24276, 0.1));
            assert_eq!(of_unit[0].3.as_deref(), Some("USD"));
            assert_eq!(of_unit[0].4.as_deref(), Some("s"));
            assert_eq!(
                (of_unit[1].1, of_unit[1].2, of_unit[1].3.clone()),
                (24277, -2.5, None)
            );
        }
    }
}
