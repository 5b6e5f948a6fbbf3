//! The semantics DESIGN.md requires, each on a small model: restating with lineage through
//! moves, splits (per-metric shares), merges and divestments; decomposition of recorded
//! totals; eliminations that follow regrouping; aggregation by metric kind; FX; ownership.

use crate::common::{lines, model, value};
use holdco_core::rollup::{Engine, View};

pub const TIMELINE: &str = r#"
[[change]]
date = 2020-01-01
kind = "create"
unit = "g"
name = "测试集团"
unit_kind = "group"

[[change]]
date = 2020-01-01
kind = "create"
unit = "a"
name = "Segment A"
parent = "g"

[[change]]
date = 2020-01-01
kind = "create"
unit = "a1"
name = "A one"
parent = "a"

[[change]]
date = 2020-01-01
kind = "create"
unit = "a2"
name = "A two"
parent = "a"

[[change]]
date = 2020-01-01
kind = "create"
unit = "b"
name = "Segment B"
parent = "g"

[[change]]
date = 2020-01-01
kind = "create"
unit = "b1"
name = "B one"
parent = "b"

[[change]]
date = 2022-04-01
kind = "create"
unit = "c"
name = "Segment C"
parent = "g"

[[change]]
date = 2022-04-01
kind = "create"
unit = "d"
name = "Segment D"
parent = "g"

[[change]]
date = 2022-04-01
kind = "move"
unit = "a1"
parent = "c"

[[change]]
date = 2022-04-01
kind = "move"
unit = "a2"
parent = "d"

[[change]]
id = "split-a"
date = 2022-04-01
kind = "split"
unit = "a"
parts = [
  { unit = "c", share = 0.7, shares = { ebita = 0.5 } },
  { unit = "d", share = 0.3, shares = { ebita = 0.5 } },
]

[[change]]
id = "merge-b"
date = 2023-04-01
kind = "merge"
units = ["b"]
into = "c"

[[change]]
id = "sell-b1"
date = 2023-06-01
kind = "divest"
unit = "b1"
proceeds = 25
buyer = "Someone"
"#;

pub const FACTS: &str = "unit,period,metric,value,counterparty
g,FY2022,revenue,150,
a,FY2022,revenue,100,
a1,FY2022,revenue,60,
a2,FY2022,revenue,40,
b,FY2022,revenue,50,
b1,FY2022,revenue,20,
a,FY2022,ebita,10,
b,FY2022,ebita,5,
c,FY2023,revenue,70,
c,FY2023,revenue,10,d
d,FY2023,revenue,30,
b,FY2023,revenue,60,
g,FY2023,revenue,160,
";

fn sample() -> holdco_core::Model {
    model(TIMELINE, FACTS, None)
}

#[test]
fn reported_view_uses_each_period_structure_and_decomposes_totals() {
    let m = sample();
    assert_eq!(
        value(&m, "revenue", "FY2022", View::Reported, None, "g"),
        Some(150.0)
    );
    assert_eq!(
        value(&m, "revenue", "FY2022", View::Reported, None, "a"),
        Some(100.0)
    );
    assert_eq!(
        value(&m, "revenue", "FY2022", View::Reported, None, "b"),
        Some(50.0)
    );
    assert_eq!(
        value(&m, "revenue", "FY2022", View::Reported, None, "b1"),
        Some(20.0)
    );
}

#[test]
fn restating_follows_moves_splits_merges_and_shows_discontinued() {
    let m = sample();
    let after = Some("2023-06-01");
    // a's own remainder is 0 (a1 + a2 = a); a1 moved to c, a2 to d; b's own 30 merged into c;
    // b1 was divested, so its 20 is a discontinued line.
    assert_eq!(
        value(&m, "revenue", "FY2022", View::Restated, after, "c"),
        Some(90.0)
    );
    assert_eq!(
        value(&m, "revenue", "FY2022", View::Restated, after, "d"),
        Some(40.0)
    );
    assert_eq!(
        value(&m, "revenue", "FY2022", View::Restated, after, "g"),
        Some(150.0)
    );
    let rows = lines(&m, "revenue", "FY2022", View::Restated, after, 1);
    assert!(
        rows.iter()
            .any(|(n, k, v)| n == "b1" && k == "Discontinued" && *v == Some(20.0)),
        "{rows:?}"
    );
    // Per-metric shares: EBITA of a is split 50/50, b's merges into c.
    assert_eq!(
        value(&m, "ebita", "FY2022", View::Restated, after, "c"),
        Some(10.0)
    );
    assert_eq!(
        value(&m, "ebita", "FY2022", View::Restated, after, "d"),
        Some(5.0)
    );
}

