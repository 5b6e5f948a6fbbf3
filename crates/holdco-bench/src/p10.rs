//! P10 (issue 11 item 5): what a user waits for. Fresh-process `holdco rollup` from an SQLite
//! store of the P3 folder (11.6M facts) against DuckDB answering the same restated question
//! from a persisted file in a fresh process (`bench/duckdb_p10.py`); and `holdco structure
//! --at` on a store of 100k units and 1M changes. Contenders take turns (A B A B ...) and
//! medians are reported with the load average of each round; answers are compared cell by
//! cell before any ratio is printed.

use crate::common::{holdco, load_average};
use crate::{ms, write_duckdb_tables};
use anyhow::{bail, Context, Result};
use holdco_core::columnar::{FastLine, FastPlan, FastQuery};
use holdco_core::rollup::{Engine, View};
use holdco_core::{Aggregation, Basis, Model};
use holdco_store::SqliteStore;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs a command to completion, its standard output written to a file (as DuckDB's script
/// writes its answer: a pipe made holdco wait for this process to read 8 MB of CSV under
/// load), then read back; the wall time and the output.
fn timed(command: &mut Command) -> Result<(Duration, Vec<u8>)> {
    let path = std::env::temp_dir().join(format!("holdco-p10-out-{}", std::process::id()));
    let file =
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    command.stdout(file);
    let start = Instant::now();
    let output = command.output()?;
    let took = start.elapsed();
    let stdout = std::fs::read(&path);
    let _ = std::fs::remove_file(&path);
    if !output.status.success() {
        bail!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok((took, stdout?))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Fields of one CSV line (quotes as the csv crate writes them).
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    out.push(field);
    out
}

/// The node cells of `holdco rollup --csv`: (node, period label, metric) -> value.
fn holdco_cells(csv: &[u8]) -> Result<HashMap<(String, String, String), f64>> {
    let text = std::str::from_utf8(csv)?;
    let mut lines = text.lines();
    let header = fields(lines.next().context("empty CSV")?);
    let at = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("no {name} column"))
    };
    let (node, kind, period, metric, value) = (
        at("node")?,
        at("kind")?,
        at("period")?,
        at("metric")?,
        at("value")?,
    );
    let mut cells = HashMap::new();
    for line in lines {
        let f = fields(line);
        if f[kind] != "node" || f[value].is_empty() {
            continue;
        }
        cells.insert(
            (f[node].clone(), f[period].clone(), f[metric].clone()),
            f[value].parse::<f64>()?,
        );
    }
    Ok(cells)
}

/// Rewrites the folder's fact files without intercompany rows (a counterparty given): the
/// lineage tables DuckDB is handed carry no eliminations, so both must answer a question
/// without them. The number of rows left out.
fn without_intercompany(folder: &Path) -> Result<usize> {
    use std::io::{BufRead, BufWriter, Write};
    let mut dropped = 0;
    for entry in std::fs::read_dir(folder.join("facts"))? {
        let path = entry?.path();
        let reader = std::io::BufReader::new(std::fs::File::open(&path)?);
        let mut lines = reader.lines();
        let header = lines.next().context("empty fact file")??;
        let Some(at) = header.split(',').position(|h| h == "counterparty") else {
            continue;
        };
        let temporary = path.with_extension("filtered");
        let mut out = BufWriter::new(std::fs::File::create(&temporary)?);
        writeln!(out, "{header}")?;
        let mut here = 0;
        for line in lines {
            let line = line?;
            if line.split(',').nth(at).is_some_and(|c| !c.is_empty()) {
                here += 1;
                continue;
            }
            writeln!(out, "{line}")?;
        }
        out.flush()?;
        drop(out);
        if here > 0 {
            std::fs::rename(&temporary, &path)?;
        } else {
            std::fs::remove_file(&temporary)?;
        }
        dropped += here;
    }
    Ok(dropped)
}

/// The question: every additive metric (or `metrics`), all months, depth 1, restated.
struct Question<'a> {
    model: &'a Model,
    engine: &'a Engine<'a>,
    query: FastQuery,
    lines: Vec<FastLine>,
}

