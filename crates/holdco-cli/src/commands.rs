//! One function per subcommand: read inputs, call the core, render.

use crate::render::{self, align_right, number, Output};
use anyhow::{anyhow, bail, Context as _, Result};
use chrono::NaiveDate;
use holdco_app::request::RollupRequest;
use holdco_app::rollup::Route;
use holdco_app::Snapshot;
use holdco_core::calibrate::{self, Calibration};
use holdco_core::format::write_model;
use holdco_core::period::parse_range;
use holdco_core::reconcile::{self, Tolerance};
use holdco_core::rollup::{BasisFilter, Engine, Query, View};
use holdco_core::validate::validate;
use holdco_core::{Aggregation, Basis, Diagnostic, FactKey, MetricId, Model, Period, UnitId};
use holdco_folder as folder;
use holdco_store::{Store, StoreUrl};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where the model comes from.
pub struct Context {
    /// The store file.
    pub db: PathBuf,
    /// A model folder read directly instead of the store.
    pub model: Option<PathBuf>,
}

fn print_problems(dir: &Path, problems: &[Diagnostic]) {
    print_capped(problems, Some(dir));
}

/// Most problems of one kind printed (the same field and message but for the quoted
/// values and numbers); the rest are counted in one line.
pub(crate) const MAX_PROBLEMS_PER_KIND: usize = 20;
/// Most problem lines printed in all; the rest are counted in one line.
pub(crate) const MAX_PROBLEM_LINES: usize = 1_000;

/// The kind of a problem: its field and message with every `quoted` value and every number
/// blanked, so "unknown unit `a`" and "unknown unit `b`" are one kind.
fn problem_kind(problem: &Diagnostic) -> String {
    let mut kind = problem.field.clone().unwrap_or_default();
    kind.push_str(": ");
    let mut quoted = false;
    for c in problem.message.chars() {
        match c {
            '`' => {
                quoted = !quoted;
                kind.push('`');
            }
            _ if quoted => {}
            c if c.is_ascii_digit() => {
                if !kind.ends_with('#') {
                    kind.push('#');
                }
            }
            c => kind.push(c),
        }
    }
    kind
}

/// Prints problems (paths under `dir` when given), at most [`MAX_PROBLEMS_PER_KIND`] of a
/// kind and [`MAX_PROBLEM_LINES`] in all, each kind's remainder summarised ("and 12,499,870
/// more of the same kind"): a refused import of millions of facts once printed a gigabyte.
pub(crate) fn print_capped(problems: &[Diagnostic], dir: Option<&Path>) {
    ProblemLog::from(problems).print(dir);
}

/// Problems as they are found, kept only as far as [`print_capped`] prints them: the first
/// [`MAX_PROBLEMS_PER_KIND`] of each kind, the first of each kind and the counts. Its
/// [`ProblemLog::print`] prints what `print_capped` prints for all the problems pushed, in
/// the order pushed, and its memory does not grow with millions of problems of a few kinds
/// (issue 16 item 7).
#[derive(Debug, Default)]
pub(crate) struct ProblemLog {
    per_kind: std::collections::HashMap<String, usize>,
    /// Each kind with its first problem, in the order first seen.
    order: Vec<(String, Diagnostic)>,
    /// The problems within their kind's cap, in order.
    kept: Vec<Diagnostic>,
    total: usize,
}

impl From<&[Diagnostic]> for ProblemLog {
    fn from(problems: &[Diagnostic]) -> Self {
        let mut log = ProblemLog::default();
        for problem in problems {
            log.push(problem.clone());
        }
        log
    }
}

impl ProblemLog {
    /// Records a problem (after every one pushed before).
    pub(crate) fn push(&mut self, problem: Diagnostic) {
        self.total += 1;
        let kind = problem_kind(&problem);
        let seen = match self.per_kind.get_mut(&kind) {
            Some(seen) => {
                *seen += 1;
                *seen
            }
            None => {
                self.per_kind.insert(kind.clone(), 1);
                self.order.push((kind, problem.clone()));
                1
            }
        };
        if seen <= MAX_PROBLEMS_PER_KIND {
            self.kept.push(problem);
        }
    }

    /// Number of problems pushed.
    pub(crate) fn len(&self) -> usize {
        self.total
    }

    /// True when no problem was pushed.
    pub(crate) fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Prints the problems as [`print_capped`] does.
    pub(crate) fn print(&self, dir: Option<&Path>) {
        let mut printed = 0usize;
        let mut unprinted = 0usize;
        for problem in &self.kept {
            if printed >= MAX_PROBLEM_LINES {
                unprinted += 1;
                continue;
            }
            let mut shown = problem.clone();
            if let Some(dir) = dir {
                if !shown.file.starts_with('<') {
                    shown.file = dir.join(&shown.file).display().to_string();
                }
            }
            eprintln!("{shown}");
            printed += 1;
        }
        for (kind, first) in &self.order {
            let count = self.per_kind[kind];
            if count > MAX_PROBLEMS_PER_KIND {
                eprintln!(
                    "… and {} more of the same kind as {}:{}: {}",
                    number((count - MAX_PROBLEMS_PER_KIND) as f64, false),
                    first.file,
                    first.line.map(|l| l.to_string()).unwrap_or_default(),
                    first.message
                );
            }
        }
        if unprinted > 0 {
            eprintln!(
                "… and {} more problems not shown (at most {MAX_PROBLEM_LINES} lines are printed)",
                number(unprinted as f64, false)
            );
        }
    }
}

pub(crate) fn problems_summary(count: usize) -> String {
    format!("{count} problem{} found", if count == 1 { "" } else { "s" })
}

/// `holdco check DIR`.
pub fn check(dir: &Path) -> Result<ExitCode> {
    // A valid folder is checked on the columnar path first, as `import` does: facts as
    // interned columns take a fraction of the memory of one `Fact` per row (a 2.4 GB file
    // once needed 14 GB). Anything it is not certain of goes to the reference path below,
    // which explains every problem. HOLDCO_REFERENCE_IMPORT=1 forces the reference path here
    // too (tests and measurements compare the two).
    let reference_only = std::env::var_os("HOLDCO_REFERENCE_IMPORT").is_some_and(|v| v == "1");
    if let Some((model, columns)) = if reference_only {
        None
    } else {
        crate::bulk::load_folder_columns(dir)?
    } {
        let (timeline, _) =
            holdco_core::timeline::Timeline::replay(&model.group, &model.metrics, &model.timeline);
        println!(
            "ok: {} — {} units, {} changes, {} metrics, {} facts, {} FX rates",
            dir.display(),
            timeline.units.len(),
            model.timeline.len(),
            model.metrics.len(),
            columns.len(),
            model.fx.len()
        );
        std::mem::forget(columns);
        return Ok(ExitCode::SUCCESS);
    }
    // Anything else is diagnosed with the facts streamed (16 bytes a fact, not one `Fact`
    // per row): the reference path's problems, in its order and words.
    if !reference_only {
        match crate::bulk::diagnose_folder(dir)? {
            crate::bulk::Diagnosis::Valid(model, facts) => {
                print_check_ok(dir, &model, facts);
                return Ok(ExitCode::SUCCESS);
            }
            crate::bulk::Diagnosis::Problems(log) => {
                log.print(Some(dir));
                eprintln!(
                    "{}; nothing was changed (fix them and run `holdco check` again)",
                    problems_summary(log.len())
                );
                return Ok(ExitCode::from(1));
            }
            // Scenario files are checked against the facts whole, below.
            crate::bulk::Diagnosis::NeedsFacts => {}
        }
    }
    match crate::bulk::load_folder(dir)? {
        Ok(model) => {
            print_check_ok(dir, &model, model.facts.len());
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            print_problems(dir, &problems);
            eprintln!(
                "{}; nothing was changed (fix them and run `holdco check` again)",
                problems_summary(problems.len())
            );
            Ok(ExitCode::from(1))
        }
    }
}

