//! `holdco-bench`: the scale benchmarks of docs/PERFORMANCE.md. Each workload runs holdco
//! and its baseline on identical data in one run, checks the answers agree, and prints the
//! times and their ratio. Run with `cargo run --release -p holdco-bench -- <workload>`.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use holdco_core::columnar::{
    fast_rollup, lineage_tables, FactTable, FactTableBuilder, FastLine, FastPlan, FastQuery,
    SeriesKey,
};
use holdco_core::rollup::{Engine, View};
use holdco_core::synth::{metric_name, Synth, SynthSpec};
use holdco_core::timeline::Timeline;
use holdco_core::{Aggregation, Basis, MetricId, Period};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
mod p10;

#[derive(Parser)]
#[command(about = "holdco scale benchmarks (see docs/PERFORMANCE.md)")]
struct Cli {
    #[command(subcommand)]
    workload: Workload,
}

#[derive(Subcommand)]
enum Workload {
    /// P1 (and P6): restated roll-up of every top-level node x month x metric, against DuckDB and the floor.
    P1 {
        #[arg(long, default_value_t = 10_000_000)]
        facts: usize,
        #[arg(long, default_value_t = 5_000)]
        units: usize,
        #[arg(long, default_value_t = 200)]
        changes: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Folder for the tables handed to DuckDB.
        #[arg(long, default_value = "target/bench-p1")]
        dir: PathBuf,
        /// Skip DuckDB (holdco and the floor only).
        #[arg(long)]
        no_duckdb: bool,
        /// Timed rounds of each contender, DuckDB included (each reports its best round).
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// P2: structure on a date with 100k units and 1M changes.
    P2 {
        #[arg(long, default_value_t = 100_000)]
        units: usize,
        #[arg(long, default_value_t = 1_000_000)]
        changes: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// P10: fresh-process `holdco rollup` from the SQLite store against DuckDB on a persisted
    /// file (same restated query), and `holdco structure --at` on a 1M-change store.
    P10 {
        /// Work folder: the generated model, the stores, DuckDB's file (delete it afterwards).
        #[arg(long, default_value = "/tmp/store-bench")]
        dir: PathBuf,
        /// Interleaved rounds (A B A B ...); medians are reported.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Also generate and time the P2-scale store (100k units, 1M changes) for `structure --at`.
        #[arg(long)]
        structure: bool,
        /// DuckDB threads (holdco uses every core).
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// P3: import of fact rows from CSV into the store, against DuckDB's read_csv.
    P3 {
        #[arg(long, default_value_t = 10_000_000)]
        facts: usize,
        #[arg(long, default_value_t = 5_000)]
        units: usize,
        #[arg(long, default_value = "target/bench-p3")]
        dir: PathBuf,
    },
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let out = f();
        best = best.min(start.elapsed());
        last = Some(out);
    }
    (best, last.expect("at least one run"))
}

pub(crate) fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() -> Result<()> {
    match Cli::parse().workload {
        Workload::P1 {
            facts,
            units,
            changes,
            seed,
            dir,
            no_duckdb,
            runs,
        } => p1(facts, units, changes, seed, &dir, !no_duckdb, runs.max(1)),
        Workload::P10 {
            dir,
            rounds,
            structure,
            threads,
        } => p10::run(&dir, rounds.max(1), structure, threads),
        Workload::P2 {
            units,
            changes,
            seed,
        } => p2(units, changes, seed),
        Workload::P3 { facts, units, dir } => p3(facts, units, &dir),
    }
}

/// Generates a group and loads its facts straight into a fact table.
fn generate(
    facts: usize,
    units: usize,
    changes: usize,
    seed: u64,
) -> Result<(Synth, FactTable, Duration)> {
    let spec = SynthSpec {
        units,
        facts,
        changes,
        seed,
        intercompany: 0.0,
        ..SynthSpec::default()
    };
    let synth = Synth::generate(&spec);
    let engine = Engine::new(&synth.model).map_err(|e| anyhow::anyhow!("{e}"))?;
    let timeline = engine.timeline();
    let index: Vec<u32> = (0..synth.model.timeline.len() as u32 + 1)
        .map(|u| {
            let id = holdco_core::UnitId::parse(&if u == 0 {
                "group".to_string()
            } else {
                format!("u{u}")
            })
            .expect("valid");
            timeline.unit(&id).unwrap_or(u32::MAX)
        })
        .collect();
    let metric_index: Vec<u16> = (0..synth.metric_count())
        .map(|m| {
            synth
                .model
                .metrics
                .iter()
                .position(|x| x.id.as_str() == metric_name(m))
                .expect("metric") as u16
        })
        .collect();
    let start = Instant::now();
    let mut builder = FactTableBuilder::new(synth.model.group.currency.clone());
    let currencies: Vec<u8> = std::iter::once(0u8)
        .chain(
            holdco_core::synth::SYNTH_CURRENCIES
                .iter()
                .map(|c| builder.currency(Some(&holdco_core::Currency::parse(c).expect("valid")))),
        )
        .collect();
    builder.reserve(facts + facts / 8);
    for fact in synth.facts() {
        let key = SeriesKey {
            unit: index[fact.unit as usize],
            metric: metric_index[fact.metric as usize],
            currency: currencies[fact.currency as usize],
            counterparty: None,
            basis: Basis::Reported,
        };
        builder
            .push(key, fact.period, fact.value)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let table = builder
        .finish(&engine)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let load = start.elapsed();
    drop(engine);
    Ok((synth, table, load))
}

fn p1(
    facts: usize,
    units: usize,
    changes: usize,
    seed: u64,
    dir: &Path,
    duckdb: bool,
    runs: usize,
) -> Result<()> {
    println!("P1: restated roll-up, {facts} facts, {units} units, {changes} changes (seed {seed})");
    let (synth, table, load) = generate(facts, units, changes, seed)?;
    let model = &synth.model;
    let engine = Engine::new(model).map_err(|e| anyhow::anyhow!("{e}"))?;
    let calendar = model.group.calendar();
    let months: Vec<Period> = table.periods.clone();
    let metrics: Vec<MetricId> = model
        .metrics
        .iter()
        .filter(|m| matches!(m.aggregation, Aggregation::Flow | Aggregation::Stock))
        .map(|m| m.id.clone())
        .collect();
    println!(
        "  data: {} facts in {} series, {} months ({}..{}), {} metrics; loaded into columns in {:.0} ms ({} MB of columns)",
        table.len(),
        table.series.len(),
        months.len(),
        months[0].label(calendar),
        months[months.len() - 1].label(calendar),
        metrics.len(),
        ms(load),
        table.column_bytes() / 1_000_000
    );
    let query = FastQuery {
        metrics: metrics.clone(),
        periods: months.clone(),
        view: View::Restated,
        structure: None,
        node: None,
        depth: 1,
        basis: Basis::Reported,
    };
    // Cold: compile the query (lines, lineage and ownership weights per unit and period)
    // and make the pass. Warm: the pass with the compiled plan kept from an earlier query on
    // the same structure date; the symmetric comparison with DuckDB, which is handed the
    // lineage-weight and unit-to-node tables ready-made and untimed.
    // The floor: one pass reading the same columns, summing them, nothing else.
    // Same threads and the same fixed chunks as holdco's pass.
    let floor = || {
        use rayon::prelude::*;
        let n = table.len();
        let chunks = holdco_core::columnar::PASS_CHUNKS;
        let parts: Vec<(f64, u64)> = (0..chunks)
            .into_par_iter()
            .map(|k| {
                let rows = n * k / chunks..n * (k + 1) / chunks;
                // Eight independent sums (one per vector lane), so the pass is bound by how
                // fast memory delivers the columns, not by the latency of one chain of
                // additions.
                let (mut sums, mut periods) = ([0.0f64; 8], [0u64; 8]);
                let (period, value) = (&table.period[rows.clone()], &table.value[rows]);
                let (p8, v8) = (period.chunks_exact(8), value.chunks_exact(8));
                let (p_rest, v_rest) = (p8.remainder(), v8.remainder());
                for (p, v) in p8.zip(v8) {
                    for l in 0..8 {
                        sums[l] += v[l];
                        periods[l] += u64::from(p[l]);
                    }
                }
                for (p, v) in p_rest.iter().zip(v_rest) {
                    sums[0] += v;
                    periods[0] += u64::from(*p);
                }
                (sums.iter().sum::<f64>(), periods.iter().sum::<u64>())
            })
            .collect();
        std::hint::black_box(parts)
    };
    let plan = FastPlan::prepare(&engine, &table, &query).map_err(|e| anyhow::anyhow!("{e}"))?;
    let cold = fast_rollup(&engine, &table, &query).map_err(|e| anyhow::anyhow!("{e}"))?;
    let answer = plan.run();
    if !answer
        .values()
        .zip(cold.values())
        .all(|(a, b)| a.map(f64::to_bits) == b.map(f64::to_bits))
    {
        bail!("the warm and cold answers differ");
    }
    // A digest of every cell's bits: a change to the pass that keeps the answer keeps it.
    let digest = answer.values().fold(0xcbf2_9ce4_8422_2325u64, |h, v| {
        (h ^ v.map_or(1, |v| v.to_bits() ^ 0x5555))
            .wrapping_mul(0x100_0000_01b3)
            .rotate_left(17)
    });
    // The contenders take turns, round after round, so a busy moment on this shared
    // machine falls on all of them alike; each reports its best round.
    let (mut floor_time, mut holdco_time, mut cold_time, mut prepare_time) =
        (Duration::MAX, Duration::MAX, Duration::MAX, Duration::MAX);
    // Each round's own ratios too: their median is steadier than a ratio of best rounds
    // when the machine is busy.
    let (mut warm_ratios, mut cold_ratios) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let f = best_of(1, floor).0;
        let w = best_of(1, || plan.run()).0;
        let c = best_of(1, || fast_rollup(&engine, &table, &query)).0;
        prepare_time =
            prepare_time.min(best_of(1, || FastPlan::prepare(&engine, &table, &query)).0);
        warm_ratios.push(ms(w) / ms(f));
        cold_ratios.push(ms(c) / ms(f));
        floor_time = floor_time.min(f);
        holdco_time = holdco_time.min(w);
        cold_time = cold_time.min(c);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    // One node, one metric, 40 months.
    let top = answer.lines.iter().find_map(|l| match l {
        FastLine::Node(u) if *u != engine.timeline().root => {
            Some(engine.timeline().record(*u).id.clone())
        }
        _ => None,
    });
    let single = FastQuery {
        metrics: vec![MetricId::parse("revenue").expect("valid")],
        periods: months[months.len() - 40..].to_vec(),
        view: View::Restated,
        structure: None,
        node: top.clone(),
        depth: 0,
        basis: Basis::Reported,
    };
    let (single_time, single_answer) = best_of(20, || fast_rollup(&engine, &table, &single));
    single_answer.map_err(|e| anyhow::anyhow!("{e}"))?;
    let single_plan =
        FastPlan::prepare(&engine, &table, &single).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (single_warm, _) = best_of(20, || single_plan.run());
    // The engine keeps the structures it has built: the one on the structure date is built
    // by the first query and reused by every later one, cold or warm. Its cost, for the record.
    let (structure_time, _) = best_of(5, || {
        engine
            .timeline()
            .structure_on(engine.latest_structure_date())
    });
    let rss = peak_rss_mb();
    println!("  holdco restated roll-up, warm (plan kept): {:>7.2} ms  ({} lines x {} months x {} metrics)", ms(holdco_time), answer.lines.len(), months.len(), metrics.len());
    println!("  holdco restated roll-up, cold (compile + pass): {:>6.2} ms  (compiling the plan alone: {:.2} ms)", ms(cold_time), ms(prepare_time));
    println!(
        "  floor (sum of the columns): {:>6.2} ms  -> holdco / floor = {:.2} warm, {:.2} cold (best rounds); median of the rounds' own ratios {:.2} warm, {:.2} cold",
        ms(floor_time),
        ms(holdco_time) / ms(floor_time),
        ms(cold_time) / ms(floor_time),
        median(warm_ratios),
        median(cold_ratios)
    );
    println!("  (building the structure on the structure date, which the engine keeps across queries: {:.2} ms, not in the cold figure)", ms(structure_time));
    println!(
        "  single node ({}), revenue, 40 months: {:.2} ms cold, {:.2} ms warm",
        top.map(|t| t.to_string()).unwrap_or_default(),
        ms(single_time),
        ms(single_warm)
    );
    println!("  P6 peak RSS of this run: {rss:.0} MB (target <= 400 MB at 10M facts)");
    println!("  answer digest (bits of every cell): {digest:016x}");
    println!(
        "  threads: {} (holdco's pass and the floor both cut the rows into {} fixed chunks)",
        rayon::current_num_threads(),
        holdco_core::columnar::PASS_CHUNKS
    );
    if !duckdb {
        return Ok(());
    }
    // The same data and the same compiled lineage, for DuckDB.
    std::fs::create_dir_all(dir)?;
    let start = Instant::now();
    write_duckdb_tables(dir, &engine, &table, &query, &answer.lines)?;
    println!(
        "  wrote DuckDB's tables in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let output = Command::new("python3")
        .arg("bench/duckdb_p1.py")
        .arg(dir)
        .arg(runs.to_string())
        .arg("2")
        .output()
        .context("running python3 bench/duckdb_p1.py (pip install duckdb)")?;
    if !output.status.success() {
        bail!(
            "DuckDB script failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let report: serde_json::Value = serde_json::from_slice(
        output
            .stdout
            .trim_ascii_end()
            .rsplit(|b| *b == b'\n')
            .next()
            .unwrap_or_default(),
    )?;
    let duck = report["best"].as_f64().unwrap_or(f64::NAN) * 1e3;
    // Check the answers agree before reporting a ratio.
    let result = std::fs::read_to_string(dir.join("result.csv"))?;
    let mut checked = 0usize;
    let mut worst = 0.0f64;
    for line in result.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let (l, p, m, v): (usize, usize, u16, f64) = (
            cols[0].parse()?,
            cols[1].parse()?,
            cols[2].parse()?,
            cols[3].parse()?,
        );
        let mi = metrics
            .iter()
            .position(|id| model.metrics.iter().position(|x| &x.id == id) == Some(m as usize))
            .context("metric")?;
        let ours = answer.get(mi, l, p).unwrap_or(0.0);
        let rel = (ours - v).abs() / v.abs().max(1e-300);
        worst = worst.max(if (ours - v).abs() < 1e-9 { 0.0 } else { rel });
        checked += 1;
    }
    if worst > 1e-9 {
        bail!("holdco and DuckDB disagree: worst relative difference {worst:e}");
    }
    println!(
        "  DuckDB {} ({} threads): {:>9.1} ms  -> DuckDB / holdco = {:.2} warm, {:.2} cold; {} cells agree (worst relative difference {:.1e})",
        report["duckdb"].as_str().unwrap_or("?"),
        report["threads"],
        duck,
        duck / ms(holdco_time),
        duck / ms(cold_time),
        checked,
        worst
    );
    Ok(())
}

pub(crate) fn write_duckdb_tables(
    dir: &Path,
    engine: &Engine,
    table: &FactTable,
    query: &FastQuery,
    lines: &[FastLine],
) -> Result<()> {
    let model = engine.model();
    let tables = lineage_tables(engine, table, query, lines);
    let period_of: Vec<u32> = table
        .periods
        .iter()
        .map(|p| {
            query
                .periods
                .iter()
                .position(|q| q == p)
                .map(|j| j as u32)
                .unwrap_or(u32::MAX)
        })
        .collect();
    let mut w =
        std::io::BufWriter::with_capacity(1 << 22, std::fs::File::create(dir.join("facts.csv"))?);
    writeln!(w, "unit,period,metric,value,currency")?;
    for (s, key) in table.series.iter().enumerate() {
        for r in table.offsets[s]..table.offsets[s + 1] {
            writeln!(
                w,
                "{},{},{},{:?},{}",
                key.unit,
                period_of[table.period[r] as usize],
                key.metric,
                table.value[r],
                key.currency
            )?;
        }
    }
    w.flush()?;
    let mut w = std::io::BufWriter::new(std::fs::File::create(dir.join("lineage.csv"))?);
    writeln!(w, "grp,unit,period,target,weight")?;
    for (g, unit, j, target, weight) in &tables.lineage {
        writeln!(w, "{g},{unit},{j},{target},{weight:?}")?;
    }
    w.flush()?;
    let mut w = std::io::BufWriter::new(std::fs::File::create(dir.join("node_of.csv"))?);
    writeln!(w, "target,line")?;
    for (target, line) in &tables.node_of {
        writeln!(w, "{target},{line}")?;
    }
    w.flush()?;
    let mut w = std::io::BufWriter::new(std::fs::File::create(dir.join("metric_group.csv"))?);
    writeln!(w, "metric,grp,stock")?;
    for (metric, group) in &tables.metric_group {
        let stock = model.metrics[*metric as usize].aggregation == Aggregation::Stock;
        writeln!(w, "{metric},{group},{}", u8::from(stock))?;
    }
    w.flush()?;
    let mut w = std::io::BufWriter::new(std::fs::File::create(dir.join("rates.csv"))?);
    writeln!(w, "currency,period,stock,rate")?;
    for (c, currency) in table.currencies.iter().enumerate() {
        for (j, period) in query.periods.iter().enumerate() {
            for stock in [false, true] {
                let rate = if c == 0 {
                    1.0
                } else {
                    model
                        .fx
                        .iter()
                        .find(|r| &r.currency == currency && r.period == *period)
                        .map(|r| if stock { r.closing } else { r.average })
                        .unwrap_or(f64::NAN)
                };
                writeln!(w, "{c},{j},{},{rate:?}", u8::from(stock))?;
            }
        }
    }
    w.flush()?;
    Ok(())
}

fn p2(units: usize, changes: usize, seed: u64) -> Result<()> {
    println!("P2: structure on a date, {units} units, {changes} changes (seed {seed})");
    let start = Instant::now();
    let synth = Synth::generate(&SynthSpec {
        units,
        facts: 0,
        changes,
        seed,
        months: Some(120),
        metrics: Some(3),
        ..SynthSpec::default()
    });
    println!(
        "  generated the timeline in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let model = &synth.model;
    let (load, (timeline, problems)) = best_of(3, || {
        Timeline::replay(&model.group, &model.metrics, &model.timeline)
    });
    if !problems.is_empty() {
        bail!("the generated timeline has problems: {}", problems[0]);
    }
    println!(
        "  load (replay {} changes into per-unit histories): {:.0} ms (target < 2000 ms)",
        model.timeline.len(),
        ms(load)
    );
    let first = model.timeline.first().map(|c| c.date).expect("non-empty");
    let last = model.timeline.last().map(|c| c.date).expect("non-empty");
    let span = (last - first).num_days().max(1) as u64;
    let dates: Vec<chrono::NaiveDate> = (0..50)
        .map(|k| first + chrono::Days::new(k * span / 49))
        .collect();
    let start = Instant::now();
    let mut alive = 0usize;
    for date in &dates {
        let structure = timeline.structure_on(*date);
        alive += structure.alive.iter().filter(|a| **a).count();
    }
    let per_query = start.elapsed() / dates.len() as u32;
    println!("  structure on a date: {:.2} ms per query over {} dates ({} units alive on average) (target < 10 ms)", ms(per_query), dates.len(), alive / dates.len());
    println!("  peak RSS: {:.0} MB", peak_rss_mb());
    Ok(())
}

fn p3(facts: usize, units: usize, dir: &Path) -> Result<()> {
    println!("P3: import of {facts} fact rows from CSV into the store");
    if !dir.join("group.toml").exists() {
        let status = Command::new(std::env::current_exe()?.with_file_name("holdco"))
            .args([
                "gen",
                &dir.display().to_string(),
                "--facts",
                &facts.to_string(),
                "--units",
                &units.to_string(),
                "--changes",
                "200",
            ])
            .status()
            .context("running holdco gen (build it with cargo build --release)")?;
        if !status.success() {
            bail!("holdco gen failed");
        }
    }
    let db = dir.with_extension("db");
    let _ = std::fs::remove_file(&db);
    let _ = std::fs::remove_file(db.with_extension("db-wal"));
    let start = Instant::now();
    let status = Command::new(std::env::current_exe()?.with_file_name("holdco"))
        .arg("--db")
        .arg(&db)
        .arg("import")
        .arg(dir)
        .status()?;
    let holdco = start.elapsed();
    if !status.success() {
        bail!("holdco import failed");
    }
    let rows: usize = std::fs::read_dir(dir.join("facts"))?
        .map(|e| {
            std::fs::read(e.expect("entry").path())
                .map(|b| b.iter().filter(|c| **c == b'\n').count().saturating_sub(1))
                .unwrap_or(0)
        })
        .sum();
    println!(
        "  holdco import: {:.2} s = {:.2} M rows/s (target >= 1 M rows/s)",
        holdco.as_secs_f64(),
        rows as f64 / holdco.as_secs_f64() / 1e6
    );
    let output = Command::new("python3")
        .arg("bench/duckdb_p3.py")
        .arg(format!("{}/facts/*.csv", dir.display()))
        .arg("3")
        .arg("2")
        .output()?;
    if output.status.success() {
        let report: serde_json::Value = serde_json::from_slice(output.stdout.trim_ascii_end())?;
        let duck = report["best"].as_f64().unwrap_or(f64::NAN);
        println!("  DuckDB read_csv into a table: {:.2} s ({} rows) -> holdco speed / DuckDB speed = {:.2} (target >= 0.5)", duck, report["rows"], duck / holdco.as_secs_f64());
    } else {
        println!(
            "  DuckDB not run: {}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    Ok(())
}
