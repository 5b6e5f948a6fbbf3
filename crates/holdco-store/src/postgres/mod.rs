//! [`PostgresStore`]: a team's shared store in a PostgreSQL database (one schema per group).
//!
//! The layout mirrors the SQLite store's (see `migrations/postgres/0001_init.sql`): the
//! facts an import records for the first time go into `fact_series`, one row per series with
//! its periods and values as arrays, written with binary `COPY`; later revisions go into
//! `fact_revisions`, one row each, also by `COPY`. Each import is one transaction under an
//! advisory lock per schema, so a second import waits for the first and then merges onto
//! its result (no lost update). Readers take a repeatable-read snapshot and never wait: an
//! import only inserts and deletes rows, which PostgreSQL's MVCC keeps invisible to them until
//! it commits.

mod changesets;
mod migrations;

use crate::merge::{self, Latest, Tally};
use crate::sqlite::{basis_columns, granularity_text, parse_granularity};
use crate::{
    store_origin, Applied, ApplyRecord, AuditRecord, ChangesetRecord, ChangesetState, FactRevision,
    ImportOptions, ImportRecord, ImportSummary, NewChangeset, Store, StoreError, StoredSeries,
    TransitionRecord,
};
use chrono::NaiveDate;
use holdco_core::format::fact_columns::{FactColumns, NONE};
use holdco_core::{
    Basis, Change, Currency, Fact, FactKey, FiscalCalendar, FxRate, Group, Metric, MetricId, Model,
    Period, UnitId,
};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::{Client, Config, GenericClient, IsolationLevel, NoTls, Transaction};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// How long an import waits for another import into the same store before giving up.
const IMPORT_LOCK_WAIT: &str = "10min";

/// A store in a PostgreSQL schema.
///
/// Opening connects, creates the schema named by the URL's `schema` parameter when missing,
/// and applies any pending migration (only then does it write); a store written by a newer
/// holdco is refused.
pub struct PostgresStore {
    /// One connection; behind a mutex because the driver needs `&mut` even to read.
    client: Mutex<Client>,
    /// The URL with its password hidden, for messages.
    location: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .finish()
    }
}

/// Maps a database error to [`StoreError::Database`] while doing `action`.
fn database(action: &'static str) -> impl Fn(postgres::Error) -> StoreError {
    move |error| StoreError::database(action, error)
}

fn corrupt(detail: String) -> StoreError {
    StoreError::Corrupt {
        table: "facts",
        detail,
    }
}

/// `name` as an SQL identifier, quoted.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Splits the holdco-only `schema=NAME` parameter off a connection URL (the driver refuses
/// parameters it does not know).
fn split_schema(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut schema = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("schema=") {
            Some(name) => {
                schema = Some(percent_decode(name));
                false
            }
            None => !pair.is_empty(),
        })
        .collect();
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, schema)
}

/// Decodes `%XX` escapes (a schema name in a URL); anything malformed stays as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&text[index + 1..index + 3], 16) {
                out.push(byte);
                index += 3;
                continue;
            }
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl PostgresStore {
    /// Opens the store at `url` (`postgres://user[:password]@host[:port]/database`, with an
    /// optional `?schema=NAME`; the other parameters are the driver's, e.g.
    /// `connect_timeout=5`), creating its schema and tables when missing.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let location = crate::url::redact(url);
        let mut client = Self::connect_to(url)?;
        migrations::run(&mut client, &location)?;
        Ok(PostgresStore {
            client: Mutex::new(client),
            location,
        })
    }

    /// A connection to the store at `url` with its schema current (migrations applied, as
    /// [`PostgresStore::open`]), for tables beside the model's (the server's tokens).
    pub fn connect(url: &str) -> Result<Client, StoreError> {
        let location = crate::url::redact(url);
        let mut client = Self::connect_to(url)?;
        migrations::run(&mut client, &location)?;
        Ok(client)
    }

    /// Connects, creating the URL's schema when missing and reading and writing in it.
    fn connect_to(url: &str) -> Result<Client, StoreError> {
        let location = crate::url::redact(url);
        let (conninfo, schema) = split_schema(url);
        let unreachable = |source: postgres::Error| StoreError::Connect {
            location: location.clone(),
            detail: crate::error::chain(&source),
        };
        let mut config: Config = conninfo.parse().map_err(unreachable)?;
        // A host that drops packets would otherwise hold the command for minutes.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("holdco");
        }
        let mut client = config.connect(NoTls).map_err(unreachable)?;
        if let Some(schema) = &schema {
            let failed = |error: postgres::Error| StoreError::Open {
                path: location.clone().into(),
                source: Box::new(error),
            };
            let exists: bool = client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
                    &[schema],
                )
                .map_err(failed)?
                .get(0);
            if !exists {
                client
                    .batch_execute(&format!(
                        "CREATE SCHEMA IF NOT EXISTS {}",
                        quote_ident(schema)
                    ))
                    .map_err(failed)?;
            }
            client
                .batch_execute(&format!("SET search_path TO {}", quote_ident(schema)))
                .map_err(failed)?;
        }
        Ok(client)
    }

    /// Where the store is: its URL with the password hidden.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The schema version this code creates and understands.
    pub fn schema_version() -> i64 {
        migrations::latest_version()
    }

    fn client(&self) -> Result<MutexGuard<'_, Client>, StoreError> {
        // A panic while holding the connection (there is none in this module) would leave it
        // in an unknown state: refuse to go on rather than guess.
        self.client.lock().map_err(|_| {
            StoreError::database("taking the connection", "a previous operation panicked")
        })
    }

    /// The current facts as series columns, with the number of facts in the store (of every
    /// metric): each series row with the revision log's current figures put in place of the
    /// ones they revise (the log is small: only keys ever revised). Unlike
    /// [`crate::SqliteStore::fact_series`], it answers with a revision log too.
    pub fn fact_series(
        &self,
        metrics: Option<&[MetricId]>,
    ) -> Result<Option<(Vec<StoredSeries>, usize)>, StoreError> {
        let mut client = self.client()?;
        let mut transaction = snapshot(&mut client)?;
        let failed = database("reading facts");
        let total: i64 = transaction
            .query_one(
                "SELECT COALESCE(SUM(cardinality(periods)), 0)::bigint FROM fact_series",
                &[],
            )
            .map_err(&failed)?
            .get(0);
        let names: Option<Vec<&str>> =
            metrics.map(|list| list.iter().map(MetricId::as_str).collect());
        let mut parsed = HashMap::new();
        let mut logged: HashMap<FactKey, (f64, Option<Currency>)> = HashMap::new();
        for (fact, _, deleted) in current_revisions(&mut transaction, &mut parsed)? {
            if deleted {
                // A fact removed by `import --prune`: load the model instead.
                return Ok(None);
            }
            if names
                .as_ref()
                .is_none_or(|names| names.contains(&fact.key.metric.as_str()))
            {
                logged.insert(fact.key, (fact.value, fact.currency));
            }
        }
        let rows = match &names {
            Some(names) => transaction.query(&format!("{SERIES} WHERE metric = ANY($1)"), &[names]),
            None => transaction.query(SERIES, &[]),
        }
        .map_err(&failed)?;
        let mut series = Vec::with_capacity(rows.len());
        for row in &rows {
            let raw = RawSeries::read(row)?;
            let mut currencies = match raw.currencies {
                None => None,
                Some(codes) => Some(
                    codes
                        .into_iter()
                        .map(|code| code.map(|code| currency(&mut parsed, code)).transpose())
                        .collect::<Result<Vec<_>, _>>()?,
                ),
            };
            let mut values = raw.figures;
            if !logged.is_empty() {
                let mut key = raw.key.clone();
                for (position, start) in raw.periods.iter().enumerate() {
                    key.period = Period::new(*start, key.period.granularity);
                    let Some((value, code)) = logged.get(&key) else {
                        continue;
                    };
                    values[position] = *value;
                    if code.is_some() || currencies.is_some() {
                        currencies.get_or_insert_with(|| vec![None; values.len()])[position] =
                            code.clone();
                    }
                }
            }
            series.push(StoredSeries {
                key: raw.key,
                starts: raw.periods,
                values,
                currencies,
            });
        }
        Ok(Some((series, usize::try_from(total).unwrap_or(0))))
    }
}

