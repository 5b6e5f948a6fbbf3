//! P7: the model as a workbook at a million facts. holdco writes a generated model of
//! 1,000,000 facts as a workbook (export) and reads it back into a validated model
//! (import: the workbook's cells into the folder reader's files, parsed and validated);
//! openpyxl (`bench/openpyxl_p7.py`, write-only and read-only modes, its fastest) writes the
//! same facts and reads the same workbook. Contenders interleaved (A B A B), medians, ratios;
//! each run is a child process, so its peak memory (VmHWM) is its own.
//!
//! Usage: cargo run --release -p holdco-bench --bin p7 -- [--facts N] [--rounds R]

use anyhow::{bail, Context, Result};
use holdco_core::synth::{Synth, SynthSpec};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn model(facts: usize) -> holdco_core::Model {
    // 2,000 units with about 1,690 leaves a month: 10 years of 3 metrics is 607,872 rows; more
    // rows add metrics (5 make 1,013,120), fewer shorten the years.
    let full = 607_872usize;
    let metrics = ((facts as f64 / (full as f64 / 3.0)).round() as usize).max(3);
    let months = if facts < full {
        (120 * facts / full).max(12)
    } else {
        120
    };
    let spec = SynthSpec {
        units: 2_000,
        facts,
        changes: 200,
        seed: 6,
        depth: 4,
        months: Some(months),
        metrics: Some(metrics),
        ..SynthSpec::default()
    };
    Synth::generate(&spec).into_model()
}

/// Peak resident memory of this process so far, in bytes.
fn peak_memory() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// One measured run in this process: prints `seconds peak_bytes facts`.
fn child(phase: &str, facts: usize, path: &Path) -> Result<()> {
    match phase {
        "write" => {
            let model = model(facts);
            let before = peak_memory();
            let started = Instant::now();
            holdco_excel::write_model_workbook(&model, path)?;
            println!(
                "{} {} {} {}",
                started.elapsed().as_secs_f64(),
                peak_memory(),
                model.facts.len(),
                before
            );
            std::mem::forget(model);
        }
        "read" => {
            // What `holdco import FILE.xlsx` does before the store: the workbook's cells into
            // the folder reader's files, then the columnar reader and its validation.
            let timing = std::env::var_os("HOLDCO_TIMING").is_some();
            let started = Instant::now();
            let (book, problems) =
                holdco_excel::read_model_workbook(path, holdco_excel::Limits::default())?;
            if !problems.is_empty() {
                bail!(
                    "{} problems reading the workbook: {}",
                    problems.len(),
                    problems[0]
                );
            }
            if timing {
                eprintln!("cells read in {:.2?}", started.elapsed());
            }
            let (model, mut columns) =
                holdco_core::format::fact_columns::read_model_columns(&book.files)
                    .context("the columnar reader declined the files")?;
            drop(book);
            if timing {
                eprintln!("parsed in {:.2?}", started.elapsed());
            }
            if !holdco_core::bulk_validate::columns_valid(&model, &mut columns) {
                bail!("the workbook's model is not valid");
            }
            println!(
                "{} {} {} 0",
                started.elapsed().as_secs_f64(),
                peak_memory(),
                columns.len()
            );
            std::mem::forget((model, columns));
        }
        "csv" => {
            // The facts as CSV for openpyxl to write (its input, not timed).
            let model = model(facts);
            let mut files = holdco_core::format::write_model(&model);
            let bytes = files.remove("facts.csv").context("facts.csv")?;
            std::fs::write(path, bytes)?;
            println!("0 0 {} 0", model.facts.len());
        }
        other => bail!("unknown phase {other}"),
    }
    Ok(())
}

struct Run {
    seconds: f64,
    peak: u64,
    facts: usize,
}

