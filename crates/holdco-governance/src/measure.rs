//! Scorecards and incentives, measured like for like: targets and results are compared in
//! the structure the target was set in (a period's first day unless a plan says otherwise),
//! so a reorganisation recorded during the period never makes a unit look better or worse.

use crate::config::{Kpi, Plan};
use crate::ledger::{Ledger, Seat};
use chrono::NaiveDate;
use holdco_core::rollup::{BasisFilter, Engine, Query, RowKind, View};
use holdco_core::{Basis, MetricId, Period, UnitId};
use serde::Serialize;

/// A unit's figure for one metric and period, restated into the structure of `structure`:
/// None when there is no figure or it has a gap.
pub fn restated(
    engine: &Engine,
    metric: &MetricId,
    unit: &UnitId,
    period: Period,
    structure: NaiveDate,
) -> Option<f64> {
    let query = Query {
        metric: metric.clone(),
        periods: vec![period],
        view: View::Restated,
        structure: Some(structure),
        node: Some(unit.clone()),
        depth: 0,
        currency: None,
        basis: BasisFilter::Reported,
    };
    let rollup = engine.rollup(&query).ok()?;
    rollup
        .rows
        .iter()
        .find(|r| r.kind == RowKind::Node && r.node == unit.as_str())
        .filter(|r| r.gap.is_none())
        .and_then(|r| r.value)
}

/// The leaders accountable for `unit` over `period`: the holders of its CEO role (else head
/// of business group, president, chair) during the period, in order.
pub fn accountable(ledger: &Ledger, unit: &UnitId, period: Period) -> Vec<String> {
    let (first, last) = (period.first_day(), period.last_day());
    for role in ["ceo", "head_of_business_group", "president", "chair"] {
        let mut holders: Vec<(NaiveDate, String)> = ledger
            .holdings
            .iter()
            .filter(|h| h.role == role)
            .filter(|h| h.from <= last && h.until.is_none_or(|u| u > first))
            .filter(|h| {
                h.path.iter().enumerate().any(|(i, (from, seat))| {
                    let until = h.path.get(i + 1).map(|(d, _)| *d).or(h.until);
                    matches!(seat, Seat::Unit(u) if u == unit)
                        && *from <= last
                        && until.is_none_or(|u| u > first)
                })
            })
            .map(|h| {
                (
                    h.from,
                    ledger
                        .person(&h.person)
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| h.person.clone()),
                )
            })
            .collect();
        if !holders.is_empty() {
            holders.sort();
            holders.dedup_by(|a, b| a.1 == b.1);
            return holders.into_iter().map(|(_, n)| n).collect();
        }
    }
    Vec::new()
}

/// One line of a scorecard.
#[derive(Debug, Clone, Serialize)]
pub struct ScoreRow {
    /// Unit id.
    pub unit: String,
    /// Unit name in the structure the target was set in.
    pub name: String,
    /// Metric id.
    pub metric: String,
    /// Period label.
    pub period: String,
    /// The structure date targets and results are compared in.
    pub structure: NaiveDate,
    /// The target.
    pub target: f64,
    /// Where the target is written: `plan fact` or `governance.toml`.
    pub target_from: String,
    /// The result, restated into that structure (None when not known yet or a gap).
    pub actual: Option<f64>,
    /// actual - target.
    pub variance: Option<f64>,
    /// variance / |target|.
    pub variance_share: Option<f64>,
    /// The previous period's result in the same structure.
    pub previous: Option<f64>,
    /// Growth over the previous period.
    pub trend: Option<f64>,
    /// Leaders accountable over the period, in order (joined by →).
    pub leader: String,
}