/// The store named by `--db` (an SQLite path or `sqlite://` URL, or a `postgres://` URL).
pub(crate) fn store_url(context: &Context) -> Result<StoreUrl> {
    Ok(StoreUrl::parse(&context.db.to_string_lossy())?)
}

/// Opens the store named by `--db`, whichever backend it is.
pub(crate) fn open_store(context: &Context) -> Result<Box<dyn Store>> {
    // Every error of opening names the store (its URL without the password).
    Ok(store_url(context)?.open()?)
}

/// The store as shown in messages: its path, or its URL with the password hidden.
fn shown(context: &Context) -> String {
    store_url(context).map_or_else(
        |_| holdco_store::redact(&context.db.to_string_lossy()),
        |url| url.to_string(),
    )
}

/// The model to query: from `--model DIR`, or the store.
pub(crate) fn current_model(context: &Context) -> Result<Model> {
    if let Some(dir) = &context.model {
        if crate::excel_commands::is_workbook(dir) {
            return crate::excel_commands::load_workbook(dir);
        }
        return match crate::bulk::load_folder(dir)? {
            Ok(model) => Ok(model),
            Err(problems) => {
                print_problems(dir, &problems);
                bail!(
                    "{} in {}; run `holdco check {}`",
                    problems_summary(problems.len()),
                    dir.display(),
                    dir.display()
                )
            }
        };
    }
    if !store_url(context)?.exists() {
        bail!("no store at {}: import a model first with `holdco --db {} import DIR` (or query a folder with --model DIR)", shown(context), shown(context));
    }
    let store = open_store(context)?;
    store.load()?.ok_or_else(|| {
        anyhow!(
            "the store {} is empty: import a model first with `holdco --db {} import DIR`",
            shown(context),
            shown(context)
        )
    })
}

/// `holdco import DIR`: validates the folder merged with what the store holds, then writes
/// it in one transaction.
pub fn import(
    context: &Context,
    dir: &Path,
    label: Option<String>,
    prune: bool,
) -> Result<ExitCode> {
    let label = label.unwrap_or_else(|| dir.display().to_string());
    let source = ImportSource {
        shown: dir.display().to_string(),
        columns: Box::new(|| crate::bulk::load_folder_columns(dir)),
        reference: Box::new(|| crate::bulk::load_folder(dir)),
        diagnose: Some(Box::new(|| {
            Ok(match crate::bulk::diagnose_folder(dir)? {
                crate::bulk::Diagnosis::Problems(log) => {
                    log.print(Some(dir));
                    Some(log.len())
                }
                _ => None,
            })
        })),
        print: Box::new(|problems| print_problems(dir, problems)),
    };
    import_from(context, source, &label, prune)
}

/// The columnar reading of an import source (None when the reference path must answer).
type ColumnsReader<'a> = Box<
    dyn FnOnce() -> Result<Option<(Model, holdco_core::format::fact_columns::FactColumns)>> + 'a,
>;
/// The reference reading of an import source, with every problem.
type ReferenceReader<'a> =
    Box<dyn FnOnce() -> Result<std::result::Result<Model, Vec<Diagnostic>>> + 'a>;
/// Prints the problems found in an import source.
type ProblemPrinter<'a> = Box<dyn Fn(&[Diagnostic]) + 'a>;
/// Finds and prints the problems of an import source in bounded memory; their number, or
/// None when there are none.
type Diagnoser<'a> = Box<dyn FnOnce() -> Result<Option<usize>> + 'a>;

/// What an import reads: a folder, or the files a workbook stands for.
pub(crate) struct ImportSource<'a> {
    /// How the source is named in messages.
    pub shown: String,
    /// The columnar reading.
    pub columns: ColumnsReader<'a>,
    /// The reference reading.
    pub reference: ReferenceReader<'a>,
    /// The problems found without the facts whole (a folder's): run before the reference
    /// reading, which then reads only a source without problems.
    pub diagnose: Option<Diagnoser<'a>>,
    /// Prints problems found in the source.
    pub print: ProblemPrinter<'a>,
}

