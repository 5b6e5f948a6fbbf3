//! Applying a [`Patch`] to a model, what it changed ([`Diff`], the audit trail's record),
//! and the inverse patch that undoes it (`holdco revert`).

use crate::patch::{Patch, PlacedChange};
use holdco_core::{Change, Currency, Diagnostic, Fact, FactKey, FxRate, Model, Period};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// What an applied change set changed, item by item, with the figures before and after.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    /// Timeline changes added, at their index in the timeline after.
    pub timeline_added: Vec<PlacedChange>,
    /// Timeline changes removed, at their index in the timeline before.
    pub timeline_removed: Vec<PlacedChange>,
    /// Facts added, revised or removed.
    pub facts: Vec<FactChange>,
    /// FX rates added, replaced or removed.
    pub fx: Vec<RateChange>,
    /// Documents written or removed.
    pub documents: Vec<DocumentChange>,
    /// For an import (whose facts are not listed one by one: the store's import log counts
    /// them under the same revision), the folder imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<String>,
}

/// One fact before and after (`None`: absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactChange {
    /// The key.
    pub key: FactKey,
    /// Before.
    pub before: Option<Fact>,
    /// After.
    pub after: Option<Fact>,
}

/// One rate before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateChange {
    /// Currency.
    pub currency: Currency,
    /// Period.
    pub period: Period,
    /// Before.
    pub before: Option<FxRate>,
    /// After.
    pub after: Option<FxRate>,
}

/// One document before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentChange {
    /// Its path in the model folder.
    pub path: String,
    /// Before.
    pub before: Option<String>,
    /// After.
    pub after: Option<String>,
}

impl Diff {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.timeline_added.is_empty()
            && self.timeline_removed.is_empty()
            && self.facts.is_empty()
            && self.fx.is_empty()
            && self.documents.is_empty()
    }

    /// Units it touches: those named by the changes added or removed and by the facts
    /// (unit and counterparty), sorted; `*` when it touches the whole group (rates,
    /// documents, an import).
    pub fn units(&self) -> Vec<String> {
        let mut units = BTreeSet::new();
        for placed in self.timeline_added.iter().chain(&self.timeline_removed) {
            units.extend(
                placed
                    .change
                    .kind
                    .units()
                    .into_iter()
                    .map(|unit| unit.as_str().to_string()),
            );
        }
        for fact in &self.facts {
            units.insert(fact.key.unit.as_str().to_string());
            if let Some(counterparty) = &fact.key.counterparty {
                units.insert(counterparty.as_str().to_string());
            }
        }
        if !self.fx.is_empty() || !self.documents.is_empty() || self.import.is_some() {
            units.insert(GROUP_WIDE.to_string());
        }
        units.into_iter().collect()
    }

    /// The patch that undoes it: applied to the model after, it gives the model before.
    pub fn inverse(&self) -> Patch {
        let mut patch = Patch {
            remove_changes: self.timeline_added.clone(),
            add_changes: self.timeline_removed.clone(),
            ..Patch::default()
        };
        for fact in &self.facts {
            match &fact.before {
                Some(before) => patch.facts.push(before.clone()),
                None => patch.remove_facts.push(fact.key.clone()),
            }
        }
        for rate in &self.fx {
            match &rate.before {
                Some(before) => patch.fx.push(before.clone()),
                None => patch.remove_fx.push((rate.currency.clone(), rate.period)),
            }
        }
        for document in &self.documents {
            match &document.before {
                Some(before) => {
                    patch
                        .documents
                        .insert(document.path.clone(), before.clone());
                }
                None => patch.remove_documents.push(document.path.clone()),
            }
        }
        patch
    }
}

/// The marker in a change set's units for what belongs to the whole group (rates,
/// documents, imports): only a token without scope may touch it.
pub const GROUP_WIDE: &str = "*";

