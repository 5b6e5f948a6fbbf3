//! The dashboard in a real browser: `holdco serve` on a random port with the example
//! imported, driven by headless Chromium (Debian's `/usr/bin/chromium`, through
//! playwright-core from npm) running `crates/holdco-dashboard/browser/dashboard.test.mjs`.
//!
//! Also serves a generated 100,000-unit model to time the first paint and the slider there.
//! The screenshots go to `target/tmp/dashboard-screenshots/`; the main page's becomes the
//! README's `docs/images/dashboard.png`.
//!
//! Needs node, npm and chromium (`.ci/run` installs them). Without them the test says so and
//! passes, except with CI=true, where it fails.

mod common;

use common::{example, holdco};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// A server process, stopped when the test ends (pass or fail).
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `holdco serve --listen 127.0.0.1:0` and reads the address it prints.
fn serve(db: &Path) -> (Serving, SocketAddr) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("holdco"))
        .arg("--db")
        .arg(db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("HOLDCO_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let serving = Serving(child);
    let line = lines.next().expect("a line from serve").unwrap();
    let address = line
        .rsplit("http://")
        .next()
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or_else(|| panic!("no address in `{line}`"));
    // The rest of standard error is drained, so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (serving, address)
}

fn token(db: &Path, name: &str, role: &str) -> String {
    scoped_token(db, name, role, &[])
}

fn scoped_token(db: &Path, name: &str, role: &str, scopes: &[&str]) -> String {
    let mut command = holdco(db);
    command.args(["token", "create", "--name", name, "--role", role]);
    for scope in scopes {
        command.args(["--scope", scope]);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// The figure the CLI prints for a unit in its table (e.g. `487,771`).
fn cli_figure(db: &Path, args: &[&str], row_name: &str) -> String {
    let output = holdco(db).args(args).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let table = String::from_utf8(output.stdout).unwrap();
    let line = table
        .lines()
        .find(|l| l.contains(row_name))
        .unwrap_or_else(|| panic!("no row {row_name} in\n{table}"));
    let rest = &line[line.find(row_name).unwrap() + row_name.len()..];
    rest.split_whitespace()
        .find(|t| {
            t.chars()
                .all(|c| c.is_ascii_digit() || c == ',' || c == '-')
        })
        .unwrap_or_else(|| panic!("no figure in `{line}`"))
        .to_string()
}

/// Copies a model folder (files and subfolders).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../holdco-dashboard/browser")
}

fn found(command: &str) -> bool {
    Command::new(command)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// None when the browser test can run; otherwise why not.
fn missing() -> Option<String> {
    let chromium =
        std::env::var("HOLDCO_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string());
    if !Path::new(&chromium).exists() {
        return Some(format!(
            "no Chromium at {chromium} (apt-get install chromium)"
        ));
    }
    if !found("node") || !found("npm") {
        return Some("node and npm are needed (apt-get install nodejs npm)".into());
    }
    let modules = browser_dir().join("node_modules/playwright-core");
    if !modules.exists() {
        // The lock file pins the versions; this is what .ci/run does too.
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(browser_dir())
            .status();
        if !status.is_ok_and(|s| s.success()) || !modules.exists() {
            return Some(format!(
                "cannot install playwright-core and axe-core (cd {} && npm ci)",
                browser_dir().display()
            ));
        }
    }
    None
}

#[test]
fn the_dashboard_works_in_a_real_browser() {
    if let Some(why) = missing() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("the browser test cannot run: {why}");
        }
        eprintln!("skipped: the browser test cannot run: {why}");
        return;
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("holdco.db");
    holdco(&db).arg("import").arg(example()).assert().success();
    let tokens = serde_json::json!({
        "admin": token(&db, "admin", "admin"),
        "viewer": token(&db, "viewer", "viewer"),
        "analyst": token(&db, "analyst", "analyst"),
        "approver": token(&db, "approver", "approver"),
        "team": scoped_token(&db, "china-team", "viewer", &["china_commerce"]),
    });
    let china_fy2024 = cli_figure(
        &db,
        &[
            "rollup",
            "revenue",
            "--view",
            "restated",
            "--structure",
            "2025-04-01",
            "--periods",
            "FY2024",
        ],
        "Alibaba China E-commerce Group",
    );
    // The CLI's P(A > B) for the comparison the test runs in the browser (same paths, seed).
    let compare = holdco(&db)
        .args(["scenario", "compare", "keep-cloud", "spin-off-cloud"])
        .args(["--paths", "2000", "--seed", "2023", "--json"])
        .output()
        .unwrap();
    assert!(compare.status.success(), "{compare:?}");
    let compare: serde_json::Value = serde_json::from_slice(&compare.stdout).unwrap();
    let p_a_greater = format!("{:.1}%", compare["p_a_greater"].as_f64().unwrap() * 100.0);
    let json = |args: &[&str]| -> serde_json::Value {
        let output = holdco(&db).args(args).output().unwrap();
        assert!(output.status.success(), "{args:?}: {output:?}");
        serde_json::from_slice(&output.stdout).unwrap()
    };
    // Governance on 2023-09-11 as the CLI prints it: roles held, the group board's
    // directors, the pipeline's cohort share.
    let people = json(&["people", "--at", "2023-09-11", "--json"]);
    let board = json(&["board", "alibaba", "--at", "2023-09-11", "--json"]);
    let pipeline = json(&["pipeline", "--at", "2023-09-11", "--json"]);
    // The review of Xianyu's strategic-innovation cycle: its classify decision as the CLI
    // records it, plus the shortest cycle of the class (3 years in strategy.toml).
    let classified = json(&["classify", "--at", "2025-04-01", "--json"]);
    let decided = classified["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"] == "xianyu")
        .map(|u| u["recorded"]["date"].as_str().unwrap().to_string())
        .unwrap();
    let review = chrono::NaiveDate::parse_from_str(&decided, "%Y-%m-%d")
        .unwrap()
        .checked_add_months(chrono::Months::new(36))
        .unwrap()
        .to_string();
    // The capital plan re-solved with a total of 300,000 and 2026's budget at 100,000 (the
    // total alone is infeasible: core's 80% of each year's money would exceed it): the CLI
    // on the example's folder with those values in capital.toml.
    let draft_dir = dir.path().join("draft-model");
    copy_dir(&example(), &draft_dir);
    let capital = draft_dir.join("capital.toml");
    let text = std::fs::read_to_string(&capital).unwrap();
    assert!(text.contains("total = 380000"));
    let budget_2026 = "year = 2026\namount = 135000";
    assert!(text.contains(budget_2026));
    std::fs::write(
        &capital,
        text.replace("total = 380000", "total = 300000")
            .replace(budget_2026, "year = 2026\namount = 100000"),
    )
    .unwrap();
    let draft = holdco(&db)
        .arg("--model")
        .arg(&draft_dir)
        .args(["plan", "--json"])
        .output()
        .unwrap();
    assert!(draft.status.success(), "{draft:?}");
    let draft: serde_json::Value = serde_json::from_slice(&draft.stdout).unwrap();
    let (_server, address) = serve(&db);

    // A 100,000-unit model for the timings (one month of facts keeps the import short).
    let big_dir = dir.path().join("big");
    let big_db = dir.path().join("big.db");
    let gen = holdco(&big_db)
        .arg("gen")
        .arg(&big_dir)
        .args(["--units", "100000", "--changes", "200", "--months", "1"])
        .args(["--facts", "1000"])
        .output()
        .unwrap();
    assert!(gen.status.success(), "{gen:?}");
    holdco(&big_db)
        .arg("import")
        .arg(&big_dir)
        .assert()
        .success();
    let big_token = token(&big_db, "timer", "viewer");
    let (_big_server, big_address) = serve(&big_db);
    eprintln!("servers ready after {:.1?}", started.elapsed());

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    let output = Command::new("node")
        .arg("dashboard.test.mjs")
        .current_dir(browser_dir())
        .env("HOLDCO_URL", format!("http://{address}"))
        .env("HOLDCO_TOKENS", tokens.to_string())
        .env(
            "HOLDCO_EXPECT",
            serde_json::json!({
                "china_fy2024": china_fy2024,
                "p_a_greater": p_a_greater,
                "roles_2023_09_11": people["roles"].as_array().unwrap().len(),
                "board_alibaba": board["bodies"][0],
                "pipeline_share": format!(
                    "{:.1}%",
                    pipeline["rows"][0]["cohort_share"].as_f64().unwrap() * 100.0
                ),
                "xianyu_review": review,
                "draft_total": 300000,
                "draft_budget_2026": 100000,
                "draft_objective": draft["objective"],
            })
            .to_string(),
        )
        .env("HOLDCO_SCREENSHOTS", &shots)
        .env("HOLDCO_BIG_URL", format!("http://{big_address}"))
        .env("HOLDCO_BIG_TOKEN", big_token)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "the browser test failed (screenshots in {})",
        shots.display()
    );
    assert!(stdout.contains("RESULT "), "no timings printed");
    // The README shows the main page as the test saw it.
    let readme_image =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/images/dashboard.png");
    let shot = std::fs::read(shots.join("structure.png")).unwrap();
    if std::fs::read(&readme_image).ok().as_deref() != Some(shot.as_slice()) {
        std::fs::create_dir_all(readme_image.parent().unwrap()).unwrap();
        std::fs::write(&readme_image, shot).unwrap();
    }
    eprintln!("browser test done in {:.1?}", started.elapsed());
}