#[test]
fn organic_view_leaves_out_divested_units() {
    let m = sample();
    let engine = Engine::new(&m).unwrap();
    let mut query = crate::common::query(
        "revenue",
        "FY2022",
        View::Organic,
        Some("2023-06-01"),
        None,
        1,
    );
    let rollup = engine.rollup(&query).unwrap();
    assert_eq!(rollup.excluded, vec!["b1".to_string()]);
    assert_eq!(rollup.rows[0].value, Some(130.0));
    query.view = View::Restated;
    assert_eq!(engine.rollup(&query).unwrap().rows[0].value, Some(150.0));
}

/// Rule 3.1a: the organic view takes a unit it leaves out out of a recorded total above it
/// by what the unit added to that total, which is net of its sales to units inside the
/// total. `x` sells 100 outside and 20 to `y`; the group records 170 (net of the 20). With
/// `x` left out the group is `y`'s 70, not 50: the 20 comes out of the recorded total once,
/// not twice. The columnar path gives the same rows.
#[test]
fn organic_view_takes_a_unit_out_of_a_recorded_total_net_of_its_intercompany_sales() {
    let timeline = r#"
[[change]]
date = 2020-01-01
kind = "create"
unit = "g"
name = "Group"
unit_kind = "group"

[[change]]
date = 2020-01-01
kind = "create"
unit = "x"
name = "X"
parent = "g"

[[change]]
date = 2020-01-01
kind = "create"
unit = "y"
name = "Y"
parent = "g"

[[change]]
date = 2023-06-01
kind = "close"
unit = "x"
"#;
    let facts = "unit,period,metric,value,counterparty
g,FY2022,revenue,170,
x,FY2022,revenue,100,
x,FY2022,revenue,20,y
y,FY2022,revenue,70,
";
    let m = model(timeline, facts, None);
    let engine = Engine::new(&m).unwrap();
    let mut query = crate::common::query(
        "revenue",
        "FY2022",
        View::Organic,
        Some("2023-06-01"),
        None,
        1,
    );
    let organic = engine.rollup(&query).unwrap();
    assert_eq!(organic.excluded, vec!["x".to_string()]);
    assert_eq!(organic.rows[0].value, Some(70.0));
    let table = holdco_core::columnar::FactTable::from_model(&m, &engine).unwrap();
    let fast = holdco_core::columnar::rollup_from_table(&engine, &table, &query).unwrap();
    assert_eq!(fast.rows.len(), organic.rows.len());
    for (f, s) in fast.rows.iter().zip(&organic.rows) {
        assert_eq!(
            (&f.node, f.value, f.eliminated),
            (&s.node, s.value, s.eliminated)
        );
    }
    query.view = View::Restated;
    assert_eq!(engine.rollup(&query).unwrap().rows[0].value, Some(170.0));
}

#[test]
fn eliminations_follow_the_viewed_structure() {
    let m = sample();
    // FY2023 reported: c sold 10 to d; both sit under g: eliminated at g only.
    assert_eq!(
        value(&m, "revenue", "FY2023", View::Reported, None, "c"),
        Some(80.0)
    );
    assert_eq!(
        value(&m, "revenue", "FY2023", View::Reported, None, "d"),
        Some(30.0)
    );
    assert_eq!(
        value(&m, "revenue", "FY2023", View::Reported, None, "g"),
        Some(160.0)
    );
    let rows = lines(&m, "revenue", "FY2023", View::Reported, None, 1);
    assert!(
        rows.iter()
            .any(|(_, k, v)| k == "Eliminations" && *v == Some(-10.0)),
        "{rows:?}"
    );
    // A unit's own figure never changes through eliminations.
    assert_eq!(
        value(
            &m,
            "revenue",
            "FY2023",
            View::Restated,
            Some("2023-06-01"),
            "d"
        ),
        Some(30.0)
    );
}

#[test]
fn restating_preserves_the_group_total() {
    let m = sample();
    for period in ["FY2022", "FY2023"] {
        let reported = value(&m, "revenue", period, View::Reported, None, "g");
        for date in ["2020-06-01", "2022-04-01", "2023-04-01", "2023-06-01"] {
            assert_eq!(
                value(&m, "revenue", period, View::Restated, Some(date), "g"),
                reported,
                "{period} into {date}"
            );
        }
    }
}

#[test]
fn ratios_are_computed_after_aggregation() {
    let m = sample();
    let margin = value(
        &m,
        "margin",
        "FY2022",
        View::Restated,
        Some("2023-06-01"),
        "c",
    )
    .unwrap();
    assert!((margin - 10.0 / 90.0).abs() < 1e-12);
}

