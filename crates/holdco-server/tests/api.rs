//! API tests against a real server on a random local port, serving the bundled example
//! imported into a temporary SQLite store.

mod common;

use common::{example_model, start, Fixture};
use holdco_core::rollup::{BasisFilter, Engine, Query, View};
use holdco_core::MetricId;
use holdco_server::{Role, RunningServer, Server, TokenStore};
use reqwest::blocking::{Client, Response};
use serde_json::Value;
use std::path::Path;

impl Fixture {
    fn get(&self, path: &str, token: Option<&str>) -> Response {
        let url = self.url(path);
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

/// Every read endpoint, with a question inside the `cloud_intelligence` subtree where the
/// endpoint takes a node or unit.
const READS: &[&str] = &[
    "/api/v1/rollup?metric=revenue&periods=FY2024&view=restated&node=cloud_intelligence",
    "/api/v1/explain?metric=revenue&period=FY2024&view=restated&node=cloud_intelligence",
    "/api/v1/structure",
    "/api/v1/history?unit=cloud_intelligence",
    "/api/v1/reconcile",
    "/api/v1/calibrate?changes=split-local-services-2025,split-all-others-2025&period=FY2025",
    "/api/v1/classify",
    "/api/v1/plan",
    "/api/v1/scenarios",
    "/api/v1/scenarios/one-alibaba/run?paths=500",
    "/api/v1/scenarios/compare?a=spin-off-cloud&b=keep-cloud&paths=500",
    "/api/v1/scenarios/diff?a=spin-off-cloud&b=keep-cloud",
    "/api/v1/people?at=2024-06-01",
    "/api/v1/board?unit=cloud_intelligence&at=2024-06-01",
    "/api/v1/person?id=eddie_wu&at=2024-06-01",
];

/// Answers about the whole group, or about units and people outside `cloud_intelligence`:
/// refused to a token scoped to it.
const WHOLE_GROUP: &[&str] = &[
    "/api/v1/people?at=2024-06-01&unit=china_commerce",
    "/api/v1/board?unit=alibaba&at=2024-06-01",
    "/api/v1/person?id=trudy_dai&at=2024-06-01",
    "/api/v1/rollup?metric=revenue&periods=FY2024&view=restated",
    "/api/v1/explain?metric=revenue&period=FY2024",
    "/api/v1/history?unit=china_commerce",
    "/api/v1/calibrate",
    "/api/v1/plan",
    "/api/v1/scenarios",
];

#[test]
fn every_role_reads_and_a_scope_limits_every_read() {
    let f = start();
    for role in [Role::Viewer, Role::Analyst, Role::Approver, Role::Admin] {
        let whole = f.token(&format!("{}-all", role.name()), role, &[]);
        let scoped = f.token(
            &format!("{}-cloud", role.name()),
            role,
            &["cloud_intelligence"],
        );
        for path in READS {
            let (status, body) = f.call(path, Some(&whole));
            assert_eq!(status, 200, "{} {path}: {body}", role.name());
            let (status, body) = f.call(path, Some(&scoped));
            let refused = WHOLE_GROUP.iter().any(|p| {
                path.starts_with(p) && {
                    // Roll-up and explain name a node inside the scope: allowed.
                    !path.contains("node=cloud_intelligence")
                }
            });
            let expected = if refused { 403 } else { 200 };
            assert_eq!(status, expected, "{} scoped {path}: {body}", role.name());
            if status == 200 {
                // Nothing outside the subtree: no sibling segment, no group total.
                let text = body.to_string();
                assert!(!text.contains("\"china_commerce\""), "{path}: {text}");
                assert!(!text.contains("\"unit\":\"alibaba\""), "{path}: {text}");
                assert!(!text.contains("\"node\":\"alibaba\""), "{path}: {text}");
            }
        }
        for path in WHOLE_GROUP {
            let (status, body) = f.call(path, Some(&scoped));
            assert_eq!(status, 403, "{} scoped {path}: {body}", role.name());
            assert_eq!(body["error"], "forbidden");
        }
    }
}

#[test]
fn the_openapi_document_lists_every_endpoint_and_the_docs_page_needs_no_network() {
    let f = start();
    let (status, document) = f.call("/api/v1/openapi.json", None);
    assert_eq!(status, 200);
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = document["paths"].as_object().unwrap();
    for path in READS {
        let route = path
            .split('?')
            .next()
            .unwrap()
            .replace("one-alibaba", "{name}");
        let operation = &paths
            .get(&route)
            .unwrap_or_else(|| panic!("{route} is not documented"))["get"];
        let responses = operation["responses"].as_object().unwrap();
        for status in ["200", "400", "401"] {
            assert!(responses.contains_key(status), "{route}: no {status}");
        }
        assert_eq!(operation["security"][0]["bearer"], serde_json::json!([]));
    }
    assert!(paths["/api/v1/rollup"]["post"]["responses"]
        .as_object()
        .unwrap()
        .contains_key("413"));
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for name in [
        "Rollup",
        "RollupRow",
        "Explanation",
        "ErrorBody",
        "StructureView",
        "UnitHistory",
        "Check",
        "CalibrationResult",
    ] {
        assert!(schemas.contains_key(name), "no schema {name}");
    }
    // Every parameter the roll-up takes is documented.
    let names: Vec<&str> = paths["/api/v1/rollup"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in [
        "metric",
        "node",
        "period",
        "periods",
        "view",
        "structure",
        "basis",
        "from",
        "depth",
        "currency",
        "exact",
    ] {
        assert!(
            names.contains(&name),
            "rollup parameter {name} is not documented"
        );
    }
    // The page and its files come from the binary: nothing loaded from another host.
    let page = f.get("/api/docs/", None);
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    for tag in html
        .split('<')
        .filter(|t| t.starts_with("script") || t.starts_with("link"))
    {
        assert!(
            !tag.contains("http://") && !tag.contains("https://"),
            "{tag}"
        );
    }
    for file in [
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "swagger-initializer.js",
    ] {
        let response = f.get(&format!("/api/docs/{file}"), None);
        assert_eq!(response.status().as_u16(), 200, "{file}");
    }
    let initializer = f
        .get("/api/docs/swagger-initializer.js", None)
        .text()
        .unwrap();
    assert!(
        initializer.contains("/api/v1/openapi.json"),
        "{initializer}"
    );
}

#[test]
fn bodies_and_formats_are_checked_and_nothing_is_a_server_error() {
    let f = start();
    let token = f.token("viewer", Role::Viewer, &[]);
    let url = format!("http://{}/api/v1/rollup", f.server.address);
    let post = |body: Vec<u8>| {
        let response = f
            .client
            .post(&url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().unwrap())
    };
    let (status, body) = post(br#"{"metrics": ["revenue"], "periods": "FY2023..FY2024"}"#.to_vec());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["metric"], "revenue");
    let (status, body) = post(br#"{"metrics": ["revenue"], "colour": "red"}"#.to_vec());
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("bad_body")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("colour"),
        "{body}"
    );
    let (status, body) = post(br#"{"metrics": ["revenue", 7]}"#.to_vec());
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["pointer"], "/metrics/1", "{body}");
    let (status, body) = post(b"{\"metrics\": [".to_vec());
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("bad_body")),
        "{body}"
    );
    let mut huge = br#"{"metrics": ["revenue"], "node": ""#.to_vec();
    huge.extend(std::iter::repeat_n(b'x', holdco_server::BODY_LIMIT + 10));
    huge.extend(br#""}"#);
    let (status, body) = post(huge);
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("too_large")),
        "{body}"
    );

    let response = f
        .client
        .get(format!("http://{}/api/v1/structure", f.server.address))
        .bearer_auth(&token)
        .header("accept", "image/png")
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 406);
    let response = f
        .client
        .get(format!(
            "http://{}/api/v1/explain?metric=revenue&period=FY2024",
            f.server.address
        ))
        .bearer_auth(&token)
        .header("accept", "text/csv")
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 406);

    // Odd values in every parameter of every endpoint: a 4xx naming the problem, never a 5xx.
    let odd = [
        "",
        "%00",
        "-1",
        "99999999999999999999",
        "FY9999",
        "..",
        "x..y",
        "2024-02-30",
        "a,b,,c",
        "\u{1F600}",
        "revenue,revenue",
        "restated@2024-13-01",
    ];
    let endpoints: &[(&str, &[&str])] = &[
        (
            "/api/v1/rollup",
            &[
                "metric",
                "node",
                "period",
                "periods",
                "view",
                "structure",
                "basis",
                "from",
                "depth",
                "currency",
                "exact",
            ],
        ),
        (
            "/api/v1/explain",
            &[
                "metric",
                "node",
                "period",
                "view",
                "structure",
                "basis",
                "from",
            ],
        ),
        ("/api/v1/structure", &["at", "depth"]),
        ("/api/v1/history", &["unit", "structure"]),
        ("/api/v1/reconcile", &["tolerance", "failures"]),
        (
            "/api/v1/calibrate",
            &["changes", "period", "metrics", "published"],
        ),
        ("/api/v1/classify", &["at"]),
        ("/api/v1/plan", &["rates"]),
        (
            "/api/v1/scenarios/one-alibaba/run",
            &["paths", "seed", "top"],
        ),
        (
            "/api/v1/scenarios/compare",
            &["a", "b", "paths", "seed", "top"],
        ),
        ("/api/v1/scenarios/diff", &["a", "b"]),
    ];
    for (endpoint, names) in endpoints {
        for name in *names {
            for value in odd {
                let base = match *endpoint {
                    "/api/v1/rollup" | "/api/v1/explain" => "metric=revenue&period=FY2024&",
                    "/api/v1/scenarios/compare" => "a=keep-cloud&b=spin-off-cloud&paths=100&",
                    "/api/v1/scenarios/one-alibaba/run" => "paths=100&",
                    _ => "",
                };
                let url = format!("http://{}{endpoint}?{base}", f.server.address);
                let response = f
                    .client
                    .get(url)
                    .query(&[(name, value)])
                    .bearer_auth(&token)
                    .send()
                    .unwrap();
                let status = response.status().as_u16();
                assert!(
                    status < 500,
                    "{endpoint} {name}={value:?}: {status} {}",
                    response.text().unwrap()
                );
            }
        }
    }
}

