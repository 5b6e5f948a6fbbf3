//! Workbooks on the command line: `check`, `import` and `export --xlsx` for the model as a
//! workbook, `--xlsx FILE` on every table command (through one generic writer), and the
//! reporting packages. The sheets themselves are the `holdco-excel` crate's.

use crate::commands::{import_from, problems_summary, Context, ImportSource};
use anyhow::{anyhow, bail, Result};
use holdco_core::{Diagnostic, Model};
use holdco_excel::model_read::WorkbookFiles;
use holdco_excel::{read_model_workbook, write_model_workbook, Limits, TableSheet};
use serde::Serialize;
use std::cell::RefCell;
use std::path::Path;
use std::process::ExitCode;

/// True for a path that names a workbook (`.xlsx`) rather than a model folder.
pub fn is_workbook(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"))
        && !path.is_dir()
}

/// Reads a workbook: its files and the problems found in its cells. An unreadable file
/// (encrypted, corrupted, too large) is an error naming the file.
fn read(path: &Path) -> Result<(WorkbookFiles, Vec<Diagnostic>)> {
    read_model_workbook(path, Limits::from_env()).map_err(|e| anyhow!(e))
}

/// Every problem of a workbook: its cells', then the folder reader's located in it.
fn all_problems(
    book: WorkbookFiles,
    mut problems: Vec<Diagnostic>,
) -> std::result::Result<Model, Vec<Diagnostic>> {
    let result = crate::bulk::load_files(book.files.clone());
    match result {
        Ok(model) if problems.is_empty() => Ok(model),
        Ok(_) => Err(problems),
        Err(more) => {
            problems.extend(more.iter().filter_map(|p| book.locate(p)));
            Err(problems)
        }
    }
}

fn print(problems: &[Diagnostic]) {
    for problem in problems {
        eprintln!("{problem}");
    }
}

/// `holdco check FILE.xlsx`.
pub fn check(path: &Path) -> Result<ExitCode> {
    let (book, problems) = match read(path) {
        Ok(read) => read,
        Err(error) => return refused(error),
    };
    match all_problems(book, problems) {
        Ok(model) => {
            println!(
                "ok: {} — {} changes, {} metrics, {} facts, {} FX rates, {} documents",
                path.display(),
                model.timeline.len(),
                model.metrics.len(),
                model.facts.len(),
                model.fx.len(),
                model.documents.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            print(&problems);
            eprintln!(
                "{} in {}; nothing was changed (fix them and run `holdco check` again)",
                problems_summary(problems.len()),
                path.display()
            );
            Ok(ExitCode::from(1))
        }
    }
}

/// A file that is not a workbook to read: bad input, so exit 1 with the reason.
fn refused(error: anyhow::Error) -> Result<ExitCode> {
    eprintln!("error: {error:#}");
    eprintln!("nothing was changed");
    Ok(ExitCode::from(1))
}

/// The model of a workbook, for `--model FILE.xlsx`.
pub fn load_workbook(path: &Path) -> Result<Model> {
    let (book, problems) = read(path)?;
    all_problems(book, problems).map_err(|problems| {
        print(&problems);
        anyhow!(
            "{} in {}; run `holdco check {}`",
            problems_summary(problems.len()),
            path.display(),
            path.display()
        )
    })
}

/// `holdco import FILE.xlsx`: the workbook's files go through the same import as a folder's.
pub fn import(
    context: &Context,
    path: &Path,
    label: Option<String>,
    prune: bool,
) -> Result<ExitCode> {
    let timing = std::env::var_os("HOLDCO_TIMING").is_some();
    let started = std::time::Instant::now();
    let (book, problems) = match read(path) {
        Ok(read) => read,
        Err(error) => return refused(error),
    };
    if timing {
        eprintln!("import: read the workbook in {:.2?}", started.elapsed());
    }
    if !problems.is_empty() {
        let problems = all_problems(book, problems).err().unwrap_or_default();
        print(&problems);
        eprintln!(
            "{}; the store was not changed",
            problems_summary(problems.len())
        );
        return Ok(ExitCode::from(1));
    }
    // The files go to the import; `book` keeps where each of their lines came from.
    let mut book = book;
    let files = RefCell::new(Some(std::mem::take(&mut book.files)));
    let lap = |what: &str| {
        if timing {
            eprintln!("import: {what} at {:.2?}", started.elapsed());
        }
    };
    let label = label.unwrap_or_else(|| path.display().to_string());
    let source = ImportSource {
        shown: path.display().to_string(),
        columns: Box::new(|| {
            Ok(files
                .borrow()
                .as_ref()
                .and_then(|f| crate::bulk::load_files_columns(f, &lap)))
        }),
        reference: Box::new(|| {
            Ok(crate::bulk::load_files(
                files.borrow_mut().take().unwrap_or_default(),
            ))
        }),
        diagnose: None,
        print: Box::new(|problems| {
            print(
                &problems
                    .iter()
                    .filter_map(|p| book.locate(p))
                    .collect::<Vec<_>>(),
            )
        }),
    };
    import_from(context, source, &label, prune)
}

/// `holdco export --xlsx FILE`.
pub fn export(context: &Context, path: &Path, force: bool) -> Result<ExitCode> {
    if path.exists() && !force {
        bail!(
            "{} exists: choose a new file or pass --force to overwrite",
            path.display()
        );
    }
    let model = crate::commands::current_model(context)?;
    let started = std::time::Instant::now();
    // Written beside the target and renamed: a failed export leaves no half-written file.
    let partial = path.with_extension("xlsx.partial");
    let summary = write_model_workbook(&model, &partial).map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        anyhow!("{}: {e}", path.display())
    })?;
    std::fs::rename(&partial, path)?;
    if std::env::var_os("HOLDCO_TIMING").is_some() {
        eprintln!("export: wrote the workbook in {:.2?}", started.elapsed());
    }
    println!(
        "wrote {}: sheets {}; {} facts",
        path.display(),
        summary.sheets.join(", "),
        summary.facts
    );
    std::mem::forget(model);
    Ok(ExitCode::SUCCESS)
}

