//! The capital plan as a linear programme: one variable per tranche and year, maximising
//! expected value (less risk times the risk aversion) within each year's budget (plus the
//! disposal proceeds arriving that year), the total, the class shares of the strategy's
//! policies, floors, caps and cycle commitments; then the answer explained.

use crate::capital::Capital;
use crate::classify::classify;
use crate::lp::{Lp, LpError, Row, Sense};
use crate::strategy::Strategy;
use crate::CAPITAL_FILE;
use chrono::NaiveDate;
use holdco_core::rollup::Engine;
use holdco_core::{ChangeKind, UnitId};
use serde::Serialize;
use std::collections::BTreeMap;

/// Each unit's class on a date: the decision recorded in the timeline when there is one,
/// the rules' answer otherwise.
pub fn classes_on(
    engine: &Engine,
    strategy: Option<&Strategy>,
    date: NaiveDate,
) -> BTreeMap<UnitId, String> {
    let mut classes = BTreeMap::new();
    if let Some(strategy) = strategy {
        for unit in classify(engine, strategy, date).units {
            if let Some(class) = unit.class {
                classes.insert(unit.unit, class);
            }
        }
    }
    for change in engine.model().ordered_timeline() {
        if change.date <= date {
            if let ChangeKind::Classify { unit, class } = &change.kind {
                classes.insert(unit.clone(), class.clone());
            }
        }
    }
    classes
}

/// The programme with what each group of rows means.
#[derive(Debug, Clone)]
pub struct Programme {
    /// The linear programme.
    pub lp: Lp,
    /// Per variable: tranche index and year.
    pub cells: Vec<(usize, i32)>,
    /// Per group: a sentence saying what it is, with its line.
    pub groups: BTreeMap<String, String>,
    /// Years, in order.
    pub years: Vec<i32>,
    /// Money available per year (budget plus proceeds).
    pub available: BTreeMap<i32, f64>,
}

