//! Replaying the timeline: every unit's life, names, parents and stakes over time, and the
//! structure on any date.
//!
//! Replay is a pure fold over the changes in date order (same-date changes in file order).
//! A change that does not fit the structure of its date is reported and skipped, so one
//! replay finds every problem.

use crate::ids::{MetricId, UnitId};
use crate::model::{Change, ChangeKind, Consolidation, Diagnostic, Group, Metric, SplitPart};
use chrono::{Datelike, NaiveDate};
use rustc_hash::FxHashMap as HashMap;

/// Index of a unit in [`Timeline::units`].
pub type UnitIndex = u32;

/// Why a unit's own history stops or is shared out.
#[derive(Debug, Clone, PartialEq)]
pub enum HistoryEvent {
    /// History flows to another unit with weight 1 (merge).
    MergedInto(UnitIndex),
    /// History is shared among parts by per-metric shares (the unit may be one of them).
    Split(Vec<(UnitIndex, SplitPart)>),
    /// The unit left the group (sold); its history is discontinued.
    Divested,
    /// The unit stopped; its history is discontinued.
    Closed,
    /// Left together with an ancestor that was divested or closed.
    LeftWith(UnitIndex),
}

/// A dated event in a unit's history, with the position of its change in replay order.
#[derive(Debug, Clone)]
pub struct DatedEvent {
    /// Effective date.
    pub date: NaiveDate,
    /// Position of the change in [`Timeline::changes`].
    pub seq: usize,
    /// What happened.
    pub event: HistoryEvent,
}

/// Everything the timeline says about one unit.
#[derive(Debug, Clone)]
pub struct UnitRecord {
    /// Stable id.
    pub id: UnitId,
    /// Kind given at creation.
    pub kind: String,
    /// Date it came into being.
    pub created: NaiveDate,
    /// Position of its creating change.
    pub created_seq: usize,
    /// True when acquired from outside.
    pub acquired: bool,
    /// Date (and change) it ended, if it did.
    pub ended: Option<(NaiveDate, usize)>,
    /// Display names over time.
    pub names: Vec<(NaiveDate, String)>,
    /// Parents over time (None only for the root).
    pub parents: Vec<(NaiveDate, Option<UnitIndex>)>,
    /// Ownership share relative to the parent, and consolidation, over time.
    pub stakes: Vec<(NaiveDate, f64, Consolidation)>,
    /// Splits, merges and ends that move its history elsewhere.
    pub events: Vec<DatedEvent>,
}

fn at_date<T: Clone>(history: &[(NaiveDate, T)], date: NaiveDate) -> Option<T> {
    history
        .iter()
        .rev()
        .find(|(d, _)| *d <= date)
        .map(|(_, v)| v.clone())
}

impl UnitRecord {
    /// True when the unit exists on `date`.
    pub fn alive_on(&self, date: NaiveDate) -> bool {
        self.created <= date && self.ended.is_none_or(|(end, _)| date < end)
    }
    /// Its name on `date` (the first name before it was created).
    pub fn name_on(&self, date: NaiveDate) -> &str {
        self.names
            .iter()
            .rev()
            .find(|(d, _)| *d <= date)
            .or(self.names.first())
            .map(|(_, n)| n.as_str())
            .unwrap_or("")
    }
    /// The latest name it had.
    pub fn last_name(&self) -> &str {
        self.names.last().map(|(_, n)| n.as_str()).unwrap_or("")
    }
    /// Its parent on `date`.
    pub fn parent_on(&self, date: NaiveDate) -> Option<UnitIndex> {
        at_date(&self.parents, date).flatten()
    }
    /// Its stake on `date`: share relative to the parent and consolidation.
    pub fn stake_on(&self, date: NaiveDate) -> (f64, Consolidation) {
        self.stakes
            .iter()
            .rev()
            .find(|(d, _, _)| *d <= date)
            .map(|(_, s, c)| (*s, *c))
            .unwrap_or((1.0, Consolidation::Full))
    }
    /// The last day it existed (or `date` itself if it is still alive then).
    pub fn last_day_until(&self, date: NaiveDate) -> NaiveDate {
        match self.ended {
            Some((end, _)) if end <= date => end.pred_opt().unwrap_or(end),
            _ => date,
        }
    }
}

