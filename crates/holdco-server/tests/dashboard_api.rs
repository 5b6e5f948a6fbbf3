//! The dashboard's own endpoints (src/dashboard_api.rs) against a real server on the
//! bundled example: the timeline document kept per snapshot, the capital draft re-solved
//! without saving (roles, bad bodies), review dates, people and boards on a date, workbook
//! downloads and a scenario comparison with its progress.

mod common;

use common::{example, example_model, start, Fixture};
use holdco_server::Role;
use serde_json::{json, Value};

impl Fixture {
    fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .unwrap();
        (response.status().as_u16(), response.json().unwrap())
    }

    fn post(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .unwrap();
        (response.status().as_u16(), response.json().unwrap())
    }
}

#[test]
fn the_timeline_document_is_built_once_per_snapshot_and_per_scope() {
    let f = start();
    let admin = f.token("admin", Role::Admin, &[]);
    let team = f.token("team", Role::Viewer, &["china_commerce"]);
    let fetch = |token: &str| {
        let response = f
            .client
            .get(f.url("/api/v1/dashboard/timeline"))
            .bearer_auth(token)
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        response.bytes().unwrap()
    };
    let first = fetch(&admin);
    assert_eq!(first, fetch(&admin), "the kept document is the one built");
    let scoped = fetch(&team);
    assert_ne!(first, scoped, "a scope set has a document of its own");
    let whole: Value = serde_json::from_slice(&first).unwrap();
    let part: Value = serde_json::from_slice(&scoped).unwrap();
    assert!(whole["root"].is_number() && part["root"].is_null());
    assert!(part["units"].as_array().unwrap().len() < whole["units"].as_array().unwrap().len());
    assert_eq!(scoped, fetch(&team));
    // A new revision of the store is a new snapshot (the watcher swaps it in): its
    // document is built again and shows the change.
    let mut model = example_model();
    let mut rename = model.timeline.last().unwrap().clone();
    rename.id = Some("rename-for-the-test".into());
    rename.date = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    rename.kind = holdco_core::ChangeKind::Rename {
        unit: holdco_core::UnitId::parse("xianyu").unwrap(),
        name: "Xianyu renamed by the test".into(),
    };
    rename.note = None;
    rename.source = None;
    model.timeline.push(rename);
    holdco_store::open_store(&f.db)
        .unwrap()
        .import(&model, "test")
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        let now = fetch(&admin);
        if String::from_utf8_lossy(&now).contains("Xianyu renamed by the test") {
            break;
        }
        assert_eq!(now, first, "the old snapshot's document until the swap");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the document never showed the new revision"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn a_capital_draft_is_re_solved_without_saving_and_only_for_analysts() {
    let f = start();
    let analyst = f.token("analyst", Role::Analyst, &[]);
    let viewer = f.token("viewer", Role::Viewer, &[]);
    let approver = f.token("approver", Role::Approver, &[]);
    let scoped = f.token("team", Role::Analyst, &["china_commerce"]);
    for token in [&viewer, &approver, &scoped] {
        let (status, body) = f.post("/api/v1/dashboard/plan/draft", token, &json!({}));
        assert_eq!(status, 403, "{body}");
        assert_eq!(f.get("/api/v1/dashboard/plan/draft", token).0, 403);
    }
    let (status, inputs) = f.get("/api/v1/dashboard/plan/draft", &analyst);
    assert_eq!(status, 200, "{inputs}");
    assert_eq!(inputs["total"], 380000.0);
    assert_eq!(
        inputs["budgets"][0],
        json!({ "year": 2025, "amount": 125000.0 })
    );
    // An empty draft is the stored plan, as /api/v1/plan (the CLI's `holdco plan --json`).
    let (_, stored) = f.get("/api/v1/plan", &analyst);
    let (status, same) = f.post("/api/v1/dashboard/plan/draft", &analyst, &json!({}));
    assert_eq!(status, 200, "{same}");
    assert_eq!(same["plan"], stored);
    assert_eq!(same["saved"], false);
    // A smaller total: everything allocated fits it, and the total binds.
    let (status, draft) = f.post(
        "/api/v1/dashboard/plan/draft",
        &analyst,
        &json!({ "total": 300000, "budgets": [{ "year": 2026, "amount": 100000 }] }),
    );
    assert_eq!(status, 200, "{draft}");
    assert_eq!(draft["inputs"]["total"], 300000.0);
    let allocated = |plan: &Value| -> f64 {
        plan["years"]
            .as_array()
            .unwrap()
            .iter()
            .map(|y| y["allocated"].as_f64().unwrap())
            .sum()
    };
    // The total caps the budgets (the disposal proceeds come on top): 80,000 less is spent.
    let less = allocated(&stored) - allocated(&draft["plan"]);
    assert!((less - 80000.0).abs() < 1e-2, "{less}");
    assert_ne!(draft["plan"]["objective"], stored["objective"]);
    assert!(draft["plan"]["binding"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["constraint"].as_str().unwrap().contains("total")));
    // Nothing was stored.
    assert_eq!(f.get("/api/v1/plan", &analyst).1, stored);
    // Bad drafts name the place.
    for (body, pointer) in [
        (
            json!({ "budgets": [{ "year": 2031, "amount": 1 }] }),
            "/budgets/0/year",
        ),
        (json!({ "total": -5 }), "/total"),
        (
            json!({ "floors": [{ "index": 99, "amount": 1 }] }),
            "/floors/0/index",
        ),
        (json!({ "budget": [] }), "/budget"),
    ] {
        let (status, answer) = f.post("/api/v1/dashboard/plan/draft", &analyst, &body);
        assert_eq!(status, 400, "{body} -> {answer}");
        assert_eq!(answer["pointer"], pointer, "{answer}");
    }
    // An infeasible draft names the conflict.
    let floors = inputs["floors"].as_array().unwrap();
    if !floors.is_empty() {
        let (status, answer) = f.post(
            "/api/v1/dashboard/plan/draft",
            &analyst,
            &json!({ "total": 0, "floors": [{ "index": 0, "amount": 1000 }] }),
        );
        assert_eq!(status, 422, "{answer}");
        assert!(answer["message"].as_str().unwrap().contains("infeasible"));
    }
}

