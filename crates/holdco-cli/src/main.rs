//! `holdco`: the command-line face of holdco. It parses arguments, reads files and the
//! store, calls the core and renders the answers; it holds no domain logic.

/// Everything this binary prints for people goes through `render::terminal`: these two
/// macros shadow the standard ones in every module declared below, so no call site can
/// forget (issue 16 item 13). JSON is printed with `std::println!` and stays raw.
macro_rules! println {
    () => {
        std::println!()
    };
    ($($arg:tt)*) => {
        $crate::render::print_line(&format!($($arg)*))
    };
}

/// See `println!` above.
macro_rules! eprintln {
    () => {
        std::eprintln!()
    };
    ($($arg:tt)*) => {
        $crate::render::eprint_line(&format!($($arg)*))
    };
}

/// mimalloc instead of glibc's allocator: a roll-up over a million units makes and drops
/// millions of small strings and maps, and glibc spent about a third of its time in malloc,
/// free and consolidating free lists (issue 16 item 6).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bulk;
mod changeset_commands;
mod commands;
mod excel_commands;
mod governance_commands;
mod limits;
mod render;
mod scenario_commands;
mod strategy_commands;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Steer a multi-business group: its structure over time, its figures under any structure.
#[derive(Parser, Debug)]
#[command(name = "holdco", version, about, long_about = None)]
struct Cli {
    /// The store: an SQLite file (created on first import; also `sqlite:///path`) or a
    /// PostgreSQL URL (`postgres://user@host/database`, optional `?schema=NAME`).
    #[arg(long, global = true, env = "HOLDCO_DB", default_value = "holdco.db")]
    db: PathBuf,
    /// Read the model straight from a model folder instead of the store.
    #[arg(long, global = true, value_name = "DIR")]
    model: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a model folder (or workbook) and list every problem as FILE:LINE: field: message
    /// (Sheet!A1: field: message for a workbook).
    Check {
        /// The model folder, or a model workbook (.xlsx).
        dir: PathBuf,
    },
    /// Import a model folder (or workbook) into the store: all or nothing.
    Import {
        /// The model folder, or a model workbook (.xlsx).
        dir: PathBuf,
        /// A label recorded with the import (defaults to the folder path).
        #[arg(long)]
        label: Option<String>,
        /// Remove from the current model the stored facts the folder no longer holds (each
        /// gets a deletion revision: its history stays). Without it they are kept.
        #[arg(long)]
        prune: bool,
    },
    /// Write the stored model back to a folder of files (or a workbook with --xlsx).
    Export {
        /// Target folder (must be empty or absent unless --force).
        #[arg(required_unless_present = "xlsx")]
        dir: Option<PathBuf>,
        /// Write the model as one workbook instead (one sheet per part of the folder).
        #[arg(long, value_name = "FILE", conflicts_with = "dir")]
        xlsx: Option<PathBuf>,
        /// Overwrite files in a non-empty folder.
        #[arg(long)]
        force: bool,
        /// Leave personal data out (names and birth years of people.csv).
        #[arg(long)]
        no_personal: bool,
    },
    /// The structure (tree of units) on a date.
    Structure {
        /// Date (YYYY-MM-DD); the latest change date when omitted.
        #[arg(long)]
        at: Option<String>,
        /// Levels to show below the root (all when omitted).
        #[arg(long)]
        depth: Option<u32>,
        #[command(flatten)]
        format: FormatFlags,
    },
    /// A unit's history: names, parents, stakes, and where its history goes (lineage).
    History {
        /// Unit id.
        unit: String,
        /// Date of the structure to trace lineage into; the latest when omitted.
        #[arg(long)]
        structure: Option<String>,
        /// Emit JSON.
        #[arg(long)]
        json: bool,
    },
    /// A metric rolled up to a node and its units, per period.
    Rollup(commands::RollupArgs),
    /// Explain one figure down to its facts, lineage weights, eliminations and rates.
    Explain(commands::ExplainArgs),
    /// Calibrate split shares from a period published under both structures.
    Calibrate(commands::CalibrateArgs),
    /// Reconcile recorded totals and published restatements against computed figures.
    Reconcile {
        /// Largest difference accepted: absolute (0.5) or relative (0.1%).
        #[arg(long, default_value = "0.5")]
        tolerance: String,
        /// Show only the checks that fail.
        #[arg(long)]
        failures: bool,
        #[command(flatten)]
        format: FormatFlags,
    },
    /// Classify the portfolio on a date by the rules of strategy.toml.
    Classify(strategy_commands::ClassifyArgs),
    /// Solve the capital plan of capital.toml and explain it.
    Plan(strategy_commands::PlanArgs),
    /// Scenarios: branches of the timeline valued by sum of the parts under uncertainty.
    Scenario(scenario_commands::ScenarioArgs),
    /// Reporting packages: one workbook per unit to fill in, then all collected as one change.
    Package(excel_commands::PackageArgs),
    /// Leaders and bodies on a date, unit by unit.
    People(governance_commands::PeopleArgs),
    /// The boards and committees of a unit on a date, with their independence.
    Board(governance_commands::BoardArgs),
    /// A person's roles, units and tenure.
    Person(governance_commands::PersonArgs),
    /// Transfers between units over a span, and how many kept the years of service.
    Moves(governance_commands::MovesArgs),
    /// The share of leadership roles held by a birth cohort, against its target.
    Pipeline(governance_commands::PipelineArgs),
    /// Who approves a decision of a kind and amount about a unit.
    Rights(governance_commands::RightsArgs),
    /// Governance checks (`governance check`: exit 1 on breaches).
    Governance(governance_commands::GovernanceArgs),
    /// KPI targets against results like for like, with the accountable leader.
    Scorecard(governance_commands::ScorecardArgs),
    /// Incentive plans: attainment and payout, measured like for like.
    Incentives(governance_commands::IncentivesArgs),
    /// Write a synthetic group of the requested size (deterministic from the seed).
    Gen(commands::GenArgs),
    /// Serve the model over HTTP (JSON reads from memory, bearer tokens): see `holdco token`.
    Serve(holdco_server::cli::ServeArgs),
    /// Access tokens of `holdco serve`: create (shown once), list, revoke.
    Token(holdco_server::cli::TokenArgs),
    /// Change sets: propose, review and apply changes to the stored model (four eyes).
    Changeset(changeset_commands::ChangesetArgs),
    /// The audit trail: every applied change set (imports included), who, when and why.
    Log(changeset_commands::LogArgs),
    /// Make the inverse of an applied change set, as a draft to review and apply.
    Revert(changeset_commands::RevertArgs),
    /// The revisions of one fact (every import that changed it).
    Revisions {
        /// Unit id.
        unit: String,
        /// Metric id.
        metric: String,
        /// Period label.
        period: String,
        /// Basis: reported, plan, estimate or restated@YYYY-MM-DD.
        #[arg(long, default_value = "reported")]
        basis: String,
        /// Counterparty, for an intercompany figure.
        #[arg(long)]
        counterparty: Option<String>,
        /// Emit JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `--json`, `--csv` and `--xlsx`, wherever a table is printed.
#[derive(clap::Args, Debug, Clone)]
pub struct FormatFlags {
    /// Emit JSON.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Emit CSV.
    #[arg(long)]
    csv: bool,
    /// Write the table as a formatted Excel workbook (the rows --csv prints, a sheet with
    /// the query, a line chart for several periods).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["json", "csv"])]
    xlsx: Option<PathBuf>,
}

impl FormatFlags {
    fn output(&self) -> render::Output {
        // A workbook is written from the CSV rows: `render::print_csv` hands them over.
        if let Some(path) = &self.xlsx {
            excel_commands::write_tables_to(path);
            return render::Output::Csv;
        }
        render::Output::from_flags(self.json, self.csv)
    }
}

/// The core logs the timings of its phases through `tracing` (target
/// [`holdco_core::columnar::PROFILE`]); this subscriber prints them to stderr as the core
/// used to, one `  [profile] MESSAGE` line each, and ignores everything else.
mod profile_log {
    use std::fmt::Write as _;
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    struct ProfileLog;

    /// The event's message.
    struct Message(String);

    impl tracing::field::Visit for Message {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                let _ = write!(self.0, "{value:?}");
            }
        }
    }

