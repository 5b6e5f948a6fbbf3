//! The capital document (`capital.toml`): budgets per year, disposal proceeds that feed
//! them, investment tranches, floors for core battles, caps, cycle commitments for
//! innovation units, and the previous plan to measure reallocation against.

use crate::strategy::Strategy;
use crate::{line_of, problem, toml_problem, CAPITAL_FILE};
use chrono::NaiveDate;
use holdco_core::timeline::Timeline;
use holdco_core::{Diagnostic, Model, UnitId};
use serde::{Deserialize, Serialize};
use toml::Spanned;

/// Largest `value`, `risk` and `risk_aversion` (each per unit of money): beyond it the
/// objective's coefficients lose the solver's precision, and it can only be a typing mistake.
pub const MAX_PER_UNIT_OF_MONEY: f64 = 1e6;

/// Money available in one year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Budget {
    /// Calendar year.
    pub year: i32,
    /// Amount budgeted.
    pub amount: f64,
    /// Line in capital.toml.
    pub line: u32,
}

/// Cash expected from a non-core disposal, added to its year's budget.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proceeds {
    /// Unit sold.
    pub unit: UnitId,
    /// Year the cash arrives.
    pub year: i32,
    /// Amount.
    pub amount: f64,
    /// Where it was published.
    pub source: Option<String>,
    /// Line in capital.toml.
    pub line: u32,
}

/// An investment opportunity of one unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tranche {
    /// Id.
    pub id: String,
    /// Unit invested in.
    pub unit: UnitId,
    /// Largest amount over its window.
    pub amount: f64,
    /// First and last year money may go in.
    pub years: (i32, i32),
    /// Expected value created per unit of money.
    pub value: f64,
    /// Risk per unit of money (subtracted times the risk aversion).
    pub risk: f64,
    /// Line in capital.toml.
    pub line: u32,
}

/// A per-year bound on one unit's allocation: floors, caps, cycle commitments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitBound {
    /// Unit bounded.
    pub unit: UnitId,
    /// Amount in each year of the window.
    pub amount: f64,
    /// Window.
    pub years: (i32, i32),
    /// Why.
    pub note: Option<String>,
    /// Line in capital.toml.
    pub line: u32,
}

/// One line of a previous plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Previous {
    /// Unit.
    pub unit: UnitId,
    /// Year.
    pub year: i32,
    /// Amount allocated then.
    pub amount: f64,
}

/// The capital plan's input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capital {
    /// Name of the plan.
    pub name: String,
    /// Currency of every amount.
    pub currency: String,
    /// Display scale of the amounts (the group's currency metrics' scale, e.g. "millions").
    pub scale: Option<String>,
    /// Total over all years, when capped.
    pub total: Option<f64>,
    /// Weight of risk in the objective.
    pub risk_aversion: f64,
    /// Date whose classification decides each unit's class.
    pub classes_on: NaiveDate,
    /// Budgets, by year.
    pub budgets: Vec<Budget>,
    /// Disposal proceeds.
    pub proceeds: Vec<Proceeds>,
    /// Tranches.
    pub tranches: Vec<Tranche>,
    /// Least amount per year (core battles).
    pub floors: Vec<UnitBound>,
    /// Largest amount per year.
    pub caps: Vec<UnitBound>,
    /// Least amount per year over a funding cycle (innovation units).
    pub cycles: Vec<UnitBound>,
    /// A previous plan.
    pub previous: Vec<Previous>,
}

