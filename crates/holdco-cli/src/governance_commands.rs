//! The governance commands: `people`, `board`, `person`, `moves`, `pipeline`, `rights`,
//! `governance check`, `scorecard` and `incentives`. Glue between the model (store or
//! folder), the holdco-governance crate and the renderers; no domain logic here.

use crate::commands::{current_model, parse_date, Context};
use crate::render::{self, align_right, number, Output};
use anyhow::{anyhow, bail, Result};
use chrono::NaiveDate;
use holdco_core::rollup::Engine;
use holdco_core::{Model, Period, UnitId};
use holdco_governance::approvals::{self, Action, Approval, Status as ApprovalStatus};
use holdco_governance::ledger::Ledger;
use holdco_governance::queries;
use serde::Serialize;
use std::process::ExitCode;

/// `--json` and `--csv` (the governance tables have no workbook form yet).
#[derive(clap::Args, Debug, Clone)]
pub struct Format {
    /// Emit JSON.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Emit CSV.
    #[arg(long)]
    csv: bool,
}

impl Format {
    fn output(&self) -> Output {
        Output::from_flags(self.json, self.csv)
    }
}

/// Arguments of `holdco people`.
#[derive(clap::Args, Debug)]
pub struct PeopleArgs {
    /// Date (YYYY-MM-DD).
    #[arg(long)]
    at: String,
    /// Only this unit and the units below it.
    #[arg(long)]
    unit: Option<String>,
    /// In the branch of this scenario (scenarios/NAME.toml): its planned changes and
    /// appointments added to the log.
    #[arg(long)]
    scenario: Option<String>,
    #[command(flatten)]
    format: Format,
}

/// Arguments of `holdco board`.
#[derive(clap::Args, Debug)]
pub struct BoardArgs {
    /// Unit id.
    unit: String,
    /// Date (YYYY-MM-DD).
    #[arg(long)]
    at: String,
    #[command(flatten)]
    format: Format,
}

/// Arguments of `holdco person`.
#[derive(clap::Args, Debug)]
pub struct PersonArgs {
    /// Person id (people.csv).
    id: String,
    /// Date the tenures are counted to (YYYY-MM-DD); today when omitted.
    #[arg(long)]
    at: Option<String>,
    #[command(flatten)]
    format: Format,
}

/// Arguments of `holdco moves`.
#[derive(clap::Args, Debug)]
pub struct MovesArgs {
    /// First day (YYYY-MM-DD).
    #[arg(long)]
    from: String,
    /// Last day (YYYY-MM-DD).
    #[arg(long)]
    to: String,
    #[command(flatten)]
    format: Format,
}

/// Arguments of `holdco pipeline`.
#[derive(clap::Args, Debug)]
pub struct PipelineArgs {
    /// Date (YYYY-MM-DD).
    #[arg(long)]
    at: String,
    /// `unit`: also each unit directly below the group (or the target's unit).
    #[arg(long, value_parser = ["unit"])]
    by: Option<String>,
    /// The cohort's first birth year (the target's when omitted).
    #[arg(long)]
    born_from: Option<i32>,
    /// In the branch of this scenario (scenarios/NAME.toml): planned appointments project
    /// the trajectory.
    #[arg(long)]
    scenario: Option<String>,
    #[command(flatten)]
    format: Format,
}

/// Arguments of `holdco rights`.
#[derive(clap::Args, Debug)]
pub struct RightsArgs {
    /// Unit the decision is about.
    unit: String,
    /// Decision kind (capex, acquisition, disposal, ...; see governance.toml [[rights]]).
    #[arg(long)]
    decision: String,
    /// Amount, in the group's currency and scale.
    #[arg(long)]
    amount: f64,
    /// Date (YYYY-MM-DD); today when omitted.
    #[arg(long)]
    at: Option<String>,
    #[command(flatten)]
    format: Format,
}

/// Arguments of `holdco governance`.
#[derive(clap::Args, Debug)]
pub struct GovernanceArgs {
    #[command(subcommand)]
    command: GovernanceCommand,
}

