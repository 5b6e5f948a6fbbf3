//! The governance commands as a user meets them: leaders, boards, people, moves, pipeline,
//! rights, the check's exit code, scorecard, incentives, personal data on export, and bad
//! people events refused by import with the store unchanged.

mod common;

use common::{example, example_copy, holdco};

fn run(db: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let output = holdco(db).args(args).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

fn imported() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let (code, _, err) = run(&db, &["import", example().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    (dir, db)
}

#[test]
fn leaders_boards_people_and_history_on_the_imported_example() {
    let (_dir, db) = imported();
    let (code, out, err) = run(&db, &["people", "--at", "2023-09-11", "--json"]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let roles = json["roles"].as_array().unwrap();
    // 11 roles in units, the board's two executive and two independent directors.
    assert_eq!(roles.len(), 15);
    assert!(roles.iter().any(|r| r["unit"] == "cloud_intelligence"
        && r["role"] == "ceo"
        && r["person"] == "eddie_wu"));
    // The table and the CSV hold the same rows.
    let (_, csv, _) = run(
        &db,
        &[
            "people",
            "--at",
            "2023-09-11",
            "--unit",
            "cloud_intelligence",
            "--csv",
        ],
    );
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(
        csv.starts_with("unit,unit_name,depth,body,role,person,name,title,since,term_end,source")
    );
    let (code, out, _) = run(&db, &["people", "--at", "2023-09-11"]);
    assert_eq!(code, 0);
    assert!(out.contains("吴泳铭 Eddie Wu Yongming (eddie_wu)"), "{out}");
    // A person's roles, with the ending of each.
    let (code, out, _) = run(
        &db,
        &["person", "daniel_zhang", "--at", "2024-01-01", "--json"],
    );
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["left"], "2023-09-10");
    assert_eq!(json["roles"].as_array().unwrap().len(), 5);
    assert!(
        json["group_tenure_days"].is_null(),
        "first day not published: unknown, not guessed"
    );
    // History shows the appointments beside the structure's changes.
    let (_, out, _) = run(&db, &["history", "cloud_intelligence"]);
    assert!(
        out.contains("eddie_wu appointed ceo of cloud_intelligence"),
        "{out}"
    );
    // A unit without bodies says so; an unknown person is named.
    let (code, out, _) = run(&db, &["board", "alibaba", "--at", "2024-01-01"]);
    assert_eq!(code, 0);
    assert!(out.contains("alibaba_board"), "{out}");
    let (code, _, err) = run(&db, &["person", "jack_ma"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown person `jack_ma`"), "{err}");
    // Moves: none recorded in the example.
    let (code, out, _) = run(
        &db,
        &["moves", "--from", "2023-01-01", "--to", "2025-12-31"],
    );
    assert_eq!(code, 0);
    assert!(out.contains("0 move(s)"), "{out}");
}

#[test]
fn the_check_exits_1_on_breaches_and_0_without() {
    let (_dir, db) = imported();
    let (code, out, _) = run(&db, &["governance", "check", "--at", "2025-06-30", "--csv"]);
    assert_eq!(code, 1);
    assert_eq!(out.lines().count(), 15, "{out}");
    assert!(out.contains("needs_decision,yu_yongfu"), "{out}");
    // Without the assumed limits and policies, 2023-09-11 has no breach.
    let dir = tempfile::tempdir().unwrap();
    let model = example_copy(dir.path());
    // (The group's board stays: the example seats its executive directors on it.)
    std::fs::write(
        model.join("governance.toml"),
        "[[body]]\nid = \"alibaba_board\"\nunit = \"alibaba\"\nkind = \"board\"\nname = \"Board\"\n",
    )
    .unwrap();
    let db2 = dir.path().join("h.db");
    let (code, _, err) = run(&db2, &["import", model.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(&db2, &["governance", "check", "--at", "2023-09-11"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no breach on 2023-09-11"));
}

#[test]
fn rights_name_the_approver_by_class_and_band() {
    let (_dir, db) = imported();
    let (code, out, _) = run(
        &db,
        &[
            "rights",
            "cloud_intelligence",
            "--decision",
            "capex",
            "--amount",
            "5000",
            "--at",
            "2025-06-30",
            "--json",
        ],
    );
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["approver"], "ceo of alibaba");
    assert_eq!(json["holders"][0]["person"], "eddie_wu");
    // A strategic innovation business has its own row; the same amount elsewhere goes to the board.
    let (_, out, _) = run(
        &db,
        &[
            "rights",
            "xianyu",
            "--decision",
            "acquisition",
            "--amount",
            "100",
            "--at",
            "2025-06-30",
            "--json",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (json["class"].as_str(), json["approver"].as_str()),
        (Some("strategic_innovation"), Some("ceo of xianyu"))
    );
    let (_, out, _) = run(
        &db,
        &[
            "rights",
            "cainiao",
            "--decision",
            "acquisition",
            "--amount",
            "100",
            "--at",
            "2025-06-30",
            "--json",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        json["approver"]
            .as_str()
            .unwrap()
            .starts_with("body alibaba_board"),
        "{json}"
    );
    let (code, _, err) = run(
        &db,
        &["rights", "cainiao", "--decision", "lunch", "--amount", "1"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("no decision-rights row for `lunch`"), "{err}");
}

#[test]
fn pipeline_scorecard_and_incentives_print_tables_csv_and_json() {
    let (_dir, db) = imported();
    let (code, out, _) = run(
        &db,
        &["pipeline", "--at", "2025-06-30", "--by", "unit", "--json"],
    );
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["rows"][0]["leaders"], 6);
    assert_eq!(json["target"]["born_from"], 1985);
    let (_, out, _) = run(&db, &["pipeline", "--at", "2025-06-30"]);
    assert!(out.contains("Target young_leaders"), "{out}");
    let (code, out, _) = run(
        &db,
        &[
            "scorecard",
            "--period",
            "FY2025",
            "--node",
            "cloud_intelligence",
            "--csv",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains("118028"), "{out}");
    let (code, out, _) = run(&db, &["incentives", "--period", "FY2025"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("[illustrative assumption]") && out.contains("118,028"),
        "{out}"
    );
    let (_, out, _) = run(&db, &["incentives", "--period", "FY2025", "--csv"]);
    assert_eq!(out.lines().count(), 3, "{out}");
}

#[test]
fn export_without_personal_data_leaves_names_and_birth_years_out() {
    let (dir, db) = imported();
    let target = dir.path().join("out");
    let (code, _, err) = run(&db, &["export", target.to_str().unwrap(), "--no-personal"]);
    assert_eq!(code, 0, "{err}");
    let people = std::fs::read_to_string(target.join("people.csv")).unwrap();
    assert!(
        !people.contains("Jiang") && !people.contains("1985") && !people.contains("1964"),
        "{people}"
    );
    assert!(people.contains("jiang_fan,,,"), "{people}");
    // Still a valid model; with personal data the names come back.
    let (code, _, err) = run(&db, &["check", target.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let full = dir.path().join("full");
    run(&db, &["export", full.to_str().unwrap()]);
    assert!(std::fs::read_to_string(full.join("people.csv"))
        .unwrap()
        .contains("蒋凡 Jiang Fan,1985"));
}

#[test]
fn bad_people_events_are_refused_and_the_store_is_unchanged() {
    let (dir, db) = imported();
    let model = example_copy(dir.path());
    let timeline = std::fs::read_to_string(model.join("timeline.toml")).unwrap();
    let bad = format!("{timeline}\n[[change]]\ndate = 2024-01-01\nkind = \"people.appoint\"\nperson = \"trudy_dai\"\nrole = \"ceo\"\nunit = \"cloud_intelligence\"\n");
    std::fs::write(model.join("timeline.toml"), bad).unwrap();
    let before = run(&db, &["people", "--at", "2024-06-30", "--csv"]).1;
    let (code, _, err) = run(&db, &["import", model.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("timeline.toml:")
            && err.contains(
                "person: ceo of cloud_intelligence is an exclusive role already held by `eddie_wu`"
            ),
        "{err}"
    );
    assert_eq!(
        run(&db, &["people", "--at", "2024-06-30", "--csv"]).1,
        before
    );
    // An event kind of no known domain is refused by this binary, which knows them all.
    let odd =
        format!("{timeline}\n[[change]]\ndate = 2024-01-01\nkind = \"hr.hire\"\nperson = \"x\"\n");
    std::fs::write(model.join("timeline.toml"), odd).unwrap();
    let (code, _, err) = run(&db, &["check", model.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "kind: `hr.hire` is neither a change kind nor an event kind of a known domain"
        ),
        "{err}"
    );
}

#[test]
fn planned_appointments_in_a_scenario_project_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let model = example_copy(dir.path());
    // A test fixture, not a person of the example: someone born 1992 made group CFO in the
    // `one-alibaba` branch.
    let people = std::fs::read_to_string(model.join("people.csv")).unwrap();
    std::fs::write(
        model.join("people.csv"),
        format!("{people}test_young,Test Fixture,1992,,,a test fixture\n"),
    )
    .unwrap();
    let scenario = std::fs::read_to_string(model.join("scenarios/one-alibaba.toml")).unwrap();
    let planned = "\n[[change]]\nid = \"plan-cfo\"\ndate = 2026-01-01\nkind = \"people.appoint\"\nperson = \"test_young\"\nrole = \"cfo\"\nunit = \"alibaba\"\n";
    std::fs::write(
        model.join("scenarios/one-alibaba.toml"),
        format!("{scenario}{planned}"),
    )
    .unwrap();
    let db = dir.path().join("none.db");
    let folder = model.to_str().unwrap();
    let (code, out, err) = run(
        &db,
        &[
            "--model",
            folder,
            "pipeline",
            "--at",
            "2026-06-30",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let base: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            base["rows"][0]["leaders"].as_u64(),
            base["rows"][0]["cohort"].as_u64()
        ),
        (Some(6), Some(1))
    );
    let (code, out, err) = run(
        &db,
        &[
            "--model",
            folder,
            "pipeline",
            "--at",
            "2026-06-30",
            "--scenario",
            "one-alibaba",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let branch: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            branch["rows"][0]["leaders"].as_u64(),
            branch["rows"][0]["cohort"].as_u64()
        ),
        (Some(7), Some(2))
    );
    // In that branch AIDC merges into China E-commerce, which has a CEO: Jiang Fan's AIDC
    // role ends and needs a decision; his E-commerce role carries on.
    let (_, out, _) = run(
        &db,
        &[
            "--model",
            folder,
            "people",
            "--at",
            "2026-06-30",
            "--scenario",
            "one-alibaba",
            "--csv",
        ],
    );
    assert!(!out.contains("international_commerce"), "{out}");
    assert!(
        out.contains("china_commerce") && out.contains("jiang_fan"),
        "{out}"
    );
    let (code, _, err) = run(
        &db,
        &[
            "--model",
            folder,
            "pipeline",
            "--at",
            "2026-06-30",
            "--scenario",
            "nope",
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("no scenario `nope`"), "{err}");
}

#[test]
fn the_plan_and_the_branches_list_the_approvals_they_need() {
    let (_dir, db) = imported();
    let (code, out, err) = run(&db, &["plan", "--approvals", "--json"]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let approvals = json[0]["approvals"].as_array().unwrap();
    let find = |what: &str, unit: &str| {
        approvals
            .iter()
            .find(|a| a["what"] == what && a["unit"] == unit)
            .unwrap_or_else(|| panic!("{what} {unit}: {out}"))
    };
    // Above RMB 10bn: the board above the unit (its directors as recorded: two executive,
    // two independent).
    let cloud = find("allocation 2025", "cloud_intelligence");
    assert_eq!(cloud["approver"], "body alibaba_board (board of alibaba)");
    assert_eq!(cloud["band"], "from 10000");
    assert_eq!(cloud["holders"].as_array().unwrap().len(), 4);
    // From 1bn to 10bn: the group CEO, held by Eddie Wu on the plan's classes_on date.
    let commerce = find("allocation 2025", "china_commerce");
    assert_eq!(commerce["approver"], "ceo of alibaba");
    assert_eq!(commerce["holders"][0]["person"], "eddie_wu");
    assert_eq!(commerce["date"], "2025-02-24");
    // The solver's 999.9999988 for a floor of 1,000 is the band's edge: the group CEO's
    // band, not the unit's own CEO's.
    let dingtalk = find("allocation 2025", "dingtalk");
    assert_eq!(dingtalk["amount"], 1000.0);
    assert_eq!(dingtalk["band"], "1000 to 10000");
    // Disposals the plan counts on: Intime had left the group; Sun Art goes to the board.
    assert_eq!(
        find("disposal proceeds 2025", "intime")["status"],
        "not_in_group"
    );
    assert_eq!(
        find("disposal proceeds 2025", "sun_art")["decision"],
        "disposal"
    );

    let (code, out, err) = run(
        &db,
        &[
            "scenario",
            "approvals",
            "spin-off-cloud",
            "one-alibaba",
            "--csv",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("source,what,unit,decision,amount,class,date,status,band,approver"),
        "{out}"
    );
    // The spin-off is a disposal without proceeds: the highest band, the board, on the eve.
    assert!(
        lines.iter().any(|l| l.contains("spin-off-cloud")
            && l.contains(",disposal,,")
            && l.contains("2025-06-29,approver,from 0,body alibaba_board")),
        "{out}"
    );
    // The merger has no row in the example's table: said, not guessed.
    assert!(
        lines.iter().any(|l| l.contains("integrate-ecommerce")
            && l.contains(",merge,")
            && l.contains(",no_rule,")),
        "{out}"
    );

    // The tables say the same below the plan and a run.
    let (code, out, _) = run(&db, &["plan"]);
    assert_eq!(code, 0);
    assert!(out.contains("Approvals the plan needs"), "{out}");
    let (code, out, _) = run(
        &db,
        &["scenario", "run", "spin-off-cloud", "--paths", "200"],
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("Approvals the branch `spin-off-cloud` needs"),
        "{out}"
    );
}
