//! Tree shapes (issue 16 item 6): roll-ups on extreme trees cost what their size costs.
//!
//! Three workloads, each a model folder written here (the layout `bench/tree_shapes.py`
//! wrote): every unit has revenue for 2020-01..2020-03 (a figure including everything below
//! it), and on 2020-02-15 the tree's last unit moves to the group, so the restated quarter
//! is built from months and lands in the structure after the move.
//!
//! - `wide`: N units under the group (default 1,000,000);
//! - `deep`: a chain N units deep (default 100,000);
//! - `restated`: N units under the group (default 200,000), the restated quarter.
//!
//! The baseline is the *balanced* tree of the same size, in the same run: the same number of
//! units, facts and changes, with the units spread over √N parents of √N children each (the
//! shape the engines were first tuned on). A shape costs what its size costs when the ratio
//! stays near 1; a quadratic step shows as a ratio growing with N.
//!
//! Each contender is the release `holdco` binary in a fresh process (what a user runs),
//! `holdco --model DIR rollup revenue --period 2020-03 --depth D --json` (`wide`) or
//! `--period 2020Q1 --view restated` (`deep`, `restated`), and, with `--store`, the same
//! question asked of a SQLite store the folder was imported into.
//! Runs interleaved A B A B, medians of wall and CPU (user + system, from /proc); the group
//! total of every run is checked against the sum the generator knows.
//!
//! `cargo build --release -p holdco-cli && cargo run -p holdco-bench --bin shapes --
//!  [--shape wide|deep|restated|all] [--units N] [--runs 5] [--depth 1] [--store]
//!  [--holdco target/release/holdco]` (the bench itself only writes files and reads JSON).
#![allow(clippy::needless_range_loop)]

#[path = "../common.rs"]
mod common;
use anyhow::{bail, Context, Result};
use common::load_average;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

/// A tree shape: the parent of unit `i` (1-based; 0 is the group).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    Wide,
    Deep,
    Balanced,
}

impl Shape {
    fn parent(self, i: usize, n: usize) -> usize {
        match self {
            Shape::Wide => 0,
            Shape::Deep => i - 1,
            Shape::Balanced => {
                let fanout = (n as f64).sqrt().ceil() as usize;
                if i <= fanout {
                    0
                } else {
                    (i - 1) % fanout + 1
                }
            }
        }
    }
}

/// Writes the folder of a shape; returns the group total it must show for the quarter
/// (`quarter`) or for March.
fn write_folder(dir: &Path, shape: Shape, n: usize, quarter: bool) -> Result<f64> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("group.toml"),
        "[group]\nid = \"g\"\nname = \"G\"\ncurrency = \"CNY\"\nfiscal_year_end = \"12-31\"\n\n\
         [[metric]]\nid = \"revenue\"\nname = \"Revenue\"\nmeasure = \"currency\"\naggregation = \"flow\"\n",
    )?;
    let mut timeline = String::with_capacity(n * 100);
    timeline.push_str("[[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"g\"\nname = \"G\"\nunit_kind = \"group\"\n\n");
    for i in 1..=n {
        let parent = match shape.parent(i, n) {
            0 => "g".to_string(),
            p => format!("u{p}"),
        };
        let _ = write!(
            timeline,
            "[[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"u{i}\"\nname = \"U{i}\"\nparent = \"{parent}\"\n\n"
        );
    }
    let _ = write!(
        timeline,
        "[[change]]\ndate = 2020-02-15\nkind = \"move\"\nunit = \"u{n}\"\nparent = \"g\"\n"
    );
    std::fs::write(dir.join("timeline.toml"), timeline)?;
    // Own figure of unit i in month m. A fact is the unit's own plus everything below it
    // at the month's end: from February on, the last unit sits under the group.
    let own = |i: usize, month: usize| ((i % 97) + month) as f64;
    let parent = |i: usize, month: usize| {
        if i == n && month >= 2 {
            0
        } else {
            shape.parent(i, n)
        }
    };
    let mut below = vec![[0f64; 3]; n + 1];
    for i in (1..=n).rev() {
        for m in 0..3 {
            below[i][m] += own(i, m + 1);
            let p = parent(i, m + 1);
            if p > 0 {
                // Parents come before their children (p < i): added before p is written.
                let add = below[i][m];
                below[p][m] += add;
            }
        }
    }
    let mut facts = String::with_capacity(n * 3 * 28);
    facts.push_str("unit,period,metric,value\n");
    for (i, figures) in below.iter().enumerate().skip(1) {
        for (m, value) in figures.iter().enumerate() {
            let _ = writeln!(facts, "u{i},2020-{:02},revenue,{value}", m + 1);
        }
    }
    // Every view preserves the group total: the sum of the units' own figures.
    let months = if quarter { 1..=3 } else { 3..=3 };
    let total = (1..=n)
        .flat_map(|i| months.clone().map(move |m| (i, m)))
        .map(|(i, m)| own(i, m))
        .sum();
    std::fs::write(dir.join("facts.csv"), facts)?;
    Ok(total)
}

/// CPU time (user + system) of this process's waited-for children so far, from /proc.
fn children_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // cutime and cstime are fields 16 and 17 of the whole line, 14 and 15 after ')'.
    let ticks: u64 = [13, 14]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
}

struct Run {
    wall: Duration,
    cpu: Duration,
}

