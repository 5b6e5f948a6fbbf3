//! P2 from the store (issue 11 item 3; `snap` branch): `holdco structure --at DATE` in a fresh
//! process on an SQLite store of 100k units and 1.1M changes (`holdco gen --units 100000
//! --changes 1000000 --facts 1000 --months 1`), read from the compiled timeline (migration
//! 0010) against the same binary reading and replaying the changes
//! (`HOLDCO_NO_TIMELINE_IMAGE=1`), interleaved A B A B, medians of wall time, CPU time
//! (user + system of the child, from `wait4`) and peak RSS; the two outputs are compared byte
//! for byte (table and `--json`) before any figure is printed. Also the import of that store
//! (time, CPU, peak RSS), by this binary and, with `--baseline PATH`, by another holdco binary
//! (e.g. main's) on the same folder, interleaved.
//!
//! With `--wide`, the same for `holdco rollup revenue --period 2020-03 --depth 0` on a store
//! of one million units under one parent (`bench/tree_shapes.py wide 1000000`), this binary
//! against `--baseline` (the read of the model without facts is what differs).
//!
//! ```sh
//! cargo build --release -p holdco-cli -p holdco-bench
//! target/release/p2store --dir /tmp/snap --rounds 5 --baseline /path/to/main/holdco [--wide]
//! ```

#[path = "../common.rs"]
mod common;
use anyhow::{bail, Context, Result};
use clap::Parser;
use common::{holdco, load_average};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

#[derive(Parser)]
#[command(about = "structure --at from the store: the timeline image against the replay")]
struct Args {
    /// Work folder: the generated models and the stores (delete it afterwards).
    #[arg(long, default_value = "/tmp/snap")]
    dir: PathBuf,
    /// Interleaved rounds of each contender (A B A B ...); medians are reported.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Another holdco binary (e.g. main's release build) to import the same folder with.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Import rounds of each binary (each into a fresh store; 0 skips the import figures).
    #[arg(long, default_value_t = 1)]
    import_rounds: usize,
    /// Also the one-million-units-under-one-parent store (rollup from the store).
    #[arg(long)]
    wide: bool,
}

/// One child process: wall and CPU time in ms, peak RSS in MB, its standard output.
struct Run {
    wall: f64,
    cpu: f64,
    rss: f64,
    stdout: Vec<u8>,
}

