//! Bad scenario files: each problem names the file, the line and the field, and says what
//! was expected.

use crate::common::{example, with_scenario};
use holdco_core::Diagnostic;

const BASE: &str = r#"
title = "test"
[horizon]
start = "FY2025"
years = 3
[unit.cloud_intelligence]
growth = { dist = "normal", mean = 0.1, sd = 0.05 }
multiple = 4.0
basis = "revenue"
"#;

fn problems(text: &str) -> Vec<Diagnostic> {
    let model = with_scenario("t", text);
    holdco_scenario::check(&model)
        .into_iter()
        .filter(|d| d.file == "scenarios/t.toml")
        .collect()
}

fn one(text: &str) -> Diagnostic {
    let found = problems(text);
    assert_eq!(found.len(), 1, "{found:#?}");
    found.into_iter().next().unwrap()
}

#[test]
fn a_valid_minimal_scenario_has_no_problems() {
    assert_eq!(problems(BASE), Vec::new());
}

#[test]
fn invalid_distribution_parameters() {
    let d = one(&BASE.replace("sd = 0.05", "sd = -0.05"));
    assert_eq!(d.line, Some(7));
    assert_eq!(
        d.field.as_deref(),
        Some("unit.cloud_intelligence.growth.sd")
    );
    assert!(d.message.contains("sd"), "{}", d.message);
    let d = one(&BASE.replace(
        "multiple = 4.0",
        "multiple = { dist = \"triangular\", min = 5, mode = 4, max = 6 }",
    ));
    assert_eq!(d.line, Some(8));
    assert!(d
        .field
        .as_deref()
        .unwrap()
        .starts_with("unit.cloud_intelligence.multiple"));
    let d = one(&BASE.replace("\"normal\"", "\"gaussian\""));
    assert!(
        d.message.contains("normal") && d.message.contains("lognormal"),
        "{}",
        d.message
    );
}

#[test]
fn a_correlation_matrix_that_is_not_positive_semidefinite_is_refused_with_the_nearest_valid_one() {
    let text = format!(
        "{BASE}\n[unit.china_commerce]\ngrowth = 0.05\nmultiple = 8.0\n[unit.all_others]\ngrowth = 0.0\nmultiple = 0.5\nbasis = \"revenue\"\nmargin = 0.0\n[correlation]\nunits = [\"china_commerce\", \"cloud_intelligence\", \"all_others\"]\nmatrix = [[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]]\n"
    );
    let d = one(&text);
    assert_eq!(d.field.as_deref(), Some("correlation.matrix"));
    assert!(
        d.message.to_lowercase().contains("positive semidefinite")
            || d.message.to_lowercase().contains("positive semi-definite"),
        "{}",
        d.message
    );
    assert!(d.message.contains("nearest"), "{}", d.message);
}

#[test]
fn a_change_on_a_unit_absent_on_its_date() {
    let text = format!("{BASE}\n[[change]]\nid = \"x\"\ndate = 2025-06-30\nkind = \"divest\"\nunit = \"intime\"\nproceeds = 100\n");
    let found = problems(&text);
    assert!(!found.is_empty());
    assert!(
        found
            .iter()
            .any(|d| d.line == Some(11) && d.message.contains("intime")),
        "{found:#?}"
    );
}

#[test]
fn a_horizon_beyond_the_rates_given() {
    let text = BASE.replace(
        "growth = { dist = \"normal\", mean = 0.1, sd = 0.05 }",
        "growth = [{ dist = \"normal\", mean = 0.1, sd = 0.05 }, { dist = \"normal\", mean = 0.1, sd = 0.05 }]",
    );
    let d = one(&text);
    assert_eq!(d.field.as_deref(), Some("unit.cloud_intelligence.growth"));
    assert!(
        d.message.contains("3 years") && d.message.contains("2 yearly"),
        "{}",
        d.message
    );
}

#[test]
fn a_change_beyond_the_horizon() {
    let text = format!("{BASE}\n[[change]]\nid = \"x\"\ndate = 2031-06-30\nkind = \"rename\"\nunit = \"cloud_intelligence\"\nname = \"Cloud\"\n");
    let found = problems(&text);
    assert!(
        found
            .iter()
            .any(|d| d.message.contains("beyond the horizon")),
        "{found:#?}"
    );
}

