//! The pro-forma view (docs/semantics.md, "Pro forma"): every deal of the compared span as if
//! it had happened at the span's start. Tiny model: group `g` created 2020-01-01, one flow
//! metric, monthly facts, calendar quarters.

use holdco_core::columnar::{rollup_from_table, FactTable};
use holdco_core::format::{read_model, ModelFiles};
use holdco_core::rollup::{BasisFilter, Engine, Query, Rollup, RowKind, View};
use holdco_core::{MetricId, Model};

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

/// `a` runs all year (100 a month); `d` is sold on 2020-07-01 (10 a month before); `s` is
/// spun off on 2020-10-01 keeping 20% at fair value (1,000 a month before); `b` is bought on
/// 2020-04-01 (7 a month from April).
fn model() -> Model {
    model_with("")
}

/// The model above with `extra` fact rows (full rows: unit,period,metric,value,basis,structure).
fn model_with(extra: &str) -> Model {
    let mut timeline = String::from(
        "[[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"g\"\nname = \"G\"\nunit_kind = \"group\"\n\n",
    );
    for unit in ["a", "d", "s"] {
        timeline.push_str(&format!("[[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"{unit}\"\nname = \"{}\"\nparent = \"g\"\n\n", unit.to_uppercase()));
    }
    timeline.push_str("[[change]]\ndate = 2020-04-01\nkind = \"acquire\"\nunit = \"b\"\nname = \"B\"\nparent = \"g\"\n\n");
    timeline.push_str("[[change]]\ndate = 2020-07-01\nkind = \"divest\"\nunit = \"d\"\n\n");
    timeline.push_str(
        "[[change]]\ndate = 2020-10-01\nkind = \"spin_off\"\nunit = \"s\"\nretained = 0.2\n\n",
    );
    let mut csv = String::from("unit,period,metric,value,basis,structure\n");
    let mut months = |unit: &str, from: u32, to: u32, value: f64| {
        for m in from..=to {
            csv.push_str(&format!("{unit},2020-{m:02},revenue,{value},,\n"));
        }
    };
    months("a", 1, 12, 100.0);
    months("d", 1, 6, 10.0);
    months("s", 1, 9, 1000.0);
    months("b", 4, 12, 7.0);
    csv.push_str(extra);
    let mut files = ModelFiles::new();
    files.insert("group.toml".into(), GROUP.as_bytes().to_vec());
    files.insert("timeline.toml".into(), timeline.into_bytes());
    files.insert("facts.csv".into(), csv.into_bytes());
    let (model, problems) = read_model(&files);
    assert!(problems.is_empty(), "{problems:#?}");
    model.unwrap()
}

fn query(model: &Model, periods: &str, view: View) -> Query {
    Query {
        metric: MetricId::parse("revenue").unwrap(),
        periods: holdco_core::period::parse_range(periods, model.group.calendar()).unwrap(),
        view,
        structure: Some(chrono::NaiveDate::from_ymd_opt(2020, 12, 31).unwrap()),
        node: None,
        depth: 1,
        currency: None,
        basis: BasisFilter::Reported,
    }
}

fn rollup(model: &Model, periods: &str, view: View) -> Rollup {
    Engine::new(model)
        .unwrap()
        .rollup(&query(model, periods, view))
        .unwrap()
}

fn cell(answer: &Rollup, node: &str, period: &str) -> (Option<f64>, Option<String>) {
    let row = answer
        .rows
        .iter()
        .find(|r| r.node == node && r.period == period && r.kind == RowKind::Node)
        .unwrap_or_else(|| panic!("no row {node} {period}: {:#?}", answer.rows));
    (row.value, row.gap.clone())
}

#[test]
fn pro_forma_removes_disposals_and_spin_offs_from_every_period() {
    let model = model();
    let answer = rollup(&model, "2020Q2..2020Q4", View::ProForma);
    assert_eq!(answer.view, View::ProForma);
    assert_eq!(answer.excluded, vec!["d".to_string(), "s".to_string()]);
    // a 300 + b 21 in every quarter: the sold and the spun-off units are in none of them,
    // not even as discontinued lines.
    for period in ["2020Q2", "2020Q3", "2020Q4"] {
        assert_eq!(cell(&answer, "g", period), (Some(321.0), None), "{period}");
    }
    let left: Vec<_> = answer
        .rows
        .iter()
        .filter(|r| r.node == "d" || r.kind != RowKind::Node)
        .map(|r| (&r.node, &r.kind, &r.period, r.value, &r.gap))
        .collect();
    assert!(left.is_empty(), "{left:#?}");
    // `s` stays in the tree as the retained 20% holding, with no figure in any period.
    for period in ["2020Q2", "2020Q3", "2020Q4"] {
        assert_eq!(cell(&answer, "s", period), (None, None), "{period}");
    }
    // The restated view keeps their history (discontinued lines, total) for comparison.
    let restated = rollup(&model, "2020Q2..2020Q4", View::Restated);
    assert_eq!(
        cell(&restated, "g", "2020Q2").0,
        Some(321.0 + 30.0 + 3000.0)
    );
}