impl Question<'_> {
    /// DuckDB's answer (line, period index, model metric index, value) checked against the
    /// CLI's node cells; the number of cells compared.
    fn check(
        &self,
        duck_csv: &Path,
        ours: &HashMap<(String, String, String), f64>,
    ) -> Result<usize> {
        let calendar = self.model.group.calendar();
        let text = std::fs::read_to_string(duck_csv)?;
        let mut compared = 0;
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let (l, p, m, v): (usize, usize, usize, f64) =
                (f[0].parse()?, f[1].parse()?, f[2].parse()?, f[3].parse()?);
            let FastLine::Node(unit) = self.lines[l] else {
                continue;
            };
            let key = (
                self.engine.timeline().record(unit).id.to_string(),
                self.query.periods[p].label(calendar),
                self.model.metrics[m].id.to_string(),
            );
            let Some(mine) = ours.get(&key) else {
                bail!("DuckDB has {key:?} = {v}, holdco has no such cell");
            };
            if (mine - v).abs() > 1e-9 * (1.0 + v.abs()) {
                bail!("{key:?}: holdco {mine}, DuckDB {v}");
            }
            compared += 1;
        }
        if compared == 0 {
            bail!("no cell compared");
        }
        Ok(compared)
    }
}

pub fn run(dir: &Path, rounds: usize, structure: bool, threads: usize) -> Result<()> {
    let holdco = holdco()?;
    std::fs::create_dir_all(dir)?;
    let folder = dir.join("model");
    let db = dir.join("p10.db");
    if !folder.join("group.toml").exists() {
        println!(
            "  generating {} (holdco gen, as P3 and P9)",
            folder.display()
        );
        timed(Command::new(&holdco).arg("gen").arg(&folder).args([
            "--facts",
            "10000000",
            "--units",
            "5000",
            "--changes",
            "200",
        ]))?;
    }
    let dropped = without_intercompany(&folder)?;
    if dropped > 0 {
        println!(
            "  left out {dropped} intercompany fact rows (DuckDB's query has no eliminations)"
        );
    }
    if !db.exists() {
        let (took, _) = timed(
            Command::new(&holdco)
                .arg("--db")
                .arg(&db)
                .arg("import")
                .arg(&folder),
        )?;
        println!(
            "  imported into {} in {:.1} s",
            db.display(),
            took.as_secs_f64()
        );
    }
    // The model and every fact, from the store, for the lineage tables handed to DuckDB.
    let store = SqliteStore::open(&db)?;
    let model = store
        .load_without_facts()?
        .context("the store holds no model")?;
    let engine = Engine::new(&model).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (table, facts) = store
        .fact_table(&engine, None)?
        .context("the store's facts do not make a table")?;
    drop(store);
    let calendar = model.group.calendar();
    let metrics: Vec<_> = model
        .metrics
        .iter()
        .filter(|m| matches!(m.aggregation, Aggregation::Flow | Aggregation::Stock))
        .map(|m| m.id.clone())
        .collect();
    let months = table.periods.clone();
    let query = FastQuery {
        metrics: metrics.clone(),
        periods: months.clone(),
        view: View::Restated,
        structure: None,
        node: None,
        depth: 1,
        basis: Basis::Reported,
    };
    let plan = FastPlan::prepare(&engine, &table, &query).map_err(|e| anyhow::anyhow!("{e}"))?;
    let answer = plan.run();
    let question = Question {
        model: &model,
        engine: &engine,
        query: query.clone(),
        lines: answer.lines.clone(),
    };
    let duck_file = dir.join("p10.duckdb");
    if !duck_file.exists() {
        let tables = dir.join("duckdb-tables");
        std::fs::create_dir_all(&tables)?;
        write_duckdb_tables(&tables, &engine, &table, &query, &answer.lines)?;
        timed(
            Command::new("python3")
                .arg("bench/duckdb_p10.py")
                .arg("build")
                .arg(&tables)
                .arg(&duck_file),
        )
        .context("python3 bench/duckdb_p10.py build (pip install duckdb)")?;
        std::fs::remove_dir_all(&tables)?;
    }
    drop(plan);
    drop(table);
    let periods = format!(
        "{}..{}",
        months[0].label(calendar),
        months[months.len() - 1].label(calendar)
    );
    println!(
        "P10: {facts} facts, {} additive metrics, {} months ({periods}), restated at depth 1 ({} lines); {rounds} rounds, A B A B",
        metrics.len(),
        months.len(),
        answer.lines.len()
    );
    let metric_index = |id: &holdco_core::MetricId| {
        model
            .metrics
            .iter()
            .position(|m| &m.id == id)
            .expect("a metric of the model")
    };
    let cases: Vec<(&str, String, String)> = vec![
        (
            "one metric (revenue)",
            "revenue".to_string(),
            metric_index(&holdco_core::MetricId::parse("revenue").map_err(anyhow::Error::msg)?)
                .to_string(),
        ),
        (
            "three metrics",
            metrics[..3]
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join(","),
            metrics[..3]
                .iter()
                .map(|m| metric_index(m).to_string())
                .collect::<Vec<_>>()
                .join(","),
        ),
        (
            "every metric (the P1 question)",
            "all".to_string(),
            "all".to_string(),
        ),
    ];
    let result = dir.join("duckdb-result.csv");
    for (label, ours, theirs) in &cases {
        let (mut mine, mut duck_query, mut duck_script, mut duck_process, mut loads) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut checked = 0;
        for round in 0..rounds {
            loads.push(load_average());
            let (took, csv) = timed(Command::new(&holdco).arg("--db").arg(&db).args([
                "rollup",
                ours,
                "--view",
                "restated",
                "--depth",
                "1",
                "--periods",
                &periods,
                "--csv",
            ]))?;
            mine.push(ms(took));
            let (took, out) = timed(
                Command::new("python3")
                    .arg("bench/duckdb_p10.py")
                    .arg("query")
                    .arg(&duck_file)
                    .arg(theirs)
                    .arg(&result)
                    .arg(threads.to_string()),
            )?;
            duck_process.push(ms(took));
            let report: serde_json::Value = serde_json::from_slice(out.trim_ascii_end())?;
            duck_query.push(report["seconds"].as_f64().unwrap_or(f64::NAN) * 1e3);
            duck_script.push(report["script_seconds"].as_f64().unwrap_or(f64::NAN) * 1e3);
            if round == 0 {
                checked = question.check(&result, &holdco_cells(&csv)?)?;
            }
        }
        let (h, dq, ds, dp) = (
            median(mine.clone()),
            median(duck_query),
            median(duck_script),
            median(duck_process),
        );
        println!("  {label}: {checked} node cells agree with DuckDB");
        println!(
            "    holdco fresh process (open, read, roll up, print CSV): median {h:.0} ms  (rounds: {})",
            mine.iter().map(|t| format!("{t:.0}")).collect::<Vec<_>>().join(" ")
        );
        println!(
            "    DuckDB fresh process: connect + query + fetch {dq:.0} ms; with import duckdb {ds:.0} ms; whole python3 process {dp:.0} ms"
        );
        println!(
            "    DuckDB / holdco: {:.2}x (connect + query), {:.2}x (whole process); load average {}",
            dq / h,
            dp / h,
            loads.join(" ")
        );
    }
    println!(
        "  peak RSS of the bench process: {:.0} MB",
        crate::peak_rss_mb()
    );
    if structure {
        structure_at(&holdco, dir, rounds)?;
    }
    Ok(())
}

