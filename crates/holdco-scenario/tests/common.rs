//! Loading the bundled Alibaba example and building small projections by hand.

use holdco_core::format::{read_model, ModelFiles};
use holdco_core::Model;
use holdco_scenario::dist::Dist;
use holdco_scenario::engine::{Correlation, Method, Part, Projection, Var};
use std::path::Path;

/// The example folder's model files (facts and scenarios included), read as the command
/// line reads a folder.
pub fn example_files() -> ModelFiles {
    holdco_folder::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/alibaba"))
        .expect("the example folder reads")
}

/// The example model.
pub fn example() -> Model {
    let (model, problems) = read_model(&example_files());
    assert!(problems.is_empty(), "{problems:#?}");
    model.expect("model parses")
}

/// The example with one scenario file replaced (or added).
pub fn with_scenario(name: &str, text: &str) -> Model {
    let mut model = example();
    model
        .documents
        .insert(format!("scenarios/{name}.toml"), text.to_string());
    model
}

/// One part, held in full, valued by a multiple of EBITA.
pub fn part(unit: &str, revenue0: f64, growth: Dist, margin: Dist, multiple: Dist) -> Part {
    let var = |what: &str, dist| Var::one(format!("unit.{unit}.{what}"), dist);
    Part::held(
        unit,
        revenue0,
        var("growth", growth),
        var("margin", margin),
        var("multiple", multiple),
    )
}

/// A projection of `parts` over `years`, the multiple applied in `year`.
pub fn projection(name: &str, parts: Vec<Part>, years: usize, year: usize) -> Projection {
    Projection {
        name: name.into(),
        years: (1..=years).map(|y| format!("Y{y}")).collect(),
        parts,
        correlation: Correlation::None,
        method: Method::Multiple { year, rate: None },
        net_cash: None,
        other_assets: None,
        discount: None,
        costs: Vec::new(),
        proceeds: Vec::new(),
    }
}
