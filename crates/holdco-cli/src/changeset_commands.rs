//! `holdco changeset ...`, `holdco log` and `holdco revert`: change sets for the local user
//! (the rules live in the holdco-changeset crate; this file reads arguments and prints).

use crate::commands::{open_store, print_capped, problems_summary, store_url, Context};
use crate::render::{self, Output};
use anyhow::{anyhow, bail, Result};
use chrono::NaiveDate;
use holdco_changeset::{self as changeset, Action, ChangesetError, Diff, Preview, Proposal};
use holdco_core::FiscalCalendar;
use holdco_store::{ChangesetState, Store};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

/// `holdco changeset`: propose, review and apply changes to the stored model.
#[derive(clap::Args, Debug)]
pub struct ChangesetArgs {
    #[command(subcommand)]
    command: ChangesetCommand,
}

/// Who acts: `--user`, else $USER.
#[derive(clap::Args, Debug, Clone)]
pub struct UserFlag {
    /// Who acts (recorded in the change set's history); defaults to $USER.
    #[arg(long)]
    user: Option<String>,
}

/// `--json` and `--csv` for the tables of this file.
#[derive(clap::Args, Debug, Clone)]
pub struct TableFlags {
    /// Emit JSON.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Emit CSV.
    #[arg(long)]
    csv: bool,
}

#[derive(clap::Subcommand, Debug)]
enum ChangesetCommand {
    /// Record a change set as a draft, after validating it on the current model; prints
    /// what it would change.
    Create {
        /// Why (required; kept in the audit trail).
        #[arg(long)]
        message: String,
        /// The change set as JSON (timeline, facts, fx, documents, remove; see docs/format.md).
        #[arg(long, conflicts_with = "folder", required_unless_present = "folder")]
        file: Option<PathBuf>,
        /// The change set as a folder of model files holding only what changes.
        #[arg(long)]
        folder: Option<PathBuf>,
        #[command(flatten)]
        user: UserFlag,
        /// Emit JSON.
        #[arg(long)]
        json: bool,
    },
    /// List change sets.
    List {
        /// Only those in this state (draft, submitted, approved, applied, rejected, withdrawn).
        #[arg(long)]
        state: Option<String>,
        #[command(flatten)]
        format: TableFlags,
    },
    /// Show a change set: its history, what it changes, and its problems on the current model.
    Show {
        /// Change set id.
        id: i64,
        /// Emit JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send a draft for review (its author).
    Submit {
        /// Change set id.
        id: i64,
        #[command(flatten)]
        user: UserFlag,
    },
    /// Approve a submitted change set (anyone but its author).
    Approve {
        /// Change set id.
        id: i64,
        #[command(flatten)]
        user: UserFlag,
        /// A remark kept with the approval.
        #[arg(long)]
        note: Option<String>,
    },
    /// Reject a submitted or approved change set (anyone but its author).
    Reject {
        /// Change set id.
        id: i64,
        #[command(flatten)]
        user: UserFlag,
        /// Why it is rejected.
        #[arg(long)]
        note: Option<String>,
    },
    /// Take back a change set not yet applied (its author).
    Withdraw {
        /// Change set id.
        id: i64,
        #[command(flatten)]
        user: UserFlag,
    },
    /// Apply an approved change set (anyone but its author), all or nothing; refused when the
    /// model changed since it was made.
    Apply {
        /// Change set id.
        id: i64,
        #[command(flatten)]
        user: UserFlag,
    },
}

/// `holdco log`: the audit trail.
#[derive(clap::Args, Debug)]
pub struct LogArgs {
    /// Only change sets touching this unit (imports touch every unit).
    #[arg(long)]
    unit: Option<String>,
    /// Only those applied on or after this date (YYYY-MM-DD, UTC).
    #[arg(long)]
    since: Option<String>,
    #[command(flatten)]
    format: TableFlags,
}

/// `holdco revert CHANGESET`: the inverse change set, as a draft.
#[derive(clap::Args, Debug)]
pub struct RevertArgs {
    /// The applied change set to undo.
    changeset: i64,
    /// Why (defaults to "revert change set N (its message)").
    #[arg(long)]
    message: Option<String>,
    #[command(flatten)]
    user: UserFlag,
    /// Emit JSON.
    #[arg(long)]
    json: bool,
}

/// The local user: `--user`, else $USER, else `local`.
pub(crate) fn local_user(flag: Option<&str>) -> String {
    flag.map(str::to_string)
        .or_else(|| std::env::var("USER").ok().filter(|user| !user.is_empty()))
        .unwrap_or_else(|| "local".to_string())
}

fn today() -> NaiveDate {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64);
    chrono::DateTime::from_timestamp(now, 0)
        .unwrap_or_default()
        .date_naive()
}

