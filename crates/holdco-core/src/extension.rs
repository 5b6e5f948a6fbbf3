//! The extension point of the log: domain crates register the documents they own and the
//! dated event kinds they add to the timeline.
//!
//! Core's own change kinds ([`crate::model::ChangeKind`]) make the structure. Anything else
//! that happens on a date to a group (an appointment, a transfer, a policy decision) is a
//! *domain event*: written in timeline.toml as a `[[change]]` whose `kind` is
//! `NAMESPACE.NAME` (`people.appoint`), kept in the one log ([`ChangeKind::Event`]), so
//! history, scenarios, the store and exports carry it like every other change. A domain
//! crate describes its event kinds ([`EventType`]: fields with types, its own checks, its
//! line in `holdco history`) and its files ([`DocumentType`], kept as raw text in
//! [`Model::documents`]), and registers them once at start-up with [`register`].
//!
//! What core does with a registered event: reads each field with the type the domain gave
//! (every problem with file, line and field), runs the domain's own check of the event,
//! refuses unknown fields, checks that every unit it names exists on its date, stores,
//! exports and replays it (it changes no structure). What the domain does: everything that
//! needs more than one event ([`Domain::check`], run by `holdco check` and `import` on a
//! model valid otherwise), and every query.
//!
//! A program that links only some domains (a core test, a tool) still reads a model with
//! events of a namespace nobody registered: they are kept as they are, typed by their TOML
//! values. A program that registers every domain it knows calls [`declare_complete`]; from
//! then on an event of an unknown namespace is an error. The recipe for a new domain is in
//! docs/ARCHITECTURE.md ("Adding a domain").

use crate::ids::UnitId;
use crate::model::{Change, ChangeKind, Diagnostic, EventValue, Model};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

/// The type of an event field: how core reads and checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Text (an id the domain resolves, a title).
    Text,
    /// A unit id: must exist on the event's date.
    Unit,
    /// A date (YYYY-MM-DD).
    Date,
    /// A finite number.
    Number,
    /// true or false.
    Flag,
}

/// One field of an event kind.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// Field name as written in the timeline.
    pub name: &'static str,
    /// How it is read.
    pub ty: FieldType,
    /// True when the event needs it.
    pub required: bool,
    /// What to write, for messages (`"a person id from people.csv"`).
    pub hint: &'static str,
}

/// The fields of one event, by name.
pub type EventFields = BTreeMap<String, EventValue>;