#[test]
fn an_import_by_another_process_is_served_after_the_next_poll() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("holdco.db").to_str().unwrap().to_string();
    let model = example_model();
    holdco_store::open_store(&db)
        .unwrap()
        .import(&model, "example")
        .unwrap();
    let server = Server::open(&db)
        .unwrap()
        .poll_every(Some(std::time::Duration::from_millis(100)))
        .spawn("127.0.0.1:0")
        .unwrap();
    let token = TokenStore::open(&db)
        .unwrap()
        .create("board", Role::Viewer, &[])
        .unwrap();
    let client = Client::new();
    let total = || -> f64 {
        let body: Value = client
            .get(format!(
                "http://{}/api/v1/rollup?metric=revenue&period=FY2024&depth=0&node=cloud_intelligence",
                server.address
            ))
            .bearer_auth(&token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        body["rows"][0]["value"].as_f64().unwrap()
    };
    let before = total();
    // A revision of one figure, imported by another store handle (as `holdco import` would).
    let mut revised = model.clone();
    let fact = revised
        .facts
        .iter_mut()
        .find(|f| {
            f.key.unit.as_str() == "cloud_intelligence"
                && f.key.metric.as_str() == "revenue"
                && f.key.period.label(revised.group.calendar()) == "FY2024"
        })
        .expect("a cloud revenue figure for FY2024");
    fact.value += 1000.0;
    holdco_store::open_store(&db)
        .unwrap()
        .import(&revised, "revision")
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut after = total();
    while after == before && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        after = total();
    }
    assert_eq!(after, before + 1000.0);
}

