//! Building models from text for tests, through the real parser.

use holdco_core::format::{read_model, ModelFiles};
use holdco_core::rollup::{BasisFilter, Engine, Query, View};
use holdco_core::validate::validate;
use holdco_core::{Diagnostic, MetricId, Model, Period, UnitId};

pub const GROUP: &str = r#"
[group]
id = "g"
name = "测试集团 Test Group"
currency = "CNY"
fiscal_year_end = "03-31"

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
id = "headcount"
name = "Headcount"
measure = "count"
aggregation = "stock"

[[metric]]
id = "dau"
name = "Daily active users"
measure = "users"
aggregation = "non_additive"

[[metric]]
id = "margin"
name = "EBITA margin"
measure = "percent"
aggregation = "ratio"
numerator = "ebita"
denominator = "revenue"
"#;

pub fn files(timeline: &str, facts: &str, fx: Option<&str>) -> ModelFiles {
    let mut files = ModelFiles::new();
    files.insert("group.toml".into(), GROUP.as_bytes().to_vec());
    files.insert("timeline.toml".into(), timeline.as_bytes().to_vec());
    files.insert("facts.csv".into(), facts.as_bytes().to_vec());
    if let Some(fx) = fx {
        files.insert("fx.csv".into(), fx.as_bytes().to_vec());
    }
    files
}

/// All problems of a model folder given as text.
pub fn problems(files: &ModelFiles) -> Vec<Diagnostic> {
    let (model, mut problems) = read_model(files);
    if let Some(model) = model {
        problems.extend(validate(&model).1);
    }
    problems
}

/// A valid model, or a panic listing its problems.
pub fn model(timeline: &str, facts: &str, fx: Option<&str>) -> Model {
    let files = files(timeline, facts, fx);
    let (model, mut problems) = read_model(&files);
    let model = model.expect("model parses");
    problems.extend(validate(&model).1);
    assert!(problems.is_empty(), "problems: {:#?}", problems);
    model
}

pub fn query(
    metric: &str,
    period: &str,
    view: View,
    structure: Option<&str>,
    node: Option<&str>,
    depth: u32,
) -> Query {
    Query {
        metric: MetricId::parse(metric).unwrap(),
        periods: vec![
            Period::parse(period, holdco_core::FiscalCalendar { year_end_month: 3 }).unwrap(),
        ],
        view,
        structure: structure.map(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()),
        node: node.map(|n| UnitId::parse(n).unwrap()),
        depth,
        currency: None,
        basis: BasisFilter::Reported,
    }
}

/// The value of one node for one period.
pub fn value(
    model: &Model,
    metric: &str,
    period: &str,
    view: View,
    structure: Option<&str>,
    node: &str,
) -> Option<f64> {
    let engine = Engine::new(model).expect("valid");
    let rollup = engine
        .rollup(&query(metric, period, view, structure, Some(node), 0))
        .expect("query works");
    rollup.rows[0].value
}

/// Rows of a roll-up as (node, kind, value) for the first period.
pub fn lines(
    model: &Model,
    metric: &str,
    period: &str,
    view: View,
    structure: Option<&str>,
    depth: u32,
) -> Vec<(String, String, Option<f64>)> {
    let engine = Engine::new(model).expect("valid");
    let rollup = engine
        .rollup(&query(metric, period, view, structure, None, depth))
        .expect("query works");
    rollup
        .rows
        .iter()
        .map(|r| (r.node.clone(), format!("{:?}", r.kind), r.value))
        .collect()
}
