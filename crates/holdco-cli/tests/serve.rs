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

/// Starts `holdco serve --listen 127.0.0.1:0` and reads the address it prints.
fn serve(db: &Path) -> (Serving, SocketAddr) {
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
    (serving, address)
}

/// One GET over plain HTTP/1.1: the status and the JSON body.
fn get(address: SocketAddr, path: &str, token: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap())
}

fn cli_json(db: &Path, args: &[&str]) -> Value {
    let output = holdco(db).args(args).output().unwrap();
    serde_json::from_slice(&output.stdout).unwrap()
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

    let (_server, address) = serve(&db);
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
    ] {
        let (status, body) = get(address, path, &token);
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body, cli_json(&db, &args), "{path}");
    }

    // Revoked by another process: refused from the next request.
    holdco(&db)
        .args(["token", "revoke", "board"])
        .assert()
        .success();
    let (status, _) = get(address, "/api/v1/structure", &token);
    assert_eq!(status, 401);
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