/// Where `--xlsx FILE` sends the table of this run, and what the command said about it.
static TABLES_TARGET: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
static DESCRIPTION: std::sync::Mutex<Option<Description>> = std::sync::Mutex::new(None);

/// What a command knows about its rows that the rows don't say: a title, the unit of the
/// figures, whether they are shares.
#[derive(Debug, Clone, Default)]
pub struct Description {
    /// Title line.
    pub title: String,
    /// Unit of the `value` column (e.g. `CNY millions`).
    pub unit: Option<String>,
    /// The figures are shares (shown as percentages).
    pub percent: bool,
}

/// `--xlsx FILE` was given: the table goes to `path` instead of standard output.
pub fn write_tables_to(path: &Path) {
    let _ = TABLES_TARGET.set(path.to_path_buf());
}

/// The workbook the table goes to, if `--xlsx` was given.
pub fn tables_target() -> Option<&'static Path> {
    TABLES_TARGET.get().map(|p| p.as_path())
}

/// Records a description of the table about to be printed.
pub fn describe(description: Description) {
    if let Ok(mut slot) = DESCRIPTION.lock() {
        *slot = Some(description);
    }
}

/// The description of a roll-up: its title line and the unit of its figures.
pub fn describe_rollup(
    model: &Model,
    query: &holdco_core::rollup::Query,
    answer: &holdco_core::rollup::Rollup,
    percent: bool,
) {
    let scale = model.metric(&query.metric).and_then(|m| m.scale.clone());
    let unit = match (&answer.currency, scale) {
        (Some(currency), Some(scale)) => Some(format!("{currency} {scale}")),
        (Some(currency), None) => Some(currency.clone()),
        (None, Some(scale)) => Some(scale),
        (None, None) => None,
    };
    let structure = match query.view {
        holdco_core::rollup::View::Reported => "each period in its own structure".to_string(),
        _ => format!("in the {} structure", answer.structure),
    };
    describe(Description {
        title: format!(
            "{} ({}), {}, {structure}",
            answer.metric, answer.view, model.group.name
        ),
        unit: if percent { None } else { unit },
        percent,
    });
}

/// The subcommand's name, for the sheet: the first word of the command line that is not
/// an option or an option's value.
fn command_name() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut index = 0;
    let mut words = Vec::new();
    while index < args.len() && words.len() < 2 {
        let arg = &args[index];
        if arg == "--db" || arg == "--model" {
            index += 2;
            continue;
        }
        if arg.starts_with('-') {
            break;
        }
        words.push(arg.clone());
        index += 1;
    }
    match words.as_slice() {
        [first, second] if first == "scenario" => format!("scenario {second}"),
        [first, ..] => first.clone(),
        [] => "table".into(),
    }
}

