//! Change sets over HTTP against a real server on a random local port (SQLite store: the
//! server keeps its tokens there): the role matrix, four eyes, scopes, 409 on a stale base
//! (also with two approvers applying at once), the model swapped after an apply, audit
//! entries, and bad bodies.

mod common;

use common::Fixture;
use holdco_server::{Role, Server};
use reqwest::blocking::Client;
use serde_json::{json, Value};

fn start() -> Fixture {
    // Imported as `holdco import` records it: a change set of kind import, so the log and
    // the audit trail start from it.
    common::serve(|store| {
        let model = common::example_model();
        let record = holdco_changeset::import_record(None, &model, "example", "setup", 0);
        store.apply(&model, "example", &record).unwrap();
    })
}

impl Fixture {
    fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .unwrap();
        (
            response.status().as_u16(),
            response.json().unwrap_or(Value::Null),
        )
    }

    fn post(&self, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.client.post(self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().unwrap();
        (
            response.status().as_u16(),
            response.json().unwrap_or(Value::Null),
        )
    }

    fn propose(&self, token: &str, facts: &str) -> (u16, Value) {
        self.post(
            "/api/v1/changesets",
            token,
            Some(json!({"message": "restated cloud", "patch": {"facts": facts}})),
        )
    }
}

const HEADER: &str = "unit,period,metric,value,currency,counterparty,basis,structure,source\n";

fn cloud(value: u32) -> String {
    format!("{HEADER}cloud_intelligence,FY2025,revenue,{value},,,restated,2025-04-01,board pack\n")
}

/// FY2025 restated revenue of Cloud as the server's roll-up gives it.
fn served_cloud(f: &Fixture, token: &str) -> f64 {
    let (status, body) = f.get(
        "/api/v1/rollup?metric=revenue&view=restated&periods=FY2025&structure=2025-04-01&node=cloud_intelligence&depth=0",
        token,
    );
    assert_eq!(status, 200, "{body}");
    body["rows"][0]["value"].as_f64().unwrap()
}

#[test]
fn roles_four_eyes_and_the_model_swapped_after_an_apply() {
    let f = start();
    let viewer = f.token("viewer", Role::Viewer, &[]);
    let analyst = f.token("analyst", Role::Analyst, &[]);
    let approver = f.token("approver", Role::Approver, &[]);
    let second = f.token("approver2", Role::Approver, &[]);
    // No token: 401.
    let response = f.client.get(f.url("/api/v1/changesets")).send().unwrap();
    assert_eq!(response.status().as_u16(), 401);
    // A viewer cannot propose; an analyst can, and sees the preview.
    assert_eq!(f.propose(&viewer, &cloud(118_100)).0, 403);
    let (status, created) = f.propose(&analyst, &cloud(118_100));
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert!(created["preview"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["node"] == "cloud_intelligence"
            && c["before"] == json!(118028.0)
            && c["after"] == json!(118100.0)));
    let path = |step: &str| format!("/api/v1/changesets/{id}/{step}");
    // An analyst cannot approve; submitting is the author's.
    assert_eq!(
        f.post(&path("submit"), &approver, None).0,
        403,
        "only the author submits"
    );
    assert_eq!(f.post(&path("submit"), &analyst, None).0, 200);
    assert_eq!(f.post(&path("approve"), &analyst, None).0, 403);
    assert_eq!(f.post(&path("approve"), &viewer, None).0, 403);
    let (status, approved) = f.post(
        &path("approve"),
        &approver,
        Some(json!({"note": "checked"})),
    );
    assert_eq!(
        (status, approved["state"].as_str()),
        (200, Some("approved"))
    );
    // Approving again: the state no longer allows it (409).
    assert_eq!(f.post(&path("approve"), &second, None).0, 409);
    // An analyst cannot apply.
    assert_eq!(f.post(&path("apply"), &analyst, None).0, 403);
    assert_eq!(served_cloud(&f, &viewer), 118_028.0);
    let (status, applied) = f.post(&path("apply"), &approver, None);
    assert_eq!(status, 200, "{applied}");
    assert_eq!(applied["revision"], 2);
    // The server answers from the new model at once.
    assert_eq!(served_cloud(&f, &viewer), 118_100.0);
    // An approver never approves its own change set.
    let (_, own) = f.propose(&approver, &cloud(118_200));
    let own = own["id"].as_i64().unwrap();
    assert_eq!(
        f.post(&format!("/api/v1/changesets/{own}/submit"), &approver, None)
            .0,
        200
    );
    let (status, body) = f.post(
        &format!("/api/v1/changesets/{own}/approve"),
        &approver,
        None,
    );
    assert_eq!(status, 403);
    assert!(
        body["message"].as_str().unwrap().contains("four eyes"),
        "{body}"
    );
    // The audit trail: the import and the apply, who, why.
    let (status, audit) = f.get("/api/v1/audit", &viewer);
    assert_eq!(status, 200);
    let audit = audit.as_array().unwrap();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[1]["author"], "analyst");
    assert_eq!(audit[1]["applied_by"], "approver");
    assert_eq!(audit[1]["message"], "restated cloud");
    assert_eq!(f.get("/api/v1/audit?since=someday", &viewer).0, 400);
    // show: history with who did what.
    let (status, shown) = f.get(&format!("/api/v1/changesets/{id}"), &viewer);
    assert_eq!(status, 200);
    let steps: Vec<&str> = shown["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["actor"].as_str().unwrap())
        .collect();
    assert_eq!(steps, vec!["analyst", "analyst", "approver", "approver"]);
    assert_eq!(shown["transitions"][2]["note"], "checked");
}

