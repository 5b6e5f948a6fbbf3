//! holdco-changeset: writes to a shared model go through change sets.
//!
//! A change set is a [`Patch`] (timeline changes, facts, FX rates and documents to add,
//! revise or remove) made on one revision of the store, with an author and a message. It is
//! validated as `holdco check` validates a folder ([`validate`]), previewed ([`preview()`]:
//! the structure and the roll-up cells it changes), reviewed (draft → submitted → approved →
//! applied, or rejected / withdrawn; the approver is never the author) and applied in one
//! transaction that checks the base revision ([`apply`]): if the model moved on, the apply
//! is a [`ChangesetError::Conflict`] naming what changed, and nothing is written. Every
//! applied change set is an entry of the audit trail with its [`Diff`]; [`revert`] makes the
//! inverse change set from it. The rules are in docs/semantics.md ("Change sets").
//!
//! The store persists the records ([`holdco_store::Store`]'s change-set methods); this crate
//! holds every rule, so the CLI and the server behave the same.
#![deny(missing_docs)]

pub mod diff;
pub mod incremental;
pub mod patch;
pub mod preview;

pub use diff::{apply_patch, evaluate_patch, Diff, Evaluation, GROUP_WIDE};
pub use incremental::{validate_changed, validate_evaluation};
pub use patch::{Patch, PlacedChange};
pub use preview::{preview, preview_evaluated, preview_of, Preview};

use chrono::NaiveDate;
use holdco_core::{Diagnostic, Model};
use holdco_store::{
    Applied, ApplyRecord, ApplyTarget, AuditRecord, ChangesetRecord, ChangesetState, NewChangeset,
    Store, StoreError, TransitionRecord,
};
use serde::Serialize;

/// Why a change-set operation was refused. Whatever the variant, nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ChangesetError {
    /// The change set, or the model it would make, has problems (each with file or JSON
    /// pointer, line and field).
    #[error("the change set has {} problem(s); nothing was recorded or changed", .0.len())]
    Invalid(Vec<Diagnostic>),
    /// No message was given.
    #[error("a change set needs a message saying why (--message \"...\")")]
    NoMessage,
    /// The patch changes nothing.
    #[error("the change set changes nothing in the current model")]
    Empty,
    /// The store holds no model yet.
    #[error("the store holds no model yet: import one first with `holdco import DIR`")]
    EmptyStore,
    /// The model changed since the change set's base revision.
    #[error("{}", conflict_message(*expected, *current, since))]
    Conflict {
        /// The base revision of the change set.
        expected: i64,
        /// The store's revision now.
        current: i64,
        /// What was applied since: the audit entries after the base revision.
        since: Vec<AuditRecord>,
    },
    /// The rules of review forbid this person to do it (four eyes, author only).
    #[error("{0}")]
    NotAllowed(String),
    /// The change set is not in a state the step leaves from.
    #[error("{0}")]
    WrongState(String),
    /// The store failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn conflict_message(expected: i64, current: i64, since: &[AuditRecord]) -> String {
    let mut text = format!(
        "conflict: the change set was made on revision {expected}, but the model is at revision {current}; nothing was written. Changed since:"
    );
    for entry in since {
        text.push_str(&format!(
            "\n  revision {}: change set {} by {} — {}{}",
            entry.revision,
            entry.changeset_id,
            entry.actor,
            entry.message,
            if entry.units.is_empty() {
                String::new()
            } else {
                format!(" (units: {})", entry.units.join(", "))
            }
        ));
    }
    text.push_str("\nMake the change set again on the current model (`holdco changeset create`), or revert what changed.");
    text
}

/// Every problem `holdco check` would report for `model` (structure, facts, rates, then the
/// strategy and scenario documents once the rest is valid).
pub fn validate(model: &Model) -> Vec<Diagnostic> {
    let (_, mut problems) = holdco_core::bulk_validate::validate(model);
    if problems.is_empty() {
        problems.extend(holdco_strategy::check(model).1);
        problems.extend(holdco_scenario::check(model));
    }
    problems
}

/// Applies `patch` to `base` and validates the result: the model after and the diff, or
/// every problem.
pub fn evaluate(base: &Model, patch: &Patch) -> Result<(Model, Diff), Vec<Diagnostic>> {
    let (after, diff) = apply_patch(base, patch)?;
    let problems = validate(&after);
    if problems.is_empty() {
        Ok((after, diff))
    } else {
        Err(problems)
    }
}

