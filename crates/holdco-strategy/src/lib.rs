//! holdco-strategy: where the group's money goes, made explicit.
//!
//! Three model documents (kept raw by core in [`holdco_core::Model::documents`]) get their
//! meaning here:
//!
//! - `strategy.toml` ([`strategy`]): focus areas, criteria with weights (analyst scores or
//!   figures computed from the restated roll-ups), classes in priority order with a rule (a
//!   CEL expression) and a policy each;
//! - `assessments.csv` ([`strategy::Assessment`]): dated analyst scores with rationale and source;
//! - `capital.toml` ([`capital`]): budgets, disposal proceeds, tranches, floors, caps and
//!   cycle commitments.
//!
//! [`classify::classify`] sorts the portfolio on any date; [`plan::solve`] turns the capital
//! file into a linear programme, solves it with clarabel (through good_lp) and explains the
//! answer (binding constraints with shadow prices, unused budget, reallocation against a
//! previous plan, or the smallest conflicting set of constraints when it is infeasible).
//! Everything is pure: documents in, values and [`Diagnostic`]s out.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod capital;
pub mod classify;
pub mod lp;
pub mod plan;
pub mod review;
pub mod rule;
pub mod strategy;
pub mod svg;

use holdco_core::{Diagnostic, Model};

/// File name of the strategy document.
pub const STRATEGY_FILE: &str = "strategy.toml";
/// File name of the assessments document.
pub const ASSESSMENTS_FILE: &str = "assessments.csv";
/// File name of the capital document.
pub const CAPITAL_FILE: &str = "capital.toml";

/// Everything the documents of a model say, parsed and checked against the model.
#[derive(Debug, Clone)]
pub struct Documents {
    /// The strategy, when the model has one.
    pub strategy: Option<strategy::Strategy>,
    /// The capital plan input, when the model has one.
    pub capital: Option<capital::Capital>,
}

/// Parses and validates every strategy document of `model` against it. Returns what could
/// be read and every problem found (file, line, field).
pub fn check(model: &Model) -> (Documents, Vec<Diagnostic>) {
    let mut problems = Vec::new();
    let strategy = model.documents.get(STRATEGY_FILE).and_then(|text| {
        let assessments = model.documents.get(ASSESSMENTS_FILE).map(String::as_str);
        strategy::parse(model, text, assessments, &mut problems)
    });
    if strategy.is_none()
        && model.documents.contains_key(ASSESSMENTS_FILE)
        && !model.documents.contains_key(STRATEGY_FILE)
    {
        problems.push(Diagnostic {
            file: ASSESSMENTS_FILE.into(),
            line: None,
            field: None,
            message: "assessments need strategy.toml to declare their criteria; add it (see docs/format.md)".into(),
        });
    }
    let capital = model
        .documents
        .get(CAPITAL_FILE)
        .and_then(|text| capital::parse(model, strategy.as_ref(), text, &mut problems));
    (Documents { strategy, capital }, problems)
}

/// The one-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> u32 {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u32
        + 1
}

/// A diagnostic at a file and line.
pub(crate) fn problem(
    file: &str,
    line: u32,
    field: Option<&str>,
    message: impl Into<String>,
) -> Diagnostic {
    Diagnostic {
        file: file.to_string(),
        line: (line > 0).then_some(line),
        field: field.map(str::to_string),
        message: message.into(),
    }
}

/// A TOML parse error as a diagnostic with its line.
pub(crate) fn toml_problem(file: &str, text: &str, error: &toml::de::Error) -> Diagnostic {
    let line = error.span().map(|span| line_of(text, span.start));
    Diagnostic {
        file: file.to_string(),
        line,
        field: None,
        message: format!("TOML: {}", error.message().trim()),
    }
}
