//! Reconciling computed figures against published ones: totals against the units below
//! them, restatements the group published against holdco's own restatement, and a period's
//! figure against the sum of its finer periods.

use crate::model::{Aggregation, Basis, Model};
use crate::period::Period;
use crate::rollup::{BasisFilter, Engine, Query, QueryError, View};
use crate::timeline::UnitIndex;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What a check compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// A recorded total against the figures recorded for the units directly below it.
    Total,
    /// A figure the group published restated against holdco's restatement of reported figures.
    Restatement,
    /// A period's recorded figure against the sum of its recorded finer periods.
    Periods,
}

/// One comparison.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Check {
    /// What is compared.
    pub kind: CheckKind,
    /// Unit.
    pub unit: String,
    /// Metric.
    pub metric: String,
    /// Period.
    pub period: String,
    /// Basis of the published figure (with structure date for restated).
    pub basis: String,
    /// The published figure.
    pub published: f64,
    /// What holdco computes.
    pub computed: f64,
    /// published - computed.
    pub difference: f64,
    /// Within tolerance, or within the published precision of the figures compared.
    pub ok: bool,
    /// How far the two sides may differ by rounding alone: half the published figure's
    /// precision plus half the precision of each fact the computed side is made of (times
    /// its weight); 0 when no fact involved gives a precision (docs/semantics.md, 10.1).
    pub allowance: f64,
    /// The judgement: `ok` (within tolerance), `within precision` (outside the tolerance but
    /// within the allowance: rounding, not a defect), `explained` (the published figure's
    /// note states this known difference, and it is the difference found) or `defect`.
    pub status: CheckStatus,
    /// The note of the published figure that explains the difference (`explained`), or
    /// the notes it carries otherwise. Always present (`null`), so every CSV row has the
    /// same columns.
    pub note: Option<String>,
    /// What the computed side is made of.
    pub detail: String,
}

/// The judgement of a check (docs/semantics.md, 10.1 and 10.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CheckStatus {
    /// Within tolerance.
    #[serde(rename = "ok")]
    Ok,
    /// Outside the tolerance, within the rounding allowance of the published precisions.
    #[serde(rename = "within precision")]
    WithinPrecision,
    /// A known difference, stated with its amount in the published figure's note.
    #[serde(rename = "explained")]
    Explained,
    /// A difference nothing explains.
    #[serde(rename = "defect")]
    Defect,
}

impl CheckStatus {
    /// The status as printed.
    pub fn name(self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::WithinPrecision => "within precision",
            CheckStatus::Explained => "explained",
            CheckStatus::Defect => "defect",
        }
    }
}

/// The prefix of a fact note that states a known difference: `known difference AMOUNT:
/// why` (docs/semantics.md, 10.2).
pub const KNOWN_DIFFERENCE: &str = "known difference ";

/// The amount a note states as a known difference, and half the step of its last written
/// digit (`282.3` → 0.05, `5129` → 0.5): `None` when the note states none.
pub fn known_difference(note: &str) -> Option<(f64, f64)> {
    let rest = note.trim_start().strip_prefix(KNOWN_DIFFERENCE)?;
    let (amount, _) = rest.split_once(':')?;
    let amount = amount.trim();
    let value: f64 = amount.parse().ok().filter(|v: &f64| v.is_finite())?;
    let decimals = amount
        .split_once('.')
        .map_or(0, |(_, fraction)| fraction.len()) as i32;
    Some((value, 0.5 * 10f64.powi(-decimals)))
}

/// Tolerance: absolute, or relative to the published figure.
#[derive(Debug, Clone, Copy)]
pub enum Tolerance {
    /// In the metric's units.
    Absolute(f64),
    /// Fraction of |published|.
    Relative(f64),
}

impl Tolerance {
    /// Parses `0.5` (absolute) or `0.1%` (relative).
    pub fn parse(text: &str) -> Result<Tolerance, String> {
        let bad = || {
            format!(
                "`{text}` is not a tolerance (expected e.g. 0.5 for absolute or 0.1% for relative)"
            )
        };
        match text.strip_suffix('%') {
            Some(pct) => pct
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .map(|v| Tolerance::Relative(v / 100.0))
                .ok_or_else(bad),
            None => text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .map(Tolerance::Absolute)
                .ok_or_else(bad),
        }
    }
    fn allows(&self, published: f64, difference: f64) -> bool {
        difference.abs() <= self.amount(published) + 1e-9
    }

