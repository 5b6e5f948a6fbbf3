//! Calibrating split shares from a period published under both structures.
//!
//! When a segment's content goes to several successors and the split is not disclosed, the
//! shares can be estimated from a period the group published twice: as reported in the old
//! structure and restated in the new one. Each restated figure is an affine function of the
//! unknown shares (the model is evaluated, never guessed), and least squares picks the
//! shares that reproduce the published restatement best, with the residual reported.

use crate::ids::MetricId;
use crate::model::{Basis, ChangeKind, Model, SplitPart};
use crate::period::Period;
use crate::rollup::{BasisFilter, Engine, Query, QueryError, View};
use chrono::NaiveDate;
use serde::Serialize;

/// A calibration request.
#[derive(Debug, Clone)]
pub struct Calibration {
    /// Ids of the split changes whose shares are unknown (same date or not).
    pub changes: Vec<String>,
    /// Periods published under both structures.
    pub periods: Vec<Period>,
    /// Metrics whose published figures form the equations (one set of shares for all).
    pub metrics: Vec<MetricId>,
    /// Date of the structure the restated figures were published under; the latest
    /// restated structure on or after the changes when omitted.
    pub published: Option<NaiveDate>,
}

/// One equation: a published restated figure against the model's restatement.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Equation {
    /// Unit of the published figure.
    pub unit: String,
    /// Metric.
    pub metric: String,
    /// Period.
    pub period: String,
    /// Published restated value.
    pub published: f64,
    /// The model's restated value with the calibrated shares.
    pub fitted: f64,
    /// published - fitted.
    pub residual: f64,
}

/// Shares found for one split.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CalibratedSplit {
    /// Change id.
    pub change: String,
    /// Parts with their calibrated share.
    pub parts: Vec<(String, f64)>,
}

/// The result of a calibration.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CalibrationResult {
    /// Shares per split.
    pub splits: Vec<CalibratedSplit>,
    /// Every equation with its residual.
    pub equations: Vec<Equation>,
    /// Root mean square of the residuals.
    pub rms_residual: f64,
    /// Structure date of the published figures used.
    pub published: NaiveDate,
    /// Warnings (shares outside 0 to 1, more unknowns than equations...).
    pub warnings: Vec<String>,
}

/// Why a calibration could not be done.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrationError {
    /// The change id is not a split in the timeline.
    #[error("no split change with id `{0}` in the timeline (calibrate takes the id of a split)")]
    NotASplit(String),
    /// No restated figures to fit.
    #[error("no figures published restated on or after {0} for these periods and metrics: record them with basis = restated")]
    NoPublished(NaiveDate),
    /// The equations don't determine the shares.
    #[error("the published figures don't determine the shares ({0}); add metrics or periods")]
    Underdetermined(String),
    /// The model can't be queried.
    #[error(transparent)]
    Query(#[from] QueryError),
}

/// Replaces the shares of the named splits by the values of `x` (free variables per split:
/// all parts but the last, which takes the remainder).
fn with_shares(model: &Model, splits: &[(usize, Vec<SplitPart>)], x: &[f64]) -> Model {
    let mut model = model.clone();
    let mut k = 0;
    for (index, parts) in splits {
        let n = parts.len();
        let mut new_parts = parts.clone();
        let mut sum = 0.0;
        for (j, part) in new_parts.iter_mut().enumerate() {
            let share = if j + 1 < n {
                let s = x[k + j];
                sum += s;
                s
            } else {
                1.0 - sum
            };
            part.shares = crate::model::Shares {
                default: Some(share),
                per_metric: Default::default(),
            };
        }
        k += n - 1;
        if let ChangeKind::Split { parts, .. } = &mut model.timeline[*index].kind {
            *parts = new_parts;
        }
    }
    model
}

