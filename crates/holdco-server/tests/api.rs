//! API tests against a real server on a random local port, serving the bundled example
//! imported into a temporary SQLite store.

use holdco_core::rollup::{BasisFilter, Engine, Query, View};
use holdco_core::MetricId;
use holdco_server::{Role, RunningServer, Server, TokenStore};
use reqwest::blocking::{Client, Response};
use serde_json::Value;
use std::path::{Path, PathBuf};

struct Fixture {
    _dir: tempfile::TempDir,
    db: String,
    server: RunningServer,
    client: Client,
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/alibaba")
}

/// The example imported into a fresh store, served on 127.0.0.1:0.
fn start() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("holdco.db").to_str().unwrap().to_string();
    let files = holdco_folder::read(&example()).unwrap();
    let (model, problems) = holdco_core::format::read_model(&files);
    assert!(problems.is_empty(), "{problems:?}");
    let mut store = holdco_store::open_store(&db).unwrap();
    store.import(&model.unwrap(), "example").unwrap();
    drop(store);
    let server = Server::open(&db).unwrap().spawn("127.0.0.1:0").unwrap();
    Fixture {
        _dir: dir,
        db,
        server,
        client: Client::new(),
    }
}

impl Fixture {
    fn token(&self, name: &str, role: Role, scopes: &[&str]) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        TokenStore::open(&self.db)
            .unwrap()
            .create(name, role, &scopes)
            .unwrap()
    }

    fn get(&self, path: &str, token: Option<&str>) -> Response {
        let url = format!("http://{}{path}", self.server.address);
        let mut request = self.client.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().unwrap()
    }

    /// The status and JSON body of a request.
    fn call(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let response = self.get(path, token);
        let status = response.status().as_u16();
        (status, response.json().unwrap())
    }
}

#[test]
fn health_answers_without_a_token_and_the_api_does_not() {
    let f = start();
    assert_eq!(
        f.call("/health", None),
        (200, serde_json::json!({"status": "ok"}))
    );
    assert_eq!(f.call("/ready", None).0, 200);
    for path in [
        "/api/v1/rollup?metric=revenue",
        "/api/v1/structure",
        "/api/v1/explain?metric=revenue&period=FY2024",
        "/api/v1/reconcile",
    ] {
        let (status, body) = f.call(path, None);
        assert_eq!(status, 401, "{path}");
        assert_eq!(body["error"], "unauthorized");
        assert_eq!(f.call(path, Some("hc1.forged.token")).0, 401, "{path}");
    }
}

#[test]
fn a_viewer_reads_the_same_rollup_the_cli_prints() {
    let f = start();
    let token = f.token("board", Role::Viewer, &[]);
    let (status, body) = f.call(
        "/api/v1/rollup?metric=revenue&view=restated&periods=FY2022..FY2024&depth=1&from=published",
        Some(&token),
    );
    assert_eq!(status, 200, "{body}");
    // The CLI's `holdco rollup revenue --view restated --periods FY2022..FY2024 --json` on a
    // model of this size answers with `Engine::rollup` on the stored model.
    let model = holdco_store::open_store(&f.db)
        .unwrap()
        .load()
        .unwrap()
        .unwrap();
    let engine = Engine::new(&model).unwrap();
    let calendar = model.group.calendar();
    let expected = engine
        .rollup(&Query {
            metric: MetricId::parse("revenue").unwrap(),
            periods: holdco_core::period::parse_range("FY2022..FY2024", calendar).unwrap(),
            view: View::Restated,
            structure: None,
            node: None,
            depth: 1,
            currency: None,
            basis: BasisFilter::Reported,
        })
        .unwrap();
    assert_eq!(body, serde_json::to_value(&expected).unwrap());
    assert!(body["rows"].as_array().unwrap().len() > 3);

    let (status, explained) = f.call(
        "/api/v1/explain?metric=revenue&period=FY2024&node=cloud_intelligence",
        Some(&token),
    );
    assert_eq!(status, 200, "{explained}");
    assert_eq!(explained["node"], "cloud_intelligence");
    let (status, structure) = f.call("/api/v1/structure?depth=1", Some(&token));
    assert_eq!(status, 200);
    assert_eq!(structure["units"][0]["unit"], "alibaba");
    let (status, checks) = f.call("/api/v1/reconcile", Some(&token));
    assert_eq!(status, 200);
    assert!(!checks.as_array().unwrap().is_empty());
}