fn store(context: &Context) -> Result<Box<dyn Store>> {
    if !store_url(context)?.exists() {
        bail!(
            "no store at {}: import a model first with `holdco --db {} import DIR`",
            context.db.display(),
            context.db.display()
        );
    }
    open_store(context)
}

/// Prints a refusal and gives the exit code: 1 for what the user can fix (problems, rules,
/// conflicts), the error itself for a store that failed.
fn refused(error: ChangesetError) -> Result<ExitCode> {
    match error {
        ChangesetError::Invalid(problems) => {
            print_capped(&problems, None);
            eprintln!(
                "{}; nothing was recorded or changed (fix them and run the command again)",
                problems_summary(problems.len())
            );
            Ok(ExitCode::from(1))
        }
        ChangesetError::Store(error) => match error {
            holdco_store::StoreError::NoChangeset { .. }
            | holdco_store::StoreError::ChangesetState { .. }
            | holdco_store::StoreError::Conflict { .. } => {
                eprintln!("error: {error}");
                Ok(ExitCode::from(1))
            }
            other => Err(other.into()),
        },
        other => {
            eprintln!("error: {other}");
            Ok(ExitCode::from(1))
        }
    }
}

/// `holdco changeset ...`.
pub fn changeset(context: &Context, args: &ChangesetArgs) -> Result<ExitCode> {
    match &args.command {
        ChangesetCommand::Create {
            message,
            file,
            folder,
            user,
            json,
        } => create(
            context,
            message,
            file.as_ref(),
            folder.as_ref(),
            user,
            *json,
        ),
        ChangesetCommand::List { state, format } => list(context, state.as_deref(), format),
        ChangesetCommand::Show { id, json } => show(context, *id, *json),
        ChangesetCommand::Submit { id, user } => step(context, *id, Action::Submit, user, None),
        ChangesetCommand::Approve { id, user, note } => {
            step(context, *id, Action::Approve, user, note.as_deref())
        }
        ChangesetCommand::Reject { id, user, note } => {
            step(context, *id, Action::Reject, user, note.as_deref())
        }
        ChangesetCommand::Withdraw { id, user } => step(context, *id, Action::Withdraw, user, None),
        ChangesetCommand::Apply { id, user } => apply(context, *id, user),
    }
}