/// `holdco structure --at DATE` from a fresh process on a store of 100k units and 1M changes.
fn structure_at(holdco: &Path, dir: &Path, rounds: usize) -> Result<()> {
    let folder = dir.join("p2");
    let db = dir.join("p2.db");
    if !folder.join("group.toml").exists() {
        println!("  generating {} (100k units, 1M changes)", folder.display());
        timed(Command::new(holdco).arg("gen").arg(&folder).args([
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
    if !db.exists() {
        let (took, _) = timed(
            Command::new(holdco)
                .arg("--db")
                .arg(&db)
                .arg("import")
                .arg(&folder),
        )?;
        println!("  imported the P2 store in {:.1} s", took.as_secs_f64());
    }
    let model = SqliteStore::open(&db)?
        .load_without_facts()?
        .context("no model in the P2 store")?;
    let dates: Vec<_> = model.timeline.iter().map(|c| c.date).collect();
    let date = dates[dates.len() / 2];
    let units = model.timeline.len();
    drop(model);
    let (mut times, mut loads) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        loads.push(load_average());
        let (took, out) = timed(Command::new(holdco).arg("--db").arg(&db).args([
            "structure",
            "--at",
            &date.to_string(),
        ]))?;
        if out.is_empty() {
            bail!("structure printed nothing");
        }
        times.push(ms(took));
    }
    println!(
        "  structure --at {date} ({units} changes): median {:.0} ms (target < 500 ms); rounds {}; load average {}",
        median(times.clone()),
        times.iter().map(|t| format!("{t:.0}")).collect::<Vec<_>>().join(" "),
        loads.join(" ")
    );
    Ok(())
}
