//! Whole-model validation for large models: the same problems, in the same order, as
//! [`crate::validate::validate`], found with hashed lookups and the per-fact checks spread
//! over threads (a model of ten million facts validates in a second or two, not a minute).
//!
//! Tests hold the two equal on every bad-input fixture; `holdco check` and `holdco import`
//! use this one.

use crate::model::{Aggregation, Basis, Diagnostic, FactKey, Measure, Metric, Model};
use crate::timeline::Timeline;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault};

/// Facts checked by one task.
const CHUNK_FACTS: usize = 1 << 16;

/// Checks a parsed model. Returns the replayed timeline and every problem, in file order:
/// exactly what [`crate::validate::validate`] returns.
pub fn validate(model: &Model) -> (Timeline<'_>, Vec<Diagnostic>) {
    let (timeline, mut problems) = Timeline::replay(&model.group, &model.metrics, &model.timeline);
    let calendar = model.group.calendar();
    let mut metrics: FxHashMap<&str, &Metric> = FxHashMap::default();
    for metric in &model.metrics {
        metrics.entry(metric.id.as_str()).or_insert(metric);
    }
    let rate_currencies: FxHashSet<&str> = model.fx.iter().map(|r| r.currency.as_str()).collect();
    let defined_metrics = || model.metrics.iter().map(|m| m.id.as_str()).collect::<Vec<_>>().join(", ");
    let timeline_ref = &timeline;
    // Per-fact problems, tagged with the fact's index, chunk by chunk in order.
    let per_fact: Vec<Vec<(usize, Diagnostic)>> = model
        .facts
        .par_chunks(CHUNK_FACTS)
        .enumerate()
        .map(|(chunk, facts)| {
            let mut found = Vec::new();
            for (offset, fact) in facts.iter().enumerate() {
                let index = chunk * CHUNK_FACTS + offset;
                let mut at = |field: &str, message: String| found.push((index, Diagnostic::at(&fact.origin, Some(field), message)));
                let key = &fact.key;
                match metrics.get(key.metric.as_str()) {
                    None => at("metric", format!("unknown metric `{}` (defined metrics: {})", key.metric, defined_metrics())),
                    Some(m) if matches!(m.aggregation, Aggregation::Ratio { .. }) => {
                        at("metric", format!("`{}` is a ratio, computed from its numerator and denominator; record those instead", key.metric))
                    }
                    Some(m) => {
                        if m.measure != Measure::Currency && fact.currency.is_some() {
                            at("currency", format!("`{}` is not a currency metric; leave currency empty", key.metric));
                        }
                        if m.aggregation == Aggregation::NonAdditive && key.counterparty.is_some() {
                            at("counterparty", "a non-additive metric can't be eliminated; leave counterparty empty".into());
                        }
                    }
                }
                if let Some(currency) = &fact.currency {
                    if currency != &model.group.currency && !rate_currencies.contains(currency.as_str()) {
                        at("currency", format!("no FX rates for {currency} in fx.csv (needed to translate into {})", model.group.currency));
                    }
                }
                match timeline_ref.unit(&key.unit) {
                    None => at("unit", format!("unknown unit `{}` (create it in timeline.toml)", key.unit)),
                    Some(unit) => {
                        let record = timeline_ref.record(unit);
                        match key.basis {
                            Basis::Restated { structure } => {
                                if !record.alive_on(structure) {
                                    at("structure", format!("unit `{}` does not exist on {structure}, the structure this restated figure was published under", key.unit));
                                }
                            }
                            _ => {
                                let first = key.period.first_day();
                                let last = key.period.last_day();
                                let ended_before = record.ended.is_some_and(|(end, _)| end <= first);
                                if record.created > last || ended_before {
                                    let life = match record.ended {
                                        Some((end, _)) => format!("from {} until {end}", record.created),
                                        None => format!("from {}", record.created),
                                    };
                                    at("period", format!("{} lies outside the life of unit `{}` (it exists {life})", key.period.label(calendar), key.unit));
                                }
                            }
                        }
                    }
                }
                if let Some(counterparty) = &key.counterparty {
                    if counterparty == &key.unit {
                        at("counterparty", "a unit can't be its own counterparty".into());
                    } else {
                        match timeline_ref.unit(counterparty) {
                            None => at("counterparty", format!("unknown unit `{counterparty}`")),
                            Some(unit) => {
                                let record = timeline_ref.record(unit);
                                if record.created > key.period.last_day() || record.ended.is_some_and(|(end, _)| end <= key.period.first_day()) {
                                    at("counterparty", format!("counterparty `{counterparty}` is not in the group during {}", key.period.label(calendar)));
                                }
                            }
                        }
                    }
                }
            }
            found
        })
        .collect();
    let duplicates = duplicate_problems(model);
    // Merge by fact index; a fact's duplicate problem comes after its other problems.
    let mut duplicates = duplicates.into_iter().peekable();
    for (index, problem) in per_fact.into_iter().flatten() {
        while duplicates.peek().is_some_and(|(d, _)| *d < index) {
            problems.push(duplicates.next().expect("peeked").1);
        }
        problems.push(problem);
    }
    problems.extend(duplicates.map(|(_, problem)| problem));
    let mut rates = HashMap::new();
    for rate in &model.fx {
        if rate.currency == model.group.currency {
            problems.push(Diagnostic::at(&rate.origin, Some("currency"), format!("{} is the reporting currency; it needs no rate", rate.currency)));
        }
        if let Some(first) = rates.insert((rate.currency.clone(), rate.period), &rate.origin) {
            problems.push(Diagnostic::at(&rate.origin, Some("period"), format!("duplicate rate for {} {} (first at {first})", rate.currency, rate.period.label(calendar))));
        }
    }
    (timeline, problems)
}

