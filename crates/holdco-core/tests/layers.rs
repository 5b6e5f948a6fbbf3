//! Published restatements as layers over reported facts (docs/semantics.md, section 4):
//! the group's own restatement into the target structure wins, one into an earlier
//! structure is carried on by lineage, reported facts fill in the rest, and every cell says
//! which. Each rule on a tiny model: group `g` with segments `a` and `b`; on 2021-04-01
//! `a` splits half to `b` and `c` is created.

use crate::common::{model, query};
use holdco_core::rollup::{BasisFilter, Engine, RowKind, View};

const TIMELINE: &str = r#"
[[change]]
date = 2020-01-01
kind = "create"
unit = "g"
name = "Group"
unit_kind = "group"

[[change]]
date = 2020-01-01
kind = "create"
unit = "a"
name = "A"
parent = "g"

[[change]]
date = 2020-01-01
kind = "create"
unit = "b"
name = "B"
parent = "g"

[[change]]
date = 2021-04-01
kind = "split"
unit = "a"
parts = [{ unit = "a", share = 0.5 }, { unit = "b", share = 0.5 }]

[[change]]
date = 2021-04-01
kind = "create"
unit = "c"
name = "C"
parent = "g"

[[change]]
date = 2022-04-01
kind = "rename"
unit = "c"
name = "C renamed"
"#;

/// Reported FY2021 (April 2020 - March 2021) in the first structure, and the group's own
/// restatement of FY2021 into the 2021-04-01 structure, which says `a` kept 40, not half.
const FACTS: &str = "unit,period,metric,value,currency,counterparty,basis,structure,source
g,FY2021,revenue,300,,,reported,,
a,FY2021,revenue,100,,,reported,,
b,FY2021,revenue,200,,,reported,,
g,FY2021,revenue,300,,,restated,2021-04-01,
a,FY2021,revenue,40,,,restated,2021-04-01,
b,FY2021,revenue,260,,,restated,2021-04-01,
";

fn cell(
    engine: &Engine,
    node: &str,
    structure: &str,
    basis: BasisFilter,
) -> (Option<f64>, Option<String>) {
    let mut q = query(
        "revenue",
        "FY2021",
        View::Restated,
        Some(structure),
        Some(node),
        0,
    );
    q.basis = basis;
    let rollup = engine.rollup(&q).unwrap();
    (rollup.rows[0].value, rollup.rows[0].provenance.clone())
}

#[test]
fn the_groups_restatement_into_the_target_structure_wins_over_lineage() {
    let model = model(TIMELINE, FACTS, None);
    let engine = Engine::new(&model).unwrap();
    // Lineage alone would give a = 50, b = 250; the group said 40 and 260.
    assert_eq!(
        cell(&engine, "a", "2021-04-01", BasisFilter::Reported),
        (Some(40.0), Some("published".into()))
    );
    assert_eq!(
        cell(&engine, "b", "2021-04-01", BasisFilter::Reported),
        (Some(260.0), Some("published".into()))
    );
    // A later structure reached only by a rename is the same structure: still published.
    assert_eq!(
        cell(&engine, "a", "2022-06-30", BasisFilter::Reported),
        (Some(40.0), Some("published".into()))
    );
    // --from reported: holdco's own restatement by lineage.
    assert_eq!(
        cell(&engine, "a", "2021-04-01", BasisFilter::ReportedOnly),
        (Some(50.0), Some("computed".into()))
    );
    assert_eq!(
        cell(&engine, "b", "2021-04-01", BasisFilter::ReportedOnly),
        (Some(250.0), Some("computed".into()))
    );
    // Before the restatement's structure date it does not apply.
    assert_eq!(
        cell(&engine, "a", "2021-03-31", BasisFilter::Reported),
        (Some(100.0), Some("computed".into()))
    );
}

#[test]
fn an_earlier_restatement_is_chained_by_lineage_and_totals_never_move() {
    // A second split after the publication: b gives 10% of its history to c.
    let timeline = format!("{TIMELINE}\n[[change]]\ndate = 2023-04-01\nkind = \"split\"\nunit = \"b\"\nparts = [{{ unit = \"b\", share = 0.9 }}, {{ unit = \"c\", share = 0.1 }}]\n");
    let model = model(&timeline, FACTS, None);
    let engine = Engine::new(&model).unwrap();
    let (b, how) = cell(&engine, "b", "2023-06-30", BasisFilter::Reported);
    assert!((b.unwrap() - 234.0).abs() < 1e-9, "{b:?}");
    assert_eq!(how.as_deref(), Some("chained from 2021-04-01"));
    let (c, _) = cell(&engine, "c", "2023-06-30", BasisFilter::Reported);
    assert!((c.unwrap() - 26.0).abs() < 1e-9);
    let (g, _) = cell(&engine, "g", "2023-06-30", BasisFilter::Reported);
    assert_eq!(g, Some(300.0));
}

