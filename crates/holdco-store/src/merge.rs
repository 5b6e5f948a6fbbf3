//! What every backend shares: checking an incoming model before anything is written, encoding
//! its small parts as JSON, and deciding what each incoming fact does to the stored history.

use crate::{store_origin, StoreError};
use chrono::Datelike;
use holdco_core::{Basis, Currency, Fact, FactKey, FiscalCalendar, Model};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

/// A fact key in words, for error messages: `(unit, period, metric[, counterparty], basis)`.
pub(crate) fn describe_key(key: &FactKey, calendar: FiscalCalendar) -> String {
    let mut text = format!(
        "({}, {}, {}",
        key.unit,
        key.period.label(calendar),
        key.metric
    );
    if let Some(counterparty) = &key.counterparty {
        text.push_str(&format!(", counterparty {counterparty}"));
    }
    match key.basis {
        Basis::Restated { structure } => text.push_str(&format!(", restated as of {structure})")),
        other => text.push_str(&format!(", {})", other.name())),
    }
    text
}

/// The group, metrics, timeline and rates of a model as JSON text, origins removed.
pub(crate) struct Encoded {
    /// The group.
    pub group: String,
    /// Metric ids and definitions, in model order.
    pub metrics: Vec<(String, String)>,
    /// Change dates (YYYY-MM-DD) and changes, in timeline order.
    pub changes: Vec<(String, String)>,
    /// FX rates, in model order.
    pub fx: Vec<String>,
}

/// Checks everything about `model` that could make an import fail part way or store
/// something that would not read back, and encodes its small parts.
///
/// Duplicate fact keys are left to the backends, which meet every key anyway.
pub(crate) fn check_and_encode(model: &Model) -> Result<Encoded, StoreError> {
    let calendar = model.group.calendar();
    for fact in &model.facts {
        if !fact.value.is_finite() {
            return Err(StoreError::NonFiniteValue {
                key: describe_key(&fact.key, calendar),
                value: fact.value,
            });
        }
        // Structure dates are stored as YYYY-MM-DD text, whose order is the date order only
        // for four-digit years; backends rely on that order.
        if let Basis::Restated { structure } = fact.key.basis {
            if !(0..=9999).contains(&structure.year()) {
                return Err(StoreError::Unstorable {
                    item: format!("fact {}", describe_key(&fact.key, calendar)),
                    reason: "the structure date must lie in a year from 0 to 9999".to_string(),
                });
            }
        }
    }
    let mut metric_ids = HashSet::new();
    for metric in &model.metrics {
        if !metric_ids.insert(&metric.id) {
            return Err(StoreError::DuplicateMetric {
                metric: metric.id.to_string(),
            });
        }
    }
    let group = encode("the group", &model.group)?;
    let metrics = model
        .metrics
        .iter()
        .map(|metric| {
            let mut metric = metric.clone();
            metric.origin = store_origin();
            let body = encode(&format!("metric `{}`", metric.id), &metric)?;
            Ok((metric.id.to_string(), body))
        })
        .collect::<Result<_, StoreError>>()?;
    let changes = model
        .timeline
        .iter()
        .enumerate()
        .map(|(index, change)| {
            let mut change = change.clone();
            change.origin = store_origin();
            let item = format!(
                "change {} ({} {})",
                index + 1,
                change.date,
                change.kind.name()
            );
            Ok((change.date.to_string(), encode(&item, &change)?))
        })
        .collect::<Result<_, StoreError>>()?;
    let fx = model
        .fx
        .iter()
        .map(|rate| {
            let mut rate = rate.clone();
            rate.origin = store_origin();
            let item = format!(
                "the {} rate for {}",
                rate.currency,
                rate.period.label(calendar)
            );
            encode(&item, &rate)
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(Encoded {
        group,
        metrics,
        changes,
        fx,
    })
}

/// JSON text of `value`, refused unless it reads back equal (NaN or infinite numbers don't).
fn encode<T: Serialize + DeserializeOwned + PartialEq>(
    item: &str,
    value: &T,
) -> Result<String, StoreError> {
    let unstorable = |reason: String| StoreError::Unstorable {
        item: item.to_string(),
        reason,
    };
    let text = serde_json::to_string(value).map_err(|e| unstorable(e.to_string()))?;
    let back: T = serde_json::from_str(&text).map_err(|_| unstorable(not_exact()))?;
    if &back != value {
        return Err(unstorable(not_exact()));
    }
    Ok(text)
}

fn not_exact() -> String {
    "it would not read back exactly (is a number NaN or infinite?)".to_string()
}

/// Decodes JSON text written by [`check_and_encode`].
pub(crate) fn decode<T: DeserializeOwned>(
    table: &'static str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        table,
        detail: e.to_string(),
    })
}

/// The latest stored revision of a fact key, borrowed from wherever the backend keeps it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Latest<'a> {
    /// Its revision number.
    pub revision: u32,
    /// The figure.
    pub value: f64,
    /// Its currency code.
    pub currency: Option<&'a str>,
    /// Its source.
    pub source: Option<&'a str>,
    /// Its note.
    pub note: Option<&'a str>,
    /// Its precision.
    pub precision: Option<f64>,
    /// True when the latest revision is a deletion (`import --prune`): any incoming fact
    /// of the key is then its next revision.
    pub deleted: bool,
}

