//! `holdco serve` as a user runs it: the binary serving the imported example on a free
//! port, answering with exactly the JSON the same binary prints with `--json`.

mod common;

use common::{example, holdco};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};

/// The server process, stopped when the test ends (pass or fail).
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `holdco serve --listen 127.0.0.1:0` and reads the address it prints; the rest of
/// its standard error is collected into the returned buffer.
fn serve(
    db: &Path,
) -> (
    Serving,
    SocketAddr,
    std::sync::Arc<std::sync::Mutex<String>>,
) {
    let binary = assert_cmd::cargo::cargo_bin("holdco");
    let mut child = std::process::Command::new(binary)
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
    let log = std::sync::Arc::new(std::sync::Mutex::new(line + "\n"));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            sink.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    (serving, address, log)
}

/// One GET over plain HTTP/1.1 asking for `accept`: the status and the body.
fn get_as(address: SocketAddr, path: &str, token: &str, accept: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

/// One GET: the status and the JSON body.
fn get(address: SocketAddr, path: &str, token: &str) -> (u16, Value) {
    let (status, body) = get_as(address, path, token, "application/json");
    (status, serde_json::from_str(&body).unwrap())
}

fn cli_json(db: &Path, args: &[&str]) -> Value {
    let output = holdco(db).args(args).output().unwrap();
    assert!(
        output.status.success() || args[0] == "reconcile",
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn cli_text(db: &Path, args: &[&str]) -> String {
    let output = holdco(db).args(args).output().unwrap();
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_api_answers_what_the_cli_prints() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("holdco.db");
    holdco(&db).arg("import").arg(example()).assert().success();
    let created = holdco(&db)
        .args(["token", "create", "--name", "board", "--role", "viewer"])
        .output()
        .unwrap();
    assert!(created.status.success());
    let token = String::from_utf8(created.stdout)
        .unwrap()
        .trim()
        .to_string();
    let listed = holdco(&db).args(["token", "list"]).output().unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(listed.contains("board\tviewer"), "{listed}");
    assert!(!listed.contains(&token));

    let (server, address, log) = serve(&db);
    for (path, args) in [
        (
            "/api/v1/rollup?metric=revenue&view=restated&periods=FY2022..FY2024&depth=2",
            vec!["rollup", "revenue", "--view", "restated", "--periods", "FY2022..FY2024", "--depth", "2", "--json"],
        ),
        (
            "/api/v1/rollup?metric=revenue",
            vec!["rollup", "revenue", "--json"],
        ),
        (
            "/api/v1/rollup?metric=revenue&view=organic&periods=FY2023..FY2024&from=reported&node=cloud_intelligence",
            vec!["rollup", "revenue", "--view", "organic", "--periods", "FY2023..FY2024", "--from", "reported", "--node", "cloud_intelligence", "--json"],
        ),
        (
            "/api/v1/explain?metric=revenue&period=FY2024&node=cloud_intelligence&view=restated",
            vec!["explain", "revenue", "--period", "FY2024", "--node", "cloud_intelligence", "--view", "restated", "--json"],
        ),
        (
            "/api/v1/structure?at=2023-01-01&depth=2",
            vec!["structure", "--at", "2023-01-01", "--depth", "2", "--json"],
        ),
        ("/api/v1/reconcile", vec!["reconcile", "--json"]),
        (
            "/api/v1/rollup?metric=adjusted_ebita_margin&periods=FY2023..FY2025&view=restated&exact=true&depth=2",
            vec!["rollup", "adjusted_ebita_margin", "--periods", "FY2023..FY2025", "--view", "restated", "--exact", "--depth", "2", "--json"],
        ),
        (
            "/api/v1/rollup?metric=revenue&period=FY2024&basis=reported&structure=2024-01-01&view=restated",
            vec!["rollup", "revenue", "--period", "FY2024", "--basis", "reported", "--structure", "2024-01-01", "--view", "restated", "--json"],
        ),
        (
            "/api/v1/history?unit=cloud_intelligence",
            vec!["history", "cloud_intelligence", "--json"],
        ),
        (
            "/api/v1/history?unit=local_services&structure=2024-01-01",
            vec!["history", "local_services", "--structure", "2024-01-01", "--json"],
        ),
        (
            "/api/v1/calibrate?changes=split-local-services-2025,split-all-others-2025&period=FY2025",
            vec!["calibrate", "split-local-services-2025", "split-all-others-2025", "--period", "FY2025", "--json"],
        ),
        ("/api/v1/classify", vec!["classify", "--json"]),
        ("/api/v1/classify?at=2024-06-30", vec!["classify", "--at", "2024-06-30", "--json"]),
        ("/api/v1/plan", vec!["plan", "--json"]),
        ("/api/v1/scenarios", vec!["scenario", "list", "--json"]),
        (
            "/api/v1/scenarios/one-alibaba/run?paths=2000&seed=7&top=5",
            vec!["scenario", "run", "one-alibaba", "--paths", "2000", "--seed", "7", "--top", "5", "--json"],
        ),
        (
            "/api/v1/scenarios/compare?a=spin-off-cloud&b=keep-cloud&paths=2000&seed=11",
            vec!["scenario", "compare", "spin-off-cloud", "keep-cloud", "--paths", "2000", "--seed", "11", "--json"],
        ),
        (
            "/api/v1/scenarios/diff?a=spin-off-cloud&b=keep-cloud",
            vec!["scenario", "diff", "spin-off-cloud", "keep-cloud", "--json"],
        ),
    ] {
        let (status, body) = get(address, path, &token);
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body, cli_json(&db, &args), "{path}");
    }

    // Several metrics in one request: the roll-ups the CLI prints one by one, in order.
    let (status, body) = get(
        address,
        "/api/v1/rollup?metric=revenue,adjusted_ebita&periods=FY2023..FY2024&view=restated",
        &token,
    );
    assert_eq!(status, 200, "{body}");
    for (i, metric) in ["revenue", "adjusted_ebita"].iter().enumerate() {
        let cli = cli_json(
            &db,
            &[
                "rollup",
                metric,
                "--periods",
                "FY2023..FY2024",
                "--view",
                "restated",
                "--json",
            ],
        );
        assert_eq!(body[i], cli, "{metric}");
    }

    // Accept: text/csv gives the bytes of the CLI's --csv.
    for (path, args) in [
        (
            "/api/v1/rollup?metric=revenue&view=restated&periods=FY2022..FY2024&depth=2",
            vec![
                "rollup",
                "revenue",
                "--view",
                "restated",
                "--periods",
                "FY2022..FY2024",
                "--depth",
                "2",
                "--csv",
            ],
        ),
        (
            "/api/v1/structure?depth=2",
            vec!["structure", "--depth", "2", "--csv"],
        ),
        ("/api/v1/reconcile", vec!["reconcile", "--csv"]),
        ("/api/v1/classify", vec!["classify", "--csv"]),
        ("/api/v1/plan", vec!["plan", "--csv"]),
        ("/api/v1/scenarios", vec!["scenario", "list", "--csv"]),
        (
            "/api/v1/scenarios/one-alibaba/run?paths=1000&seed=3",
            vec![
                "scenario",
                "run",
                "one-alibaba",
                "--paths",
                "1000",
                "--seed",
                "3",
                "--csv",
            ],
        ),
        (
            "/api/v1/scenarios/diff?a=spin-off-cloud&b=keep-cloud",
            vec!["scenario", "diff", "spin-off-cloud", "keep-cloud", "--csv"],
        ),
    ] {
        let (status, body) = get_as(address, path, &token, "text/csv");
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body, cli_text(&db, &args), "{path}");
    }

    // Revoked by another process: refused from the next request.
    holdco(&db)
        .args(["token", "revoke", "board"])
        .assert()
        .success();
    let (status, _) = get(address, "/api/v1/structure", &token);
    assert_eq!(status, 401);

    // The server's log never holds a token, nor its secret.
    drop(server);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let log = log.lock().unwrap().clone();
    assert!(log.contains("listening on"), "{log}");
    let secret = token.rsplit('.').next().unwrap();
    assert!(!log.contains(&token) && !log.contains(secret), "{log}");
}

#[test]
fn tokens_refuse_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("holdco.db");
    holdco(&db).arg("import").arg(example()).assert().success();
    let refused = holdco(&db)
        .args([
            "token", "create", "--name", "x", "--role", "viewer", "--scope", "atlantis",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("atlantis"));
    let refused = holdco(&db)
        .args(["token", "create", "--name", "bad name", "--role", "viewer"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    holdco(&db)
        .args([
            "token",
            "create",
            "--name",
            "cloud",
            "--role",
            "analyst",
            "--scope",
            "cloud_intelligence",
        ])
        .assert()
        .success();
    let refused = holdco(&db)
        .args(["token", "revoke", "nobody"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("nobody"));
}

/// `holdco token` and `holdco serve` with `--db postgres://...`: tokens kept in the
/// PostgreSQL store, the same answers as the SQLite store's.
#[test]
fn tokens_and_serve_work_on_a_postgresql_store() {
    let Some(schema) = holdco_store::testing::TestSchema::create("serve_postgres") else {
        return;
    };
    let db = Path::new(&schema.url);
    holdco(db).arg("import").arg(example()).assert().success();
    let created = holdco(db)
        .args(["token", "create", "--name", "board", "--role", "viewer"])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let token = String::from_utf8(created.stdout)
        .unwrap()
        .trim()
        .to_string();
    let (_server, address, _log) = serve(db);
    let args = [
        "rollup",
        "revenue",
        "--view",
        "restated",
        "--periods",
        "FY2023..FY2024",
        "--json",
    ];
    let (status, body) = get(
        address,
        "/api/v1/rollup?metric=revenue&view=restated&periods=FY2023..FY2024",
        &token,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, cli_json(db, &args));
    let listed = holdco(db).args(["token", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains("board\tviewer"));
    holdco(db)
        .args(["token", "revoke", "board"])
        .assert()
        .success();
    assert_eq!(get(address, "/api/v1/structure", &token).0, 401);
}