/// A read-only transaction on one snapshot of the store.
fn snapshot(client: &mut Client) -> Result<Transaction<'_>, StoreError> {
    client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(database("starting to read"))
}

fn holds_revisions(client: &mut impl GenericClient) -> Result<bool, StoreError> {
    Ok(client
        .query_one("SELECT EXISTS (SELECT 1 FROM fact_revisions)", &[])
        .map_err(database("reading facts"))?
        .get(0))
}

fn holds_facts(client: &mut impl GenericClient) -> Result<bool, StoreError> {
    Ok(client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM fact_series) OR EXISTS (SELECT 1 FROM fact_revisions)",
            &[],
        )
        .map_err(database("reading facts"))?
        .get(0))
}

/// A currency code read from the store, parsed once per code.
fn currency(parsed: &mut HashMap<String, Currency>, code: String) -> Result<Currency, StoreError> {
    if let Some(currency) = parsed.get(&code) {
        return Ok(currency.clone());
    }
    let currency = Currency::parse(&code).map_err(corrupt)?;
    parsed.insert(code, currency.clone());
    Ok(currency)
}

/// The columns of a series row, in [`SERIES`]'s order.
const SERIES: &str = "SELECT unit, granularity, metric, counterparty, basis, structure, import_id,
        periods, figures, currencies, sources, notes, precisions
    FROM fact_series";

/// The latest revision of every key of the revision log.
const CURRENT_REVISIONS: &str = "SELECT unit, granularity, metric, counterparty, basis, structure,
        period_start, revision, value, currency, source, note, precision_step, deleted
    FROM fact_revisions AS r
    WHERE revision = (SELECT MAX(revision) FROM fact_revisions AS l
                      WHERE l.unit = r.unit AND l.period_start = r.period_start
                        AND l.granularity = r.granularity AND l.metric = r.metric
                        AND l.counterparty = r.counterparty AND l.basis = r.basis
                        AND l.structure = r.structure)";

/// A fact key from the key columns (0 to 5: unit, granularity, metric, counterparty, basis,
/// structure) and a period start.
fn read_key(row: &postgres::Row, start: i32) -> Result<FactKey, StoreError> {
    let failed = database("reading facts");
    let unit: &str = row.try_get(0).map_err(&failed)?;
    let granularity: &str = row.try_get(1).map_err(&failed)?;
    let metric: &str = row.try_get(2).map_err(&failed)?;
    let counterparty: &str = row.try_get(3).map_err(&failed)?;
    let basis: i16 = row.try_get(4).map_err(&failed)?;
    let structure: &str = row.try_get(5).map_err(&failed)?;
    let basis = match basis {
        0 => Basis::Reported,
        1 => Basis::Restated {
            structure: NaiveDate::parse_from_str(structure, "%Y-%m-%d")
                .map_err(|_| corrupt(format!("`{structure}` is not a structure date")))?,
        },
        2 => Basis::Plan,
        3 => Basis::Estimate,
        4 => Basis::ProForma {
            structure: NaiveDate::parse_from_str(structure, "%Y-%m-%d")
                .map_err(|_| corrupt(format!("`{structure}` is not a structure date")))?,
        },
        other => return Err(corrupt(format!("unknown basis code {other}"))),
    };
    Ok(FactKey {
        unit: UnitId::parse(unit).map_err(corrupt)?,
        period: Period::new(start, parse_granularity(granularity)?),
        metric: MetricId::parse(metric).map_err(corrupt)?,
        counterparty: match counterparty {
            "" => None,
            other => Some(UnitId::parse(other).map_err(corrupt)?),
        },
        basis,
    })
}

/// One series row of a `COPY` into `fact_series`: the key's columns, the import, and the
/// series' periods, figures, currencies and sources as arrays (both fact writers use it).
fn write_series_row(
    writer: &mut BinaryCopyInWriter,
    key: &KeyText<'_>,
    import_id: i64,
    periods: &[i32],
    figures: &[f64],
    currencies: &Option<Vec<Option<&str>>>,
    sources: &Option<Vec<Option<&str>>>,
    annotations: &Annotations<'_>,
) -> Result<(), postgres::Error> {
    let structure: &str = key.structure.as_ref();
    writer.write(&[
        &key.unit,
        &key.granularity,
        &key.metric,
        &key.counterparty,
        &key.basis,
        &structure,
        &import_id,
        &periods,
        &figures,
        currencies,
        sources,
        &annotations.0,
        &annotations.1,
    ])
}

/// The notes and precisions of a series row, each `None` when no fact of it has one.
type Annotations<'a> = (Option<Vec<Option<&'a str>>>, Option<Vec<Option<f64>>>);

/// The annotations of the facts of one series.
fn annotations<'a>(members: &[&'a Fact]) -> Annotations<'a> {
    let notes = members
        .iter()
        .any(|fact| fact.note.is_some())
        .then(|| members.iter().map(|fact| fact.note.as_deref()).collect());
    let precisions = members
        .iter()
        .any(|fact| fact.precision.is_some())
        .then(|| members.iter().map(|fact| fact.precision).collect());
    (notes, precisions)
}

/// The text columns of a key: unit, granularity, metric, counterparty, basis, structure.
struct KeyText<'a> {
    unit: &'a str,
    granularity: &'static str,
    metric: &'a str,
    counterparty: &'a str,
    basis: i16,
    structure: Cow<'static, str>,
}

impl<'a> KeyText<'a> {
    fn of(key: &'a FactKey) -> Self {
        let (basis, structure) = basis_columns(key.basis);
        KeyText {
            unit: key.unit.as_str(),
            granularity: granularity_text(key.period.granularity),
            metric: key.metric.as_str(),
            counterparty: key.counterparty.as_ref().map_or("", UnitId::as_str),
            basis: basis as i16,
            structure,
        }
    }

    /// The series part of the key, for sorting and comparing.
    fn series(&self) -> (&str, &str, &str, &str, i16, &str) {
        (
            self.unit,
            self.granularity,
            self.metric,
            self.counterparty,
            self.basis,
            self.structure.as_ref(),
        )
    }
}

/// One series row, decoded.
struct RawSeries {
    /// The series key with period start 0.
    key: FactKey,
    import_id: i64,
    periods: Vec<i32>,
    figures: Vec<f64>,
    currencies: Option<Vec<Option<String>>>,
    sources: Option<Vec<Option<String>>>,
    notes: Option<Vec<Option<String>>>,
    precisions: Option<Vec<Option<f64>>>,
}