const PERIOD_TIMELINE: &str = r#"
[[change]]
date = 2020-01-01
kind = "create"
unit = "g"
name = "G"

[[change]]
date = 2020-01-01
kind = "create"
unit = "x"
name = "X"
parent = "g"
"#;

#[test]
fn finer_periods_aggregate_by_metric_kind_and_gaps_show() {
    let facts = "unit,period,metric,value,currency
x,FY2024Q1,revenue,10,
x,FY2024Q2,revenue,20,
x,FY2024Q3,revenue,30,
x,FY2024Q4,revenue,40,
x,FY2025Q1,revenue,50,
x,FY2024Q3,headcount,100,
x,FY2024Q4,headcount,120,
x,FY2024,dau,7,
x,2023-04,ebita,1,
";
    let m = model(PERIOD_TIMELINE, facts, None);
    assert_eq!(
        value(&m, "revenue", "FY2024", View::Reported, None, "x"),
        Some(100.0)
    );
    assert_eq!(
        value(&m, "headcount", "FY2024", View::Reported, None, "x"),
        Some(120.0)
    );
    // FY2025 has only one quarter: a visible gap, never a partial sum.
    let engine = Engine::new(&m).unwrap();
    let rollup = engine
        .rollup(&crate::common::query(
            "revenue",
            "FY2025",
            View::Reported,
            None,
            Some("x"),
            0,
        ))
        .unwrap();
    assert_eq!(rollup.rows[0].value, None);
    assert!(
        rollup.rows[0].gap.as_deref().unwrap().contains("FY2025Q2"),
        "{:?}",
        rollup.rows[0].gap
    );
    // A quarter built from months, and a non-additive metric shown only where recorded.
    let q = engine
        .rollup(&crate::common::query(
            "ebita",
            "FY2024Q1",
            View::Reported,
            None,
            Some("x"),
            0,
        ))
        .unwrap();
    assert!(q.rows[0].gap.is_some());
    assert_eq!(
        value(&m, "dau", "FY2024", View::Reported, None, "x"),
        Some(7.0)
    );
    // The group has one quarter of its own and its unit x is complete: the group's own
    // figure for the other three quarters is unknown, so its year is a gap (semantics 5.1),
    // while x's year is known.
    let with_group_quarter = format!("{facts}g,FY2024Q1,revenue,10,\n");
    let m = model(PERIOD_TIMELINE, &with_group_quarter, None);
    assert_eq!(
        value(&m, "revenue", "FY2024", View::Reported, None, "g"),
        None
    );
    assert_eq!(
        value(&m, "revenue", "FY2024", View::Reported, None, "x"),
        Some(100.0)
    );
    assert_eq!(value(&m, "dau", "FY2024", View::Reported, None, "g"), None);
}

#[test]
fn flows_translate_at_average_and_stocks_at_closing_rates() {
    let facts = "unit,period,metric,value,currency
x,FY2024,revenue,10,USD
x,FY2024,headcount,5,
";
    let fx = "currency,period,average,closing\nUSD,FY2024,7,7.5\n";
    let m = model(PERIOD_TIMELINE, facts, Some(fx));
    assert_eq!(
        value(&m, "revenue", "FY2024", View::Reported, None, "g"),
        Some(70.0)
    );
    let engine = Engine::new(&m).unwrap();
    let mut query = crate::common::query("revenue", "FY2024", View::Reported, None, Some("g"), 0);
    query.currency = Some(holdco_core::Currency::parse("USD").unwrap());
    assert_eq!(engine.rollup(&query).unwrap().rows[0].value, Some(10.0));
}

#[test]
fn ownership_counts_controlled_units_fully_and_others_at_share() {
    let timeline = format!(
        "{PERIOD_TIMELINE}
[[change]]
date = 2020-01-01
kind = \"create\"
unit = \"y\"
name = \"Y\"
parent = \"g\"

[[change]]
date = 2023-01-01
kind = \"stake\"
unit = \"x\"
share = 0.6

[[change]]
date = 2023-01-01
kind = \"stake\"
unit = \"y\"
share = 0.3
"
    );
    let facts = "unit,period,metric,value\nx,FY2024,revenue,100\ny,FY2024,revenue,100\n";
    let m = model(&timeline, facts, None);
    let engine = Engine::new(&m).unwrap();
    let rollup = engine
        .rollup(&crate::common::query(
            "revenue",
            "FY2024",
            View::Reported,
            None,
            None,
            1,
        ))
        .unwrap();
    assert_eq!(rollup.rows[0].value, Some(130.0));
    let x = rollup.rows.iter().find(|r| r.node == "x").unwrap();
    assert_eq!(x.value, Some(100.0));
    assert!((x.minority - 40.0).abs() < 1e-9);
}