/// A replayed timeline.
#[derive(Debug, Clone)]
pub struct Timeline<'a> {
    /// The changes in replay order (valid ones only), borrowed from the model.
    pub changes: Vec<&'a Change>,
    /// Every unit that ever existed.
    pub units: Vec<UnitRecord>,
    /// Unit id to index.
    pub index: HashMap<UnitId, UnitIndex>,
    /// The root unit (the group).
    pub root: UnitIndex,
    /// Replay state: the children of each unit after the last change applied.
    current_children: Vec<Vec<UnitIndex>>,
    /// Position of each unit in its parent's `current_children` (O(1) removal).
    child_pos: Vec<u32>,
    /// Every parent assignment and end, in date order: (day, unit, parent or a marker).
    steps: Vec<(i32, UnitIndex, u32)>,
    /// The parent of every unit after the first `n` steps, every [`SNAPSHOT_EVERY`] steps.
    snapshots: Vec<(usize, Vec<u32>)>,
    /// Walks up the tree that skip units with nothing to say (see [`Jumps`]).
    jumps: Jumps,
    /// Whether some unit's stake ever stops counting ([`Timeline::ever_unconsolidated`]).
    unconsolidated: std::sync::OnceLock<bool>,
}

/// What a walk up the tree looks for: a stake that is not a plain 100% (ownership), or a
/// unit no longer consolidated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Seek {
    /// The first unit at or above whose stake on the date is not 100% counted in full.
    PartialStake,
    /// The first unit at or above whose stake on the date does not count (spun off, equity,
    /// fair value).
    NotConsolidated,
}

/// Memo of walks up the tree (issue 16 item 6): for a [`Seek`], unit and date, the first unit
/// at or above it that the walk stops at (`None`: none up to the root). Every unit a walk
/// passes is remembered, so walking from each unit of a chain 100,000 levels deep costs a
/// step per unit in all, not one per level. Results are exactly those of walking every level:
/// the units skipped multiply by 1.0. Behind a mutex so the timeline stays shareable.
#[derive(Debug, Default)]
struct Jumps(std::sync::Mutex<HashMap<(Seek, UnitIndex, NaiveDate), Option<UnitIndex>>>);

impl Clone for Jumps {
    fn clone(&self) -> Self {
        Jumps::default()
    }
}

/// Steps between two stored structures: a query applies at most this many.
const SNAPSHOT_EVERY: usize = 16_384;
/// Steps between two stored structures for a timeline of `units` units: at least
/// [`SNAPSHOT_EVERY`], and never fewer than the units (so the stored structures hold at most
/// as many entries as the steps themselves).
fn snapshot_interval(units: usize) -> usize {
    SNAPSHOT_EVERY.max(units)
}

/// Parent marker: the unit is the root.
const IS_ROOT: u32 = u32::MAX;
/// Parent marker: the unit does not exist (yet, or any more).
const ABSENT: u32 = u32::MAX - 1;

/// The tree of units in force on one date.
#[derive(Debug, Clone)]
pub struct Structure {
    /// The date.
    pub date: NaiveDate,
    /// Per unit index: parent in this structure (None for the root and units not alive).
    pub parent: Vec<Option<UnitIndex>>,
    /// Per unit index: whether it exists on the date.
    pub alive: Vec<bool>,
    /// Per unit index: children in this structure, in creation order.
    pub children: Vec<Vec<UnitIndex>>,
    /// Per unit index: depth below the root (root = 0).
    pub depth: Vec<u32>,
    /// Per unit index: Euler-tour entry and exit, for O(1) subtree tests.
    enter: Vec<u32>,
    exit: Vec<u32>,
    /// The root.
    pub root: UnitIndex,
}

impl Structure {
    /// True when `unit` is `node` or below it.
    pub fn in_subtree(&self, unit: UnitIndex, node: UnitIndex) -> bool {
        let (u, n) = (unit as usize, node as usize);
        self.alive[u]
            && self.alive[n]
            && self.enter[n] <= self.enter[u]
            && self.exit[u] <= self.exit[n]
    }
    /// `unit` and its ancestors up to the root.
    ///
    /// Lazy: a caller that stops at the first match walks only up to it, so finding the
    /// nearest unit above on a chain 100,000 levels deep is not quadratic (issue 16 item 6).
    pub fn ancestors(&self, unit: UnitIndex) -> impl Iterator<Item = UnitIndex> + '_ {
        std::iter::successors(Some(unit), move |current| self.parent[*current as usize])
    }
    /// Nodes of the subtree of `node` down to `depth` levels below it, in tree order.
    pub fn descendants(&self, node: UnitIndex, depth: u32) -> Vec<(UnitIndex, u32)> {
        let mut out = Vec::new();
        let mut stack = vec![(node, 0u32)];
        while let Some((unit, level)) = stack.pop() {
            out.push((unit, level));
            if level < depth {
                for child in self.children[unit as usize].iter().rev() {
                    stack.push((*child, level + 1));
                }
            }
        }
        out
    }
}