#[test]
fn a_partial_publication_is_completed_from_reported_facts_below_its_total() {
    // The group restated only its total and `a`: `b` comes from lineage, and what the
    // published total and the parts disagree on is shown as the group's own line.
    let facts = "unit,period,metric,value,currency,counterparty,basis,structure,source
g,FY2021,revenue,300,,,reported,,
a,FY2021,revenue,100,,,reported,,
b,FY2021,revenue,200,,,reported,,
g,FY2021,revenue,310,,,restated,2021-04-01,
a,FY2021,revenue,40,,,restated,2021-04-01,
";
    let model = model(TIMELINE, facts, None);
    let engine = Engine::new(&model).unwrap();
    let rollup = engine
        .rollup(&query(
            "revenue",
            "FY2021",
            View::Restated,
            Some("2021-04-01"),
            None,
            1,
        ))
        .unwrap();
    let find = |node: &str, kind: RowKind| {
        rollup
            .rows
            .iter()
            .find(|r| r.node == node && r.kind == kind)
            .and_then(|r| r.value)
    };
    assert_eq!(find("g", RowKind::Node), Some(310.0));
    assert_eq!(find("a", RowKind::Node), Some(40.0));
    assert_eq!(find("b", RowKind::Node), Some(250.0)); // 200 + half of a's 100
                                                       // Children plus lines equal the parent: 40 + 250 + 20 = 310.
    assert_eq!(find("g", RowKind::Own), Some(20.0));
    let b_row = rollup
        .rows
        .iter()
        .find(|r| r.node == "b" && r.kind == RowKind::Node)
        .unwrap();
    assert_eq!(b_row.provenance.as_deref(), Some("computed"));
    let g_row = rollup
        .rows
        .iter()
        .find(|r| r.node == "g" && r.kind == RowKind::Node)
        .unwrap();
    assert_eq!(g_row.provenance.as_deref(), Some("published"));
}

#[test]
fn a_restatement_covers_the_gaps_of_the_facts_it_replaces() {
    // `a` reported only three quarters of FY2021 (a gap), but the group restated the year.
    let facts = "unit,period,metric,value,currency,counterparty,basis,structure,source
a,FY2021Q1,revenue,25,,,reported,,
a,FY2021Q2,revenue,25,,,reported,,
a,FY2021Q3,revenue,25,,,reported,,
b,FY2021,revenue,200,,,reported,,
a,FY2021,revenue,40,,,restated,2021-04-01,
b,FY2021,revenue,260,,,restated,2021-04-01,
";
    let model = model(TIMELINE, facts, None);
    let engine = Engine::new(&model).unwrap();
    assert_eq!(
        cell(&engine, "a", "2021-04-01", BasisFilter::Reported).0,
        Some(40.0)
    );
    assert_eq!(
        cell(&engine, "g", "2021-04-01", BasisFilter::Reported).0,
        Some(300.0)
    );
    // Computed from reported facts alone, the gap shows.
    assert_eq!(
        cell(&engine, "a", "2021-04-01", BasisFilter::ReportedOnly).0,
        None
    );
}

#[test]
fn the_reported_view_never_reads_restatements() {
    let model = model(TIMELINE, FACTS, None);
    let engine = Engine::new(&model).unwrap();
    let rollup = engine
        .rollup(&query(
            "revenue",
            "FY2021",
            View::Reported,
            None,
            Some("a"),
            0,
        ))
        .unwrap();
    assert_eq!(rollup.rows[0].value, Some(100.0));
    assert_eq!(rollup.rows[0].provenance.as_deref(), Some("reported"));
    assert_eq!(rollup.engine, "explainable");
}

/// A spin-off with a retained stake (issue "Fidelity", item 9): an industrial group `g` with
/// divisions `a` and `b` spins `a` off to its shareholders on 2021-01-01, keeping 19.9% at
/// fair value, and publishes its 2020 recast as continuing operations (60).
const SPIN_TIMELINE: &str = r#"
[[change]]
date = 2020-01-01
kind = "create"
unit = "g"
name = "Group"
unit_kind = "group"

[[change]]
date = 2020-01-01
kind = "create"
unit = "a"
name = "Division A"
parent = "g"

[[change]]
date = 2020-01-01
kind = "create"
unit = "b"
name = "Division B"
parent = "g"

[[change]]
id = "spin-a"
date = 2020-04-01
kind = "spin_off"
unit = "a"
retained = 0.199
method = "fair_value"
"#;

