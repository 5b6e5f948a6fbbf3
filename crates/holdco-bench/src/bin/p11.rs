//! P11: `holdco serve` under load. A load generator on loopback (64 concurrent clients on
//! tokio + reqwest, each sending its next request as soon as the previous one answered)
//! against the server started as a user starts it (`holdco serve --db DB`), for a fixed
//! time, mixing three questions: a restated roll-up at depth 1 over 12 periods, the
//! structure on a random date, and the explanation of a random cell of that roll-up.
//! Reported: requests per second, p50 and p99 per endpoint, errors, and the server's RSS
//! sampled every half second. Then the same roll-up asked one at a time through the API
//! (A) and from a fresh `holdco rollup --json` process (B), interleaved A B A B, medians
//! and their ratio.
//!
//! With `--revise-every S` the model is revised while the load runs: every S seconds one
//! figure of the folder is changed and `holdco import` run, and the server (polling the
//! store every second) swaps the new model in — the stand-in for a change set applied every
//! 5 s until change sets exist. With `--changeset-every S` the revision goes through the
//! server's change-set routes instead, as a team would: an analyst token proposes a change
//! set revising one figure, submits it, an approver approves and applies it (four eyes);
//! the apply swaps the new model in at once. Reported: how many were applied and how long
//! each propose → apply took.
//!
//! Usage (release `holdco` first: `cargo build --release -p holdco-cli`):
//! `cargo run --release -p holdco-bench --bin p11 -- [--example | --facts N] [--seconds S]
//!  [--clients C] [--revise-every S | --changeset-every S] [--dir DIR] [--holdco PATH]`

#[path = "../common.rs"]
mod common;
use anyhow::{bail, Context, Result};
use common::load_average;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Options {
    example: bool,
    facts: usize,
    units: usize,
    seconds: u64,
    clients: usize,
    revise_every: Option<u64>,
    changeset_every: Option<u64>,
    dir: Option<PathBuf>,
    holdco: PathBuf,
    rounds: usize,
}

fn options() -> Result<Options> {
    let mut options = Options {
        example: false,
        facts: 1_000_000,
        units: 500,
        seconds: 20,
        clients: 64,
        revise_every: None,
        changeset_every: None,
        dir: None,
        holdco: PathBuf::from("target/release/holdco"),
        rounds: 5,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--example" => options.example = true,
            "--facts" => options.facts = value()?.parse().context("--facts")?,
            "--units" => options.units = value()?.parse().context("--units")?,
            "--seconds" => options.seconds = value()?.parse().context("--seconds")?,
            "--clients" => options.clients = value()?.parse::<usize>().context("--clients")?.max(1),
            "--revise-every" => options.revise_every = Some(value()?.parse().context("--revise-every")?),
            "--changeset-every" => options.changeset_every = Some(value()?.parse().context("--changeset-every")?),
            "--dir" => options.dir = Some(PathBuf::from(value()?)),
            "--holdco" => options.holdco = PathBuf::from(value()?),
            "--rounds" => options.rounds = value()?.parse::<usize>().context("--rounds")?.max(1),
            other => bail!(
                "unknown option {other} (--example, --facts N, --units N, --seconds S, --clients C, --revise-every S, --changeset-every S, --dir DIR, --holdco PATH, --rounds R)"
            ),
        }
    }
    Ok(options)
}