/// A replay problem: the change's origin and message.
fn problem(change: &Change, field: &str, message: impl Into<String>) -> Diagnostic {
    Diagnostic::at(&change.origin, Some(field), message)
}

impl<'a> Timeline<'a> {
    /// Replays the changes of a group. Returns the timeline of every change that fitted and
    /// a diagnostic for each that did not.
    pub fn replay(
        group: &Group,
        metrics: &[Metric],
        changes: &'a [Change],
    ) -> (Timeline<'a>, Vec<Diagnostic>) {
        let mut ordered: Vec<&'a Change> = changes.iter().collect();
        ordered.sort_by_key(|c| c.date);
        let mut problems = Vec::new();
        let mut timeline = Timeline {
            changes: Vec::new(),
            units: Vec::new(),
            index: HashMap::default(),
            root: 0,
            current_children: Vec::new(),
            child_pos: Vec::new(),
            steps: Vec::new(),
            snapshots: Vec::new(),
            jumps: Jumps::default(),
            unconsolidated: std::sync::OnceLock::new(),
        };
        let mut have_root = false;
        for change in ordered {
            let seq = timeline.changes.len();
            match timeline.apply(group, metrics, change, seq, have_root) {
                Ok(()) => {
                    if matches!(change.kind, ChangeKind::Create { parent: None, .. }) {
                        have_root = true;
                    }
                    timeline.changes.push(change);
                }
                Err(diagnostic) => problems.push(diagnostic),
            }
        }
        let clock = std::time::Instant::now();
        timeline.index_steps();
        tracing::debug!(
            target: crate::columnar::PROFILE,
            "replay: index steps {:?}",
            clock.elapsed()
        );
        if !have_root {
            problems.push(Diagnostic {
                file: "timeline.toml".into(),
                line: None,
                field: None,
                message: format!("no change creates the group root `{}` (the first change must be kind = \"create\" with unit = \"{}\" and no parent)", group.id, group.id),
            });
        }
        (timeline, problems)
    }

    /// Looks up a unit by id.
    pub fn unit(&self, id: &UnitId) -> Option<UnitIndex> {
        self.index.get(id).copied()
    }

    /// The record of a unit.
    pub fn record(&self, unit: UnitIndex) -> &UnitRecord {
        &self.units[unit as usize]
    }

    fn alive(&self, change: &Change, field: &str, id: &UnitId) -> Result<UnitIndex, Diagnostic> {
        match self.unit(id) {
            None => Err(problem(
                change,
                field,
                format!(
                    "unknown unit `{id}` (no change before {} creates it)",
                    change.date
                ),
            )),
            Some(index) => {
                let record = self.record(index);
                if record.created > change.date {
                    Err(problem(
                        change,
                        field,
                        format!(
                            "unit `{id}` does not exist yet on {} (created {})",
                            change.date, record.created
                        ),
                    ))
                } else if let Some((end, _)) = record.ended {
                    Err(problem(
                        change,
                        field,
                        format!(
                            "unit `{id}` no longer exists on {} (it ended {end})",
                            change.date
                        ),
                    ))
                } else {
                    Ok(index)
                }
            }
        }
    }

    fn is_ancestor_or_self(&self, ancestor: UnitIndex, unit: UnitIndex, _date: NaiveDate) -> bool {
        // Changes are applied in date order, so the latest parent is the parent on the date.
        let mut current = Some(unit);
        while let Some(u) = current {
            if u == ancestor {
                return true;
            }
            current = self.record(u).parents.last().and_then(|(_, p)| *p);
        }
        false
    }

    fn live_children(&self, unit: UnitIndex, _date: NaiveDate) -> Vec<UnitIndex> {
        self.current_children[unit as usize].clone()
    }

    fn set_parent(&mut self, unit: UnitIndex, parent: Option<UnitIndex>, date: NaiveDate) {
        self.detach(unit);
        if let Some(new) = parent {
            self.attach(unit, new);
        }
        self.units[unit as usize].parents.push((date, parent));
    }

    fn attach(&mut self, unit: UnitIndex, parent: UnitIndex) {
        let list = &mut self.current_children[parent as usize];
        self.child_pos[unit as usize] = list.len() as u32;
        list.push(unit);
    }

