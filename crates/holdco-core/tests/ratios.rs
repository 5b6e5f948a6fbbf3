//! Ratio metrics never show infinity or NaN (issue 16): a zero denominator, or one so small
//! that the quotient is beyond any number, gives a gap with its reason; the columnar pass
//! agrees with the explainable engine on every field or declines.

use holdco_core::columnar::{rollup_from_table, FactTable};
use holdco_core::format::{read_model, ModelFiles};
use holdco_core::rollup::{BasisFilter, Engine, Query, Rollup, View};
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

[[metric]]
id = "ebita"
name = "EBITA"
measure = "currency"
aggregation = "flow"

[[metric]]
id = "margin"
name = "EBITA margin"
measure = "percent"
aggregation = "ratio"
numerator = "ebita"
denominator = "revenue"
"#;

const TIMELINE: &str = r#"
[[change]]
date = 2020-01-01
kind = "create"
unit = "g"
name = "G"
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
"#;

/// Unit a's revenue is tiny in January (1e-300 against EBITA of 1e15), b's is zero in
/// February; March is ordinary.
fn model() -> Model {
    let facts = "unit,period,metric,value
a,2020-01,revenue,1e-300
a,2020-01,ebita,1000000000000000
b,2020-01,revenue,50
b,2020-01,ebita,5
a,2020-02,revenue,100
a,2020-02,ebita,10
b,2020-02,revenue,0
b,2020-02,ebita,5
a,2020-03,revenue,100
a,2020-03,ebita,10
b,2020-03,revenue,50
b,2020-03,ebita,5
";
    let mut files = ModelFiles::new();
    files.insert("group.toml".into(), GROUP.as_bytes().to_vec());
    files.insert("timeline.toml".into(), TIMELINE.as_bytes().to_vec());
    files.insert("facts.csv".into(), facts.as_bytes().to_vec());
    let (model, problems) = read_model(&files);
    assert!(problems.is_empty(), "{problems:#?}");
    model.unwrap()
}

fn query(model: &Model, period: &str, view: View) -> Query {
    Query {
        metric: MetricId::parse("margin").unwrap(),
        periods: vec![Period::parse(period, model.group.calendar()).unwrap()],
        view,
        structure: None,
        node: None,
        depth: 1,
        currency: None,
        basis: BasisFilter::Reported,
    }
}

fn cell<'a>(answer: &'a Rollup, node: &str) -> &'a holdco_core::rollup::RollupRow {
    answer
        .rows
        .iter()
        .find(|row| row.node == node)
        .unwrap_or_else(|| panic!("no row for {node}: {answer:#?}"))
}

#[test]
fn a_ratio_over_a_tiny_or_zero_denominator_is_a_gap_with_its_reason() {
    let model = model();
    let engine = Engine::new(&model).unwrap();
    let table = FactTable::from_model(&model, &engine).unwrap();
    for view in [View::Reported, View::Restated] {
        // January: a's margin would be 1e315, beyond any double.
        let answer = engine.rollup(&query(&model, "2020-01", view)).unwrap();
        let a = cell(&answer, "a");
        assert_eq!(a.value, None);
        let reason = a.gap.as_deref().expect("a gap");
        assert!(reason.contains("denominator too close to zero"), "{reason}");
        assert_eq!(cell(&answer, "b").value, Some(0.1));
        // The group's revenue is b's 50 (plus 1e-300): an ordinary margin.
        assert!(cell(&answer, "g").value.unwrap().is_finite());
        // February: b's revenue is zero.
        let answer = engine.rollup(&query(&model, "2020-02", view)).unwrap();
        let b = cell(&answer, "b");
        assert_eq!(
            (b.value, b.gap.as_deref()),
            (None, Some("denominator is zero"))
        );
        for month in ["2020-01", "2020-02", "2020-03", "2020Q1"] {
            let query = query(&model, month, view);
            let answer = engine.rollup(&query).unwrap();
            assert!(
                answer
                    .rows
                    .iter()
                    .all(|row| row.value.is_none_or(f64::is_finite)),
                "{answer:#?}"
            );
            // The columnar pass gives the same rows, every field, or declines.
            if let Ok(fast) = rollup_from_table(&engine, &table, &query) {
                assert_eq!(
                    serde_json::to_value(&fast.rows).unwrap(),
                    serde_json::to_value(&answer.rows).unwrap(),
                    "{month} {view:?}"
                );
            }
        }
        // March is ordinary: the columnar pass answers, as the engine does.
        let march = query(&model, "2020-03", view);
        let fast = rollup_from_table(&engine, &table, &march).expect("an ordinary ratio");
        assert_eq!(cell(&fast, "a").value, Some(0.1));
    }
    // The columnar pass declines where the engine gives a gap.
    for month in ["2020-01", "2020-02"] {
        assert!(rollup_from_table(&engine, &table, &query(&model, month, View::Reported)).is_err());
    }
}
