//! [`MemoryStore`]: a store in plain Rust collections, for fast hermetic tests.

use crate::merge::{self, Latest, Tally};
use crate::{
    store_origin, Applied, ApplyRecord, ApplyTarget, AuditRecord, ChangesetRecord, ChangesetState,
    FactRevision, ImportOptions, ImportRecord, ImportSummary, NewChangeset, Store, StoreError,
    TransitionRecord,
};
use holdco_core::{Change, Currency, Fact, FactKey, FxRate, Group, Metric, Model};
use std::collections::{BTreeMap, HashSet};

/// A store that keeps everything in memory and forgets it when dropped.
///
/// It behaves exactly like the database backends (the same story suite runs against it),
/// which makes it the store of choice for tests of code that only needs a [`Store`].
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    /// Group, metrics, timeline and rates of the last import; `None` before the first.
    current: Option<Current>,
    /// Every revision of every fact key, oldest first; keys in canonical order.
    facts: BTreeMap<FactKey, Vec<Revision>>,
    /// The import log, oldest first.
    imports: Vec<ImportRecord>,
    /// Change sets, by id - 1.
    changesets: Vec<ChangesetRecord>,
    /// Every transition, oldest first.
    transitions: Vec<TransitionRecord>,
    /// The audit trail, oldest first.
    audit: Vec<AuditRecord>,
}

#[derive(Debug, Clone)]
struct Current {
    group: Group,
    metrics: Vec<Metric>,
    timeline: Vec<Change>,
    fx: Vec<FxRate>,
    documents: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct Revision {
    revision: u32,
    value: f64,
    currency: Option<Currency>,
    source: Option<String>,
    note: Option<String>,
    precision: Option<f64>,
    deleted: bool,
    import_id: i64,
}

impl Revision {
    fn latest(&self) -> Latest<'_> {
        Latest {
            revision: self.revision,
            value: self.value,
            currency: self.currency.as_ref().map(Currency::as_str),
            source: self.source.as_deref(),
            note: self.note.as_deref(),
            precision: self.precision,
            deleted: self.deleted,
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn insert_changeset(
        &mut self,
        new: &NewChangeset,
        state: ChangesetState,
        applied_revision: Option<i64>,
    ) -> i64 {
        let id = self.changesets.len() as i64 + 1;
        self.changesets.push(ChangesetRecord {
            id,
            state,
            author: new.author.clone(),
            message: new.message.clone(),
            base_revision: new.base_revision,
            created_at: merge::unix_now(),
            kind: new.kind.clone(),
            body: new.body.clone(),
            units: new.units.clone(),
            reverts: new.reverts,
            applied_revision,
        });
        self.transitions.push(TransitionRecord {
            changeset_id: id,
            from: None,
            to: state,
            actor: new.author.clone(),
            at: merge::unix_now(),
            note: None,
        });
        id
    }

    /// Everything [`Store::apply`] does; on an error the caller restores the store.
    fn apply_unguarded(
        &mut self,
        incoming: &Model,
        label: &str,
        record: &ApplyRecord,
    ) -> Result<Applied, StoreError> {
        let current = self.imports.last().map_or(0, |import| import.id);
        if let Some(expected) = record.expected_base {
            if expected != current {
                return Err(StoreError::Conflict { expected, current });
            }
        }
        let mut summary = self.import_with(
            incoming,
            label,
            ImportOptions {
                prune: record.prune,
            },
        )?;
        // A change set's removed facts: a deletion revision each, as --prune writes.
        if !record.prune {
            for key in &record.retract {
                let Some(revisions) = self.facts.get_mut(key) else {
                    continue;
                };
                let Some(latest) = revisions.last().filter(|latest| !latest.deleted) else {
                    continue;
                };
                let deletion = Revision {
                    revision: latest.revision.saturating_add(1),
                    deleted: true,
                    import_id: summary.import_id,
                    ..latest.clone()
                };
                revisions.push(deletion);
                summary.facts_deleted += 1;
                if let Some(import) = self.imports.last_mut() {
                    import.facts_deleted += 1;
                }
            }
        }
        let changeset_id = match &record.target {
            ApplyTarget::Existing(id) => {
                self.transition_changeset(
                    *id,
                    ChangesetState::Approved,
                    ChangesetState::Applied,
                    &record.actor,
                    None,
                )?;
                self.changesets[*id as usize - 1].applied_revision = Some(summary.import_id);
                *id
            }
            ApplyTarget::New(new) => {
                self.insert_changeset(new, ChangesetState::Applied, Some(summary.import_id))
            }
        };
        let changeset = &self.changesets[changeset_id as usize - 1];
        self.audit.push(AuditRecord {
            revision: summary.import_id,
            base_revision: current,
            changeset_id,
            actor: record.actor.clone(),
            author: changeset.author.clone(),
            at: merge::unix_now(),
            message: changeset.message.clone(),
            diff: record.diff.clone(),
            units: record.units.clone(),
        });
        Ok(Applied {
            changeset_id,
            revision: summary.import_id,
            summary,
        })
    }
}

impl Store for MemoryStore {
    fn load(&self) -> Result<Option<Model>, StoreError> {
        let Some(current) = &self.current else {
            return Ok(None);
        };
        let mut metrics = current.metrics.clone();
        metrics
            .iter_mut()
            .for_each(|metric| metric.origin = store_origin());
        let mut timeline = current.timeline.clone();
        timeline
            .iter_mut()
            .for_each(|change| change.origin = store_origin());
        let mut fx = current.fx.clone();
        fx.iter_mut().for_each(|rate| rate.origin = store_origin());
        let facts = self
            .facts
            .iter()
            .filter_map(|(key, revisions)| {
                let latest = revisions.last().filter(|latest| !latest.deleted)?;
                Some(Fact {
                    key: key.clone(),
                    value: latest.value,
                    currency: latest.currency.clone(),
                    source: latest.source.clone(),
                    note: latest.note.clone(),
                    precision: latest.precision,
                    origin: store_origin(),
                })
            })
            .collect();
        let mut model = Model {
            group: current.group.clone(),
            metrics,
            timeline,
            facts,
            fx,
            documents: current.documents.clone(),
        };
        model.canonicalize();
        Ok(Some(model))
    }