impl RawSeries {
    fn read(row: &postgres::Row) -> Result<Self, StoreError> {
        let failed = database("reading facts");
        let raw = RawSeries {
            key: read_key(row, 0)?,
            import_id: row.try_get(6).map_err(&failed)?,
            periods: row.try_get(7).map_err(&failed)?,
            figures: row.try_get(8).map_err(&failed)?,
            currencies: row.try_get(9).map_err(&failed)?,
            sources: row.try_get(10).map_err(&failed)?,
            notes: row.try_get(11).map_err(&failed)?,
            precisions: row.try_get(12).map_err(&failed)?,
        };
        let length = raw.periods.len();
        if raw.figures.len() != length
            || raw.currencies.as_ref().is_some_and(|c| c.len() != length)
            || raw.sources.as_ref().is_some_and(|s| s.len() != length)
            || raw.notes.as_ref().is_some_and(|n| n.len() != length)
            || raw.precisions.as_ref().is_some_and(|p| p.len() != length)
        {
            return Err(corrupt(format!(
                "a series of {length} periods holds another number of values, currencies or sources"
            )));
        }
        Ok(raw)
    }

    /// The facts of the series, with their positions.
    fn facts(self, parsed: &mut HashMap<String, Currency>) -> Result<Vec<Fact>, StoreError> {
        let RawSeries {
            key,
            periods,
            figures,
            mut currencies,
            mut sources,
            mut notes,
            precisions,
            ..
        } = self;
        let mut facts = Vec::with_capacity(periods.len());
        for (position, (start, value)) in periods.into_iter().zip(figures).enumerate() {
            let code = currencies.as_mut().and_then(|c| c[position].take());
            facts.push(Fact {
                key: FactKey {
                    period: Period::new(start, key.period.granularity),
                    ..key.clone()
                },
                value,
                currency: code.map(|code| currency(parsed, code)).transpose()?,
                source: sources.as_mut().and_then(|s| s[position].take()),
                note: notes.as_mut().and_then(|n| n[position].take()),
                precision: precisions.as_ref().and_then(|p| p[position]),
                origin: store_origin(),
            });
        }
        Ok(facts)
    }
}

/// The latest stored revision of a key, and the import of the series holding it when the
/// revision log does not.
struct Held {
    fact: Fact,
    revision: u32,
    /// The latest revision is a deletion (`import --prune`).
    deleted: bool,
    series_import: Option<i64>,
}

/// The latest revision of every stored key.
fn stored_latest(client: &mut impl GenericClient) -> Result<HashMap<FactKey, Held>, StoreError> {
    let failed = database("reading facts");
    let mut held = HashMap::new();
    let mut parsed = HashMap::new();
    for row in client.query(SERIES, &[]).map_err(&failed)? {
        let raw = RawSeries::read(&row)?;
        let import_id = raw.import_id;
        for fact in raw.facts(&mut parsed)? {
            held.insert(
                fact.key.clone(),
                Held {
                    fact,
                    revision: 1,
                    deleted: false,
                    series_import: Some(import_id),
                },
            );
        }
    }
    for (fact, revision, deleted) in current_revisions(client, &mut parsed)? {
        held.insert(
            fact.key.clone(),
            Held {
                fact,
                revision,
                deleted,
                series_import: None,
            },
        );
    }
    Ok(held)
}

/// The latest revision of every key of the revision log, with its number and whether it is
/// a deletion.
fn current_revisions(
    client: &mut impl GenericClient,
    parsed: &mut HashMap<String, Currency>,
) -> Result<Vec<(Fact, u32, bool)>, StoreError> {
    let failed = database("reading facts");
    let mut facts = Vec::new();
    for row in client.query(CURRENT_REVISIONS, &[]).map_err(&failed)? {
        let start: i32 = row.try_get(6).map_err(&failed)?;
        let revision: i32 = row.try_get(7).map_err(&failed)?;
        let code: Option<String> = row.try_get(9).map_err(&failed)?;
        facts.push((
            Fact {
                key: read_key(&row, start)?,
                value: row.try_get(8).map_err(&failed)?,
                currency: code.map(|code| currency(parsed, code)).transpose()?,
                source: row.try_get(10).map_err(&failed)?,
                note: row.try_get(11).map_err(&failed)?,
                precision: row.try_get(12).map_err(&failed)?,
                origin: store_origin(),
            },
            u32::try_from(revision).map_err(|_| corrupt(format!("revision {revision}")))?,
            row.try_get(13).map_err(&failed)?,
        ));
    }
    Ok(facts)
}

/// The latest revision of every stored fact.
fn load_facts(client: &mut impl GenericClient) -> Result<Vec<Fact>, StoreError> {
    let failed = database("reading facts");
    let mut parsed = HashMap::new();
    let revisions = current_revisions(client, &mut parsed)?;
    let in_log: HashSet<&FactKey> = revisions.iter().map(|(fact, _, _)| &fact.key).collect();
    let mut facts = Vec::new();
    for row in client.query(SERIES, &[]).map_err(&failed)? {
        let raw = RawSeries::read(&row)?;
        facts.extend(
            raw.facts(&mut parsed)?
                .into_iter()
                .filter(|fact| !in_log.contains(&fact.key)),
        );
    }
    drop(in_log);
    // A key whose latest revision is a deletion is not in the model.
    facts.extend(
        revisions
            .into_iter()
            .filter(|(_, _, deleted)| !deleted)
            .map(|(fact, _, _)| fact),
    );
    Ok(facts)
}