fn run(command: &mut Command) -> Result<Run> {
    let output = command.output()?;
    if !output.status.success() {
        bail!(
            "{:?} failed: {}",
            command,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let text = String::from_utf8(output.stdout)?;
    let fields: Vec<&str> = text.split_whitespace().collect();
    Ok(Run {
        seconds: fields[0].parse()?,
        peak: fields[1].parse()?,
        facts: fields[2].parse()?,
    })
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        return child(&args[2], args[3].parse()?, Path::new(&args[4]));
    }
    let mut facts = 1_000_000usize;
    let mut rounds = 3usize;
    let mut index = 1;
    while index < args.len() {
        match args[index].as_str() {
            "--facts" => facts = args[index + 1].parse()?,
            "--rounds" => rounds = args[index + 1].parse()?,
            other => bail!("unknown argument {other} (usage: p7 [--facts N] [--rounds R])"),
        }
        index += 2;
    }
    let me = std::env::current_exe()?;
    let dir = std::env::temp_dir().join(format!("holdco-p7-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let book = dir.join("holdco.xlsx");
    let csv = dir.join("facts.csv");
    let theirs = dir.join("openpyxl.xlsx");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/openpyxl_p7.py");
    run(Command::new(&me).args(["--child", "csv", &facts.to_string(), csv.to_str().unwrap()]))?;
    let (mut ours_write, mut ours_read, mut their_write, mut their_read) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut peak_write, mut peak_read, mut count) = (0u64, 0u64, 0usize);
    for round in 0..rounds {
        let write = run(Command::new(&me).args([
            "--child",
            "write",
            &facts.to_string(),
            book.to_str().unwrap(),
        ]))?;
        let openpyxl_write = run(Command::new("python3").arg(&script).args([
            "write",
            csv.to_str().unwrap(),
            theirs.to_str().unwrap(),
        ]))?;
        let read = run(Command::new(&me).args([
            "--child",
            "read",
            &facts.to_string(),
            book.to_str().unwrap(),
        ]))?;
        let openpyxl_read = run(Command::new("python3")
            .arg(&script)
            .args(["read", book.to_str().unwrap()]))?;
        eprintln!(
            "round {}: holdco write {:.2}s, openpyxl write {:.2}s, holdco read {:.2}s, openpyxl read {:.2}s",
            round + 1,
            write.seconds,
            openpyxl_write.seconds,
            read.seconds,
            openpyxl_read.seconds
        );
        if openpyxl_read.facts != read.facts {
            bail!(
                "openpyxl read {} fact rows, holdco {}",
                openpyxl_read.facts,
                read.facts
            );
        }
        ours_write.push(write.seconds);
        their_write.push(openpyxl_write.seconds);
        ours_read.push(read.seconds);
        their_read.push(openpyxl_read.seconds);
        peak_write = peak_write.max(write.peak);
        peak_read = peak_read.max(read.peak);
        count = write.facts;
    }
    let size = std::fs::metadata(&book)?.len();
    let uncompressed = holdco_excel::guard::uncompressed_size(&book)?;
    let (w, tw, r, tr) = (
        median(&mut ours_write),
        median(&mut their_write),
        median(&mut ours_read),
        median(&mut their_read),
    );
    let mb = |bytes: u64| bytes as f64 / 1e6;
    println!("P7: a model of {count} facts as a workbook ({:.0} MB on disk, {:.0} MB uncompressed), medians of {rounds} interleaved rounds", mb(size), mb(uncompressed));
    println!(
        "  export  holdco {w:.2}s ({:.0}k facts/s)   openpyxl {tw:.2}s   holdco is {:.1}x faster",
        count as f64 / w / 1e3,
        tw / w
    );
    println!(
        "  import  holdco {r:.2}s ({:.0}k facts/s)   openpyxl {tr:.2}s   holdco is {:.1}x faster",
        count as f64 / r / 1e3,
        tr / r
    );
    println!(
        "  peak memory: export {:.0} MB (model included), import {:.0} MB; limit 2 x uncompressed = {:.0} MB",
        mb(peak_write),
        mb(peak_read),
        mb(2 * uncompressed)
    );
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