/// [`evaluate`] on a base model already known valid (a served snapshot's model): the patch
/// applied, and only what it can affect validated ([`validate_changed`]: the same problems
/// as validating the whole model after).
pub fn evaluate_valid(base: &Model, patch: &Patch) -> Result<(Model, Diff), Vec<Diagnostic>> {
    let evaluation = evaluate_valid_frame(base, patch)?;
    Ok((evaluation.model(base), evaluation.diff))
}

/// [`evaluate_valid`] without making the model after ([`Evaluation`]: its frame and the
/// diff): what a proposal, a preview and the store's write need, without copying the base's
/// facts (semantics C17).
pub fn evaluate_valid_frame(base: &Model, patch: &Patch) -> Result<Evaluation, Vec<Diagnostic>> {
    let evaluation = evaluate_patch(base, patch)?;
    let problems = validate_evaluation(base, &evaluation);
    if problems.is_empty() {
        Ok(evaluation)
    } else {
        Err(problems)
    }
}

/// A change set recorded as a draft, with what it would change.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    /// Its id.
    pub id: i64,
    /// The revision it was made on.
    pub base_revision: i64,
    /// What it changes.
    pub diff: Diff,
    /// The structure and roll-up cells it changes.
    pub preview: Preview,
}

/// What a change set is to be made of.
pub struct Proposal<'a> {
    /// The patch.
    pub patch: Patch,
    /// Who writes it.
    pub author: &'a str,
    /// Why.
    pub message: &'a str,
    /// `patch` or `revert`.
    pub kind: &'a str,
    /// The change set it reverts.
    pub reverts: Option<i64>,
}

/// The current model and revision, or [`ChangesetError::EmptyStore`].
pub fn current(store: &dyn Store) -> Result<(Model, i64), ChangesetError> {
    // The revision is read first: a model loaded after a concurrent apply is newer than
    // the revision, so a change set made on it conflicts rather than losing that apply.
    let revision = store.revision()?;
    let model = store.load()?.ok_or(ChangesetError::EmptyStore)?;
    Ok((model, revision))
}

/// Validates a proposal on the store's current model and records it as a draft; refused
/// (nothing recorded) when it has a problem, changes nothing or has no message.
pub fn create(
    store: &mut dyn Store,
    proposal: Proposal<'_>,
    today: NaiveDate,
) -> Result<Created, ChangesetError> {
    if proposal.message.trim().is_empty() {
        return Err(ChangesetError::NoMessage);
    }
    let (base, revision) = current(store)?;
    let (after, diff) = evaluate(&base, &proposal.patch).map_err(ChangesetError::Invalid)?;
    record_draft(store, proposal, revision, diff, |diff| {
        preview_of(&base, &after, diff, today)
    })
}

/// [`create`] on a model the caller holds, already known valid, read from the store at
/// `revision` (a server's snapshot), with the patch already evaluated on it
/// ([`evaluate_valid_frame`]): nothing is loaded or copied, and the preview computes only the
/// cells the change can touch ([`preview_evaluated`]). The draft's base revision is
/// `revision`, so an apply after the store moved on is a conflict, as for a draft made on the
/// store's model.
pub fn create_on(
    store: &mut dyn Store,
    proposal: Proposal<'_>,
    revision: i64,
    base: &Model,
    evaluated: Evaluation,
    today: NaiveDate,
) -> Result<Created, ChangesetError> {
    if proposal.message.trim().is_empty() {
        return Err(ChangesetError::NoMessage);
    }
    let diff = evaluated.diff.clone();
    record_draft(store, proposal, revision, diff, |_| {
        preview_evaluated(base, &evaluated, today)
    })
}

fn record_draft(
    store: &mut dyn Store,
    proposal: Proposal<'_>,
    revision: i64,
    diff: Diff,
    preview: impl FnOnce(&Diff) -> Preview,
) -> Result<Created, ChangesetError> {
    if diff.is_empty() {
        return Err(ChangesetError::Empty);
    }
    let body = serde_json::to_string(&proposal.patch).map_err(|error| StoreError::Unstorable {
        item: "the change set".into(),
        reason: error.to_string(),
    })?;
    let id = store.create_changeset(&NewChangeset {
        author: proposal.author.to_string(),
        message: proposal.message.trim().to_string(),
        base_revision: revision,
        kind: proposal.kind.to_string(),
        body,
        units: diff.units(),
        reverts: proposal.reverts,
    })?;
    let preview = preview(&diff);
    Ok(Created {
        id,
        base_revision: revision,
        diff,
        preview,
    })
}

