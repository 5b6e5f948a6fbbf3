//! Answers that are not the core's own types, as serde values: the CLI prints them (table,
//! `--json`, `--csv`) and the API returns them, so the two cannot drift apart.

use crate::text::number;
use crate::Snapshot;
use chrono::NaiveDate;
use holdco_core::timeline::UnitIndex;
use holdco_core::timeline_image::TimelineImage;
use holdco_core::{Aggregation, ChangeKind, MetricId, UnitId};
use serde::Serialize;

/// One unit of the structure on a date (a row of `holdco structure`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StructureRow {
    /// Unit id.
    pub unit: String,
    /// Its name on the date.
    pub name: String,
    /// Its kind (`group`, `segment`, `business`...).
    pub kind: String,
    /// Its parent's id (none for the group).
    pub parent: Option<String>,
    /// Levels below the group.
    pub depth: u32,
    /// The group's economic share in it, 0 to 1.
    pub ownership: f64,
    /// How it is consolidated (`full`, `equity`...).
    pub consolidation: String,
}

/// The structure on a date (`holdco structure --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StructureView {
    /// The date.
    pub date: NaiveDate,
    /// The units, each subtree in order below its top.
    pub units: Vec<StructureRow>,
}

/// Why a view cannot be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    /// The group did not exist on the date.
    #[error("the group did not exist on {date} (it was created {created})")]
    BeforeGroup {
        /// The date asked.
        date: NaiveDate,
        /// The group's creation.
        created: NaiveDate,
    },
    /// No such unit.
    #[error("unknown unit `{0}`; `holdco structure` lists the units")]
    UnknownUnit(String),
    /// A unit id that cannot be one.
    #[error("{0}")]
    BadUnit(String),
}

/// The structure on `date` (the latest when `None`) down to `depth` levels below the group,
/// under each of `tops` (the group when empty; tops not alive on the date are left out).
pub fn structure(
    snapshot: &Snapshot,
    date: Option<NaiveDate>,
    depth: Option<u32>,
    tops: &[UnitIndex],
) -> Result<StructureView, ViewError> {
    let engine = snapshot.engine();
    let date = snapshot.structure_date(date);
    let timeline = engine.timeline();
    let structure = engine.structure(date);
    if !structure.alive[timeline.root as usize] {
        return Err(ViewError::BeforeGroup {
            date,
            created: timeline.record(timeline.root).created,
        });
    }
    let max_depth = depth.unwrap_or(u32::MAX);
    let tops: Vec<UnitIndex> = if tops.is_empty() {
        vec![timeline.root]
    } else {
        tops.iter()
            .copied()
            .filter(|t| structure.alive[*t as usize])
            .collect()
    };
    let mut units = Vec::new();
    for top in tops {
        let top_depth = structure.depth[top as usize];
        if top_depth > max_depth {
            continue;
        }
        for (unit, level) in structure.descendants(top, max_depth - top_depth) {
            let record = timeline.record(unit);
            let (share, consolidation) = record.stake_on(date);
            units.push(StructureRow {
                unit: record.id.to_string(),
                name: record.name_on(date).to_string(),
                kind: record.kind.clone(),
                parent: structure.parent[unit as usize].map(|p| timeline.record(p).id.to_string()),
                depth: level + top_depth,
                ownership: share,
                consolidation: consolidation.name().to_string(),
            });
        }
    }
    Ok(StructureView { date, units })
}

