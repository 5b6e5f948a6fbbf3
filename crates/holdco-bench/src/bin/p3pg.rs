//! P3-PG: `holdco import` of a generated model folder into PostgreSQL, against `psql \copy`
//! of the same fact CSV files into a plain table (no key, no index) on the same server.
//!
//! Both contenders run as the processes a user would start, in turns (A B A B ...), each
//! into a freshly emptied schema; the medians are compared. After each holdco import the
//! same folder is imported again (every fact unchanged), timed on its own. The load average is printed with
//! the figures because the machine is shared.
//!
//! Usage (release `holdco` first: `cargo build --release -p holdco-cli`):
//! `cargo run -p holdco-bench --bin p3pg -- [--facts N --units N --changes N] [--dir DIR] [--url URL] [--rounds R]`
//! (the defaults generate P3's folder: `holdco gen --facts 10000000 --units 5000 --changes 200`,
//! 11,639,485 fact rows).

#[path = "../common.rs"]
mod common;
use anyhow::{bail, Context, Result};
use common::load_average;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

struct Options {
    facts: usize,
    units: usize,
    changes: usize,
    dir: PathBuf,
    url: String,
    rounds: usize,
    holdco: PathBuf,
}

fn options() -> Result<Options> {
    let mut options = Options {
        // P3's folder: 11,639,485 fact rows (358 MB of CSV).
        facts: 10_000_000,
        units: 5_000,
        changes: 200,
        dir: PathBuf::new(),
        url: "postgres://postgres@127.0.0.1:5432/test".to_string(),
        rounds: 3,
        holdco: PathBuf::from("target/release/holdco"),
    };
    let mut dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--facts" => options.facts = value()?.parse().context("--facts")?,
            "--units" => options.units = value()?.parse().context("--units")?,
            "--changes" => options.changes = value()?.parse().context("--changes")?,
            "--dir" => dir = Some(PathBuf::from(value()?)),
            "--url" => options.url = value()?,
            "--rounds" => options.rounds = value()?.parse::<usize>().context("--rounds")?.max(1),
            "--holdco" => options.holdco = PathBuf::from(value()?),
            other => bail!(
                "unknown option {other} (--facts N, --units N, --changes N, --dir DIR, --url URL, --rounds R, --holdco PATH)"
            ),
        }
    }
    options.dir = dir.unwrap_or_else(|| {
        PathBuf::from(format!(
            "target/bench-p3pg-{}-{}-{}",
            options.facts, options.units, options.changes
        ))
    });
    Ok(options)
}