    /// The tolerated difference for a published figure.
    fn amount(&self, published: f64) -> f64 {
        match self {
            Tolerance::Absolute(t) => *t,
            Tolerance::Relative(r) => r * published.abs(),
        }
    }
}

/// What is known about the published side of a check besides its value.
#[derive(Debug, Clone, Default)]
struct Published {
    /// Half the precision of each fact of the key, added up (0 without precisions).
    half_step: f64,
    /// The facts' notes.
    notes: Vec<String>,
}

impl Check {
    /// A comparison, judged against the tolerance, the rounding allowance (`allowance`:
    /// half-steps of both sides) and the published figure's notes.
    #[allow(clippy::too_many_arguments)]
    fn new(
        kind: CheckKind,
        unit: String,
        metric: &str,
        period: String,
        basis: &Basis,
        published: f64,
        computed: f64,
        tolerance: Tolerance,
        allowance: f64,
        notes: &[String],
        detail: String,
    ) -> Check {
        let difference = published - computed;
        let within_tolerance = tolerance.allows(published, difference);
        let within_precision = difference.abs() <= allowance + 1e-9;
        // A known difference is the one found when they differ by no more than the
        // tolerance, the allowance, or the rounding of the amount as written.
        let explanation = notes.iter().find(|note| {
            known_difference(note).is_some_and(|(known, half_step)| {
                let slack = tolerance.amount(published).max(allowance).max(half_step);
                (difference - known).abs() <= slack + 1e-9
            })
        });
        let status = if within_tolerance {
            CheckStatus::Ok
        } else if within_precision {
            CheckStatus::WithinPrecision
        } else if explanation.is_some() {
            CheckStatus::Explained
        } else {
            CheckStatus::Defect
        };
        let note = match explanation {
            Some(note) => Some(note.clone()),
            None if notes.is_empty() => None,
            None => Some(notes.join("; ")),
        };
        Check {
            kind,
            unit,
            metric: metric.to_string(),
            period,
            basis: basis_label(basis),
            published,
            computed,
            difference,
            ok: within_tolerance || within_precision,
            allowance,
            status,
            note,
            detail,
        }
    }
}

fn basis_label(basis: &Basis) -> String {
    match basis {
        Basis::Restated { structure } => format!("restated@{structure}"),
        Basis::ProForma { structure } => format!("pro_forma@{structure}"),
        other => other.name().to_string(),
    }
}