    fn import_with(
        &mut self,
        incoming: &Model,
        label: &str,
        options: ImportOptions,
    ) -> Result<ImportSummary, StoreError> {
        merge::check_and_encode(incoming)?;
        // Decide everything first, so that a refusal leaves the store untouched.
        let mut seen = HashSet::with_capacity(incoming.facts.len());
        let mut outcomes = Vec::with_capacity(incoming.facts.len());
        for fact in &incoming.facts {
            if !seen.insert(&fact.key) {
                let key = merge::describe_key(&fact.key, incoming.group.calendar());
                return Err(StoreError::DuplicateFact { key });
            }
            let latest = self
                .facts
                .get(&fact.key)
                .and_then(|revisions| revisions.last());
            outcomes.push(merge::outcome(latest.map(Revision::latest), fact));
        }

        let import_id = self.imports.last().map_or(1, |record| record.id + 1);
        let mut tally = Tally::default();
        if options.prune {
            for (key, revisions) in self.facts.iter_mut() {
                if seen.contains(key) {
                    continue;
                }
                let Some(latest) = revisions.last().filter(|latest| !latest.deleted) else {
                    continue;
                };
                let deletion = Revision {
                    revision: latest.revision.saturating_add(1),
                    deleted: true,
                    import_id,
                    ..latest.clone()
                };
                revisions.push(deletion);
                tally.deleted += 1;
            }
        }
        for (fact, outcome) in incoming.facts.iter().zip(outcomes) {
            tally.count(outcome);
            let Some(revision) = outcome.revision() else {
                continue;
            };
            self.facts
                .entry(fact.key.clone())
                .or_default()
                .push(Revision {
                    revision,
                    value: fact.value,
                    currency: fact.currency.clone(),
                    source: fact.source.clone(),
                    note: fact.note.clone(),
                    precision: fact.precision,
                    deleted: false,
                    import_id,
                });
        }
        self.current = Some(Current {
            group: incoming.group.clone(),
            metrics: incoming.metrics.clone(),
            timeline: incoming.timeline.clone(),
            fx: incoming.fx.clone(),
            documents: incoming.documents.clone(),
        });
        self.imports.push(ImportRecord {
            id: import_id,
            label: label.to_string(),
            imported_at: merge::unix_now(),
            facts_new: tally.new,
            facts_revised: tally.revised,
            facts_unchanged: tally.unchanged,
            facts_deleted: tally.deleted,
        });
        Ok(tally.summary(import_id, incoming))
    }