    impl Subscriber for ProfileLog {
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            metadata.target() == holdco_core::columnar::PROFILE
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut message = Message(String::new());
            event.record(&mut message);
            eprintln!("  [profile] {}", message.0);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    pub fn install() {
        // Only fails when a subscriber is already set: then that one decides.
        let _ = tracing::subscriber::set_global_default(ProfileLog);
    }
}

fn main() -> ExitCode {
    // Behave like other Unix tools when the reader goes away (`holdco rollup ... | head`):
    // end quietly instead of failing on the closed pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // HOLDCO_PROFILE: the core's phase timings on stderr, as `[profile]` lines.
    if std::env::var_os("HOLDCO_PROFILE").is_some() {
        profile_log::install();
    }
    // The domains this binary knows plug into the log before any model is read.
    holdco_governance::register();
    holdco_core::extension::declare_complete();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // clap quotes the arguments it refuses, and on a terminal passes their escape
            // sequences through with its own colours: when an argument holds a control
            // character, print its plain message through the terminal escape instead (issue
            // 16 item 13). Any other message keeps clap's colours.
            let hostile =
                std::env::args_os().any(|a| a.to_string_lossy().chars().any(char::is_control));
            if !hostile {
                error.exit();
            }
            let text = error.render().to_string();
            if error.use_stderr() {
                std::eprint!("{}", render::terminal(&text));
            } else {
                std::print!("{}", render::terminal(&text));
            }
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    let context = commands::Context {
        db: cli.db.clone(),
        model: cli.model.clone(),
    };
    let result = match cli.command {
        Command::Check { dir } if excel_commands::is_workbook(&dir) => excel_commands::check(&dir),
        Command::Check { dir } => commands::check(&dir),
        Command::Import { dir, label, prune } if excel_commands::is_workbook(&dir) => {
            excel_commands::import(&context, &dir, label, prune)
        }
        Command::Import { dir, label, prune } => commands::import(&context, &dir, label, prune),
        Command::Export {
            xlsx: Some(_),
            no_personal: true,
            ..
        } => Err(anyhow::anyhow!(
            "--no-personal writes a folder only: drop --xlsx and give a folder"
        )),
        Command::Export {
            xlsx: Some(file),
            force,
            ..
        } => excel_commands::export(&context, &file, force),
        Command::Export {
            dir,
            force,
            no_personal,
            ..
        } => commands::export(&context, &dir.unwrap_or_default(), force, !no_personal),
        Command::Package(args) => excel_commands::package(&context, &args),
        Command::Structure { at, depth, format } => {
            commands::structure(&context, at.as_deref(), depth, format.output())
        }
        Command::History {
            unit,
            structure,
            json,
        } => commands::history(&context, &unit, structure.as_deref(), json),
        Command::Rollup(args) => commands::rollup(&context, &args),
        Command::Explain(args) => commands::explain(&context, &args),
        Command::Calibrate(args) => commands::calibrate(&context, &args),
        Command::Reconcile {
            tolerance,
            failures,
            format,
        } => commands::reconcile(&context, &tolerance, failures, format.output()),
        Command::Gen(args) => commands::gen(&args),
        Command::People(args) => governance_commands::people(&context, &args),
        Command::Board(args) => governance_commands::board(&context, &args),
        Command::Person(args) => governance_commands::person(&context, &args),
        Command::Moves(args) => governance_commands::moves(&context, &args),
        Command::Pipeline(args) => governance_commands::pipeline(&context, &args),
        Command::Rights(args) => governance_commands::rights(&context, &args),
        Command::Governance(args) => governance_commands::governance(&context, &args),
        Command::Scorecard(args) => governance_commands::scorecard(&context, &args),
        Command::Incentives(args) => governance_commands::incentives(&context, &args),
        Command::Classify(args) => strategy_commands::classify(&context, &args),
        Command::Plan(args) => strategy_commands::plan(&context, &args),
        Command::Scenario(args) => scenario_commands::scenario(&context, &args),
        Command::Serve(args) => holdco_server::cli::serve(&context.db, &args),
        Command::Token(args) => holdco_server::cli::token(&context.db, &args),
        Command::Changeset(args) => changeset_commands::changeset(&context, &args),
        Command::Log(args) => changeset_commands::log(&context, &args),
        Command::Revert(args) => changeset_commands::revert(&context, &args),
        Command::Revisions {
            unit,
            metric,
            period,
            basis,
            counterparty,
            json,
        } => commands::revisions(
            &context,
            &unit,
            &metric,
            &period,
            &basis,
            counterparty.as_deref(),
            json,
        ),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
