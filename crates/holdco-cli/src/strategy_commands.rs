//! `holdco classify` and `holdco plan`: the strategy and capital commands, glue between the
//! model (store or folder), the holdco-strategy crate and the renderers.

use crate::commands::{current_model, parse_date, Context};
use crate::render::{self, align_right, number, Output};
use anyhow::{anyhow, bail, Context as _, Result};
use holdco_core::rollup::Engine;
use holdco_core::Model;
use holdco_strategy::plan::PlanError;
use holdco_strategy::{capital::Capital, strategy::Strategy, Documents};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `holdco classify`.
#[derive(clap::Args, Debug)]
pub struct ClassifyArgs {
    /// Date (YYYY-MM-DD); the latest change date when omitted.
    #[arg(long)]
    at: Option<String>,
    /// Also write the portfolio matrix (growth vs margin, bubble = revenue) as SVG.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    #[command(flatten)]
    format: crate::FormatFlags,
}

/// Arguments of `holdco plan`.
#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    /// Also write the allocation by class and year as SVG.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Write the linear programme in free MPS (solvable by scipy, HiGHS, ...).
    #[arg(long, value_name = "FILE")]
    export_lp: Option<PathBuf>,
    /// Binding constraints whose rates up and down are measured (two more solves each;
    /// money rows first, then class bounds, floors, caps, cycles, tranche sizes).
    #[arg(long, value_name = "N", default_value_t = holdco_strategy::plan::DEFAULT_MAX_RATES)]
    rates: usize,
    /// Only the approvals the plan needs under governance.toml's decision-rights table
    /// (each allocation a `capex` decision, each disposal counted on a `disposal`), with
    /// --json or --csv as well.
    #[arg(long)]
    approvals: bool,
    #[command(flatten)]
    format: crate::FormatFlags,
}

/// The model and its parsed documents; problems in the documents stop the command.
fn documents(context: &Context) -> Result<(Model, Documents)> {
    let model = current_model(context)?;
    let (documents, problems) = holdco_strategy::check(&model);
    if !problems.is_empty() {
        crate::commands::print_capped(&problems, None);
        bail!(
            "{} problem(s) in the strategy documents; fix them and run `holdco check DIR`",
            problems.len()
        );
    }
    Ok((model, documents))
}

fn need_strategy(documents: &Documents) -> Result<&Strategy> {
    documents.strategy.as_ref().ok_or_else(|| anyhow!("the model has no strategy.toml: add one to the model folder (see docs/format.md, \"strategy.toml\") and import it again"))
}

fn need_capital(documents: &Documents) -> Result<&Capital> {
    documents.capital.as_ref().ok_or_else(|| anyhow!("the model has no capital.toml: add one to the model folder (see docs/format.md, \"capital.toml\") and import it again"))
}