/// A dated event kind a domain adds to the timeline.
#[derive(Debug, Clone, Copy)]
pub struct EventType {
    /// `NAMESPACE.NAME`, as written in `kind`.
    pub kind: &'static str,
    /// One line for docs and messages.
    pub summary: &'static str,
    /// Its fields besides `id`, `date`, `kind`, `note` and `source`.
    pub fields: &'static [FieldSpec],
    /// Checks of the event on its own (its date and fields, every field read with its type):
    /// each problem as (field, message). Checks that need other files belong in
    /// [`Domain::check`].
    pub check: fn(chrono::NaiveDate, &EventFields) -> Vec<(&'static str, String)>,
    /// Its line in `holdco history UNIT` (the unit whose history is shown).
    pub describe: fn(&EventFields, &UnitId) -> String,
}

/// A file of the model folder a domain owns, kept as raw text in [`Model::documents`].
#[derive(Debug, Clone, Copy)]
pub struct DocumentType {
    /// Its file name at the top of the model folder (`people.csv`; the folder reader lists
    /// only `facts/` and `scenarios/` below the top).
    pub path: &'static str,
    /// One line for docs and messages.
    pub summary: &'static str,
    /// True when it holds personal data (names, birth years): `export --no-personal`
    /// passes it through [`Domain::redact`].
    pub personal: bool,
}

impl DocumentType {
    /// True when `path` (relative, with `/`) is this document.
    pub fn matches(&self, path: &str) -> bool {
        path == self.path
    }
}

/// A domain: its namespace, documents, event kinds and whole-model check.
#[derive(Debug)]
pub struct Domain {
    /// Its name (`governance`).
    pub name: &'static str,
    /// The namespace of its event kinds (`people` for `people.appoint`).
    pub namespace: &'static str,
    /// The files it owns.
    pub documents: &'static [DocumentType],
    /// The event kinds it adds.
    pub events: &'static [EventType],
    /// Every problem of its documents and events against the model (which is valid
    /// otherwise), each with file, line and field.
    pub check: fn(&Model) -> Vec<Diagnostic>,
    /// Removes personal data (names, birth years) from its documents and events, for
    /// `export --no-personal`.
    pub redact: fn(&mut Model),
}

static DOMAINS: RwLock<Vec<&'static Domain>> = RwLock::new(Vec::new());
static COMPLETE: AtomicBool = AtomicBool::new(false);

fn domains_read() -> std::sync::RwLockReadGuard<'static, Vec<&'static Domain>> {
    DOMAINS
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Registers a domain. Registering the same domain again does nothing.
///
/// # Panics
/// When another domain already uses its name or namespace (a programming error, never
/// caused by input).
pub fn register(domain: &'static Domain) {
    let mut domains = DOMAINS.write().unwrap_or_else(|p| p.into_inner());
    if domains.iter().any(|d| std::ptr::eq(*d, domain)) {
        return;
    }
    if let Some(other) = domains
        .iter()
        .find(|d| d.name == domain.name || d.namespace == domain.namespace)
    {
        panic!(
            "domain `{}` (namespace `{}`) clashes with the registered domain `{}` (namespace `{}`)",
            domain.name, domain.namespace, other.name, other.namespace
        );
    }
    for event in domain.events {
        assert!(
            event
                .kind
                .strip_prefix(domain.namespace)
                .is_some_and(|rest| rest.starts_with('.') && rest.len() > 1),
            "event kind `{}` must be `{}.NAME`",
            event.kind,
            domain.namespace
        );
    }
    domains.push(domain);
}

/// Declares that every domain this program knows is registered: from now on an event of
/// a namespace no domain registered is an error instead of being kept as it is.
pub fn declare_complete() {
    COMPLETE.store(true, Ordering::Relaxed);
}

/// True after [`declare_complete`].
pub fn is_complete() -> bool {
    COMPLETE.load(Ordering::Relaxed)
}

/// The registered domains, in registration order.
pub fn domains() -> Vec<&'static Domain> {
    domains_read().clone()
}

/// What the registry knows about an event kind.
#[derive(Debug, Clone, Copy)]
pub enum Lookup {
    /// A registered kind.
    Known(&'static EventType),
    /// The namespace is a registered domain's, the name is not one of its kinds.
    UnknownKind(&'static Domain),
    /// No registered domain has this namespace.
    UnknownNamespace,
}

/// Looks up an event kind (`people.appoint`).
pub fn lookup(kind: &str) -> Lookup {
    let namespace = kind.split_once('.').map(|(n, _)| n).unwrap_or(kind);
    let domains = domains_read();
    let Some(domain) = domains.iter().find(|d| d.namespace == namespace) else {
        return Lookup::UnknownNamespace;
    };
    match domain.events.iter().find(|e| e.kind == kind) {
        Some(event) => Lookup::Known(event),
        None => Lookup::UnknownKind(domain),
    }
}

/// The registered document type of `path`, if any domain owns it.
pub fn document_type(path: &str) -> Option<&'static DocumentType> {
    domains_read()
        .iter()
        .flat_map(|d| d.documents.iter())
        .find(|doc| doc.matches(path))
}

/// Runs every registered domain's check on a model that is valid otherwise.
pub fn check(model: &Model) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for domain in domains() {
        problems.extend((domain.check)(model));
    }
    problems
}

/// Removes personal data through every registered domain ([`Domain::redact`]).
pub fn redact_personal(model: &mut Model) {
    for domain in domains() {
        (domain.redact)(model);
    }
}

/// The line of a domain event in `holdco history` of `unit`: the registered description,
/// or the kind and its fields for a kind no domain registered. None for core's changes.
pub fn describe(change: &Change, unit: &UnitId) -> Option<String> {
    let ChangeKind::Event { event, fields } = &change.kind else {
        return None;
    };
    Some(match lookup(event) {
        Lookup::Known(kind) => (kind.describe)(fields, unit),
        _ => format!(
            "{event}: {}",
            fields
                .iter()
                .map(|(k, v)| format!("{k} = {}", v.as_text()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// Text field `name` of an event (text or unit values), if present.
pub fn text<'a>(fields: &'a EventFields, name: &str) -> Option<&'a str> {
    match fields.get(name)? {
        EventValue::Text(t) => Some(t),
        EventValue::Unit(u) => Some(u.as_str()),
        _ => None,
    }
}

/// Date field `name` of an event, if present (a date, or text holding one).
pub fn date(fields: &EventFields, name: &str) -> Option<chrono::NaiveDate> {
    match fields.get(name)? {
        EventValue::Date(d) => Some(*d),
        EventValue::Text(t) => crate::period::parse_iso_date(t.trim()),
        _ => None,
    }
}

/// Flag field `name` of an event, if present.
pub fn flag(fields: &EventFields, name: &str) -> Option<bool> {
    match fields.get(name)? {
        EventValue::Flag(f) => Some(*f),
        _ => None,
    }
}