#[test]
fn explain_lists_facts_lineage_and_eliminations() {
    let m = sample();
    let engine = Engine::new(&m).unwrap();
    let explanation = engine
        .explain(&crate::common::query(
            "revenue",
            "FY2022",
            View::Restated,
            Some("2023-06-01"),
            Some("c"),
            0,
        ))
        .unwrap();
    assert_eq!(explanation.value, Some(90.0));
    let total: f64 = explanation.parts[0].facts.iter().map(|f| f.amount).sum();
    assert_eq!(total, 90.0);
    assert!(explanation.parts[0]
        .facts
        .iter()
        .any(|f| f.lineage.iter().any(|s| s.change == "merge-b")));
}

#[test]
fn calibration_recovers_split_shares() {
    // a's 100 was split; the group later published c and d for FY2022 restated: 70 and 30.
    let facts = "unit,period,metric,value,basis,structure
a,FY2022,revenue,100,,
b,FY2022,revenue,50,,
c,FY2022,revenue,70,restated,2022-04-01
d,FY2022,revenue,30,restated,2022-04-01
";
    let timeline = TIMELINE
        .replace("share = 0.7, shares = { ebita = 0.5 }", "share = 0.5")
        .replace("share = 0.3, shares = { ebita = 0.5 }", "share = 0.5");
    let m = model(&timeline, facts, None);
    let request = holdco_core::calibrate::Calibration {
        changes: vec!["split-a".into()],
        periods: vec![holdco_core::Period::parse(
            "FY2022",
            holdco_core::FiscalCalendar { year_end_month: 3 },
        )
        .unwrap()],
        metrics: vec![holdco_core::MetricId::parse("revenue").unwrap()],
        published: None,
    };
    let result = holdco_core::calibrate::calibrate(&m, &request).unwrap();
    let shares = &result.splits[0].parts;
    assert!((shares[0].1 - 0.7).abs() < 1e-9, "{shares:?}");
    assert!((shares[1].1 - 0.3).abs() < 1e-9, "{shares:?}");
    assert!(result.rms_residual < 1e-9);
}

#[test]
fn explain_groups_discontinued_lines_by_the_unit_that_left() {
    let timeline = format!(
        "{PERIOD_TIMELINE}
[[change]]
date = 2020-01-01
kind = \"create\"
unit = \"d\"
name = \"D\"
parent = \"g\"

[[change]]
date = 2020-01-01
kind = \"create\"
unit = \"d1\"
name = \"D1\"
parent = \"d\"

[[change]]
date = 2020-01-01
kind = \"create\"
unit = \"d2\"
name = \"D2\"
parent = \"d\"

[[change]]
date = 2020-01-01
kind = \"create\"
unit = \"e\"
name = \"E\"
parent = \"g\"

[[change]]
date = 2023-07-01
kind = \"divest\"
unit = \"d\"

[[change]]
date = 2023-08-01
kind = \"divest\"
unit = \"e\"
"
    );
    // Facts in an order that interleaves the two units that left.
    let facts = "unit,period,metric,value\nx,FY2023,revenue,100\nd1,FY2023,revenue,4\ne,FY2023,revenue,7\nd2,FY2023,revenue,6\n";
    let m = model(&timeline, facts, None);
    let engine = Engine::new(&m).unwrap();
    let explanation = engine
        .explain(&crate::common::query(
            "revenue",
            "FY2023",
            View::Restated,
            Some("2024-06-01"),
            None,
            0,
        ))
        .unwrap();
    assert_eq!(explanation.value, Some(117.0));
    let part = &explanation.parts[0];
    let order: Vec<(&str, &str)> = part
        .facts
        .iter()
        .map(|f| (f.unit.as_str(), f.lands_at.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            ("x", "x"),
            ("d1", "discontinued: d"),
            ("d2", "discontinued: d"),
            ("e", "discontinued: e")
        ]
    );
    let lines: Vec<(&str, &str, Option<&str>, f64, usize)> = part
        .lines
        .iter()
        .map(|l| {
            (
                l.line.as_str(),
                l.unit.as_str(),
                l.left.as_deref(),
                l.amount,
                l.facts,
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("discontinued: d", "d", Some("divest 2023-07-01"), 10.0, 2),
            ("discontinued: e", "e", Some("divest 2023-08-01"), 7.0, 1)
        ]
    );
    assert_eq!(part.lines[0].name, "D");
}