/// The model of the last import without its facts, or `None` when there is none.
fn load_parts(client: &mut impl GenericClient) -> Result<Option<Model>, StoreError> {
    let failed = database("loading the model");
    let Some(group) = client
        .query_opt("SELECT body FROM model_group WHERE singleton = 1", &[])
        .map_err(&failed)?
    else {
        return Ok(None);
    };
    let group: Group = merge::decode("model_group", group.get(0))?;
    let metrics: Vec<Metric> = bodies(
        client,
        "metrics",
        "SELECT body FROM metrics ORDER BY position",
    )?;
    let timeline: Vec<Change> = bodies(
        client,
        "changes",
        "SELECT body FROM changes ORDER BY sequence",
    )?;
    let fx: Vec<FxRate> = bodies(
        client,
        "fx_rates",
        "SELECT body FROM fx_rates ORDER BY position",
    )?;
    let mut documents = BTreeMap::new();
    for row in client
        .query("SELECT path, body FROM documents ORDER BY path", &[])
        .map_err(database("loading the documents"))?
    {
        documents.insert(row.get(0), row.get(1));
    }
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

/// Decodes the JSON `body` column of every row `sql` returns.
fn bodies<T: serde::de::DeserializeOwned>(
    client: &mut impl GenericClient,
    table: &'static str,
    sql: &str,
) -> Result<Vec<T>, StoreError> {
    client
        .query(sql, &[])
        .map_err(database("loading the model"))?
        .iter()
        .map(|row| merge::decode(table, row.get(0)))
        .collect()
}

/// Refuses, before anything is written, text PostgreSQL cannot hold: the NUL character
/// (SQLite and memory stores keep it). The group, metrics, timeline and rates are JSON, which
/// escapes it; ids and currency codes never contain it.
fn storable_text(
    incoming: &Model,
    columns: Option<&FactColumns>,
    label: &str,
) -> Result<(), StoreError> {
    let refuse = |item: String| StoreError::Unstorable {
        item,
        reason: "PostgreSQL text cannot hold the NUL character (\\0)".to_string(),
    };
    if label.contains('\0') {
        return Err(refuse("the import label".to_string()));
    }
    for (path, body) in &incoming.documents {
        if path.contains('\0') || body.contains('\0') {
            return Err(refuse(format!(
                "the document {}",
                path.replace('\0', "\\0")
            )));
        }
    }
    let calendar = incoming.group.calendar();
    if let Some(fact) = incoming
        .facts
        .iter()
        .find(|fact| fact.source.as_ref().is_some_and(|s| s.contains('\0')))
    {
        return Err(refuse(format!(
            "the source of fact {}",
            merge::describe_key(&fact.key, calendar)
        )));
    }
    if let Some(fact) = incoming
        .facts
        .iter()
        .find(|fact| fact.note.as_ref().is_some_and(|n| n.contains('\0')))
    {
        return Err(refuse(format!(
            "the note of fact {}",
            merge::describe_key(&fact.key, calendar)
        )));
    }
    if let Some(columns) = columns {
        if let Some(source) = columns.sources.iter().find(|source| source.contains('\0')) {
            return Err(refuse(format!(
                "the fact source `{}`",
                source.replace('\0', "\\0")
            )));
        }
    }
    Ok(())
}

/// Starts an import: waits for any other import into this store (an advisory lock per
/// schema, held until the transaction ends), then records the import and returns its id.
fn begin_import(
    transaction: &mut Transaction<'_>,
    label: &str,
    location: &str,
) -> Result<i64, StoreError> {
    let locked = transaction.batch_execute(&format!(
        "SET LOCAL lock_timeout = '{IMPORT_LOCK_WAIT}';
         SELECT pg_advisory_xact_lock(hashtext(COALESCE(current_schema(), '') || ' holdco import'));
         SET LOCAL lock_timeout = 0;"
    ));
    if let Err(error) = locked {
        if error.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) {
            return Err(StoreError::Busy {
                location: location.to_string(),
                detail: format!(
                    "another import into this store has been running for over {IMPORT_LOCK_WAIT}"
                ),
            });
        }
        return Err(StoreError::database("waiting for other imports", error));
    }
    let failed = database("recording the import");
    let import_id: i64 = transaction
        .query_one("SELECT COALESCE(MAX(id), 0)::bigint + 1 FROM imports", &[])
        .map_err(&failed)?
        .get(0);
    transaction
        .execute(
            "INSERT INTO imports (id, label, imported_at, facts_new, facts_revised, facts_unchanged)
             VALUES ($1, $2, $3, 0, 0, 0)",
            &[&import_id, &label, &merge::unix_now()],
        )
        .map_err(&failed)?;
    Ok(import_id)
}

/// Records the import's counts.
fn finish_import(
    transaction: &mut Transaction<'_>,
    import_id: i64,
    tally: &Tally,
) -> Result<(), StoreError> {
    transaction
        .execute(
            "UPDATE imports SET facts_new = $2, facts_revised = $3, facts_unchanged = $4,
                                facts_deleted = $5 WHERE id = $1",
            &[
                &import_id,
                &(tally.new as i64),
                &(tally.revised as i64),
                &(tally.unchanged as i64),
                &(tally.deleted as i64),
            ],
        )
        .map_err(database("recording the import"))?;
    Ok(())
}

/// Rows sent by one binary `COPY`: `sql` names the table and columns, `types` their types.
fn copy_rows<'a>(
    transaction: &mut Transaction<'_>,
    sql: &str,
    types: &[Type],
    rows: impl Iterator<Item = Vec<&'a (dyn ToSql + Sync)>>,
) -> Result<(), postgres::Error> {
    let sink = transaction.copy_in(sql)?;
    let mut writer = BinaryCopyInWriter::new(sink, types);
    for row in rows {
        writer.write(&row)?;
    }
    writer.finish()?;
    Ok(())
}

/// Replaces the group, metrics, timeline, rates and documents with the import's. Rows are
/// deleted, never truncated: a truncate would lock out readers until the import commits.
fn write_model_parts(
    transaction: &mut Transaction<'_>,
    encoded: &merge::Encoded,
    documents: &BTreeMap<String, String>,
    import_id: i64,
) -> Result<(), StoreError> {
    let failed = database("writing the group, metrics, timeline and rates");
    transaction
        .batch_execute(
            "DELETE FROM model_group; DELETE FROM metrics; DELETE FROM changes; DELETE FROM fx_rates;
             DELETE FROM documents;",
        )
        .map_err(&failed)?;
    transaction
        .execute(
            "INSERT INTO model_group (singleton, body, import_id) VALUES (1, $1, $2)",
            &[&encoded.group, &import_id],
        )
        .map_err(&failed)?;
    let positions: Vec<i32> = (0..encoded
        .metrics
        .len()
        .max(encoded.changes.len())
        .max(encoded.fx.len()))
        .map(|index| index as i32)
        .collect();
    copy_rows(
        transaction,
        "COPY metrics (position, id, body) FROM STDIN BINARY",
        &[Type::INT4, Type::TEXT, Type::TEXT],
        encoded
            .metrics
            .iter()
            .zip(&positions)
            .map(|((id, body), position)| {
                vec![position as &(dyn ToSql + Sync), id as _, body as _]
            }),
    )
    .map_err(&failed)?;
    copy_rows(
        transaction,
        "COPY changes (sequence, date, body) FROM STDIN BINARY",
        &[Type::INT4, Type::TEXT, Type::TEXT],
        encoded
            .changes
            .iter()
            .zip(&positions)
            .map(|((date, body), position)| {
                vec![position as &(dyn ToSql + Sync), date as _, body as _]
            }),
    )
    .map_err(&failed)?;
    copy_rows(
        transaction,
        "COPY fx_rates (position, body) FROM STDIN BINARY",
        &[Type::INT4, Type::TEXT],
        encoded
            .fx
            .iter()
            .zip(&positions)
            .map(|(body, position)| vec![position as &(dyn ToSql + Sync), body as _]),
    )
    .map_err(&failed)?;
    copy_rows(
        transaction,
        "COPY documents (path, body, import_id) FROM STDIN BINARY",
        &[Type::TEXT, Type::TEXT, Type::INT8],
        documents
            .iter()
            .map(|(path, body)| vec![path as &(dyn ToSql + Sync), body as _, &import_id as _]),
    )
    .map_err(database("writing the documents"))?;
    Ok(())
}

/// The `COPY` of series rows and the types of its columns.
const COPY_SERIES: &str =
    "COPY fact_series (unit, granularity, metric, counterparty, basis, structure,
    import_id, periods, figures, currencies, sources, notes, precisions) FROM STDIN BINARY";
const SERIES_TYPES: [Type; 13] = [
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT2,
    Type::TEXT,
    Type::INT8,
    Type::INT4_ARRAY,
    Type::FLOAT8_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::FLOAT8_ARRAY,
];