    fn fact_history(&self, key: &FactKey) -> Result<Vec<FactRevision>, StoreError> {
        let Some(revisions) = self.facts.get(key) else {
            return Ok(Vec::new());
        };
        revisions
            .iter()
            .map(|revision| {
                let import = self
                    .imports
                    .iter()
                    .find(|record| record.id == revision.import_id)
                    .ok_or_else(|| StoreError::Corrupt {
                        table: "facts",
                        detail: format!("revision refers to unknown import {}", revision.import_id),
                    })?;
                Ok(FactRevision {
                    revision: revision.revision,
                    value: revision.value,
                    currency: revision.currency.clone(),
                    source: revision.source.clone(),
                    note: revision.note.clone(),
                    precision: revision.precision,
                    deleted: revision.deleted,
                    import_id: import.id,
                    import_label: import.label.clone(),
                    imported_at: import.imported_at,
                })
            })
            .collect()
    }

    fn imports(&self) -> Result<Vec<ImportRecord>, StoreError> {
        Ok(self.imports.clone())
    }

    fn holds_revisions(&self) -> Result<bool, StoreError> {
        Ok(self.facts.values().any(|revisions| revisions.len() > 1))
    }

    fn revision(&self) -> Result<i64, StoreError> {
        Ok(self.imports.last().map_or(0, |import| import.id))
    }

    fn apply(
        &mut self,
        incoming: &Model,
        label: &str,
        record: &ApplyRecord,
    ) -> Result<Applied, StoreError> {
        // All or nothing: work on the store and put the copy back on any error.
        let saved = self.clone();
        let result = self.apply_unguarded(incoming, label, record);
        if result.is_err() {
            *self = saved;
        }
        result
    }

    fn create_changeset(&mut self, new: &NewChangeset) -> Result<i64, StoreError> {
        Ok(self.insert_changeset(new, ChangesetState::Draft, None))
    }

    fn changeset(&self, id: i64) -> Result<Option<ChangesetRecord>, StoreError> {
        Ok(usize::try_from(id - 1)
            .ok()
            .and_then(|index| self.changesets.get(index))
            .cloned())
    }

    fn changesets(&self) -> Result<Vec<ChangesetRecord>, StoreError> {
        Ok(self.changesets.clone())
    }

    fn transitions(&self, id: i64) -> Result<Vec<TransitionRecord>, StoreError> {
        Ok(self
            .transitions
            .iter()
            .filter(|transition| transition.changeset_id == id)
            .cloned()
            .collect())
    }

    fn transition_changeset(
        &mut self,
        id: i64,
        from: ChangesetState,
        to: ChangesetState,
        actor: &str,
        note: Option<&str>,
    ) -> Result<(), StoreError> {
        let Some(changeset) = usize::try_from(id - 1)
            .ok()
            .and_then(|index| self.changesets.get_mut(index))
        else {
            return Err(StoreError::NoChangeset { id });
        };
        if changeset.state != from {
            return Err(StoreError::ChangesetState {
                id,
                expected: from,
                found: changeset.state,
            });
        }
        changeset.state = to;
        self.transitions.push(TransitionRecord {
            changeset_id: id,
            from: Some(from),
            to,
            actor: actor.to_string(),
            at: merge::unix_now(),
            note: note.map(str::to_string),
        });
        Ok(())
    }

    fn audit(&self) -> Result<Vec<AuditRecord>, StoreError> {
        Ok(self.audit.clone())
    }
}