/// Every fact whose key an earlier fact already has, with its problem, in fact order.
///
/// Keys are hashed once in parallel, then split into shards by hash so that each shard's
/// table is built on its own thread; within a shard facts are met in file order, so the first
/// of two equal keys is the one reported against.
fn duplicate_problems(model: &Model) -> Vec<(usize, Diagnostic)> {
    type Hasher = BuildHasherDefault<rustc_hash::FxHasher>;
    let hasher = Hasher::default();
    let hashes: Vec<u64> = model.facts.par_iter().map(|fact| hasher.hash_one(&fact.key)).collect();
    let shards = (rayon::current_num_threads() * 4).max(1) as u64;
    let mut found: Vec<(usize, Diagnostic)> = (0..shards)
        .into_par_iter()
        .flat_map_iter(|shard| {
            let mut seen: FxHashMap<&FactKey, usize> = FxHashMap::default();
            seen.reserve(model.facts.len() / shards as usize + 16);
            let mut found = Vec::new();
            for (index, hash) in hashes.iter().enumerate() {
                if (hash >> 32) % shards != shard {
                    continue;
                }
                let fact = &model.facts[index];
                // Like the one-table check, a repeated key is reported against the latest
                // fact before it with that key.
                if let Some(first) = seen.insert(&fact.key, index) {
                    let first = &model.facts[first].origin;
                    found.push((
                        index,
                        Diagnostic::at(&fact.origin, Some("unit"), format!("duplicate fact: same unit, period, metric, counterparty and basis as {first}")),
                    ));
                }
            }
            found
        })
        .collect();
    found.sort_unstable_by_key(|(index, _)| *index);
    found
}

#[cfg(test)]
mod tests {
    use crate::format::read_model;
    use crate::format::ModelFiles;

    fn files(facts: &str) -> ModelFiles {
        let mut files = ModelFiles::new();
        files.insert(
            "group.toml".into(),
            br#"[group]
id = "g"
name = "G"
currency = "CNY"
fiscal_year_end = "03-31"

[[metric]]
id = "revenue"
name = "Revenue"
measure = "currency"
aggregation = "flow"

[[metric]]
id = "dau"
name = "Daily active users"
measure = "users"
aggregation = "non_additive"

[[metric]]
id = "margin"
name = "Margin"
measure = "percent"
aggregation = "ratio"
numerator = "revenue"
denominator = "revenue"
"#
            .to_vec(),
        );
        files.insert(
            "timeline.toml".into(),
            br#"[[change]]
date = 2020-01-01
kind = "create"
unit = "g"
name = "G"
unit_kind = "group"

[[change]]
date = 2020-01-01
kind = "create"
unit = "a"
name = "A"
parent = "g"
"#
            .to_vec(),
        );
        files.insert("facts.csv".into(), facts.as_bytes().to_vec());
        files
    }

    #[test]
    fn finds_what_the_one_table_check_finds_in_the_same_order() {
        let facts = "unit,period,metric,value,currency,counterparty\n\
            a,FY2021,revenue,1,,\n\
            a,FY2021,revenue,2,,\n\
            b,FY2021,revenue,1,,\n\
            a,FY2019,revenue,1,EUR,\n\
            a,FY2021,margin,1,,\n\
            a,FY2021,nothing,1,,a\n\
            a,FY2021,revenue,3,,\n\
            a,FY2022,dau,1,,g\n\
            a,FY2022,revenue,1,USD,a\n\
            a,FY2022,revenue,1,,z\n";
        let (model, problems) = read_model(&files(facts));
        assert!(problems.is_empty(), "{problems:?}");
        let model = model.expect("a model");
        let (_, expected) = crate::validate::validate(&model);
        let (_, found) = super::validate(&model);
        assert!(expected.len() >= 6, "{expected:?}");
        assert_eq!(found, expected);
    }
}