/// Builds the programme.
pub fn build(
    capital: &Capital,
    strategy: Option<&Strategy>,
    classes: &BTreeMap<UnitId, String>,
) -> Programme {
    let years = capital.years();
    let mut available: BTreeMap<i32, f64> =
        capital.budgets.iter().map(|b| (b.year, b.amount)).collect();
    for p in &capital.proceeds {
        *available.entry(p.year).or_default() += p.amount;
    }
    let mut lp = Lp::default();
    let mut cells = Vec::new();
    let mut groups = BTreeMap::new();
    let mut by_unit_year: BTreeMap<(&UnitId, i32), Vec<usize>> = BTreeMap::new();
    let mut by_year: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    let mut tranche_rows = Vec::new();
    for (t, tranche) in capital.tranches.iter().enumerate() {
        let mut vars = Vec::new();
        for year in tranche.years.0..=tranche.years.1 {
            let v = lp.variable(
                format!("x_{}_{year}", tranche.id),
                tranche.value - capital.risk_aversion * tranche.risk,
                None,
            );
            cells.push((t, year));
            vars.push(v);
            by_unit_year
                .entry((&tranche.unit, year))
                .or_default()
                .push(v);
            by_year.entry(year).or_default().push(v);
        }
        let group = format!("tranche:{}", tranche.id);
        groups.insert(
            group.clone(),
            format!(
                "tranche {} of {} at most {} ({CAPITAL_FILE}:{})",
                tranche.id, tranche.unit, tranche.amount, tranche.line
            ),
        );
        tranche_rows.push(Row {
            name: format!("size_{}", tranche.id),
            group,
            terms: vars.iter().map(|v| (*v, 1.0)).collect(),
            sense: Sense::AtMost,
            rhs: tranche.amount,
        });
    }
    for budget in &capital.budgets {
        let group = format!("budget:{}", budget.year);
        let proceeds: f64 = capital
            .proceeds
            .iter()
            .filter(|p| p.year == budget.year)
            .map(|p| p.amount)
            .sum::<f64>()
            + 0.0;
        groups.insert(
            group.clone(),
            format!(
                "budget {} of {} plus proceeds {} ({CAPITAL_FILE}:{})",
                budget.year, budget.amount, proceeds, budget.line
            ),
        );
        let terms = by_year
            .get(&budget.year)
            .map(|v| v.iter().map(|v| (*v, 1.0)).collect())
            .unwrap_or_default();
        lp.rows.push(Row {
            name: format!("budget_{}", budget.year),
            group,
            terms,
            sense: Sense::AtMost,
            rhs: available[&budget.year],
        });
    }
    if let Some(total) = capital.total {
        let proceeds: f64 = capital.proceeds.iter().map(|p| p.amount).sum::<f64>() + 0.0;
        groups.insert(
            "total".into(),
            format!(
                "total budget {total} plus proceeds {proceeds} ({CAPITAL_FILE}: [capital] total)"
            ),
        );
        lp.rows.push(Row {
            name: "total".into(),
            group: "total".into(),
            terms: (0..lp.names.len()).map(|v| (v, 1.0)).collect(),
            sense: Sense::AtMost,
            rhs: total + proceeds,
        });
    }
    lp.rows.extend(tranche_rows);
    if let Some(strategy) = strategy {
        for class in &strategy.classes {
            for year in &years {
                let terms: Vec<(usize, f64)> = by_unit_year
                    .iter()
                    .filter(|((unit, y), _)| y == year && classes.get(*unit) == Some(&class.id))
                    .flat_map(|(_, vars)| vars.iter().map(|v| (*v, 1.0)))
                    .collect();
                for (bound, sense, word) in [
                    (class.policy.share_min, Sense::AtLeast, "least"),
                    (class.policy.share_max, Sense::AtMost, "most"),
                ] {
                    if let Some(share) = bound {
                        let group = format!("class-{word}:{}:{year}", class.id);
                        groups.insert(
                            group.clone(),
                            format!(
                                "{} gets at {word} {:.0}% of {year}'s money (strategy.toml:{})",
                                class.id,
                                share * 100.0,
                                class.line
                            ),
                        );
                        lp.rows.push(Row {
                            name: format!("class_{word}_{}_{year}", class.id),
                            group,
                            terms: terms.clone(),
                            sense,
                            rhs: share * available[year],
                        });
                    }
                }
            }
        }
    }
    for (kind, items, sense) in [
        ("floor", &capital.floors, Sense::AtLeast),
        ("cap", &capital.caps, Sense::AtMost),
        ("cycle", &capital.cycles, Sense::AtLeast),
    ] {
        for item in items {
            for year in item.years.0..=item.years.1 {
                let group = format!("{kind}:{}:{year}", item.unit);
                groups.insert(
                    group.clone(),
                    format!(
                        "{kind} of {} in {year}: {} {} ({CAPITAL_FILE}:{})",
                        item.unit,
                        if sense == Sense::AtLeast {
                            "at least"
                        } else {
                            "at most"
                        },
                        item.amount,
                        item.line
                    ),
                );
                let terms = by_unit_year
                    .get(&(&item.unit, year))
                    .map(|v| v.iter().map(|v| (*v, 1.0)).collect())
                    .unwrap_or_default();
                lp.rows.push(Row {
                    name: format!("{kind}_{}_{year}", item.unit),
                    group,
                    terms,
                    sense,
                    rhs: item.amount,
                });
            }
        }
    }
    Programme {
        lp,
        cells,
        groups,
        years,
        available,
    }
}

/// Money going to one unit in one year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Allocation {
    /// Unit.
    pub unit: UnitId,
    /// Its class in the plan.
    pub class: String,
    /// Year.
    pub year: i32,
    /// Amount.
    pub amount: f64,
}

/// Money going to one class in one year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassYear {
    /// Class.
    pub class: String,
    /// Year.
    pub year: i32,
    /// Amount.
    pub amount: f64,
}

/// A year's money.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct YearMoney {
    /// Year.
    pub year: i32,
    /// Budget plus proceeds.
    pub available: f64,
    /// Allocated.
    pub allocated: f64,
    /// Left unused.
    pub unused: f64,
}