impl Capital {
    /// The years budgeted, in order.
    pub fn years(&self) -> Vec<i32> {
        let mut years: Vec<i32> = self.budgets.iter().map(|b| b.year).collect();
        years.sort();
        years
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    capital: Spanned<Header>,
    #[serde(default)]
    budget: Vec<Spanned<BudgetRaw>>,
    #[serde(default)]
    proceeds: Vec<Spanned<ProceedsRaw>>,
    #[serde(default)]
    tranche: Vec<Spanned<TrancheRaw>>,
    #[serde(default)]
    floor: Vec<Spanned<BoundRaw>>,
    #[serde(default)]
    cap: Vec<Spanned<BoundRaw>>,
    #[serde(default)]
    cycle: Vec<Spanned<BoundRaw>>,
    #[serde(default)]
    previous: Vec<Spanned<PreviousRaw>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    name: String,
    currency: String,
    total: Option<f64>,
    #[serde(default)]
    risk_aversion: f64,
    classes_on: toml::value::Datetime,
    note: Option<String>,
    source: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetRaw {
    year: i32,
    amount: f64,
    note: Option<String>,
    source: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProceedsRaw {
    unit: String,
    year: i32,
    amount: f64,
    note: Option<String>,
    source: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrancheRaw {
    id: String,
    unit: String,
    amount: f64,
    years: [i32; 2],
    value: f64,
    #[serde(default)]
    risk: f64,
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BoundRaw {
    unit: String,
    amount: f64,
    years: [i32; 2],
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviousRaw {
    unit: String,
    year: i32,
    amount: f64,
}

/// True when `unit` exists on every day of `year`.
pub fn alive_through(timeline: &Timeline, unit: &UnitId, year: i32) -> bool {
    let (Some(first), Some(last)) = (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year, 12, 31),
    ) else {
        return false;
    };
    timeline
        .unit(unit)
        .map(|i| timeline.record(i))
        .is_some_and(|r| r.alive_on(first) && r.alive_on(last))
}

/// Parses capital.toml and checks it against the model (units existing in the years named).
pub fn parse(
    model: &Model,
    strategy: Option<&Strategy>,
    text: &str,
    problems: &mut Vec<Diagnostic>,
) -> Option<Capital> {
    let _ = strategy;
    let file: File = match toml::from_str(text) {
        Ok(file) => file,
        Err(error) => {
            problems.push(toml_problem(CAPITAL_FILE, text, &error));
            return None;
        }
    };
    let before = problems.len();
    let (timeline, _) = Timeline::replay(&model.group, &model.metrics, &model.timeline);
    let at = |span: std::ops::Range<usize>| line_of(text, span.start);
    let unit_of = |id: &str, line: u32, problems: &mut Vec<Diagnostic>| -> Option<UnitId> {
        match UnitId::parse(id) {
            Ok(unit) if timeline.unit(&unit).is_some() => Some(unit),
            Ok(_) => {
                problems.push(problem(
                    CAPITAL_FILE,
                    line,
                    Some("unit"),
                    format!("unknown unit `{id}` (not created in timeline.toml)"),
                ));
                None
            }
            Err(message) => {
                problems.push(problem(CAPITAL_FILE, line, Some("unit"), message));
                None
            }
        }
    };
    let amount_ok = |amount: f64, line: u32, what: &str, problems: &mut Vec<Diagnostic>| {
        if !amount.is_finite() || amount < 0.0 {
            problems.push(problem(
                CAPITAL_FILE,
                line,
                Some("amount"),
                format!("{amount} can't be {what} (expected a number >= 0)"),
            ));
        } else if amount > holdco_core::format::MAX_VALUE_MAGNITUDE {
            problems.push(problem(
                CAPITAL_FILE,
                line,
                Some("amount"),
                format!("{amount:e} is beyond the largest magnitude accepted (1e15) for {what}"),
            ));
        }
    };

    let header_line = at(file.capital.span());
    let header = file.capital.into_inner();
    let _ = (&header.note, &header.source);
    if let Some(total) = header.total {
        if !total.is_finite() || !(0.0..=holdco_core::format::MAX_VALUE_MAGNITUDE).contains(&total)
        {
            problems.push(problem(
                CAPITAL_FILE,
                header_line,
                Some("total"),
                format!("{total} can't be a total budget (expected a number >= 0)"),
            ));
        }
    }
    if header.currency != model.group.currency.as_str() {
        problems.push(problem(
            CAPITAL_FILE,
            header_line,
            Some("currency"),
            format!(
                "`{}` differs from the group's reporting currency {}; state amounts in {}",
                header.currency, model.group.currency, model.group.currency
            ),
        ));
    }
    if !header.risk_aversion.is_finite()
        || !(0.0..=MAX_PER_UNIT_OF_MONEY).contains(&header.risk_aversion)
    {
        problems.push(problem(
            CAPITAL_FILE,
            header_line,
            Some("risk_aversion"),
            format!("expected a number from 0 to {MAX_PER_UNIT_OF_MONEY:e}"),
        ));
    }
    let classes_on = NaiveDate::parse_from_str(&header.classes_on.to_string(), "%Y-%m-%d").ok();
    if classes_on.is_none() {
        problems.push(problem(
            CAPITAL_FILE,
            header_line,
            Some("classes_on"),
            "expected a date, e.g. 2025-02-24",
        ));
    }

    let mut budgets: Vec<Budget> = Vec::new();
    for spanned in file.budget {
        let line = at(spanned.span());
        let raw = spanned.into_inner();
        let _ = (&raw.note, &raw.source);
        if !raw.amount.is_finite() || raw.amount < 0.0 {
            problems.push(problem(
                CAPITAL_FILE,
                line,
                Some("amount"),
                format!(
                    "{} is a negative budget (expected a number >= 0)",
                    raw.amount
                ),
            ));
        } else if raw.amount > holdco_core::format::MAX_VALUE_MAGNITUDE {
            problems.push(problem(
                CAPITAL_FILE,
                line,
                Some("amount"),
                format!(
                    "{:e} is beyond the largest magnitude accepted (1e15) for a budget",
                    raw.amount
                ),
            ));
        }
        if let Some(first) = budgets.iter().find(|b| b.year == raw.year) {
            problems.push(problem(
                CAPITAL_FILE,
                line,
                Some("year"),
                format!(
                    "{} is budgeted twice (first on line {})",
                    raw.year, first.line
                ),
            ));
        }
        budgets.push(Budget {
            year: raw.year,
            amount: raw.amount,
            line,
        });
    }
    if budgets.is_empty() {
        problems.push(problem(
            CAPITAL_FILE,
            header_line,
            Some("budget"),
            "no [[budget]] given; add one per year, e.g. year = 2025, amount = 120000",
        ));
    }
    let years: Vec<i32> = budgets.iter().map(|b| b.year).collect();
    let (first_year, last_year) = (
        years.iter().min().copied().unwrap_or(0),
        years.iter().max().copied().unwrap_or(0),
    );
    let window_ok = |window: [i32; 2], line: u32, problems: &mut Vec<Diagnostic>| {
        if window[0] > window[1] || window[0] < first_year || window[1] > last_year {
            problems.push(problem(CAPITAL_FILE, line, Some("years"), format!("[{}, {}] is not a window within the budgeted years {first_year} to {last_year}", window[0], window[1])));
            false
        } else {
            true
        }
    };

    let mut proceeds = Vec::new();
    for spanned in file.proceeds {
        let line = at(spanned.span());
        let raw = spanned.into_inner();
        let _ = &raw.note;
        amount_ok(raw.amount, line, "proceeds", problems);
        if !years.contains(&raw.year) {
            problems.push(problem(
                CAPITAL_FILE,
                line,
                Some("year"),
                format!("{} has no [[budget]] for the proceeds to feed", raw.year),
            ));
        }
        if let Some(unit) = unit_of(&raw.unit, line, problems) {
            proceeds.push(Proceeds {
                unit,
                year: raw.year,
                amount: raw.amount,
                source: raw.source,
                line,
            });
        }
    }

    let mut tranches: Vec<Tranche> = Vec::new();
    for spanned in file.tranche {
        let line = at(spanned.span());
        let raw = spanned.into_inner();
        let _ = &raw.note;
        if !crate::strategy::is_identifier(&raw.id.replace('-', "_")) {
            problems.push(problem(
                CAPITAL_FILE,
                line,
                Some("id"),
                format!("`{}` is not an id (letters, digits, _ and -)", raw.id),
            ));
        }
        if let Some(first) = tranches.iter().find(|t| t.id == raw.id) {
            problems.push(problem(
                CAPITAL_FILE,
                line,
                Some("id"),
                format!(
                    "tranche `{}` declared twice (first on line {})",
                    raw.id, first.line
                ),
            ));
        }
        amount_ok(raw.amount, line, "a tranche size", problems);
        if !raw.value.is_finite() || raw.value.abs() > MAX_PER_UNIT_OF_MONEY {
            problems.push(problem(
                CAPITAL_FILE,
                line,
                Some("value"),
                format!("expected a finite number of at most {MAX_PER_UNIT_OF_MONEY:e} in magnitude (value created per unit of money)"),
            ));
        }
        if !raw.risk.is_finite() || !(0.0..=MAX_PER_UNIT_OF_MONEY).contains(&raw.risk) {
            problems.push(problem(
                CAPITAL_FILE,
                line,
                Some("risk"),
                format!("expected a number from 0 to {MAX_PER_UNIT_OF_MONEY:e}"),
            ));
        }
        let window = window_ok(raw.years, line, problems);
        if let Some(unit) = unit_of(&raw.unit, line, problems) {
            if window {
                for year in raw.years[0]..=raw.years[1] {
                    if !alive_through(&timeline, &unit, year) {
                        problems.push(problem(CAPITAL_FILE, line, Some("years"), format!("`{unit}` is not in the group throughout {year} (see `holdco history {unit}`); end the window before it leaves")));
                        break;
                    }
                }
            }
            tranches.push(Tranche {
                id: raw.id,
                unit,
                amount: raw.amount,
                years: (raw.years[0], raw.years[1]),
                value: raw.value,
                risk: raw.risk,
                line,
            });
        }
    }

    let bounds =
        |items: Vec<Spanned<BoundRaw>>, problems: &mut Vec<Diagnostic>| -> Vec<UnitBound> {
            let mut out = Vec::new();
            for spanned in items {
                let line = at(spanned.span());
                let raw = spanned.into_inner();
                amount_ok(raw.amount, line, "a bound", problems);
                let window = window_ok(raw.years, line, problems);
                if let Some(unit) = unit_of(&raw.unit, line, problems) {
                    if window {
                        for year in raw.years[0]..=raw.years[1] {
                            if !alive_through(&timeline, &unit, year) {
                                problems.push(problem(
                                    CAPITAL_FILE,
                                    line,
                                    Some("years"),
                                    format!("`{unit}` is not in the group throughout {year}"),
                                ));
                                break;
                            }
                        }
                    }
                    out.push(UnitBound {
                        unit,
                        amount: raw.amount,
                        years: (raw.years[0], raw.years[1]),
                        note: raw.note,
                        line,
                    });
                }
            }
            out
        };
    let floors = bounds(file.floor, problems);
    let caps = bounds(file.cap, problems);
    let cycles = bounds(file.cycle, problems);

    let mut previous = Vec::new();
    for spanned in file.previous {
        let line = at(spanned.span());
        let raw = spanned.into_inner();
        amount_ok(raw.amount, line, "a previous allocation", problems);
        if let Some(unit) = unit_of(&raw.unit, line, problems) {
            previous.push(Previous {
                unit,
                year: raw.year,
                amount: raw.amount,
            });
        }
    }

    if problems.len() > before {
        return None;
    }
    Some(Capital {
        name: header.name,
        currency: header.currency,
        scale: model
            .metrics
            .iter()
            .find(|m| m.measure == holdco_core::Measure::Currency)
            .and_then(|m| m.scale.clone()),
        total: header.total,
        risk_aversion: header.risk_aversion,
        classes_on: classes_on?,
        budgets,
        proceeds,
        tranches,
        floors,
        caps,
        cycles,
        previous,
    })
}