/// The patch a change set holds.
pub fn patch_of(record: &ChangesetRecord) -> Result<Patch, ChangesetError> {
    if record.kind == "import" {
        return Ok(Patch::default());
    }
    serde_json::from_str(&record.body).map_err(|error| {
        ChangesetError::Store(StoreError::Corrupt {
            table: "changesets",
            detail: format!("change set {}: {error}", record.id),
        })
    })
}

/// The change set with this id, or [`StoreError::NoChangeset`].
pub fn get(store: &dyn Store, id: i64) -> Result<ChangesetRecord, ChangesetError> {
    store
        .changeset(id)?
        .ok_or(ChangesetError::Store(StoreError::NoChangeset { id }))
}

/// A change set with its history and what it changes (or would change).
#[derive(Debug, Clone, Serialize)]
pub struct Shown {
    /// The record.
    pub changeset: ChangesetRecord,
    /// Its review, oldest first.
    pub transitions: Vec<TransitionRecord>,
    /// The store's revision now.
    pub revision: i64,
    /// True when it is not applied and the model moved on since its base revision (an
    /// apply would be a conflict).
    pub stale: bool,
    /// What it changed (applied) or would change on the current model.
    pub diff: Option<Diff>,
    /// The preview on the current model (not for applied change sets).
    pub preview: Option<Preview>,
    /// Problems it has on the current model (empty when valid).
    pub problems: Vec<Diagnostic>,
}

/// Shows a change set: for an applied one, its audit entry's diff; otherwise its
/// evaluation on the current model (validation and preview on `today`'s structure).
pub fn show(store: &dyn Store, id: i64, today: NaiveDate) -> Result<Shown, ChangesetError> {
    show_on(store, id, today, None)
}

/// [`show`], evaluating on `served` (a model the caller holds, known valid, read from the
/// store at the given revision) when the store is still at that revision: nothing is loaded
/// and the preview computes only the cells the change can touch.
pub fn show_on(
    store: &dyn Store,
    id: i64,
    today: NaiveDate,
    served: Option<(&Model, i64)>,
) -> Result<Shown, ChangesetError> {
    let changeset = get(store, id)?;
    let transitions = store.transitions(id)?;
    let revision = store.revision()?;
    let mut shown = Shown {
        stale: changeset.state != ChangesetState::Applied
            && !changeset.state.is_final()
            && changeset.base_revision != revision,
        changeset,
        transitions,
        revision,
        diff: None,
        preview: None,
        problems: Vec::new(),
    };
    if shown.changeset.state == ChangesetState::Applied {
        let entry = store
            .audit()?
            .into_iter()
            .find(|entry| entry.changeset_id == id);
        shown.diff = entry.map(|entry| decode_diff(&entry)).transpose()?;
        return Ok(shown);
    }
    let patch = patch_of(&shown.changeset)?;
    if let Some((base, _)) = served.filter(|(_, at)| *at == shown.revision) {
        match evaluate_valid_frame(base, &patch) {
            Ok(evaluation) => {
                shown.preview = Some(preview_evaluated(base, &evaluation, today));
                shown.diff = Some(evaluation.diff);
            }
            Err(problems) => shown.problems = problems,
        }
        return Ok(shown);
    }
    let (base, _) = current(store)?;
    match evaluate(&base, &patch) {
        Ok((after, diff)) => {
            shown.preview = Some(preview_of(&base, &after, &diff, today));
            shown.diff = Some(diff);
        }
        Err(problems) => shown.problems = problems,
    }
    Ok(shown)
}

/// The diff an audit entry holds.
pub fn decode_diff(entry: &AuditRecord) -> Result<Diff, ChangesetError> {
    serde_json::from_str(&entry.diff).map_err(|error| {
        ChangesetError::Store(StoreError::Corrupt {
            table: "audit_log",
            detail: format!("revision {}: {error}", entry.revision),
        })
    })
}

/// A step of review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Draft → submitted, by the author.
    Submit,
    /// Submitted → approved, by anyone but the author (four eyes).
    Approve,
    /// Submitted or approved → rejected, by anyone but the author.
    Reject,
    /// Draft, submitted or approved → withdrawn, by the author.
    Withdraw,
}