#[test]
fn a_capital_draft_is_submitted_as_a_change_set_and_once_applied_is_the_plan() {
    let f = start();
    let analyst = f.token("analyst", Role::Analyst, &[]);
    let viewer = f.token("viewer", Role::Viewer, &[]);
    let approver = f.token("approver", Role::Approver, &[]);
    let scoped = f.token("team", Role::Analyst, &["china_commerce"]);
    let route = "/api/v1/dashboard/plan/draft/changeset";
    let draft = json!({ "total": 300000, "budgets": [{ "year": 2026, "amount": 100000 }] });
    let body = json!({ "message": "Plan at 300bn (dashboard draft)", "draft": draft });
    // Role matrix: only those that may draft may submit a draft; nothing is recorded else.
    for token in [&viewer, &approver, &scoped] {
        let (status, answer) = f.post(route, token, &body);
        assert_eq!(status, 403, "{answer}");
    }
    assert_eq!(f.get("/api/v1/changesets", &analyst).1, json!([]));
    // Bad input names the field; nothing is recorded.
    for (bad, pointer, says) in [
        (
            json!({ "message": "m", "draft": { "budgets": [{ "year": 2031, "amount": 1 }] } }),
            "/draft/budgets/0/year",
            "2031",
        ),
        (
            json!({ "message": "m", "draft": { "floors": [{ "index": 0, "amount": -1 }] } }),
            "/draft/floors/0/amount",
            "-1",
        ),
        (
            json!({ "message": " ", "draft": draft }),
            "/message",
            "message",
        ),
        (
            json!({ "message": "m", "draft": {} }),
            "/draft",
            "changes nothing",
        ),
        (
            json!({ "message": "m", "draft": { "totl": 1 } }),
            "/draft/totl",
            "totl",
        ),
        (json!({ "draft": draft }), "", "message"),
    ] {
        let (status, answer) = f.post(route, &analyst, &bad);
        assert_eq!(status, 400, "{bad} -> {answer}");
        assert_eq!(answer["pointer"], pointer, "{bad} -> {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(says),
            "{answer}"
        );
    }
    let (status, answer) = f.post(
        route,
        &analyst,
        &json!({ "message": "m", "draft": { "total": 0 } }),
    );
    assert_eq!(status, 422, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("infeasible"));
    assert_eq!(f.get("/api/v1/changesets", &analyst).1, json!([]));

    // The draft's plan, re-solved without saving.
    let (status, solved) = f.post("/api/v1/dashboard/plan/draft", &analyst, &draft);
    assert_eq!(status, 200, "{solved}");
    let (_, stored_plan) = f.get("/api/v1/plan", &analyst);
    // Submitted: a change set by the analyst, in state submitted, that rewrites capital.toml
    // with the two amounts changed and every comment, note and source kept.
    let (status, submitted) = f.post(route, &analyst, &body);
    assert_eq!(status, 200, "{submitted}");
    assert_eq!(submitted["plan"], solved["plan"]);
    let record = &submitted["changeset"];
    assert_eq!(record["state"], "submitted");
    assert_eq!(record["author"], "analyst");
    assert_eq!(record["units"], json!(["*"]));
    let documents = submitted["diff"]["documents"].as_array().unwrap();
    assert_eq!(documents.len(), 1);
    assert_eq!(documents[0]["path"], "capital.toml");
    let before = documents[0]["before"].as_str().unwrap();
    let after = documents[0]["after"].as_str().unwrap();
    let stored_text = std::fs::read_to_string(example().join("capital.toml")).unwrap();
    assert_eq!(before, stored_text);
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(b, a)| b != a)
        .collect();
    assert_eq!(before.lines().count(), after.lines().count());
    assert_eq!(
        changed,
        vec![
            ("total = 380000", "total = 300000"),
            ("amount = 135000", "amount = 100000"),
        ],
        "only the draft's two amounts change"
    );
    let id = record["id"].as_i64().unwrap();
    let (_, listed) = f.get("/api/v1/changesets?state=submitted", &viewer);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], id);
    let (status, shown) = f.get(&format!("/api/v1/changesets/{id}"), &viewer);
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["diff"]["documents"][0]["after"], after);
    // Nothing changed yet; the author cannot approve (four eyes); the approver approves and
    // applies; the plan is then the draft's.
    assert_eq!(f.get("/api/v1/plan", &viewer).1, stored_plan);
    let step = |token: &str, action: &str| {
        f.post(
            &format!("/api/v1/changesets/{id}/{action}"),
            token,
            &json!({}),
        )
    };
    assert_eq!(step(&analyst, "approve").0, 403);
    assert_eq!(step(&approver, "approve").0, 200);
    let (status, applied) = step(&approver, "apply");
    assert_eq!(status, 200, "{applied}");
    assert_eq!(f.get("/api/v1/plan", &viewer).1, solved["plan"]);
    // The store holds the edited document (what `holdco plan` reads).
    let model = holdco_store::open_store(&f.db)
        .unwrap()
        .load()
        .unwrap()
        .unwrap();
    assert_eq!(model.documents["capital.toml"], after);
    // The same draft again changes nothing now.
    let (status, answer) = f.post(route, &analyst, &body);
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["pointer"], "/draft");
}

