//! P8 (issue 14's "P7"): people and roles at scale. A generated group (50k units, with its
//! reorganisations) gets 200k people and about 2M role events (appointments, step-downs,
//! transfers); holdco replays them into its ledger (roles following merges and splits),
//! then answers "who leads what on a date" for the whole group plus the cohort counts per
//! unit, and one person's history. The baseline is DuckDB asked the same as-of questions
//! over the role intervals holdco replayed (the lineage already resolved), in the same run,
//! interleaved A B A B; medians. Run:
//! `cargo run --release -p holdco-bench --bin p8 -- [--people N] [--events N] [--units N]`.

#[path = "../common.rs"]
mod common;
use anyhow::{bail, Context, Result};
use chrono::{Datelike, Days};
use common::load_average;
use holdco_core::synth::{SplitMix, Synth, SynthSpec};
use holdco_core::timeline::Timeline;
use holdco_governance::config::Config;
use holdco_governance::ledger::{Ledger, Seat};
use holdco_governance::{queries, synth};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time of this thread so far: on a machine shared with other builds, what the query
/// itself cost (wall time also counts the time the thread waited for a core).
fn thread_cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> Result<()> {
    let people = arg("--people", 200_000);
    let events = arg("--events", 2_000_000);
    let units = arg("--units", 50_000);
    let changes = arg("--changes", 2_000);
    let runs = arg("--runs", 7);
    let seed = arg("--seed", 7) as u64;
    // Large files (the intervals' CSV, DuckDB's database): `P8_DIR`, else target/bench-p8.
    let dir = PathBuf::from(std::env::var("P8_DIR").unwrap_or_else(|_| "target/bench-p8".into()));
    std::fs::create_dir_all(&dir)?;

    let started = Instant::now();
    let spec = SynthSpec {
        units,
        facts: units * 3,
        changes,
        seed,
        depth: 4,
        months: Some(12),
        metrics: Some(3),
        ..SynthSpec::default()
    };
    spec.validate().map_err(anyhow::Error::msg)?;
    let generated = Synth::generate(&spec);
    let mut model = generated.model.clone();
    let (timeline, _) = Timeline::replay(&model.group, &model.metrics, &model.timeline);
    let made = synth::synth_people(&model, &timeline, people, events, seed);
    drop(timeline);
    let role_events = made.events.len();
    model.timeline.extend(made.events);
    println!(
        "generated: {} units, {} structure changes, {} people, {} role events kept ({:.1?})",
        units,
        generated.model.timeline.len(),
        made.people.len(),
        role_events,
        started.elapsed()
    );

    // Load: replay the log and build the ledger.
    let start = Instant::now();
    let (timeline, refused) = Timeline::replay(&model.group, &model.metrics, &model.timeline);
    println!("  replay: {:.2?}", start.elapsed());
    let mut problems = Vec::new();
    let ledger = Ledger::build(
        made.people.clone(),
        Config::built_in(),
        &timeline,
        &mut problems,
    );
    let load = start.elapsed();
    if !refused.is_empty() || !problems.is_empty() {
        bail!(
            "the generated log does not replay cleanly: {:?}",
            refused.iter().chain(&problems).take(3).collect::<Vec<_>>()
        );
    }
    let held_total = ledger.holdings.len();
    println!("holdco load (replay + ledger): {load:.2?}, {held_total} role spans");

    let first = model
        .timeline
        .iter()
        .map(|c| c.date)
        .min()
        .expect("changes");
    let last = model
        .timeline
        .iter()
        .map(|c| c.date)
        .max()
        .expect("changes");
    let date = first + Days::new(((last - first).num_days() * 3 / 4) as u64);
    let born_from = 1985;

    // The intervals for DuckDB: one row per span of a role in one unit.
    let csv = dir.join("holdings.csv");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&csv).context("holdings.csv")?);
        writeln!(w, "person,role,unit,f,u,birth_year,leadership")?;
        for h in &ledger.holdings {
            let person = &ledger.people[ledger.index[&h.person]];
            let leadership = ledger.role(&h.role).is_some_and(|r| r.leadership);
            for (i, (from, seat)) in h.path.iter().enumerate() {
                let until = h.path.get(i + 1).map(|(d, _)| *d).or(h.until);
                let Seat::Unit(unit) = seat else { continue };
                writeln!(
                    w,
                    "{},{},{},{},{},{},{}",
                    h.person,
                    h.role,
                    unit,
                    from,
                    until.map(|d| d.to_string()).unwrap_or_default(),
                    person.birth_year.map(|y| y.to_string()).unwrap_or_default(),
                    leadership
                )?;
            }
        }
    }
    let mut rng = SplitMix::new(seed);
    let sample: Vec<String> = (0..200)
        .map(|_| format!("p{}", rng.below(people)))
        .collect();
    std::fs::write(dir.join("persons.txt"), sample.join("\n"))?;

    if std::env::var_os("P8_PARTS").is_some() {
        let t = Instant::now();
        let n = ledger.held_on(date).count();
        println!(
            "  holdings held (scan of every holding): {n} in {:.1?}",
            t.elapsed()
        );
        let t = Instant::now();
        let s = timeline.structure_on(date);
        println!(
            "  structure_on: {} units in {:.1?}",
            s.alive.len(),
            t.elapsed()
        );
        let t = Instant::now();
        let order = timeline.tree_order_on(date, timeline.root);
        println!(
            "  tree_order_on: {} units in {:.1?}",
            order.len(),
            t.elapsed()
        );
        // CPU of each part, the median of 9 (the machine is shared).
        let cpu_of = |f: &dyn Fn()| {
            median(
                (0..9)
                    .map(|_| {
                        let c = thread_cpu();
                        f();
                        thread_cpu() - c
                    })
                    .collect(),
            )
        };
        println!(
            "  CPU: tree_order_on {:.2?}, as_of (rows + cohorts) {:.2?}, as_of (rows) {:.2?}",
            cpu_of(&|| {
                std::hint::black_box(timeline.tree_order_on(date, timeline.root));
            }),
            cpu_of(&|| {
                std::hint::black_box(
                    queries::as_of(&ledger, &timeline, date, None, Some(born_from)).ok(),
                );
            }),
            cpu_of(&|| {
                std::hint::black_box(queries::as_of(&ledger, &timeline, date, None, None).ok());
            }),
        );
        let t = Instant::now();
        let day = holdco_governance::roster::day(date);
        let held: usize = order
            .iter()
            .map(|(u, _)| ledger.roster.held(*u, day).count())
            .sum();
        println!(
            "  roster scan in tree order: {held} spans held in {:.1?}",
            t.elapsed()
        );
        let t = Instant::now();
        let rows = queries::leaders(&ledger, &timeline, date, None).expect("leaders");
        println!(
            "  leaders (borrowed rows): {} rows in {:.1?}",
            rows.len(),
            t.elapsed()
        );
        // P8_LOOP=N: the query N more times (for a profiler).
        let repeat: usize = std::env::var("P8_LOOP")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let t = Instant::now();
        for _ in 0..repeat {
            let found =
                queries::as_of(&ledger, &timeline, date, None, Some(born_from)).expect("as_of");
            std::hint::black_box(found);
        }
        if repeat > 0 {
            println!(
                "  {repeat} more as_of (leaders + cohorts in one pass): {:.1?} each",
                t.elapsed() / repeat as u32
            );
        }
        let t = Instant::now();
        let rows = queries::leaders_on(&ledger, &timeline, date, None).expect("leaders");
        println!(
            "  leaders_on (owned rows): {} rows in {:.1?}",
            rows.len(),
            t.elapsed()
        );
        let t = Instant::now();
        let c = queries::cohorts_by_unit(&ledger, &timeline, date, born_from);
        println!(
            "  cohorts_by_unit: {} units in {:.1?}",
            c.len(),
            t.elapsed()
        );
    }
    // DuckDB's persisted table, built from the CSV by its first run (the file of an
    // earlier run is removed: it may hold other data).
    let database = dir.join("holdings.duckdb");
    let _ = std::fs::remove_file(&database);
    let fetch = std::env::var("P8_FETCH").unwrap_or_else(|_| "arrow".into());
    // The one-pass answer agrees with the leaders and cohorts found apart.
    {
        let answer =
            queries::as_of(&ledger, &timeline, date, None, Some(born_from)).expect("as_of");
        let rows = queries::leaders_on(&ledger, &timeline, date, None).expect("leaders");
        let resolved: Vec<_> = answer.leaders().map(|l| l.to_row()).collect();
        if serde_json::to_value(&resolved)? != serde_json::to_value(&rows)? {
            bail!("as_of's rows differ from leaders_on's");
        }
        let mut cohorts: Vec<_> = answer
            .cohorts
            .iter()
            .map(|c| (c.unit, c.cohort, c.older, c.unknown))
            .collect();
        cohorts.sort_unstable();
        if cohorts != queries::cohorts_by_unit(&ledger, &timeline, date, born_from) {
            bail!("as_of's cohorts differ from cohorts_by_unit's");
        }
    }
    struct Round {
        query: Duration,
        cpu: Duration,
        resolved: Duration,
        owned: Duration,
        history: Duration,
        answer: (usize, usize, u32),
    }
    let holdco_round = || {
        let mut times = Vec::new();
        let mut cpu = Vec::new();
        let mut resolved = Vec::new();
        let mut owned = Vec::new();
        let mut answer = (0, 0, 0u32);
        // Each kind of run back to back, as DuckDB runs its queries.
        for _ in 0..runs {
            // The answer as the library gives it: the roles held as roster positions and
            // the cohort counts of every unit with leaders, found in one pass.
            let t = Instant::now();
            let c = thread_cpu();
            let found =
                queries::as_of(&ledger, &timeline, date, None, Some(born_from)).expect("as_of");
            cpu.push(thread_cpu() - c);
            times.push(t.elapsed());
            answer = (
                found.len(),
                found.cohorts.len(),
                found.cohorts.iter().map(|c| c.leaders()).sum(),
            );
            std::hint::black_box(&found);
        }
        for _ in 0..runs {
            // The same with every row resolved into its ids, names and dates (what printing
            // it costs beyond the writing), and the cohorts' shares.
            let t = Instant::now();
            let found =
                queries::as_of(&ledger, &timeline, date, None, Some(born_from)).expect("as_of");
            let mut bytes = 0usize;
            for leader in found.leaders() {
                bytes += leader.unit.len()
                    + leader.unit_name.len()
                    + leader.role.len()
                    + leader.person.len()
                    + leader.name.len()
                    + leader.since.ordinal() as usize;
            }
            let shares: f64 = found.cohorts.iter().map(|c| c.shares()[0]).sum();
            resolved.push(t.elapsed());
            std::hint::black_box((bytes, shares));
        }
        for _ in 0..runs.min(3) {
            // The same with every row copied into owned strings (3 runs at most: slow).
            let t = Instant::now();
            let rows = queries::leaders_on(&ledger, &timeline, date, None).expect("leaders");
            let cohorts = queries::cohorts_by_unit(&ledger, &timeline, date, born_from);
            owned.push(t.elapsed());
            std::hint::black_box((rows, cohorts));
        }
        let mut history = Vec::new();
        for id in &sample {
            let t = Instant::now();
            let report = queries::person(&ledger, id, date).expect("person");
            std::hint::black_box(report);
            history.push(t.elapsed());
        }
        Round {
            query: median(times),
            cpu: median(cpu),
            resolved: median(resolved),
            owned: median(owned),
            history: median(history),
            answer,
        }
    };
    let duckdb_round = || -> Result<serde_json::Value> {
        let output = Command::new("python3")
            .arg("bench/duckdb_p8.py")
            .arg(&csv)
            .arg(&database)
            .arg(date.to_string())
            .arg(runs.to_string())
            .arg(dir.join("persons.txt"))
            .arg(born_from.to_string())
            .arg(&fetch)
            .output()
            .context("running python3 bench/duckdb_p8.py (pip install duckdb pyarrow)")?;
        if !output.status.success() {
            bail!("duckdb: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(serde_json::from_slice(&output.stdout)?)
    };
    // DuckDB builds its persisted table before the rounds (not timed as a round).
    let built = duckdb_round()?;
    println!(
        "DuckDB: {} rows persisted in {:.2} s (CSV to table, sorted by first day)",
        built["rows"],
        built["build"].as_f64().unwrap_or(f64::NAN)
    );
    let rounds = arg("--rounds", 2);
    println!("load average before the rounds: {}", load_average());
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..rounds {
        ours.push(holdco_round());
        theirs.push(duckdb_round()?);
    }
    let mid = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let ours_of =
        |f: fn(&Round) -> Duration| mid(ours.iter().map(|r| f(r).as_secs_f64()).collect());
    let theirs_of = |k: &str| {
        mid(theirs
            .iter()
            .map(|d| d[k].as_f64().unwrap_or(f64::NAN))
            .collect())
    };
    let (q, qc, res, o, h) = (
        ours_of(|r| r.query),
        ours_of(|r| r.cpu),
        ours_of(|r| r.resolved),
        ours_of(|r| r.owned),
        ours_of(|r| r.history),
    );
    let (dq, dc, dh) = (
        theirs_of("query"),
        theirs_of("query_cpu"),
        theirs_of("history"),
    );
    let answer = ours[0].answer;
    for d in &theirs {
        if d["leaders"].as_u64() != Some(answer.0 as u64)
            || d["units"].as_u64() != Some(answer.1 as u64)
            || d["cohort_people"].as_u64() != Some(answer.2 as u64)
        {
            bail!("answers differ: holdco {answer:?}, duckdb {d}");
        }
    }
    println!("on {date}: {} roles held, {} units with leaders, {} leaders counted by cohort (holdco and DuckDB agree)", answer.0, answer.1, answer.2);
    println!("medians of {runs} runs per round, then the median of {rounds} rounds; DuckDB answers as {fetch}");
    println!(
        "leaders on a date + cohorts per unit: holdco {:.1} ms, DuckDB {:.1} ms (x{:.1})",
        q * 1e3,
        dq * 1e3,
        dq / q
    );
    println!(
        "  CPU time (holdco: its one thread; DuckDB: the process, all threads): holdco {:.1} ms, DuckDB {:.1} ms (x{:.1})",
        qc * 1e3,
        dc * 1e3,
        dc / qc
    );
    println!(
        "  every row resolved (ids, names, dates) + shares: holdco {:.1} ms (x{:.1} against DuckDB's wall)",
        res * 1e3,
        dq / res
    );
    println!(
        "  every row copied into owned strings: holdco {:.1} ms (x{:.1})",
        o * 1e3,
        dq / o
    );
    println!(
        "  each round (holdco wall / CPU, DuckDB wall / CPU): {}",
        ours.iter()
            .zip(&theirs)
            .map(|(a, b)| format!(
                "{:.1} / {:.1} ms, {:.1} / {:.1} ms",
                a.query.as_secs_f64() * 1e3,
                a.cpu.as_secs_f64() * 1e3,
                b["query"].as_f64().unwrap_or(0.0) * 1e3,
                b["query_cpu"].as_f64().unwrap_or(0.0) * 1e3
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    println!(
        "one person's history:                 holdco {:.1} µs, DuckDB {:.1} µs (x{:.1})",
        h * 1e6,
        dh * 1e6,
        dh / h
    );
    println!("load average after the rounds: {}", load_average());
    println!(
        "load: holdco {:.2} s (replay + ledger), DuckDB {:.2} s (open the persisted table)",
        load.as_secs_f64(),
        theirs_of("load")
    );
    Ok(())
}