/// Solves a small dense system by Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|i, j| a[*i][col].abs().total_cmp(&a[*j][col].abs()))?;
        let scale = a
            .iter()
            .map(|r| r.iter().fold(0.0f64, |m, v| m.max(v.abs())))
            .fold(0.0f64, f64::max)
            .max(1e-300);
        if a[pivot][col].abs() <= 1e-12 * scale {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let f = a[row][col] / a[col][col];
            for k in col..n {
                a[row][k] -= f * a[col][k];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

/// Calibrates the shares of the named splits.
pub fn calibrate(
    model: &Model,
    request: &Calibration,
) -> Result<CalibrationResult, CalibrationError> {
    let mut splits = Vec::new();
    let mut latest_change = NaiveDate::MIN;
    for id in &request.changes {
        let found = model
            .timeline
            .iter()
            .enumerate()
            .find(|(_, c)| c.id.as_deref() == Some(id.as_str()));
        match found {
            Some((index, change)) => match &change.kind {
                ChangeKind::Split { parts, .. } if parts.len() >= 2 => {
                    latest_change = latest_change.max(change.date);
                    splits.push((index, parts.clone()));
                }
                _ => return Err(CalibrationError::NotASplit(id.clone())),
            },
            None => return Err(CalibrationError::NotASplit(id.clone())),
        }
    }
    let published = match request.published {
        Some(date) => date,
        None => model
            .facts
            .iter()
            .filter_map(|f| match f.key.basis {
                Basis::Restated { structure }
                    if structure >= latest_change
                        && request.periods.contains(&f.key.period)
                        && request.metrics.contains(&f.key.metric) =>
                {
                    Some(structure)
                }
                _ => None,
            })
            .max()
            .ok_or(CalibrationError::NoPublished(latest_change))?,
    };
    let observations: Vec<&crate::model::Fact> = model
        .facts
        .iter()
        .filter(|f| {
            f.key.basis
                == Basis::Restated {
                    structure: published,
                }
                && request.periods.contains(&f.key.period)
                && request.metrics.contains(&f.key.metric)
                && f.key.counterparty.is_none()
        })
        .collect();
    // Nested lines (a segment and a business line inside it) would count the same
    // residual twice: fit the outermost published figures below the group only.
    let observations: Vec<&crate::model::Fact> = {
        let (timeline, _) =
            crate::timeline::Timeline::replay(&model.group, &model.metrics, &model.timeline);
        let structure = timeline.structure_on(published);
        observations
            .iter()
            .copied()
            .filter(|fact| {
                let Some(unit) = timeline.unit(&fact.key.unit) else {
                    return false;
                };
                if !structure.alive[unit as usize] {
                    return false;
                }
                !structure
                    .ancestors(unit)
                    .skip(1)
                    .filter(|a| *a != timeline.root)
                    .any(|a| {
                        observations.iter().any(|other| {
                            other.key.period == fact.key.period
                                && other.key.metric == fact.key.metric
                                && timeline.unit(&other.key.unit) == Some(a)
                        })
                    })
            })
            .collect()
    };
    if observations.is_empty() {
        return Err(CalibrationError::NoPublished(published));
    }
    let unknowns: usize = splits.iter().map(|(_, p)| p.len() - 1).sum();
    // Evaluate the model at a base point and one step along each unknown: exact for an
    // affine model, which it is as long as no calibrated split feeds another.
    // Each published figure against holdco's computation from reported figures, the group
    // against its continuing operations (a restatement covers what its structure holds).
    let computed =
        |x: &[f64], facts: &[&crate::model::Fact]| -> Result<Vec<Option<f64>>, CalibrationError> {
            let candidate = with_shares(model, &splits, x);
            let engine = Engine::new(&candidate)?;
            let root = engine.timeline().root;
            let mut values = Vec::new();
            for fact in facts {
                let is_root = engine.timeline().unit(&fact.key.unit) == Some(root);
                let query = Query {
                    metric: fact.key.metric.clone(),
                    periods: vec![fact.key.period],
                    view: View::Restated,
                    structure: Some(published),
                    node: Some(fact.key.unit.clone()),
                    depth: u32::from(is_root),
                    currency: None,
                    basis: BasisFilter::ReportedOnly,
                };
                let rollup = engine.rollup(&query)?;
                let continuing = rollup
                    .rows
                    .iter()
                    .find(|r| r.kind == crate::rollup::RowKind::Continuing);
                values.push(continuing.or(rollup.rows.first()).and_then(|r| r.value));
            }
            Ok(values)
        };
    // A published figure with nothing reported to carry into it (a gap, or no reported figure
    // at all) cannot be fitted: it is left out and said, never counted as a residual.
    let base_point: Vec<f64> = splits
        .iter()
        .flat_map(|(_, p)| vec![1.0 / p.len() as f64; p.len() - 1])
        .collect();
    let at_start = computed(&base_point, &observations)?;
    let mut left_out: Vec<String> = Vec::new();
    let calendar = model.group.calendar();
    let observations: Vec<&crate::model::Fact> = observations
        .iter()
        .zip(&at_start)
        .filter_map(|(fact, value)| {
            if value.is_none() {
                left_out.push(format!(
                    "{} {} {}",
                    fact.key.unit,
                    fact.key.metric,
                    fact.key.period.label(calendar)
                ));
            }
            value.map(|_| *fact)
        })
        .collect();
    if observations.is_empty() {
        return Err(CalibrationError::NoPublished(published));
    }
    let evaluate = |x: &[f64]| -> Result<Vec<f64>, CalibrationError> {
        Ok(computed(x, &observations)?
            .into_iter()
            .map(|v| v.unwrap_or(0.0))
            .collect())
    };
    let base: Vec<f64> = splits
        .iter()
        .flat_map(|(_, p)| vec![1.0 / p.len() as f64; p.len() - 1])
        .collect();
    let at_base = evaluate(&base)?;
    let mut columns = Vec::new();
    for j in 0..unknowns {
        let mut x = base.clone();
        x[j] += 0.5;
        let moved = evaluate(&x)?;
        columns.push(
            moved
                .iter()
                .zip(&at_base)
                .map(|(m, b)| (m - b) / 0.5)
                .collect::<Vec<f64>>(),
        );
    }
    // Normal equations: (A'A) x = A'(y - b0 + A x0).
    let rows = observations.len();
    let target: Vec<f64> = (0..rows)
        .map(|i| {
            observations[i].value - at_base[i]
                + (0..unknowns).map(|j| columns[j][i] * base[j]).sum::<f64>()
        })
        .collect();
    let ata: Vec<Vec<f64>> = (0..unknowns)
        .map(|p| {
            (0..unknowns)
                .map(|q| (0..rows).map(|i| columns[p][i] * columns[q][i]).sum())
                .collect()
        })
        .collect();
    let atb: Vec<f64> = (0..unknowns)
        .map(|p| (0..rows).map(|i| columns[p][i] * target[i]).sum())
        .collect();
    let informative = (0..rows)
        .filter(|i| (0..unknowns).any(|j| columns[j][*i].abs() > 1e-12))
        .count();
    let x = solve(ata, atb).ok_or_else(|| {
        CalibrationError::Underdetermined(format!(
            "{unknowns} unknown share(s), {informative} informative figure(s)"
        ))
    })?;
    let fitted = evaluate(&x)?;
    let equations: Vec<Equation> = observations
        .iter()
        .zip(&fitted)
        .map(|(fact, fit)| Equation {
            unit: fact.key.unit.to_string(),
            metric: fact.key.metric.to_string(),
            period: fact.key.period.label(calendar),
            published: fact.value,
            fitted: *fit,
            residual: fact.value - fit,
        })
        .collect();
    let rms_residual = (equations
        .iter()
        .map(|e| e.residual * e.residual)
        .sum::<f64>()
        / equations.len() as f64)
        .sqrt();
    let mut warnings = Vec::new();
    if !left_out.is_empty() {
        warnings.push(format!("{} published figure(s) have no reported figures to carry into them and were not fitted: {}", left_out.len(), left_out.join(", ")));
    }
    if informative < unknowns {
        warnings.push(format!(
            "{unknowns} unknowns but only {informative} informative figures"
        ));
    }
    let mut result_splits = Vec::new();
    let mut k = 0;
    for (index, parts) in &splits {
        let n = parts.len();
        let mut shares: Vec<(String, f64)> = Vec::new();
        let mut sum = 0.0;
        for (j, part) in parts.iter().enumerate() {
            let share = if j + 1 < n { x[k + j] } else { 1.0 - sum };
            sum += share;
            if !(0.0..=1.0).contains(&share) {
                warnings.push(format!("share of `{}` is {share:.4}, outside 0 to 1: the published figures contradict this split", part.unit));
            }
            shares.push((part.unit.to_string(), share));
        }
        k += n - 1;
        result_splits.push(CalibratedSplit {
            change: model.timeline[*index].id.clone().unwrap_or_default(),
            parts: shares,
        });
    }
    Ok(CalibrationResult {
        splits: result_splits,
        equations,
        rms_residual,
        published,
        warnings,
    })
}

/// Writes calibrated shares into the model's timeline (as default shares, with a note).
pub fn record(model: &mut Model, result: &CalibrationResult, periods_label: &str) {
    for split in &result.splits {
        if let Some(change) = model
            .timeline
            .iter_mut()
            .find(|c| c.id.as_deref() == Some(split.change.as_str()))
        {
            if let ChangeKind::Split { parts, .. } = &mut change.kind {
                for part in parts.iter_mut() {
                    if let Some((_, share)) =
                        split.parts.iter().find(|(u, _)| u == part.unit.as_str())
                    {
                        part.shares = crate::model::Shares {
                            default: Some((share * 1e6).round() / 1e6),
                            per_metric: Default::default(),
                        };
                    }
                }
                // Rounding must not break the sum: give the remainder to the last part.
                let n = parts.len();
                let sum: f64 = parts[..n - 1].iter().filter_map(|p| p.shares.default).sum();
                parts[n - 1].shares.default = Some(((1.0 - sum) * 1e6).round() / 1e6);
            }
            let note = format!("shares calibrated by least squares from {periods_label} published under both structures (RMS residual {:.3})", result.rms_residual);
            change.note = Some(match &change.note {
                Some(old) if !old.contains("calibrated by least squares") => {
                    format!("{old}; {note}")
                }
                _ => note,
            });
        }
    }
}