/// Writes facts new to the store as series rows of import `import_id`; refuses two facts
/// with one key.
fn write_series(
    transaction: &mut Transaction<'_>,
    facts: &[&Fact],
    import_id: i64,
    calendar: FiscalCalendar,
) -> Result<(), StoreError> {
    let keys: Vec<KeyText<'_>> = facts.iter().map(|fact| KeyText::of(&fact.key)).collect();
    let mut order: Vec<u32> = (0..facts.len() as u32).collect();
    order.sort_unstable_by(|a, b| {
        let (a, b) = (*a as usize, *b as usize);
        keys[a]
            .series()
            .cmp(&keys[b].series())
            .then(facts[a].key.period.start.cmp(&facts[b].key.period.start))
    });
    if let Some(pair) = order.windows(2).find(|pair| {
        let (a, b) = (pair[0] as usize, pair[1] as usize);
        keys[a].series() == keys[b].series()
            && facts[a].key.period.start == facts[b].key.period.start
    }) {
        let key = merge::describe_key(&facts[pair[0] as usize].key, calendar);
        return Err(StoreError::DuplicateFact { key });
    }
    let sink = transaction
        .copy_in(COPY_SERIES)
        .map_err(database("writing facts"))?;
    let mut writer = BinaryCopyInWriter::new(sink, &SERIES_TYPES);
    for run in order.chunk_by(|a, b| keys[*a as usize].series() == keys[*b as usize].series()) {
        let members: Vec<&Fact> = run.iter().map(|index| facts[*index as usize]).collect();
        let periods: Vec<i32> = members.iter().map(|fact| fact.key.period.start).collect();
        let figures: Vec<f64> = members.iter().map(|fact| fact.value).collect();
        let currencies: Option<Vec<Option<&str>>> =
            members.iter().any(|fact| fact.currency.is_some()).then(|| {
                members
                    .iter()
                    .map(|fact| fact.currency.as_ref().map(Currency::as_str))
                    .collect()
            });
        let sources: Option<Vec<Option<&str>>> = members
            .iter()
            .any(|fact| fact.source.is_some())
            .then(|| members.iter().map(|fact| fact.source.as_deref()).collect());
        let key = &keys[run[0] as usize];
        write_series_row(
            &mut writer,
            key,
            import_id,
            &periods,
            &figures,
            &currencies,
            &sources,
            &annotations(&members),
        )
        .map_err(database("writing facts"))?;
    }
    writer.finish().map_err(database("writing facts"))?;
    Ok(())
}

/// Writes facts given as columns (every series sorted by period start) as series rows of
/// import `import_id`, without building a fact.
fn write_columns(
    transaction: &mut Transaction<'_>,
    columns: &FactColumns,
    import_id: i64,
    calendar: FiscalCalendar,
) -> Result<(), StoreError> {
    // Rows in primary-key order, so the index grows at its end.
    let mut ordered: Vec<(KeyText<'_>, usize)> = columns
        .series
        .iter()
        .enumerate()
        .filter(|(series, _)| !columns.rows(*series).is_empty())
        .map(|(series, s)| {
            let (basis, structure) = basis_columns(s.basis);
            let key = KeyText {
                unit: columns.units[s.unit as usize].as_str(),
                granularity: granularity_text(s.granularity),
                metric: columns.metrics[s.metric as usize].as_str(),
                counterparty: if s.counterparty == NONE {
                    ""
                } else {
                    columns.units[s.counterparty as usize].as_str()
                },
                basis: basis as i16,
                structure,
            };
            (key, series)
        })
        .collect();
    ordered.sort_unstable_by(|(a, _), (b, _)| a.series().cmp(&b.series()));
    let failed = database("writing facts");
    let sink = transaction.copy_in(COPY_SERIES).map_err(&failed)?;
    let mut writer = BinaryCopyInWriter::new(sink, &SERIES_TYPES);
    for (key, series) in &ordered {
        let rows = columns.rows(*series);
        let periods = &columns.starts[rows.clone()];
        if let Some(at) = periods.windows(2).position(|pair| pair[0] >= pair[1]) {
            let key = columns.key(*series, periods[at]);
            return Err(StoreError::DuplicateFact {
                key: merge::describe_key(&key, calendar),
            });
        }
        let figures = &columns.values[rows.clone()];
        if let Some(at) = figures.iter().position(|value| !value.is_finite()) {
            let key = columns.key(*series, periods[at]);
            return Err(StoreError::NonFiniteValue {
                key: merge::describe_key(&key, calendar),
                value: figures[at],
            });
        }
        let currencies: Option<Vec<Option<&str>>> = columns.currency[rows.clone()]
            .iter()
            .any(|c| *c != NONE)
            .then(|| {
                columns.currency[rows.clone()]
                    .iter()
                    .map(|c| (*c != NONE).then(|| columns.currencies[*c as usize].as_str()))
                    .collect()
            });
        let sources: Option<Vec<Option<&str>>> = rows
            .clone()
            .any(|row| columns.source_of(row) != NONE)
            .then(|| {
                rows.clone()
                    .map(|row| {
                        let source = columns.source_of(row);
                        (source != NONE).then(|| columns.sources[source as usize].as_str())
                    })
                    .collect()
            });
        write_series_row(
            &mut writer,
            key,
            import_id,
            periods,
            figures,
            &currencies,
            &sources,
            &(None, None), // columns carry no annotations
        )
        .map_err(&failed)?;
    }
    writer.finish().map_err(&failed)?;
    Ok(())
}

/// One row of the revision log to write.
struct RevisionRow<'a> {
    key: &'a FactKey,
    revision: u32,
    value: f64,
    currency: Option<&'a str>,
    source: Option<&'a str>,
    note: Option<&'a str>,
    precision: Option<f64>,
    deleted: bool,
    import_id: i64,
}

/// Merges the incoming facts into the stored revisions, as the SQLite store does.
fn write_facts(
    transaction: &mut Transaction<'_>,
    incoming: &Model,
    import_id: i64,
    options: ImportOptions,
    retract: &[FactKey],
) -> Result<Tally, StoreError> {
    let calendar = incoming.group.calendar();
    let mut tally = Tally::default();
    if !holds_facts(transaction)? {
        let all: Vec<&Fact> = incoming.facts.iter().collect();
        write_series(transaction, &all, import_id, calendar)?;
        tally.new = all.len();
        return Ok(tally);
    }
    let stored = stored_latest(transaction)?;
    let mut new = Vec::new();
    let mut rows: Vec<RevisionRow<'_>> = Vec::new();
    let mut seen: HashSet<&FactKey> = HashSet::new();
    for fact in &incoming.facts {
        let Some(held) = stored.get(&fact.key) else {
            new.push(fact);
            continue;
        };
        if !seen.insert(&fact.key) {
            return Err(StoreError::DuplicateFact {
                key: merge::describe_key(&fact.key, calendar),
            });
        }
        let latest = Latest {
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
        if let Some(first) = first_revision(held) {
            rows.push(first);
        }
        rows.push(RevisionRow::of(fact, revision, false, import_id));
    }
    // With --prune, every stored key the import lacks gets a deletion revision.
    if options.prune {
        for held in stored.values() {
            if held.deleted || seen.contains(&held.fact.key) {
                continue;
            }
            if let Some(first) = first_revision(held) {
                rows.push(first);
            }
            let revision = held.revision.saturating_add(1);
            rows.push(RevisionRow::of(&held.fact, revision, true, import_id));
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
            if held.deleted || !seen.insert(key) {
                continue;
            }
            if let Some(first) = first_revision(held) {
                rows.push(first);
            }
            let revision = held.revision.saturating_add(1);
            rows.push(RevisionRow::of(&held.fact, revision, true, import_id));
            tally.deleted += 1;
        }
    }
    tally.new = new.len();
    write_series(transaction, &new, import_id, calendar)?;
    write_revisions(transaction, &rows)?;
    Ok(tally)
}

impl<'a> RevisionRow<'a> {
    /// The row of `fact` as revision `revision` (a deletion when `deleted`).
    fn of(fact: &'a Fact, revision: u32, deleted: bool, import_id: i64) -> Self {
        RevisionRow {
            key: &fact.key,
            revision,
            value: fact.value,
            currency: fact.currency.as_ref().map(Currency::as_str),
            source: fact.source.as_deref(),
            note: fact.note.as_deref(),
            precision: fact.precision,
            deleted,
            import_id,
        }
    }
}

/// The first revision of a key that only a series row holds, copied into the log when the
/// key gets its next one (the log keeps the whole history of a key).
fn first_revision(held: &Held) -> Option<RevisionRow<'_>> {
    let first_import = held.series_import?;
    Some(RevisionRow::of(&held.fact, 1, false, first_import))
}

