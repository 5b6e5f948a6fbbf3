//! Stores, chosen from a URL: the snapshot of a store's current model, its revision, and the
//! roll-up that reads only the series it needs.

use crate::request::{RequestError, RollupRequest};
use crate::{Snapshot, FAST_PATH_FACTS};
use holdco_core::columnar::rollup_from_table;
use holdco_core::rollup::{Engine, Query, QueryError, Rollup};
use holdco_core::{Aggregation, Model};
pub use holdco_store::{redact, StoreUrl};
use holdco_store::{Store, StoreError};
use std::sync::Arc;

/// Why a store could not answer.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The store failed (the message names it, password hidden).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No store at the path.
    #[error("no store at {0}: import a model first with `holdco --db {0} import DIR`")]
    Missing(String),
    /// The store holds no model.
    #[error("the store {0} is empty: import a model first with `holdco --db {0} import DIR`")]
    Empty(String),
    /// The stored model is not valid (only a store written by another program can hold one).
    #[error("the model in {0} cannot be used: {1}")]
    Invalid(String, QueryError),
    /// The question cannot be read.
    #[error("{}", .0.cli_message())]
    Request(#[from] RequestError),
    /// The question is wrong for this model.
    #[error(transparent)]
    Query(#[from] QueryError),
}

/// The store's revision: the id of its latest import (`None` before the first). Every write
/// of the model is an import, so a new revision means a new model.
pub fn revision(store: &dyn Store) -> Result<Option<i64>, StoreError> {
    Ok(store.imports()?.last().map(|record| record.id))
}

/// Opens the store named by a `--db` value, refusing a file that does not exist (opening
/// would create an empty store).
pub fn open_existing(url: &StoreUrl) -> Result<Box<dyn Store>, AppError> {
    if !url.exists() {
        return Err(AppError::Missing(url.to_string()));
    }
    Ok(url.open()?)
}

/// The store's current model, validated, as a snapshot carrying the revision it was read at.
/// The revision is read before the model: a write in between makes the snapshot look older
/// than it is, so a watcher reloads once more rather than missing the write.
pub fn load_snapshot(url: &StoreUrl) -> Result<Snapshot, AppError> {
    let store = open_existing(url)?;
    snapshot_of(store.as_ref(), url)
}

/// [`load_snapshot`] from an open store.
pub fn snapshot_of(store: &dyn Store, url: &StoreUrl) -> Result<Snapshot, AppError> {
    let revision = revision(store)?;
    let model = store
        .load()?
        .ok_or_else(|| AppError::Empty(url.to_string()))?;
    Snapshot::at_revision(Arc::new(model), revision)
        .map_err(|e| AppError::Invalid(url.to_string(), e))
}

/// The store's current model (not validated: commands that check it themselves, or change it).
pub fn load_model(url: &StoreUrl) -> Result<Model, AppError> {
    open_existing(url)?
        .load()?
        .ok_or_else(|| AppError::Empty(url.to_string()))
}

/// The metric ids a list of names stands for: each name as written, `all` for every metric
/// of the model (in the model's order), each id once.
pub fn metric_names(model: &Model, names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let expanded: Vec<String> = if name == "all" {
            model.metrics.iter().map(|m| m.id.to_string()).collect()
        } else {
            vec![name.clone()]
        };
        for id in expanded {
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    out
}

/// A roll-up answered from the store without loading the whole model: the model without
/// facts (the question checked against it first, so a wrong metric, node or period is
/// reported at once), then only the asked metrics' series read into a fact table. `None`
/// when this path does not apply (no periods given — the default needs the facts —, a
/// store with fewer than [`FAST_PATH_FACTS`] facts, an import in between, a question the
/// columnar path does not cover): then load the model and use [`crate::rollup::rollup`].
pub fn rollup_from_store(
    url: &StoreUrl,
    request: &RollupRequest,
) -> Result<Option<(Model, Query, Rollup)>, AppError> {
    let metrics = [request.metric.clone()];
    Ok(
        rollups_from_store(url, request, &metrics)?.and_then(|(model, mut answers)| {
            let (query, answer) = answers.pop()?;
            Some((model, query, answer))
        }),
    )
}

/// [`rollup_from_store`] for several metrics at once (`metrics` as [`metric_names`] reads
/// them: `all` for every metric): one read of the model without facts and one of the
/// series of every metric asked, then one roll-up per metric, in the order asked. `None`
/// when the path does not apply to any one of them (the caller then loads the model).
pub fn rollups_from_store(
    url: &StoreUrl,
    request: &RollupRequest,
    metrics: &[String],
) -> Result<Option<(Model, Vec<(Query, Rollup)>)>, AppError> {
    let timing = std::env::var_os("HOLDCO_TIMING").is_some();
    let started = std::time::Instant::now();
    let phase = |name: &str| {
        if timing {
            eprintln!("  [timing] rollup {name}: {:?}", started.elapsed());
        }
    };
    if !url.exists() || !request.names_periods() {
        return Ok(None);
    }
    let store = url.open()?;
    // The model and the facts are read one after the other: an import in between (seen as a
    // new revision) sends the query to the full load, which reads one snapshot.
    let imported = revision(store.as_ref())?;
    let Some(model) = store.load_without_facts()? else {
        return Ok(None);
    };
    let Ok(engine) = Engine::new(&model) else {
        return Ok(None);
    };
    let mut queries = Vec::new();
    // Only the facts of the metrics asked are read: the roll-up of a metric depends on its
    // own facts alone.
    let mut read: Vec<holdco_core::MetricId> = Vec::new();
    for metric in metric_names(&model, metrics) {
        let mut one = request.clone();
        one.metric = metric;
        let query = one.query(&model)?;
        let needs = match model.metric(&query.metric).map(|m| &m.aggregation) {
            Some(Aggregation::Flow | Aggregation::Stock) => vec![query.metric.clone()],
            Some(Aggregation::Ratio {
                numerator,
                denominator,
            }) => vec![numerator.clone(), denominator.clone()],
            _ => {
                // Its errors first, as for every query (below).
                engine.rollup(&query)?;
                return Ok(None);
            }
        };
        for metric in needs {
            if !read.contains(&metric) {
                read.push(metric);
            }
        }
        queries.push(query);
    }
    phase("model without facts");
    // The engine on the model without facts finds the queries' errors (metric, node,
    // periods, rates), which do not depend on the facts, in milliseconds: on a second thread
    // while the facts are read (22 metrics take about as long to check as to read), and
    // reported before anything the read says.
    let (checked, read) = std::thread::scope(|scope| {
        let check = scope.spawn(|| {
            queries
                .iter()
                .try_for_each(|query| engine.rollup(query).map(drop))
        });
        let read = store.fact_table(&engine, Some(&read));
        (check.join(), read)
    });
    checked.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    let Some((table, facts)) = read? else {
        return Ok(None);
    };
    phase("facts into columns");
    if facts < FAST_PATH_FACTS || revision(store.as_ref())? != imported {
        return Ok(None);
    }
    let mut answers = Vec::with_capacity(queries.len());
    for query in queries {
        let Ok(answer) = rollup_from_table(&engine, &table, &query) else {
            return Ok(None);
        };
        answers.push((query, answer));
    }
    phase("columnar roll-up");
    drop(table);
    drop(engine);
    Ok(Some((model, answers)))
}