/// The same API on a PostgreSQL store: tokens kept there, revocation at once, and two
/// servers on one store seeing each other's imports.
#[test]
fn two_servers_on_one_postgresql_store() {
    let Some(schema) = holdco_store::testing::TestSchema::create("api_two_servers") else {
        return;
    };
    let url = schema.url.clone();
    let model = example_model();
    holdco_store::open_store(&url)
        .unwrap()
        .import(&model, "example")
        .unwrap();
    let token = TokenStore::open(&url)
        .unwrap()
        .create("board", Role::Viewer, &[])
        .unwrap();
    let scoped = TokenStore::open(&url)
        .unwrap()
        .create("cloud", Role::Analyst, &["cloud_intelligence".to_string()])
        .unwrap();
    let every = Some(std::time::Duration::from_millis(100));
    let a = Server::open(&url)
        .unwrap()
        .poll_every(every)
        .spawn("127.0.0.1:0")
        .unwrap();
    let b = Server::open(&url)
        .unwrap()
        .poll_every(every)
        .spawn("127.0.0.1:0")
        .unwrap();
    let client = Client::new();
    let get = |server: &RunningServer, path: &str, token: &str| -> (u16, Value) {
        let response = client
            .get(format!("http://{}{path}", server.address))
            .bearer_auth(token)
            .send()
            .unwrap();
        (response.status().as_u16(), response.json().unwrap())
    };
    let path = "/api/v1/rollup?metric=revenue&periods=FY2023..FY2024&view=restated";
    let (status, on_a) = get(&a, path, &token);
    assert_eq!(status, 200, "{on_a}");
    assert_eq!(get(&b, path, &token).1, on_a);
    assert_eq!(get(&a, path, &scoped).0, 403);
    // The same answer as the SQLite store's.
    let sqlite = start();
    let local = sqlite.token("board", Role::Viewer, &[]);
    assert_eq!(sqlite.call(path, Some(&local)).1, on_a);
    let total = |server: &RunningServer| {
        get(
            server,
            "/api/v1/rollup?metric=revenue&period=FY2024&depth=0&node=cloud_intelligence",
            &token,
        )
        .1["rows"][0]["value"]
            .as_f64()
            .unwrap()
    };
    let before = total(&a);
    // An import through one handle is served by both servers after their next poll.
    let mut revised = model.clone();
    let fact = revised
        .facts
        .iter_mut()
        .find(|f| {
            f.key.unit.as_str() == "cloud_intelligence"
                && f.key.metric.as_str() == "revenue"
                && f.key.period.label(revised.group.calendar()) == "FY2024"
        })
        .unwrap();
    fact.value += 1000.0;
    holdco_store::open_store(&url)
        .unwrap()
        .import(&revised, "revision")
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while (total(&a) == before || total(&b) == before) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(total(&a), before + 1000.0);
    assert_eq!(total(&b), before + 1000.0);
    // Revoked through the store: refused by both at once.
    TokenStore::open(&url).unwrap().revoke("board").unwrap();
    assert_eq!(get(&a, "/api/v1/structure", &token).0, 401);
    assert_eq!(get(&b, "/api/v1/structure", &token).0, 401);
    let listed = TokenStore::open(&url).unwrap().list().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed
        .iter()
        .any(|t| t.name == "board" && t.revoked_at.is_some()));
}

