//! Loading models with the governance domain registered.

use holdco_core::format::{read_model, ModelFiles};
use holdco_core::rollup::Engine;
use holdco_core::{Diagnostic, Model};
use holdco_governance::ledger::Ledger;
use std::path::Path;

/// The bundled example's files, read as the command line reads a folder (people.csv and
/// governance.toml included: the domain is registered first).
pub fn example_files() -> ModelFiles {
    holdco_governance::register();
    holdco_folder::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/alibaba"))
        .expect("the example folder reads")
}

/// Every problem of a model's files: parsing, core validation, then the domain check.
pub fn problems_of(files: &ModelFiles) -> (Option<Model>, Vec<Diagnostic>) {
    holdco_governance::register();
    let (model, mut problems) = read_model(files);
    let Some(model) = model else {
        return (None, problems);
    };
    problems.extend(holdco_core::validate::validate(&model).1);
    if problems.is_empty() {
        problems.extend(holdco_core::extension::check(&model));
    }
    (Some(model), problems)
}

/// A model that must be valid.
pub fn valid(files: &ModelFiles) -> Model {
    let (model, problems) = problems_of(files);
    assert!(problems.is_empty(), "{problems:#?}");
    model.expect("a model")
}

/// The ledger of a valid model (with its engine).
pub fn with_ledger<T>(model: &Model, run: impl FnOnce(&Engine, &Ledger) -> T) -> T {
    let engine = Engine::new(model).expect("engine");
    let (ledger, problems) = holdco_governance::load(model, engine.timeline());
    assert!(problems.is_empty(), "{problems:#?}");
    run(&engine, &ledger)
}

/// A small group: calendar fiscal year, one metric, units `a`, `b`, `c` under `g` from
/// 2020-01-01, with `timeline` appended, `people` as people.csv and `governance` as
/// governance.toml (when not empty) and `facts` as facts.csv rows (when not empty).
pub fn small(timeline: &str, people: &str, governance: &str, facts: &str) -> ModelFiles {
    let mut files = ModelFiles::new();
    files.insert(
        "group.toml".into(),
        br#"[group]
id = "g"
name = "Group"
currency = "EUR"
fiscal_year_end = "12-31"

[[metric]]
id = "revenue"
name = "Revenue"
measure = "currency"
aggregation = "flow"
"#
        .to_vec(),
    );
    let mut text = String::from(
        r#"[[change]]
date = 2020-01-01
kind = "create"
unit = "g"
name = "Group"
unit_kind = "group"
"#,
    );
    for unit in ["a", "b", "c"] {
        text.push_str(&format!(
            "\n[[change]]\ndate = 2020-01-01\nkind = \"create\"\nunit = \"{unit}\"\nname = \"Unit {unit}\"\nparent = \"g\"\n"
        ));
    }
    text.push('\n');
    text.push_str(timeline);
    files.insert("timeline.toml".into(), text.into_bytes());
    files.insert(
        "people.csv".into(),
        format!("id,name,birth_year,joined,unit,source\n{people}").into_bytes(),
    );
    if !governance.is_empty() {
        files.insert("governance.toml".into(), governance.as_bytes().to_vec());
    }
    if !facts.is_empty() {
        files.insert(
            "facts.csv".into(),
            format!("unit,period,metric,value\n{facts}").into_bytes(),
        );
    }
    files
}