/// [`structure`] answered from a store's compiled timeline
/// ([`holdco_store::Store::timeline_image`]) instead of a replayed model: the same rows, field
/// for field (a property test compares the two on generated timelines), with no change read
/// or replayed. `tops` are unit indexes of the image (the timeline's indexes).
pub fn structure_from_image(
    image: &TimelineImage,
    date: Option<NaiveDate>,
    depth: Option<u32>,
    tops: &[UnitIndex],
) -> Result<StructureView, ViewError> {
    let date = date.unwrap_or_else(|| image.latest_structure_date());
    let root = image.root();
    let structure = image.structure_on(date);
    if !structure.alive[root as usize] {
        return Err(ViewError::BeforeGroup {
            date,
            created: image.created(root),
        });
    }
    let max_depth = depth.unwrap_or(u32::MAX);
    let tops: Vec<UnitIndex> = if tops.is_empty() {
        vec![root]
    } else {
        tops.iter()
            .copied()
            .filter(|t| structure.alive.get(*t as usize).copied().unwrap_or(false))
            .collect()
    };
    let mut units = Vec::new();
    for top in tops {
        let top_depth = structure.depth[top as usize];
        if top_depth > max_depth {
            continue;
        }
        for (unit, level) in structure.descendants(top, max_depth - top_depth) {
            let (share, consolidation) = image.stake_on(unit, date);
            units.push(StructureRow {
                unit: image.id(unit).to_string(),
                name: image.name_on(unit, date).to_string(),
                kind: image.kind(unit).to_string(),
                parent: structure.parent[unit as usize].map(|p| image.id(p).to_string()),
                depth: level + top_depth,
                ownership: share,
                consolidation: consolidation.name().to_string(),
            });
        }
    }
    Ok(StructureView { date, units })
}

/// One change of a unit's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryLine {
    /// When.
    pub date: NaiveDate,
    /// What happened, in words.
    pub what: String,
    /// The change's id, when it has one.
    pub change: Option<String>,
    /// The change's source.
    pub source: Option<String>,
}

/// Where a unit's figures land in a later structure.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineageLine {
    /// Metric.
    pub metric: String,
    /// The unit (or discontinued part) they land at.
    pub lands_at: String,
    /// With what weight.
    pub weight: f64,
    /// Through which changes.
    pub path: Vec<String>,
}

/// A unit's history (`holdco history UNIT --json`). Fields in alphabetical order: the JSON
/// the CLI printed before this type existed had its keys sorted.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitHistory {
    /// Its creation.
    pub created: NaiveDate,
    /// Its end, if it ended.
    pub ended: Option<NaiveDate>,
    /// The changes naming it.
    pub history: Vec<HistoryLine>,
    /// Its kind.
    pub kind: String,
    /// Where its figures land.
    pub lineage: Vec<LineageLine>,
    /// The structure date its lineage is traced into.
    pub lineage_into: NaiveDate,
    /// Its last name.
    pub name: String,
    /// Its id.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub unit: UnitId,
}

/// A split part's shares for people: the default, and any metric's own share beside it
/// ("100.0% (revenue 134.1%, adjusted_ebita 288.4%)").
fn shares_text(shares: &holdco_core::Shares) -> String {
    let per_metric: Vec<String> = shares
        .per_metric
        .iter()
        .map(|(m, s)| format!("{m} {:.1}%", s * 100.0))
        .collect();
    match (shares.default, per_metric.is_empty()) {
        (Some(d), true) => format!("{:.1}%", d * 100.0),
        (Some(d), false) => format!("{:.1}% ({})", d * 100.0, per_metric.join(", ")),
        (None, _) => per_metric.join(", "),
    }
}