/// Every `/api/v1/...` path named anywhere a client could learn it from (this crate's
/// source, the dashboard's scripts, docs/format.md, the CLI's tests).
fn api_paths_named_anywhere() -> std::collections::BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for folder in [
        root.join("src"),
        root.join("../holdco-dashboard/assets"),
        root.join("../holdco-cli/tests"),
    ] {
        for entry in std::fs::read_dir(&folder).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    files.push(root.join("../../docs/format.md"));
    let mut paths = std::collections::BTreeSet::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for (at, _) in text.match_indices("/api/v1/") {
            let path: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "_{}/.-".contains(*c))
                .collect();
            let path = path.trim_end_matches(['/', '.']).to_string();
            if path.len() > "/api/v1".len() {
                paths.insert(path);
            }
        }
    }
    paths
}

/// True when `path` (concrete) is an instance of the documented `template`.
fn instance_of(path: &str, template: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (path.split('/').collect(), template.split('/').collect());
    a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|(x, t)| x == t || (t.starts_with('{') && t.ends_with('}')))
}

#[test]
fn every_route_served_is_in_the_openapi_document_and_every_documented_route_is_served() {
    let f = start();
    let admin = f.token("admin", Role::Admin, &[]);
    let (_, document) = f.call("/api/v1/openapi.json", None);
    let documented: Vec<String> = document["paths"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    // The server's fallback: what a path no route serves gets, whatever the method.
    let unserved = |path: &str| {
        [reqwest::Method::GET, reqwest::Method::POST]
            .into_iter()
            .all(|method| {
                let response = f
                    .client
                    .request(method, format!("http://{}{path}", f.server.address))
                    .bearer_auth(&admin)
                    .send()
                    .unwrap();
                let status = response.status().as_u16();
                let text = response.text().unwrap_or_default();
                status == 404 && text.contains("no such endpoint")
            })
    };
    assert!(
        unserved("/api/v1/no-such-thing"),
        "the fallback is recognised"
    );
    let concrete = |template: &str| {
        template
            .replace("{id}", "1")
            .replace("{action}", "submit")
            .replace("{name}", "one-alibaba")
    };
    let named = api_paths_named_anywhere();
    assert!(named.len() >= 20, "{named:?}");
    for path in named.iter().chain(&documented) {
        let path = concrete(path);
        if path == "/api/v1/openapi.json" {
            continue;
        }
        let served = !unserved(&path);
        let in_document = documented.iter().any(|t| instance_of(&path, t));
        assert_eq!(
            served, in_document,
            "{path}: served {served}, in the OpenAPI document {in_document}"
        );
    }
    // The change-set, audit and dashboard routes are among them, with their methods.
    let paths = document["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/changesets", "post"),
        ("/api/v1/changesets", "get"),
        ("/api/v1/changesets/{id}", "get"),
        ("/api/v1/changesets/{id}/{action}", "post"),
        ("/api/v1/audit", "get"),
        ("/api/v1/dashboard/session", "get"),
        ("/api/v1/dashboard/model", "get"),
        ("/api/v1/dashboard/timeline", "get"),
    ] {
        let operation = &paths[path][method];
        assert!(operation.is_object(), "{method} {path} is not documented");
        assert_eq!(operation["security"][0]["bearer"], serde_json::json!([]));
        assert!(operation["responses"]["401"].is_object(), "{path}");
    }
}