/// Cash from a non-core disposal feeding the budget.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Realisation {
    /// Unit sold.
    pub unit: UnitId,
    /// Its class in the plan.
    pub class: String,
    /// The class policy's form of realisation (sale, listing, spin_off), when declared.
    pub form: Option<String>,
    /// Year the cash arrives.
    pub year: i32,
    /// Amount.
    pub amount: f64,
}

/// A constraint that binds, with its shadow price and its one-sided rates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Binding {
    /// Row name.
    pub constraint: String,
    /// What it is.
    pub description: String,
    /// The solver's dual value: objective gained per unit more right-hand side (negative:
    /// the bound costs value). At a degenerate optimum it is one point of the range
    /// `[rate_up, rate_down]`, not a rate that holds either way.
    pub shadow_price: f64,
    /// Whether the rates were measured (at most `max_rates` rows are, see
    /// [`solve_with_rates`]).
    pub rates_measured: bool,
    /// Objective gained per unit when the right-hand side is raised by [`Plan::rate_step`]
    /// (re-solved); `None`: no plan exists then, or not measured.
    pub rate_up: Option<f64>,
    /// Objective lost per unit when the right-hand side is lowered by [`Plan::rate_step`]
    /// (re-solved; same sign convention as the shadow price); `None`: no plan exists then,
    /// or not measured.
    pub rate_down: Option<f64>,
    /// True when the two rates differ: the optimum sits at a kink of the value (a
    /// degenerate vertex, e.g. a total equal to the sum of the yearly budgets), the dual is
    /// not unique and no single shadow price describes the constraint.
    pub degenerate: bool,
}

/// Capital moved between units compared with a previous plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reallocation {
    /// Half the sum of the absolute changes of each unit's total over the plan.
    pub moved: f64,
    /// The larger of the two plans' totals.
    pub base: f64,
    /// moved / base.
    pub rate: f64,
}

/// A solved plan, explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Plan name.
    pub name: String,
    /// Currency.
    pub currency: String,
    /// Display scale of the amounts ("millions"), when the group states one.
    pub scale: Option<String>,
    /// Expected value created (the objective).
    pub objective: f64,
    /// Per unit and year (amounts below 1e-6 of the largest budget left out).
    pub allocation: Vec<Allocation>,
    /// Per year.
    pub years: Vec<YearMoney>,
    /// Per class and year.
    pub by_class: Vec<ClassYear>,
    /// Binding constraints with shadow prices and one-sided rates.
    pub binding: Vec<Binding>,
    /// The step by which a right-hand side is moved up and down to measure the one-sided
    /// rates (0.1% of the largest year's money).
    pub rate_step: f64,
    /// Binding constraints whose rates were not measured (beyond `max_rates`).
    pub rates_not_measured: usize,
    /// Against the previous plan, when one is given.
    pub reallocation: Option<Reallocation>,
    /// Disposal proceeds added to the budgets, with the realisation policy of their class.
    pub realisations: Vec<Realisation>,
    /// The solver used, and where the shadow prices come from.
    pub method: String,
}

/// Why a plan could not be made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum PlanError {
    /// No allocation meets every constraint; these groups already conflict among themselves.
    Infeasible(Vec<String>),
    /// Value can grow without bound.
    Unbounded,
    /// The solver failed.
    Solver(String),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::Infeasible(conflict) => write!(
                f,
                "infeasible, these constraints conflict: {}",
                conflict.join("; ")
            ),
            PlanError::Unbounded => write!(f, "unbounded: give every tranche an amount"),
            PlanError::Solver(message) => write!(f, "the solver failed: {message}"),
        }
    }
}

/// Drops solver noise around zero (interior-point answers are accurate to about 1e-8 of
/// the problem's scale); other values are kept as solved, and rounded only for display.
fn clean(value: f64, scale: f64) -> f64 {
    if value.abs() <= 1e-7 * scale.max(1.0) {
        0.0
    } else {
        value
    }
}

/// The step of the one-sided rates, as a share of the largest year's money: small enough to
/// stay on the first linear piece of the value in most plans, large enough that the
/// solver's accuracy (about 1e-8 of the objective) moves a rate by less than
/// [`RATE_TOLERANCE`].
pub const RATE_STEP: f64 = 1e-3;