/// Resident memory of a process, in MB.
fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn run(holdco: &Path, db: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new(holdco)
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("HOLDCO_DB")
        .output()
        .with_context(|| format!("running holdco {}", args.join(" ")))?;
    if !output.status.success() {
        bail!(
            "holdco {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// The server process, stopped at the end.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A small deterministic generator (the load's choices need not be random, only varied).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// What the load asks about: the roll-up question, its cells, and the dates to ask for.
struct Questions {
    rollup: String,
    cells: Vec<(String, String)>,
    metric: String,
    view_args: String,
    first_day: chrono::NaiveDate,
    last_day: chrono::NaiveDate,
}

const ENDPOINTS: [&str; 3] = ["rollup", "structure", "explain"];

fn main() -> Result<()> {
    let options = options()?;
    if !options.holdco.exists() {
        bail!(
            "{} is missing: build it with `cargo build --release -p holdco-cli`",
            options.holdco.display()
        );
    }
    let holdco = options.holdco.canonicalize()?;
    let work = options.dir.clone().unwrap_or_else(|| {
        PathBuf::from(if options.example {
            "target/bench-p11-example".to_string()
        } else {
            format!("target/bench-p11-{}-{}", options.facts, options.units)
        })
    });
    std::fs::create_dir_all(&work)?;
    let folder = if options.example {
        let copy = work.join("model");
        if !copy.exists() {
            copy_dir(Path::new("examples/alibaba"), &copy)?;
        }
        copy
    } else {
        let folder = work.join("model");
        if !folder.join("group.toml").exists() {
            let _ = std::fs::remove_dir_all(&folder);
            run(
                &holdco,
                Path::new(":memory:"),
                &[
                    "gen",
                    folder.to_str().unwrap(),
                    "--facts",
                    &options.facts.to_string(),
                    "--units",
                    &options.units.to_string(),
                ],
            )?;
        }
        folder
    };
    let db = work.join("holdco.db");
    if !db.exists() {
        run(&holdco, &db, &["import", folder.to_str().unwrap()])?;
    }
    let token_name = format!("p11-{}", std::process::id());
    let token = run(
        &holdco,
        &db,
        &["token", "create", "--name", &token_name, "--role", "viewer"],
    )?
    .trim()
    .to_string();

    let mut child = Command::new(&holdco)
        .arg("--db")
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0", "--poll", "1"])
        .env_remove("HOLDCO_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting holdco serve")?;
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let started = Instant::now();
    let pid = child.id();
    let server = Serving(child);
    let line = lines.next().context("no line from holdco serve")??;
    let address = line
        .rsplit("http://")
        .next()
        .map(str::trim)
        .context("no address")?
        .to_string();
    let reloads = Arc::new(Mutex::new(Vec::<String>::new()));
    {
        let reloads = reloads.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                reloads.lock().unwrap().push(line);
            }
        });
    }
    let base = format!("http://{address}");
    println!(
        "P11 on {} ({}), server up in {:.2} s, RSS {:.0} MB; load average {}",
        if options.example {
            "the example".to_string()
        } else {
            format!("a generated model of {} facts", options.facts)
        },
        db.display(),
        started.elapsed().as_secs_f64(),
        rss_mb(pid).unwrap_or(0.0),
        load_average()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.clients)
        .build()?;
    let questions = runtime.block_on(discover(&client, &base, &token, options.example))?;
    println!("roll-up asked: {}", questions.rollup);

    // The load.
    let stop = Arc::new(AtomicBool::new(false));
    let rss = Arc::new(Mutex::new(Vec::<f64>::new()));
    let sampler = {
        let (stop, rss) = (stop.clone(), rss.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(mb) = rss_mb(pid) {
                    rss.lock().unwrap().push(mb);
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    };
    let reviser = options.revise_every.map(|every| {
        let (stop, holdco, db, folder) = (stop.clone(), holdco.clone(), db.clone(), folder.clone());
        std::thread::spawn(move || -> Result<usize> {
            let mut count = 0;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(every));
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                revise_one_figure(&folder, count)?;
                run(&holdco, &db, &["import", folder.to_str().unwrap()])?;
                count += 1;
            }
            Ok(count)
        })
    });
    let applier = match options.changeset_every {
        None => None,
        Some(every) => {
            let pid = std::process::id();
            let analyst = run(
                &holdco,
                &db,
                &[
                    "token",
                    "create",
                    "--name",
                    &format!("p11-analyst-{pid}"),
                    "--role",
                    "analyst",
                ],
            )?
            .trim()
            .to_string();
            let approver = run(
                &holdco,
                &db,
                &[
                    "token",
                    "create",
                    "--name",
                    &format!("p11-approver-{pid}"),
                    "--role",
                    "approver",
                ],
            )?
            .trim()
            .to_string();
            let (stop, folder, base) = (stop.clone(), folder.clone(), base.clone());
            Some(std::thread::spawn(
                move || -> Result<Vec<(Duration, [Duration; 4])>> {
                    let client = blocking_free::Client::new();
                    let mut took = Vec::new();
                    let mut round = 0;
                    // One change set every `every` seconds on a fixed clock: the next starts
                    // on its tick, or at once when the previous one took longer (waiting
                    // `every` after each finished capped a 60 s run at 11).
                    let ticks = Instant::now();
                    while !stop.load(Ordering::Relaxed) {
                        let tick = ticks + Duration::from_secs(every) * (round as u32 + 1);
                        if let Some(wait) = tick.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let facts = revised_figure(&folder, round)?;
                        round += 1;
                        let started = Instant::now();
                        let steps =
                            client.apply_changeset(&base, &analyst, &approver, &facts, round)?;
                        took.push((started.elapsed(), steps));
                    }
                    Ok(took)
                },
            ))
        }
    };
    let load_started = Instant::now();
    let deadline = load_started + Duration::from_secs(options.seconds);
    let questions = Arc::new(questions);
    let results = runtime.block_on(async {
        let mut tasks = Vec::new();
        for c in 0..options.clients {
            let (client, base, token, questions) = (
                client.clone(),
                base.clone(),
                token.clone(),
                questions.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut rng = SplitMix(c as u64 * 7919 + 1);
                let mut times: [Vec<Duration>; 3] = Default::default();
                let mut errors = [0usize; 3];
                let mut n = c;
                while Instant::now() < deadline {
                    let kind = n % 3;
                    n += 1;
                    let path = match kind {
                        0 => questions.rollup.clone(),
                        1 => {
                            let span = (questions.last_day - questions.first_day).num_days().max(1);
                            let day = questions.first_day
                                + chrono::Duration::days(rng.below(span as usize + 1) as i64);
                            format!("/api/v1/structure?at={day}&depth=2")
                        }
                        _ => {
                            let (node, period) = &questions.cells[rng.below(questions.cells.len())];
                            format!(
                                "/api/v1/explain?metric={}&node={node}&period={period}{}",
                                questions.metric, questions.view_args
                            )
                        }
                    };
                    let sent = Instant::now();
                    let ok = match client
                        .get(format!("{base}{path}"))
                        .bearer_auth(&token)
                        .send()
                        .await
                    {
                        Ok(response) => {
                            let status = response.status();
                            response.bytes().await.is_ok() && status.is_success()
                        }
                        Err(_) => false,
                    };
                    times[kind].push(sent.elapsed());
                    if !ok {
                        errors[kind] += 1;
                    }
                }
                (times, errors)
            }));
        }
        let mut all: [Vec<Duration>; 3] = Default::default();
        let mut errors = [0usize; 3];
        for task in tasks {
            let (times, e) = task.await.expect("client task");
            for k in 0..3 {
                all[k].extend(&times[k]);
                errors[k] += e[k];
            }
        }
        (all, errors)
    });
    let elapsed = load_started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let revisions = match reviser {
        Some(handle) => Some(handle.join().expect("reviser thread")?),
        None => None,
    };
    let applied = match applier {
        Some(handle) => Some(handle.join().expect("change-set thread")?),
        None => None,
    };
    let (mut all, errors) = results;
    let total: usize = all.iter().map(Vec::len).sum();
    println!(
        "\n{} clients for {:.1} s: {} requests, {:.0} requests/s, {} errors; load average {}",
        options.clients,
        elapsed,
        total,
        total as f64 / elapsed,
        errors.iter().sum::<usize>(),
        load_average()
    );
    println!(
        "{:<10} {:>9} {:>8} {:>9} {:>9} {:>9} {:>7}",
        "endpoint", "requests", "per s", "p50 ms", "p99 ms", "max ms", "errors"
    );
    for k in 0..3 {
        all[k].sort();
        println!(
            "{:<10} {:>9} {:>8.0} {:>9.2} {:>9.2} {:>9.2} {:>7}",
            ENDPOINTS[k],
            all[k].len(),
            all[k].len() as f64 / elapsed,
            ms(percentile(&all[k], 0.5)),
            ms(percentile(&all[k], 0.99)),
            ms(all[k].last().copied().unwrap_or_default()),
            errors[k]
        );
    }
    let rss = rss.lock().unwrap().clone();
    if !rss.is_empty() {
        let third = (rss.len() / 3).max(1);
        let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len().max(1) as f64;
        println!(
            "server RSS over the run: first {:.0} MB, min {:.0}, max {:.0}, last {:.0}; mean of the first third {:.0}, of the last third {:.0} ({} samples)",
            rss[0],
            rss.iter().cloned().fold(f64::MAX, f64::min),
            rss.iter().cloned().fold(0.0, f64::max),
            rss[rss.len() - 1],
            mean(&rss[..third]),
            mean(&rss[rss.len() - third..]),
            rss.len()
        );
    }
    if let Some(count) = revisions {
        let swaps = reloads
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("now serving"))
            .count();
        println!(
            "revisions imported during the run: {count}; models swapped in by the server: {swaps}"
        );
    }

    if let Some(applied) = applied {
        let swaps = reloads
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("now serving"))
            .count();
        let mut took: Vec<Duration> = applied.iter().map(|(total, _)| *total).collect();
        took.sort();
        println!(
            "change sets applied through the API during the run: {}; propose → submit → approve → apply p50 {:.0} ms, max {:.0} ms; models swapped in by the poller besides: {swaps}",
            took.len(),
            ms(percentile(&took, 0.5)),
            ms(took.last().copied().unwrap_or_default())
        );
        if !applied.is_empty() {
            let step = |k: usize| {
                let mut times: Vec<Duration> = applied.iter().map(|(_, steps)| steps[k]).collect();
                times.sort();
                (
                    ms(percentile(&times, 0.5)),
                    ms(times.last().copied().unwrap_or_default()),
                )
            };
            let steps: Vec<String> = ["propose", "submit", "approve", "apply"]
                .iter()
                .enumerate()
                .map(|(k, name)| {
                    let (p50, max) = step(k);
                    format!("{name} {p50:.0} (max {max:.0})")
                })
                .collect();
            println!("  by step, p50 ms: {}", steps.join(", "));
        }
    }

    // The same question, one at a time: API (A) against a fresh process (B), interleaved.
    let cli_args = questions.cli_args();
    let cli_refs: Vec<&str> = cli_args.iter().map(String::as_str).collect();
    let (mut api, mut fresh) = (Vec::new(), Vec::new());
    for _ in 0..options.rounds {
        let url = format!("{base}{}", questions.rollup);
        let sent = Instant::now();
        let body = runtime.block_on(async {
            client
                .get(&url)
                .bearer_auth(&token)
                .send()
                .await?
                .bytes()
                .await
        })?;
        api.push(sent.elapsed());
        let sent = Instant::now();
        let out = run(&holdco, &db, &cli_refs)?;
        fresh.push(sent.elapsed());
        let (a, b): (serde_json::Value, serde_json::Value) =
            (serde_json::from_slice(&body)?, serde_json::from_str(&out)?);
        if a != b {
            bail!(
                "the API and `holdco {}` answered differently",
                cli_args.join(" ")
            );
        }
    }
    api.sort();
    fresh.sort();
    let (a, b) = (api[api.len() / 2], fresh[fresh.len() / 2]);
    println!(
        "\nthe roll-up one at a time ({} rounds, A B A B, same JSON): API median {:.2} ms, fresh `holdco {}` median {:.1} ms: {:.0}x; load average {}",
        options.rounds,
        ms(a),
        cli_args.join(" "),
        ms(b),
        b.as_secs_f64() / a.as_secs_f64(),
        load_average()
    );
    run(&holdco, &db, &["token", "revoke", &token_name])?;
    drop(server);
    Ok(())
}