#[derive(clap::Subcommand, Debug)]
enum GovernanceCommand {
    /// Every breach of the governance rules on a date; exits 1 when there is one.
    Check {
        /// Date (YYYY-MM-DD); today when omitted.
        #[arg(long)]
        at: Option<String>,
        #[command(flatten)]
        format: Format,
    },
}

/// Arguments of `holdco scorecard`.
#[derive(clap::Args, Debug)]
pub struct ScorecardArgs {
    /// Period (e.g. FY2025).
    #[arg(long)]
    period: String,
    /// Only targets of this unit and the units below it.
    #[arg(long)]
    node: Option<String>,
    #[command(flatten)]
    format: Format,
}

/// Arguments of `holdco incentives`.
#[derive(clap::Args, Debug)]
pub struct IncentivesArgs {
    /// Period (e.g. FY2025).
    #[arg(long)]
    period: String,
    #[command(flatten)]
    format: Format,
}

/// Today (UTC), from the system clock.
fn today() -> NaiveDate {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0);
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .expect("a date")
        .checked_add_days(chrono::Days::new(days))
        .unwrap_or(NaiveDate::MAX)
}

fn date_or_today(text: Option<&str>, what: &str) -> Result<NaiveDate> {
    match text {
        Some(t) => parse_date(t, what),
        None => Ok(today()),
    }
}

fn unit_id(text: &str) -> Result<UnitId> {
    UnitId::parse(text).map_err(|e| anyhow!("{text}: {e}"))
}

/// Loads the model and its people ledger; problems in the governance files stop the
/// command (they were checked on import, so this only happens with --model).
fn with_ledger<T>(
    context: &Context,
    run: impl FnOnce(&Model, &Engine, &Ledger) -> Result<T>,
) -> Result<T> {
    with_branch(context, None, run)
}

/// [`with_ledger`] in the branch of a scenario: the changes and events of
/// `scenarios/NAME.toml` added to the log (its own changes only, not a base's).
fn with_branch<T>(
    context: &Context,
    scenario: Option<&str>,
    run: impl FnOnce(&Model, &Engine, &Ledger) -> Result<T>,
) -> Result<T> {
    let mut model = current_model(context)?;
    if let Some(name) = scenario {
        let path = format!("scenarios/{name}.toml");
        let Some(text) = model.documents.get(&path).cloned() else {
            let known: Vec<&str> = model
                .documents
                .keys()
                .filter_map(|k| k.strip_prefix("scenarios/")?.strip_suffix(".toml"))
                .collect();
            bail!(
                "no scenario `{name}` (the model has: {}); `holdco scenario list` shows them",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            );
        };
        let mut problems = Vec::new();
        let changes = holdco_core::format::parse_changes(
            &path,
            &text,
            &model.group,
            &model.metrics,
            &mut problems,
        );
        if !problems.is_empty() {
            crate::commands::print_capped(&problems, None);
            bail!(
                "{} problem(s) in {path}; run `holdco check DIR`",
                problems.len()
            );
        }
        model.timeline.extend(changes);
        let (_, problems) = holdco_core::validate::validate(&model);
        if !problems.is_empty() {
            crate::commands::print_capped(&problems, None);
            bail!(
                "the branch of `{name}` does not replay ({} problem(s))",
                problems.len()
            );
        }
    }
    let model = model;
    if !holdco_governance::in_use(&model) {
        bail!("the model has no people: add people.csv and `people.appoint` events (docs/format.md, \"people.csv\") and import it again");
    }
    let engine = Engine::new(&model)?;
    let (ledger, problems) = holdco_governance::load(&model, engine.timeline());
    if !problems.is_empty() {
        crate::commands::print_capped(&problems, None);
        bail!(
            "{} problem(s) in the governance files; fix them and run `holdco check DIR`",
            problems.len()
        );
    }
    run(&model, &engine, &ledger)
}