/// Runs `psql` on the benchmark server with `sql` as its script; fails on any SQL error.
fn psql(url: &str, sql: &str) -> Result<()> {
    let output = Command::new("psql")
        .args([url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .context("running psql (apt-get install postgresql-client)")?;
    if !output.status.success() {
        bail!("psql failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() -> Result<()> {
    let options = options()?;
    let dir = &options.dir;
    if !options.holdco.exists() {
        bail!(
            "{} is missing: build it with `cargo build --release -p holdco-cli`",
            options.holdco.display()
        );
    }
    if !dir.join("group.toml").exists() {
        let started = Instant::now();
        let status = Command::new(&options.holdco)
            .arg("gen")
            .arg(dir)
            .args(["--facts", &options.facts.to_string()])
            .args([
                "--units",
                &options.units.to_string(),
                "--changes",
                &options.changes.to_string(),
            ])
            .status()
            .context("running holdco gen")?;
        if !status.success() {
            bail!("holdco gen failed");
        }
        println!(
            "generated {} in {:.1} s",
            dir.display(),
            started.elapsed().as_secs_f64()
        );
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("facts"))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    let header = std::fs::read_to_string(&files[0])?
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let (mut rows, mut bytes) = (0usize, 0u64);
    for file in &files {
        let content = std::fs::read(file)?;
        bytes += content.len() as u64;
        rows += content
            .iter()
            .filter(|byte| **byte == b'\n')
            .count()
            .saturating_sub(1);
    }
    println!(
        "P3-PG: {rows} fact rows in {} CSV files ({:.0} MB), PostgreSQL at {}",
        files.len(),
        bytes as f64 / 1e6,
        holdco_store::redact(&options.url)
    );
    println!("  load average before: {}", load_average());

    // The baseline's table: the CSV's columns, the value as a double, no constraint.
    let columns: Vec<String> = header
        .split(',')
        .map(|name| {
            format!(
                "\"{name}\" {}",
                if name == "value" {
                    "double precision"
                } else {
                    "text"
                }
            )
        })
        .collect();
    let holdco_schema = "bench_p3pg_holdco";
    let copy_schema = "bench_p3pg_copy";
    let separator = if options.url.contains('?') { '&' } else { '?' };
    let holdco_url = format!("{}{separator}schema={holdco_schema}", options.url);
    let copy_script: String = files
        .iter()
        .map(|file| {
            format!(
                "\\copy {copy_schema}.facts FROM '{}' WITH (FORMAT csv, HEADER true)\n",
                absolute(file).display()
            )
        })
        .collect();

    let mut holdco_times = Vec::new();
    let mut copy_times = Vec::new();
    let mut again_times = Vec::new();
    for round in 1..=options.rounds {
        // A: holdco import into an empty schema (its tables created by the import's open).
        psql(
            &options.url,
            &format!("DROP SCHEMA IF EXISTS {holdco_schema} CASCADE"),
        )?;
        let started = Instant::now();
        let output = Command::new(&options.holdco)
            .arg("--db")
            .arg(&holdco_url)
            .arg("import")
            .arg(dir)
            .output()?;
        let holdco = started.elapsed();
        if !output.status.success() {
            bail!(
                "holdco import failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        holdco_times.push(holdco);
        // The same folder again onto the store it just filled: every fact unchanged.
        let started = Instant::now();
        let output = Command::new(&options.holdco)
            .arg("--db")
            .arg(&holdco_url)
            .arg("import")
            .arg(dir)
            .output()?;
        let again = started.elapsed();
        if !output.status.success() {
            bail!(
                "holdco re-import failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        again_times.push(again);
        // B: psql \copy of the same files into a plain table in an empty schema.
        psql(
            &options.url,
            &format!(
                "DROP SCHEMA IF EXISTS {copy_schema} CASCADE; CREATE SCHEMA {copy_schema};
                 CREATE TABLE {copy_schema}.facts ({})",
                columns.join(", ")
            ),
        )?;
        let started = Instant::now();
        let output = Command::new("psql")
            .args([&options.url, "-X", "-q", "-v", "ON_ERROR_STOP=1"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child
                    .stdin
                    .take()
                    .expect("piped")
                    .write_all(copy_script.as_bytes())?;
                child.wait_with_output()
            })?;
        let copy = started.elapsed();
        if !output.status.success() {
            bail!(
                "psql \\copy failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        copy_times.push(copy);
        println!(
            "  round {round}: holdco import {:.2} s (unchanged again: {:.2} s), psql \\copy {:.2} s (load average {})",
            holdco.as_secs_f64(),
            again.as_secs_f64(),
            copy.as_secs_f64(),
            load_average()
        );
    }
    // Both ended with the same rows: holdco's series hold every fact, the plain table every row.
    let counted = Command::new("psql")
        .args([
            options.url.as_str(),
            "-X",
            "-At",
            "-c",
            &format!(
                "SELECT (SELECT SUM(cardinality(periods)) FROM {holdco_schema}.fact_series), (SELECT COUNT(*) FROM {copy_schema}.facts),
                        pg_size_pretty(pg_total_relation_size('{holdco_schema}.fact_series')),
                        pg_size_pretty(pg_total_relation_size('{copy_schema}.facts'))"
            ),
        ])
        .output()?;
    println!(
        "  rows stored and space used (holdco | plain table | holdco's series | plain table): {}",
        String::from_utf8_lossy(&counted.stdout).trim()
    );
    let (holdco, copy) = (median(&mut holdco_times), median(&mut copy_times));
    println!(
        "  median re-import of the unchanged folder (holdco only, no baseline): {:.2} s",
        median(&mut again_times).as_secs_f64()
    );
    println!(
        "  median of {} rounds: holdco import {:.2} s ({:.2} M rows/s), psql \\copy {:.2} s ({:.2} M rows/s)",
        options.rounds,
        holdco.as_secs_f64(),
        rows as f64 / holdco.as_secs_f64() / 1e6,
        copy.as_secs_f64(),
        rows as f64 / copy.as_secs_f64() / 1e6
    );
    println!(
        "  holdco speed / psql \\copy speed = {:.2} (target >= 0.5); load average after: {}",
        copy.as_secs_f64() / holdco.as_secs_f64(),
        load_average()
    );
    psql(&options.url, &format!("DROP SCHEMA IF EXISTS {holdco_schema} CASCADE; DROP SCHEMA IF EXISTS {copy_schema} CASCADE"))?;
    Ok(())
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}