/// Where a problem of applying a patch is reported when the item has no origin of its own.
fn at(origin: &holdco_core::Origin, field: &str, message: String) -> Diagnostic {
    Diagnostic::at(origin, Some(field), message)
}

/// A patch applied to a base model without copying the base's facts: the model after
/// without its facts (`frame`: group, metrics, timeline, rates and documents after) and the
/// diff, which lists every fact written or removed. The facts after are the base's with the
/// diff's put in ([`Evaluation::model`] makes the whole model; [`Evaluation::facts_where`]
/// only the facts a check or a preview reads), so evaluating a change set on a served model
/// of a million facts costs what the change set names, not a copy of the model.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The model after without its facts.
    pub frame: Model,
    /// What changed.
    pub diff: Diff,
    /// For each entry of `diff.facts`, the position of its key in the base's facts (`None`:
    /// a key new to the model).
    positions: Vec<Option<usize>>,
}

impl Evaluation {
    /// The whole model after (what [`apply_patch`] gives): the base's facts with the ones
    /// written replaced or added and the ones removed left out, in canonical order.
    pub fn model(&self, base: &Model) -> Model {
        let mut facts = base.facts.clone();
        let mut drop = BTreeSet::new();
        for (change, position) in self.diff.facts.iter().zip(&self.positions) {
            match (position, &change.after) {
                (Some(i), Some(after)) => facts[*i] = after.clone(),
                (Some(i), None) => {
                    drop.insert(*i);
                }
                (None, Some(after)) => facts.push(after.clone()),
                (None, None) => {}
            }
        }
        if !drop.is_empty() {
            facts = facts
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !drop.contains(i))
                .map(|(_, fact)| fact)
                .collect();
        }
        let mut after = Model {
            facts,
            ..self.frame.clone()
        };
        after.canonicalize();
        after
    }

    /// The facts after that `keep` accepts, in the order of [`Evaluation::model`]'s facts
    /// (by key; the base must hold each key once, as a valid model does), without copying
    /// the others.
    pub fn facts_where(&self, base: &Model, keep: impl Fn(&Fact) -> bool) -> Vec<Fact> {
        let changed: HashSet<usize> = self.positions.iter().flatten().copied().collect();
        let mut facts: Vec<Fact> = base
            .facts
            .iter()
            .enumerate()
            .filter(|(i, fact)| keep(fact) && !changed.contains(i))
            .map(|(_, fact)| fact.clone())
            .chain(
                self.diff
                    .facts
                    .iter()
                    .filter_map(|change| change.after.as_ref())
                    .filter(|fact| keep(fact))
                    .cloned(),
            )
            .collect();
        facts.sort_by(|a, b| a.key.cmp(&b.key));
        facts
    }
}

/// Applies `patch` to `base`: the model after, and what changed. Problems (removing what is
/// not there, the same key written and removed) name the patch's items. The model after is
/// not validated here (see [`crate::validate`]).
pub fn apply_patch(base: &Model, patch: &Patch) -> Result<(Model, Diff), Vec<Diagnostic>> {
    let evaluation = evaluate_patch(base, patch)?;
    let after = evaluation.model(base);
    Ok((after, evaluation.diff))
}