#[test]
fn a_scoped_token_sees_its_subtree_only() {
    let f = start();
    let token = f.token("cloud-finance", Role::Analyst, &["cloud_intelligence"]);
    let inside =
        "/api/v1/rollup?metric=revenue&view=restated&periods=FY2024&node=cloud_intelligence";
    let (status, body) = f.call(inside, Some(&token));
    assert_eq!(status, 200, "{body}");
    assert!(body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|row| row["node"] != "alibaba"));
    // The group total and a sibling are refused, through rollup and explain alike.
    for path in [
        "/api/v1/rollup?metric=revenue&view=restated&periods=FY2024",
        "/api/v1/rollup?metric=revenue&view=restated&periods=FY2024&node=alibaba",
        "/api/v1/rollup?metric=revenue&view=restated&periods=FY2024&node=china_commerce",
        "/api/v1/explain?metric=revenue&period=FY2024",
        "/api/v1/explain?metric=revenue&period=FY2024&node=china_commerce",
    ] {
        let (status, body) = f.call(path, Some(&token));
        assert_eq!(status, 403, "{path}: {body}");
        assert_eq!(body["error"], "forbidden");
        assert!(!body.to_string().contains("868687"), "{body}");
    }
    let (status, structure) = f.call("/api/v1/structure", Some(&token));
    assert_eq!(status, 200);
    let units = structure["units"].as_array().unwrap();
    assert_eq!(units[0]["unit"], "cloud_intelligence");
    assert!(units
        .iter()
        .all(|u| u["unit"] != "alibaba" && u["unit"] != "china_commerce"));
    let (_, checks) = f.call("/api/v1/reconcile", Some(&token));
    assert!(checks
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["unit"] != "alibaba"));
}

#[test]
fn bad_parameters_and_unknown_names_are_400_naming_the_parameter() {
    let f = start();
    let token = f.token("viewer", Role::Viewer, &[]);
    for (path, parameter) in [
        ("/api/v1/rollup?metric=revenue&periods=FY20x", "periods"),
        (
            "/api/v1/rollup?metric=revenue&period=FY2024&periods=FY2024",
            "periods",
        ),
        ("/api/v1/rollup?metric=revenue&view=sideways", "view"),
        ("/api/v1/rollup?metric=revenue&depth=-1", "depth"),
        ("/api/v1/rollup?metric=revenue&from=nowhere", "from"),
        (
            "/api/v1/rollup?metric=revenue&structure=2024-13-01",
            "structure",
        ),
        ("/api/v1/rollup?metric=revenue&basis=guess", "basis"),
        ("/api/v1/rollup?metric=revenue&colour=red", "colour"),
        ("/api/v1/rollup", "metric"),
        ("/api/v1/explain?metric=revenue", "period"),
        ("/api/v1/structure?at=yesterday", "at"),
        ("/api/v1/structure?at=1900-01-01", "at"),
        ("/api/v1/reconcile?tolerance=lots", "tolerance"),
        (
            "/api/v1/rollup?metric=revenue&periods=2000-01..2099-12",
            "periods",
        ),
        ("/api/v1/rollup?metric=%ZZ", "metric"),
    ] {
        let (status, body) = f.call(path, Some(&token));
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["parameter"], parameter, "{path}: {body}");
        assert!(
            body["message"].as_str().unwrap().starts_with(parameter),
            "{body}"
        );
    }
    // Unknown names are the request's fault too: 400 naming the parameter and the name.
    for (path, parameter, name) in [
        (
            "/api/v1/rollup?metric=revenu&periods=FY2024",
            "metric",
            "revenu",
        ),
        (
            "/api/v1/rollup?metric=revenue&periods=FY2024&node=nowhere",
            "node",
            "nowhere",
        ),
        (
            "/api/v1/explain?metric=revenue&period=FY2024&node=nowhere",
            "node",
            "nowhere",
        ),
        ("/api/v1/history?unit=nowhere", "unit", "nowhere"),
        ("/api/v1/scenarios/nowhere/run?paths=10", "name", "nowhere"),
    ] {
        let (status, body) = f.call(path, Some(&token));
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["parameter"], parameter, "{path}: {body}");
        assert!(body["message"].as_str().unwrap().contains(name), "{body}");
    }
    assert_eq!(f.call("/api/v1/nothing", Some(&token)).0, 404);
}

#[test]
fn a_revoked_token_is_refused_at_once() {
    let f = start();
    let token = f.token("temp", Role::Viewer, &[]);
    let path = "/api/v1/structure?depth=0";
    assert_eq!(f.call(path, Some(&token)).0, 200);
    // Revoked from another connection, as `holdco token revoke` does from another process.
    TokenStore::open(&f.db).unwrap().revoke("temp").unwrap();
    assert_eq!(f.call(path, Some(&token)).0, 401);
    let other = f.token("other", Role::Admin, &[]);
    assert_eq!(f.call(path, Some(&other)).0, 200);
}