#[test]
fn a_stale_change_set_is_409_and_of_two_approvers_applying_at_once_one_wins() {
    let f = start();
    let analyst = f.token("analyst", Role::Analyst, &[]);
    let approvers = [
        f.token("a1", Role::Approver, &[]),
        f.token("a2", Role::Approver, &[]),
    ];
    let mut ids = Vec::new();
    for value in [118_100, 117_000] {
        let (status, created) = f.propose(&analyst, &cloud(value));
        assert_eq!(status, 200, "{created}");
        let id = created["id"].as_i64().unwrap();
        assert_eq!(
            f.post(&format!("/api/v1/changesets/{id}/submit"), &analyst, None)
                .0,
            200
        );
        assert_eq!(
            f.post(
                &format!("/api/v1/changesets/{id}/approve"),
                &approvers[0],
                None
            )
            .0,
            200
        );
        ids.push(id);
    }
    let results: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = ids
            .iter()
            .zip(&approvers)
            .map(|(id, token)| {
                let f = &f;
                scope.spawn(move || f.post(&format!("/api/v1/changesets/{id}/apply"), token, None))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut statuses: Vec<u16> = results.iter().map(|(s, _)| *s).collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 409], "{results:?}");
    let (_, conflict) = results.iter().find(|(s, _)| *s == 409).unwrap();
    assert_eq!(conflict["error"], "conflict");
    assert_eq!(conflict["since"].as_array().unwrap().len(), 1, "{conflict}");
    let viewer = f.token("viewer", Role::Viewer, &[]);
    let winner = if results[0].0 == 200 {
        118_100.0
    } else {
        117_000.0
    };
    assert_eq!(served_cloud(&f, &viewer), winner);
}

#[test]
fn a_scoped_token_touches_only_its_subtree() {
    let f = start();
    let cloud_team = f.token("cloud-team", Role::Analyst, &["cloud_intelligence"]);
    let cloud_viewer = f.token("cloud-viewer", Role::Viewer, &["cloud_intelligence"]);
    let group = f.token("group", Role::Analyst, &[]);
    // Its own unit: fine.
    assert_eq!(f.propose(&cloud_team, &cloud(118_100)).0, 200);
    // Another segment, or the group total: refused, nothing recorded.
    let other =
        format!("{HEADER}international_commerce,FY2025,revenue,132400,,,restated,2025-04-01,x\n");
    assert_eq!(f.propose(&cloud_team, &other).0, 403);
    let total = format!("{HEADER}alibaba,FY2025,revenue,996400,,,restated,2025-04-01,x\n");
    assert_eq!(f.propose(&cloud_team, &total).0, 403);
    // A group-wide change set is invisible to it.
    let (status, created) = f.propose(&group, &other);
    assert_eq!(status, 200, "{created}");
    let hidden = created["id"].as_i64().unwrap();
    assert_eq!(
        f.get(&format!("/api/v1/changesets/{hidden}"), &cloud_viewer)
            .0,
        403
    );
    let (_, listed) = f.get("/api/v1/changesets", &cloud_viewer);
    let ids: Vec<i64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![2],
        "only its own change set (the import is group-wide)"
    );
    // The audit trail hides the import (the whole group) from it.
    let (_, audit) = f.get("/api/v1/audit", &cloud_viewer);
    assert!(audit.as_array().unwrap().is_empty(), "{audit}");
}