impl Action {
    /// Its name: submit, approve, reject, withdraw.
    pub fn name(self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Withdraw => "withdraw",
        }
    }

    /// The states it leaves from, and the state it goes to.
    pub fn rule(self) -> (&'static [ChangesetState], ChangesetState) {
        use ChangesetState::*;
        match self {
            Action::Submit => (&[Draft], Submitted),
            Action::Approve => (&[Submitted], Approved),
            Action::Reject => (&[Submitted, Approved], Rejected),
            Action::Withdraw => (&[Draft, Submitted, Approved], Withdrawn),
        }
    }

    /// True when only the author may take it; false when the author may not.
    fn by_author(self) -> bool {
        matches!(self, Action::Submit | Action::Withdraw)
    }
}

/// Takes a step of review on change set `id` as `actor`, with an optional note (why it was
/// rejected ...). Refused when the state does not allow it, or by four eyes.
pub fn act(
    store: &mut dyn Store,
    id: i64,
    action: Action,
    actor: &str,
    note: Option<&str>,
) -> Result<ChangesetRecord, ChangesetError> {
    let record = get(store, id)?;
    let (from, to) = action.rule();
    if !from.contains(&record.state) {
        let allowed: Vec<&str> = from.iter().map(|state| state.as_str()).collect();
        return Err(ChangesetError::WrongState(format!(
            "change set {id} is {}: only a change set that is {} can be {}",
            record.state,
            allowed.join(" or "),
            past(action)
        )));
    }
    if action.by_author() && record.author != actor {
        return Err(ChangesetError::NotAllowed(format!(
            "only the author of change set {id} ({}) can {} it",
            record.author,
            action.name()
        )));
    }
    if !action.by_author() && record.author == actor {
        return Err(ChangesetError::NotAllowed(format!(
            "four eyes: {actor} wrote change set {id}, so someone else must {} it",
            action.name()
        )));
    }
    store.transition_changeset(id, record.state, to, actor, note)?;
    get(store, id)
}

fn past(action: Action) -> &'static str {
    match action {
        Action::Submit => "submitted",
        Action::Approve => "approved",
        Action::Reject => "rejected",
        Action::Withdraw => "withdrawn",
    }
}

/// The audit entries after revision `base`.
fn since(store: &dyn Store, base: i64) -> Result<Vec<AuditRecord>, ChangesetError> {
    Ok(store
        .audit()?
        .into_iter()
        .filter(|entry| entry.revision > base)
        .collect())
}

/// Applies an approved change set as `actor` (never its author), in one transaction that
/// checks its base revision: [`ChangesetError::Conflict`] when the model moved on.
pub fn apply(store: &mut dyn Store, id: i64, actor: &str) -> Result<Applied, ChangesetError> {
    let record = applicable(store, id, actor)?;
    let (base, revision) = current(store)?;
    if revision != record.base_revision {
        return Err(ChangesetError::Conflict {
            expected: record.base_revision,
            current: revision,
            since: since(store, record.base_revision)?,
        });
    }
    let patch = patch_of(&record)?;
    let (after, diff) = evaluate(&base, &patch).map_err(ChangesetError::Invalid)?;
    write(store, &record, actor, &after, &diff)
}

/// What [`apply_on`] did: the store's answer, and the model it wrote when it was made from
/// the caller's model (`None`: the caller's model was behind the store's, so the change set
/// was evaluated on the store's model; read the store for the model after).
pub struct AppliedOn {
    /// The revision written and its counts.
    pub applied: Applied,
    /// The whole model after (every fact), valid.
    pub model: Option<Model>,
}

/// [`apply`] on a model the caller holds, already known valid, read from the store at
/// `revision` (a server's snapshot): nothing is loaded when the store is still at that
/// revision; the patch is evaluated on it with [`evaluate_valid`] and the model after is
/// handed back, so the caller can serve it without reading the store. The base revision is
/// checked as [`apply`] checks it, before and inside the store's transaction.
pub fn apply_on(
    store: &mut dyn Store,
    id: i64,
    actor: &str,
    base: &Model,
    revision: i64,
) -> Result<AppliedOn, ChangesetError> {
    let record = applicable(store, id, actor)?;
    let current = store.revision()?;
    if current != record.base_revision {
        return Err(ChangesetError::Conflict {
            expected: record.base_revision,
            current,
            since: since(store, record.base_revision)?,
        });
    }
    if current != revision {
        return Ok(AppliedOn {
            applied: apply(store, id, actor)?,
            model: None,
        });
    }
    let patch = patch_of(&record)?;
    // The store's write needs only the frame and the diff; the whole model after (one copy
    // of the base's facts with the diff's put in) is made once it is written.
    let evaluation = evaluate_valid_frame(base, &patch).map_err(ChangesetError::Invalid)?;
    let applied = write(store, &record, actor, &evaluation.frame, &evaluation.diff)?;
    Ok(AppliedOn {
        applied,
        model: Some(evaluation.model(base)),
    })
}

