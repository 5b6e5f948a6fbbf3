//! Validation of a patched model that checks only what the patch can affect, for a base
//! model already known valid (a served snapshot's: `holdco_app::Snapshot` refuses an invalid
//! model). It finds exactly the problems [`crate::validate`] finds on the whole model after,
//! in the same order (a property test holds the two equal on generated patches), without
//! checking again the million facts the patch leaves alone.
//!
//! Why that is enough: core's validation is the timeline replay, one check per fact (its
//! metric, currency against the rates, unit and counterparty against their lives), repeated
//! keys, and the rates on their own. A fact the patch does not write can only get a problem
//! when something it is checked against changes: the life (creation and end) of its unit or
//! counterparty, or whether its currency has rates. A patch never changes the group or the
//! metrics, and the model after has no repeated key when the base had none (a write replaces
//! the fact of its key; a key written twice is refused by [`crate::apply_patch`]). So the
//! facts to check again are the facts written, those of units whose life changed and those
//! in currencies whose rates appeared or disappeared; the timeline and rates are checked
//! whole, as they are small. The strategy and scenario checks run on the whole model after,
//! as `holdco check` runs them (they read the model as a whole, and cost nothing on a model
//! without such documents).

use crate::diff::{Diff, Evaluation};
use chrono::NaiveDate;
use holdco_core::timeline::Timeline;
use holdco_core::{Diagnostic, Fact, FactKey, Model};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Every problem [`crate::validate`] would report for `after`, the model `diff` made from
/// `base`, checking only what the patch can affect. `base` must be valid (core's validation:
/// no problem), as a served snapshot's model is; otherwise use [`crate::validate`].
pub fn validate_changed(base: &Model, after: &Model, diff: &Diff) -> Vec<Diagnostic> {
    validate_parts(
        base,
        after,
        diff,
        |affected| {
            after
                .facts
                .iter()
                .filter(|fact| affected(fact))
                .cloned()
                .collect()
        },
        || std::borrow::Cow::Borrowed(after),
    )
}

/// [`validate_changed`] of a patch evaluated without making the model after
/// ([`Evaluation`]): the facts checked are taken from the base and the diff, and the whole
/// model after is made only when it holds documents (the strategy and scenario checks read
/// the model whole; without documents they find nothing). The same problems, in the same
/// order (the property tests hold the three equal).
pub fn validate_evaluation(base: &Model, evaluation: &Evaluation) -> Vec<Diagnostic> {
    let frame = &evaluation.frame;
    validate_parts(
        base,
        frame,
        &evaluation.diff,
        |affected| evaluation.facts_where(base, affected),
        || {
            if frame.documents.is_empty() {
                std::borrow::Cow::Borrowed(frame)
            } else {
                std::borrow::Cow::Owned(evaluation.model(base))
            }
        },
    )
}

/// The incremental validation: `after` gives the model after's group, metrics, timeline and
/// rates (its facts are not read), `facts` the facts after the predicate accepts (in the
/// model after's order), `whole` the model after for the document checks.
fn validate_parts<'a>(
    base: &Model,
    after: &Model,
    diff: &Diff,
    facts: impl FnOnce(&dyn Fn(&Fact) -> bool) -> Vec<Fact>,
    whole: impl FnOnce() -> std::borrow::Cow<'a, Model>,
) -> Vec<Diagnostic> {
    if base.group != after.group || base.metrics != after.metrics {
        // Not something a patch does; judged whole rather than assumed.
        return crate::validate(&whole());
    }
    // Units whose life (creation, end) differs: their facts' checks may answer otherwise.
    let mut units: HashSet<String> = HashSet::new();
    let timeline_changed = !diff.timeline_added.is_empty() || !diff.timeline_removed.is_empty();
    if timeline_changed {
        let old_timeline = Timeline::replay(&base.group, &base.metrics, &base.timeline).0;
        let new_timeline = Timeline::replay(&after.group, &after.metrics, &after.timeline).0;
        let lives = |timeline: &Timeline<'_>| -> HashMap<String, (NaiveDate, Option<NaiveDate>)> {
            timeline
                .units
                .iter()
                .map(|r| {
                    (
                        r.id.as_str().to_string(),
                        (r.created, r.ended.map(|(end, _)| end)),
                    )
                })
                .collect()
        };
        let old_lives = lives(&old_timeline);
        let new_lives = lives(&new_timeline);
        for id in old_lives.keys().chain(new_lives.keys()) {
            if old_lives.get(id) != new_lives.get(id) {
                units.insert(id.clone());
            }
        }
    }
    // Currencies whose rates appeared or disappeared.
    let rated = |model: &Model| -> BTreeSet<String> {
        model
            .fx
            .iter()
            .map(|rate| rate.currency.as_str().to_string())
            .collect()
    };
    let currencies: BTreeSet<String> = if diff.fx.is_empty() {
        BTreeSet::new()
    } else {
        rated(base)
            .symmetric_difference(&rated(after))
            .cloned()
            .collect()
    };
    // Facts written by the patch, by unit first (a cheap test on each of a million facts).
    let written: HashSet<&FactKey> = diff
        .facts
        .iter()
        .filter(|change| change.after.is_some())
        .map(|change| &change.key)
        .collect();
    let written_units: HashSet<&str> = written.iter().map(|key| key.unit.as_str()).collect();
    let affected = |fact: &Fact| {
        let key = &fact.key;
        (written_units.contains(key.unit.as_str()) && written.contains(key))
            || units.contains(key.unit.as_str())
            || key
                .counterparty
                .as_ref()
                .is_some_and(|c| units.contains(c.as_str()))
            || fact
                .currency
                .as_ref()
                .is_some_and(|c| currencies.contains(c.as_str()))
    };
    // The model after with only those facts, in their order: core's validation of it gives
    // the timeline's problems, those facts' problems in order, and the rates' problems.
    let checked = Model {
        group: after.group.clone(),
        metrics: after.metrics.clone(),
        timeline: after.timeline.clone(),
        facts: facts(&affected),
        fx: after.fx.clone(),
        documents: Default::default(),
    };
    let (_, mut problems) = holdco_core::bulk_validate::validate(&checked);
    if problems.is_empty() {
        let whole = whole();
        problems.extend(holdco_strategy::check(&whole).1);
        problems.extend(holdco_scenario::check(&whole));
    }
    problems
}