#[test]
fn bad_bodies_and_invalid_change_sets_say_what_is_wrong() {
    let f = start();
    let analyst = f.token("analyst", Role::Analyst, &[]);
    // Not JSON: 400.
    let response = f
        .client
        .post(f.url("/api/v1/changesets"))
        .bearer_auth(&analyst)
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    // Unknown fields: 400.
    let (status, body) = f.post(
        "/api/v1/changesets",
        &analyst,
        Some(json!({"message": "m", "patch": {}, "extra": 1})),
    );
    assert_eq!(status, 400, "{body}");
    let (status, body) = f.post(
        "/api/v1/changesets",
        &analyst,
        Some(json!({"message": "m", "patch": {"fact": ""}})),
    );
    assert_eq!(status, 422, "{body}");
    // A fact for no unit: 422 with the pointer and line.
    let (status, body) = f.propose(
        &analyst,
        &format!("{HEADER}nowhere,FY2025,revenue,1,,,,,\n"),
    );
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["problems"][0]["file"], "patch.json#/facts");
    assert_eq!(body["problems"][0]["line"], 2);
    // No message: 400 naming it.
    let (status, body) = f.post(
        "/api/v1/changesets",
        &analyst,
        Some(json!({"message": " ", "patch": {"facts": cloud(1)}})),
    );
    assert_eq!((status, body["parameter"].as_str()), (400, Some("message")));
    // A folder patch as files works too.
    let (status, body) = f.post(
        "/api/v1/changesets",
        &analyst,
        Some(json!({"message": "files", "files": {"facts.csv": cloud(118_300)}})),
    );
    assert_eq!(status, 200, "{body}");
    // Unknown step, unknown id.
    assert_eq!(f.post("/api/v1/changesets/2/merge", &analyst, None).0, 404);
    assert_eq!(f.get("/api/v1/changesets/99", &analyst).0, 404);
    assert_eq!(f.get("/api/v1/changesets/x", &analyst).0, 400);
    assert_eq!(f.get("/api/v1/changesets?state=done", &analyst).0, 400);
}

