//! Change sets and the audit trail as a store keeps them (issue 12).
//!
//! The store knows change sets only as records: a state, who wrote them and why, the
//! revision they were made on, and a JSON body it never interprets (the `holdco-changeset`
//! crate gives it meaning). What the store guarantees is the part that needs a transaction:
//!
//! - **The revision.** A store's revision is the id of its last import (0 when empty); every
//!   write of the model (an import, an applied change set) is one import, so it adds one.
//! - **Compare and set of a state.** [`crate::Store::transition_changeset`] moves a change set
//!   from one state to another only when it is still in the first, and records who did it.
//! - **Apply.** [`crate::Store::apply`] writes the model, removes retracted facts, checks the
//!   base revision, marks the change set applied and writes its audit entry, all in the one
//!   transaction of the import: a crash leaves all of it or none of it.

use holdco_core::FactKey;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a change set is in its review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangesetState {
    /// Written, not yet sent for review; its author may still withdraw it.
    Draft,
    /// Sent for review.
    Submitted,
    /// Approved by someone other than its author; ready to apply.
    Approved,
    /// Applied to the model (final).
    Applied,
    /// Refused by a reviewer (final).
    Rejected,
    /// Taken back by its author (final).
    Withdrawn,
}

impl ChangesetState {
    /// Every state, in review order.
    pub const ALL: [ChangesetState; 6] = [
        ChangesetState::Draft,
        ChangesetState::Submitted,
        ChangesetState::Approved,
        ChangesetState::Applied,
        ChangesetState::Rejected,
        ChangesetState::Withdrawn,
    ];

    /// The name stored and shown: `draft`, `submitted` ...
    pub fn as_str(self) -> &'static str {
        match self {
            ChangesetState::Draft => "draft",
            ChangesetState::Submitted => "submitted",
            ChangesetState::Approved => "approved",
            ChangesetState::Applied => "applied",
            ChangesetState::Rejected => "rejected",
            ChangesetState::Withdrawn => "withdrawn",
        }
    }

    /// The state with this name, or `None`.
    pub fn parse(text: &str) -> Option<ChangesetState> {
        ChangesetState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
    }

    /// True for the states nothing leaves: applied, rejected, withdrawn.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ChangesetState::Applied | ChangesetState::Rejected | ChangesetState::Withdrawn
        )
    }
}

impl fmt::Display for ChangesetState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change set to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChangeset {
    /// Who wrote it.
    pub author: String,
    /// Why (required, never empty).
    pub message: String,
    /// The store's revision it was made on.
    pub base_revision: i64,
    /// What it is: `patch` (a change set proper), `import` (a folder imported whole) or
    /// `revert` (the inverse of an applied change set).
    pub kind: String,
    /// The content, as JSON the store does not interpret.
    pub body: String,
    /// Units it touches (for scopes and `holdco log --unit`).
    pub units: Vec<String>,
    /// The change set this one reverts, for a revert.
    pub reverts: Option<i64>,
}

/// A recorded change set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangesetRecord {
    /// Its id: 1, 2, 3 ... in the order recorded.
    pub id: i64,
    /// Where it is in its review.
    pub state: ChangesetState,
    /// Who wrote it.
    pub author: String,
    /// Why.
    pub message: String,
    /// The store's revision it was made on.
    pub base_revision: i64,
    /// When it was recorded: seconds since the Unix epoch (UTC).
    pub created_at: i64,
    /// `patch`, `import` or `revert`.
    pub kind: String,
    /// The content (JSON).
    #[serde(skip)]
    pub body: String,
    /// Units it touches.
    pub units: Vec<String>,
    /// The change set it reverts, for a revert.
    pub reverts: Option<i64>,
    /// The revision its apply made, once applied.
    pub applied_revision: Option<i64>,
}

/// One step of a change set's review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransitionRecord {
    /// The change set.
    pub changeset_id: i64,
    /// The state before (`None` when the change set was recorded).
    pub from: Option<ChangesetState>,
    /// The state after.
    pub to: ChangesetState,
    /// Who did it.
    pub actor: String,
    /// When: seconds since the Unix epoch (UTC).
    pub at: i64,
    /// A reviewer's remark (e.g. why it was rejected).
    pub note: Option<String>,
}

/// One entry of the audit trail: an applied change set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// The revision the apply made (the import id).
    pub revision: i64,
    /// The revision it was applied on.
    pub base_revision: i64,
    /// The change set applied.
    pub changeset_id: i64,
    /// Who applied it.
    pub actor: String,
    /// The change set's author.
    pub author: String,
    /// When: seconds since the Unix epoch (UTC).
    pub at: i64,
    /// Why: the change set's message.
    pub message: String,
    /// What changed, as JSON (the `holdco-changeset` crate's `Diff`).
    #[serde(skip)]
    pub diff: String,
    /// Units it touched.
    pub units: Vec<String>,
}

/// Which change set an apply records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyTarget {
    /// A recorded change set, which must be approved.
    Existing(i64),
    /// A change set recorded and applied at once (an import by the local user).
    New(NewChangeset),
}

/// What [`crate::Store::apply`] records besides the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyRecord {
    /// The change set.
    pub target: ApplyTarget,
    /// Who applies it.
    pub actor: String,
    /// The revision the model written was computed on: when the store's revision differs,
    /// the apply fails with [`crate::StoreError::Conflict`] and nothing is written. `None`
    /// applies onto whatever the store holds (an import, which merges by itself).
    pub expected_base: Option<i64>,
    /// Facts to remove (their history goes with them; the audit entry keeps the figures).
    pub retract: Vec<FactKey>,
    /// Also remove every stored fact the model written lacks, by a deletion revision each
    /// (`holdco import --prune`; see [`crate::ImportOptions::prune`]).
    pub prune: bool,
    /// What changed (JSON), for the audit entry.
    pub diff: String,
    /// Units touched, for the audit entry.
    pub units: Vec<String>,
}

/// What an apply did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The change set applied (new for [`ApplyTarget::New`]).
    pub changeset_id: i64,
    /// The revision written.
    pub revision: i64,
    /// The import's counts.
    pub summary: crate::ImportSummary,
}

/// Decodes a JSON list of units stored as text.
pub(crate) fn decode_units(
    table: &'static str,
    text: &str,
) -> Result<Vec<String>, crate::StoreError> {
    crate::merge::decode(table, text)
}

/// Encodes a list of units as JSON text.
pub(crate) fn encode_units(units: &[String]) -> String {
    serde_json::to_string(units).unwrap_or_else(|_| "[]".to_string())
}

/// The state named in a row, or a corrupt-store error.
pub(crate) fn state_of(
    table: &'static str,
    text: &str,
) -> Result<ChangesetState, crate::StoreError> {
    ChangesetState::parse(text).ok_or_else(|| crate::StoreError::Corrupt {
        table,
        detail: format!("unknown change set state `{text}`"),
    })
}
