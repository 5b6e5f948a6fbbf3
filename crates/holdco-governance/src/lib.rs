//! holdco-governance: people and roles as dated events in the one log, bodies and class
//! policies, decision rights, scorecards and incentives measured like for like, the
//! leadership pipeline against its target, and mobility that keeps tenure.
//!
//! The first domain on core's extension point ([`holdco_core::extension`]): it registers
//! its documents (`people.csv`, `governance.toml`) and its event kinds (`people.appoint`,
//! `people.step_down`, `people.leave`, `people.transfer`) with [`register`]; core reads,
//! stores and replays them; this crate gives them meaning. Pure: no IO.
#![deny(missing_docs)]

pub mod approvals;
pub mod config;
pub mod events;
pub mod ledger;
pub mod measure;
pub mod people;
pub mod queries;
pub mod roster;
pub mod synth;

use config::{Config, GOVERNANCE_FILE};
use holdco_core::extension::{DocumentType, Domain};
use holdco_core::timeline::Timeline;
use holdco_core::{ChangeKind, Diagnostic, Model};
use ledger::Ledger;
use people::PEOPLE_FILE;

/// The governance domain, as registered with core.
pub static DOMAIN: Domain = Domain {
    name: "governance",
    namespace: "people",
    documents: &[
        DocumentType {
            path: PEOPLE_FILE,
            summary: "the people: id, name, birth year, first day in the group, unit, source",
            personal: true,
        },
        DocumentType {
            path: GOVERNANCE_FILE,
            summary: "role kinds, bodies, class policies, limits, decision rights, pipeline targets, incentive plans",
            personal: false,
        },
    ],
    events: &events::EVENTS,
    check,
    redact,
};

/// Registers the governance domain with core (idempotent). Call once at start-up, before
/// reading a model folder.
pub fn register() {
    holdco_core::extension::register(&DOMAIN);
}

/// True when the model uses governance at all (a people file, a governance file or a
/// `people.*` event).
pub fn in_use(model: &Model) -> bool {
    model.documents.contains_key(PEOPLE_FILE)
        || model.documents.contains_key(GOVERNANCE_FILE)
        || model.timeline.iter().any(is_people_event)
}

fn is_people_event(change: &holdco_core::Change) -> bool {
    matches!(&change.kind, ChangeKind::Event { event, .. } if event.starts_with("people."))
}

/// Reads the people file and governance.toml of a valid model and replays the people
/// events against `timeline` (the model's). Every problem with file, line and field.
pub fn load(model: &Model, timeline: &Timeline) -> (Ledger, Vec<Diagnostic>) {
    let mut problems = Vec::new();
    let people = match model.documents.get(PEOPLE_FILE) {
        Some(text) => people::parse_people(text, &mut problems),
        None => Vec::new(),
    };
    let config = match model.documents.get(GOVERNANCE_FILE) {
        Some(text) => config::parse_config(text, model.group.calendar(), &mut problems),
        None => Config::built_in(),
    };
    check_names(model, timeline, &config, &mut problems);
    check_targets(model, timeline, &config, &mut problems);
    let ledger = Ledger::build(people, config, timeline, &mut problems);
    (ledger, problems)
}

/// Names in governance.toml checked against the model: units of bodies, plans and targets,
/// metrics of plans.
fn check_names(
    model: &Model,
    timeline: &Timeline,
    config: &Config,
    problems: &mut Vec<Diagnostic>,
) {
    let at = |line: u32, field: &str, message: String| Diagnostic {
        file: GOVERNANCE_FILE.into(),
        line: Some(line),
        field: Some(field.into()),
        message,
    };
    for body in config.bodies.values() {
        if timeline.unit(&body.unit).is_none() {
            problems.push(at(
                body.line,
                "unit",
                format!("unknown unit `{}` (create it in timeline.toml)", body.unit),
            ));
        }
    }
    for target in &config.pipeline {
        if let Some(unit) = &target.unit {
            if timeline.unit(unit).is_none() {
                problems.push(at(target.line, "unit", format!("unknown unit `{unit}`")));
            }
        }
    }
    for plan in &config.plans {
        if !config.roles.contains_key(&plan.role) {
            problems.push(at(
                plan.line,
                "role",
                format!("unknown role `{}`", plan.role),
            ));
        }
        for (field, unit) in
            std::iter::once(("unit", &plan.unit)).chain(plan.kpis.iter().map(|k| ("kpi", &k.unit)))
        {
            match timeline.unit(unit) {
                None => problems.push(at(plan.line, field, format!("unknown unit `{unit}`"))),
                Some(u) if !timeline.record(u).alive_on(plan.structure) => problems.push(at(
                    plan.line,
                    field,
                    format!("unit `{unit}` does not exist on {}, the structure the plan is measured in (the period's first day unless `structure` says otherwise)", plan.structure),
                )),
                _ => {}
            }
        }
        for kpi in &plan.kpis {
            if model
                .metric(&kpi.metric)
                .is_none_or(|m| matches!(m.aggregation, holdco_core::Aggregation::Ratio { .. }))
            {
                problems.push(at(
                    plan.line,
                    "kpi",
                    format!(
                        "unknown metric `{}` (defined in group.toml: {})",
                        kpi.metric,
                        model
                            .metrics
                            .iter()
                            .map(|m| m.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
    }
}

fn check_targets(
    model: &Model,
    timeline: &Timeline,
    config: &Config,
    problems: &mut Vec<Diagnostic>,
) {
    for target in &config.targets {
        let at = |field: &str, message: String| Diagnostic {
            file: GOVERNANCE_FILE.into(),
            line: Some(target.line),
            field: Some(field.into()),
            message,
        };
        match timeline.unit(&target.unit) {
            None => problems.push(at("unit", format!("unknown unit `{}`", target.unit))),
            Some(u) if !timeline.record(u).alive_on(target.period.first_day()) => problems.push(at(
                "unit",
                format!("unit `{}` does not exist on {}, the first day of the period (the structure the target is set in)", target.unit, target.period.first_day()),
            )),
            _ => {}
        }
        if model.metric(&target.metric).is_none() {
            problems.push(at("metric", format!("unknown metric `{}`", target.metric)));
        }
    }
}

/// The domain check registered with core: every problem of the people file, governance.toml
/// and the people events of a model that is valid otherwise.
pub fn check(model: &Model) -> Vec<Diagnostic> {
    if !in_use(model) {
        return Vec::new();
    }
    let (timeline, core_problems) = Timeline::replay(&model.group, &model.metrics, &model.timeline);
    if !core_problems.is_empty() {
        return Vec::new();
    }
    load(model, &timeline).1
}

/// Removes names and birth years from the people file (`export --no-personal`).
pub fn redact(model: &mut Model) {
    if let Some(text) = model.documents.get(PEOPLE_FILE) {
        let mut ignored = Vec::new();
        let people = people::parse_people(text, &mut ignored);
        model
            .documents
            .insert(PEOPLE_FILE.into(), people::write_people(&people, false));
    }
}