/// What an incoming fact does to the stored history of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The key is new: store revision 1.
    New,
    /// The figure differs: store this revision number, which supersedes the previous one.
    Revised {
        /// The new revision number.
        revision: u32,
    },
    /// Identical to the latest revision: write nothing.
    Unchanged,
}

impl Outcome {
    /// The revision to write, if any.
    pub fn revision(self) -> Option<u32> {
        match self {
            Outcome::New => Some(1),
            Outcome::Revised { revision } => Some(revision),
            Outcome::Unchanged => None,
        }
    }
}

/// Compares an incoming fact with the latest stored revision of its key, if any.
///
/// Values compare bit for bit: a store returns exactly what it was given, so anything else
/// is a real change.
pub(crate) fn outcome(latest: Option<Latest<'_>>, fact: &Fact) -> Outcome {
    match latest {
        None => Outcome::New,
        Some(latest)
            if !latest.deleted
                && latest.value.to_bits() == fact.value.to_bits()
                && latest.currency == fact.currency.as_ref().map(Currency::as_str)
                && latest.source == fact.source.as_deref()
                && latest.note == fact.note.as_deref()
                && latest.precision.map(f64::to_bits) == fact.precision.map(f64::to_bits) =>
        {
            Outcome::Unchanged
        }
        Some(latest) => Outcome::Revised {
            revision: latest.revision.saturating_add(1),
        },
    }
}

/// Counts of outcomes over one import.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tally {
    /// New keys.
    pub new: usize,
    /// New revisions.
    pub revised: usize,
    /// Identical facts.
    pub unchanged: usize,
    /// Stored facts removed (`--prune`).
    pub deleted: usize,
}

impl Tally {
    /// The summary an import reports for these counts.
    pub(crate) fn summary(
        &self,
        import_id: i64,
        incoming: &holdco_core::Model,
    ) -> crate::ImportSummary {
        crate::ImportSummary {
            import_id,
            facts_new: self.new,
            facts_revised: self.revised,
            facts_unchanged: self.unchanged,
            facts_deleted: self.deleted,
            changes: incoming.timeline.len(),
            metrics: incoming.metrics.len(),
            fx_rates: incoming.fx.len(),
        }
    }
}

impl Tally {
    /// Counts one outcome.
    pub fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::New => self.new += 1,
            Outcome::Revised { .. } => self.revised += 1,
            Outcome::Unchanged => self.unchanged += 1,
        }
    }
}

/// Seconds since the Unix epoch by the system clock (0 if the clock is before 1970).
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use holdco_core::{Granularity, MetricId, Origin, Period, UnitId};

    fn fact(value: f64) -> Fact {
        Fact {
            key: FactKey {
                unit: UnitId::parse("cloud").unwrap(),
                period: Period::new(2024 * 12 + 3, Granularity::Year),
                metric: MetricId::parse("revenue").unwrap(),
                counterparty: Some(UnitId::parse("taobao").unwrap()),
                basis: Basis::Restated {
                    structure: "2025-04-01".parse().unwrap(),
                },
            },
            value,
            currency: None,
            source: None,
            note: None,
            precision: None,
            origin: Origin::default(),
        }
    }

    #[test]
    fn keys_are_described_in_the_groups_labels() {
        let text = describe_key(&fact(1.0).key, FiscalCalendar { year_end_month: 3 });
        assert_eq!(
            text,
            "(cloud, FY2025, revenue, counterparty taobao, restated as of 2025-04-01)"
        );
    }

    #[test]
    fn values_compare_bit_for_bit() {
        let stored = Latest {
            revision: 1,
            value: 0.0,
            currency: None,
            source: None,
            note: None,
            precision: None,
            deleted: false,
        };
        assert_eq!(outcome(Some(stored), &fact(0.0)), Outcome::Unchanged);
        let removed = Latest {
            deleted: true,
            ..stored
        };
        assert_eq!(
            outcome(Some(removed), &fact(0.0)),
            Outcome::Revised { revision: 2 }
        );
        let mut noted = fact(0.0);
        noted.note = Some("restated by the group".into());
        assert_eq!(
            outcome(Some(stored), &noted),
            Outcome::Revised { revision: 2 }
        );
        let mut rounded = fact(0.0);
        rounded.precision = Some(100.0);
        assert_eq!(
            outcome(Some(stored), &rounded),
            Outcome::Revised { revision: 2 }
        );
        assert_eq!(
            outcome(Some(stored), &fact(-0.0)),
            Outcome::Revised { revision: 2 }
        );
        assert_eq!(outcome(None, &fact(-0.0)), Outcome::New);
        let mut sourced = fact(0.0);
        sourced.source = Some("annual report".into());
        assert_eq!(
            outcome(Some(stored), &sourced),
            Outcome::Revised { revision: 2 }
        );
        let mut in_dollars = fact(0.0);
        in_dollars.currency = Some(Currency::parse("USD").unwrap());
        let stored_in_dollars = Latest {
            currency: Some("USD"),
            ..stored
        };
        assert_eq!(
            outcome(Some(stored_in_dollars), &in_dollars),
            Outcome::Unchanged
        );
        assert_eq!(
            outcome(Some(stored), &in_dollars),
            Outcome::Revised { revision: 2 }
        );
    }
}