#[test]
fn review_dates_people_and_boards_follow_the_scope() {
    let f = start();
    let viewer = f.token("viewer", Role::Viewer, &[]);
    let team = f.token("team", Role::Viewer, &["china_commerce"]);
    let (status, all) = f.get("/api/v1/dashboard/reviews?at=2025-04-01", &viewer);
    assert_eq!(status, 200, "{all}");
    let reviews = all["reviews"].as_array().unwrap();
    assert_eq!(reviews.len(), 4);
    assert!(reviews
        .iter()
        .all(|r| r["next"] == "2026-11-16" && r["status"] == "scheduled"));
    let (_, due) = f.get("/api/v1/dashboard/reviews?at=2026-08-01", &viewer);
    assert!(due["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == "due"));
    let (_, part) = f.get("/api/v1/dashboard/reviews?at=2025-04-01", &team);
    assert!(part["reviews"].as_array().unwrap().len() < 4);
    assert_eq!(f.get("/api/v1/dashboard/reviews?when=x", &viewer).0, 400);

    let (status, g) = f.get("/api/v1/dashboard/governance?at=2023-09-11", &viewer);
    assert_eq!(status, 200, "{g}");
    // The same rows as `holdco people --at 2023-09-11 --json`.
    let model = example_model();
    holdco_governance::register();
    let engine = holdco_core::rollup::Engine::new(&model).unwrap();
    let (ledger, _) = holdco_governance::load(&model, engine.timeline());
    let date = chrono::NaiveDate::from_ymd_opt(2023, 9, 11).unwrap();
    let people =
        holdco_governance::queries::leaders_on(&ledger, engine.timeline(), date, None).unwrap();
    assert_eq!(g["people"], serde_json::to_value(&people).unwrap());
    assert!(!g["boards"].as_array().unwrap().is_empty());
    let board = &g["boards"][0];
    assert!(board["directors"].is_number() && board["min_independent"].is_number());
    assert!(g["pipeline"]["target"].is_object(), "{}", g["pipeline"]);
    assert!(g["breaches"].is_array());
    let (status, scoped) = f.get("/api/v1/dashboard/governance?at=2025-04-01", &team);
    assert_eq!(status, 200, "{scoped}");
    assert!(scoped["breaches"].is_null() && scoped["pipeline"]["target"].is_null());
    assert!(scoped["people"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["unit"] != "alibaba"));
}

#[test]
fn a_table_downloads_as_a_workbook_with_formulas_neutralised() {
    let f = start();
    let viewer = f.token("viewer", Role::Viewer, &[]);
    let table = json!({
        "title": "revenue, restated",
        "columns": ["node", "name", "depth", "period", "value", "gap"],
        "rows": [["alibaba", "=cmd|' /C calc'!A0", 0, "FY2024", 941168, null],
                 ["alibaba", "=cmd|' /C calc'!A0", 0, "FY2025", null, "no figure"]],
        "unit": "CNY millions",
    });
    let response = f
        .client
        .post(f.url("/api/v1/dashboard/xlsx"))
        .bearer_auth(&viewer)
        .json(&table)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("spreadsheetml"));
    let bytes = response.bytes().unwrap();
    assert!(bytes.starts_with(b"PK"));
    let (status, answer) = f.post(
        "/api/v1/dashboard/xlsx",
        &viewer,
        &json!({ "title": "t", "columns": ["a", "b"], "rows": [[1]] }),
    );
    assert_eq!(status, 400);
    assert_eq!(answer["pointer"], "/rows/0");
}

#[test]
fn a_comparison_streams_its_progress_then_the_plain_endpoints_answer() {
    let f = start();
    let viewer = f.token("viewer", Role::Viewer, &[]);
    let query = "a=keep-cloud&b=spin-off-cloud&paths=70000&seed=7&top=5";
    let text = f
        .client
        .get(f.url(&format!("/api/v1/dashboard/scenarios/compare?{query}")))
        .bearer_auth(&viewer)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let done: Vec<u64> = lines.iter().filter_map(|l| l["done"].as_u64()).collect();
    assert_eq!(done.first(), Some(&0));
    assert_eq!(done.last(), Some(&70000));
    assert!(done.len() >= 3, "a wave of paths at a time: {done:?}");
    assert!(done.windows(2).all(|w| w[0] <= w[1]));
    let result = &lines.last().unwrap()["result"];
    let (_, plain) = f.get(&format!("/api/v1/scenarios/compare?{query}"), &viewer);
    assert_eq!(result, &plain);
    let (status, bad) = f.get(
        "/api/v1/dashboard/scenarios/compare?a=keep-cloud&b=nope",
        &viewer,
    );
    assert_eq!(status, 400, "{bad}");
    let team = f.token("team", Role::Viewer, &["china_commerce"]);
    assert_eq!(
        f.get(
            &format!("/api/v1/dashboard/scenarios/compare?{query}"),
            &team
        )
        .0,
        403
    );
}