/// The change set `id` when `actor` may apply it now: approved, and not its author's.
fn applicable(store: &dyn Store, id: i64, actor: &str) -> Result<ChangesetRecord, ChangesetError> {
    let record = get(store, id)?;
    if record.state != ChangesetState::Approved {
        return Err(ChangesetError::WrongState(format!(
            "change set {id} is {}: only an approved change set can be applied (`holdco changeset approve {id}` by someone other than its author)",
            record.state
        )));
    }
    if record.author == actor {
        return Err(ChangesetError::NotAllowed(format!(
            "four eyes: {actor} wrote change set {id}, so someone else must apply it"
        )));
    }
    Ok(record)
}

/// Writes the model after of change set `record` in the store's transaction (base revision
/// checked again there).
fn write(
    store: &mut dyn Store,
    record: &ChangesetRecord,
    actor: &str,
    after: &Model,
    diff: &Diff,
) -> Result<Applied, ChangesetError> {
    let id = record.id;
    let (incoming, retract) = write_set(after, diff);
    let label = format!("change set {id}: {}", record.message);
    // The write set lists every fact the change set touches, so the store looks up only
    // those (semantics C16): the apply costs what changed, not what the store holds.
    let result = store.apply_delta(
        &incoming,
        &label,
        &ApplyRecord {
            target: ApplyTarget::Existing(id),
            actor: actor.to_string(),
            expected_base: Some(record.base_revision),
            retract,
            prune: false,
            diff: encode_diff(diff)?,
            units: diff.units(),
        },
    );
    match result {
        Ok(applied) => Ok(applied),
        Err(StoreError::Conflict { expected, current }) => Err(ChangesetError::Conflict {
            expected,
            current,
            since: since(store, expected)?,
        }),
        Err(error) => Err(error.into()),
    }
}

/// What the store writes for a model after: the model with only the facts the diff writes
/// (the store keeps the others), and the keys it removes.
fn write_set(after: &Model, diff: &Diff) -> (Model, Vec<holdco_core::FactKey>) {
    let after = Model {
        group: after.group.clone(),
        metrics: after.metrics.clone(),
        timeline: after.timeline.clone(),
        facts: diff.facts.iter().filter_map(|c| c.after.clone()).collect(),
        fx: after.fx.clone(),
        documents: after.documents.clone(),
    };
    let retract = diff
        .facts
        .iter()
        .filter(|change| change.after.is_none())
        .map(|change| change.key.clone())
        .collect();
    (after, retract)
}

fn encode_diff(diff: &Diff) -> Result<String, ChangesetError> {
    serde_json::to_string(diff).map_err(|error| {
        ChangesetError::Store(StoreError::Unstorable {
            item: "the change set's diff".into(),
            reason: error.to_string(),
        })
    })
}

/// Makes the inverse of applied change set `id` as a draft by `actor`: applied to the model
/// it made, it gives back the model before (facts it added are removed, revised figures get
/// their former value as a new revision).
pub fn revert(
    store: &mut dyn Store,
    id: i64,
    actor: &str,
    message: Option<&str>,
    today: NaiveDate,
) -> Result<Created, ChangesetError> {
    let record = get(store, id)?;
    if record.state != ChangesetState::Applied {
        return Err(ChangesetError::WrongState(format!(
            "change set {id} is {}: only an applied change set can be reverted",
            record.state
        )));
    }
    if record.kind == "import" {
        return Err(ChangesetError::NotAllowed(format!(
            "change set {id} is an import, whose facts are not listed one by one: re-import the previous folder instead (`holdco log` shows it)"
        )));
    }
    let entry = store
        .audit()?
        .into_iter()
        .find(|entry| entry.changeset_id == id)
        .ok_or_else(|| {
            ChangesetError::Store(StoreError::Corrupt {
                table: "audit_log",
                detail: format!("applied change set {id} has no audit entry"),
            })
        })?;
    let diff = decode_diff(&entry)?;
    let default_message = format!("revert change set {id} ({})", record.message);
    create(
        store,
        Proposal {
            patch: diff.inverse(),
            author: actor,
            message: message.unwrap_or(&default_message),
            kind: "revert",
            reverts: Some(id),
        },
        today,
    )
}