#[test]
fn pro_forma_adds_an_acquisition_to_earlier_periods_or_marks_the_gap() {
    let model = model();
    let answer = rollup(&model, "2020Q1..2020Q4", View::ProForma);
    // b joined on 2020-04-01: the model holds nothing of it before, so 2020Q1 is a gap at b
    // and at the group (never a total without it), with the reason.
    let (value, gap) = cell(&answer, "g", "2020Q1");
    assert_eq!(value, None);
    let gap = gap.expect("a gap at the group");
    assert!(
        gap.contains("pro forma") && gap.contains("2020-04-01"),
        "{gap}"
    );
    let (b_value, b_gap) = cell(&answer, "b", "2020Q1");
    assert_eq!(b_value, None);
    assert!(b_gap.is_some());
    assert_eq!(cell(&answer, "a", "2020Q1"), (Some(300.0), None));
    assert_eq!(cell(&answer, "g", "2020Q2"), (Some(321.0), None));
    // The organic view leaves b out instead: no gap, and not like for like with the group
    // as it stands.
    let organic = rollup(&model, "2020Q1..2020Q4", View::Organic);
    assert_eq!(cell(&organic, "g", "2020Q1").1, None);
    assert!(organic.excluded.contains(&"b".to_string()));
}

#[test]
fn pro_forma_is_restated_when_the_span_holds_no_deal() {
    let model = model();
    // Into the structure of 2020-03-31, 2020Q1 holds no deal: both views agree row for row.
    let engine = Engine::new(&model).unwrap();
    let structure = chrono::NaiveDate::from_ymd_opt(2020, 3, 31);
    let at = |view| {
        let q = Query {
            structure,
            ..query(&model, "2020Q1..2020Q1", view)
        };
        engine.rollup(&q).unwrap()
    };
    let (a, b) = (at(View::ProForma), at(View::Restated));
    assert!(a.excluded.is_empty());
    let cells = |r: &Rollup| {
        r.rows
            .iter()
            .map(|x| (x.node.clone(), x.value, x.gap.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(cells(&a), cells(&b));
    assert_eq!(cell(&a, "g", "2020Q1"), (Some(3330.0), None));
}

#[test]
fn the_columnar_path_declines_the_pro_forma_view() {
    let model = model();
    let engine = Engine::new(&model).unwrap();
    let table = FactTable::from_model(&model, &engine).unwrap();
    let q = query(&model, "2020Q1..2020Q4", View::ProForma);
    let declined = rollup_from_table(&engine, &table, &q).expect_err("declines");
    assert!(declined.to_string().contains("pro-forma"), "{declined}");
    // It does answer the restated view of the same model (monthly periods).
    let q = query(&model, "2020-05..2020-06", View::Restated);
    assert!(rollup_from_table(&engine, &table, &q).is_ok());
}

#[test]
fn the_view_parses_and_names_itself() {
    for text in ["pro_forma", "pro-forma", "proforma"] {
        assert_eq!(View::parse(text), Ok(View::ProForma));
    }
    assert_eq!(View::ProForma.name(), "pro_forma");
    assert_eq!(
        serde_json::to_string(&View::ProForma).unwrap(),
        "\"pro_forma\""
    );
}

#[test]
fn a_removed_unit_inside_a_recorded_total_makes_that_total_a_gap() {
    // `seg` records its total (110 a month); `d` below it has no figures of its own and is
    // sold on 2020-04-01. Pro forma cannot take d out of seg's Q1 total: a gap there and at
    // the group, with the reason; Q2 (after the sale) is seg's figure.
    let timeline = "[[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"g\"\nname = \"G\"\nunit_kind = \"group\"\n\n\
        [[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"seg\"\nname = \"Seg\"\nparent = \"g\"\n\n\
        [[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"d\"\nname = \"D\"\nparent = \"seg\"\n\n\
        [[change]]\ndate = 2020-04-01\nkind = \"divest\"\nunit = \"d\"\n";
    let mut csv = String::from("unit,period,metric,value\n");
    for m in 1..=6 {
        csv.push_str(&format!("seg,2020-{m:02},revenue,110\n"));
    }
    let mut files = ModelFiles::new();
    files.insert("group.toml".into(), GROUP.as_bytes().to_vec());
    files.insert("timeline.toml".into(), timeline.as_bytes().to_vec());
    files.insert("facts.csv".into(), csv.into_bytes());
    let (model, problems) = read_model(&files);
    assert!(problems.is_empty(), "{problems:#?}");
    let model = model.unwrap();
    let answer = rollup(&model, "2020Q1..2020Q2", View::ProForma);
    assert_eq!(answer.excluded, vec!["d".to_string()]);
    for node in ["seg", "g"] {
        let (value, gap) = cell(&answer, node, "2020Q1");
        assert_eq!(value, None, "{node}");
        let gap = gap.unwrap_or_default();
        assert!(
            gap.contains("pro forma: d (left the group on 2020-04-01)")
                && gap.contains("inside the total recorded for seg"),
            "{node}: {gap}"
        );
        assert_eq!(cell(&answer, node, "2020Q2"), (Some(330.0), None), "{node}");
    }
    // The restated view keeps seg's total as recorded (d inside it).
    let restated = rollup(&model, "2020Q1..2020Q2", View::Restated);
    assert_eq!(cell(&restated, "seg", "2020Q1"), (Some(330.0), None));
}

#[test]
fn the_alibaba_example_pro_forma_names_what_it_cannot_take_out() {
    let model = crate::alibaba::load();
    let q = Query {
        structure: chrono::NaiveDate::from_ymd_opt(2025, 4, 1),
        ..query(&model, "FY2023..FY2025", View::ProForma)
    };
    let answer = Engine::new(&model).unwrap().rollup(&q).unwrap();
    assert_eq!(
        answer.excluded,
        vec!["sun_art".to_string(), "intime".to_string()]
    );
    for (period, international, cloud) in [
        ("FY2023", 70_506.0, 103_497.0),
        ("FY2024", 102_598.0, 106_374.0),
        ("FY2025", 132_300.0, 118_028.0),
    ] {
        assert_eq!(
            cell(&answer, "international_commerce", period)
                .0
                .map(f64::round),
            Some(international),
            "{period}"
        );
        assert_eq!(
            cell(&answer, "cloud_intelligence", period)
                .0
                .map(f64::round),
            Some(cloud),
            "{period}"
        );
        let (value, gap) = cell(&answer, "alibaba", period);
        assert_eq!(value, None, "{period}");
        assert!(gap.unwrap_or_default().contains("sun_art"), "{period}");
    }
}

#[test]
fn an_acquired_units_pro_forma_figures_fill_the_periods_before_it_joined() {
    // b's own figures before it was bought (2020-04-01), as the buyer published them pro
    // forma: 2020Q1 is no longer a gap, at b or at the group.
    let model = model_with("b,2020Q1,revenue,20,pro_forma,2020-04-01\n");
    let answer = rollup(&model, "2020Q1..2020Q4", View::ProForma);
    assert_eq!(cell(&answer, "b", "2020Q1"), (Some(20.0), None));
    assert_eq!(cell(&answer, "g", "2020Q1"), (Some(320.0), None));
    assert_eq!(cell(&answer, "g", "2020Q2"), (Some(321.0), None));
    let b = answer
        .rows
        .iter()
        .find(|r| r.node == "b" && r.period == "2020Q1")
        .unwrap();
    // Published in the structure of 2020-04-01 and carried on (d and s left since).
    assert_eq!(
        b.provenance.as_deref(),
        Some("pro forma chained from 2020-04-01")
    );
    // Every other view ignores pro-forma figures: the restated group is unchanged, and b
    // has nothing before it joined.
    for view in [View::Restated, View::Reported, View::Organic] {
        let plain = rollup(&model, "2020Q1..2020Q4", view);
        let without = rollup(&crate::pro_forma::model(), "2020Q1..2020Q4", view);
        assert_eq!(
            cell(&plain, "g", "2020Q1"),
            cell(&without, "g", "2020Q1"),
            "{view:?}"
        );
    }
}

#[test]
fn a_published_pro_forma_total_covers_what_cannot_be_taken_out_below_it() {
    // seg records its total (110 a month) with d inside, d is sold on 2020-04-01: the group
    // published its Q1 pro forma (without d) as 300. The group's cell is that figure; seg,
    // whose total still holds d, stays a gap.
    let timeline = "[[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"g\"\nname = \"G\"\nunit_kind = \"group\"\n\n\
        [[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"seg\"\nname = \"Seg\"\nparent = \"g\"\n\n\
        [[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"d\"\nname = \"D\"\nparent = \"seg\"\n\n\
        [[change]]\ndate = 2020-04-01\nkind = \"divest\"\nunit = \"d\"\n";
    let mut csv = String::from("unit,period,metric,value,basis,structure\n");
    for m in 1..=6 {
        csv.push_str(&format!("seg,2020-{m:02},revenue,110,,\n"));
    }
    csv.push_str("g,2020Q1,revenue,300,pro_forma,2020-06-30\n");
    let mut files = ModelFiles::new();
    files.insert("group.toml".into(), GROUP.as_bytes().to_vec());
    files.insert("timeline.toml".into(), timeline.as_bytes().to_vec());
    files.insert("facts.csv".into(), csv.into_bytes());
    let (model, problems) = read_model(&files);
    assert!(problems.is_empty(), "{problems:#?}");
    let problems = holdco_core::validate::validate(model.as_ref().unwrap()).1;
    assert!(problems.is_empty(), "{problems:#?}");
    let model = model.unwrap();
    let answer = rollup(&model, "2020Q1..2020Q2", View::ProForma);
    assert_eq!(cell(&answer, "g", "2020Q1"), (Some(300.0), None));
    assert_eq!(cell(&answer, "g", "2020Q2"), (Some(330.0), None));
    let (seg, gap) = cell(&answer, "seg", "2020Q1");
    assert_eq!(seg, None);
    assert!(gap
        .unwrap_or_default()
        .contains("inside the total recorded for seg"));
    // Restated ignores the pro-forma figure.
    let restated = rollup(&model, "2020Q1..2020Q2", View::Restated);
    assert_eq!(cell(&restated, "g", "2020Q1"), (Some(330.0), None));
}

#[test]
fn a_pro_forma_figure_needs_its_structure_date_and_a_unit_alive_then() {
    let files_with = |rows: &str| {
        let mut files = ModelFiles::new();
        files.insert("group.toml".into(), GROUP.as_bytes().to_vec());
        files.insert(
            "timeline.toml".into(),
            b"[[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"g\"\nname = \"G\"\nunit_kind = \"group\"\n\n[[change]]\ndate = 2020-04-01\nkind = \"acquire\"\nunit = \"b\"\nname = \"B\"\nparent = \"g\"\n".to_vec(),
        );
        files.insert(
            "facts.csv".into(),
            format!("unit,period,metric,value,basis,structure\n{rows}").into_bytes(),
        );
        let (model, mut problems) = read_model(&files);
        if let Some(model) = &model {
            problems.extend(holdco_core::validate::validate(model).1);
        }
        problems.iter().map(|p| p.to_string()).collect::<Vec<_>>()
    };
    let missing = files_with("b,2020Q1,revenue,20,pro_forma,\n");
    assert!(
        missing.iter().any(|p| p.contains("facts.csv:2")
            && p.contains("structure")
            && p.contains("pro_forma figure needs the date")),
        "{missing:#?}"
    );
    let early = files_with("b,2020Q1,revenue,20,pro_forma,2020-03-01\n");
    assert!(
        early
            .iter()
            .any(|p| p.contains("does not exist on 2020-03-01") && p.contains("pro_forma")),
        "{early:#?}"
    );
    // Before it joined, in the structure of a date it is in the group: accepted.
    assert!(files_with("b,2020Q1,revenue,20,pro_forma,2020-04-01\n").is_empty());
}

#[test]
fn the_alibaba_example_like_for_like_growth_is_alibabas() {
    // Alibaba published FY2026Q1 revenue (247,652) as +10% like for like excluding Sun Art
    // and Intime, both sold in FY2025; the example holds FY2025Q1 pro forma as derived from
    // it. Pro forma into the 2025 structure gives that growth; restated does not (it keeps
    // what was sold as discontinued lines inside the group's total).
    let model = crate::alibaba::load();
    let q = Query {
        structure: chrono::NaiveDate::from_ymd_opt(2025, 4, 1),
        depth: 0,
        ..query(&model, "FY2025Q1..FY2026Q1", View::ProForma)
    };
    let answer = Engine::new(&model).unwrap().rollup(&q).unwrap();
    let before = cell(&answer, "alibaba", "FY2025Q1")
        .0
        .expect("published pro forma");
    let after = cell(&answer, "alibaba", "FY2026Q1").0.expect("reported");
    assert_eq!((before.round(), after.round()), (225_138.0, 247_652.0));
    assert_eq!(((after / before - 1.0) * 100.0).round(), 10.0);
    let row = answer
        .rows
        .iter()
        .find(|r| r.node == "alibaba" && r.period == "FY2025Q1")
        .unwrap();
    assert_eq!(row.provenance.as_deref(), Some("published pro forma"));
    // A quarter without a published pro-forma figure still names what it cannot take out.
    let q3 = Query {
        structure: chrono::NaiveDate::from_ymd_opt(2025, 4, 1),
        depth: 0,
        ..query(&model, "FY2025Q3..FY2025Q3", View::ProForma)
    };
    let answer = Engine::new(&model).unwrap().rollup(&q3).unwrap();
    let (value, gap) = cell(&answer, "alibaba", "FY2025Q3");
    assert_eq!(value, None);
    assert!(gap.unwrap_or_default().contains("sun_art"));
}