/// One roll-up in a fresh `holdco` process; checks the group total.
fn run(holdco: &Path, source: &[&str], question: &[&str], depth: &str, total: f64) -> Result<Run> {
    let cpu = children_cpu();
    let start = Instant::now();
    let out = Command::new(holdco)
        .args(source)
        .args(["rollup", "revenue"])
        .args(question)
        .args(["--depth", depth, "--json"])
        .output()
        .context("running holdco")?;
    let wall = start.elapsed();
    let cpu = children_cpu().saturating_sub(cpu);
    if !out.status.success() {
        bail!(
            "holdco {source:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let group = answer["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["node"] == "g"))
        .and_then(|r| r["value"].as_f64());
    match group {
        Some(value) if (value - total).abs() <= 1e-9 * total.abs().max(1.0) => {}
        other => bail!("holdco {source:?}: group total {other:?}, expected {total}"),
    }
    Ok(Run { wall, cpu })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// What a workload asks: the single month, or the restated quarter built from months.
const MONTH: &[&str] = &["--period", "2020-03"];
const QUARTER: &[&str] = &["--period", "2020Q1", "--view", "restated"];

fn workload(
    name: &str,
    shape: Shape,
    n: usize,
    question: &[&str],
    runs: usize,
    depth: &str,
    store: bool,
) -> Result<()> {
    let quarter = question == QUARTER;
    let holdco = arg("--holdco")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/release/holdco"));
    if !holdco.exists() {
        bail!(
            "no {}: build the release CLI first (cargo build --release -p holdco-cli) or name one with --holdco",
            holdco.display()
        );
    }
    let root = PathBuf::from("target/bench-shapes");
    let (a_dir, b_dir) = (
        root.join(format!("{name}-{n}")),
        root.join(format!("balanced-{name}-{n}")),
    );
    let started = Instant::now();
    let a_total = write_folder(&a_dir, shape, n, quarter)?;
    let b_total = write_folder(&b_dir, Shape::Balanced, n, quarter)?;
    println!(
        "{name}: {n} units ({shape:?}) against the balanced tree of the same size; folders written in {:.1?}; load {}",
        started.elapsed(),
        load_average()
    );
    let mut sources: Vec<(String, Vec<String>, Vec<String>)> = vec![(
        "folder".into(),
        vec!["--model".into(), a_dir.display().to_string()],
        vec!["--model".into(), b_dir.display().to_string()],
    )];
    if store {
        let mut dbs = Vec::new();
        for dir in [&a_dir, &b_dir] {
            let db = dir.with_extension("db");
            let _ = std::fs::remove_file(&db);
            let start = Instant::now();
            let out = Command::new(&holdco)
                .args([
                    "--db",
                    &db.display().to_string(),
                    "import",
                    &dir.display().to_string(),
                ])
                .output()?;
            if !out.status.success() {
                bail!("import failed: {}", String::from_utf8_lossy(&out.stderr));
            }
            println!("  imported {} in {:.1?}", dir.display(), start.elapsed());
            dbs.push(db.display().to_string());
        }
        sources.push((
            "store".into(),
            vec!["--db".into(), dbs[0].clone()],
            vec!["--db".into(), dbs[1].clone()],
        ));
    }
    for (label, a, b) in &sources {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let b: Vec<&str> = b.iter().map(String::as_str).collect();
        let (mut aw, mut ac, mut bw, mut bc) = (vec![], vec![], vec![], vec![]);
        for _ in 0..runs {
            let r = run(&holdco, &a, question, depth, a_total)?;
            aw.push(r.wall);
            ac.push(r.cpu);
            let r = run(&holdco, &b, question, depth, b_total)?;
            bw.push(r.wall);
            bc.push(r.cpu);
        }
        let (aw, ac, bw, bc) = (median(aw), median(ac), median(bw), median(bc));
        println!(
            "  {label:6} {name:9} wall {:6.2} s cpu {:6.2} s | balanced wall {:6.2} s cpu {:6.2} s | ratio (cpu) {:.2}  [{runs} runs each, interleaved, medians; load {}]",
            secs(aw),
            secs(ac),
            secs(bw),
            secs(bc),
            secs(ac) / secs(bc).max(1e-3),
            load_average()
        );
    }
    Ok(())
}

fn main() -> Result<()> {
    let shape = arg("--shape").unwrap_or_else(|| "all".into());
    let runs: usize = arg("--runs")
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let depth = arg("--depth").unwrap_or_else(|| "1".into());
    let units = arg("--units").and_then(|v| v.parse::<usize>().ok());
    let store = flag("--store");
    let all = shape == "all";
    if all || shape == "wide" {
        workload(
            "wide",
            Shape::Wide,
            units.unwrap_or(1_000_000),
            MONTH,
            runs,
            &depth,
            store,
        )?;
    }
    if all || shape == "deep" {
        workload(
            "deep",
            Shape::Deep,
            units.unwrap_or(100_000),
            QUARTER,
            runs,
            &depth,
            store,
        )?;
    }
    if all || shape == "restated" {
        workload(
            "restated",
            Shape::Wide,
            units.unwrap_or(200_000),
            QUARTER,
            runs,
            &depth,
            store,
        )?;
    }
    if !all && !["wide", "deep", "restated"].contains(&shape.as_str()) {
        bail!("--shape is wide, deep, restated or all");
    }
    Ok(())
}