/// [`apply_patch`] without making the model after: its frame and the diff
/// ([`Evaluation`]). Refuses what [`apply_patch`] refuses, with the same problems.
pub fn evaluate_patch(base: &Model, patch: &Patch) -> Result<Evaluation, Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let mut after = Model {
        group: base.group.clone(),
        metrics: base.metrics.clone(),
        timeline: Vec::new(),
        facts: Vec::new(),
        fx: base.fx.clone(),
        documents: base.documents.clone(),
    };
    let mut diff = Diff::default();
    let calendar = base.group.calendar();

    // Timeline: removals first (each the first equal change not yet removed), then additions
    // in order of position, so that the inverse puts removed changes back where they were.
    let mut removed_at = Vec::new();
    let mut taken = vec![false; base.timeline.len()];
    for PlacedChange { position, change } in &patch.remove_changes {
        let at_position = position
            .filter(|&index| index < base.timeline.len() && !taken[index])
            .filter(|&index| &base.timeline[index] == change);
        let found = at_position.or_else(|| {
            base.timeline
                .iter()
                .enumerate()
                .position(|(index, held)| !taken[index] && held == change)
        });
        match found {
            Some(index) => {
                taken[index] = true;
                removed_at.push(index);
            }
            None => problems.push(at(
                &change.origin,
                "change",
                format!(
                    "the change of {} ({}) is not in the timeline; it may have been removed already",
                    change.date,
                    change.kind.name()
                ),
            )),
        }
    }
    removed_at.sort_unstable();
    for index in &removed_at {
        diff.timeline_removed.push(PlacedChange {
            position: Some(*index),
            change: base.timeline[*index].clone(),
        });
    }
    after.timeline = base
        .timeline
        .iter()
        .enumerate()
        .filter(|(index, _)| !taken[*index])
        .map(|(_, change)| change.clone())
        .collect();
    let mut placed: Vec<&PlacedChange> = patch
        .add_changes
        .iter()
        .filter(|placed| placed.position.is_some())
        .collect();
    placed.sort_by_key(|placed| placed.position);
    let mut added_positions = Vec::new();
    for item in placed {
        let position = item.position.unwrap_or(after.timeline.len());
        if position > after.timeline.len() {
            problems.push(at(
                &item.change.origin,
                "position",
                format!(
                    "position {position} is past the end of the timeline ({} changes)",
                    after.timeline.len()
                ),
            ));
            continue;
        }
        after.timeline.insert(position, item.change.clone());
        added_positions.push(position);
    }
    for item in patch.add_changes.iter().filter(|p| p.position.is_none()) {
        added_positions.push(after.timeline.len());
        after.timeline.push(item.change.clone());
    }
    // Positions of the added changes in the final timeline: an insertion at or before an
    // earlier one shifts it.
    let mut finals: Vec<usize> = Vec::new();
    for position in added_positions {
        for earlier in finals.iter_mut() {
            if *earlier >= position {
                *earlier += 1;
            }
        }
        finals.push(position);
    }
    let mut finals_sorted = finals.clone();
    finals_sorted.sort_unstable();
    for position in finals_sorted {
        diff.timeline_added.push(PlacedChange {
            position: Some(position),
            change: after.timeline[position].clone(),
        });
    }

    // Facts: by key. Only the keys the patch names are looked up, so only those are indexed
    // (a cheap test of the unit first: a model holds millions of facts, a patch a few).
    let named: HashSet<&FactKey> = patch
        .facts
        .iter()
        .map(|fact| &fact.key)
        .chain(&patch.remove_facts)
        .collect();
    let named_units: HashSet<&str> = named.iter().map(|key| key.unit.as_str()).collect();
    let index: HashMap<FactKey, usize> = base
        .facts
        .iter()
        .enumerate()
        .filter(|(_, fact)| {
            named_units.contains(fact.key.unit.as_str()) && named.contains(&fact.key)
        })
        .map(|(position, fact)| (fact.key.clone(), position))
        .collect();
    let removing: BTreeSet<&FactKey> = patch.remove_facts.iter().collect();
    let mut written = BTreeSet::new();
    let mut fact_changes: BTreeMap<FactKey, (Option<usize>, FactChange)> = BTreeMap::new();
    for fact in &patch.facts {
        if !written.insert(&fact.key) {
            problems.push(at(
                &fact.origin,
                "period",
                format!(
                    "the fact {} is given twice in the change set",
                    describe(&fact.key, calendar)
                ),
            ));
            continue;
        }
        if removing.contains(&fact.key) {
            problems.push(at(
                &fact.origin,
                "period",
                format!(
                    "the fact {} is both written and removed by the change set",
                    describe(&fact.key, calendar)
                ),
            ));
            continue;
        }
        // Each key is looked up once: a key given twice, or written and removed, is refused
        // above, so only the base's positions are ever found.
        let position = index.get(&fact.key).copied();
        let before = position.map(|i| base.facts[i].clone());
        if before.as_ref().is_some_and(|held| same_fact(held, fact)) {
            continue;
        }
        fact_changes.insert(
            fact.key.clone(),
            (
                position,
                FactChange {
                    key: fact.key.clone(),
                    before,
                    after: Some(fact.clone()),
                },
            ),
        );
    }
    for key in &patch.remove_facts {
        match index.get(key) {
            Some(&i) => {
                fact_changes.insert(
                    key.clone(),
                    (
                        Some(i),
                        FactChange {
                            key: key.clone(),
                            before: Some(base_fact(base, i)),
                            after: None,
                        },
                    ),
                );
            }
            None => problems.push(Diagnostic {
                file: crate::patch::JSON_NAME.to_string() + "#/remove/facts",
                line: None,
                field: None,
                message: format!(
                    "the fact {} is not in the model, so it cannot be removed",
                    describe(key, calendar)
                ),
            }),
        }
    }
    let (positions, changes): (Vec<Option<usize>>, Vec<FactChange>) =
        fact_changes.into_values().unzip();
    diff.facts = changes;

    // Rates: by currency and period.
    let mut rate_changes: BTreeMap<(Currency, Period), RateChange> = BTreeMap::new();
    for rate in &patch.fx {
        let key = (rate.currency.clone(), rate.period);
        if patch.remove_fx.contains(&key) {
            problems.push(at(
                &rate.origin,
                "period",
                format!(
                    "the {} rate for {} is both written and removed by the change set",
                    rate.currency.as_str(),
                    rate.period.label(calendar)
                ),
            ));
            continue;
        }
        let found = after
            .fx
            .iter()
            .position(|held| held.currency == rate.currency && held.period == rate.period);
        let before = found.map(|i| after.fx[i].clone());
        if before.as_ref() == Some(rate) {
            continue;
        }
        match found {
            Some(i) => after.fx[i] = rate.clone(),
            None => after.fx.push(rate.clone()),
        }
        rate_changes.insert(
            key.clone(),
            RateChange {
                currency: key.0,
                period: key.1,
                before,
                after: Some(rate.clone()),
            },
        );
    }
    for (currency, period) in &patch.remove_fx {
        match after
            .fx
            .iter()
            .position(|held| &held.currency == currency && &held.period == period)
        {
            Some(i) => {
                let before = after.fx.remove(i);
                rate_changes.insert(
                    (currency.clone(), *period),
                    RateChange {
                        currency: currency.clone(),
                        period: *period,
                        before: Some(before),
                        after: None,
                    },
                );
            }
            None => problems.push(Diagnostic {
                file: crate::patch::JSON_NAME.to_string() + "#/remove/fx",
                line: None,
                field: None,
                message: format!(
                    "there is no {} rate for {} to remove",
                    currency.as_str(),
                    period.label(calendar)
                ),
            }),
        }
    }
    diff.fx = rate_changes.into_values().collect();

    // Documents.
    for (path, body) in &patch.documents {
        if patch.remove_documents.contains(path) {
            problems.push(Diagnostic {
                file: crate::patch::JSON_NAME.to_string() + "#/documents",
                line: None,
                field: None,
                message: format!("`{path}` is both written and removed by the change set"),
            });
            continue;
        }
        let before = after.documents.insert(path.clone(), body.clone());
        if before.as_ref() != Some(body) {
            diff.documents.push(DocumentChange {
                path: path.clone(),
                before,
                after: Some(body.clone()),
            });
        }
    }
    for path in &patch.remove_documents {
        match after.documents.remove(path) {
            Some(before) => diff.documents.push(DocumentChange {
                path: path.clone(),
                before: Some(before),
                after: None,
            }),
            None => problems.push(Diagnostic {
                file: crate::patch::JSON_NAME.to_string() + "#/remove/documents",
                line: None,
                field: None,
                message: format!("there is no document `{path}` to remove"),
            }),
        }
    }
    diff.documents.sort_by(|a, b| a.path.cmp(&b.path));

    after.canonicalize();
    if problems.is_empty() {
        Ok(Evaluation {
            frame: after,
            diff,
            positions,
        })
    } else {
        Err(problems)
    }
}