/// The column types of a `COPY` into `fact_revisions`.
const REVISION_TYPES: [Type; 15] = [
    Type::TEXT,
    Type::INT4,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT2,
    Type::TEXT,
    Type::INT4,
    Type::FLOAT8,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::FLOAT8,
    Type::BOOL,
];

/// Appends rows to the revision log with one `COPY`.
fn write_revisions(
    transaction: &mut Transaction<'_>,
    rows: &[RevisionRow<'_>],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let failed = database("writing facts");
    let sink = transaction
        .copy_in(
            "COPY fact_revisions (unit, period_start, granularity, metric, counterparty, basis, structure,
                 revision, value, currency, source, import_id, note, precision_step, deleted)
             FROM STDIN BINARY",
        )
        .map_err(&failed)?;
    let mut writer = BinaryCopyInWriter::new(sink, &REVISION_TYPES);
    for row in rows {
        let key = KeyText::of(row.key);
        let structure: &str = key.structure.as_ref();
        let revision = i32::try_from(row.revision).unwrap_or(i32::MAX);
        writer
            .write(&[
                &key.unit,
                &row.key.period.start,
                &key.granularity,
                &key.metric,
                &key.counterparty,
                &key.basis,
                &structure,
                &revision,
                &row.value,
                &row.currency,
                &row.source,
                &row.import_id,
                &row.note,
                &row.precision,
                &row.deleted,
            ])
            .map_err(&failed)?;
    }
    writer.finish().map_err(&failed)?;
    Ok(())
}

impl Store for PostgresStore {
    fn load(&self) -> Result<Option<Model>, StoreError> {
        let mut client = self.client()?;
        let mut transaction = snapshot(&mut client)?;
        let Some(mut model) = load_parts(&mut transaction)? else {
            return Ok(None);
        };
        model.facts = load_facts(&mut transaction)?;
        model.canonicalize();
        Ok(Some(model))
    }

    fn import_with(
        &mut self,
        incoming: &Model,
        label: &str,
        options: ImportOptions,
    ) -> Result<ImportSummary, StoreError> {
        Ok(self.import_recorded(incoming, label, options, None)?.0)
    }

    fn revision(&self) -> Result<i64, StoreError> {
        changesets::revision(&mut *self.client()?)
    }

    fn apply(
        &mut self,
        incoming: &Model,
        label: &str,
        record: &ApplyRecord,
    ) -> Result<Applied, StoreError> {
        let options = ImportOptions {
            prune: record.prune,
        };
        let (summary, changeset) = self.import_recorded(incoming, label, options, Some(record))?;
        Ok(Applied {
            changeset_id: changeset.unwrap_or_default(),
            revision: summary.import_id,
            summary,
        })
    }

    fn apply_columns(
        &mut self,
        incoming: &Model,
        facts: &FactColumns,
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
        let mut client = self.client()?;
        let mut transaction = client
            .transaction()
            .map_err(database("recording the change set"))?;
        let id = changesets::insert(&mut transaction, new, ChangesetState::Draft, None)?;
        transaction
            .commit()
            .map_err(database("recording the change set"))?;
        Ok(id)
    }

    fn changeset(&self, id: i64) -> Result<Option<ChangesetRecord>, StoreError> {
        changesets::get(&mut *self.client()?, id)
    }

    fn changesets(&self) -> Result<Vec<ChangesetRecord>, StoreError> {
        changesets::list(&mut *self.client()?)
    }

    fn transitions(&self, id: i64) -> Result<Vec<TransitionRecord>, StoreError> {
        changesets::transitions(&mut *self.client()?, id)
    }

    fn transition_changeset(
        &mut self,
        id: i64,
        from: ChangesetState,
        to: ChangesetState,
        actor: &str,
        note: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut client = self.client()?;
        let mut transaction = client
            .transaction()
            .map_err(database("changing the state"))?;
        changesets::transition(&mut transaction, id, from, to, actor, note)?;
        transaction.commit().map_err(database("changing the state"))
    }

    fn audit(&self) -> Result<Vec<AuditRecord>, StoreError> {
        changesets::audit(&mut *self.client()?)
    }

    fn fact_history(&self, key: &FactKey) -> Result<Vec<FactRevision>, StoreError> {
        let failed = database("reading a fact's history");
        let mut client = self.client()?;
        let mut transaction = snapshot(&mut client)?;
        let columns = KeyText::of(key);
        let structure: &str = columns.structure.as_ref();
        let rows = transaction
            .query(
                "SELECT f.revision, f.value, f.currency, f.source, f.import_id, i.label, i.imported_at,
                        f.note, f.precision_step, f.deleted
                 FROM fact_revisions AS f JOIN imports AS i ON i.id = f.import_id
                 WHERE f.unit = $1 AND f.period_start = $2 AND f.granularity = $3 AND f.metric = $4
                   AND f.counterparty = $5 AND f.basis = $6 AND f.structure = $7
                 ORDER BY f.revision",
                &[
                    &columns.unit,
                    &key.period.start,
                    &columns.granularity,
                    &columns.metric,
                    &columns.counterparty,
                    &columns.basis,
                    &structure,
                ],
            )
            .map_err(&failed)?;
        let mut parsed = HashMap::new();
        let mut history = Vec::new();
        for row in &rows {
            let revision: i32 = row.try_get(0).map_err(&failed)?;
            let code: Option<String> = row.try_get(2).map_err(&failed)?;
            history.push(FactRevision {
                revision: u32::try_from(revision)
                    .map_err(|_| corrupt(format!("revision {revision}")))?,
                value: row.try_get(1).map_err(&failed)?,
                currency: code.map(|code| currency(&mut parsed, code)).transpose()?,
                source: row.try_get(3).map_err(&failed)?,
                note: row.try_get(7).map_err(&failed)?,
                precision: row.try_get(8).map_err(&failed)?,
                deleted: row.try_get(9).map_err(&failed)?,
                import_id: row.try_get(4).map_err(&failed)?,
                import_label: row.try_get(5).map_err(&failed)?,
                imported_at: row.try_get(6).map_err(&failed)?,
            });
        }
        if !history.is_empty() {
            return Ok(history);
        }
        // A key the log does not hold has at most its first revision, in a series row.
        let rows = transaction
            .query(
                &format!(
                    "{SERIES} WHERE unit = $1 AND granularity = $2 AND metric = $3 AND counterparty = $4
                       AND basis = $5 AND structure = $6"
                ),
                &[&columns.unit, &columns.granularity, &columns.metric, &columns.counterparty, &columns.basis, &structure],
            )
            .map_err(&failed)?;
        for row in &rows {
            let raw = RawSeries::read(row)?;
            let import_id = raw.import_id;
            for fact in raw.facts(&mut parsed)? {
                if fact.key.period.start != key.period.start {
                    continue;
                }
                let import = transaction
                    .query_one(
                        "SELECT label, imported_at FROM imports WHERE id = $1",
                        &[&import_id],
                    )
                    .map_err(&failed)?;
                history.push(FactRevision {
                    revision: 1,
                    value: fact.value,
                    currency: fact.currency,
                    source: fact.source,
                    note: fact.note,
                    precision: fact.precision,
                    deleted: false,
                    import_id,
                    import_label: import.get(0),
                    imported_at: import.get(1),
                });
            }
        }
        Ok(history)
    }