/// Targets (plan facts for `period`) against results for the units under `node` (the
/// group when None), all in the structure of the period's first day.
pub fn scorecard(
    engine: &Engine,
    ledger: &Ledger,
    period: Period,
    node: Option<&UnitId>,
) -> Result<Vec<ScoreRow>, String> {
    let model = engine.model();
    let timeline = engine.timeline();
    let calendar = model.group.calendar();
    let structure_date = period.first_day();
    let structure = timeline.structure_on(structure_date);
    let scope = match node {
        Some(id) => {
            let index = timeline.unit(id).ok_or_else(|| {
                format!("unknown unit `{id}`; `holdco structure` lists the units")
            })?;
            if !structure.alive[index as usize] {
                return Err(format!(
                    "unit `{id}` does not exist on {structure_date}, the first day of {} (the structure targets are compared in)",
                    period.label(calendar)
                ));
            }
            index
        }
        None => timeline.root,
    };
    let mut rows = Vec::new();
    // Targets: `plan` facts, then governance.toml's [[target]]s for keys no fact sets.
    let mut targets: Vec<(UnitId, MetricId, f64, &'static str)> = model
        .facts
        .iter()
        .filter(|f| {
            f.key.basis == Basis::Plan && f.key.period == period && f.key.counterparty.is_none()
        })
        .map(|f| {
            (
                f.key.unit.clone(),
                f.key.metric.clone(),
                f.value,
                "plan fact",
            )
        })
        .collect();
    for t in ledger.config.targets.iter().filter(|t| t.period == period) {
        if !targets
            .iter()
            .any(|(u, m, _, _)| u == &t.unit && m == &t.metric)
        {
            targets.push((t.unit.clone(), t.metric.clone(), t.value, "governance.toml"));
        }
    }
    targets.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    for (unit_id, metric, target, origin) in targets {
        let Some(unit) = timeline.unit(&unit_id) else {
            continue;
        };
        if !structure.in_subtree(unit, scope) {
            continue;
        }
        let actual = restated(engine, &metric, &unit_id, period, structure_date);
        let previous = restated(engine, &metric, &unit_id, period.shift(-1), structure_date);
        let variance = actual.map(|a| a - target);
        rows.push(ScoreRow {
            unit: unit_id.to_string(),
            name: timeline.record(unit).name_on(structure_date).to_string(),
            metric: metric.to_string(),
            period: period.label(calendar),
            structure: structure_date,
            target,
            target_from: origin.to_string(),
            actual,
            variance,
            variance_share: variance.filter(|_| target != 0.0).map(|v| v / target.abs()),
            previous,
            trend: match (actual, previous) {
                (Some(a), Some(p)) if p != 0.0 => Some(a / p - 1.0),
                _ => None,
            },
            leader: accountable(ledger, &unit_id, period).join(" → "),
        });
    }
    Ok(rows)
}

/// One measure of a plan, measured.
#[derive(Debug, Clone, Serialize)]
pub struct KpiResult {
    /// Metric.
    pub metric: String,
    /// Unit.
    pub unit: String,
    /// Weight.
    pub weight: f64,
    /// Threshold, target, maximum.
    pub threshold: f64,
    /// Target.
    pub target: f64,
    /// Maximum.
    pub maximum: f64,
    /// Result in the plan's structure.
    pub actual: Option<f64>,
    /// actual / target.
    pub attainment: Option<f64>,
    /// Payout factor of this measure (0 below the threshold).
    pub payout: Option<f64>,
    /// How the payout follows from the result.
    pub explanation: String,
}

/// A plan, measured.
#[derive(Debug, Clone, Serialize)]
pub struct PlanResult {
    /// Plan id.
    pub plan: String,
    /// Role and unit.
    pub role: String,
    /// Unit of the role.
    pub unit: String,
    /// Holders of the role over the period.
    pub holder: String,
    /// Period.
    pub period: String,
    /// Structure the results are measured in.
    pub structure: NaiveDate,
    /// True when the plan is an illustrative assumption.
    pub assumption: bool,
    /// Weighted attainment (None when a measure has no result).
    pub attainment: Option<f64>,
    /// Weighted payout, as a multiple of the target payout.
    pub payout: Option<f64>,
    /// Its measures.
    pub kpis: Vec<KpiResult>,
}

/// The payout factor of a result on the plan's curve: 0 below the threshold, linear from
/// the threshold payout to 1 at the target, linear from 1 to the maximum payout at the
/// maximum, capped there.
pub fn payout(kpi: &Kpi, plan: &Plan, actual: f64) -> (f64, String) {
    if actual < kpi.threshold {
        (
            0.0,
            format!(
                "{actual:.0} is below the threshold {:.0}: no payout",
                kpi.threshold
            ),
        )
    } else if actual < kpi.target {
        let f = plan.threshold_payout
            + (1.0 - plan.threshold_payout) * (actual - kpi.threshold)
                / (kpi.target - kpi.threshold);
        (
            f,
            format!(
                "{actual:.0} between threshold {:.0} and target {:.0}: {f:.2}",
                kpi.threshold, kpi.target
            ),
        )
    } else if actual < kpi.maximum {
        let f = 1.0 + (plan.max_payout - 1.0) * (actual - kpi.target) / (kpi.maximum - kpi.target);
        (
            f,
            format!(
                "{actual:.0} between target {:.0} and maximum {:.0}: {f:.2}",
                kpi.target, kpi.maximum
            ),
        )
    } else {
        (
            plan.max_payout,
            format!(
                "{actual:.0} at or above the maximum {:.0}: capped at {:.2}",
                kpi.maximum, plan.max_payout
            ),
        )
    }
}

/// Every plan of `period`, measured in its own structure.
pub fn incentives(engine: &Engine, ledger: &Ledger, period: Period) -> Vec<PlanResult> {
    let calendar = engine.model().group.calendar();
    let mut out = Vec::new();
    for plan in ledger.config.plans.iter().filter(|p| p.period == period) {
        let mut kpis = Vec::new();
        let mut attainment = Some(0.0);
        let mut total = Some(0.0);
        for kpi in &plan.kpis {
            let actual = restated(engine, &kpi.metric, &kpi.unit, plan.period, plan.structure);
            let (factor, explanation) = match actual {
                Some(a) => {
                    let (f, e) = payout(kpi, plan, a);
                    (Some(f), e)
                }
                None => (None, "no result in the plan's structure yet".to_string()),
            };
            let att = actual.filter(|_| kpi.target != 0.0).map(|a| a / kpi.target);
            attainment = attainment.zip(att).map(|(s, a)| s + kpi.weight * a);
            total = total.zip(factor).map(|(s, f)| s + kpi.weight * f);
            kpis.push(KpiResult {
                metric: kpi.metric.to_string(),
                unit: kpi.unit.to_string(),
                weight: kpi.weight,
                threshold: kpi.threshold,
                target: kpi.target,
                maximum: kpi.maximum,
                actual,
                attainment: att,
                payout: factor,
                explanation,
            });
        }
        let holders: Vec<String> = {
            let (first, last) = (plan.period.first_day(), plan.period.last_day());
            let mut v: Vec<(NaiveDate, String)> = ledger
                .holdings
                .iter()
                .filter(|h| h.role == plan.role)
                .filter(|h| h.from <= last && h.until.is_none_or(|u| u > first))
                .filter(|h| {
                    h.path
                        .iter()
                        .any(|(_, s)| matches!(s, Seat::Unit(u) if u == &plan.unit))
                })
                .map(|h| {
                    (
                        h.from,
                        ledger
                            .person(&h.person)
                            .map(|p| p.display().to_string())
                            .unwrap_or_else(|| h.person.clone()),
                    )
                })
                .collect();
            v.sort();
            v.into_iter().map(|(_, n)| n).collect()
        };
        out.push(PlanResult {
            plan: plan.id.clone(),
            role: plan.role.clone(),
            unit: plan.unit.to_string(),
            holder: holders.join(" → "),
            period: plan.period.label(calendar),
            structure: plan.structure,
            assumption: plan.assumption,
            attainment,
            payout: total,
            kpis,
        });
    }
    out
}