/// Rates closer than this are the same rate (and smaller ones are zero).
pub const RATE_TOLERANCE: f64 = 1e-3;

/// Binding constraints whose one-sided rates [`solve`] measures (two solves each).
pub const DEFAULT_MAX_RATES: usize = 40;

/// Solves and explains the plan, measuring the one-sided rates of up to
/// [`DEFAULT_MAX_RATES`] binding constraints.
pub fn solve(
    capital: &Capital,
    strategy: Option<&Strategy>,
    classes: &BTreeMap<UnitId, String>,
) -> Result<Plan, PlanError> {
    solve_with_rates(capital, strategy, classes, DEFAULT_MAX_RATES)
}

/// Solves and explains the plan, measuring the one-sided rates of up to `max_rates` binding
/// constraints (0: none, only the solver's duals; for a caller that needs the allocation
/// alone).
pub fn solve_with_rates(
    capital: &Capital,
    strategy: Option<&Strategy>,
    classes: &BTreeMap<UnitId, String>,
    max_rates: usize,
) -> Result<Plan, PlanError> {
    let programme = build(capital, strategy, classes);
    let solution = match programme.lp.solve() {
        Ok(solution) => solution,
        Err(LpError::Infeasible) => {
            let conflict = programme.lp.conflict();
            return Err(PlanError::Infeasible(
                conflict
                    .iter()
                    .map(|g| {
                        programme
                            .groups
                            .get(g)
                            .cloned()
                            .unwrap_or_else(|| g.clone())
                    })
                    .collect(),
            ));
        }
        Err(LpError::Unbounded) => return Err(PlanError::Unbounded),
        Err(LpError::Solver(message)) => return Err(PlanError::Solver(message)),
    };
    let scale = programme.available.values().copied().fold(0.0, f64::max);
    let class_of = |unit: &UnitId| {
        classes
            .get(unit)
            .cloned()
            .unwrap_or_else(|| "unclassified".into())
    };
    let mut per_unit: BTreeMap<(UnitId, i32), f64> = BTreeMap::new();
    for (v, (t, year)) in programme.cells.iter().enumerate() {
        *per_unit
            .entry((capital.tranches[*t].unit.clone(), *year))
            .or_default() += solution.x[v];
    }
    let allocation: Vec<Allocation> = per_unit
        .iter()
        .map(|((unit, year), amount)| Allocation {
            unit: unit.clone(),
            class: class_of(unit),
            year: *year,
            amount: clean(*amount, scale),
        })
        .filter(|a| a.amount != 0.0)
        .collect();
    let mut by_class_map: BTreeMap<(String, i32), f64> = BTreeMap::new();
    for a in &allocation {
        *by_class_map.entry((a.class.clone(), a.year)).or_default() += a.amount;
    }
    let by_class = by_class_map
        .into_iter()
        .map(|((class, year), amount)| ClassYear {
            class,
            year,
            amount,
        })
        .collect();
    let years = programme
        .years
        .iter()
        .map(|year| {
            let allocated: f64 = allocation
                .iter()
                .filter(|a| a.year == *year)
                .map(|a| a.amount)
                .sum();
            let available = programme.available[year];
            YearMoney {
                year: *year,
                available,
                allocated: clean(allocated, scale),
                unused: clean(available - allocated, scale),
            }
        })
        .collect();
    // Every row at its bound gets its one-sided rates by re-solving with the right-hand side
    // moved by a step both ways: a degenerate optimum has several duals, and the solver's
    // one (an interior-point method returns a central one) would read as a rate that holds
    // both ways when it holds in neither.
    // Each measured row costs two solves, so at most `max_rates` rows are measured: the
    // money rows first (total, yearly budgets), then class bounds, floors, caps and cycles,
    // then tranche sizes, each in programme order.
    let step = RATE_STEP * scale.max(1.0);
    let kind_rank = |group: &str| {
        ["total", "budget:", "class-", "floor:", "cap:", "cycle:"]
            .iter()
            .position(|k| group.starts_with(k))
            .unwrap_or(6)
    };
    let mut at_bound: Vec<usize> = (0..programme.lp.rows.len())
        .filter(|&r| {
            let row = &programme.lp.rows[r];
            (programme.lp.activity(row, &solution.x) - row.rhs).abs()
                <= 1e-6 * row.rhs.abs().max(1.0)
        })
        .collect();
    at_bound.sort_by_key(|&r| (kind_rank(&programme.lp.rows[r].group), r));
    let measured: std::collections::BTreeSet<usize> =
        at_bound.iter().copied().take(max_rates).collect();
    let mut binding = Vec::new();
    let mut rates_not_measured = 0;
    for r in (0..programme.lp.rows.len()).filter(|r| at_bound.contains(r)) {
        let row = &programme.lp.rows[r];
        let price = solution.duals[r];
        let round = |rate: f64| {
            if rate.abs() < RATE_TOLERANCE {
                0.0
            } else {
                (rate * 1e4).round() / 1e4
            }
        };
        let (rates_measured, rate_up, rate_down, degenerate) = if measured.contains(&r) {
            let (up, down) = programme.lp.rates(r, solution.objective, step);
            let (up, down) = (up.map(round), down.map(round));
            let degenerate = match (up, down) {
                (Some(u), Some(d)) => (d - u).abs() > RATE_TOLERANCE,
                _ => true,
            };
            (true, up, down, degenerate)
        } else {
            (false, None, None, false)
        };
        let moves = if rates_measured {
            rate_up.is_none_or(|u| u != 0.0) || rate_down.is_none_or(|d| d != 0.0)
        } else {
            false
        };
        if price.abs() > 1e-6 || moves {
            rates_not_measured += usize::from(!rates_measured);
            binding.push(Binding {
                constraint: row.name.clone(),
                description: programme
                    .groups
                    .get(&row.group)
                    .cloned()
                    .unwrap_or_default(),
                shadow_price: (price * 1e6).round() / 1e6,
                rates_measured,
                rate_up,
                rate_down,
                degenerate,
            });
        }
    }
    let reallocation = (!capital.previous.is_empty()).then(|| {
        // Per unit over the whole plan: money moved between years of one unit is not
        // reallocation between units.
        let mut before: BTreeMap<&UnitId, f64> = BTreeMap::new();
        for p in &capital.previous {
            *before.entry(&p.unit).or_default() += p.amount;
        }
        let mut now: BTreeMap<&UnitId, f64> = BTreeMap::new();
        for ((unit, _), amount) in &per_unit {
            *now.entry(unit).or_default() += amount;
        }
        let keys: std::collections::BTreeSet<&&UnitId> = before.keys().chain(now.keys()).collect();
        let moved: f64 = keys
            .iter()
            .map(|k| {
                (now.get(*k).copied().unwrap_or(0.0) - before.get(*k).copied().unwrap_or(0.0)).abs()
            })
            .sum::<f64>()
            / 2.0;
        let base = before.values().sum::<f64>().max(now.values().sum::<f64>());
        Reallocation {
            moved: clean(moved, scale),
            base: clean(base, scale),
            rate: if base > 0.0 { moved / base } else { 0.0 },
        }
    });
    let realisations = capital
        .proceeds
        .iter()
        .map(|p| {
            let class = class_of(&p.unit);
            let form = strategy
                .and_then(|s| s.class(&class))
                .and_then(|c| c.policy.realisation.clone());
            Realisation {
                unit: p.unit.clone(),
                class,
                form,
                year: p.year,
                amount: p.amount,
            }
        })
        .collect();
    Ok(Plan {
        realisations,
        name: capital.name.clone(),
        currency: capital.currency.clone(),
        scale: capital.scale.clone(),
        objective: solution.objective,
        allocation,
        years,
        by_class,
        binding,
        rate_step: step,
        rates_not_measured,
        reallocation,
        method: format!(
            "linear programme solved by clarabel (interior point, via good_lp); shadow prices are its dual values; the rates up and down re-solve with the right-hand side moved by {step} ({}% of the largest year's money)",
            RATE_STEP * 100.0
        ),
    })
}