fn create(
    context: &Context,
    message: &str,
    file: Option<&PathBuf>,
    folder: Option<&PathBuf>,
    user: &UserFlag,
    json: bool,
) -> Result<ExitCode> {
    let mut store = store(context)?;
    let author = local_user(user.user.as_deref());
    let (base, _) = match changeset::current(store.as_ref()) {
        Ok(found) => found,
        Err(error) => return refused(error),
    };
    let parsed = match (file, folder) {
        (Some(file), _) => {
            let text = std::fs::read_to_string(file)
                .map_err(|error| anyhow!("cannot read {}: {error}", file.display()))?;
            changeset::patch::from_json(&text, &base)
        }
        (None, Some(folder)) => {
            let files = holdco_folder::read(folder)?;
            changeset::patch::from_files(files, &folder.display().to_string(), &base)
        }
        (None, None) => bail!("give the change set with --file PATCH.json or --folder DIR"),
    };
    // Problems name the file given rather than the generic patch.json.
    let named = |problems: Vec<holdco_core::Diagnostic>| {
        let problems = problems
            .into_iter()
            .map(|mut problem| {
                if let (Some(file), Some(rest)) =
                    (file, problem.file.strip_prefix(changeset::patch::JSON_NAME))
                {
                    problem.file = format!("{}{rest}", file.display());
                }
                problem
            })
            .collect();
        refused(ChangesetError::Invalid(problems))
    };
    let patch = match parsed {
        Ok(patch) => patch,
        Err(problems) => return named(problems),
    };
    let calendar = base.group.calendar();
    drop(base);
    let created = match changeset::create(
        store.as_mut(),
        Proposal {
            patch,
            author: &author,
            message,
            kind: "patch",
            reverts: None,
        },
        today(),
    ) {
        Ok(created) => created,
        Err(ChangesetError::Invalid(problems)) => return named(problems),
        Err(error) => return refused(error),
    };
    if json {
        render::print_json(&created)?;
    } else {
        println!(
            "change set {} recorded as a draft by {author} on revision {}: {}",
            created.id,
            created.base_revision,
            changeset::summary(&created.diff, None)
        );
        print_diff(&created.diff, calendar);
        print_preview(&created.preview);
        println!(
            "next: `holdco changeset submit {}`, then someone else approves and applies it",
            created.id
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One row of `changeset list`.
#[derive(Serialize)]
struct ListRow {
    id: i64,
    state: String,
    kind: String,
    author: String,
    created: String,
    base_revision: i64,
    applied_revision: Option<i64>,
    units: String,
    message: String,
}

fn time(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn list(context: &Context, state: Option<&str>, format: &TableFlags) -> Result<ExitCode> {
    let wanted = match state {
        Some(text) => Some(ChangesetState::parse(text).ok_or_else(|| {
            anyhow!("`{text}` is not a state: use draft, submitted, approved, applied, rejected or withdrawn")
        })?),
        None => None,
    };
    let store = store(context)?;
    let rows: Vec<ListRow> = store
        .changesets()?
        .into_iter()
        .filter(|record| wanted.is_none_or(|state| record.state == state))
        .map(|record| ListRow {
            id: record.id,
            state: record.state.to_string(),
            kind: record.kind,
            author: record.author,
            created: time(record.created_at),
            base_revision: record.base_revision,
            applied_revision: record.applied_revision,
            units: record.units.join(" "),
            message: record.message,
        })
        .collect();
    match Output::from_flags(format.json, format.csv) {
        Output::Json => render::print_json(&rows)?,
        Output::Csv => render::print_csv(&rows)?,
        Output::Table => {
            let mut table = render::table(&[
                "id", "state", "kind", "author", "created", "base", "applied", "units", "message",
            ]);
            for row in &rows {
                table.add_row(vec![
                    row.id.to_string(),
                    row.state.clone(),
                    row.kind.clone(),
                    row.author.clone(),
                    row.created.clone(),
                    row.base_revision.to_string(),
                    row.applied_revision.map_or("–".into(), |r| r.to_string()),
                    row.units.clone(),
                    row.message.clone(),
                ]);
            }
            render::align_right(&mut table, [0, 5, 6]);
            render::fit_to_terminal(&mut table, &[7, 8]);
            println!("{table}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(context: &Context, id: i64, json: bool) -> Result<ExitCode> {
    let store = store(context)?;
    let shown = match changeset::show(store.as_ref(), id, today()) {
        Ok(shown) => shown,
        Err(error) => return refused(error),
    };
    if json {
        render::print_json(&shown)?;
        return Ok(ExitCode::SUCCESS);
    }
    let record = &shown.changeset;
    println!(
        "change set {} ({}) — {}: {}",
        record.id, record.kind, record.state, record.message
    );
    println!(
        "by {} on revision {} (the store is at revision {}){}",
        record.author,
        record.base_revision,
        shown.revision,
        record
            .applied_revision
            .map_or(String::new(), |r| format!("; applied as revision {r}"))
    );
    if shown.stale {
        println!(
            "stale: the model changed since revision {}; applying it would be a conflict (make it again on the current model)",
            record.base_revision
        );
    }
    let mut history = render::table(&["when", "from", "to", "who", "note"]);
    for step in &shown.transitions {
        history.add_row(vec![
            time(step.at),
            step.from.map_or("–".into(), |s| s.to_string()),
            step.to.to_string(),
            step.actor.clone(),
            step.note.clone().unwrap_or_default(),
        ]);
    }
    println!("{history}");
    if let Some(diff) = &shown.diff {
        print_diff(diff, calendar(store.as_ref())?);
    }
    if let Some(preview) = &shown.preview {
        print_preview(preview);
    }
    if !shown.problems.is_empty() {
        print_capped(&shown.problems, None);
        eprintln!(
            "{} on the current model: it cannot be applied as it is",
            problems_summary(shown.problems.len())
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The model's fiscal calendar, for period labels.
fn calendar(store: &dyn Store) -> Result<FiscalCalendar> {
    Ok(store
        .load_without_facts()?
        .map_or_else(FiscalCalendar::calendar, |model| model.group.calendar()))
}

fn value(value: Option<f64>) -> String {
    value.map_or("–".into(), |v| render::number(v, false))
}

fn cell_value(value: Option<f64>, percent: bool) -> String {
    value.map_or("–".into(), |v| render::number(v, percent))
}

/// The diff as a table: one row per item, with before and after.
fn print_diff(diff: &Diff, calendar: FiscalCalendar) {
    if diff.is_empty() {
        if let Some(label) = &diff.import {
            println!("import of {label} (its facts are counted in `holdco log`)");
        }
        return;
    }
    let mut table = render::table(&["item", "what", "before", "after"]);
    for placed in &diff.timeline_added {
        table.add_row(vec![
            "change +".to_string(),
            describe_change(&placed.change),
            "–".into(),
            "added".into(),
        ]);
    }
    for placed in &diff.timeline_removed {
        table.add_row(vec![
            "change −".to_string(),
            describe_change(&placed.change),
            "present".into(),
            "removed".into(),
        ]);
    }
    for fact in &diff.facts {
        table.add_row(vec![
            "fact".to_string(),
            changeset::diff::describe(&fact.key, calendar),
            value(fact.before.as_ref().map(|f| f.value)),
            value(fact.after.as_ref().map(|f| f.value)),
        ]);
    }
    for rate in &diff.fx {
        table.add_row(vec![
            "fx".to_string(),
            format!("{} {}", rate.currency.as_str(), rate.period.label(calendar)),
            rate.before
                .as_ref()
                .map_or("–".into(), |r| format!("{} / {}", r.average, r.closing)),
            rate.after
                .as_ref()
                .map_or("–".into(), |r| format!("{} / {}", r.average, r.closing)),
        ]);
    }
    for document in &diff.documents {
        let size = |text: &Option<String>| {
            text.as_ref()
                .map_or("–".into(), |t| format!("{} lines", t.lines().count()))
        };
        table.add_row(vec![
            "document".to_string(),
            document.path.clone(),
            size(&document.before),
            size(&document.after),
        ]);
    }
    render::align_right(&mut table, [2, 3]);
    println!("{table}");
}

fn describe_change(change: &holdco_core::Change) -> String {
    let units: Vec<&str> = change
        .kind
        .units()
        .into_iter()
        .map(|u| u.as_str())
        .collect();
    format!(
        "{} {} {}{}",
        change.date,
        change.kind.name(),
        units.join(", "),
        change
            .id
            .as_ref()
            .map_or(String::new(), |id| format!(" (id {id})"))
    )
}

/// The preview: structure changes, then the roll-up cells that change.
fn print_preview(preview: &Preview) {
    println!(
        "structure on {}: {} moved, {} new, {} gone",
        preview.structure,
        preview.moved.len(),
        preview.new_units.len(),
        preview.gone_units.len()
    );
    if !preview.moved.is_empty() || !preview.new_units.is_empty() || !preview.gone_units.is_empty()
    {
        let mut table = render::table(&["unit", "name", "parent before", "parent after"]);
        let dash = |p: &Option<String>| p.clone().unwrap_or_else(|| "–".into());
        for unit in &preview.moved {
            table.add_row(vec![
                unit.unit.clone(),
                unit.name.clone(),
                dash(&unit.from),
                dash(&unit.to),
            ]);
        }
        for unit in &preview.new_units {
            table.add_row(vec![
                unit.unit.clone(),
                unit.name.clone(),
                "(new)".into(),
                dash(&unit.parent),
            ]);
        }
        for unit in &preview.gone_units {
            table.add_row(vec![
                unit.unit.clone(),
                unit.name.clone(),
                dash(&unit.parent),
                "(gone)".into(),
            ]);
        }
        println!("{table}");
    }
    println!(
        "roll-up cells that change ({}, restated into the structure of {}): {}",
        preview.periods.join(", "),
        preview.structure,
        preview.cells.len()
    );
    if !preview.cells.is_empty() {
        let mut table = render::table(&["metric", "row", "kind", "period", "before", "after"]);
        for cell in &preview.cells {
            table.add_row(vec![
                cell.metric.clone(),
                format!("{} {}", cell.node, cell.name),
                cell.kind.clone(),
                cell.period.clone(),
                cell_value(cell.before, cell.percent),
                cell_value(cell.after, cell.percent),
            ]);
        }
        render::align_right(&mut table, [4, 5]);
        render::fit_to_terminal(&mut table, &[1]);
        println!("{table}");
    }
    for note in &preview.skipped {
        println!("not compared: {note}");
    }
}

fn step(
    context: &Context,
    id: i64,
    action: Action,
    user: &UserFlag,
    note: Option<&str>,
) -> Result<ExitCode> {
    let mut store = store(context)?;
    let actor = local_user(user.user.as_deref());
    match changeset::act(store.as_mut(), id, action, &actor, note) {
        Ok(record) => {
            println!(
                "change set {id} is {} ({} by {actor})",
                record.state,
                action.name()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => refused(error),
    }
}

fn apply(context: &Context, id: i64, user: &UserFlag) -> Result<ExitCode> {
    let mut store = store(context)?;
    let actor = local_user(user.user.as_deref());
    match changeset::apply(store.as_mut(), id, &actor) {
        Ok(applied) => {
            println!(
                "change set {id} applied by {actor}: revision {} ({} facts new, {} revised)",
                applied.revision, applied.summary.facts_new, applied.summary.facts_revised
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => refused(error),
    }
}

/// `holdco log`.
pub fn log(context: &Context, args: &LogArgs) -> Result<ExitCode> {
    let since = match &args.since {
        Some(text) => Some(holdco_core::period::parse_iso_date(text).ok_or_else(|| {
            anyhow!("--since {text}: expected a date as YYYY-MM-DD, e.g. --since 2026-01-31")
        })?),
        None => None,
    };
    let store = store(context)?;
    let entries = match changeset::log(store.as_ref(), args.unit.as_deref(), since) {
        Ok(entries) => entries,
        Err(error) => return refused(error),
    };
    #[derive(Serialize)]
    struct Row<'a> {
        revision: i64,
        base_revision: i64,
        changeset: i64,
        at: &'a str,
        applied_by: &'a str,
        author: &'a str,
        units: String,
        summary: &'a str,
        message: &'a str,
    }
    match Output::from_flags(args.format.json, args.format.csv) {
        Output::Json => render::print_json(&entries)?,
        Output::Csv => {
            let rows: Vec<Row<'_>> = entries
                .iter()
                .map(|entry| Row {
                    revision: entry.revision,
                    base_revision: entry.base_revision,
                    changeset: entry.changeset,
                    at: &entry.at,
                    applied_by: &entry.applied_by,
                    author: &entry.author,
                    units: entry.units.join(" "),
                    summary: &entry.summary,
                    message: &entry.message,
                })
                .collect();
            render::print_csv(&rows)?;
        }
        Output::Table => {
            let mut table = render::table(&[
                "revision",
                "change set",
                "when (UTC)",
                "applied by",
                "author",
                "what",
                "message",
            ]);
            for entry in &entries {
                table.add_row(vec![
                    entry.revision.to_string(),
                    entry.changeset.to_string(),
                    entry.at.clone(),
                    entry.applied_by.clone(),
                    entry.author.clone(),
                    entry.summary.clone(),
                    entry.message.clone(),
                ]);
            }
            render::align_right(&mut table, [0, 1]);
            render::fit_to_terminal(&mut table, &[5, 6]);
            println!("{table}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `holdco revert CHANGESET`.
pub fn revert(context: &Context, args: &RevertArgs) -> Result<ExitCode> {
    let mut store = store(context)?;
    let actor = local_user(args.user.user.as_deref());
    match changeset::revert(
        store.as_mut(),
        args.changeset,
        &actor,
        args.message.as_deref(),
        today(),
    ) {
        Ok(created) => {
            if args.json {
                render::print_json(&created)?;
            } else {
                println!(
                    "change set {} recorded as a draft by {actor}: the inverse of change set {} ({})",
                    created.id,
                    args.changeset,
                    changeset::summary(&created.diff, None)
                );
                print_diff(&created.diff, calendar(store.as_ref())?);
                print_preview(&created.preview);
                println!(
                    "next: `holdco changeset submit {}`, then someone else approves and applies it",
                    created.id
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => refused(error),
    }
}