fn opt_date(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn years(days: i64) -> String {
    format!("{:.1} y", days as f64 / 365.25)
}

/// `holdco people --at DATE [--unit U]`.
pub fn people(context: &Context, args: &PeopleArgs) -> Result<ExitCode> {
    let date = parse_date(&args.at, "at")?;
    let node = args.unit.as_deref().map(unit_id).transpose()?;
    with_branch(context, args.scenario.as_deref(), |_, engine, ledger| {
        let rows = queries::leaders(ledger, engine.timeline(), date, node.as_ref())
            .map_err(|e| anyhow!("{e}"))?;
        match args.format.output() {
            Output::Json => render::print_json(&serde_json::json!({ "at": date, "roles": rows }))?,
            Output::Csv => render::print_csv(&rows)?,
            Output::Table => {
                println!("Leaders and bodies on {date}");
                let mut table =
                    render::table(&["unit", "role", "person", "since", "term to", "title"]);
                let mut last_unit = String::new();
                for row in &rows {
                    let unit = if row.unit == last_unit {
                        String::new()
                    } else {
                        format!(
                            "{}{} ({})",
                            "  ".repeat(row.depth as usize),
                            row.unit_name,
                            row.unit
                        )
                    };
                    last_unit = row.unit.to_string();
                    // A seat on a body names the body on a line of its own, so the role
                    // column stays as narrow as the longest role.
                    let role = match &row.body {
                        Some(body) => format!("{}\n· {body}", row.role),
                        None => row.role.to_string(),
                    };
                    table.add_row(vec![
                        unit,
                        role,
                        format!("{} ({})", row.name, row.person),
                        row.since.to_string(),
                        opt_date(row.term_end),
                        row.title.unwrap_or_default().to_string(),
                    ]);
                }
                render::fit_to_terminal(&mut table, &[0, 5]);
                println!("{table}");
                if rows.is_empty() {
                    println!("nobody holds a role on {date} in this part of the group");
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

#[derive(Serialize)]
struct BoardRow {
    body: String,
    role: String,
    person: String,
    name: String,
    since: NaiveDate,
    term_end: Option<NaiveDate>,
}

/// `holdco board UNIT --at DATE`.
pub fn board(context: &Context, args: &BoardArgs) -> Result<ExitCode> {
    let date = parse_date(&args.at, "at")?;
    let unit = unit_id(&args.unit)?;
    with_ledger(context, |_, engine, ledger| {
        let bodies =
            queries::board(ledger, engine.timeline(), &unit, date).map_err(|e| anyhow!("{e}"))?;
        match args.format.output() {
            Output::Json => render::print_json(
                &serde_json::json!({ "unit": unit, "at": date, "bodies": bodies }),
            )?,
            Output::Csv => {
                let rows: Vec<BoardRow> = bodies
                    .iter()
                    .flat_map(|b| {
                        b.members.iter().map(|m| BoardRow {
                            body: b.body.clone(),
                            role: m.role.clone(),
                            person: m.person.clone(),
                            name: m.name.clone(),
                            since: m.since,
                            term_end: m.term_end,
                        })
                    })
                    .collect();
                render::print_csv(&rows)?
            }
            Output::Table => {
                if bodies.is_empty() {
                    println!("{unit} has no board or committee in governance.toml ([[body]] with unit = \"{unit}\")");
                }
                for b in &bodies {
                    println!(
                        "{} ({}, {}) on {date}: {} director(s){}, {} independent (minimum {})",
                        b.name,
                        b.body,
                        b.kind,
                        b.directors,
                        b.seats
                            .map(|s| format!(" of {s} seats"))
                            .unwrap_or_default(),
                        b.independent,
                        b.min_independent
                    );
                    let mut table = render::table(&["role", "person", "since", "term to"]);
                    for m in &b.members {
                        table.add_row(vec![
                            m.role.clone(),
                            format!("{} ({})", m.name, m.person),
                            m.since.to_string(),
                            opt_date(m.term_end),
                        ]);
                    }
                    println!("{table}");
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `holdco person ID`.
pub fn person(context: &Context, args: &PersonArgs) -> Result<ExitCode> {
    let date = date_or_today(args.at.as_deref(), "at")?;
    with_ledger(context, |_, _, ledger| {
        let report = queries::person(ledger, &args.id, date).map_err(|e| anyhow!("{e}"))?;
        match args.format.output() {
            Output::Json => render::print_json(&report)?,
            Output::Csv => render::print_csv(&report.roles)?,
            Output::Table => {
                println!(
                    "{} ({}){} — in the group since {}{}",
                    report.name,
                    report.id,
                    report
                        .birth_year
                        .map(|y| format!(", born {y}"))
                        .unwrap_or_default(),
                    report
                        .joined
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "(first day not published)".into()),
                    report
                        .left
                        .map(|l| format!(", left {l}"))
                        .unwrap_or_default()
                );
                println!(
                    "On {}: {} in the group{}",
                    report.at,
                    report
                        .group_tenure_days
                        .map(years)
                        .unwrap_or_else(|| "tenure unknown".into()),
                    match (&report.unit, report.unit_tenure_days) {
                        (Some(u), Some(d)) => format!(", {} in {u}", years(d)),
                        _ => String::new(),
                    }
                );
                let mut table = render::table(&["role", "of", "from", "until", "title", "ended"]);
                for r in &report.roles {
                    table.add_row(vec![
                        r.role.clone(),
                        r.seat.clone(),
                        r.from.to_string(),
                        opt_date(r.until),
                        r.title.clone().unwrap_or_default(),
                        r.ended.clone().unwrap_or_default(),
                    ]);
                }
                println!("{table}");
                if report.units.iter().any(|s| s.unit.is_some()) {
                    let mut table =
                        render::table(&["unit", "from", "until", "in the unit since", "how"]);
                    for s in &report.units {
                        table.add_row(vec![
                            s.unit
                                .as_ref()
                                .map(|u| u.to_string())
                                .unwrap_or_else(|| "(not recorded)".into()),
                            s.from.to_string(),
                            opt_date(s.until),
                            s.since.to_string(),
                            s.how.clone(),
                        ]);
                    }
                    println!("{table}");
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `holdco moves --from DATE --to DATE`.
pub fn moves(context: &Context, args: &MovesArgs) -> Result<ExitCode> {
    let from = parse_date(&args.from, "from")?;
    let to = parse_date(&args.to, "to")?;
    if to < from {
        bail!("--to {to} is before --from {from}");
    }
    with_ledger(context, |_, _, ledger| {
        let (list, kept) = queries::moves(ledger, from, to);
        match args.format.output() {
            Output::Json => render::print_json(
                &serde_json::json!({ "from": from, "to": to, "moves": list, "kept_service": kept }),
            )?,
            Output::Csv => render::print_csv(&list)?,
            Output::Table => {
                let mut table =
                    render::table(&["date", "person", "from", "to", "service", "in the group"]);
                for m in &list {
                    table.add_row(vec![
                        m.date.to_string(),
                        m.person.clone(),
                        m.from
                            .as_ref()
                            .map(|u| u.to_string())
                            .unwrap_or_else(|| "(not recorded)".into()),
                        m.to.to_string(),
                        if m.kept_service {
                            "kept"
                        } else {
                            "reset by the employer"
                        }
                        .to_string(),
                        m.group_tenure_days
                            .map(years)
                            .unwrap_or_else(|| "unknown".into()),
                    ]);
                }
                align_right(&mut table, [5]);
                println!("{table}");
                println!("{} move(s) from {from} to {to}; {kept} kept the years of service (tenure in the group is never reset by holdco)", list.len());
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn share(value: Option<f64>) -> String {
    value.map(|v| number(v, true)).unwrap_or_else(|| "–".into())
}

/// `holdco pipeline --at DATE [--by unit]`.
pub fn pipeline(context: &Context, args: &PipelineArgs) -> Result<ExitCode> {
    let date = parse_date(&args.at, "at")?;
    with_branch(context, args.scenario.as_deref(), |_, engine, ledger| {
        let answer = queries::pipeline(
            ledger,
            engine.timeline(),
            date,
            args.by.is_some(),
            args.born_from,
        )
        .map_err(|e| anyhow!("{e}"))?;
        match args.format.output() {
            Output::Json => render::print_json(&answer)?,
            Output::Csv => render::print_csv(&answer.rows)?,
            Output::Table => {
                let header = format!("born {} or later", answer.born_from);
                let columns = [
                    "unit",
                    "date",
                    "leaders",
                    header.as_str(),
                    "born before",
                    "unknown",
                ];
                println!("Leadership roles by birth cohort on {date}");
                let mut table = render::table(&columns);
                for r in &answer.rows {
                    table.add_row(vec![
                        format!("{} ({})", r.name, r.unit),
                        r.date.to_string(),
                        r.leaders.to_string(),
                        format!("{} {}", r.cohort, share(r.cohort_share)),
                        format!("{} {}", r.older, share(r.older_share)),
                        format!("{} {}", r.unknown, share(r.unknown_share)),
                    ]);
                }
                align_right(&mut table, [2, 3, 4, 5]);
                println!("{table}");
                println!("Trajectory:");
                let mut table = render::table(&columns);
                for r in &answer.trajectory {
                    table.add_row(vec![
                        format!("{} ({})", r.name, r.unit),
                        r.date.to_string(),
                        r.leaders.to_string(),
                        format!("{} {}", r.cohort, share(r.cohort_share)),
                        format!("{} {}", r.older, share(r.older_share)),
                        format!("{} {}", r.unknown, share(r.unknown_share)),
                    ]);
                }
                align_right(&mut table, [2, 3, 4, 5]);
                println!("{table}");
                if let Some(t) = &answer.target {
                    println!(
                        "Target {}: {} of leaders born {} or later by {}{}; gap on {date}: {}",
                        t.id,
                        number(t.share, true),
                        t.born_from,
                        t.by,
                        t.source
                            .as_ref()
                            .map(|s| format!(" ({s})"))
                            .unwrap_or_default(),
                        answer
                            .gap
                            .map(|g| number(g, true))
                            .unwrap_or_else(|| "–".into())
                    );
                }
                println!(
                    "Unknown = birth year not published; never guessed, never counted in a cohort."
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

#[derive(Serialize)]
struct RightsRow {
    unit: String,
    class: Option<String>,
    decision: String,
    amount: f64,
    band: String,
    approver: String,
    holders: String,
    note: Option<String>,
}

/// `holdco rights UNIT --decision KIND --amount X`.
pub fn rights(context: &Context, args: &RightsArgs) -> Result<ExitCode> {
    let date = date_or_today(args.at.as_deref(), "at")?;
    let unit = unit_id(&args.unit)?;
    if !args.amount.is_finite() || args.amount < 0.0 {
        bail!("--amount {}: expected a number of 0 or more", args.amount);
    }
    with_ledger(context, |_, engine, ledger| {
        let answer = queries::rights(
            ledger,
            engine.timeline(),
            &unit,
            &args.decision,
            args.amount,
            date,
        )
        .map_err(|e| anyhow!("{e}"))?;
        let row = RightsRow {
            unit: answer.unit.clone(),
            class: answer.class.clone(),
            decision: args.decision.clone(),
            amount: args.amount,
            band: format!(
                "{} to {}",
                answer.rule.from,
                answer
                    .rule
                    .to
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "no limit".into())
            ),
            approver: answer.approver.clone(),
            holders: answer
                .holders
                .iter()
                .map(|h| format!("{} ({})", h.name, h.role))
                .collect::<Vec<_>>()
                .join("; "),
            note: answer.rule.note.clone(),
        };
        match args.format.output() {
            Output::Json => render::print_json(&answer)?,
            Output::Csv => render::print_csv(&[row])?,
            Output::Table => {
                let mut table = render::table(&[
                    "unit", "class", "decision", "amount", "band", "approver", "held by",
                ]);
                table.add_row(vec![
                    row.unit,
                    row.class.unwrap_or_else(|| "(none)".into()),
                    row.decision,
                    number(row.amount, false),
                    row.band,
                    row.approver,
                    row.holders,
                ]);
                align_right(&mut table, [3]);
                println!("{table}");
                println!(
                    "governance.toml line {}{}",
                    answer.rule.line,
                    answer
                        .rule
                        .note
                        .map(|n| format!(": {n}"))
                        .unwrap_or_default()
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `holdco governance check [--at DATE]`: exit 1 when there are breaches.
pub fn governance(context: &Context, args: &GovernanceArgs) -> Result<ExitCode> {
    let GovernanceCommand::Check { at, format } = &args.command;
    let date = date_or_today(at.as_deref(), "at")?;
    with_ledger(context, |model, engine, ledger| {
        let breaches = queries::check(ledger, engine.timeline(), model, date);
        match format.output() {
            Output::Json => {
                render::print_json(&serde_json::json!({ "at": date, "breaches": breaches }))?
            }
            Output::Csv => render::print_csv(&breaches)?,
            Output::Table => {
                if breaches.is_empty() {
                    println!("no breach on {date}");
                } else {
                    let mut table = render::table(&["breach", "subject", "what"]);
                    for b in &breaches {
                        table.add_row(vec![b.kind.clone(), b.subject.clone(), b.message.clone()]);
                    }
                    render::fit_to_terminal(&mut table, &[2]);
                    println!("{table}");
                    println!("{} breach(es) on {date}", breaches.len());
                }
            }
        }
        Ok(if breaches.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}

fn period(model: &Model, text: &str) -> Result<Period> {
    Period::parse(text, model.group.calendar()).map_err(|e| anyhow!("--period {text}: {e}"))
}

fn opt_number(v: Option<f64>, percent: bool) -> String {
    v.map(|v| number(v, percent)).unwrap_or_else(|| "–".into())
}

/// `holdco scorecard --period P [--node U]`.
pub fn scorecard(context: &Context, args: &ScorecardArgs) -> Result<ExitCode> {
    let node = args.node.as_deref().map(unit_id).transpose()?;
    with_ledger(context, |model, engine, ledger| {
        let period = period(model, &args.period)?;
        let rows = holdco_governance::measure::scorecard(engine, ledger, period, node.as_ref())
            .map_err(|e| anyhow!(e))?;
        match args.format.output() {
            Output::Json => render::print_json(&rows)?,
            Output::Csv => render::print_csv(&rows)?,
            Output::Table => {
                if rows.is_empty() {
                    println!("no targets for {}: record them as facts with basis plan (docs/format.md, facts)", args.period);
                    return Ok(ExitCode::SUCCESS);
                }
                println!(
                    "Targets against results for {}, both in the structure of {}",
                    rows[0].period, rows[0].structure
                );
                let mut table = render::table(&[
                    "unit",
                    "metric",
                    "target",
                    "actual",
                    "variance",
                    "%",
                    "previous",
                    "trend",
                    "accountable",
                ]);
                for r in &rows {
                    table.add_row(vec![
                        format!("{} ({})", r.name, r.unit),
                        r.metric.clone(),
                        number(r.target, false),
                        opt_number(r.actual, false),
                        opt_number(r.variance, false),
                        opt_number(r.variance_share, true),
                        opt_number(r.previous, false),
                        opt_number(r.trend, true),
                        r.leader.clone(),
                    ]);
                }
                align_right(&mut table, [2, 3, 4, 5, 6, 7]);
                println!("{table}");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

#[derive(Serialize)]
struct IncentiveRow {
    plan: String,
    role: String,
    unit: String,
    holder: String,
    period: String,
    structure: NaiveDate,
    assumption: bool,
    metric: String,
    kpi_unit: String,
    weight: f64,
    threshold: f64,
    target: f64,
    maximum: f64,
    actual: Option<f64>,
    attainment: Option<f64>,
    payout: Option<f64>,
    plan_payout: Option<f64>,
    explanation: String,
}

/// `holdco incentives --period P`.
pub fn incentives(context: &Context, args: &IncentivesArgs) -> Result<ExitCode> {
    with_ledger(context, |model, engine, ledger| {
        let period = period(model, &args.period)?;
        let plans = holdco_governance::measure::incentives(engine, ledger, period);
        let rows: Vec<IncentiveRow> = plans
            .iter()
            .flat_map(|p| {
                p.kpis.iter().map(move |k| IncentiveRow {
                    plan: p.plan.clone(),
                    role: p.role.clone(),
                    unit: p.unit.clone(),
                    holder: p.holder.clone(),
                    period: p.period.clone(),
                    structure: p.structure,
                    assumption: p.assumption,
                    metric: k.metric.clone(),
                    kpi_unit: k.unit.clone(),
                    weight: k.weight,
                    threshold: k.threshold,
                    target: k.target,
                    maximum: k.maximum,
                    actual: k.actual,
                    attainment: k.attainment,
                    payout: k.payout,
                    plan_payout: p.payout,
                    explanation: k.explanation.clone(),
                })
            })
            .collect();
        match args.format.output() {
            Output::Json => render::print_json(&plans)?,
            Output::Csv => render::print_csv(&rows)?,
            Output::Table => {
                if plans.is_empty() {
                    println!("no incentive plan for {} in governance.toml ([[plan]] with period = \"{}\")", args.period, args.period);
                }
                for p in &plans {
                    println!(
                        "{} — {} of {} ({}), {} measured in the structure of {}{}: attainment {}, payout {} of target",
                        p.plan,
                        p.role,
                        p.unit,
                        if p.holder.is_empty() { "no holder recorded" } else { &p.holder },
                        p.period,
                        p.structure,
                        if p.assumption { " [illustrative assumption]" } else { "" },
                        opt_number(p.attainment, true),
                        opt_number(p.payout, false),
                    );
                    let mut table = render::table(&[
                        "metric",
                        "unit",
                        "weight",
                        "threshold",
                        "target",
                        "maximum",
                        "actual",
                        "payout",
                        "why",
                    ]);
                    for k in &p.kpis {
                        table.add_row(vec![
                            k.metric.clone(),
                            k.unit.clone(),
                            number(k.weight, true),
                            number(k.threshold, false),
                            number(k.target, false),
                            number(k.maximum, false),
                            opt_number(k.actual, false),
                            opt_number(k.payout, false),
                            k.explanation.clone(),
                        ]);
                    }
                    align_right(&mut table, [2, 3, 4, 5, 6, 7]);
                    println!("{table}");
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The ledger of `model` for listing approvals: None when the model has no governance
/// (no people, no governance.toml); problems in the governance files stop the command.
fn approvals_ledger(
    model: &Model,
    timeline: &holdco_core::timeline::Timeline,
) -> Result<Option<Ledger>> {
    if !holdco_governance::in_use(model) {
        return Ok(None);
    }
    let (ledger, problems) = holdco_governance::load(model, timeline);
    if !problems.is_empty() {
        crate::commands::print_capped(&problems, None);
        bail!(
            "{} problem(s) in the governance files; fix them and run `holdco check DIR`",
            problems.len()
        );
    }
    Ok(Some(ledger))
}

/// Relative tolerance of a plan's solved amounts against the bands' edges (rule 8.11): the
/// interior-point solver is accurate to about 1e-8 of the problem's scale.
const SOLVED: f64 = 1e-6;

/// The approvals a capital plan needs (rule 8.11): each allocation a `capex` decision of
/// its amount under the plan's class of the unit, each disposal whose proceeds the plan
/// counts on a `disposal` decision, resolved on the plan's `classes_on` date. None when the
/// model has no governance.
pub fn plan_approvals(
    model: &Model,
    engine: &Engine,
    plan: &holdco_strategy::plan::Plan,
    classes_on: NaiveDate,
) -> Result<Option<Vec<Approval>>> {
    let Some(ledger) = approvals_ledger(model, engine.timeline())? else {
        return Ok(None);
    };
    let in_group_currency = plan.currency == model.group.currency.as_str();
    let amount = |a: f64| {
        if in_group_currency {
            (Some(a), None)
        } else {
            (
                None,
                Some(format!(
                    "the plan is in {}, not the group's {}",
                    plan.currency,
                    model.group.currency.as_str()
                )),
            )
        }
    };
    let mut actions = Vec::new();
    for a in &plan.allocation {
        let (amount, no_amount) = amount(a.amount);
        actions.push(Action {
            what: format!("allocation {}", a.year),
            unit: a.unit.clone(),
            decisions: vec!["capex".into()],
            amount,
            no_amount,
            class: Some(a.class.clone()),
            date: classes_on,
            tolerance: SOLVED,
        });
    }
    for r in &plan.realisations {
        let (amount, no_amount) = amount(r.amount);
        actions.push(Action {
            what: format!("disposal proceeds {}", r.year),
            unit: r.unit.clone(),
            decisions: vec!["disposal".into()],
            amount,
            no_amount,
            class: Some(r.class.clone()),
            date: classes_on,
            tolerance: 0.0,
        });
    }
    Ok(Some(approvals::approvals(
        &ledger,
        engine.timeline(),
        &actions,
    )))
}

/// The approvals the changes of a scenario branch need (rule 8.11), each on the eve of its
/// date in the branch's log (the model's and the branch's changes, bases' first). None when
/// the model has no governance.
pub fn branch_approvals(
    model: &Model,
    changes: &[holdco_core::Change],
) -> Result<Option<Vec<Approval>>> {
    let mut branch = model.clone();
    branch.timeline.extend(changes.iter().cloned());
    let (timeline, problems) =
        holdco_core::timeline::Timeline::replay(&branch.group, &branch.metrics, &branch.timeline);
    if !problems.is_empty() {
        crate::commands::print_capped(&problems, None);
        bail!("the branch does not replay ({} problem(s))", problems.len());
    }
    let Some(ledger) = approvals_ledger(&branch, &timeline)? else {
        return Ok(None);
    };
    let actions: Vec<Action> = changes
        .iter()
        .filter_map(|c| approvals::action_of_change(c, &model.group.currency))
        .collect();
    Ok(Some(approvals::approvals(&ledger, &timeline, &actions)))
}

/// Prints approvals as a table under `title`, the rows' notes below it.
pub fn print_approvals(title: &str, approvals: &[Approval]) {
    println!("{title}");
    if approvals.is_empty() {
        println!("  none of its actions is a decision of the table");
        return;
    }
    let mut table = render::table(&[
        "action",
        "unit",
        "decision",
        "amount",
        "approver",
        "held on the date by",
    ]);
    let mut notes: Vec<String> = Vec::new();
    for a in approvals {
        let (approver, held) = match a.status {
            ApprovalStatus::Approver => (
                a.approver.clone().unwrap_or_default(),
                if a.holders.is_empty() {
                    "nobody".to_string()
                } else {
                    a.holders_text()
                },
            ),
            ApprovalStatus::NoRule => ("no row applies".into(), String::new()),
            ApprovalStatus::NotInGroup => ("–".into(), format!("not in the group on {}", a.date)),
        };
        let decision = match (&a.band, &a.line) {
            (Some(band), Some(line)) => format!("{} {band} (line {line})", a.decision),
            _ => a.decision.clone(),
        };
        if let Some(note) = &a.note {
            notes.push(format!("{} ({}): {note}", a.what, a.unit));
        }
        table.add_row(vec![
            a.what.clone(),
            a.unit.clone(),
            decision,
            a.amount
                .map(|v| number(v, false))
                .unwrap_or_else(|| "–".into()),
            approver,
            held,
        ]);
    }
    align_right(&mut table, 3..4);
    render::fit_to_terminal(&mut table, &[5, 4]);
    println!("{table}");
    let mut rules: Vec<(u32, &str)> = approvals
        .iter()
        .filter_map(|a| Some((a.line?, a.rule_note.as_deref()?)))
        .collect();
    rules.sort();
    rules.dedup();
    for note in notes {
        println!("  {note}");
    }
    for (line, note) in rules {
        println!("  governance.toml line {line}: {note}");
    }
}

/// Prints approvals in the chosen form; `source` names the plan or branch in CSV rows.
pub fn output_approvals(output: Output, groups: &[(String, Option<Vec<Approval>>)]) -> Result<()> {
    match output {
        Output::Json => {
            let value: Vec<serde_json::Value> = groups
                .iter()
                .map(|(source, list)| {
                    serde_json::json!({
                        "source": source,
                        "governance": list.is_some(),
                        "approvals": list.as_deref().unwrap_or_default(),
                    })
                })
                .collect();
            render::print_json(&value)?;
        }
        Output::Csv => {
            let rows: Vec<_> = groups
                .iter()
                .flat_map(|(source, list)| list.iter().flatten().map(move |a| a.row(source)))
                .collect();
            render::print_csv(&rows)?;
        }
        Output::Table => {
            for (source, list) in groups {
                match list {
                    Some(list) => print_approvals(&format!("Approvals {source} needs (governance.toml [[rights]])"), list),
                    None => println!("{source}: the model has no governance.toml or people: no decision-rights table to list approvals from"),
                }
            }
        }
    }
    Ok(())
}