/// Two servers on one store: a change set applied through one is served by the other
/// within a few polls (every two seconds).
#[test]
fn a_second_server_on_the_same_store_sees_the_apply() {
    let f = start();
    let other = Server::open(&f.db).unwrap().spawn("127.0.0.1:0").unwrap();
    let analyst = f.token("analyst", Role::Analyst, &[]);
    let approver = f.token("approver", Role::Approver, &[]);
    let viewer = f.token("viewer", Role::Viewer, &[]);
    let (_, created) = f.propose(&analyst, &cloud(118_500));
    let id = created["id"].as_i64().unwrap();
    f.post(&format!("/api/v1/changesets/{id}/submit"), &analyst, None);
    f.post(&format!("/api/v1/changesets/{id}/approve"), &approver, None);
    assert_eq!(
        f.post(&format!("/api/v1/changesets/{id}/apply"), &approver, None)
            .0,
        200
    );
    assert_eq!(served_cloud(&f, &viewer), 118_500.0);
    let second = Fixture {
        _dir: tempfile::tempdir().unwrap(),
        db: f.db.clone(),
        server: other,
        client: Client::new(),
    };
    let started = std::time::Instant::now();
    while served_cloud(&second, &viewer) != 118_500.0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "the second server still serves the old model"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// `?changeset=ID` answers every read as if the change set were applied: every cell of its
/// preview, asked through the roll-up with `changeset=ID`, gives the preview's figure after
/// (and without it, the figure before); structure and history see a unit the change set
/// creates; the store is unchanged; a scoped token sees only what-ifs of change sets within
/// its subtrees; a final change set is refused (semantics C12).
#[test]
fn a_what_if_read_answers_as_the_preview_says_and_respects_scopes() {
    let f = start();
    let analyst = f.token("analyst", Role::Analyst, &[]);
    let approver = f.token("approver", Role::Approver, &[]);
    let cloud_viewer = f.token("cloud", Role::Viewer, &["cloud_intelligence"]);
    let commerce_viewer = f.token("commerce", Role::Viewer, &["china_commerce"]);
    let facts = format!(
        "{HEADER}cloud_intelligence,FY2025,revenue,118100,,,restated,2025-04-01,board pack\n"
    );
    let (status, created) = f.propose(&analyst, &facts);
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_i64().unwrap();
    let (status, shown) = f.get(&format!("/api/v1/changesets/{id}"), &analyst);
    assert_eq!(status, 200, "{shown}");
    let preview = &shown["preview"];
    let structure = preview["structure"].as_str().unwrap();
    let cells = preview["cells"].as_array().unwrap();
    assert!(cells.len() >= 2, "{preview}");
    let mut metrics: Vec<&str> = cells
        .iter()
        .map(|c| c["metric"].as_str().unwrap())
        .collect();
    metrics.sort();
    metrics.dedup();
    assert!(
        metrics.len() >= 2,
        "a figure and a ratio over it: {preview}"
    );
    let periods: Vec<&str> = preview["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    let range = format!("{}..{}", periods[0], periods[periods.len() - 1]);
    for metric in metrics {
        let ask = |what_if: bool| {
            let path = format!(
                "/api/v1/rollup?metric={metric}&view=restated&structure={structure}&periods={range}&depth=1000&exact=true{}",
                if what_if { format!("&changeset={id}") } else { String::new() }
            );
            let (status, body) = f.get(&path, &analyst);
            assert_eq!(status, 200, "{path}: {body}");
            body
        };
        let (after, before) = (ask(true), ask(false));
        let value = |rollup: &Value, cell: &Value| {
            rollup["rows"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| {
                    r["node"] == cell["node"]
                        && r["kind"] == cell["kind"]
                        && r["period"] == cell["period"]
                })
                .map(|r| r["value"].clone())
                .unwrap_or(Value::Null)
        };
        let mine: Vec<&Value> = cells.iter().filter(|c| c["metric"] == metric).collect();
        assert!(!mine.is_empty(), "{metric}: {preview}");
        for cell in mine {
            assert_eq!(
                value(&after, cell),
                cell["after"],
                "{metric} what-if {cell}"
            );
            assert_eq!(
                value(&before, cell),
                cell["before"],
                "{metric} served {cell}"
            );
        }
    }
    // The POST roll-up and explain take it too; the served model is unchanged.
    let (status, body) = f.post(
        "/api/v1/rollup",
        &analyst,
        Some(json!({"metrics": ["revenue"], "view": "restated", "structure": "2025-04-01", "periods": "FY2025", "node": "cloud_intelligence", "depth": 0, "changeset": id})),
    );
    assert_eq!(
        (status, body["rows"][0]["value"].clone()),
        (200, json!(118100.0)),
        "{body}"
    );
    let (status, body) = f.get(
        &format!("/api/v1/explain?metric=revenue&view=restated&structure=2025-04-01&period=FY2025&node=cloud_intelligence&changeset={id}"),
        &analyst,
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.to_string().contains("118100"), "{body}");
    assert_eq!(served_cloud(&f, &analyst), 118_028.0);
    // A scoped token: its own subtree's change set yes, with its own scope rules applied to
    // the model after; another's no.
    let cloud_path = format!(
        "/api/v1/rollup?metric=revenue&view=restated&periods=FY2025&structure=2025-04-01&node=cloud_intelligence&depth=0&changeset={id}"
    );
    let (status, body) = f.get(&cloud_path, &cloud_viewer);
    assert_eq!(
        (status, body["rows"][0]["value"].clone()),
        (200, json!(118100.0)),
        "{body}"
    );
    let (status, body) = f.get(
        &format!("/api/v1/rollup?metric=revenue&changeset={id}"),
        &cloud_viewer,
    );
    assert_eq!(status, 403, "the group total stays hidden: {body}");
    let (status, body) = f.get(
        &format!("/api/v1/structure?changeset={id}"),
        &commerce_viewer,
    );
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("outside"),
        "{body}"
    );
    // Bad ids, and change sets no longer open.
    for (value, status) in [("x", 400), ("0", 400), ("999", 400)] {
        let (got, body) = f.get(&format!("/api/v1/structure?changeset={value}"), &analyst);
        assert_eq!(
            (got, body["parameter"].clone()),
            (status, json!("changeset")),
            "{value}: {body}"
        );
    }
    assert_eq!(
        f.post(&format!("/api/v1/changesets/{id}/withdraw"), &analyst, None)
            .0,
        200
    );
    let (status, body) = f.get(&cloud_path, &analyst);
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("withdrawn"),
        "{body}"
    );
    // A new unit is in the structure and its history only through the what-if.
    let ventures = json!({"message": "ventures", "patch": {
        "timeline": "[[change]]\nid = \"create-ventures\"\ndate = 2025-06-01\nkind = \"create\"\nunit = \"ventures\"\nname = \"Ventures\"\nparent = \"alibaba\"\n"
    }});
    let (status, created) = f.post("/api/v1/changesets", &analyst, Some(ventures));
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_i64().unwrap();
    let (_, structure) = f.get(&format!("/api/v1/structure?changeset={id}"), &approver);
    assert!(
        structure.to_string().contains("\"ventures\""),
        "{structure}"
    );
    let (_, structure) = f.get("/api/v1/structure", &approver);
    assert!(
        !structure.to_string().contains("\"ventures\""),
        "{structure}"
    );
    let (status, _) = f.get(
        &format!("/api/v1/history?unit=ventures&changeset={id}"),
        &approver,
    );
    assert_eq!(status, 200);
    assert_eq!(f.get("/api/v1/history?unit=ventures", &approver).0, 400);
}