    fn apply(
        &mut self,
        group: &Group,
        metrics: &[Metric],
        change: &Change,
        seq: usize,
        have_root: bool,
    ) -> Result<(), Diagnostic> {
        let date = change.date;
        match &change.kind {
            ChangeKind::Create {
                unit,
                name,
                parent,
                unit_kind,
                acquired,
                ownership,
            } => {
                if let Some(existing) = self.unit(unit) {
                    return Err(problem(
                        change,
                        "unit",
                        format!(
                            "unit `{unit}` already exists (created {}); ids are never reused",
                            self.record(existing).created
                        ),
                    ));
                }
                let parent_index = match parent {
                    None => {
                        if have_root {
                            return Err(problem(
                                change,
                                "parent",
                                format!(
                                    "missing; only the group root `{}` has no parent",
                                    group.id
                                ),
                            ));
                        }
                        if unit != &group.id {
                            return Err(problem(change, "unit", format!("the first unit created must be the group root `{}` from group.toml", group.id)));
                        }
                        None
                    }
                    Some(parent) => {
                        if !have_root {
                            return Err(problem(
                                change,
                                "unit",
                                format!("the group root `{}` must be created first", group.id),
                            ));
                        }
                        Some(self.alive(change, "parent", parent)?)
                    }
                };
                let index = self.units.len() as UnitIndex;
                if parent_index.is_none() {
                    self.root = index;
                }
                self.units.push(UnitRecord {
                    id: unit.clone(),
                    kind: unit_kind.clone(),
                    created: date,
                    created_seq: seq,
                    acquired: *acquired,
                    ended: None,
                    names: vec![(date, name.clone())],
                    parents: vec![(date, parent_index)],
                    stakes: vec![(
                        date,
                        *ownership,
                        if *ownership > 0.5 {
                            Consolidation::Full
                        } else {
                            Consolidation::Share
                        },
                    )],
                    events: Vec::new(),
                });
                self.index.insert(unit.clone(), index);
                self.current_children.push(Vec::new());
                self.child_pos.push(0);
                if let Some(parent) = parent_index {
                    self.attach(index, parent);
                }
            }
            ChangeKind::Rename { unit, name } => {
                let index = self.alive(change, "unit", unit)?;
                self.units[index as usize].names.push((date, name.clone()));
            }
            ChangeKind::Classify { unit, .. } | ChangeKind::Decision { unit, .. } => {
                // A portfolio decision leaves the structure alone; the unit must exist on
                // the date, and the change is kept so the unit's history shows it.
                self.alive(change, "unit", unit)?;
            }
            ChangeKind::Event { fields, .. } => {
                // A domain event leaves the structure alone; every unit it names must exist
                // on the date (its meaning is the registering domain's, crate::extension).
                for (name, value) in fields {
                    if let crate::model::EventValue::Unit(unit) = value {
                        self.alive(change, name, unit)?;
                    }
                }
            }
            ChangeKind::Move { unit, parent } => {
                let index = self.alive(change, "unit", unit)?;
                let parent_index = self.alive(change, "parent", parent)?;
                if index == self.root {
                    return Err(problem(change, "unit", "the group root can't be moved"));
                }
                if self.is_ancestor_or_self(index, parent_index, date) {
                    return Err(problem(change, "parent", format!("moving `{unit}` under `{parent}` would make a cycle (`{parent}` is `{unit}` or below it)")));
                }
                self.set_parent(index, Some(parent_index), date);
            }
            ChangeKind::Merge { units, into } => {
                let into_index = self.alive(change, "into", into)?;
                let mut merged = Vec::new();
                for unit in units {
                    let index = self.alive(change, "units", unit)?;
                    if index == into_index {
                        return Err(problem(
                            change,
                            "units",
                            format!("`{unit}` can't be merged into itself"),
                        ));
                    }
                    if index == self.root {
                        return Err(problem(
                            change,
                            "units",
                            "the group root can't be merged away",
                        ));
                    }
                    if self.is_ancestor_or_self(index, into_index, date) {
                        return Err(problem(change, "into", format!("`{into}` is below `{unit}`; move it out before merging `{unit}` into it")));
                    }
                    if merged.contains(&index) {
                        return Err(problem(
                            change,
                            "units",
                            format!("`{unit}` is listed twice"),
                        ));
                    }
                    merged.push(index);
                }
                for index in merged {
                    for child in self.live_children(index, date) {
                        self.set_parent(child, Some(into_index), date);
                    }
                    self.detach(index);
                    let record = &mut self.units[index as usize];
                    record.ended = Some((date, seq));
                    record.events.push(DatedEvent {
                        date,
                        seq,
                        event: HistoryEvent::MergedInto(into_index),
                    });
                }
            }
            ChangeKind::Split { unit, parts } => {
                let index = self.alive(change, "unit", unit)?;
                if index == self.root {
                    return Err(problem(change, "unit", "the group root can't be split"));
                }
                let mut resolved = Vec::new();
                for part in parts {
                    let part_index = self.alive(change, "parts", &part.unit)?;
                    if resolved.iter().any(|(i, _)| *i == part_index) {
                        return Err(problem(
                            change,
                            "parts",
                            format!("`{}` is listed twice", part.unit),
                        ));
                    }
                    if part_index != index && self.is_ancestor_or_self(index, part_index, date) {
                        return Err(problem(
                            change,
                            "parts",
                            format!(
                                "`{}` is below `{unit}`; move it out before splitting `{unit}`",
                                part.unit
                            ),
                        ));
                    }
                    for metric in part.shares.per_metric.keys() {
                        if !metrics.iter().any(|m| &m.id == metric) {
                            return Err(problem(
                                change,
                                "parts",
                                format!("unknown metric `{metric}` in shares"),
                            ));
                        }
                    }
                    resolved.push((part_index, part.clone()));
                }
                let survives = resolved.iter().any(|(i, _)| *i == index);
                if !survives {
                    let children = self.live_children(index, date);
                    if !children.is_empty() {
                        let names: Vec<String> = children
                            .iter()
                            .map(|c| format!("`{}`", self.record(*c).id))
                            .collect();
                        return Err(problem(change, "unit", format!("`{unit}` still has units below it ({}); move them before it is split away", names.join(", "))));
                    }
                }
                if !survives {
                    self.detach(index);
                }
                let record = &mut self.units[index as usize];
                if !survives {
                    record.ended = Some((date, seq));
                }
                record.events.push(DatedEvent {
                    date,
                    seq,
                    event: HistoryEvent::Split(resolved),
                });
            }
            ChangeKind::Stake {
                unit,
                share,
                consolidation,
                ..
            } => {
                let index = self.alive(change, "unit", unit)?;
                if index == self.root {
                    return Err(problem(
                        change,
                        "unit",
                        "the group root's stake can't change",
                    ));
                }
                self.units[index as usize]
                    .stakes
                    .push((date, *share, *consolidation));
            }
            ChangeKind::SpinOff {
                unit,
                retained,
                method,
            } if *retained > 0.0 => {
                // The group keeps a stake it no longer consolidates: the unit stays in the tree.
                let index = self.alive(change, "unit", unit)?;
                if index == self.root {
                    return Err(problem(change, "unit", "the group root can't be spun off"));
                }
                self.units[index as usize]
                    .stakes
                    .push((date, *retained, *method));
            }
            ChangeKind::SpinOff { unit, .. }
            | ChangeKind::Divest { unit, .. }
            | ChangeKind::Close { unit } => {
                let index = self.alive(change, "unit", unit)?;
                if index == self.root {
                    return Err(problem(
                        change,
                        "unit",
                        "the group root can't be divested or closed",
                    ));
                }
                let event = if matches!(
                    change.kind,
                    ChangeKind::Divest { .. } | ChangeKind::SpinOff { .. }
                ) {
                    HistoryEvent::Divested
                } else {
                    HistoryEvent::Closed
                };
                let mut stack = vec![index];
                self.detach(index);
                while let Some(current) = stack.pop() {
                    stack.extend(std::mem::take(&mut self.current_children[current as usize]));
                    let record = &mut self.units[current as usize];
                    record.ended = Some((date, seq));
                    let event = if current == index {
                        event.clone()
                    } else {
                        HistoryEvent::LeftWith(index)
                    };
                    record.events.push(DatedEvent { date, seq, event });
                }
            }
        }
        Ok(())
    }