/// The history of `unit`: every change naming it, in words, and where its figures land in
/// the structure of `structure` (the latest when `None`).
pub fn history(
    snapshot: &Snapshot,
    unit: &str,
    structure: Option<NaiveDate>,
) -> Result<UnitHistory, ViewError> {
    let engine = snapshot.engine();
    let model = snapshot.model();
    let timeline = engine.timeline();
    let id = UnitId::parse(unit).map_err(ViewError::BadUnit)?;
    let index = timeline
        .unit(&id)
        .ok_or_else(|| ViewError::UnknownUnit(unit.to_string()))?;
    let record = timeline.record(index);
    let target = snapshot.structure_date(structure);
    let mut lines = Vec::new();
    for change in &timeline.changes {
        if !change.kind.units().contains(&&id) {
            continue;
        }
        let name_of = |u: &UnitId| {
            timeline
                .unit(u)
                .map(|i| timeline.record(i).name_on(change.date).to_string())
                .unwrap_or_else(|| u.to_string())
        };
        let what = match &change.kind {
            ChangeKind::Create {
                unit: u,
                name,
                parent,
                acquired,
                ..
            } if u == &id => {
                format!(
                    "{} as “{name}”{}",
                    if *acquired { "acquired" } else { "created" },
                    parent
                        .as_ref()
                        .map(|p| format!(" under {}", name_of(p)))
                        .unwrap_or_default()
                )
            }
            ChangeKind::Create { unit: u, name, .. } => {
                format!("{name} ({u}) created below it")
            }
            ChangeKind::Rename { name, .. } => format!("renamed “{name}”"),
            ChangeKind::Move { unit: u, parent } if u == &id => {
                format!("moved under {}", name_of(parent))
            }
            ChangeKind::Move { unit: u, .. } => {
                format!("{} moved under it", name_of(u))
            }
            ChangeKind::Merge { units, into } if into == &id => format!(
                "absorbed {}",
                units
                    .iter()
                    .map(|u| u.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ChangeKind::Merge { into, .. } => format!("merged into {}", name_of(into)),
            ChangeKind::Split { unit: u, parts } if u == &id => format!(
                "split: {}",
                parts
                    .iter()
                    .map(|p| format!("{} {}", p.unit, shares_text(&p.shares)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ChangeKind::Split { unit: u, parts } => {
                let share = parts
                    .iter()
                    .find(|p| p.unit == id)
                    .map(|p| shares_text(&p.shares))
                    .unwrap_or_else(|| "a share".into());
                format!("received {share} of {}", name_of(u))
            }
            ChangeKind::Stake {
                share,
                consolidation,
                ..
            } => format!("stake now {:.1}% ({})", share * 100.0, consolidation.name()),
            ChangeKind::Divest {
                proceeds, buyer, ..
            } => format!(
                "divested{}{}",
                buyer
                    .as_ref()
                    .map(|b| format!(" to {b}"))
                    .unwrap_or_default(),
                proceeds
                    .as_ref()
                    .map(|p| format!(", proceeds {} {}", number(p.amount, false), p.currency))
                    .unwrap_or_default()
            ),
            ChangeKind::SpinOff {
                retained, method, ..
            } => {
                if *retained > 0.0 {
                    format!(
                        "spun off to shareholders, {:.1}% kept ({})",
                        retained * 100.0,
                        method.name().replace('_', " ")
                    )
                } else {
                    "spun off to shareholders".to_string()
                }
            }
            ChangeKind::Close { .. } => "closed".to_string(),
            ChangeKind::Classify { class, .. } => format!("classified {class}"),
            ChangeKind::Decision { decision, .. } => format!("decided: {decision}"),
            // A domain event (people, governance...) describes itself through the
            // registry of its domain crate.
            ChangeKind::Event { .. } => {
                holdco_core::extension::describe(change, &id).unwrap_or_default()
            }
        };
        lines.push(HistoryLine {
            date: change.date,
            what,
            change: change.id.clone(),
            source: change.source.clone(),
        });
    }
    let mut lineage = Vec::new();
    let metrics: Vec<&MetricId> = model
        .metrics
        .iter()
        .filter(|m| !matches!(m.aggregation, Aggregation::Ratio { .. }))
        .map(|m| &m.id)
        .collect();
    for metric in metrics {
        for landing in engine.trace(index, record.created, target, metric) {
            lineage.push(LineageLine {
                metric: metric.to_string(),
                lands_at: landing.0,
                weight: landing.1,
                path: landing.2,
            });
        }
    }
    Ok(UnitHistory {
        created: record.created,
        ended: record.ended.map(|(d, _)| d),
        history: lines,
        kind: record.kind.clone(),
        lineage,
        lineage_into: target,
        name: record.last_name().to_string(),
        unit: record.id.clone(),
    })
}