/// Imports a source (a folder or a workbook's files): all or nothing.
pub(crate) fn import_from(
    context: &Context,
    source: ImportSource<'_>,
    label: &str,
    prune: bool,
) -> Result<ExitCode> {
    let timing = std::env::var_os("HOLDCO_TIMING").is_some();
    let started = std::time::Instant::now();
    let ImportSource {
        shown,
        columns,
        reference,
        diagnose,
        print,
    } = source;
    // A valid folder takes the columnar path when the merge is simple (a store without facts,
    // or one whose facts the folder holds unchanged, plus new ones): facts read into columns,
    // validated by series and written by series, with no `Fact` built. Anything else (bad
    // input, strategy documents, revised or missing facts, a revision log) takes the path
    // below, whose diagnostics and merge are the reference (with --prune too: the columnar
    // path answers only when the folder holds every stored key, so nothing is removed).
    // HOLDCO_REFERENCE_IMPORT=1 always
    // takes the reference path (tests hold the two equal).
    let reference_only = std::env::var_os("HOLDCO_REFERENCE_IMPORT").is_some_and(|v| v == "1");
    let mut known_valid = false;
    if !reference_only && (!store_url(context)?.exists() || open_store(context)?.takes_columns()?) {
        if let Some((model, columns)) = columns()? {
            known_valid = true;
            if timing {
                eprintln!(
                    "import: read and validated {} facts as columns in {:.2?}",
                    columns.len(),
                    started.elapsed()
                );
            }
            // Recorded as a change set applied by the local user, in the import's transaction.
            let mut store = open_store(context)?;
            let record = import_record(store.as_ref(), &model, label)?;
            if let Some(applied) = store.apply_columns(&model, &columns, label, &record)? {
                let summary = applied.summary;
                if timing {
                    eprintln!("import: stored in {:.2?} in all", started.elapsed());
                }
                print_import_summary(context, &shown, &summary);
                std::mem::forget(columns);
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    // A source with problems is refused on what the streamed diagnosis finds: the same
    // problems as the reference reading, without one `Fact` per row in memory.
    if let Some(diagnose) = diagnose.filter(|_| !reference_only && !known_valid) {
        if let Some(count) = diagnose()? {
            eprintln!("{}; the store was not changed", problems_summary(count));
            return Ok(ExitCode::from(1));
        }
    }
    let incoming = match reference()? {
        Ok(model) => model,
        Err(problems) => {
            print(&problems);
            eprintln!(
                "{}; the store was not changed",
                problems_summary(problems.len())
            );
            return Ok(ExitCode::from(1));
        }
    };
    let mut store = open_store(context)?;
    let mut kept = 0usize;
    let mut record = import_record(store.as_ref(), &incoming, label)?;
    record.prune = prune;
    if let Some(existing) = store.load()?.filter(|_| !prune) {
        // Facts the store holds and the folder does not stay current: check them against
        // the incoming timeline before writing anything. (With --prune they go, so the
        // folder alone is what stays current, and it has been validated.)
        let mut merged = incoming.clone();
        let incoming_keys: std::collections::HashSet<&FactKey> =
            incoming.facts.iter().map(|f| &f.key).collect();
        let before = merged.facts.len();
        merged.facts.extend(
            existing
                .facts
                .into_iter()
                .filter(|f| !incoming_keys.contains(&f.key)),
        );
        kept = merged.facts.len() - before;
        let (_, problems) = holdco_core::bulk_validate::validate(&merged);
        if !problems.is_empty() {
            print(&problems);
            eprintln!(
                "{} once merged with the facts already in {}; the store was not changed",
                problems_summary(problems.len()),
                self::shown(context)
            );
            return Ok(ExitCode::from(1));
        }
    }
    let summary = store.apply(&incoming, label, &record)?.summary;
    print_import_summary(context, &shown, &summary);
    if summary.facts_deleted > 0 {
        println!(
            "removed {} fact(s) not in {shown} from the current model (--prune); their history is kept (`holdco revisions`)",
            summary.facts_deleted
        );
    }
    if kept > 0 {
        // An import never deletes a figure (the store keeps every revision): say so, so a
        // fact removed from the folder is not believed gone.
        println!("note: {kept} fact(s) in the store are not in {shown}; they were kept and stay current (an import never deletes figures)");
    }
    // The process ends here: freeing millions of facts one by one would only delay the exit
    // (the operating system takes the memory back at once).
    std::mem::forget(incoming);
    Ok(ExitCode::SUCCESS)
}

/// The change-set record of importing `incoming` into `store` (see
/// `holdco_changeset::import_record`): by the local user, on the store's revision.
fn import_record(
    store: &dyn Store,
    incoming: &Model,
    label: &str,
) -> Result<holdco_store::ApplyRecord> {
    let revision = store.revision()?;
    let before = store.load_without_facts()?;
    Ok(holdco_changeset::import_record(
        before.as_ref(),
        incoming,
        label,
        &crate::changeset_commands::local_user(None),
        revision,
    ))
}

/// [`Store::import`] recorded as a change set applied by the local user (every write of the
/// model is an entry of the audit trail).
pub(crate) fn recorded_import(
    store: &mut dyn Store,
    incoming: &Model,
    label: &str,
) -> Result<holdco_store::ImportSummary> {
    let record = import_record(store, incoming, label)?;
    Ok(store.apply(incoming, label, &record)?.summary)
}

/// The line `holdco import` prints on success.
fn print_import_summary(context: &Context, shown: &str, summary: &holdco_store::ImportSummary) {
    println!(
        "imported {} into {}: {} changes, {} metrics, {} facts new, {} revised, {} unchanged, {} FX rates",
        shown,
        self::shown(context),
        summary.changes,
        summary.metrics,
        summary.facts_new,
        summary.facts_revised,
        summary.facts_unchanged,
        summary.fx_rates
    );
}

/// `holdco export DIR`.
pub fn export(context: &Context, dir: &Path, force: bool, personal: bool) -> Result<ExitCode> {
    let mut model = current_model(context)?;
    if !personal {
        holdco_core::extension::redact_personal(&mut model);
    }
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() && !force {
        bail!(
            "{} is not empty: choose an empty folder or pass --force to overwrite",
            dir.display()
        );
    }
    // Into a folder that holds a model: each fact goes back to the file it is in there, so
    // the layout (facts/*.csv split by the user) survives; new facts go to facts.csv.
    let layout = folder::fact_layout(dir);
    for fact in &mut model.facts {
        if let Some(file) = layout.get(&fact.key) {
            fact.origin.file = file.clone();
        }
    }
    let files = write_model(&model);
    folder::write(dir, &files)?;
    println!("wrote {} files to {}", files.len(), dir.display());
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn parse_date(text: &str, what: &str) -> Result<NaiveDate> {
    holdco_core::period::parse_iso_date(text)
        .ok_or_else(|| anyhow!("--{what} {text}: expected a date as YYYY-MM-DD, e.g. 2025-04-01"))
}

/// Levels of a tree shown by indentation; deeper levels carry their number instead, so a
/// chain 100,000 levels deep prints in linear, not quadratic, space (issue 16, a sibling of
/// item 6's deep trees).
const MAX_INDENT_LEVELS: usize = 32;

/// The indentation of a row `depth` levels below the root.
fn tree_indent(depth: u32) -> String {
    let depth = depth as usize;
    if depth <= MAX_INDENT_LEVELS {
        "  ".repeat(depth)
    } else {
        format!("{}[level {depth}] ", "  ".repeat(MAX_INDENT_LEVELS))
    }
}

/// `holdco structure`. From a store that keeps its timeline compiled (SQLite, migration
/// 0010), the structure is read from that image: no change is loaded or replayed, and the rows
/// are the replayed timeline's (`HOLDCO_NO_TIMELINE_IMAGE=1` reads the model instead, for
/// comparison).
pub fn structure(
    context: &Context,
    at: Option<&str>,
    depth: Option<u32>,
    output: Output,
) -> Result<ExitCode> {
    let date = at.map(|text| parse_date(text, "at")).transpose()?;
    if context.model.is_none()
        && std::env::var_os("HOLDCO_NO_TIMELINE_IMAGE").is_none()
        && store_url(context)?.exists()
    {
        let started = std::time::Instant::now();
        if let Some(image) = open_store(context)?.timeline_image()? {
            if std::env::var_os("HOLDCO_TIMING").is_some() {
                eprintln!(
                    "structure: timeline image of {} units read in {:.2?}",
                    image.units(),
                    started.elapsed()
                );
            }
            let view = holdco_app::views::structure_from_image(&image, date, depth, &[])?;
            return print_structure(image.group_name(), &view, output);
        }
    }
    let model = current_model(context)?;
    let snapshot = Snapshot::new(model)?;
    let view = holdco_app::views::structure(&snapshot, date, depth, &[])?;
    print_structure(&snapshot.model().group.name, &view, output)
}

/// Prints a structure as `holdco structure` does (table, `--json` or `--csv`).
fn print_structure(
    group_name: &str,
    view: &holdco_app::views::StructureView,
    output: Output,
) -> Result<ExitCode> {
    let (date, rows) = (view.date, &view.units);
    match output {
        Output::Json => render::print_json(view)?,
        Output::Csv => render::print_csv(rows)?,
        Output::Table => {
            println!("{group_name} on {date}");
            let mut table = render::table(&["unit", "id", "kind", "owned"]);
            for row in rows {
                let owned = if row.ownership == 1.0 {
                    String::new()
                } else {
                    format!("{:.1}% ({})", row.ownership * 100.0, row.consolidation)
                };
                table.add_row(vec![
                    format!("{}{}", tree_indent(row.depth), row.name),
                    row.unit.clone(),
                    row.kind.clone(),
                    owned,
                ]);
            }
            align_right(&mut table, [3]);
            println!("{table}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `holdco history UNIT`.
pub fn history(
    context: &Context,
    unit: &str,
    structure: Option<&str>,
    json: bool,
) -> Result<ExitCode> {
    let snapshot = Snapshot::new(current_model(context)?)?;
    let structure = structure
        .map(|text| parse_date(text, "structure"))
        .transpose()?;
    let history = holdco_app::views::history(&snapshot, unit, structure)?;
    if json {
        render::print_json(&history)?;
        return Ok(ExitCode::SUCCESS);
    }
    let (lines, lineage, target) = (&history.history, &history.lineage, history.lineage_into);
    println!("{} ({}) — {}", history.name, history.unit, history.kind);
    let mut table = render::table(&["date", "what", "change"]);
    for line in lines {
        table.add_row(vec![
            line.date.to_string(),
            line.what.clone(),
            line.change.clone().unwrap_or_default(),
        ]);
    }
    println!("{table}");
    println!("\nWhere its history goes in the {target} structure:");
    let mut table = render::table(&["metric", "lands at", "weight", "through"]);
    for line in lineage {
        table.add_row(vec![
            line.metric.clone(),
            line.lands_at.clone(),
            format!("{:.4}", line.weight),
            line.path.join(" → "),
        ]);
    }
    align_right(&mut table, [2]);
    println!("{table}");
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `holdco rollup`.
#[derive(clap::Args, Debug)]
pub struct RollupArgs {
    /// Metric id (e.g. revenue); several separated by commas (revenue,ebita), or `all` for
    /// every metric, answered in one call.
    metric: String,
    #[command(flatten)]
    scope: Scope,
    /// Levels below the node to show.
    #[arg(long, default_value_t = 1)]
    depth: u32,
    /// Output currency (needs FX rates); the reporting currency when omitted.
    #[arg(long)]
    currency: Option<String>,
    /// Always use the explainable engine, even on large models (both give the same rows; the
    /// columnar one is faster on large models).
    #[arg(long)]
    exact: bool,
    #[command(flatten)]
    format: crate::FormatFlags,
}

/// Node, periods, view, structure and basis: shared by rollup and explain.
#[derive(clap::Args, Debug)]
pub struct Scope {
    /// Node at the top (the group when omitted).
    #[arg(long)]
    node: Option<String>,
    /// One period (2023Q3, FY2024...).
    #[arg(long, conflicts_with = "periods")]
    period: Option<String>,
    /// A range of periods, A..B (e.g. FY2022..FY2025).
    #[arg(long)]
    periods: Option<String>,
    /// reported, restated, organic or pro_forma (as if every acquisition, disposal and
    /// spin-off of the compared span had happened at its start; docs/semantics.md).
    #[arg(long, default_value = "reported")]
    view: String,
    /// Date of the structure to restate into (the latest when omitted).
    #[arg(long)]
    structure: Option<String>,
    /// Which facts: reported, plan, estimate or restated@YYYY-MM-DD.
    #[arg(long, default_value = "reported")]
    basis: String,
    /// Restated and organic views: `published` takes the group's own restatements where it
    /// published them and reported figures carried by lineage elsewhere; `reported` carries
    /// only reported figures (holdco's own restatement, to compare with the group's).
    #[arg(long, default_value = "published", value_parser = ["published", "reported"])]
    from: String,
}

impl Scope {
    /// The question, read by the application layer (which chooses the default periods).
    fn query(
        &self,
        model: &Model,
        metric: &str,
        depth: u32,
        currency: Option<&str>,
    ) -> Result<Query> {
        self.request(metric, depth, currency)
            .query(model)
            .map_err(|e| anyhow!(e.cli_message()))
    }

    fn request(&self, metric: &str, depth: u32, currency: Option<&str>) -> RollupRequest {
        RollupRequest {
            metric: metric.to_string(),
            node: self.node.clone(),
            period: self.period.clone(),
            periods: self.periods.clone(),
            view: self.view.clone(),
            structure: self.structure.clone(),
            basis: self.basis.clone(),
            from: self.from.clone(),
            depth,
            currency: currency.map(str::to_string),
        }
    }
}

/// `holdco rollup`: the application layer's front door (the columnar path on large models
/// when it covers the question, the explainable engine otherwise; `--exact` the engine).
pub fn rollup(context: &Context, args: &RollupArgs) -> Result<ExitCode> {
    let metrics: Vec<String> = args
        .metric
        .split(',')
        .map(|m| m.trim().to_string())
        .collect();
    if metrics.len() > 1 || args.metric == "all" {
        return rollup_several(context, args, &metrics);
    }
    if context.model.is_none() && !args.exact {
        // Straight from the store, reading only the asked metric's series, when that applies.
        let request = args
            .scope
            .request(&args.metric, args.depth, args.currency.as_deref());
        if let Some((model, query, answer)) =
            holdco_app::store::rollup_from_store(&store_url(context)?, &request)?
        {
            return print_rollup(&model, &query, &answer, true, args);
        }
    }
    if let (Some(dir), false) = (&context.model, args.exact) {
        let request = args
            .scope
            .request(&args.metric, args.depth, args.currency.as_deref());
        if let Some((model, query, answer)) = rollup_from_folder(dir, &request)? {
            return print_rollup(&model, &query, &answer, true, args);
        }
    }
    let snapshot = Snapshot::new(current_model(context)?)?;
    let query = args.scope.query(
        snapshot.model(),
        &args.metric,
        args.depth,
        args.currency.as_deref(),
    )?;
    let route = if args.exact {
        Route::Exact
    } else {
        Route::Auto
    };
    let answer = holdco_app::rollup::rollup(&snapshot, &query, route)?;
    print_rollup(
        snapshot.model(),
        &query,
        &answer.rollup,
        answer.columnar,
        args,
    )
}

/// Fact files at least this large may hold enough facts for the columnar path (a fact row
/// takes 20 bytes or more); smaller folders go straight to the whole model.
const FOLDER_FAST_PATH_BYTES: u64 = holdco_app::FAST_PATH_FACTS as u64 * 20;

/// A roll-up of a model folder on the columnar path, as [`holdco_app::store::rollup_from_store`]
/// answers from a store: the folder read as the model without facts plus fact columns (no
/// whole fact per row, issue 16 item 6), the facts straight into the columnar table. `None`
/// whenever anything is not certain (a problem in the folder, documents or domain events, too
/// few facts, a question the columnar path does not cover, or any error in the question):
/// then the whole model is read, and its answer or message is the reference.
fn rollup_from_folder(
    dir: &Path,
    request: &RollupRequest,
) -> Result<Option<(Model, Query, holdco_core::rollup::Rollup)>> {
    if !request.names_periods() || crate::excel_commands::is_workbook(dir) {
        return Ok(None);
    }
    let fact_bytes: u64 = folder::read_names(dir)?
        .iter()
        .filter(|(name, _)| name == holdco_core::format::FACTS_FILE || name.starts_with("facts/"))
        .filter_map(|(_, path)| std::fs::metadata(path).ok())
        .map(|meta| meta.len())
        .sum();
    if fact_bytes < FOLDER_FAST_PATH_BYTES {
        return Ok(None);
    }
    let Some((model, mut columns)) = crate::bulk::read_folder_columns(dir)? else {
        return Ok(None);
    };
    let has_events = model
        .timeline
        .iter()
        .any(|c| matches!(c.kind, holdco_core::ChangeKind::Event { .. }));
    if columns.len() < holdco_app::FAST_PATH_FACTS || has_events {
        return Ok(None);
    }
    // One replay of the timeline serves the check of the columns and the engine.
    let Some(timeline) = holdco_core::bulk_validate::columns_valid_timeline(&model, &mut columns)
    else {
        return Ok(None);
    };
    if !crate::bulk::documents_valid(&model) {
        return Ok(None);
    }
    let engine = Engine::over_valid(&model, timeline);
    let Ok(query) = request.query(&model) else {
        return Ok(None);
    };
    // The question's own errors (metric, node, periods, rates) are the engine's to word.
    if engine.rollup(&query).is_err() {
        return Ok(None);
    }
    let Ok(table) = holdco_core::columnar::FactTable::from_columns(&model, &columns, &engine)
    else {
        return Ok(None);
    };
    drop(columns);
    let Ok(answer) = holdco_core::columnar::rollup_from_table(&engine, &table, &query) else {
        return Ok(None);
    };
    drop(table);
    drop(engine);
    Ok(Some((model, query, answer)))
}

/// `holdco rollup a,b,c` (or `all`): one roll-up per metric, from one read of the store.
/// JSON prints an array of roll-ups, CSV the rows of each in turn under one header, a table
/// one table per metric.
fn rollup_several(context: &Context, args: &RollupArgs, metrics: &[String]) -> Result<ExitCode> {
    let request = args.scope.request("", args.depth, args.currency.as_deref());
    let mut answered = None;
    if context.model.is_none() && !args.exact {
        answered = holdco_app::store::rollups_from_store(&store_url(context)?, &request, metrics)?
            .map(|(model, answers)| (model, answers, true));
    }
    let (model, answers, fast) = match answered {
        Some(answered) => answered,
        None => {
            let snapshot = Snapshot::new(current_model(context)?)?;
            let route = if args.exact {
                Route::Exact
            } else {
                Route::Auto
            };
            let mut answers = Vec::new();
            let mut all_fast = true;
            for metric in holdco_app::store::metric_names(snapshot.model(), metrics) {
                let query = args.scope.query(
                    snapshot.model(),
                    &metric,
                    args.depth,
                    args.currency.as_deref(),
                )?;
                let answer = holdco_app::rollup::rollup(&snapshot, &query, route)?;
                all_fast &= answer.columnar;
                answers.push((query, answer.rollup));
            }
            (snapshot.model().clone(), answers, all_fast)
        }
    };
    match args.format.output() {
        Output::Json => {
            let rollups: Vec<&holdco_core::rollup::Rollup> = answers.iter().map(|a| &a.1).collect();
            render::print_json(&rollups)?;
        }
        Output::Csv
            if answers
                .iter()
                .all(|(query, _)| query.view != View::ProForma) =>
        {
            let rows: Vec<&holdco_core::rollup::RollupRow> = answers
                .iter()
                .flat_map(|(_, answer)| &answer.rows)
                .collect();
            render::print_csv(&rows)?;
        }
        _ => {
            for (query, answer) in &answers {
                print_rollup(&model, query, answer, fast, args)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_rollup(
    model: &Model,
    query: &Query,
    answer: &holdco_core::rollup::Rollup,
    took_fast_path: bool,
    args: &RollupArgs,
) -> Result<ExitCode> {
    let percent = model
        .metric(&query.metric)
        .is_some_and(|m| matches!(m.aggregation, Aggregation::Ratio { .. }));
    crate::excel_commands::describe_rollup(model, query, answer, percent);
    match args.format.output() {
        Output::Json => render::print_json(&answer)?,
        Output::Csv if query.view == View::ProForma => {
            // A pro-forma file must never pass for a restated one: each row says so.
            #[derive(serde::Serialize)]
            struct ProFormaRow<'a> {
                view: &'static str,
                node: &'a str,
                name: &'a str,
                depth: u32,
                kind: &'a holdco_core::rollup::RowKind,
                period: &'a str,
                metric: &'a str,
                value: Option<f64>,
                minority: f64,
                eliminated: f64,
                gap: Option<&'a str>,
                provenance: Option<&'a str>,
            }
            let rows: Vec<ProFormaRow> = answer
                .rows
                .iter()
                .map(|r| ProFormaRow {
                    view: View::ProForma.name(),
                    node: &r.node,
                    name: &r.name,
                    depth: r.depth,
                    kind: &r.kind,
                    period: &r.period,
                    metric: &r.metric,
                    value: r.value,
                    minority: r.minority,
                    eliminated: r.eliminated,
                    gap: r.gap.as_deref(),
                    provenance: r.provenance.as_deref(),
                })
                .collect();
            render::print_csv(&rows)?
        }
        Output::Csv => render::print_csv(&answer.rows)?,
        Output::Table => {
            let scale = model
                .metric(&query.metric)
                .and_then(|m| m.scale.clone())
                .map(|s| format!(" {s}"))
                .unwrap_or_default();
            let unit = answer
                .currency
                .as_ref()
                .map(|c| format!(", {c}{scale}"))
                .unwrap_or_default();
            let structure = match query.view {
                View::Reported => "each period in its own structure".to_string(),
                _ => format!("in the {} structure", answer.structure),
            };
            println!(
                "{} ({}{unit}), {}, {structure}",
                answer.metric, answer.view, model.group.name
            );
            let mut header = vec!["".to_string()];
            header.extend(answer.periods.iter().cloned());
            let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
            let mut table = render::table(&header_refs);
            let mut notes = Vec::new();
            let mut marks = ProvenanceMarks::default();
            for line in answer.rows.chunks(answer.periods.len()) {
                let first = &line[0];
                let mut cells = vec![format!(
                    "{}{}",
                    "  ".repeat(first.depth as usize),
                    first.name
                )];
                for row in line {
                    cells.push(match (&row.value, &row.gap) {
                        (_, Some(gap)) => {
                            notes.push(format!("{} {}: {gap}", row.node, row.period));
                            format!("gap[{}]", notes.len())
                        }
                        (Some(v), None) => format!(
                            "{}{}",
                            number(*v, percent),
                            marks.mark(row.provenance.as_deref())
                        ),
                        (None, None) => "–".to_string(),
                    });
                }
                table.add_row(cells);
            }
            align_right(&mut table, 1..=answer.periods.len());
            println!("{table}");
            for (i, note) in notes.iter().enumerate() {
                println!("  [{}] {note}", i + 1);
            }
            for legend in marks.legend() {
                println!("  {legend}");
            }
            if !answer.excluded.is_empty() {
                if query.view == View::ProForma {
                    println!(
                        "  pro forma: removed from every period (divested or spun off in the span) {}",
                        answer.excluded.join(", ")
                    );
                } else {
                    println!("  organic: left out {}", answer.excluded.join(", "));
                }
            }
            if query.view == View::ProForma {
                println!("  pro forma: every deal of the span as if made at its start; units acquired in it count in every period (a gap where their earlier figures are missing)");
            }
            if took_fast_path {
                println!("  answered by the columnar engine (same rows as the explainable one; --exact forces that)");
            }
            println!(
                "  explain a figure: holdco explain {} --node ID --period P{}",
                answer.metric,
                if query.view == View::Reported {
                    String::new()
                } else {
                    format!(" --view {}", query.view)
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Marks after a figure saying where it comes from, when not every figure of the table is
/// computed the same way: ` P` published by the group in this structure, ` C` chained from
/// its restatement into an earlier structure, ` M` a mix; computed and reported figures go
/// unmarked.
#[derive(Default)]
struct ProvenanceMarks {
    seen: std::collections::BTreeSet<(&'static str, String)>,
}

impl ProvenanceMarks {
    fn mark(&mut self, provenance: Option<&str>) -> &'static str {
        let Some(provenance) = provenance else {
            return "  ";
        };
        let mark = if provenance.contains(" + ") {
            " M"
        } else if provenance == "published" || provenance.starts_with("published@") {
            " P"
        } else if provenance.starts_with("chained from") {
            " C"
        } else {
            "  "
        };
        if mark != "  " {
            self.seen.insert((mark, provenance.to_string()));
        }
        mark
    }

    fn legend(&self) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        let chained: Vec<&str> = self
            .seen
            .iter()
            .filter(|(m, _)| *m == " C")
            .filter_map(|(_, t)| t.strip_prefix("chained from "))
            .collect();
        if !chained.is_empty() {
            lines.push(format!(
                "C = the group's restatement into the structure of {}, carried on by lineage",
                chained.join(" or ")
            ));
        }
        for (mark, text) in &self.seen {
            let line = match mark.trim() {
                "P" => "P = published by the group in this structure".to_string(),
                "M" => format!("M = {text} (a published figure and figures computed below it)"),
                _ => continue,
            };
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
        if !lines.is_empty() {
            lines.push("unmarked = computed from reported figures by lineage (--from reported computes every figure)".to_string());
        }
        lines
    }
}

/// What `holdco explain` is asked about: one node and one period (otherwise as `Scope`).
#[derive(clap::Args, Debug)]
pub struct ExplainScope {
    /// Node explained (the group when omitted).
    #[arg(long)]
    node: Option<String>,
    /// The period (2023Q3, FY2024...).
    #[arg(long)]
    period: String,
    /// reported, restated, organic or pro_forma (as if every acquisition, disposal and
    /// spin-off of the compared span had happened at its start; docs/semantics.md).
    #[arg(long, default_value = "reported")]
    view: String,
    /// Date of the structure to restate into (the latest when omitted).
    #[arg(long)]
    structure: Option<String>,
    /// Which facts: reported, plan, estimate or restated@YYYY-MM-DD.
    #[arg(long, default_value = "reported")]
    basis: String,
    /// Restated and organic views: `published` (the group's own restatements first) or
    /// `reported` (reported figures carried by lineage only).
    #[arg(long, default_value = "published", value_parser = ["published", "reported"])]
    from: String,
}

impl ExplainScope {
    fn query(&self, model: &Model, metric: &str) -> Result<Query> {
        let scope = Scope {
            node: self.node.clone(),
            period: Some(self.period.clone()),
            periods: None,
            view: self.view.clone(),
            structure: self.structure.clone(),
            basis: self.basis.clone(),
            from: self.from.clone(),
        };
        scope.query(model, metric, 0, None)
    }
}

/// Arguments of `holdco explain`.
#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// Metric id.
    metric: String,
    #[command(flatten)]
    scope: ExplainScope,
    /// Emit JSON.
    #[arg(long)]
    json: bool,
    /// Write the facts behind the figure as a formatted Excel workbook.
    #[arg(long, value_name = "FILE", conflicts_with = "json")]
    xlsx: Option<PathBuf>,
}

/// `holdco explain`.
pub fn explain(context: &Context, args: &ExplainArgs) -> Result<ExitCode> {
    let model = current_model(context)?;
    let engine = Engine::new(&model)?;
    let query = args.scope.query(&model, &args.metric)?;
    if query.periods.len() != 1 {
        bail!("explain takes one period: use --period P");
    }
    let explanation = engine.explain(&query)?;
    if let Some(path) = &args.xlsx {
        return crate::excel_commands::explain(path, &explanation);
    }
    if args.json {
        render::print_json(&explanation)?;
        return Ok(ExitCode::SUCCESS);
    }
    let percent = model
        .metric(&query.metric)
        .is_some_and(|m| matches!(m.aggregation, Aggregation::Ratio { .. }));
    let structure = match explanation.view {
        View::Reported => format!("as reported ({} structure)", explanation.structure),
        view => format!("{view} into the {} structure", explanation.structure),
    };
    println!(
        "{} of {} ({}) for {}, {structure}: {}",
        explanation.metric,
        explanation.name,
        explanation.node,
        explanation.period,
        explanation
            .value
            .map(|v| format!(
                "{}{}",
                number(v, percent),
                explanation
                    .currency
                    .as_ref()
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default()
            ))
            .unwrap_or_else(|| "no figure".into())
    );
    for part in &explanation.parts {
        if explanation.parts.len() > 1 {
            println!("\n{} = {}", part.metric, number(part.total, false));
        }
        let mut table = render::table(&[
            "fact",
            "value",
            "role",
            "lineage",
            "weight",
            "ownership",
            "rate",
            "amount",
            "lands at",
        ]);
        for fact in &part.facts {
            let lineage = if fact.lineage.is_empty() {
                "—".to_string()
            } else {
                fact.lineage
                    .iter()
                    .map(|s| format!("{} ({})", s.what, s.change))
                    .collect::<Vec<_>>()
                    .join(" → ")
            };
            table.add_row(vec![
                format!(
                    "{} {} {}{}",
                    fact.unit,
                    fact.period,
                    fact.basis,
                    fact.counterparty
                        .as_ref()
                        .map(|c| format!(" with {c}"))
                        .unwrap_or_default()
                ),
                format!(
                    "{}{}",
                    number(fact.value, false),
                    fact.currency
                        .as_ref()
                        .map(|c| format!(" {c}"))
                        .unwrap_or_default()
                ),
                fact.role.clone(),
                lineage,
                format!("{:.4}", fact.weight),
                format!("{:.4}", fact.ownership),
                format!("{}", fact.rate),
                number(fact.amount, false),
                fact.lands_at.clone(),
            ]);
        }
        for elimination in &part.eliminations {
            table.add_row(vec![
                format!(
                    "{} → {} {}",
                    elimination.unit, elimination.counterparty, elimination.period
                ),
                number(elimination.value, false),
                "intercompany eliminated".into(),
                String::new(),
                format!("{:.4}", elimination.weight),
                String::new(),
                String::new(),
                number(elimination.amount, false),
                String::new(),
            ]);
        }
        align_right(&mut table, [1, 4, 5, 6, 7]);
        render::fit_to_terminal(&mut table, &[0, 2, 3, 8]);
        println!("{table}");
        if part.netted > 0 {
            println!("  {} fact(s) recorded below a total inside this figure cancel out and are not listed", part.netted);
        }
        for line in &part.lines {
            println!(
                "  {}: {} ({}{}), {} from {} fact(s) listed together above",
                line.line,
                line.name,
                if line.left.is_some() { "left by " } else { "" },
                line.left.as_deref().unwrap_or("still in the group"),
                number(line.amount, false),
                line.facts
            );
        }
        for line in &part.resolution {
            println!("  period: {line}");
        }
        for gap in &part.gaps {
            println!("  gap: {gap}");
        }
        // Facts read from the store carry no file and line; those read from a folder do.
        let sources: Vec<String> = part
            .facts
            .iter()
            .filter_map(|f| {
                f.source.as_ref().map(|s| {
                    if f.origin.starts_with('<') {
                        format!("{} {}: {s}", f.unit, f.period)
                    } else {
                        format!("{} {}: {s} ({})", f.unit, f.period, f.origin)
                    }
                })
            })
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        for source in sources {
            if seen.insert(source.clone()) {
                println!("  source: {source}");
            }
        }
        // The facts' notes and the precision they were published to.
        for fact in &part.facts {
            let key = format!("{} {} {}", fact.unit, fact.period, fact.basis);
            if let Some(note) = &fact.note {
                if seen.insert(format!("note {key}")) {
                    println!("  note: {key}: {note}");
                }
            }
            if let Some(step) = fact.precision {
                if seen.insert(format!("precision {key}")) {
                    println!(
                        "  precision: {key}: published to the nearest {} (±{})",
                        full_precision(step),
                        full_precision(step / 2.0)
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `holdco calibrate`.
#[derive(clap::Args, Debug)]
pub struct CalibrateArgs {
    /// Ids of the split changes to calibrate (calibrated together).
    #[arg(required = true)]
    changes: Vec<String>,
    /// Periods published under both structures (A..B or one label).
    #[arg(long)]
    period: String,
    /// Metrics whose published figures are fitted (comma-separated); all additive when omitted.
    #[arg(long, value_delimiter = ',')]
    metrics: Vec<String>,
    /// Date of the structure the restated figures were published under (found when omitted).
    #[arg(long)]
    published: Option<String>,
    /// Write the shares into the stored timeline.
    #[arg(long)]
    record: bool,
    /// Emit JSON.
    #[arg(long)]
    json: bool,
}

/// `holdco calibrate`.
pub fn calibrate(context: &Context, args: &CalibrateArgs) -> Result<ExitCode> {
    let mut model = current_model(context)?;
    let calendar = model.group.calendar();
    let periods = parse_range(&args.period, calendar).map_err(|e| anyhow!("--period: {e}"))?;
    let metrics: Vec<MetricId> = if args.metrics.is_empty() {
        model
            .metrics
            .iter()
            .filter(|m| matches!(m.aggregation, Aggregation::Flow | Aggregation::Stock))
            .map(|m| m.id.clone())
            .collect()
    } else {
        args.metrics
            .iter()
            .map(|m| MetricId::parse(m).map_err(|e| anyhow!(e)))
            .collect::<Result<_>>()?
    };
    let request = Calibration {
        changes: args.changes.clone(),
        periods,
        metrics,
        published: args
            .published
            .as_deref()
            .map(|d| parse_date(d, "published"))
            .transpose()?,
    };
    let result = calibrate::calibrate(&model, &request)?;
    if args.json {
        render::print_json(&result)?;
    } else {
        println!(
            "Split shares fitted to figures published in the {} structure:",
            result.published
        );
        let mut table = render::table(&["change", "part", "share"]);
        for split in &result.splits {
            for (unit, share) in &split.parts {
                table.add_row(vec![
                    split.change.clone(),
                    unit.clone(),
                    format!("{:.6}", share),
                ]);
            }
        }
        align_right(&mut table, [2]);
        println!("{table}");
        let mut table = render::table(&[
            "unit",
            "metric",
            "period",
            "published",
            "fitted",
            "residual",
        ]);
        for e in &result.equations {
            table.add_row(vec![
                e.unit.clone(),
                e.metric.clone(),
                e.period.clone(),
                number(e.published, false),
                number(e.fitted, false),
                format!("{:.3}", e.residual),
            ]);
        }
        align_right(&mut table, [3, 4, 5]);
        println!("{table}");
        println!("RMS residual: {:.6}", result.rms_residual);
        for warning in &result.warnings {
            println!("warning: {warning}");
        }
    }
    if args.record {
        if context.model.is_some() {
            bail!("--record writes into the store; drop --model (edit the split's shares in timeline.toml instead)");
        }
        calibrate::record(&mut model, &result, &args.period);
        let (_, problems) = validate(&model);
        if !problems.is_empty() {
            print_problems(Path::new(""), &problems);
            bail!("the calibrated shares don't make a valid model; nothing recorded");
        }
        let mut store = open_store(context)?;
        recorded_import(
            store.as_mut(),
            &model,
            &format!("calibrate {}", args.changes.join(" ")),
        )?;
        eprintln!(
            "recorded the shares in {} (`holdco export` writes them to timeline.toml)",
            shown(context)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `holdco reconcile`.
pub fn reconcile(
    context: &Context,
    tolerance: &str,
    failures: bool,
    output: Output,
) -> Result<ExitCode> {
    let model = current_model(context)?;
    let tolerance = Tolerance::parse(tolerance).map_err(|e| anyhow!("--tolerance: {e}"))?;
    let checks = reconcile::reconcile(&model, tolerance)?;
    // Only a defect fails: a difference within the published precision, or one the
    // published figure's note states, is not one (docs/semantics.md, 10.1 and 10.2).
    let defect = |c: &reconcile::Check| c.status == reconcile::CheckStatus::Defect;
    let failed = checks.iter().filter(|c| defect(c)).count();
    let count = |status| checks.iter().filter(|c| c.status == status).count();
    let (rounding, explained) = (
        count(reconcile::CheckStatus::WithinPrecision),
        count(reconcile::CheckStatus::Explained),
    );
    let shown: Vec<&reconcile::Check> = checks
        .iter()
        .filter(|c| !failures || c.status != reconcile::CheckStatus::Ok)
        .collect();
    match output {
        Output::Json => render::print_json(&shown)?,
        Output::Csv => render::print_csv(&shown)?,
        Output::Table => {
            // What each failing check was computed as goes below the table, so the table
            // fits a 120-column terminal (the full rows are in --json and --csv).
            let mut table = render::table(&[
                "",
                "check",
                "unit",
                "metric",
                "period",
                "basis",
                "published",
                "computed",
                "difference",
            ]);
            let mut notes = Vec::new();
            for c in &shown {
                let flag = match c.status {
                    reconcile::CheckStatus::Ok => "ok".to_string(),
                    reconcile::CheckStatus::WithinPrecision => {
                        notes.push(format!(
                            "rounding: within ±{} of the published precisions; computed as {}",
                            number(c.allowance, false),
                            c.detail
                        ));
                        format!("≈[{}]", notes.len())
                    }
                    reconcile::CheckStatus::Explained => {
                        notes.push(format!(
                            "explained: {}; computed as {}",
                            c.note.clone().unwrap_or_default(),
                            c.detail
                        ));
                        format!("EXPL[{}]", notes.len())
                    }
                    reconcile::CheckStatus::Defect => {
                        notes.push(format!("computed as {}", c.detail));
                        format!("DIFF[{}]", notes.len())
                    }
                };
                table.add_row(vec![
                    flag,
                    format!("{:?}", c.kind).to_lowercase(),
                    c.unit.clone(),
                    c.metric.clone(),
                    c.period.clone(),
                    c.basis.clone(),
                    number(c.published, false),
                    number(c.computed, false),
                    number(c.difference, false),
                ]);
            }
            align_right(&mut table, [6, 7, 8]);
            render::fit_to_terminal(&mut table, &[2, 5]);
            println!("{table}");
            for (i, note) in notes.iter().enumerate() {
                println!("  [{}] {note}", i + 1);
            }
            println!(
                "{} checks, {} within tolerance, {rounding} within the published precision, {explained} explained, {failed} unexplained",
                checks.len(),
                checks.len() - failed - rounding - explained
            );
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A value exactly as stored (the shortest text that reads back to the same number), with
/// thousands separators: revisions differ by small amounts that rounding would hide
/// (1196.61 and 1197.11 both rounded to 1,197; issue 16 item 18).
fn full_precision(value: f64) -> String {
    let text = format!("{value}");
    if !value.is_finite() || text.contains('e') {
        return text;
    }
    let (sign, digits) = text
        .strip_prefix('-')
        .map_or(("", text.as_str()), |rest| ("-", rest));
    let (whole, fraction) = digits
        .split_once('.')
        .map_or((digits, None), |(w, f)| (w, Some(f)));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match fraction {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// `holdco revisions`.
pub fn revisions(
    context: &Context,
    unit: &str,
    metric: &str,
    period: &str,
    basis: &str,
    counterparty: Option<&str>,
    json: bool,
) -> Result<ExitCode> {
    let store = open_store(context)?;
    let model = store
        .load()?
        .ok_or_else(|| anyhow!("the store {} is empty", shown(context)))?;
    let calendar = model.group.calendar();
    let basis = match holdco_app::request::basis(basis, "published")
        .map_err(|e| anyhow!(e.cli_message()))?
    {
        BasisFilter::Reported | BasisFilter::ReportedOnly => Basis::Reported,
        BasisFilter::Plan => Basis::Plan,
        BasisFilter::Estimate => Basis::Estimate,
        BasisFilter::Restated(structure) => Basis::Restated { structure },
    };
    let key = FactKey {
        unit: UnitId::parse(unit).map_err(|e| anyhow!(e))?,
        period: Period::parse(period, calendar).map_err(|e| anyhow!(e))?,
        metric: MetricId::parse(metric).map_err(|e| anyhow!(e))?,
        counterparty: counterparty
            .map(UnitId::parse)
            .transpose()
            .map_err(|e| anyhow!(e))?,
        basis,
    };
    let history = store.fact_history(&key)?;
    if history.is_empty() {
        bail!("no such fact in {}", shown(context));
    }
    if json {
        let rows: Vec<serde_json::Value> = history
            .iter()
            .map(|r| serde_json::json!({ "revision": r.revision, "value": r.value, "currency": r.currency.as_ref().map(|c| c.to_string()), "source": r.source, "note": r.note, "precision": r.precision, "deleted": r.deleted, "import_id": r.import_id, "import_label": r.import_label, "imported_at": r.imported_at }))
            .collect();
        render::print_json(&rows)?;
    } else {
        let mut table = render::table(&["revision", "value", "import", "source"]);
        for revision in &history {
            // A deletion (`import --prune`) repeats the value it ends.
            let value = if revision.deleted {
                format!("deleted ({})", full_precision(revision.value))
            } else {
                full_precision(revision.value)
            };
            table.add_row(vec![
                revision.revision.to_string(),
                value,
                revision.import_label.clone(),
                revision.source.clone().unwrap_or_default(),
            ]);
        }
        align_right(&mut table, [0, 1]);
        println!("{table}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `holdco gen`.
#[derive(clap::Args, Debug)]
pub struct GenArgs {
    /// Folder to write (must be empty or absent).
    dir: PathBuf,
    /// Units in the initial structure.
    #[arg(long, default_value_t = 500)]
    units: usize,
    /// Fact rows to aim for.
    #[arg(long, default_value_t = 1_000_000)]
    facts: usize,
    /// Dated changes after the initial structure.
    #[arg(long, default_value_t = 200)]
    changes: usize,
    /// Levels below the root.
    #[arg(long, default_value_t = 4)]
    depth: usize,
    /// Months of facts.
    #[arg(long, default_value_t = 120)]
    months: usize,
    /// Metrics with facts (derived from --facts when omitted).
    #[arg(long)]
    metrics: Option<usize>,
    /// Seed: the same seed gives the same folder.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// People (people.csv) with role events in the timeline (governance; 0: none).
    #[arg(long, default_value_t = 0)]
    people: usize,
    /// Role events to aim for (appointments, step-downs, transfers; 10 per person when
    /// omitted).
    #[arg(long)]
    role_events: Option<usize>,
}

/// `holdco gen`: checks the sizes against the documented maxima, writes the folder beside
/// its destination under a temporary name and renames it into place only when complete, so
/// a failure (a full disk, Ctrl-C) never leaves a half-written model that `import` accepts.
pub fn gen(args: &GenArgs) -> Result<ExitCode> {
    use holdco_core::synth::SynthSpec;
    if args.dir.exists() && std::fs::read_dir(&args.dir)?.next().is_some() {
        bail!("{} is not empty: choose a new folder", args.dir.display());
    }
    let spec = SynthSpec {
        units: args.units,
        facts: args.facts,
        changes: args.changes,
        seed: args.seed,
        depth: args.depth,
        months: Some(args.months),
        metrics: args.metrics,
        ..SynthSpec::default()
    };
    if let Err(message) = spec.validate() {
        bail!("{message} (see Limits in docs/format.md)");
    }
    let parent = match args.dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".holdco-gen-")
        .tempdir_in(&parent)
        .with_context(|| format!("creating a temporary folder in {}", parent.display()))?;
    gen_into(args, &spec, staging.path())?;
    if args.dir.exists() {
        // Checked empty above; rename(2) can't replace a directory on every system.
        std::fs::remove_dir(&args.dir)
            .with_context(|| format!("replacing the empty folder {}", args.dir.display()))?;
    }
    std::fs::rename(staging.path(), &args.dir)
        .with_context(|| format!("moving the generated folder into {}", args.dir.display()))?;
    // The folder now lives at its destination: nothing is left for the guard to remove.
    let _ = staging.keep();
    Ok(ExitCode::SUCCESS)
}

/// Writes the generated model into `dir` (the staging folder) and prints a summary.
fn gen_into(
    args: &GenArgs,
    spec: &holdco_core::synth::SynthSpec,
    dir: &std::path::Path,
) -> Result<()> {
    use holdco_core::synth::{metric_name, Synth, SYNTH_CURRENCIES};
    use std::io::Write as _;
    let synth = Synth::generate(spec);
    let files = if args.people > 0 {
        // People and their role events (holdco-governance), valid against the structure.
        let mut model = synth.model.clone();
        let (timeline, _) =
            holdco_core::timeline::Timeline::replay(&model.group, &model.metrics, &model.timeline);
        let people = holdco_governance::synth::synth_people(
            &synth.model,
            &timeline,
            args.people,
            args.role_events.unwrap_or(args.people * 10),
            args.seed,
        );
        drop(timeline);
        println!(
            "generated {} people and {} role events",
            people.people.len(),
            people.events.len()
        );
        model.timeline.extend(people.events);
        model
            .documents
            .insert("people.csv".into(), people.people_csv);
        write_model(&model)
    } else {
        write_model(&synth.model)
    };
    folder::write(dir, &files)?;
    let total = synth.fact_count();
    let progress = indicatif::ProgressBar::new(total as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} writing facts {bar:40} {human_pos}/{human_len} ({per_sec}, {eta})",
        )
        .expect("valid template"),
    );
    let calendar = synth.model.group.calendar();
    let facts_dir = dir.join("facts");
    std::fs::create_dir_all(&facts_dir)?;
    let chunk = 2_000_000usize;
    let mut written = 0usize;
    let mut writer: Option<std::io::BufWriter<std::fs::File>> = None;
    let mut labels: std::collections::HashMap<Period, String> = std::collections::HashMap::new();
    let mut number = String::new();
    let metric_names: Vec<String> = (0..synth.metric_count()).map(metric_name).collect();
    for fact in synth.facts() {
        if written.is_multiple_of(chunk) {
            if let Some(mut w) = writer.take() {
                w.flush()?;
            }
            let path = facts_dir.join(format!("part-{:04}.csv", written / chunk + 1));
            let mut w = std::io::BufWriter::with_capacity(
                1 << 20,
                std::fs::File::create(&path)
                    .with_context(|| format!("creating {}", path.display()))?,
            );
            w.write_all(b"unit,period,metric,value,currency,counterparty\n")?;
            writer = Some(w);
        }
        let w = writer.as_mut().expect("opened above");
        let label = labels
            .entry(fact.period)
            .or_insert_with(|| fact.period.label(calendar));
        number.clear();
        use std::fmt::Write as _;
        let _ = write!(number, "{}", fact.value);
        let currency = if fact.currency == 0 {
            ""
        } else {
            SYNTH_CURRENCIES[fact.currency as usize - 1]
        };
        let counterparty = fact
            .counterparty
            .map(|c| synth.unit_id(c).as_str())
            .unwrap_or("");
        writeln!(
            w,
            "{},{},{},{},{},{}",
            synth.unit_id(fact.unit),
            label,
            metric_names[fact.metric as usize],
            number,
            currency,
            counterparty
        )?;
        written += 1;
        if written.is_multiple_of(65_536) {
            progress.set_position(written as u64);
        }
    }
    if let Some(mut w) = writer.take() {
        w.flush()?;
    }
    progress.finish_and_clear();
    let mut after_start = synth.model.clone();
    after_start
        .timeline
        .drain(..args.units.max(2).min(after_start.timeline.len()));
    let kinds = holdco_core::synth::change_kinds(&after_start);
    println!(
        "wrote {}: {} units at the start, {} changes ({}), {} months, {} metrics, {} facts, {} FX rates",
        args.dir.display(),
        args.units,
        synth.model.timeline.len() - args.units.max(2),
        kinds.iter().map(|(k, n)| format!("{n} {k}")).collect::<Vec<_>>().join(", "),
        synth.months(),
        synth.metric_count(),
        written,
        synth.model.fx.len()
    );
    Ok(())
}

/// `holdco check`'s line for a valid folder. The folder is valid, so replaying the log for
/// the unit count is enough (no second validation of every fact).
fn print_check_ok(dir: &Path, model: &holdco_core::Model, facts: usize) {
    let (timeline, _) =
        holdco_core::timeline::Timeline::replay(&model.group, &model.metrics, &model.timeline);
    println!(
        "ok: {} — {} units, {} changes, {} metrics, {} facts, {} FX rates",
        dir.display(),
        timeline.units.len(),
        model.timeline.len(),
        model.metrics.len(),
        facts,
        model.fx.len()
    );
}

#[cfg(test)]
mod tests {
    use super::full_precision;

    #[test]
    fn deep_trees_indent_in_bounded_space() {
        assert_eq!(super::tree_indent(2), "    ");
        assert_eq!(
            super::tree_indent(100_000).len(),
            2 * super::MAX_INDENT_LEVELS + "[level 100000] ".len()
        );
    }

    #[test]
    fn revisions_show_values_at_full_precision() {
        assert_eq!(full_precision(1196.61), "1,196.61");
        assert_eq!(full_precision(1197.11), "1,197.11");
        assert_eq!(full_precision(-941168.0), "-941,168");
        assert_eq!(full_precision(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(full_precision(12.5), "12.5");
    }
}