/// Runs every check the model's facts allow.
pub fn reconcile(model: &Model, tolerance: Tolerance) -> Result<Vec<Check>, QueryError> {
    let engine = Engine::new(model)?;
    let timeline = engine.timeline();
    let calendar = model.group.calendar();
    let mut checks = Vec::new();
    // Sums of recorded facts per (unit, metric, basis, period), counterparties added up.
    let mut sums: BTreeMap<(UnitIndex, String, Basis, Period), f64> = BTreeMap::new();
    let mut published: HashMap<(UnitIndex, String, Basis, Period), Published> = HashMap::new();
    for fact in &model.facts {
        let unit = timeline.unit(&fact.key.unit).expect("validated");
        let key = (
            unit,
            fact.key.metric.to_string(),
            fact.key.basis,
            fact.key.period,
        );
        *sums.entry(key.clone()).or_insert(0.0) += fact.value;
        if fact.precision.is_some() || fact.note.is_some() {
            let entry = published.entry(key).or_default();
            entry.half_step += fact.precision.unwrap_or(0.0) / 2.0;
            entry.notes.extend(fact.note.clone());
        }
    }
    let any_precision = model.facts.iter().any(|f| f.precision.is_some());
    let about = |key: &(UnitIndex, String, Basis, Period)| -> Published {
        published.get(key).cloned().unwrap_or_default()
    };
    let additive: BTreeSet<String> = model
        .metrics
        .iter()
        .filter(|m| matches!(m.aggregation, Aggregation::Flow | Aggregation::Stock))
        .map(|m| m.id.to_string())
        .collect();
    let currencies: HashMap<(UnitIndex, String, Basis, Period), bool> = model
        .facts
        .iter()
        .map(|f| {
            (
                (
                    timeline.unit(&f.key.unit).expect("validated"),
                    f.key.metric.to_string(),
                    f.key.basis,
                    f.key.period,
                ),
                f.currency
                    .as_ref()
                    .is_some_and(|c| c != &model.group.currency),
            )
        })
        .collect();

    // 1. Totals: each recorded figure against the nearest recorded figures below it.
    let mut below: BTreeMap<(UnitIndex, String, Basis, Period), (f64, Vec<String>, f64)> =
        BTreeMap::new();
    for ((unit, metric, basis, period), value) in &sums {
        if !additive.contains(metric) {
            continue;
        }
        let date = basis
            .structure()
            .unwrap_or_else(|| timeline.record(*unit).last_day_until(period.last_day()));
        let structure = engine.structure(date);
        let above = structure
            .ancestors(*unit)
            .skip(1)
            .find(|a| sums.contains_key(&(*a, metric.clone(), *basis, *period)));
        if let Some(above) = above {
            let entry = below
                .entry((above, metric.clone(), *basis, *period))
                .or_default();
            entry.0 += value;
            entry.1.push(timeline.record(*unit).id.to_string());
            entry.2 += about(&(*unit, metric.clone(), *basis, *period)).half_step;
        }
    }
    for (key, (computed, units, half_steps)) in &below {
        let (unit, metric, basis, period) = key;
        if currencies.get(key).copied().unwrap_or(false) {
            continue; // mixed currencies: compared after translation by the roll-up instead
        }
        // Only a total whose every part is recorded can be checked against its parts: when a
        // unit directly below it has no figure (neither its own nor any below it), the sum is
        // partial and says nothing (docs/semantics.md, 5.4).
        let date = basis
            .structure()
            .unwrap_or_else(|| timeline.record(*unit).last_day_until(period.last_day()));
        let structure = engine.structure(date);
        // A unit below that reports (it has a figure on this basis the period before or after,
        // or another figure within the same fiscal year) but has none for this period leaves
        // the sum partial; a line that never reports then (an elimination line before it was
        // published) does not.
        let has = |child: UnitIndex, at: &dyn Fn(&Period) -> bool| {
            sums.keys().any(|(u, m, b, p)| {
                m == metric
                    && b == basis
                    && at(p)
                    && structure.alive[*u as usize]
                    && structure.in_subtree(*u, child)
            })
        };
        let year = Period::containing(
            period.last_day(),
            crate::period::Granularity::Year,
            calendar,
        );
        let overlaps_year = |p: &Period| {
            p.start < year.end_exclusive() && year.start < p.end_exclusive() && p != period
        };
        let neighbour = |p: &Period| *p == period.shift(-1) || *p == period.shift(1);
        // Or a unit below with a figure for this very period in another publication: the
        // group's restatement left it out, so its total is not the sum of what it gave.
        let elsewhere = |child: UnitIndex| {
            sums.keys().any(|(u, m, b, p)| {
                m == metric
                    && b != basis
                    && p == period
                    && structure.alive[*u as usize]
                    && structure.in_subtree(*u, child)
            })
        };
        let missing = structure.children[*unit as usize].iter().any(|c| {
            !has(*c, &|p| p == period)
                && (has(*c, &neighbour) || has(*c, &overlaps_year) || elsewhere(*c))
        });
        if missing {
            continue;
        }
        let total = about(key);
        checks.push(Check::new(
            CheckKind::Total,
            timeline.record(*unit).id.to_string(),
            metric,
            period.label(calendar),
            basis,
            sums[key],
            *computed,
            tolerance,
            total.half_step + half_steps,
            &total.notes,
            format!("sum of {}", units.join(" + ")),
        ));
    }

    // 2. Published restatements (and pro-forma figures) against holdco's restatement (pro
    // forma) of the reported figures.
    for (key, value) in &sums {
        let (unit, metric, basis, period) = key;
        let (view, structure) = match basis {
            Basis::Restated { structure } => (View::Restated, structure),
            Basis::ProForma { structure } => (View::ProForma, structure),
            _ => continue,
        };
        if !additive.contains(metric) {
            continue;
        }
        let record = timeline.record(*unit);
        let query = Query {
            metric: crate::ids::MetricId::parse(metric).expect("valid id"),
            periods: vec![*period],
            view,
            structure: Some(*structure),
            node: Some(record.id.clone()),
            // At the top of the group one level down, for the continuing-operations line: a
            // restatement published into a structure covers what that structure holds, so
            // it is compared with continuing operations (like with like, semantics 4.3).
            depth: u32::from(*unit == timeline.root),
            currency: None,
            basis: BasisFilter::ReportedOnly,
        };
        let Ok(rollup) = engine.rollup(&query) else {
            continue;
        };
        let continuing = rollup
            .rows
            .iter()
            .find(|r| r.kind == crate::rollup::RowKind::Continuing);
        let Some(computed) = continuing.or(rollup.rows.first()).and_then(|r| r.value) else {
            continue;
        };
        // The computed side's rounding: each reported fact behind it with a precision, at
        // the weight it enters with (what left the group is not in continuing operations).
        let mut half_steps = 0.0;
        if any_precision {
            if let Ok(explanation) = engine.explain(&query) {
                for fact in explanation.parts.iter().flat_map(|part| &part.facts) {
                    let departed = fact.lands_at.starts_with("discontinued")
                        || fact.lands_at.starts_with("not in the");
                    if continuing.is_some() && departed {
                        continue;
                    }
                    if let Some(step) = fact.precision {
                        half_steps += (fact.weight * fact.ownership * fact.rate).abs() * step / 2.0;
                    }
                }
            }
        }
        let restated = about(key);
        checks.push(Check::new(
            CheckKind::Restatement,
            record.id.to_string(),
            metric,
            period.label(calendar),
            basis,
            *value,
            computed,
            tolerance,
            restated.half_step + half_steps,
            &restated.notes,
            match view {
                View::ProForma => format!(
                    "reported figures pro forma in the {structure} structure (deals from the period's start)"
                ),
                _ => format!("reported figures restated into the {structure} structure"),
            },
        ));
    }

    // 3. A recorded period against its recorded finer periods (when they cover it).
    for (key, value) in &sums {
        let (unit, metric, basis, period) = key;
        if !additive.contains(metric) || period.children().is_empty() {
            continue;
        }
        let stock = model
            .metrics
            .iter()
            .any(|m| m.id.as_str() == metric && m.aggregation == Aggregation::Stock);
        let children = period.children();
        let values: Vec<Option<f64>> = children
            .iter()
            .map(|c| sums.get(&(*unit, metric.clone(), *basis, *c)).copied())
            .collect();
        if values.iter().any(Option::is_none) {
            continue;
        }
        let computed = if stock {
            values.last().copied().flatten().unwrap_or(0.0)
        } else {
            values.iter().flatten().sum()
        };
        let half_steps: f64 = if stock {
            children.last().map_or(0.0, |c| {
                about(&(*unit, metric.clone(), *basis, *c)).half_step
            })
        } else {
            children
                .iter()
                .map(|c| about(&(*unit, metric.clone(), *basis, *c)).half_step)
                .sum()
        };
        let whole = about(key);
        checks.push(Check::new(
            CheckKind::Periods,
            timeline.record(*unit).id.to_string(),
            metric,
            period.label(calendar),
            basis,
            *value,
            computed,
            tolerance,
            whole.half_step + half_steps,
            &whole.notes,
            format!(
                "{} of {}",
                if stock { "last" } else { "sum" },
                children
                    .iter()
                    .map(|c| c.label(calendar))
                    .collect::<Vec<_>>()
                    .join(" + ")
            ),
        ));
    }
    checks.sort_by(|a, b| {
        (a.kind, &a.metric, &a.period, &a.unit, &a.basis)
            .cmp(&(b.kind, &b.metric, &b.period, &b.unit, &b.basis))
    });
    Ok(checks)
}
