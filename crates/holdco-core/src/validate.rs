//! Whole-model validation: everything that needs more than one file (units named by facts,
//! fact periods against unit lives, duplicate keys, currencies against rates).

use crate::model::{Aggregation, Basis, Diagnostic, Measure, Model};
use crate::timeline::Timeline;
use std::collections::HashMap;

/// Checks a parsed model. Returns the replayed timeline and every problem, in file order.
pub fn validate(model: &Model) -> (Timeline<'_>, Vec<Diagnostic>) {
    let (timeline, mut problems) = Timeline::replay(&model.group, &model.metrics, &model.timeline);
    let calendar = model.group.calendar();
    let mut seen = HashMap::new();
    for fact in &model.facts {
        let at = |field: &str, message: String| Diagnostic::at(&fact.origin, Some(field), message);
        let key = &fact.key;
        let metric = model.metric(&key.metric);
        match metric {
            None => problems.push(at("metric", format!("unknown metric `{}` (defined metrics: {})", key.metric, model.metrics.iter().map(|m| m.id.as_str()).collect::<Vec<_>>().join(", ")))),
            Some(m) if matches!(m.aggregation, Aggregation::Ratio { .. }) => {
                problems.push(at("metric", format!("`{}` is a ratio, computed from its numerator and denominator; record those instead", key.metric)))
            }
            Some(m) => {
                if m.measure != Measure::Currency && fact.currency.is_some() {
                    problems.push(at("currency", format!("`{}` is not a currency metric; leave currency empty", key.metric)));
                }
                if m.aggregation == Aggregation::NonAdditive && key.counterparty.is_some() {
                    problems.push(at("counterparty", "a non-additive metric can't be eliminated; leave counterparty empty".into()));
                }
            }
        }
        if let Some(currency) = &fact.currency {
            if currency != &model.group.currency
                && !model.fx.iter().any(|r| &r.currency == currency)
            {
                problems.push(at(
                    "currency",
                    format!(
                        "no FX rates for {currency} in fx.csv (needed to translate into {})",
                        model.group.currency
                    ),
                ));
            }
        }
        let period_label = key.period.label(calendar);
        match timeline.unit(&key.unit) {
            None => problems.push(at(
                "unit",
                format!("unknown unit `{}` (create it in timeline.toml)", key.unit),
            )),
            Some(index) => {
                let record = timeline.record(index);
                match key.basis {
                    Basis::Restated { structure } | Basis::ProForma { structure } => {
                        if !record.alive_on(structure) {
                            problems.push(at("structure", format!("unit `{}` does not exist on {structure}, the structure this {} figure was published under", key.unit, key.basis.name())));
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
                            problems.push(at("period", format!("{period_label} lies outside the life of unit `{}` (it exists {life})", key.unit)));
                        }
                    }
                }
            }
        }
        if let Some(counterparty) = &key.counterparty {
            if counterparty == &key.unit {
                problems.push(at(
                    "counterparty",
                    "a unit can't be its own counterparty".into(),
                ));
            } else {
                match timeline.unit(counterparty) {
                    None => {
                        problems.push(at("counterparty", format!("unknown unit `{counterparty}`")))
                    }
                    Some(index) => {
                        let record = timeline.record(index);
                        if record.created > key.period.last_day()
                            || record
                                .ended
                                .is_some_and(|(end, _)| end <= key.period.first_day())
                        {
                            problems.push(at("counterparty", format!("counterparty `{counterparty}` is not in the group during {period_label}")));
                        }
                    }
                }
            }
        }
        if let Some(first) = seen.insert(key.clone(), &fact.origin) {
            problems.push(at(
                "unit",
                format!(
                    "duplicate fact: same unit, period, metric, counterparty and basis as {first}"
                ),
            ));
        }
    }
    check_rates(model, &mut problems);
    (timeline, problems)
}

/// FX rates: none for the reporting currency, one per currency and period.
pub(crate) fn check_rates(model: &Model, problems: &mut Vec<Diagnostic>) {
    let calendar = model.group.calendar();
    let mut rates = HashMap::new();
    for rate in &model.fx {
        if rate.currency == model.group.currency {
            problems.push(Diagnostic::at(
                &rate.origin,
                Some("currency"),
                format!(
                    "{} is the reporting currency; it needs no rate",
                    rate.currency
                ),
            ));
        }
        if let Some(first) = rates.insert((rate.currency.clone(), rate.period), &rate.origin) {
            problems.push(Diagnostic::at(
                &rate.origin,
                Some("period"),
                format!(
                    "duplicate rate for {} {} (first at {first})",
                    rate.currency,
                    rate.period.label(calendar)
                ),
            ));
        }
    }
}