    /// Takes a unit out of its parent's current children (when it moves or ends).
    fn detach(&mut self, unit: UnitIndex) {
        if let Some(parent) = self.units[unit as usize]
            .parents
            .last()
            .and_then(|(_, p)| *p)
        {
            let pos = self.child_pos[unit as usize] as usize;
            let list = &mut self.current_children[parent as usize];
            if list.get(pos) == Some(&unit) {
                list.swap_remove(pos);
                if let Some(moved) = list.get(pos).copied() {
                    self.child_pos[moved as usize] = pos as u32;
                }
            }
        }
    }

    /// Lays out every parent assignment and end in date order, with stored structures every
    /// [`SNAPSHOT_EVERY`] steps, so a structure on any date replays a bounded number of steps.
    fn index_steps(&mut self) {
        let mut steps = Vec::new();
        for (unit, record) in self.units.iter().enumerate() {
            for (date, parent) in &record.parents {
                steps.push((
                    date.num_days_from_ce(),
                    unit as UnitIndex,
                    parent.unwrap_or(IS_ROOT),
                ));
            }
            if let Some((end, _)) = record.ended {
                steps.push((end.num_days_from_ce(), unit as UnitIndex, ABSENT));
            }
        }
        // Stable: a unit's own steps on one day keep their order (the last one wins).
        steps.sort_by_key(|s| s.0);
        let mut state = vec![ABSENT; self.units.len()];
        let mut snapshots = vec![(0, state.clone())];
        // A structure costs a pass over every unit anyway: storing one every `units` steps
        // (not more often) keeps the replay of a query within that cost, and the snapshots
        // within the size of the steps (a million units created one by one stored 61
        // structures of a million parents each before).
        let every = snapshot_interval(self.units.len());
        for (n, (_, unit, parent)) in steps.iter().enumerate() {
            state[*unit as usize] = *parent;
            if (n + 1) % every == 0 {
                snapshots.push((n + 1, state.clone()));
            }
        }
        self.steps = steps;
        self.snapshots = snapshots;
    }