/// The change-set record of an import of `after` (a folder, `label`) onto `before` (the
/// store's model without facts, `None` when empty) by `user`: applied at once, its diff
/// listing the timeline, rates and documents it changes (facts are counted by the store's
/// import log under the same revision).
pub fn import_record(
    before: Option<&Model>,
    after: &Model,
    label: &str,
    user: &str,
    base_revision: i64,
) -> ApplyRecord {
    let mut diff = diff::diff_without_facts(before, after);
    diff.import = Some(label.to_string());
    ApplyRecord {
        target: ApplyTarget::New(NewChangeset {
            author: user.to_string(),
            message: format!("import {label}"),
            base_revision,
            kind: "import".to_string(),
            body: serde_json::json!({ "import": label }).to_string(),
            units: vec![GROUP_WIDE.to_string()],
            reverts: None,
        }),
        actor: user.to_string(),
        expected_base: None,
        retract: Vec::new(),
        prune: false,
        diff: serde_json::to_string(&diff).unwrap_or_else(|_| "{}".to_string()),
        units: vec![GROUP_WIDE.to_string()],
    }
}

/// One line of `holdco log`.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    /// The revision the change set made.
    pub revision: i64,
    /// The revision it was applied on.
    pub base_revision: i64,
    /// The change set.
    pub changeset: i64,
    /// When (UTC, RFC 3339).
    pub at: String,
    /// Who applied it.
    pub applied_by: String,
    /// Who wrote it.
    pub author: String,
    /// Why.
    pub message: String,
    /// Units touched (`*`: the whole group).
    pub units: Vec<String>,
    /// What changed, in a few words.
    pub summary: String,
}

/// The audit trail as `holdco log` shows it: entries touching `unit` (or the whole group),
/// applied on or after `since`, oldest first.
pub fn log(
    store: &dyn Store,
    unit: Option<&str>,
    since: Option<NaiveDate>,
) -> Result<Vec<LogEntry>, ChangesetError> {
    let imports = store.imports()?;
    let mut entries = Vec::new();
    for entry in store.audit()? {
        if let Some(unit) = unit {
            if !entry.units.iter().any(|u| u == unit || u == GROUP_WIDE) {
                continue;
            }
        }
        let at = chrono::DateTime::from_timestamp(entry.at, 0).unwrap_or_default();
        if let Some(since) = since {
            if at.date_naive() < since {
                continue;
            }
        }
        let diff = decode_diff(&entry)?;
        let counts = imports.iter().find(|import| import.id == entry.revision);
        entries.push(LogEntry {
            revision: entry.revision,
            base_revision: entry.base_revision,
            changeset: entry.changeset_id,
            at: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            applied_by: entry.actor.clone(),
            author: entry.author.clone(),
            message: entry.message.clone(),
            units: entry.units.clone(),
            summary: summary(&diff, counts),
        });
    }
    Ok(entries)
}

/// A diff in a few words: `1 change added, 1 fact new, 2 facts revised`.
pub fn summary(diff: &Diff, import: Option<&holdco_store::ImportRecord>) -> String {
    let mut parts = Vec::new();
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    if !diff.timeline_added.is_empty() {
        parts.push(format!(
            "{} added",
            count(diff.timeline_added.len(), "change", "changes")
        ));
    }
    if !diff.timeline_removed.is_empty() {
        parts.push(format!(
            "{} removed",
            count(diff.timeline_removed.len(), "change", "changes")
        ));
    }
    let new = diff.facts.iter().filter(|f| f.before.is_none()).count();
    let removed = diff.facts.iter().filter(|f| f.after.is_none()).count();
    let revised = diff.facts.len() - new - removed;
    match (&diff.import, import) {
        (Some(_), Some(import)) => {
            parts.push(format!(
                "{} new, {} revised",
                count(import.facts_new, "fact", "facts"),
                import.facts_revised
            ));
        }
        _ => {
            if new > 0 {
                parts.push(format!("{} new", count(new, "fact", "facts")));
            }
            if revised > 0 {
                parts.push(format!("{} revised", count(revised, "fact", "facts")));
            }
            if removed > 0 {
                parts.push(format!("{} removed", count(removed, "fact", "facts")));
            }
        }
    }
    if !diff.fx.is_empty() {
        parts.push(count(diff.fx.len(), "rate", "rates"));
    }
    if !diff.documents.is_empty() {
        parts.push(count(diff.documents.len(), "document", "documents"));
    }
    if parts.is_empty() {
        "no change".to_string()
    } else {
        parts.join(", ")
    }
}
