//! `holdco scenario run | compare | diff | list`: glue between the model, the
//! holdco-scenario crate and the renderers.

use crate::commands::{current_model, Context};
use crate::render::{self, align_right, Output};
use anyhow::{bail, Context as _, Result};
use holdco_core::Model;
use holdco_scenario::engine::{self, Projection};
use holdco_scenario::report::{self, BridgeLine, Distribution, ScenarioResult, Tornado};
use holdco_scenario::spec::{self, Scenario};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `holdco scenario`.
#[derive(clap::Args, Debug)]
pub struct ScenarioArgs {
    #[command(subcommand)]
    command: ScenarioCommand,
}

/// Monte Carlo options shared by `run` and `compare`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunOptions {
    /// Number of Monte Carlo paths.
    #[arg(long, default_value_t = 100_000)]
    paths: u64,
    /// Seed: the same seed gives bit-identical results on any number of threads.
    #[arg(long, default_value_t = 2023)]
    seed: u64,
    /// Worker threads (all cores when omitted).
    #[arg(long)]
    threads: Option<usize>,
    /// Bars in the tornado.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Write the charts (fan charts of revenue and EBITA, value histogram, tornado) as SVG
    /// files into this folder.
    #[arg(long, value_name = "DIR")]
    svg: Option<PathBuf>,
    #[command(flatten)]
    format: crate::FormatFlags,
}

#[derive(clap::Subcommand, Debug)]
enum ScenarioCommand {
    /// List the model's scenarios.
    List {
        #[command(flatten)]
        format: crate::FormatFlags,
    },
    /// Value one scenario by sum of the parts over seeded Monte Carlo paths.
    Run {
        /// Scenario name (file stem in scenarios/).
        name: String,
        #[command(flatten)]
        options: RunOptions,
    },
    /// Value two scenarios on the same paths and compare them (A - B, P(A > B)).
    Compare {
        /// Scenario A.
        a: String,
        /// Scenario B.
        b: String,
        #[command(flatten)]
        options: RunOptions,
    },
    /// The approvals the changes of one or more branches need under governance.toml's
    /// decision-rights table (each change on the eve of its date; rule 8.11).
    Approvals {
        /// Scenario names.
        #[arg(required = true)]
        names: Vec<String>,
        #[command(flatten)]
        format: crate::FormatFlags,
    },
    /// What differs between two scenarios: changes and assumptions.
    Diff {
        /// Scenario A.
        a: String,
        /// Scenario B.
        b: String,
        #[command(flatten)]
        format: crate::FormatFlags,
    },
}