    fn imports(&self) -> Result<Vec<ImportRecord>, StoreError> {
        let failed = database("reading the import log");
        let mut client = self.client()?;
        let rows = client
            .query(
                "SELECT id, label, imported_at, facts_new, facts_revised, facts_unchanged, facts_deleted
                 FROM imports ORDER BY id",
                &[],
            )
            .map_err(&failed)?;
        rows.iter()
            .map(|row| {
                let count = |index: usize| -> Result<usize, StoreError> {
                    let count: i64 = row.try_get(index).map_err(&failed)?;
                    usize::try_from(count).map_err(|_| StoreError::Corrupt {
                        table: "imports",
                        detail: format!("negative count {count}"),
                    })
                };
                Ok(ImportRecord {
                    id: row.try_get(0).map_err(&failed)?,
                    label: row.try_get(1).map_err(&failed)?,
                    imported_at: row.try_get(2).map_err(&failed)?,
                    facts_new: count(3)?,
                    facts_revised: count(4)?,
                    facts_unchanged: count(5)?,
                    facts_deleted: count(6)?,
                })
            })
            .collect()
    }

    fn load_without_facts(&self) -> Result<Option<Model>, StoreError> {
        let mut client = self.client()?;
        let mut transaction = snapshot(&mut client)?;
        load_parts(&mut transaction)
    }

    fn holds_revisions(&self) -> Result<bool, StoreError> {
        holds_revisions(&mut *self.client()?)
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
        Ok(self.fact_series(metrics)?.and_then(|(series, facts)| {
            crate::sqlite::fact_series::table(&series, engine).map(|table| (table, facts))
        }))
    }

    /// Merges the columns without building a fact each whenever the columns hold every
    /// stored key (the usual case: a folder re-imported with some figures changed and some
    /// added): new keys go into series rows, revised figures into the revision log (with the
    /// first revision copied there, as [`Store::import`] does), unchanged ones write nothing.
    /// `None`, and nothing written, when a stored key is missing from the columns (the merged
    /// model must then be validated against the incoming timeline: the general path).
    fn import_columns(
        &mut self,
        incoming: &Model,
        facts: &FactColumns,
        label: &str,
    ) -> Result<Option<ImportSummary>, StoreError> {
        Ok(self
            .import_columns_recorded(incoming, facts, label, None)?
            .map(|(summary, _)| summary))
    }
}

