//! Regression tests for the defects an independent reference implementation found (issue
//! "Fidelity", defects 1-7), each on the tiny model it was found with: group `g` created
//! 2020-01-01, one flow metric, monthly facts. Calendar-year periods.

use holdco_core::format::{read_model, ModelFiles};
use holdco_core::rollup::{BasisFilter, Engine, Query, Rollup, RowKind, View};
use holdco_core::{MetricId, Model, Period};

const GROUP: &str = r#"
[group]
id = "g"
name = "G"
currency = "CNY"
fiscal_year_end = "12-31"

[[metric]]
id = "revenue"
name = "Revenue"
measure = "currency"
aggregation = "flow"
"#;

fn create(unit: &str, parent: &str) -> String {
    format!("[[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"{unit}\"\nname = \"{}\"\nparent = \"{parent}\"\n\n", unit.to_uppercase())
}

fn build(changes: &str, facts: &[(&str, &str, f64)]) -> Model {
    let timeline = format!("[[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"g\"\nname = \"G\"\nunit_kind = \"group\"\n\n{changes}");
    let mut csv = String::from("unit,period,metric,value\n");
    for (unit, period, value) in facts {
        csv.push_str(&format!("{unit},{period},revenue,{value}\n"));
    }
    let mut files = ModelFiles::new();
    files.insert("group.toml".into(), GROUP.as_bytes().to_vec());
    files.insert("timeline.toml".into(), timeline.into_bytes());
    files.insert("facts.csv".into(), csv.into_bytes());
    let (model, problems) = read_model(&files);
    assert!(problems.is_empty(), "{problems:#?}");
    model.unwrap()
}

fn months(
    unit: &'static str,
    from: u32,
    to: u32,
    value: f64,
) -> Vec<(&'static str, &'static str, f64)> {
    (from..=to)
        .map(|m| {
            (
                unit,
                &*Box::leak(format!("2020-{m:02}").into_boxed_str()),
                value,
            )
        })
        .collect()
}

fn rollup(model: &Model, periods: &str, view: View, structure: Option<&str>, depth: u32) -> Rollup {
    let calendar = model.group.calendar();
    let periods: Vec<Period> = match periods.split_once("..") {
        Some(_) => holdco_core::period::parse_range(periods, calendar).unwrap(),
        None => vec![Period::parse(periods, calendar).unwrap()],
    };
    let query = Query {
        metric: MetricId::parse("revenue").unwrap(),
        periods,
        view,
        structure: structure.map(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()),
        node: None,
        depth,
        currency: None,
        basis: BasisFilter::Reported,
    };
    Engine::new(model).unwrap().rollup(&query).unwrap()
}

/// Values of the lines of one unit for a period, as (kind, value, gap?).
fn cells(answer: &Rollup, node: &str, period: &str) -> Vec<(RowKind, Option<f64>, bool)> {
    answer
        .rows
        .iter()
        .filter(|r| r.node == node && r.period == period)
        .map(|r| (r.kind.clone(), r.value, r.gap.is_some()))
        .collect()
}

/// Defect 1: an incomplete quarter is never dropped in favour of the units below it.
#[test]
fn defect_1_an_incomplete_quarter_is_a_gap_not_a_partial_sum() {
    let changes = format!(
        "{}{}[[change]]\ndate = 2020-03-10\nkind = \"move\"\nunit = \"b\"\nparent = \"a\"\n",
        create("a", "g"),
        create("b", "g")
    );
    let mut facts = months("a", 1, 2, 10.0);
    facts.extend(months("b", 1, 3, 100.0));
    let answer = rollup(&build(&changes, &facts), "2020Q1", View::Reported, None, 2);
    assert_eq!(
        cells(&answer, "g", "2020Q1"),
        vec![(RowKind::Node, None, true)]
    );
    assert_eq!(
        cells(&answer, "a", "2020Q1"),
        vec![(RowKind::Node, None, true)]
    );
    assert_eq!(
        cells(&answer, "b", "2020Q1"),
        vec![(RowKind::Node, Some(300.0), false)]
    );
}

/// Defect 2: discontinued lines are gaps when the history behind them is incomplete, and a
/// line appears even when all it has is a gap.
#[test]
fn defect_2_discontinued_lines_show_their_gaps() {
    let changes = format!(
        "{}{}{}[[change]]\ndate = 2020-04-10\nkind = \"split\"\nunit = \"y\"\nparts = [{{ unit = \"y\", share = 0.5 }}, {{ unit = \"x\", share = 0.5 }}]\n\n[[change]]\ndate = 2020-05-15\nkind = \"close\"\nunit = \"x\"\n\n[[change]]\ndate = 2020-05-15\nkind = \"close\"\nunit = \"z\"\n",
        create("x", "g"),
        create("y", "g"),
        create("z", "g")
    );
    let mut facts = months("x", 1, 2, 10.0);
    facts.extend(months("y", 1, 3, 100.0));
    facts.extend(months("z", 1, 2, 1000.0));
    let answer = rollup(
        &build(&changes, &facts),
        "2020Q1",
        View::Restated,
        Some("2020-12-31"),
        1,
    );
    assert_eq!(
        cells(&answer, "x", "2020Q1"),
        vec![(RowKind::Discontinued, None, true)]
    );
    assert_eq!(
        cells(&answer, "z", "2020Q1"),
        vec![(RowKind::Discontinued, None, true)]
    );
    assert_eq!(
        cells(&answer, "y", "2020Q1"),
        vec![(RowKind::Node, Some(150.0), false)]
    );
    assert_eq!(
        cells(&answer, "g", "2020Q1"),
        vec![
            (RowKind::Node, None, true),
            (RowKind::Continuing, None, true)
        ]
    );
}