/// `holdco scenario ...`.
pub fn scenario(context: &Context, args: &ScenarioArgs) -> Result<ExitCode> {
    let model = current_model(context)?;
    let (scenarios, problems) = spec::read_all(&model);
    if !problems.is_empty() {
        crate::commands::print_capped(&problems, None);
        bail!(
            "{} problem(s) in the scenario files; fix them and run `holdco check DIR`",
            problems.len()
        );
    }
    match &args.command {
        ScenarioCommand::List { format } => list(&model, &scenarios, format.output()),
        ScenarioCommand::Run { name, options } => {
            let scenario = find(&scenarios, name)?;
            let (projection, warnings) = compile(&model, scenario)?;
            let simulation = simulate(&[&projection], options)?;
            let mut run = report::run(
                &projection,
                &scenario.title,
                model.group.currency.as_str(),
                &simulation,
                options.top,
            );
            run.result.warnings = warnings;
            write_charts(
                options.svg.as_deref(),
                &[&run.result],
                &run.tornado,
                &chart_context(&model, scenario, options),
            )?;
            match options.format.output() {
                Output::Json => render::print_json(&run)?,
                Output::Csv => {
                    render::print_csv(&holdco_app::tables::scenario_rows(&[&run.result], None))?
                }
                Output::Table => {
                    print_run(&run);
                    print_approvals(&model, &[scenario]);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ScenarioCommand::Compare { a, b, options } => {
            let (sa, sb) = (find(&scenarios, a)?, find(&scenarios, b)?);
            let ((pa, warnings_a), (pb, warnings_b)) = (compile(&model, sa)?, compile(&model, sb)?);
            let simulation = simulate(&[&pa, &pb], options)?;
            let mut comparison = report::compare(
                (&pa, &sa.title),
                (&pb, &sb.title),
                model.group.currency.as_str(),
                &simulation,
                options.top,
            );
            comparison.a.warnings = warnings_a;
            comparison.b.warnings = warnings_b;
            write_charts(
                options.svg.as_deref(),
                &[&comparison.a, &comparison.b],
                &comparison.tornado,
                &chart_context(&model, sa, options),
            )?;
            match options.format.output() {
                Output::Json => render::print_json(&comparison)?,
                Output::Csv => render::print_csv(&holdco_app::tables::scenario_rows(
                    &[&comparison.a, &comparison.b],
                    Some(&comparison.difference),
                ))?,
                Output::Table => {
                    print_comparison(&comparison);
                    print_approvals(&model, &[sa, sb]);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ScenarioCommand::Approvals { names, format } => {
            let mut groups = Vec::new();
            for name in names {
                let scenario = find(&scenarios, name)?;
                groups.push((
                    format!("the branch `{name}`"),
                    crate::governance_commands::branch_approvals(&model, &scenario.changes)?,
                ));
            }
            crate::governance_commands::output_approvals(format.output(), &groups)?;
            Ok(ExitCode::SUCCESS)
        }
        ScenarioCommand::Diff { a, b, format } => {
            let diff = spec::diff(find(&scenarios, a)?, find(&scenarios, b)?);
            match format.output() {
                Output::Json => render::print_json(&diff)?,
                Output::Csv => {
                    let rows = holdco_app::tables::diff_rows(&diff);
                    render::print_csv(&rows)?;
                }
                Output::Table => {
                    println!("{} vs {}", diff.a, diff.b);
                    if diff.changes_only_a.is_empty() && diff.changes_only_b.is_empty() {
                        println!("\nSame changes.");
                    } else {
                        let mut table = render::table(&["change", &diff.a, &diff.b]);
                        for c in &diff.changes_only_a {
                            table.add_row(vec![c.clone(), "yes".into(), "–".into()]);
                        }
                        for c in &diff.changes_only_b {
                            table.add_row(vec![c.clone(), "–".into(), "yes".into()]);
                        }
                        println!("\nChanges:\n{table}");
                    }
                    if diff.assumptions.is_empty() {
                        println!("\nSame assumptions.");
                    } else {
                        let mut table = render::table(&["assumption", &diff.a, &diff.b]);
                        for d in &diff.assumptions {
                            table.add_row(vec![
                                d.key.clone(),
                                d.a.clone().unwrap_or_else(|| "–".into()),
                                d.b.clone().unwrap_or_else(|| "–".into()),
                            ]);
                        }
                        println!("\nAssumptions that differ:\n{table}");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// After a run or comparison's tables: the approvals each branch needs, when the model has
/// a decision-rights table (a problem is said, never fatal: the valuation stands).
fn print_approvals(model: &Model, scenarios: &[&Scenario]) {
    for scenario in scenarios {
        match crate::governance_commands::branch_approvals(model, &scenario.changes) {
            Ok(Some(list)) => {
                println!();
                crate::governance_commands::print_approvals(
                    &format!(
                        "Approvals the branch `{}` needs (governance.toml [[rights]]; `holdco scenario approvals {}` for --json/--csv)",
                        scenario.name, scenario.name
                    ),
                    &list,
                );
            }
            Ok(None) => {}
            Err(e) => println!("\napprovals of `{}` not listed: {e}", scenario.name),
        }
    }
}

fn find<'s>(scenarios: &'s BTreeMap<String, Scenario>, name: &str) -> Result<&'s Scenario> {
    match scenarios.get(name) {
        Some(s) => Ok(s),
        None if scenarios.is_empty() => bail!("the model has no scenarios: add scenarios/{name}.toml to the model folder (see docs/format.md, \"Scenarios\") and import it"),
        None => bail!("unknown scenario `{name}` (scenarios: {})", scenarios.keys().cloned().collect::<Vec<_>>().join(", ")),
    }
}

/// The scenario compiled, its warnings printed to stderr and returned (for --json).
fn compile(model: &Model, scenario: &Scenario) -> Result<(Projection, Vec<String>)> {
    match holdco_scenario::compile::compile_with_warnings(model, scenario) {
        Ok((projection, warnings)) => {
            let warnings: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
            for warning in &warnings {
                eprintln!("warning: {warning}");
            }
            Ok((projection, warnings))
        }
        Err(problems) => {
            crate::commands::print_capped(&problems, None);
            bail!(
                "scenario `{}` cannot be valued: {} problem(s) above",
                scenario.name,
                problems.len()
            )
        }
    }
}

/// Most Monte Carlo paths in one run.
pub const MAX_PATHS: u64 = 100_000_000;
/// Most paths × projected years in one run (about an hour of work on two cores).
pub const MAX_PATH_YEARS: u64 = 2_000_000_000;

fn simulate(projections: &[&Projection], options: &RunOptions) -> Result<engine::Simulation> {
    if options.paths == 0 {
        bail!("--paths must be at least 1");
    }
    let years = projections
        .iter()
        .map(|p| p.years.len() as u64)
        .max()
        .unwrap_or(1)
        .max(1);
    if options.paths > MAX_PATHS || options.paths.saturating_mul(years) > MAX_PATH_YEARS {
        bail!(
            "--paths {} over {years} years is beyond the limit ({MAX_PATHS} paths, {MAX_PATH_YEARS} path-years); results settle long before (see the standard errors printed)",
            options.paths
        );
    }
    let threads = options
        .threads
        .map(crate::limits::capped_threads)
        .transpose()?;
    let bar = ProgressBar::new(options.paths);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} paths, {eta} left")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(
        crate::render::terminal_value(
            &projections
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(" vs "),
        )
        .into_owned(),
    );
    let progress = |done: u64| bar.set_position(done);
    let simulation = match threads {
        Some(threads) => rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .context("starting the worker threads")?
            .install(|| engine::simulate(projections, options.paths, options.seed, &progress)),
        None => engine::simulate(projections, options.paths, options.seed, &progress),
    };
    bar.finish_and_clear();
    Ok(simulation)
}

/// Years of actual history drawn before a fan chart (the base year and these before it).
const ACTUAL_YEARS_BACK: usize = 4;

/// Paths, seed and the actual history (from the model, not the scenario's branch) for the
/// charts. For a comparison, the first scenario's horizon gives the years.
fn chart_context(model: &Model, scenario: &Scenario, options: &RunOptions) -> report::ChartContext {
    let [revenue, ebita] = if options.svg.is_some() {
        holdco_scenario::compile::actuals(model, scenario, ACTUAL_YEARS_BACK)
    } else {
        [None, None]
    };
    report::ChartContext {
        paths: options.paths,
        seed: options.seed,
        group: model.group.name.clone(),
        revenue,
        ebita,
    }
}

fn write_charts(
    dir: Option<&Path>,
    results: &[&ScenarioResult],
    tornado: &Tornado,
    context: &report::ChartContext,
) -> Result<()> {
    let Some(dir) = dir else { return Ok(()) };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, svg) in report::charts(results, tornado, context) {
        let path = dir.join(name);
        std::fs::write(&path, svg).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn list(model: &Model, scenarios: &BTreeMap<String, Scenario>, output: Output) -> Result<ExitCode> {
    let rows = holdco_app::tables::scenario_list(model, scenarios);
    match output {
        Output::Json => render::print_json(&rows)?,
        Output::Csv => render::print_csv(&rows)?,
        Output::Table => {
            let mut table = render::table(&[
                "scenario",
                "title",
                "base",
                "changes",
                "assumptions",
                "ready",
            ]);
            for r in &rows {
                table.add_row(vec![
                    r.name.clone(),
                    r.title.clone(),
                    r.base.clone(),
                    r.changes.to_string(),
                    r.assumptions.to_string(),
                    r.valuable.clone(),
                ]);
            }
            align_right(&mut table, [3, 4]);
            println!("{table}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Amounts in the tables: whole millions with thousands separators.
fn money(value: f64) -> String {
    render::number(value.round(), false)
}

fn distribution_cells(d: &Distribution) -> Vec<String> {
    vec![
        money(d.mean),
        money(d.se),
        money(d.p5),
        money(d.p25),
        money(d.p50),
        money(d.p75),
        money(d.p95),
    ]
}

fn print_header(results: &[&ScenarioResult], paths: u64, seed: u64) {
    for r in results {
        println!("{} — {}", r.scenario, r.title);
    }
    println!(
        "{paths} paths, seed {seed}; {} millions. Every input is an assumption written in the scenario file, with its source.",
        results.first().map(|r| r.currency.as_str()).unwrap_or("")
    );
}

fn print_distributions(rows: &[(String, &Distribution)]) {
    let mut table = render::table(&[
        "value to shareholders",
        "mean",
        "± se",
        "P5",
        "P25",
        "P50",
        "P75",
        "P95",
    ]);
    for (name, d) in rows {
        let mut cells = vec![name.clone()];
        cells.extend(distribution_cells(d));
        table.add_row(cells);
    }
    align_right(&mut table, 1..=7);
    println!("\n{table}");
    let accuracy = rows
        .iter()
        .map(|(_, d)| d.quantile_accuracy)
        .fold(0.0, f64::max);
    if accuracy > 0.0 {
        println!("Mean ± standard error: exact over the paths. Percentiles: from a quantile sketch accurate to ±{}%, rounded to that accuracy.", accuracy * 100.0);
    }
}

fn print_bridge(results: &[&ScenarioResult]) {
    let mut lines: Vec<String> = Vec::new();
    for r in results {
        for line in &r.bridge {
            if !lines.contains(&line.line) {
                lines.push(line.line.clone());
            }
        }
    }
    let header: Vec<String> = std::iter::once("sum of the parts (mean over paths)".to_string())
        .chain(results.iter().map(|r| r.scenario.clone()))
        .collect();
    let mut table = render::table(&header.iter().map(String::as_str).collect::<Vec<_>>());
    let find = |r: &ScenarioResult, line: &str| {
        r.bridge
            .iter()
            .find(|b: &&BridgeLine| b.line == line)
            .map(|b| money(b.mean))
            .unwrap_or_else(|| "–".into())
    };
    for line in &lines {
        let mut cells = vec![line.clone()];
        cells.extend(results.iter().map(|r| find(r, line)));
        table.add_row(cells);
    }
    let mut total = vec!["= value".to_string()];
    total.extend(results.iter().map(|r| money(r.value.mean)));
    table.add_row(total);
    align_right(&mut table, 1..=results.len());
    println!("\n{table}");
    let mut parts = render::table(&["part", "name", "scenario", "status", "base-year revenue"]);
    for r in results {
        for p in &r.parts {
            parts.add_row(vec![
                p.unit.clone(),
                p.name.clone(),
                r.scenario.clone(),
                p.status.clone(),
                money(p.revenue0),
            ]);
        }
    }
    align_right(&mut parts, [4]);
    println!("{parts}");
    for r in results {
        for p in &r.parts {
            if let Some(words) = &p.dis_synergy {
                println!("{} in {}: {words}", p.name, r.scenario);
            }
        }
    }
    for r in results {
        for warning in &r.warnings {
            println!("warning ({}): {warning}", r.scenario);
        }
    }
}

fn print_fans(results: &[&ScenarioResult]) {
    let Some(first) = results.first() else { return };
    let mut header = vec!["year".to_string()];
    for r in results {
        header.push(format!("{} revenue P50 (P5–P95)", r.scenario));
        header.push(format!("{} EBITA P50 (P5–P95)", r.scenario));
    }
    let mut table = render::table(&header.iter().map(String::as_str).collect::<Vec<_>>());
    for (t, year) in first.revenue.years.iter().enumerate() {
        let mut cells = vec![year.clone()];
        for r in results {
            cells.push(format!(
                "{} ({}–{})",
                money(r.revenue.p50[t]),
                money(r.revenue.p5[t]),
                money(r.revenue.p95[t])
            ));
            cells.push(format!(
                "{} ({}–{})",
                money(r.ebita.p50[t]),
                money(r.ebita.p5[t]),
                money(r.ebita.p95[t])
            ));
        }
        table.add_row(cells);
    }
    align_right(&mut table, 1..=2 * results.len());
    println!("\nProjected group figures (each part at the consolidation factor of the stake held in that year, weighted by days held; eliminations included where they are a part; a part valued on revenue loses its dis-synergy's share of revenue; percentiles rounded to the sketch's ±0.2%):\n{table}");
}

fn print_tornado(tornado: &Tornado) {
    if tornado.swings.is_empty() {
        println!(
            "\nNo assumption is uncertain: the value is deterministic ({}).",
            money(tornado.base)
        );
        return;
    }
    let mut table = render::table(&["assumption", "at P10", "at P90", "swing", "P10 / P90 input"]);
    for s in &tornado.swings {
        table.add_row(vec![
            tornado.label(&s.assumption).to_string(),
            money(s.low),
            money(s.high),
            money((s.high - s.low).abs()),
            format!("{} / {}", s.low_note, s.high_note),
        ]);
    }
    align_right(&mut table, 1..=3);
    println!(
        "\nWhat moves {} most: a deterministic sensitivity around the all-median point (one assumption at a time at its P10 and P90, every other at its median). Base, all at medians: {} (not the Monte Carlo mean).\n{table}",
        tornado.measure,
        money(tornado.base)
    );
    if !tornado.dropped.is_empty() {
        let widest = tornado
            .dropped
            .iter()
            .map(|s| (s.high - s.low).abs())
            .fold(0.0, f64::max);
        let names: Vec<&str> = tornado
            .dropped
            .iter()
            .map(|s| tornado.label(&s.assumption))
            .collect();
        println!(
            "Not shown ({} with smaller swings, each at most {}; --top N shows more): {}",
            names.len(),
            money(widest),
            names.join("; ")
        );
    }
}

fn print_run(run: &report::Run) {
    print_header(&[&run.result], run.paths, run.seed);
    print_distributions(&[(run.result.scenario.clone(), &run.result.value)]);
    print_bridge(&[&run.result]);
    print_fans(&[&run.result]);
    print_tornado(&run.tornado);
}

fn print_comparison(c: &report::Comparison) {
    print_header(&[&c.a, &c.b], c.paths, c.seed);
    print_distributions(&[
        (c.a.scenario.clone(), &c.a.value),
        (c.b.scenario.clone(), &c.b.value),
        (
            format!("{} - {}", c.a.scenario, c.b.scenario),
            &c.difference,
        ),
    ]);
    println!(
        "P({} > {}) = {:.3} ± {:.3} (paired: both scenarios on the same paths)",
        c.a.scenario, c.b.scenario, c.p_a_greater, c.p_a_greater_se
    );
    print_bridge(&[&c.a, &c.b]);
    print_fans(&[&c.a, &c.b]);
    print_tornado(&c.tornado);
}