/// Columns holding weights, rates and shares: four decimals rather than thousands.
const FINE_COLUMNS: [&str; 8] = [
    "weight",
    "rate",
    "ownership",
    "share",
    "score",
    "probability",
    "shadow_price",
    "mapped",
];

/// Writes rows — the same rows `--csv` prints — as a formatted workbook with a query sheet.
/// Generic: what the sheet looks like follows from the columns (a `gap` column is a note on
/// `value`; node, name, period and value make a wide table with a chart), plus the unit the
/// command described.
pub fn write_rows<T: Serialize>(rows: &[T]) -> Result<()> {
    let path = tables_target().ok_or_else(|| anyhow!("no --xlsx target"))?;
    let description = DESCRIPTION
        .lock()
        .ok()
        .and_then(|d| d.clone())
        .unwrap_or_default();
    let (columns, cells) =
        holdco_excel::rows_from_serialize(rows).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let has = |name: &str| columns.iter().any(|c| c == name);
    let name = command_name();
    let mut table = TableSheet {
        sheet: name.chars().take(31).collect(),
        title: if description.title.is_empty() {
            format!("holdco {name}")
        } else {
            description.title.clone()
        },
        rows: cells,
        query: query_options(),
        ..TableSheet::default()
    };
    if let Some(unit) = &description.unit {
        table.units.insert("value".into(), unit.clone());
    }
    if has("gap") && has("value") {
        table.notes.push(("value".into(), "gap".into()));
    }
    if ["node", "name", "period", "value"].iter().all(|c| has(c)) {
        table.pivot = Some(holdco_excel::Pivot {
            rows: vec!["node".into(), "name".into()],
            across: "period".into(),
            value: "value".into(),
            note: has("gap").then(|| "gap".to_string()),
            indent: has("depth").then(|| "depth".to_string()),
        });
    }
    for column in &columns {
        if FINE_COLUMNS
            .iter()
            .any(|f| column == f || column.ends_with(&format!("_{f}")))
        {
            table
                .formats
                .insert(column.clone(), holdco_excel::ColumnFormat::Decimals(4));
        }
    }
    for column in ["year", "years", "paths", "seed", "depth"] {
        table
            .formats
            .insert(column.into(), holdco_excel::ColumnFormat::Plain);
    }
    if description.percent {
        table
            .formats
            .insert("value".into(), holdco_excel::ColumnFormat::Percent);
    }
    table.columns = columns;
    holdco_excel::write_table(&table, path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    eprintln!("wrote {} ({} rows)", path.display(), rows.len());
    Ok(())
}

/// One fact or elimination behind an explained figure, flat for a sheet.
#[derive(Serialize)]
struct ExplainRow {
    metric: String,
    unit: String,
    period: String,
    basis: String,
    counterparty: Option<String>,
    role: String,
    fact_value: f64,
    fact_currency: Option<String>,
    lineage: String,
    weight: f64,
    ownership: Option<f64>,
    rate: Option<f64>,
    amount: f64,
    lands_at: String,
    source: Option<String>,
}

/// `holdco explain --xlsx FILE`: the facts, weights, rates and eliminations behind a figure.
pub fn explain(path: &Path, explanation: &holdco_core::rollup::Explanation) -> Result<ExitCode> {
    let mut rows = Vec::new();
    for part in &explanation.parts {
        for fact in &part.facts {
            rows.push(ExplainRow {
                metric: part.metric.clone(),
                unit: fact.unit.clone(),
                period: fact.period.clone(),
                basis: fact.basis.clone(),
                counterparty: fact.counterparty.clone(),
                role: fact.role.clone(),
                fact_value: fact.value,
                fact_currency: fact.currency.clone(),
                lineage: fact
                    .lineage
                    .iter()
                    .map(|s| format!("{} ({})", s.what, s.change))
                    .collect::<Vec<_>>()
                    .join(" → "),
                weight: fact.weight,
                ownership: Some(fact.ownership),
                rate: Some(fact.rate),
                amount: fact.amount,
                lands_at: fact.lands_at.clone(),
                source: fact.source.clone(),
            });
        }
        for elimination in &part.eliminations {
            rows.push(ExplainRow {
                metric: part.metric.clone(),
                unit: elimination.unit.clone(),
                period: elimination.period.clone(),
                basis: String::new(),
                counterparty: Some(elimination.counterparty.clone()),
                role: "intercompany eliminated".into(),
                fact_value: elimination.value,
                fact_currency: None,
                lineage: String::new(),
                weight: elimination.weight,
                ownership: None,
                rate: None,
                amount: elimination.amount,
                lands_at: String::new(),
                source: None,
            });
        }
    }
    let figure = explanation
        .value
        .map(|v| format!("{v}"))
        .unwrap_or_else(|| "no figure".into());
    describe(Description {
        title: format!(
            "{} of {} ({}) for {}, {} in the {} structure: {figure}",
            explanation.metric,
            explanation.name,
            explanation.node,
            explanation.period,
            explanation.view,
            explanation.structure
        ),
        unit: explanation.currency.clone(),
        percent: false,
    });
    write_tables_to(path);
    write_rows(&rows)?;
    Ok(ExitCode::SUCCESS)
}

/// The command line as options: what the query sheet records.
fn query_options() -> Vec<(String, String)> {
    let args: Vec<String> = std::env::args().collect();
    let mut out = vec![(
        "command".to_string(),
        args.iter().skip(1).cloned().collect::<Vec<_>>().join(" "),
    )];
    let mut index = 1;
    while index < args.len() {
        let arg = &args[index];
        if let Some(name) = arg.strip_prefix("--") {
            let (name, value) = match name.split_once('=') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None if args
                    .get(index + 1)
                    .is_some_and(|next| !next.starts_with("--")) =>
                {
                    index += 1;
                    (name.to_string(), args[index].clone())
                }
                None => (name.to_string(), "yes".to_string()),
            };
            out.push((format!("--{name}"), value));
        } else {
            out.push(("argument".to_string(), arg.clone()));
        }
        index += 1;
    }
    out.push((
        "holdco version".to_string(),
        env!("CARGO_PKG_VERSION").to_string(),
    ));
    out
}