impl Questions {
    /// The CLI arguments of the roll-up question.
    fn cli_args(&self) -> Vec<String> {
        let query = self.rollup.split_once('?').map_or("", |(_, q)| q);
        let mut args = vec!["rollup".to_string()];
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if name == "metric" {
                args.insert(1, value.to_string());
            } else {
                args.push(format!("--{name}"));
                args.push(value.to_string());
            }
        }
        args.push("--json".into());
        args
    }
}

/// The roll-up to ask (12 periods, restated, depth 1), its cells, and the span of dates.
async fn discover(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    example: bool,
) -> Result<Questions> {
    let get = |path: String| async move {
        let response = client
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .send()
            .await?;
        let status = response.status();
        let body: serde_json::Value = response.json().await?;
        if !status.is_success() {
            bail!("{path}: {status} {body}");
        }
        Ok::<_, anyhow::Error>(body)
    };
    let metric = "revenue".to_string();
    let periods = if example {
        "FY2023Q1..FY2025Q4".to_string()
    } else {
        // The last twelve months recorded: the default roll-up names the last fiscal years.
        let years = get(format!("/api/v1/rollup?metric={metric}&depth=0")).await?;
        let last = years["periods"]
            .as_array()
            .and_then(|p| p.last())
            .and_then(|p| p.as_str())
            .context("no periods")?
            .to_string();
        let year: i32 = last
            .trim_start_matches("FY")
            .parse()
            .context("a fiscal year label")?;
        // Fiscal years end in March in generated models: FY2025 is 2024-04..2025-03.
        format!("{}-04..{}-03", year - 1, year)
    };
    let view_args = "&view=restated".to_string();
    let rollup = format!("/api/v1/rollup?metric={metric}&periods={periods}&depth=1{view_args}");
    let answer = get(rollup.clone()).await?;
    let cells: Vec<(String, String)> = answer["rows"]
        .as_array()
        .context("rows")?
        .iter()
        .filter(|r| r["kind"] == "node" && !r["value"].is_null())
        .map(|r| {
            (
                r["node"].as_str().unwrap_or("").to_string(),
                r["period"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    if cells.is_empty() {
        bail!("the roll-up has no cell to explain");
    }
    let last_day: chrono::NaiveDate = answer["structure"].as_str().context("structure")?.parse()?;
    // Structure dates from the group's creation (or ten years back) to the latest change.
    let structure = get("/api/v1/structure?depth=0".to_string()).await?;
    let root = structure["units"][0]["unit"]
        .as_str()
        .context("the group")?
        .to_string();
    let history = get(format!("/api/v1/history?unit={root}")).await?;
    let created: chrono::NaiveDate = history["created"].as_str().context("created")?.parse()?;
    let first_day = created.max(last_day - chrono::Duration::days(3650));
    Ok(Questions {
        rollup,
        cells,
        metric,
        view_args,
        first_day,
        last_day,
    })
}

/// Changes the value of the first fact of the folder's first fact file (a different value
/// each time), as a revision would.
fn revise_one_figure(folder: &Path, round: usize) -> Result<()> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder.join("facts"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    let file = files.first().context("no fact file")?;
    let text = std::fs::read_to_string(file)?;
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let column = header
        .iter()
        .position(|h| *h == "value")
        .context("no value column")?;
    let mut cells: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    let value: f64 = cells[column].parse().context("a value")?;
    cells[column] = format!(
        "{}",
        value + if round.is_multiple_of(2) { 1.0 } else { -1.0 }
    );
    lines[1] = cells.join(",");
    std::fs::write(file, lines.join("\n") + "\n")?;
    Ok(())
}

/// The first fact of the folder's first fact file with its value changed (a different value
/// each round), as the text of a fact file: what a change set revising it carries.
fn revised_figure(folder: &Path, round: usize) -> Result<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder.join("facts"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    let file = files.first().context("no fact file")?;
    let text = std::fs::read_to_string(file)?;
    let mut lines = text.lines();
    let header = lines.next().context("an empty fact file")?;
    let first = lines.next().context("a fact file without facts")?;
    let column = header
        .split(',')
        .position(|h| h == "value")
        .context("no value column")?;
    let mut cells: Vec<String> = first.split(',').map(str::to_string).collect();
    let value: f64 = cells[column].parse().context("a value")?;
    cells[column] = format!("{}", value + (round % 7 + 1) as f64);
    Ok(format!("{header}\n{}\n", cells.join(",")))
}

/// The change-set routes through a small blocking client of its own (a runtime per thread).
mod blocking_free {
    pub struct Client {
        runtime: tokio::runtime::Runtime,
        http: reqwest::Client,
    }

    impl Client {
        pub fn new() -> Client {
            Client {
                runtime: tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime"),
                http: reqwest::Client::new(),
            }
        }

        async fn post(
            &self,
            url: String,
            token: &str,
            body: serde_json::Value,
        ) -> anyhow::Result<serde_json::Value> {
            let response = self
                .http
                .post(&url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await?;
            let status = response.status();
            let value: serde_json::Value = response.json().await?;
            anyhow::ensure!(status.is_success(), "{url}: {status} {value}");
            Ok(value)
        }

        /// Proposes (analyst), submits, approves and applies (approver) a change set of
        /// `facts`; the time of each of the four steps.
        pub fn apply_changeset(
            &self,
            base: &str,
            analyst: &str,
            approver: &str,
            facts: &str,
            round: usize,
        ) -> anyhow::Result<[std::time::Duration; 4]> {
            self.runtime.block_on(async {
                let mut steps = [std::time::Duration::ZERO; 4];
                let clock = std::time::Instant::now();
                let created = self
                    .post(
                        format!("{base}/api/v1/changesets"),
                        analyst,
                        serde_json::json!({"message": format!("P11 revision {round}"), "patch": {"facts": facts}}),
                    )
                    .await?;
                let id = created["id"].as_i64().unwrap_or_default();
                steps[0] = clock.elapsed();
                let step = |action: &str| format!("{base}/api/v1/changesets/{id}/{action}");
                for (k, (action, token)) in [("submit", analyst), ("approve", approver), ("apply", approver)]
                    .into_iter()
                    .enumerate()
                {
                    let clock = std::time::Instant::now();
                    self.post(step(action), token, serde_json::json!({})).await?;
                    steps[k + 1] = clock.elapsed();
                }
                Ok(steps)
            })
        }
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