    /// Every unit's parent slot on `date`: `ABSENT`, `IS_ROOT` or the parent's index.
    fn parent_state_on(&self, date: NaiveDate) -> Vec<u32> {
        let n = self.units.len();
        let day = date.num_days_from_ce();
        let applied = self.steps.partition_point(|s| s.0 <= day);
        let snapshot = self
            .snapshots
            .partition_point(|(k, _)| *k <= applied)
            .saturating_sub(1);
        let (from, base) = match self.snapshots.get(snapshot) {
            Some((k, state)) => (*k, state.clone()),
            None => (0, vec![ABSENT; n]),
        };
        let mut state = base;
        state.resize(n, ABSENT);
        for (_, unit, p) in &self.steps[from..applied] {
            state[*unit as usize] = *p;
        }
        state
    }

    /// The units of `node`'s subtree on `date` in tree order (as
    /// [`Structure::descendants`] with no depth limit walks them: children in index order),
    /// each with its depth below `node`. A lean form of [`Timeline::structure_on`] for a
    /// walk over the whole tree: one flat child array, no per-unit lists.
    pub fn tree_order_on(&self, date: NaiveDate, node: UnitIndex) -> Vec<(UnitIndex, u32)> {
        let state = self.parent_state_on(date);
        let n = state.len();
        // Children of each unit, in index order, in one array (counting sort by parent).
        let mut start = vec![0u32; n + 1];
        for &p in &state {
            if p != ABSENT && p != IS_ROOT {
                start[p as usize + 1] += 1;
            }
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut children = vec![0 as UnitIndex; start[n] as usize];
        for (index, &p) in state.iter().enumerate() {
            if p != ABSENT && p != IS_ROOT {
                children[fill[p as usize] as usize] = index as UnitIndex;
                fill[p as usize] += 1;
            }
        }
        let mut out = Vec::new();
        let mut stack = vec![(node, 0u32)];
        while let Some((unit, depth)) = stack.pop() {
            out.push((unit, depth));
            let u = unit as usize;
            for &child in children[start[u] as usize..start[u + 1] as usize]
                .iter()
                .rev()
            {
                stack.push((child, depth + 1));
            }
        }
        out
    }

    /// The structure in force on `date` (every change dated on or before it applied).
    pub fn structure_on(&self, date: NaiveDate) -> Structure {
        let n = self.units.len();
        let state = self.parent_state_on(date);
        let mut parent = vec![None; n];
        let mut alive = vec![false; n];
        let mut children: Vec<Vec<UnitIndex>> = vec![Vec::new(); n];
        for (index, p) in state.iter().enumerate() {
            match *p {
                ABSENT => {}
                IS_ROOT => alive[index] = true,
                p => {
                    alive[index] = true;
                    parent[index] = Some(p);
                }
            }
        }
        for index in 0..n {
            if let Some(p) = parent[index] {
                children[p as usize].push(index as UnitIndex);
            }
        }
        let mut depth = vec![0u32; n];
        let mut enter = vec![0u32; n];
        let mut exit = vec![0u32; n];
        let mut clock = 0u32;
        if alive.get(self.root as usize).copied().unwrap_or(false) {
            // Iterative depth-first walk: (unit, next child position).
            let mut stack: Vec<(UnitIndex, usize)> = vec![(self.root, 0)];
            enter[self.root as usize] = clock;
            clock += 1;
            while let Some((unit, next)) = stack.last_mut() {
                let u = *unit as usize;
                if *next < children[u].len() {
                    let child = children[u][*next];
                    *next += 1;
                    depth[child as usize] = depth[u] + 1;
                    enter[child as usize] = clock;
                    clock += 1;
                    stack.push((child, 0));
                } else {
                    exit[u] = clock;
                    clock += 1;
                    stack.pop();
                }
            }
        }
        Structure {
            date,
            parent,
            alive,
            children,
            depth,
            enter,
            exit,
            root: self.root,
        }
    }

    /// The effective ownership of `unit` on `date`: the factor its figures enter the group
    /// with (1 for full consolidation, the share for share consolidation, 0 outside), and
    /// the group's economic share (product of shares up the tree).
    pub fn ownership_on(&self, unit: UnitIndex, date: NaiveDate) -> (f64, f64) {
        let mut factor = 1.0;
        let mut economic = 1.0;
        // Units with a plain 100% stake multiply by one: skipped (linear on deep chains).
        let mut current = self.seek(Seek::PartialStake, Some(unit), date);
        while let Some(u) = current {
            let record = self.record(u);
            let (share, consolidation) = record.stake_on(date);
            economic *= share;
            match consolidation {
                Consolidation::Full => {}
                Consolidation::Share => factor *= share,
                Consolidation::None | Consolidation::Equity | Consolidation::FairValue => {
                    factor = 0.0
                }
            }
            current = self.seek(Seek::PartialStake, record.parent_on(date), date);
        }
        (factor, economic)
    }

    /// True when some unit's stake, on some date, does not count in the consolidation (spun
    /// off with a retained stake, equity method, fair value); worked out once.
    pub fn ever_unconsolidated(&self) -> bool {
        *self.unconsolidated.get_or_init(|| {
            self.units
                .iter()
                .any(|unit| unit.stakes.iter().any(|(_, _, c)| !c.counts()))
        })
    }

    /// The first unit at or above `start` (on `date`) that `seek` looks for, or `None` up to
    /// the root; remembered for every unit passed on the way ([`Jumps`]).
    pub fn seek(&self, seek: Seek, start: Option<UnitIndex>, date: NaiveDate) -> Option<UnitIndex> {
        let stops = |unit: UnitIndex| {
            let (share, consolidation) = self.record(unit).stake_on(date);
            match seek {
                Seek::PartialStake => {
                    share != 1.0
                        || !matches!(consolidation, Consolidation::Full | Consolidation::Share)
                }
                Seek::NotConsolidated => !consolidation.counts(),
            }
        };
        let mut memo = self
            .jumps
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut passed = Vec::new();
        let mut current = start;
        let found = loop {
            let Some(unit) = current else {
                break None;
            };
            if let Some(known) = memo.get(&(seek, unit, date)) {
                break *known;
            }
            if stops(unit) {
                break Some(unit);
            }
            passed.push(unit);
            current = self.record(unit).parent_on(date);
        };
        for unit in passed {
            memo.insert((seek, unit, date), found);
        }
        found
    }

    /// Share of a split part for a metric.
    pub fn part_share(part: &SplitPart, metric: &MetricId) -> f64 {
        part.shares.for_metric(metric).unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Aggregation, Measure, Origin, Shares};

    #[test]
    fn tree_order_on_walks_the_structure_as_descendants_do() {
        use crate::synth::{Synth, SynthSpec};
        for seed in 0..12 {
            let spec = SynthSpec {
                units: 40 + seed as usize * 7,
                facts: 200,
                changes: 300,
                seed,
                months: Some(12),
                metrics: Some(3),
                ..SynthSpec::default()
            };
            let model = Synth::generate(&spec).into_model();
            let (timeline, _) = Timeline::replay(&model.group, &model.metrics, &model.timeline);
            let first = model.timeline.iter().map(|c| c.date).min().unwrap();
            let last = model.timeline.iter().map(|c| c.date).max().unwrap();
            let span = (last - first).num_days().max(1);
            // Before the first change, on change dates and between them, after the last.
            for k in -1..=21 {
                let date = first + chrono::Days::new(0) + chrono::Duration::days(span * k / 20);
                let structure = timeline.structure_on(date);
                for node in [
                    timeline.root,
                    (seed as UnitIndex * 3) % timeline.units.len() as UnitIndex,
                ] {
                    assert_eq!(
                        timeline.tree_order_on(date, node),
                        structure.descendants(node, u32::MAX),
                        "seed {seed}, {date}, node {node}"
                    );
                }
            }
        }
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }
    fn id(text: &str) -> UnitId {
        UnitId::parse(text).unwrap()
    }
    fn change(on: &str, kind: ChangeKind) -> Change {
        Change {
            id: None,
            date: date(on),
            kind,
            note: None,
            source: None,
            origin: Origin::default(),
        }
    }
    fn create(on: &str, unit: &str, parent: Option<&str>) -> Change {
        change(
            on,
            ChangeKind::Create {
                unit: id(unit),
                name: unit.to_uppercase(),
                parent: parent.map(id),
                unit_kind: "unit".into(),
                acquired: false,
                ownership: 1.0,
            },
        )
    }
    fn group() -> Group {
        Group {
            id: id("g"),
            name: "G".into(),
            currency: crate::Currency::parse("CNY").unwrap(),
            fiscal_year_end: (12, 31),
        }
    }
    fn metrics() -> Vec<Metric> {
        vec![Metric {
            id: MetricId::parse("revenue").unwrap(),
            name: "Revenue".into(),
            measure: Measure::Currency,
            aggregation: Aggregation::Flow,
            scale: None,
            origin: Origin::default(),
        }]
    }

    /// Issue 16 item 6: the stored structures grow with the steps, not with steps × units
    /// (60,000 units under one parent stored four structures of 60,001 parents before; a
    /// million stored 61 of a million). Counted, not timed.
    #[test]
    fn stored_structures_stay_within_the_size_of_the_steps() {
        let mut changes = vec![create("2020-01-01", "g", None)];
        for i in 0..60_000 {
            changes.push(create("2020-01-01", &format!("u{i}"), Some("g")));
        }
        changes.push(change(
            "2020-02-15",
            ChangeKind::Move {
                unit: id("u59999"),
                parent: id("u0"),
            },
        ));
        let (timeline, problems) = Timeline::replay(&group(), &metrics(), &changes);
        assert!(problems.is_empty(), "{problems:?}");
        let stored: usize = timeline.snapshots.iter().map(|(_, s)| s.len()).sum();
        let bound = timeline.steps.len() + 2 * timeline.units.len();
        assert!(stored <= bound, "{stored} parents stored for {bound}");
        // Structures on every side of the stored ones are still right.
        let before = timeline.structure_on(date("2020-01-31"));
        let after = timeline.structure_on(date("2020-03-01"));
        let (u0, last) = (
            timeline.unit(&id("u0")).unwrap(),
            timeline.unit(&id("u59999")).unwrap(),
        );
        assert_eq!(before.parent[last as usize], Some(timeline.root));
        assert_eq!(after.parent[last as usize], Some(u0));
        assert_eq!(after.children[timeline.root as usize].len(), 59_999);
    }

    #[test]
    fn structure_follows_moves_and_merges() {
        let changes = vec![
            create("2020-01-01", "g", None),
            create("2020-01-01", "a", Some("g")),
            create("2020-01-01", "b", Some("g")),
            create("2020-01-01", "a1", Some("a")),
            change(
                "2021-01-01",
                ChangeKind::Move {
                    unit: id("a1"),
                    parent: id("b"),
                },
            ),
            change(
                "2022-01-01",
                ChangeKind::Merge {
                    units: vec![id("b")],
                    into: id("a"),
                },
            ),
        ];
        let (timeline, problems) = Timeline::replay(&group(), &metrics(), &changes);
        assert!(problems.is_empty(), "{problems:?}");
        let a1 = timeline.unit(&id("a1")).unwrap();
        let a = timeline.unit(&id("a")).unwrap();
        let b = timeline.unit(&id("b")).unwrap();
        assert_eq!(
            timeline.structure_on(date("2020-06-01")).parent[a1 as usize],
            Some(a)
        );
        assert_eq!(
            timeline.structure_on(date("2021-06-01")).parent[a1 as usize],
            Some(b)
        );
        let after = timeline.structure_on(date("2022-06-01"));
        assert_eq!(after.parent[a1 as usize], Some(a));
        assert!(!after.alive[b as usize]);
        assert!(after.in_subtree(a1, timeline.root));
    }

    #[test]
    fn invalid_changes_are_reported_not_applied() {
        let changes = vec![
            create("2020-01-01", "g", None),
            create("2020-01-01", "a", Some("g")),
            create("2020-01-01", "a1", Some("a")),
            change(
                "2020-02-01",
                ChangeKind::Move {
                    unit: id("a"),
                    parent: id("a1"),
                },
            ),
            change(
                "2019-02-01",
                ChangeKind::Rename {
                    unit: id("a"),
                    name: "x".into(),
                },
            ),
            change("2020-03-01", ChangeKind::Close { unit: id("zz") }),
            change(
                "2020-04-01",
                ChangeKind::Split {
                    unit: id("a"),
                    parts: vec![SplitPart {
                        unit: id("g"),
                        shares: Shares {
                            default: Some(1.0),
                            ..Default::default()
                        },
                    }],
                },
            ),
        ];
        let (_, problems) = Timeline::replay(&group(), &metrics(), &changes);
        let messages: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
        assert_eq!(problems.len(), 4, "{messages:?}");
        assert!(messages[0].contains("unknown unit `a`"), "{messages:?}");
        assert!(messages[1].contains("cycle"));
        assert!(messages[2].contains("unknown unit `zz`"));
        assert!(messages[3].contains("move them"));
    }
}