impl PostgresStore {
    /// [`Store::import`], recording an applied change set when `record` is given (see
    /// [`Store::apply`]); with the change set's id.
    fn import_recorded(
        &mut self,
        incoming: &Model,
        label: &str,
        options: ImportOptions,
        record: Option<&ApplyRecord>,
    ) -> Result<(ImportSummary, Option<i64>), StoreError> {
        let encoded = merge::check_and_encode(incoming)?;
        storable_text(incoming, None, label)?;
        let location = self.location.clone();
        let mut client = self.client()?;
        // Dropping the transaction on any error below rolls everything back.
        let mut transaction = client
            .transaction()
            .map_err(database("starting the import"))?;
        let import_id = begin_import(&mut transaction, label, &location)?;
        let base = record
            .map(|record| changesets::check_base(&mut transaction, import_id, record))
            .transpose()?;
        write_model_parts(&mut transaction, &encoded, &incoming.documents, import_id)?;
        let retract = record.map_or(&[][..], |record| record.retract.as_slice());
        let tally = write_facts(&mut transaction, incoming, import_id, options, retract)?;
        finish_import(&mut transaction, import_id, &tally)?;
        let changeset = match (record, base) {
            (Some(record), Some(base)) => Some(changesets::record_apply(
                &mut transaction,
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

    /// [`Store::import_columns`], recording an applied change set when `record` is given.
    fn import_columns_recorded(
        &mut self,
        incoming: &Model,
        facts: &FactColumns,
        label: &str,
        record: Option<&ApplyRecord>,
    ) -> Result<Option<(ImportSummary, Option<i64>)>, StoreError> {
        if !incoming.facts.is_empty() {
            return Err(StoreError::Unstorable {
                item: "the facts".to_string(),
                reason: "an import of columns takes its facts from the columns only".to_string(),
            });
        }
        let encoded = merge::check_and_encode(incoming)?;
        storable_text(incoming, Some(facts), label)?;
        let location = self.location.clone();
        let mut client = self.client()?;
        // Dropping the transaction on any early return rolls the import record back.
        let mut transaction = client
            .transaction()
            .map_err(database("starting the import"))?;
        let import_id = begin_import(&mut transaction, label, &location)?;
        let base = record
            .map(|record| changesets::check_base(&mut transaction, import_id, record))
            .transpose()?;
        let calendar = incoming.group.calendar();
        let mut merge = None;
        if holds_facts(&mut transaction)? {
            let Some(found) = merge_columns(&mut transaction, facts, calendar)? else {
                return Ok(None);
            };
            merge = Some(found);
        }
        let new_facts = merge.as_ref().map(|merge| facts.subset(&merge.new));
        let written = new_facts.as_ref().unwrap_or(facts);
        write_model_parts(&mut transaction, &encoded, &incoming.documents, import_id)?;
        write_columns(&mut transaction, written, import_id, calendar)?;
        let revised = merge.as_ref().map_or(0, |merge| merge.revised.len());
        if let Some(merge) = &merge {
            write_column_revisions(&mut transaction, facts, &merge.revised, import_id)?;
        }
        let tally = Tally {
            new: written.len(),
            revised,
            unchanged: facts.len() - written.len() - revised,
            deleted: 0,
        };
        finish_import(&mut transaction, import_id, &tally)?;
        let changeset = match (record, base) {
            (Some(record), Some(base)) => Some(changesets::record_apply(
                &mut transaction,
                import_id,
                base,
                record,
            )?),
            _ => None,
        };
        transaction
            .commit()
            .map_err(database("committing the import"))?;
        Ok(Some((tally.summary(import_id, incoming), changeset)))
    }
}

/// A revised incoming row: its row in the columns, its series' key, the revision to write,
/// and the first revision to copy into the log when only a series row held the key.
struct RevisedRow {
    row: usize,
    key: TextKey,
    revision: i32,
    first: Option<(f64, Option<String>, Option<String>, i64)>,
}

/// A series' key as text: unit, granularity, metric, counterparty, basis, structure.
type TextKey = (String, &'static str, String, String, i16, String);

/// What incoming columns do to the stored facts.
struct ColumnsMerge {
    /// Per incoming row: true when its key is new to the store.
    new: Vec<bool>,
    /// Rows whose figure, currency or source differs from the stored current revision.
    revised: Vec<RevisedRow>,
}

/// The current revision of a logged key: revision, value, currency, source.
type Logged = (i32, f64, Option<String>, Option<String>);

/// Compares the stored facts (series rows, and the revision log's current figures) with
/// incoming columns (every series sorted by period). `None` when a stored key is missing
/// from the columns: the general merge is needed.
fn merge_columns(
    client: &mut impl GenericClient,
    columns: &FactColumns,
    calendar: FiscalCalendar,
) -> Result<Option<ColumnsMerge>, StoreError> {
    let failed = database("reading facts");
    let text_key = |s: &holdco_core::format::fact_columns::Series| -> TextKey {
        let (basis, structure) = basis_columns(s.basis);
        let counterparty = if s.counterparty == NONE {
            String::new()
        } else {
            columns.units[s.counterparty as usize].to_string()
        };
        (
            columns.units[s.unit as usize].to_string(),
            granularity_text(s.granularity),
            columns.metrics[s.metric as usize].to_string(),
            counterparty,
            basis as i16,
            structure.into_owned(),
        )
    };
    let mut by_key: HashMap<TextKey, usize> = HashMap::with_capacity(columns.series.len());
    for (series, s) in columns.series.iter().enumerate() {
        let starts = &columns.starts[columns.rows(series)];
        if let Some(at) = starts.windows(2).position(|pair| pair[0] >= pair[1]) {
            let key = columns.key(series, starts[at]);
            return Err(StoreError::DuplicateFact {
                key: merge::describe_key(&key, calendar),
            });
        }
        by_key.insert(text_key(s), series);
    }
    // The revision log's current figures, by series and period (a small map: only keys ever
    // revised are there).
    let mut logged: HashMap<TextKey, HashMap<i32, Logged>> = HashMap::new();
    for row in client.query(CURRENT_REVISIONS, &[]).map_err(&failed)? {
        // Columns carry no notes or precisions, and a deleted key needs its next revision:
        // both are the general merge's.
        let note: Option<String> = row.try_get(11).map_err(&failed)?;
        let precision: Option<f64> = row.try_get(12).map_err(&failed)?;
        let deleted: bool = row.try_get(13).map_err(&failed)?;
        if note.is_some() || precision.is_some() || deleted {
            return Ok(None);
        }
        let key: TextKey = (
            row.try_get::<_, String>(0).map_err(&failed)?,
            granularity_text(parse_granularity(row.try_get(1).map_err(&failed)?)?),
            row.try_get(2).map_err(&failed)?,
            row.try_get(3).map_err(&failed)?,
            row.try_get(4).map_err(&failed)?,
            row.try_get(5).map_err(&failed)?,
        );
        let current: Logged = (
            row.try_get(7).map_err(&failed)?,
            row.try_get(8).map_err(&failed)?,
            row.try_get(9).map_err(&failed)?,
            row.try_get(10).map_err(&failed)?,
        );
        logged
            .entry(key)
            .or_default()
            .insert(row.try_get(6).map_err(&failed)?, current);
    }
    let mut matched = vec![false; columns.len()];
    let mut revised = Vec::new();
    let no_log = HashMap::new();
    for row in client.query(SERIES, &[]).map_err(&failed)? {
        let raw = RawSeries::read(&row)?;
        if raw.notes.is_some() || raw.precisions.is_some() {
            return Ok(None);
        }
        let text = KeyText::of(&raw.key);
        let key: TextKey = (
            text.unit.to_string(),
            text.granularity,
            text.metric.to_string(),
            text.counterparty.to_string(),
            text.basis,
            text.structure.to_string(),
        );
        let Some(series) = by_key.get(&key) else {
            return Ok(None);
        };
        let log = logged.get(&key).unwrap_or(&no_log);
        let range = columns.rows(*series);
        let incoming = &columns.starts[range.clone()];
        for (position, start) in raw.periods.iter().enumerate() {
            let Ok(offset) = incoming.binary_search(start) else {
                return Ok(None);
            };
            let at = range.start + offset;
            if matched[at] {
                return Err(corrupt(format!(
                    "two series rows hold the fact {}",
                    merge::describe_key(&columns.key(*series, *start), calendar)
                )));
            }
            matched[at] = true;
            let series_currency = raw.currencies.as_ref().and_then(|c| c[position].as_deref());
            let series_source = raw.sources.as_ref().and_then(|s| s[position].as_deref());
            let (revision, value, currency, source) = match log.get(start) {
                Some((revision, value, currency, source)) => {
                    (*revision, *value, currency.as_deref(), source.as_deref())
                }
                None => (1, raw.figures[position], series_currency, series_source),
            };
            let (incoming_currency, incoming_source) =
                (columns.currency[at], columns.source_of(at));
            let same = value.to_bits() == columns.values[at].to_bits()
                && currency
                    == (incoming_currency != NONE)
                        .then(|| columns.currencies[incoming_currency as usize].as_str())
                && source
                    == (incoming_source != NONE)
                        .then(|| columns.sources[incoming_source as usize].as_str());
            if same {
                continue;
            }
            // The log keeps the whole history of a key: its first revision comes along.
            let first = (!log.contains_key(start)).then(|| {
                (
                    raw.figures[position],
                    series_currency.map(str::to_string),
                    series_source.map(str::to_string),
                    raw.import_id,
                )
            });
            revised.push(RevisedRow {
                row: at,
                key: key.clone(),
                revision: revision.saturating_add(1),
                first,
            });
        }
    }
    let new = matched.iter().map(|held| !held).collect();
    Ok(Some(ColumnsMerge { new, revised }))
}

/// Appends the revised rows of the columns (and the first revisions they supersede) to the
/// revision log with one `COPY`.
fn write_column_revisions(
    transaction: &mut Transaction<'_>,
    columns: &FactColumns,
    revised: &[RevisedRow],
    import_id: i64,
) -> Result<(), StoreError> {
    if revised.is_empty() {
        return Ok(());
    }
    let failed = database("writing facts");
    let sink = transaction
        .copy_in(
            "COPY fact_revisions (unit, period_start, granularity, metric, counterparty, basis, structure,
                 revision, value, currency, source, import_id, note, precision_step, deleted)
             FROM STDIN BINARY",
        )
        .map_err(&failed)?;
    let mut writer = BinaryCopyInWriter::new(sink, &REVISION_TYPES);
    let one = 1i32;
    for row in revised {
        let (unit, granularity, metric, counterparty, basis, structure) = &row.key;
        let start = columns.starts[row.row];
        if let Some((value, currency, source, first_import)) = &row.first {
            writer
                .write(&[
                    unit,
                    &start,
                    granularity,
                    metric,
                    counterparty,
                    basis,
                    structure,
                    &one,
                    value,
                    currency,
                    source,
                    first_import,
                    &None::<&str>,
                    &None::<f64>,
                    &false,
                ])
                .map_err(&failed)?;
        }
        let currency = columns.currency[row.row];
        let currency = (currency != NONE).then(|| columns.currencies[currency as usize].as_str());
        let source = columns.source_of(row.row);
        let source = (source != NONE).then(|| columns.sources[source as usize].as_str());
        writer
            .write(&[
                unit,
                &start,
                granularity,
                metric,
                counterparty,
                basis,
                structure,
                &row.revision,
                &columns.values[row.row],
                &currency,
                &source,
                &import_id,
                &None::<&str>,
                &None::<f64>,
                &false,
            ])
            .map_err(&failed)?;
    }
    writer.finish().map_err(&failed)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_parameter_is_taken_off_the_url() {
        assert_eq!(
            split_schema("postgres://u@h/db?schema=team_a&connect_timeout=3"),
            (
                "postgres://u@h/db?connect_timeout=3".to_string(),
                Some("team_a".to_string())
            )
        );
        assert_eq!(
            split_schema("postgres://u@h/db?schema=a%20b"),
            ("postgres://u@h/db".to_string(), Some("a b".to_string()))
        );
        assert_eq!(
            split_schema("postgres://u@h/db"),
            ("postgres://u@h/db".to_string(), None)
        );
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