/// Defect 3: as reported, a quarter is shown in the structure on its last day, so a unit
/// that moved within it counts wholly in its new parent, and children add up to parents.
#[test]
fn defect_3_a_reported_quarter_adds_up() {
    let changes = format!(
        "{}{}{}[[change]]\ndate = 2020-02-15\nkind = \"move\"\nunit = \"x\"\nparent = \"b\"\n",
        create("a", "g"),
        create("b", "g"),
        create("x", "a")
    );
    let answer = rollup(
        &build(&changes, &months("x", 1, 3, 100.0)),
        "2020Q1",
        View::Reported,
        None,
        2,
    );
    assert_eq!(
        cells(&answer, "b", "2020Q1"),
        vec![(RowKind::Node, Some(300.0), false)]
    );
    assert_eq!(
        cells(&answer, "x", "2020Q1"),
        vec![(RowKind::Node, Some(300.0), false)]
    );
    assert_eq!(
        cells(&answer, "a", "2020Q1"),
        vec![(RowKind::Node, None, false)]
    );
    assert_eq!(
        cells(&answer, "g", "2020Q1"),
        vec![(RowKind::Node, Some(300.0), false)]
    );
}

/// Defect 4: the organic view does not report a gap caused by a unit it leaves out.
#[test]
fn defect_4_organic_ignores_the_gaps_of_units_it_leaves_out() {
    let changes = format!("{}[[change]]\ndate = 2020-02-10\nkind = \"acquire\"\nunit = \"b\"\nname = \"B\"\nparent = \"g\"\n", create("a", "g"));
    let mut facts = months("a", 1, 6, 100.0);
    facts.extend(months("b", 3, 6, 7.0));
    let answer = rollup(
        &build(&changes, &facts),
        "2020Q1..2020Q2",
        View::Organic,
        None,
        1,
    );
    assert_eq!(answer.excluded, vec!["b".to_string()]);
    assert_eq!(
        cells(&answer, "g", "2020Q1"),
        vec![(RowKind::Node, Some(300.0), false)]
    );
    assert_eq!(
        cells(&answer, "g", "2020Q2"),
        vec![(RowKind::Node, Some(300.0), false)]
    );
}

/// Defect 6: a reported multi-period tree shows a unit under each parent it had, with
/// figures only in the periods it was there; every column adds up.
#[test]
fn defect_6_a_reported_multi_period_tree_keeps_units_under_their_parents() {
    let changes = format!(
        "{}{}{}{}[[change]]\ndate = 2020-05-10\nkind = \"merge\"\nunits = [\"a\"]\ninto = \"b\"\n",
        create("a", "g"),
        create("x", "a"),
        create("b", "g"),
        create("y", "b")
    );
    let mut facts = months("x", 1, 6, 1.0);
    facts.extend(months("y", 1, 6, 100.0));
    let answer = rollup(
        &build(&changes, &facts),
        "2020Q1..2020Q2",
        View::Reported,
        None,
        2,
    );
    let order: Vec<(String, u32)> = answer
        .rows
        .iter()
        .filter(|r| r.period == "2020Q1" && r.kind == RowKind::Node)
        .map(|r| (r.node.clone(), r.depth))
        .collect();
    // x appears under b (Q2) and under a (Q1), each right below its parent.
    let position = |node: &str, depth: u32| {
        order
            .iter()
            .position(|(n, d)| n == node && *d == depth)
            .unwrap()
    };
    assert!(position("b", 1) < position("x", 2) && position("a", 1) < order.len());
    let after_a: Vec<&String> = order[position("a", 1) + 1..]
        .iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(after_a.first().map(|s| s.as_str()), Some("x"));
    let value = |period: &str, node: &str, depth: u32| {
        answer
            .rows
            .iter()
            .find(|r| {
                r.period == period && r.node == node && r.depth == depth && r.kind == RowKind::Node
            })
            .and_then(|r| r.value)
    };
    // Q1: x (3) under a; Q2: x under b with y. Children add up to parents in each column.
    assert_eq!(
        (
            value("2020Q1", "g", 0),
            value("2020Q1", "a", 1),
            value("2020Q1", "b", 1)
        ),
        (Some(303.0), Some(3.0), Some(300.0))
    );
    assert_eq!(
        (
            value("2020Q2", "g", 0),
            value("2020Q2", "b", 1),
            value("2020Q2", "y", 2)
        ),
        (Some(303.0), Some(303.0), Some(300.0))
    );
    let x_rows: Vec<(Option<f64>, Option<f64>)> = answer
        .rows
        .chunks(2)
        .filter(|pair| pair[0].node == "x")
        .map(|pair| (pair[0].value, pair[1].value))
        .collect();
    assert_eq!(x_rows, vec![(None, Some(3.0)), (Some(3.0), None)]);
    assert_eq!(
        cells(&answer, "a", "2020Q2"),
        vec![(RowKind::Node, None, false)]
    );
}
