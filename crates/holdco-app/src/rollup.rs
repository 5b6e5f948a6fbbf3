//! The one front door for roll-ups: the columnar fast path when it covers the question, the
//! explainable engine otherwise. Both give the same node values (property tests in core
//! hold them equal); the engine also shows each node's own remainder and eliminations as
//! lines, and only it explains a figure.

use crate::{Snapshot, FAST_PATH_FACTS};
use holdco_core::columnar::rollup_from_table;
use holdco_core::rollup::{Query, QueryError, Rollup};

/// Which engine may answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The columnar path on large models when it covers the question, else the engine.
    Auto,
    /// Always the explainable engine (the CLI's `--exact`).
    Exact,
}

/// A roll-up and which engine computed it.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The rows.
    pub rollup: Rollup,
    /// True when the columnar path answered.
    pub columnar: bool,
}

/// Answers kept per snapshot: a model revision never changes, so neither does the answer to
/// one question on it; a server asked the same question by many people computes it once.
pub(crate) type Answers = std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<Kept>>>;

/// An answer kept by a snapshot, shared by every request asking its question, with its JSON
/// (the CLI's `--json` bytes) written once, on first demand.
#[derive(Debug)]
pub struct Kept {
    /// The answer.
    pub answer: Answer,
    json: std::sync::OnceLock<Vec<u8>>,
}

impl Kept {
    /// The roll-up as JSON, as `serde_json::to_vec(&answer.rollup)` writes it (kept).
    pub fn json(&self) -> Result<&[u8], serde_json::Error> {
        if let Some(bytes) = self.json.get() {
            return Ok(bytes);
        }
        let bytes = serde_json::to_vec(&self.answer.rollup)?;
        Ok(self.json.get_or_init(|| bytes))
    }
}

/// Questions whose answers a snapshot keeps at most (then it forgets them all at once).
const ANSWERS_KEPT: usize = 256;
/// Rows of the largest answer kept (a deep tree over many periods is computed each time).
const ROWS_KEPT: usize = 20_000;

/// The roll-up of `query` on the snapshot, by the engine `route` allows. An answer already
/// given on this snapshot is given again without computing it.
pub fn rollup(snapshot: &Snapshot, query: &Query, route: Route) -> Result<Answer, QueryError> {
    rollup_shared(snapshot, query, route).map(|kept| kept.answer.clone())
}

/// [`rollup`] without copying a kept answer: the answer shared with every other caller of
/// the same question on this snapshot (a server writes its JSON once, [`Kept::json`]).
pub fn rollup_shared(
    snapshot: &Snapshot,
    query: &Query,
    route: Route,
) -> Result<std::sync::Arc<Kept>, QueryError> {
    let key = format!("{route:?} {query:?}");
    let kept = |answers: &Answers| {
        answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .cloned()
    };
    if let Some(answer) = kept(&snapshot.answers) {
        return Ok(answer);
    }
    let answer = std::sync::Arc::new(Kept {
        answer: compute(snapshot, query, route)?,
        json: std::sync::OnceLock::new(),
    });
    if answer.answer.rollup.rows.len() <= ROWS_KEPT {
        let mut answers = snapshot
            .answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if answers.len() >= ANSWERS_KEPT {
            answers.clear();
        }
        answers.insert(key, answer.clone());
    }
    Ok(answer)
}

fn compute(snapshot: &Snapshot, query: &Query, route: Route) -> Result<Answer, QueryError> {
    if route == Route::Auto && snapshot.model().facts.len() >= FAST_PATH_FACTS {
        if let Some(rollup) = columnar(snapshot, query) {
            return Ok(Answer {
                rollup,
                columnar: true,
            });
        }
    }
    Ok(Answer {
        rollup: snapshot.engine().rollup(query)?,
        columnar: false,
    })
}

/// The columnar roll-up, or `None` when the columnar path does not cover the question (a
/// non-additive metric, periods not recorded as such, published restatements layered over
/// reported figures, a question the engine would refuse).
pub fn columnar(snapshot: &Snapshot, query: &Query) -> Option<Rollup> {
    let table = snapshot.fact_table()?;
    rollup_from_table(snapshot.engine(), table, query).ok()
}