/// `holdco classify`.
pub fn classify(context: &Context, args: &ClassifyArgs) -> Result<ExitCode> {
    let (model, documents) = documents(context)?;
    let strategy = need_strategy(&documents)?;
    let engine = Engine::new(&model)?;
    let date = match &args.at {
        Some(text) => parse_date(text, "at")?,
        None => engine.latest_structure_date(),
    };
    let classification = holdco_strategy::classify::classify(&engine, strategy, date);
    crate::commands::print_capped(&classification.problems, None);
    for warning in missing_value_warnings(strategy, &classification) {
        eprintln!("warning: {warning}");
    }
    if let Some(path) = &args.svg {
        let classes: Vec<String> = strategy.classes.iter().map(|c| c.id.clone()).collect();
        let svg = holdco_strategy::svg::matrix(
            &classification,
            &classes,
            &format!("{} portfolio on {}", model.group.name, date),
        );
        std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote the portfolio matrix to {}", path.display());
    }
    let rows = holdco_app::tables::classify_rows(&classification);
    match args.format.output() {
        Output::Json => render::print_json(&classification)?,
        Output::Csv => render::print_csv(&rows)?,
        Output::Table => {
            println!(
                "{} — classification on {date} (computed criteria read {})",
                strategy.name, classification.fiscal_year
            );
            let mut table = render::table(&[
                "unit",
                "name",
                "class",
                "score",
                "decided by",
                "what changed",
            ]);
            for row in &rows {
                table.add_row(vec![
                    row.unit.clone(),
                    row.name.clone(),
                    row.class.clone().unwrap_or_else(|| "–".into()),
                    one_decimal(row.score),
                    row.rule.clone().unwrap_or_else(|| "no rule holds".into()),
                    row.change.clone(),
                ]);
            }
            align_right(&mut table, [3]);
            println!("{table}");
            let mut table = render::table(
                &std::iter::once("unit")
                    .chain(strategy.criteria.iter().map(|c| c.id.as_str()))
                    .collect::<Vec<_>>(),
            );
            for unit in &classification.units {
                let mut cells = vec![unit.unit.to_string()];
                for value in &unit.criteria {
                    cells.push(match value.value {
                        Some(v)
                            if strategy.criteria.iter().any(|c| {
                                c.id == value.criterion
                                    && matches!(
                                        c.source,
                                        holdco_strategy::strategy::Source::Computed { .. }
                                    )
                            }) =>
                        {
                            format!("{} (+{})", number(v, true), one_decimal(value.contribution))
                        }
                        Some(v) => format!("{v} (+{})", one_decimal(value.contribution)),
                        None => "–".into(),
                    });
                }
                table.add_row(cells);
            }
            align_right(&mut table, 1..=strategy.criteria.len());
            println!("\nEach criterion's value and its points in the score:\n{table}");
            if !classification.absent.is_empty() {
                println!(
                    "Not in the group on {date}: {}",
                    classification
                        .absent
                        .iter()
                        .map(|u| u.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            println!("  each unit's evidence: holdco classify --at {date} --json; decisions over time: holdco history UNIT");
        }
    }
    Ok(if classification.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// What a binding constraint's rates say, in words: one rate both ways, or the two sides of a
/// degenerate optimum.
fn binding_meaning(binding: &holdco_strategy::plan::Binding, currency: &str) -> String {
    let words = |rate: f64, more: bool| {
        let verb = if more { "raising" } else { "lowering" };
        let gain = if more { rate } else { -rate };
        if gain.abs() < holdco_strategy::plan::RATE_TOLERANCE {
            format!("{verb} it changes nothing")
        } else if gain > 0.0 {
            format!("{verb} it by 1 bn {currency} adds {:.3} bn", gain)
        } else {
            format!("{verb} it by 1 bn {currency} costs {:.3} bn", -gain)
        }
    };
    if !binding.rates_measured {
        return format!("dual {:.3}; rates not measured", binding.shadow_price);
    }
    match (binding.rate_up, binding.rate_down) {
        (Some(up), Some(_)) if !binding.degenerate => words(up, true),
        (up, down) => {
            let up = up
                .map(|u| words(u, true))
                .unwrap_or_else(|| "raising it leaves no plan".into());
            let down = down
                .map(|d| words(d, false))
                .unwrap_or_else(|| "lowering it leaves no plan".into());
            format!("degenerate: {up}; {down}")
        }
    }
}

/// A warning for every criterion a unit has no value for that counts: weighted in the score
/// or named in a class rule. Such a criterion adds 0 points (as the lowest score of its
/// scale would), and a rule reading it sees 0, which for an analyst's 1-5 score lies below
/// the scale; a rule can test `"CRITERION" in missing` to treat the unit apart.
fn missing_value_warnings(
    strategy: &Strategy,
    classification: &holdco_strategy::classify::Classification,
) -> Vec<String> {
    let mut warnings = Vec::new();
    for unit in &classification.units {
        for value in unit.criteria.iter().filter(|v| v.value.is_none()) {
            let Some(criterion) = strategy.criteria.iter().find(|c| c.id == value.criterion) else {
                continue;
            };
            let in_rules: Vec<&str> = strategy
                .classes
                .iter()
                .filter(|c| rule_names(&c.rule, &criterion.id))
                .map(|c| c.id.as_str())
                .collect();
            if criterion.weight == 0.0 && in_rules.is_empty() {
                continue;
            }
            let (what, seen) = match &criterion.source {
                holdco_strategy::strategy::Source::Assessment { scale } => (
                    format!(
                        "no `{}` assessment on or before {}",
                        criterion.id, classification.date
                    ),
                    format!(
                        "the rules see {} = 0, below its scale {}-{}",
                        criterion.id, scale.0, scale.1
                    ),
                ),
                holdco_strategy::strategy::Source::Computed { .. } => (
                    format!("no figure for `{}` ({})", criterion.id, value.basis),
                    format!("the rules see {} = 0", criterion.id),
                ),
            };
            let rules = if in_rules.is_empty() {
                String::new()
            } else {
                format!(" (read by the rule of {})", in_rules.join(", "))
            };
            warnings.push(format!(
                "{}: {what}: it adds 0 of its {:.1} points to the score, as the lowest value would, and {seen}{rules}; a rule can test `\"{}\" in missing`",
                unit.unit,
                100.0 * criterion.weight / strategy.weights_sum,
                criterion.id
            ));
        }
    }
    warnings
}

/// True when the CEL text `rule` names the variable `name` (a whole word).
fn rule_names(rule: &str, name: &str) -> bool {
    rule.match_indices(name).any(|(at, _)| {
        let before = rule[..at].chars().next_back();
        let after = rule[at + name.len()..].chars().next();
        let word = |c: Option<char>| {
            c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '"' || c == '\'')
        };
        !word(before) && !word(after)
    })
}

/// `holdco plan`.
pub fn plan(context: &Context, args: &PlanArgs) -> Result<ExitCode> {
    let (model, documents) = documents(context)?;
    let capital = need_capital(&documents)?;
    let engine = Engine::new(&model)?;
    let classes =
        holdco_strategy::plan::classes_on(&engine, documents.strategy.as_ref(), capital.classes_on);
    if let Some(path) = &args.export_lp {
        let programme =
            holdco_strategy::plan::build(capital, documents.strategy.as_ref(), &classes);
        std::fs::write(path, programme.lp.to_mps("holdco_plan"))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!(
            "wrote the linear programme ({} variables, {} rows) to {} (free MPS, maximisation)",
            programme.lp.names.len(),
            programme.lp.rows.len(),
            path.display()
        );
    }
    let plan = match holdco_strategy::plan::solve_with_rates(
        capital,
        documents.strategy.as_ref(),
        &classes,
        args.rates,
    ) {
        Ok(plan) => plan,
        Err(PlanError::Infeasible(conflict)) => {
            eprintln!("the plan is infeasible: these constraints conflict (removing any one of them makes a plan possible):");
            for item in &conflict {
                eprintln!("  - {item}");
            }
            eprintln!(
                "loosen one of them in capital.toml or strategy.toml and run `holdco plan` again"
            );
            return Ok(ExitCode::from(1));
        }
        Err(other) => bail!("the plan cannot be made: {other}"),
    };
    if let Some(path) = &args.svg {
        let order: Vec<String> = documents
            .strategy
            .as_ref()
            .map(|s| s.classes.iter().map(|c| c.id.clone()).collect())
            .unwrap_or_default();
        std::fs::write(path, holdco_strategy::svg::allocation(&plan, &order))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote the allocation chart to {}", path.display());
    }
    let source = format!("the plan `{}`", plan.name);
    if args.approvals {
        let list =
            crate::governance_commands::plan_approvals(&model, &engine, &plan, capital.classes_on)?;
        crate::governance_commands::output_approvals(args.format.output(), &[(source, list)])?;
        return Ok(ExitCode::SUCCESS);
    }
    match args.format.output() {
        Output::Json => render::print_json(&plan)?,
        Output::Csv => render::print_csv(&holdco_app::tables::plan_rows(&plan))?,
        Output::Table => {
            println!(
                "{} ({} millions) — expected value created {}",
                plan.name,
                plan.currency,
                number(plan.objective, false)
            );
            let years: Vec<i32> = plan.years.iter().map(|y| y.year).collect();
            let header: Vec<String> = ["unit".to_string(), "class".to_string()]
                .into_iter()
                .chain(years.iter().map(|y| y.to_string()))
                .chain(["total".to_string()])
                .collect();
            let mut table = render::table(&header.iter().map(String::as_str).collect::<Vec<_>>());
            let mut units: Vec<(&str, &str)> = plan
                .allocation
                .iter()
                .map(|a| (a.unit.as_str(), a.class.as_str()))
                .collect();
            units.dedup();
            units.sort_by_key(|(unit, class)| (*class, *unit));
            units.dedup();
            for (unit, class) in units {
                let mut cells = vec![unit.to_string(), class.to_string()];
                let mut total = 0.0;
                for year in &years {
                    let amount: f64 = plan
                        .allocation
                        .iter()
                        .filter(|a| a.unit.as_str() == unit && a.year == *year)
                        .map(|a| a.amount)
                        .sum();
                    total += amount;
                    cells.push(number(amount, false));
                }
                cells.push(number(total, false));
                table.add_row(cells);
            }
            for (label, pick) in [("allocated", 0), ("available", 1), ("unused", 2)] {
                let mut cells = vec![label.to_string(), String::new()];
                let mut total = 0.0;
                for year in &plan.years {
                    let v = [year.allocated, year.available, year.unused][pick];
                    total += v;
                    cells.push(number(v, false));
                }
                cells.push(number(total, false));
                table.add_row(cells);
            }
            align_right(&mut table, 2..header.len());
            println!("{table}");
            let mut table = render::table(&[
                "binding constraint",
                "shadow price",
                "rate up",
                "rate down",
                "meaning",
            ]);
            for binding in &plan.binding {
                let rate = |r: Option<f64>| match r {
                    Some(r) => format!("{r:.3}"),
                    None if binding.rates_measured => "no plan".into(),
                    None => "–".into(),
                };
                table.add_row(vec![
                    binding.description.clone(),
                    format!("{:.3}", binding.shadow_price),
                    rate(binding.rate_up),
                    rate(binding.rate_down),
                    binding_meaning(binding, &plan.currency),
                ]);
            }
            align_right(&mut table, 1..=3);
            println!("\n{table}");
            println!(
                "rate up / down: value gained per unit more / lost per unit less, re-solved with the bound moved by {} ({} m); they differ where the optimum is degenerate (several shadow prices are optimal), and only they hold for a move that way",
                number(plan.rate_step, false),
                plan.currency
            );
            if plan.rates_not_measured > 0 {
                println!("{} binding constraint(s) beyond --rates {} show the solver's dual only (–); raise --rates to measure them", plan.rates_not_measured, args.rates);
            }
            if !plan.realisations.is_empty() {
                let items: Vec<String> = plan
                    .realisations
                    .iter()
                    .map(|r| {
                        format!(
                            "{} ({}{}) {} in {}",
                            r.unit,
                            r.class,
                            r.form
                                .as_ref()
                                .map(|f| format!(", {f}"))
                                .unwrap_or_default(),
                            number(r.amount, false),
                            r.year
                        )
                    })
                    .collect();
                println!("disposal proceeds in the budget: {}", items.join("; "));
            }
            if let Some(r) = &plan.reallocation {
                println!(
                    "reallocation against the previous plan: {:.1}% ({} of {} moved between units)",
                    r.rate * 100.0,
                    number(r.moved, false),
                    number(r.base, false)
                );
            }
            println!("  {}", plan.method);
            match crate::governance_commands::plan_approvals(
                &model,
                &engine,
                &plan,
                capital.classes_on,
            ) {
                Ok(Some(list)) => {
                    println!();
                    crate::governance_commands::print_approvals(
                        &format!("Approvals the plan needs (governance.toml [[rights]]; holders on {}, the plan's classes_on; `holdco plan --approvals --json` lists them)", capital.classes_on),
                        &list,
                    );
                }
                Ok(None) => {}
                Err(e) => println!("\napprovals not listed: {e}"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A score with one decimal, halves rounded away from zero as people round (81.25 prints
/// 81.3; Rust's formatting would print 81.2, rounding half to even).
fn one_decimal(value: f64) -> String {
    format!("{:.1}", (value * 10.0).round() / 10.0)
}