#[test]
fn a_spin_off_leaves_continuing_operations_and_keeps_its_stake() {
    let facts = "unit,period,metric,value,currency,counterparty,basis,structure,source
g,FY2020,revenue,100,,,reported,,
a,FY2020,revenue,40,,,reported,,
b,FY2020,revenue,60,,,reported,,
g,FY2020,revenue,60,,,restated,2020-04-01,
b,FY2020,revenue,60,,,restated,2020-04-01,
";
    let model = model(SPIN_TIMELINE, facts, None);
    let engine = Engine::new(&model).unwrap();
    let mut q = query(
        "revenue",
        "FY2020",
        View::Restated,
        Some("2020-06-30"),
        None,
        1,
    );
    q.basis = BasisFilter::ReportedOnly;
    let rollup = engine.rollup(&q).unwrap();
    let find = |kind: RowKind, node: &str| {
        rollup
            .rows
            .iter()
            .find(|r| r.kind == kind && r.node == node)
            .and_then(|r| r.value)
    };
    // The total never moves; continuing operations are what the structure still consolidates.
    assert_eq!(find(RowKind::Node, "g"), Some(100.0));
    assert_eq!(find(RowKind::Continuing, "g"), Some(60.0));
    assert_eq!(find(RowKind::Discontinued, "a"), Some(40.0));
    assert_eq!(find(RowKind::Node, "b"), Some(60.0));
    // The unit stays in the structure as a holding at 19.9%, not consolidated.
    let structure = engine
        .timeline()
        .structure_on(chrono::NaiveDate::from_ymd_opt(2020, 6, 30).unwrap());
    let a = engine
        .timeline()
        .unit(&holdco_core::UnitId::parse("a").unwrap())
        .unwrap();
    assert!(structure.alive[a as usize]);
    assert_eq!(
        engine
            .timeline()
            .ownership_on(a, chrono::NaiveDate::from_ymd_opt(2020, 6, 30).unwrap()),
        (0.0, 0.199)
    );
    // reconcile compares the published recast (continuing, 60) with continuing operations.
    let checks =
        holdco_core::reconcile::reconcile(&model, holdco_core::reconcile::Tolerance::Absolute(0.5))
            .unwrap();
    let recast = checks
        .iter()
        .find(|c| c.kind == holdco_core::reconcile::CheckKind::Restatement && c.unit == "g")
        .unwrap();
    assert!(recast.ok, "{recast:?}");
    assert_eq!(recast.computed, 60.0);
}

#[test]
fn spin_off_files_are_checked_and_written_back() {
    let bad = SPIN_TIMELINE.replace("method = \"fair_value\"", "method = \"cost\"");
    let files = crate::common::files(&bad, "unit,period,metric,value\n", None);
    let problems = crate::common::problems(&files);
    assert!(
        problems
            .iter()
            .any(|p| p.to_string().contains("method")
                && p.to_string().contains("equity or fair_value")),
        "{problems:?}"
    );
    let model = model(SPIN_TIMELINE, "unit,period,metric,value\n", None);
    let written = holdco_core::format::write_model(&model);
    let timeline = String::from_utf8(written.get("timeline.toml").unwrap().clone()).unwrap();
    assert!(
        timeline.contains("kind = \"spin_off\"")
            && timeline.contains("retained = 0.199")
            && timeline.contains("method = \"fair_value\""),
        "{timeline}"
    );
}

/// Sales to other segments, published per segment without naming the buyer (issue
/// "Fidelity", item 10): the counterparty is the parent, and the figure is eliminated there.
#[test]
fn sales_to_other_segments_are_eliminated_at_the_parent() {
    let facts = "unit,period,metric,value,currency,counterparty,basis,structure,source
a,FY2021,revenue,100,,,reported,,
a,FY2021,revenue,10,,g,reported,,
b,FY2021,revenue,50,,,reported,,
";
    let model = model(TIMELINE, facts, None);
    let engine = Engine::new(&model).unwrap();
    let rollup = engine
        .rollup(&query("revenue", "FY2021", View::Reported, None, None, 1))
        .unwrap();
    let find = |kind: RowKind, node: &str| {
        rollup
            .rows
            .iter()
            .find(|r| r.kind == kind && r.node == node)
            .map(|r| (r.value, r.eliminated))
    };
    assert_eq!(find(RowKind::Node, "a"), Some((Some(110.0), 0.0)));
    assert_eq!(find(RowKind::Node, "g"), Some((Some(150.0), 10.0)));
    assert_eq!(find(RowKind::Eliminations, "g"), Some((Some(-10.0), 0.0)));
    // Restated after `a` split half into `b`: still eliminated at the group, never below it.
    let restated = engine
        .rollup(&query(
            "revenue",
            "FY2021",
            View::Restated,
            Some("2021-06-30"),
            None,
            1,
        ))
        .unwrap();
    let value = |node: &str| {
        restated
            .rows
            .iter()
            .find(|r| r.kind == RowKind::Node && r.node == node)
            .and_then(|r| r.value)
    };
    assert_eq!(
        (value("a"), value("b"), value("g")),
        (Some(55.0), Some(105.0), Some(150.0))
    );
}