/// Arguments of `holdco package`.
#[derive(clap::Args, Debug)]
pub struct PackageArgs {
    #[command(subcommand)]
    command: PackageCommand,
}

#[derive(clap::Subcommand, Debug)]
enum PackageCommand {
    /// Write one workbook per unit for a period: its place in the structure, its metrics
    /// with previous periods, input cells, intercompany rows, a hidden identification sheet.
    Make {
        /// The period to report (FY2025, 2025Q3...).
        #[arg(long)]
        period: String,
        /// Folder to write the packages to (created when absent).
        #[arg(long)]
        out: PathBuf,
        /// Units to make packages for (repeatable); the units directly below the group when omitted.
        #[arg(long = "unit")]
        units: Vec<String>,
        /// How many previous periods to show for reference.
        #[arg(long, default_value_t = 3)]
        previous: usize,
    },
    /// Validate every returned package in a folder and import them all as one change.
    Collect {
        /// Folder holding the returned workbooks (*.xlsx).
        dir: PathBuf,
        /// Only packages for this period are accepted.
        #[arg(long)]
        period: Option<String>,
        /// List what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

use holdco_core::rollup::{BasisFilter, Engine, Query, View};
use holdco_core::{Aggregation, Basis, Fact, FactKey, Measure, MetricId, Origin, Period, UnitId};
use std::path::PathBuf;

/// A fingerprint of the model's structure and metrics (group.toml and timeline.toml as
/// exported): a package made before either changed is refused.
fn fingerprint(model: &Model) -> String {
    let files = holdco_core::format::write_model(model);
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for name in [
        holdco_core::format::GROUP_FILE,
        holdco_core::format::TIMELINE_FILE,
    ] {
        for byte in files
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .chain(name.as_bytes())
        {
            hash ^= *byte as u64;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// The store's model and its revision (the last import's id): packages need the store.
fn store_model(context: &Context) -> Result<(Box<dyn holdco_store::Store>, Model, i64)> {
    if context.model.is_some() {
        bail!("reporting packages are made from and collected into the store: drop --model (import the model first)");
    }
    if !crate::commands::store_url(context)?.exists() {
        bail!(
            "no store at {}: import a model first with `holdco --db {} import DIR`",
            context.db.display(),
            context.db.display()
        );
    }
    let store = crate::commands::open_store(context)?;
    let model = store.load()?.ok_or_else(|| {
        anyhow!(
            "the store {} is empty: import a model first",
            context.db.display()
        )
    })?;
    let revision = store.imports()?.last().map(|r| r.id).unwrap_or(0);
    Ok((store, model, revision))
}

/// `holdco package make` and `holdco package collect`.
pub fn package(context: &Context, args: &PackageArgs) -> Result<ExitCode> {
    match &args.command {
        PackageCommand::Make {
            period,
            out,
            units,
            previous,
        } => make(context, period, out, units, *previous),
        PackageCommand::Collect {
            dir,
            period,
            dry_run,
        } => collect(context, dir, period.as_deref(), *dry_run),
    }
}

fn metric_unit(model: &Model, metric: &holdco_core::Metric) -> String {
    let scale = metric.scale.clone().unwrap_or_default();
    let unit = match metric.measure {
        Measure::Currency => format!("{} {scale}", model.group.currency),
        Measure::Count => format!("count {scale}"),
        Measure::Users => format!("users {scale}"),
        Measure::Percent => "share (0.25 = 25%)".into(),
    };
    unit.trim().to_string()
}

fn make(
    context: &Context,
    period: &str,
    out: &Path,
    units: &[String],
    previous: usize,
) -> Result<ExitCode> {
    let (_store, model, revision) = store_model(context)?;
    let engine = Engine::new(&model)?;
    let calendar = model.group.calendar();
    let period = Period::parse(period, calendar).map_err(|e| anyhow!("--period: {e}"))?;
    let date = period.last_day();
    let timeline = engine.timeline();
    let structure = engine.structure(date);
    let root = timeline.root;
    if !structure.alive[root as usize] {
        bail!(
            "the group did not exist on {date}, the last day of {}",
            period.label(calendar)
        );
    }
    let chosen: Vec<u32> = if units.is_empty() {
        structure
            .descendants(root, 1)
            .into_iter()
            .filter(|(u, depth)| *depth == 1 && *u != root)
            .map(|(u, _)| u)
            .collect()
    } else {
        units
            .iter()
            .map(|id| {
                let parsed = UnitId::parse(id).map_err(|e| anyhow!("--unit {id}: {e}"))?;
                let index = timeline.unit(&parsed).ok_or_else(|| anyhow!("--unit {id}: unknown unit (`holdco structure --at {date}` lists the units)"))?;
                if !structure.alive[index as usize] {
                    bail!("--unit {id}: not in the group on {date}, the last day of {}", period.label(calendar));
                }
                Ok(index)
            })
            .collect::<Result<_>>()?
    };
    std::fs::create_dir_all(out)?;
    let previous_periods: Vec<Period> = (1..=previous as i32)
        .rev()
        .map(|k| period.shift(-k))
        .collect();
    let metrics: Vec<&holdco_core::Metric> = model
        .metrics
        .iter()
        .filter(|m| !matches!(m.aggregation, Aggregation::Ratio { .. }))
        .collect();
    let fingerprint = fingerprint(&model);
    for unit in chosen {
        let record = timeline.record(unit);
        let mut path = Vec::new();
        let mut above = structure.parent[unit as usize];
        while let Some(parent) = above {
            path.push((
                timeline.record(parent).id.to_string(),
                timeline.record(parent).name_on(date).to_string(),
            ));
            above = structure.parent[parent as usize];
        }
        path.reverse();
        let children: Vec<(String, String)> = structure
            .descendants(unit, 1)
            .into_iter()
            .filter(|(u, d)| *d == 1 && *u != unit)
            .map(|(u, _)| {
                (
                    timeline.record(u).id.to_string(),
                    timeline.record(u).name_on(date).to_string(),
                )
            })
            .collect();
        let mut package_metrics = Vec::new();
        for metric in &metrics {
            let query = Query {
                metric: metric.id.clone(),
                periods: previous_periods.clone(),
                view: View::Reported,
                structure: None,
                node: Some(record.id.clone()),
                depth: 0,
                currency: None,
                basis: BasisFilter::Reported,
            };
            let values: Vec<Option<f64>> = match engine.rollup(&query) {
                Ok(answer) => previous_periods
                    .iter()
                    .map(|p| {
                        answer
                            .rows
                            .iter()
                            .find(|r| {
                                r.depth == 0
                                    && r.period == p.label(calendar)
                                    && r.node == record.id.as_str()
                            })
                            .and_then(|r| r.value)
                    })
                    .collect(),
                Err(_) => vec![None; previous_periods.len()],
            };
            package_metrics.push(holdco_excel::package::PackageMetric {
                id: metric.id.to_string(),
                name: metric.name.clone(),
                unit: metric_unit(&model, metric),
                previous: values,
            });
        }
        // Counterparties: the unit's siblings, and every unit it has recorded intercompany figures with.
        let mut counterparties: Vec<u32> = structure.parent[unit as usize]
            .map(|p| {
                structure
                    .descendants(p, 1)
                    .into_iter()
                    .filter(|(u, d)| *d == 1 && *u != unit)
                    .map(|(u, _)| u)
                    .collect()
            })
            .unwrap_or_default();
        for fact in model.facts.iter().filter(|f| f.key.unit == record.id) {
            if let Some(index) = fact
                .key
                .counterparty
                .as_ref()
                .and_then(|c| timeline.unit(c))
            {
                if structure.alive[index as usize]
                    && !counterparties.contains(&index)
                    && index != unit
                {
                    counterparties.push(index);
                }
            }
        }
        let spec = holdco_excel::package::PackageSpec {
            unit: record.id.to_string(),
            unit_name: record.name_on(date).to_string(),
            unit_kind: record.kind.clone(),
            period: period.label(calendar),
            period_days: (period.first_day(), date),
            path,
            ownership: record.stake_on(date).0,
            children,
            previous: previous_periods.iter().map(|p| p.label(calendar)).collect(),
            metrics: package_metrics,
            intercompany_metrics: metrics
                .iter()
                .filter(|m| m.measure == Measure::Currency && m.aggregation == Aggregation::Flow)
                .map(|m| m.id.to_string())
                .collect(),
            counterparties: counterparties
                .iter()
                .map(|u| {
                    (
                        timeline.record(*u).id.to_string(),
                        timeline.record(*u).name_on(date).to_string(),
                    )
                })
                .collect(),
            revision,
            fingerprint: fingerprint.clone(),
        };
        let file = out.join(format!("{}-{}.xlsx", record.id, period.label(calendar)));
        holdco_excel::package::write_package(&spec, &file)
            .map_err(|e| anyhow!("{}: {e}", file.display()))?;
        println!(
            "wrote {} ({}, {} metrics, {} intercompany rows)",
            file.display(),
            spec.unit_name,
            spec.metrics.len(),
            spec.intercompany_metrics.len() * spec.counterparties.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn collect(context: &Context, dir: &Path, period: Option<&str>, dry_run: bool) -> Result<ExitCode> {
    let (mut store, model, revision) = store_model(context)?;
    let calendar = model.group.calendar();
    let engine = Engine::new(&model)?;
    let timeline = engine.timeline();
    let current = fingerprint(&model);
    let wanted = period
        .map(|p| Period::parse(p, calendar).map_err(|e| anyhow!("--period: {e}")))
        .transpose()?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| anyhow!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            is_workbook(p)
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("~$"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        bail!(
            "{} holds no .xlsx packages (make them with `holdco package make`)",
            dir.display()
        );
    }
    let mut problems: Vec<String> = Vec::new();
    let mut incoming: Vec<Fact> = Vec::new();
    let mut seen: std::collections::HashMap<(String, Period), PathBuf> =
        std::collections::HashMap::new();
    for file in &files {
        let shown = file.display().to_string();
        let package = match holdco_excel::package::read_package(file, Limits::from_env()) {
            Err(error) => {
                problems.push(format!("{error}"));
                continue;
            }
            Ok(Err(cells)) => {
                problems.extend(cells.iter().map(|c| format!("{shown}: {c}")));
                continue;
            }
            Ok(Ok(package)) => package,
        };
        let Ok(package_period) = Period::parse(&package.period, calendar) else {
            problems.push(format!(
                "{shown}: the package is for `{}`, not a period of this model",
                package.period
            ));
            continue;
        };
        if let Some(wanted) = wanted {
            if wanted != package_period {
                problems.push(format!(
                    "{shown}: made for {}, not {} (--period): refused",
                    package.period,
                    wanted.label(calendar)
                ));
                continue;
            }
        }
        if package.fingerprint != current {
            problems.push(format!(
                "{shown}: made from model revision {} for {}; the model's structure or metrics have changed since (now revision {revision}): refused; make a new package with `holdco package make --period {} --unit {}`",
                package.revision, package.unit, package.period, package.unit
            ));
            continue;
        }
        let unit = match UnitId::parse(&package.unit)
            .ok()
            .and_then(|u| timeline.unit(&u).map(|i| (u, i)))
        {
            Some((unit, index))
                if engine.structure(package_period.last_day()).alive[index as usize] =>
            {
                unit
            }
            _ => {
                problems.push(format!(
                    "{shown}: made for unit `{}`, which is not in the group on {}: refused",
                    package.unit,
                    package_period.last_day()
                ));
                continue;
            }
        };
        if let Some(first) = seen.insert((package.unit.clone(), package_period), file.clone()) {
            problems.push(format!(
                "{shown}: a second package for {} {} (the first is {}): keep one",
                package.unit,
                package.period,
                first.display()
            ));
            continue;
        }
        for value in package.values {
            let metric = match MetricId::parse(&value.metric).ok().filter(|m| {
                model
                    .metric(m)
                    .is_some_and(|m| !matches!(m.aggregation, Aggregation::Ratio { .. }))
            }) {
                Some(metric) => metric,
                None => {
                    problems.push(format!(
                        "{shown}: {}: metric: `{}` is not a metric of the model that takes figures",
                        value.cell, value.metric
                    ));
                    continue;
                }
            };
            let counterparty = match &value.counterparty {
                None => None,
                Some(c) => match UnitId::parse(c).ok().filter(|u| timeline.unit(u).is_some()) {
                    Some(u) => Some(u),
                    None => {
                        problems.push(format!(
                            "{shown}: {}: counterparty: unknown unit `{c}`",
                            value.cell
                        ));
                        continue;
                    }
                },
            };
            let source = value.source.clone().or_else(|| {
                Some(format!(
                    "reporting package {}",
                    file.file_name()
                        .map(|n| n.to_string_lossy().to_string())
                        .unwrap_or_default()
                ))
            });
            incoming.push(Fact {
                key: FactKey {
                    unit: unit.clone(),
                    period: package_period,
                    metric,
                    counterparty,
                    basis: Basis::Reported,
                },
                value: value.value,
                currency: None,
                source,
                note: None,
                precision: None,
                origin: Origin {
                    file: format!("{shown}: {}", value.cell),
                    line: 0,
                },
            });
        }
    }
    if !problems.is_empty() {
        for problem in &problems {
            eprintln!("{problem}");
        }
        eprintln!(
            "{}; nothing was imported (the store is unchanged)",
            problems_summary(problems.len())
        );
        return Ok(ExitCode::from(1));
    }
    // The packages' figures replace the stored ones of the same key: one model, validated
    // as a whole, written in one transaction.
    let mut merged = model.clone();
    let mut position: std::collections::HashMap<FactKey, usize> = merged
        .facts
        .iter()
        .enumerate()
        .map(|(i, f)| (f.key.clone(), i))
        .collect();
    let mut lines = Vec::new();
    for fact in incoming {
        let label = format!(
            "{} {} {}{}",
            fact.key.unit,
            fact.key.period.label(calendar),
            fact.key.metric,
            fact.key
                .counterparty
                .as_ref()
                .map(|c| format!(" with {c}"))
                .unwrap_or_default()
        );
        match position.get(&fact.key) {
            Some(&index) if merged.facts[index].value == fact.value => {
                lines.push(format!("unchanged  {label}: {}", fact.value))
            }
            Some(&index) => {
                lines.push(format!(
                    "revised    {label}: {} -> {}",
                    merged.facts[index].value, fact.value
                ));
                merged.facts[index] = fact;
            }
            None => {
                lines.push(format!("new        {label}: {}", fact.value));
                position.insert(fact.key.clone(), merged.facts.len());
                merged.facts.push(fact);
            }
        }
    }
    let (_, invalid) = holdco_core::bulk_validate::validate(&merged);
    if !invalid.is_empty() {
        print(&invalid);
        eprintln!(
            "{}; nothing was imported (the store is unchanged)",
            problems_summary(invalid.len())
        );
        return Ok(ExitCode::from(1));
    }
    for line in &lines {
        println!("{line}");
    }
    if dry_run {
        println!("dry run: {} packages checked, nothing written", files.len());
        return Ok(ExitCode::SUCCESS);
    }
    let summary = crate::commands::recorded_import(
        store.as_mut(),
        &merged,
        &format!("package collect {}", dir.display()),
    )?;
    println!(
        "imported {} packages into {}: {} facts new, {} revised, {} unchanged",
        files.len(),
        context.db.display(),
        summary.facts_new,
        summary.facts_revised,
        summary.facts_unchanged
    );
    Ok(ExitCode::SUCCESS)
}