fn base_fact(model: &Model, index: usize) -> Fact {
    model.facts[index].clone()
}

/// Equal figure (bit for bit, as the store compares), currency and source.
fn same_fact(a: &Fact, b: &Fact) -> bool {
    a.value.to_bits() == b.value.to_bits() && a.currency == b.currency && a.source == b.source
}

/// A fact key in words: unit, period, metric, and counterparty or basis when given.
pub fn describe(key: &FactKey, calendar: holdco_core::FiscalCalendar) -> String {
    let mut text = format!(
        "{} {} {}",
        key.unit.as_str(),
        key.period.label(calendar),
        key.metric.as_str()
    );
    if let Some(counterparty) = &key.counterparty {
        text.push_str(&format!(" with {}", counterparty.as_str()));
    }
    if key.basis != holdco_core::Basis::Reported {
        text.push_str(&format!(" ({})", key.basis.name()));
    }
    text
}

/// What changed in the timeline, rates and documents between two models (for an import,
/// whose facts are counted, not listed).
pub fn diff_without_facts(before: Option<&Model>, after: &Model) -> Diff {
    let mut diff = Diff::default();
    let empty: Vec<Change> = Vec::new();
    let old = before.map_or(&empty, |model| &model.timeline);
    // Greedy common subsequence: each old change matched to the next equal new one.
    let mut matched_new = vec![false; after.timeline.len()];
    let mut cursor = 0;
    for (index, change) in old.iter().enumerate() {
        match after.timeline[cursor..]
            .iter()
            .position(|candidate| candidate == change)
        {
            Some(offset) => {
                matched_new[cursor + offset] = true;
                cursor += offset + 1;
            }
            None => diff.timeline_removed.push(PlacedChange {
                position: Some(index),
                change: change.clone(),
            }),
        }
    }
    for (index, change) in after.timeline.iter().enumerate() {
        if !matched_new[index] {
            diff.timeline_added.push(PlacedChange {
                position: Some(index),
                change: change.clone(),
            });
        }
    }
    let old_fx: BTreeMap<(Currency, Period), &FxRate> = before
        .map(|model| {
            model
                .fx
                .iter()
                .map(|rate| ((rate.currency.clone(), rate.period), rate))
                .collect()
        })
        .unwrap_or_default();
    let new_fx: BTreeMap<(Currency, Period), &FxRate> = after
        .fx
        .iter()
        .map(|rate| ((rate.currency.clone(), rate.period), rate))
        .collect();
    let keys: BTreeSet<&(Currency, Period)> = old_fx.keys().chain(new_fx.keys()).collect();
    for key in keys {
        let (b, a) = (old_fx.get(key), new_fx.get(key));
        if b != a {
            diff.fx.push(RateChange {
                currency: key.0.clone(),
                period: key.1,
                before: b.map(|rate| (*rate).clone()),
                after: a.map(|rate| (*rate).clone()),
            });
        }
    }
    let empty_documents = BTreeMap::new();
    let old_documents = before.map_or(&empty_documents, |model| &model.documents);
    let paths: BTreeSet<&String> = old_documents.keys().chain(after.documents.keys()).collect();
    for path in paths {
        let (b, a) = (old_documents.get(path), after.documents.get(path));
        if b != a {
            diff.documents.push(DocumentChange {
                path: path.clone(),
                before: b.cloned(),
                after: a.cloned(),
            });
        }
    }
    diff
}
