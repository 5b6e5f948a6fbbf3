//! P12 apply: one change set revising one figure, applied to a large SQLite store through
//! today's full path ([`Store::apply`], which reads every stored fact to merge it: A) and
//! through the path that looks up only the keys it writes ([`Store::apply_delta`],
//! semantics C16: B), interleaved A B A B, each apply in a fresh child process so that its
//! peak RSS is its own. Reported per run: the apply's wall time, the RSS before it and the
//! peak during it (the kernel's high-water mark, reset just before the apply); then the
//! medians and the ratio A / B.
//!
//! The store is changed by every run (one revision each): use a copy.
//!
//! Usage: `cargo run --release -p holdco-bench --bin p12apply -- --db STORE [--rounds R]`
//! (e.g. the store of `p11 --facts 1250000 --units 500`, 1,059,240 facts).

#[path = "../common.rs"]
mod common;
use anyhow::{bail, Context, Result};
use common::load_average;
use holdco_core::{Fact, FactKey, Model, Period};
use holdco_store::{ApplyRecord, ApplyTarget, NewChangeset, SqliteStore, Store};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with(field))?.to_string();
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// One apply in this process: prints `ms rss_before_mb peak_mb facts_revised`.
fn one(db: &PathBuf, path: &str, round: u32) -> Result<()> {
    let mut store = SqliteStore::open(db)?;
    let model = store
        .load_without_facts()?
        .context("the store holds no model")?;
    // The first fact of the first metric's first series, with its current figure.
    let metric = model.metrics.first().context("no metric")?.id.clone();
    let (series, _) = store
        .fact_series(Some(std::slice::from_ref(&metric)))?
        .context("no series")?;
    let first = series
        .iter()
        .min_by(|a, b| a.key.cmp(&b.key))
        .context("no series of the first metric")?;
    let fact = Fact {
        key: FactKey {
            period: Period::new(first.starts[0], first.key.period.granularity),
            ..first.key.clone()
        },
        value: first.values[0] + f64::from(round % 7 + 1),
        currency: first
            .currencies
            .as_ref()
            .and_then(|currencies| currencies[0].clone()),
        source: None,
        note: None,
        precision: None,
        origin: Default::default(),
    };
    drop(series);
    let incoming = Model {
        facts: vec![fact],
        ..model
    };
    let revision = store.revision()?;
    let record = ApplyRecord {
        target: ApplyTarget::New(NewChangeset {
            author: "p12-analyst".to_string(),
            message: format!("P12 revision {round} ({path})"),
            base_revision: revision,
            kind: "patch".to_string(),
            body: "{}".to_string(),
            units: vec![incoming.facts[0].key.unit.to_string()],
            reverts: None,
        }),
        actor: "p12-approver".to_string(),
        expected_base: Some(revision),
        retract: Vec::new(),
        prune: false,
        diff: "{}".to_string(),
        units: vec![incoming.facts[0].key.unit.to_string()],
    };
    // The high-water mark from here on: the apply's own peak.
    std::fs::write("/proc/self/clear_refs", "5").context("resetting the peak RSS")?;
    let before = status_mb("VmRSS:");
    let started = Instant::now();
    let applied = match path {
        "full" => store.apply(&incoming, "p12", &record)?,
        _ => store.apply_delta(&incoming, "p12", &record)?,
    };
    let took = started.elapsed();
    let peak = status_mb("VmHWM:");
    if applied.summary.facts_revised != 1 {
        bail!("expected one revised fact, got {:?}", applied.summary);
    }
    println!(
        "{:.3} {:.1} {:.1} {}",
        took.as_secs_f64() * 1e3,
        before,
        peak,
        applied.summary.facts_revised
    );
    Ok(())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut db, mut rounds, mut child) = (None, 3u32, None);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--db" => db = Some(PathBuf::from(value()?)),
            "--rounds" => rounds = value()?.parse::<u32>().context("--rounds")?.max(1),
            "--one" => child = Some((value()?, value()?.parse::<u32>().context("round")?)),
            other => bail!("unknown option {other} (--db STORE, --rounds R)"),
        }
    }
    let db = db.context("--db STORE is required")?;
    if let Some((path, round)) = child {
        return one(&db, &path, round);
    }
    let facts = SqliteStore::open(&db)?
        .fact_series(None)?
        .map_or(0, |(_, n)| n);
    println!(
        "P12 apply: one revised figure applied to {} ({facts} facts), A = Store::apply (full), B = Store::apply_delta (keys only), {rounds} rounds A B A B, each in a fresh process; load average {}",
        db.display(),
        load_average()
    );
    let me = std::env::current_exe()?;
    let mut times: [Vec<f64>; 2] = Default::default();
    let mut peaks: [Vec<f64>; 2] = Default::default();
    let mut grown: [Vec<f64>; 2] = Default::default();
    for round in 0..rounds {
        for (k, path) in ["full", "delta"].into_iter().enumerate() {
            let output = Command::new(&me)
                .args(["--db"])
                .arg(&db)
                .args(["--one", path, &(round * 2 + k as u32).to_string()])
                .output()?;
            if !output.status.success() {
                bail!(
                    "the {path} apply failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            let text = String::from_utf8(output.stdout)?;
            let fields: Vec<f64> = text
                .split_whitespace()
                .map(|f| f.parse::<f64>())
                .collect::<Result<_, _>>()?;
            let (ms, before, peak) = (fields[0], fields[1], fields[2]);
            println!(
                "round {round} {path:>5}: {ms:>9.1} ms, RSS before {before:.0} MB, peak during the apply {peak:.0} MB (+{:.0} MB)",
                peak - before
            );
            times[k].push(ms);
            peaks[k].push(peak);
            grown[k].push(peak - before);
        }
    }
    let (ta, tb) = (median(&mut times[0]), median(&mut times[1]));
    let (pa, pb) = (median(&mut peaks[0]), median(&mut peaks[1]));
    let (ga, gb) = (median(&mut grown[0]), median(&mut grown[1]));
    println!(
        "medians: full {ta:.1} ms, peak {pa:.0} MB (+{ga:.0}); keys only {tb:.1} ms, peak {pb:.0} MB (+{gb:.0}); time {:.0}x, peak RSS {:.1}x; load average {}",
        ta / tb,
        pa / pb,
        load_average()
    );
    Ok(())
}