/// People on a date, a board and a person: a scoped token sees only the people whose roles
/// lie within its subtrees, and of a person only those roles (issue 14 item 10).
#[test]
fn a_scoped_token_sees_only_the_people_of_its_subtree() {
    let f = start();
    let whole = f.token("all", Role::Viewer, &[]);
    let cloud = f.token("cloud", Role::Viewer, &["cloud_intelligence"]);
    let (status, all) = f.call("/api/v1/people?at=2024-06-01", Some(&whole));
    assert_eq!(status, 200, "{all}");
    let people = |body: &Value| {
        let mut seen: Vec<(String, String, String)> = body["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["unit"].as_str().unwrap().to_string(),
                    r["role"].as_str().unwrap().to_string(),
                    r["person"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        seen.sort();
        seen
    };
    let everyone = people(&all);
    assert!(
        everyone.iter().any(|(_, _, p)| p == "joseph_tsai"),
        "{everyone:?}"
    );
    assert!(
        everyone.iter().any(|(_, _, p)| p == "jiang_fan"),
        "{everyone:?}"
    );
    let (status, mine) = f.call("/api/v1/people?at=2024-06-01", Some(&cloud));
    assert_eq!(status, 200, "{mine}");
    let expected: Vec<(String, String, String)> = everyone
        .iter()
        .filter(|(unit, _, _)| unit == "cloud_intelligence")
        .cloned()
        .collect();
    assert_eq!(people(&mine), expected);
    assert!(!expected.is_empty());
    // The same through unit= for the whole-group token.
    let (_, below) = f.call(
        "/api/v1/people?at=2024-06-01&unit=cloud_intelligence",
        Some(&whole),
    );
    assert_eq!(people(&below), expected);
    // A person: only the roles held within the subtree.
    let (status, full) = f.call("/api/v1/person?id=eddie_wu&at=2024-06-01", Some(&whole));
    assert_eq!(status, 200, "{full}");
    let (status, seen) = f.call("/api/v1/person?id=eddie_wu&at=2024-06-01", Some(&cloud));
    assert_eq!(status, 200, "{seen}");
    let seats = |body: &Value| -> Vec<String> {
        body["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["seat"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(seats(&full).len() > seats(&seen).len(), "{full} {seen}");
    assert!(!seats(&seen).is_empty());
    assert!(
        seats(&seen).iter().all(|s| s == "cloud_intelligence"),
        "{seen}"
    );
    for (path, status) in [
        ("/api/v1/person?id=trudy_dai&at=2024-06-01", 403),
        ("/api/v1/person?id=nobody", 400),
        ("/api/v1/board?unit=alibaba&at=2024-06-01", 403),
        ("/api/v1/board?at=2024-06-01", 400),
        ("/api/v1/people?at=2024-06-01&unit=china_commerce", 403),
        ("/api/v1/people?at=someday", 400),
    ] {
        let (got, body) = f.call(path, Some(&cloud));
        assert_eq!(got, status, "{path}: {body}");
    }
    let (status, board) = f.call("/api/v1/board?unit=alibaba&at=2024-06-01", Some(&whole));
    assert_eq!(status, 200, "{board}");
    assert_eq!(board["unit"], "alibaba");
}
