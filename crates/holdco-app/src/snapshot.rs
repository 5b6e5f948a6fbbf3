//! A validated model with its caches, shared by every thread that asks about it.

use chrono::NaiveDate;
use holdco_core::columnar::FactTable;
use holdco_core::rollup::{Engine, QueryError};
use holdco_core::Model;
use std::sync::{Arc, OnceLock};

self_cell::self_cell!(
    /// The model and the engine built over it, kept together (the engine borrows the model).
    struct EngineCell {
        owner: Arc<Model>,
        #[covariant]
        dependent: Engine,
    }
);

/// A model checked once and the caches built over it, for as many questions and threads as
/// ask. A new revision of the model is a new `Snapshot` (swapped whole by the server), so a
/// cache never mixes two revisions.
pub struct Snapshot {
    cell: EngineCell,
    /// The store's revision the model was read at (its latest import), when read from a store.
    revision: Option<i64>,
    /// The columnar fact table of every metric, built on the first roll-up that wants it;
    /// `None` inside when the columnar path cannot hold this model.
    table: OnceLock<Option<Arc<FactTable>>>,
    /// Roll-ups answered on this revision, by question (see [`crate::rollup::rollup`]).
    pub(crate) answers: crate::rollup::Answers,
    /// The people ledger, built on the first question about people (see [`crate::people`]).
    pub(crate) ledger:
        OnceLock<Result<holdco_governance::ledger::Ledger, crate::people::PeopleError>>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("facts", &self.model().facts.len())
            .field("revision", &self.revision)
            .finish()
    }
}

impl Snapshot {
    /// Validates the model and builds its engine; an invalid model is refused with its
    /// problems (`QueryError::InvalidModel`).
    pub fn new(model: Model) -> Result<Snapshot, QueryError> {
        Snapshot::at_revision(Arc::new(model), None)
    }

    /// As [`Snapshot::new`], for a model read from a store at `revision`.
    pub fn at_revision(model: Arc<Model>, revision: Option<i64>) -> Result<Snapshot, QueryError> {
        Snapshot::build(model, revision, |model| Engine::new(model))
    }

    /// As [`Snapshot::at_revision`], for a model its caller has already found valid
    /// (`holdco_changeset::evaluate_valid` on a valid model): the engine is built without
    /// checking every fact again. Refuses nothing; debug builds check the promise.
    pub fn validated(model: Arc<Model>, revision: Option<i64>) -> Result<Snapshot, QueryError> {
        Snapshot::build(model, revision, |model| Ok(Engine::new_validated(model)))
    }

    /// The snapshot of `model`, a valid model this snapshot's model became (a change set
    /// applied by this server), read from the store at `revision`, built from this snapshot's
    /// caches where the change leaves them as they are (semantics C17): when the group,
    /// metrics and timeline are the same and the facts have the same keys at the same
    /// positions (a change set that only revises figures), the columnar table is this one's
    /// with the revised figures put in place ([`FactTable::revised`]) and the engine takes
    /// this one's fact index; otherwise, or when this snapshot has not built them, they are
    /// built again as for [`Snapshot::validated`]. Either way every answer is the one a
    /// snapshot of `model` loaded afresh gives (debug builds compare the table with one
    /// built from the model).
    pub fn successor(
        &self,
        model: Arc<Model>,
        revision: Option<i64>,
    ) -> Result<Snapshot, QueryError> {
        let snapshot = Snapshot::validated(model, revision)?;
        let (old, new) = (self.model(), snapshot.model());
        if old.group != new.group
            || old.metrics != new.metrics
            || old.timeline != new.timeline
            || old.facts.len() != new.facts.len()
        {
            return Ok(snapshot);
        }
        let mut revised = Vec::new();
        for (before, after) in old.facts.iter().zip(&new.facts) {
            if before.key != after.key {
                return Ok(snapshot);
            }
            if before.value.to_bits() != after.value.to_bits() || before.currency != after.currency
            {
                revised.push((before, after));
            }
        }
        snapshot.engine().share_fact_index(self.engine());
        if let Some(Some(table)) = self.table.get() {
            if let Some(table) = table.revised(new, snapshot.engine(), &revised) {
                debug_assert!(
                    FactTable::from_model(new, snapshot.engine()).as_ref() == Ok(&table),
                    "the revised table equals the table built from the model"
                );
                let _ = snapshot.table.set(Some(Arc::new(table)));
            }
        }
        Ok(snapshot)
    }

    /// The snapshot of `model` with the engine `engine` builds on it.
    fn build(
        model: Arc<Model>,
        revision: Option<i64>,
        engine: impl for<'a> FnOnce(&'a Model) -> Result<Engine<'a>, QueryError>,
    ) -> Result<Snapshot, QueryError> {
        // The domains that plug into the log (people and governance events) are known to
        // every front end that reads a model through this layer (registering is idempotent).
        holdco_governance::register();
        let cell = EngineCell::try_new(model, |model| engine(model))?;
        Ok(Snapshot {
            cell,
            revision,
            table: OnceLock::new(),
            answers: Default::default(),
            ledger: OnceLock::new(),
        })
    }

    /// The model.
    pub fn model(&self) -> &Model {
        self.cell.borrow_owner()
    }

    /// The model, shared.
    pub fn shared_model(&self) -> Arc<Model> {
        self.cell.borrow_owner().clone()
    }

    /// The explainable engine over the model (built once; its structures are cached by date).
    pub fn engine(&self) -> &Engine<'_> {
        self.cell.borrow_dependent()
    }

    /// The store revision this model was read at, when it came from a store.
    pub fn revision(&self) -> Option<i64> {
        self.revision
    }

    /// The structure date of a question: the one asked, or the date of the latest change
    /// (the structure "today" as far as the model knows). Every command and endpoint takes
    /// its default here.
    pub fn structure_date(&self, asked: Option<NaiveDate>) -> NaiveDate {
        asked.unwrap_or_else(|| self.engine().latest_structure_date())
    }

    /// True when the columnar table is already made (built by a question, or taken from the
    /// snapshot this one succeeds, [`Snapshot::successor`]).
    pub fn has_fact_table(&self) -> bool {
        matches!(self.table.get(), Some(Some(_)))
    }

    /// The columnar table of every fact, built on first use and kept; `None` when the
    /// columnar path cannot hold this model (the engine answers instead).
    pub fn fact_table(&self) -> Option<&FactTable> {
        self.table
            .get_or_init(|| {
                FactTable::from_model(self.model(), self.engine())
                    .ok()
                    .map(Arc::new)
            })
            .as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::Snapshot;

    #[test]
    fn snapshots_are_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Snapshot>();
        shareable::<std::sync::Arc<Snapshot>>();
    }
}