fn run(command: &mut Command) -> Result<Run> {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().with_context(|| format!("{command:?}"))?;
    let mut out = child.stdout.take().context("stdout")?;
    let mut err = child.stderr.take().context("stderr")?;
    let stdout = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        out.read_to_end(&mut bytes).map(|_| bytes)
    });
    let stderr = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        err.read_to_end(&mut bytes).map(|_| bytes)
    });
    let mut status = 0;
    // SAFETY: plain libc calls on a zeroed rusage and our own child's pid; the child is waited
    // for here only (std's `Child` is dropped without waiting).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = started.elapsed().as_secs_f64() * 1e3;
    if waited < 0 {
        bail!("waiting for {command:?} failed");
    }
    let stdout = stdout.join().map_err(|_| anyhow::anyhow!("reader"))??;
    let stderr = stderr.join().map_err(|_| anyhow::anyhow!("reader"))??;
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        bail!("{command:?} failed: {}", String::from_utf8_lossy(&stderr));
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    Ok(Run {
        wall,
        cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        rss: usage.ru_maxrss as f64 / 1024.0,
        stdout,
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[derive(Default)]
struct Figures {
    wall: Vec<f64>,
    cpu: Vec<f64>,
    rss: Vec<f64>,
}

impl Figures {
    fn push(&mut self, run: &Run) {
        self.wall.push(run.wall);
        self.cpu.push(run.cpu);
        self.rss.push(run.rss);
    }
    fn line(&self, name: &str) -> String {
        format!(
            "{name}: median wall {:.0} ms, CPU {:.0} ms, peak RSS {:.0} MB (wall per round: {})",
            median(self.wall.clone()),
            median(self.cpu.clone()),
            median(self.rss.clone()),
            self.wall
                .iter()
                .map(|t| format!("{t:.0}"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    }
}

/// Imports `folder` into a fresh store at `db` with `binary`.
fn import(binary: &Path, folder: &Path, db: &Path) -> Result<Run> {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    run(Command::new(binary)
        .arg("--db")
        .arg(db)
        .arg("import")
        .arg(folder))
}

/// The import of `folder` by this binary and the baseline, interleaved; leaves this binary's
/// store at `db` and the baseline's at `other` (a binary without migration 0010 refuses a
/// store that has it).
fn imports(args: &Args, holdco: &Path, folder: &Path, db: &Path, other: &Path) -> Result<()> {
    if args.import_rounds == 0 && db.exists() && (args.baseline.is_none() || other.exists()) {
        return Ok(());
    }
    let (mut ours, mut theirs, mut loads) = (Figures::default(), Figures::default(), Vec::new());
    for _ in 0..args.import_rounds.max(1) {
        loads.push(load_average());
        if let Some(baseline) = &args.baseline {
            theirs.push(&import(baseline, folder, other)?);
        }
        ours.push(&import(holdco, folder, db)?);
    }
    println!("  import of {}:", folder.display());
    println!("    {}", ours.line("this binary"));
    if let Some(baseline) = &args.baseline {
        println!("    {}", theirs.line(&format!("{}", baseline.display())));
        println!(
            "    this / baseline: CPU {:.2}x, peak RSS {:.2}x",
            median(ours.cpu.clone()) / median(theirs.cpu.clone()),
            median(ours.rss.clone()) / median(theirs.rss.clone())
        );
    }
    println!("    load average {}", loads.join(" "));
    Ok(())
}

/// A and B on the same arguments, interleaved, outputs compared in the first round.
fn versus(
    rounds: usize,
    a: (&str, &dyn Fn() -> Command),
    b: (&str, &dyn Fn() -> Command),
) -> Result<()> {
    let (mut fa, mut fb, mut loads) = (Figures::default(), Figures::default(), Vec::new());
    for round in 0..rounds {
        loads.push(load_average());
        let ra = run(&mut a.1())?;
        let rb = run(&mut b.1())?;
        if round == 0 {
            if ra.stdout != rb.stdout {
                bail!("{} and {} printed different answers", a.0, b.0);
            }
            println!(
                "    outputs identical ({} bytes, {} lines)",
                ra.stdout.len(),
                ra.stdout.iter().filter(|b| **b == b'\n').count()
            );
        }
        fa.push(&ra);
        fb.push(&rb);
    }
    println!("    A {}", fa.line(a.0));
    println!("    B {}", fb.line(b.0));
    println!(
        "    B / A: wall {:.1}x, CPU {:.1}x; load average {}",
        median(fb.wall.clone()) / median(fa.wall.clone()),
        median(fb.cpu.clone()) / median(fa.cpu.clone()),
        loads.join(" ")
    );
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let holdco = holdco()?;
    std::fs::create_dir_all(&args.dir)?;
    let folder = args.dir.join("p2");
    let db = args.dir.join("p2.db");
    if !folder.join("group.toml").exists() {
        println!("generating {} (100k units, 1M changes)", folder.display());
        run(Command::new(&holdco).arg("gen").arg(&folder).args([
            "--units",
            "100000",
            "--changes",
            "1000000",
            "--facts",
            "1000",
            "--months",
            "1",
        ]))?;
    }
    println!("P2 from the store: 100k units, 1.1M changes");
    imports(
        &args,
        &holdco,
        &folder,
        &db,
        &args.dir.join("p2-baseline.db"),
    )?;
    // A date in the middle of the changes (the benchmark of P10 asks the same).
    let date = "2015-04-15";
    for format in [None, Some("--json")] {
        println!(
            "  structure --at {date}{}",
            format.map(|f| format!(" {f}")).unwrap_or_default()
        );
        let command = |image: bool| {
            let mut command = Command::new(&holdco);
            command
                .arg("--db")
                .arg(&db)
                .args(["structure", "--at", date])
                .args(format);
            if !image {
                command.env("HOLDCO_NO_TIMELINE_IMAGE", "1");
            }
            command
        };
        versus(
            args.rounds,
            ("timeline image", &|| command(true)),
            ("changes replayed (HOLDCO_NO_TIMELINE_IMAGE=1)", &|| {
                command(false)
            }),
        )?;
    }
    if args.wide {
        let folder = args.dir.join("wide1m");
        let db = args.dir.join("wide1m.db");
        if !folder.join("group.toml").exists() {
            println!(
                "generating {} (1M units under one parent)",
                folder.display()
            );
            run(Command::new("python3")
                .arg("bench/tree_shapes.py")
                .args(["wide", "1000000"])
                .arg(&folder))?;
        }
        println!("1M units under one parent");
        let other = args.dir.join("wide1m-baseline.db");
        imports(&args, &holdco, &folder, &db, &other)?;
        if let Some(baseline) = &args.baseline {
            let command = |binary: &Path, db: &Path| {
                let mut command = Command::new(binary);
                command
                    .arg("--db")
                    .arg(db)
                    .args(["rollup", "revenue", "--period", "2020-03", "--depth", "0"]);
                command
            };
            println!("  rollup revenue --period 2020-03 --depth 0 (from the store)");
            versus(
                args.rounds,
                ("this binary", &|| command(&holdco, &db)),
                ("baseline (its own store)", &|| command(baseline, &other)),
            )?;
        }
    }
    Ok(())
}