#[test]
fn unknown_keys_bases_and_units() {
    let d = one(&BASE.replace("years = 3", "years = 3\nyaers = 4"));
    assert!(
        d.message.contains("yaers") && d.message.contains("years"),
        "{}",
        d.message
    );
    let d = one(&format!("base = \"nope\"\n{BASE}"));
    assert_eq!(d.field.as_deref(), Some("base"));
    assert!(d.message.contains("keep-cloud"), "{}", d.message);
    let d = one(&BASE.replace("[unit.cloud_intelligence]", "[unit.cloud]"));
    assert!(d.message.contains("cloud"), "{}", d.message);
}

#[test]
fn inheritance_in_a_circle() {
    let mut model = example();
    model
        .documents
        .insert("scenarios/a.toml".into(), format!("base = \"b\"\n{BASE}"));
    model
        .documents
        .insert("scenarios/b.toml".into(), format!("base = \"a\"\n{BASE}"));
    let found = holdco_scenario::check(&model);
    assert!(
        found.iter().any(|d| d.message.contains("circle")),
        "{found:#?}"
    );
}

#[test]
fn a_holding_discount_that_can_leave_zero_to_one() {
    let d = one(&format!(
        "{BASE}\n[valuation]\nholding_discount = {{ dist = \"normal\", mean = 0.1, sd = 0.1 }}\n"
    ));
    assert_eq!(d.field.as_deref(), Some("valuation.holding_discount"));
}

#[test]
fn a_sale_without_proceeds_or_form() {
    let text = format!("{BASE}\n[[change]]\nid = \"x\"\ndate = 2025-06-30\nkind = \"divest\"\nunit = \"cloud_intelligence\"\n");
    let found = problems(&text);
    assert!(
        found.iter().any(|d| d.message.contains("spin_off")),
        "{found:#?}"
    );
}

#[test]
fn malformed_toml_points_at_its_line() {
    let d = one(&BASE.replace("years = 3", "years = = 3"));
    assert_eq!(d.line, Some(5));
    assert!(d.message.starts_with("TOML"), "{}", d.message);
}

/// Issue 16 item 4: a discount rate of -1 and a lognormal median of 1e308 were accepted,
/// and `scenario run` then panicked; both are refused with their line and key.
#[test]
fn rates_outside_their_range_and_overflowing_parameters_are_refused() {
    let text = format!("{BASE}[valuation]\nmethod = \"multiple\"\ndiscount_rate = -1\n");
    let d = one(&text);
    assert_eq!(d.field.as_deref(), Some("valuation.discount_rate"));
    assert!(d.message.contains("from -0.5 to 1"), "{}", d.message);
    assert_eq!(
        d.line,
        Some(
            text.lines()
                .position(|l| l.starts_with("discount_rate"))
                .unwrap() as u32
                + 1
        )
    );
    let d = one(&BASE.replace(
        "multiple = 4.0",
        "multiple = { dist = \"lognormal\", median = 1e308, sd_log = 0.1 }",
    ));
    assert_eq!(
        d.field.as_deref(),
        Some("unit.cloud_intelligence.multiple.median")
    );
    assert!(d.message.contains("at most 1e15"), "{}", d.message);
    let d = one(&BASE.replace("sd = 0.05", "sd = 5"));
    assert!(
        d.message.contains("yearly growth rate") && d.message.contains("at ±6 sd"),
        "{}",
        d.message
    );
}

/// Issue 16 item 4, the other half: every input at the edge of what `check` accepts runs
/// through the engine without a panic and gives finite values.
#[test]
fn the_engine_runs_on_inputs_at_every_accepted_extreme() {
    use holdco_scenario::{compile::compile, engine, spec};
    let extremes = r#"
title = "extremes"
[horizon]
start = "FY2025"
years = 100
[valuation]
method = "multiple"
year = 100
discount_rate = -0.5
net_cash = 1e15
other_assets = { dist = "lognormal", median = 1e15, sd_log = 3 }
[unit.cloud_intelligence]
growth = { dist = "uniform", min = -1, max = 10 }
margin = { dist = "uniform", min = -10, max = 10 }
multiple = 1000
basis = "revenue"
capital_elasticity = 100
"#;
    let model = with_scenario("t", extremes);
    assert_eq!(problems(extremes), Vec::new());
    let (scenarios, _) = spec::read_all(&model);
    let projection = compile(&model, &scenarios["t"]).expect("compiles");
    let simulation = engine::simulate(&[&projection], 2_000, 7, &|_| {});
    assert_eq!(simulation.paths, 2_000);
    let value = &simulation.stats[0].value;
    assert!(
        value.mean().is_finite() && value.min().is_finite() && value.max().is_finite(),
        "{:?}",
        value.mean()
    );
}
