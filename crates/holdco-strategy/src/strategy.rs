//! The strategy document (`strategy.toml`) and the assessments (`assessments.csv`): parsed,
//! then checked against the model so that every name they use exists.

use crate::{line_of, problem, toml_problem, ASSESSMENTS_FILE, STRATEGY_FILE};
use chrono::NaiveDate;
use holdco_core::timeline::Timeline;
use holdco_core::{Diagnostic, MetricId, Model, UnitId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use toml::Spanned;

/// A focus area of the group and the units that serve it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FocusArea {
    /// Id (used in rules through `focus_areas`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Units serving the area.
    pub units: Vec<UnitId>,
}

/// What a computed criterion measures over the restated roll-ups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Compute {
    /// `metric` in the last fiscal year over the year before, minus one.
    Growth,
    /// `metric` over `denominator` in the last fiscal year.
    Margin,
    /// `metric` of the unit over the group's, in the last fiscal year.
    Size,
}

/// Where a criterion's value comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Source {
    /// An analyst's score from the assessments, on `scale` (low, high).
    Assessment {
        /// Lowest and highest score.
        scale: (f64, f64),
    },
    /// Computed from facts; `range` (low, high) maps the figure onto 0..1 for the score.
    Computed {
        /// What is computed.
        compute: Compute,
        /// The metric.
        metric: MetricId,
        /// Denominator of a margin.
        denominator: Option<MetricId>,
        /// Figures at or below `range.0` score 0, at or above `range.1` score 1.
        range: (f64, f64),
    },
}

/// A criterion of the classification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Criterion {
    /// Id, also the name of its raw value in rules.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Weight in the total score.
    pub weight: f64,
    /// Where its value comes from.
    pub source: Source,
    /// Line in strategy.toml.
    pub line: u32,
}

/// What a class commits the group to.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Policy {
    /// Least share of each year's available budget the class receives.
    pub share_min: Option<f64>,
    /// Largest share of each year's available budget the class may receive.
    pub share_max: Option<f64>,
    /// Governance form: integrated, independent_subsidiary, ...
    pub governance: Option<String>,
    /// Funding cycle in years (shortest, longest), e.g. 3 to 5.
    pub cycle_years: Option<(u32, u32)>,
    /// Next review date.
    pub review: Option<NaiveDate>,
    /// Value realisation for non-core: sale, listing, spin_off.
    pub realisation: Option<String>,
}

/// A class of the portfolio, with the rule that admits a unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Class {
    /// Id (used by classify changes and the capital file).
    pub id: String,
    /// Display name.
    pub name: String,
    /// A CEL expression over the unit's values; the first class whose rule holds decides.
    pub rule: String,
    /// Its policy.
    pub policy: Policy,
    /// Line in strategy.toml.
    pub line: u32,
}

/// One dated analyst score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// Unit assessed.
    pub unit: UnitId,
    /// Date of the judgement.
    pub date: NaiveDate,
    /// Criterion scored.
    pub criterion: String,
    /// The score, on the criterion's scale.
    pub score: f64,
    /// Why.
    pub rationale: String,
    /// Where the evidence was published.
    pub source: Option<String>,
    /// Line in assessments.csv.
    pub line: u32,
}

/// The strategy: focus areas, criteria, classes and the assessments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Strategy {
    /// Name of the strategy.
    pub name: String,
    /// Declared sum of the criteria weights.
    pub weights_sum: f64,
    /// The units classified.
    pub portfolio: Vec<UnitId>,
    /// Focus areas.
    pub focus_areas: Vec<FocusArea>,
    /// Criteria, in file order.
    pub criteria: Vec<Criterion>,
    /// Classes in priority order.
    pub classes: Vec<Class>,
    /// Assessments, in file order.
    pub assessments: Vec<Assessment>,
}

impl Strategy {
    /// The class with this id.
    pub fn class(&self, id: &str) -> Option<&Class> {
        self.classes.iter().find(|c| c.id == id)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    strategy: Spanned<Header>,
    #[serde(default)]
    focus_area: Vec<Spanned<FocusRaw>>,
    #[serde(default)]
    criterion: Vec<Spanned<CriterionRaw>>,
    #[serde(default)]
    class: Vec<Spanned<ClassRaw>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    name: String,
    weights_sum: f64,
    portfolio: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FocusRaw {
    id: String,
    name: String,
    #[serde(default)]
    units: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CriterionRaw {
    id: String,
    name: Option<String>,
    weight: f64,
    source: String,
    scale: Option<[f64; 2]>,
    compute: Option<String>,
    metric: Option<String>,
    denominator: Option<String>,
    range: Option<[f64; 2]>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassRaw {
    id: String,
    name: Option<String>,
    rule: String,
    policy: Option<PolicyRaw>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyRaw {
    share_min: Option<f64>,
    share_max: Option<f64>,
    governance: Option<String>,
    cycle_years: Option<[u32; 2]>,
    review: Option<toml::value::Datetime>,
    realisation: Option<String>,
}

/// True for a name usable as a CEL variable.
pub(crate) fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && text.len() <= 64
}

/// Names every rule may use besides the criteria ids.
pub const RULE_VARIABLES: [&str; 6] = [
    "score",
    "focus",
    "focus_areas",
    "unit",
    "unit_kind",
    "missing",
];

/// Compiles a rule within the limits of [`crate::rule`], never panicking on odd input.
pub(crate) fn compile(
    rule: &str,
    focus_areas: usize,
    criteria: usize,
) -> Result<crate::rule::Rule, String> {
    crate::rule::Rule::compile(
        rule,
        crate::rule::RuleBounds {
            list_elements: focus_areas.max(criteria) as u64,
        },
    )
}

/// Parses strategy.toml (and the assessments) and checks them against `model`.
pub fn parse(
    model: &Model,
    text: &str,
    assessments: Option<&str>,
    problems: &mut Vec<Diagnostic>,
) -> Option<Strategy> {
    let file: File = match toml::from_str(text) {
        Ok(file) => file,
        Err(error) => {
            problems.push(toml_problem(STRATEGY_FILE, text, &error));
            return None;
        }
    };
    let before = problems.len();
    let (timeline, _) = Timeline::replay(&model.group, &model.metrics, &model.timeline);
    let at = |span: std::ops::Range<usize>| line_of(text, span.start);
    let known_unit =
        |id: &str, line: u32, field: &str, problems: &mut Vec<Diagnostic>| -> Option<UnitId> {
            match UnitId::parse(id) {
                Ok(unit) if timeline.unit(&unit).is_some() => Some(unit),
                Ok(_) => {
                    problems.push(problem(
                        STRATEGY_FILE,
                        line,
                        Some(field),
                        format!("unknown unit `{id}` (not created in timeline.toml)"),
                    ));
                    None
                }
                Err(message) => {
                    problems.push(problem(STRATEGY_FILE, line, Some(field), message));
                    None
                }
            }
        };

    let header_line = at(file.strategy.span());
    let header = file.strategy.into_inner();
    let mut portfolio = Vec::new();
    for id in &header.portfolio {
        if let Some(unit) = known_unit(id, header_line, "portfolio", problems) {
            if portfolio.contains(&unit) {
                problems.push(problem(
                    STRATEGY_FILE,
                    header_line,
                    Some("portfolio"),
                    format!("`{id}` listed twice"),
                ));
            } else {
                portfolio.push(unit);
            }
        }
    }

    let mut focus_areas = Vec::new();
    for spanned in file.focus_area {
        let line = at(spanned.span());
        let raw = spanned.into_inner();
        if !is_identifier(&raw.id) {
            problems.push(problem(
                STRATEGY_FILE,
                line,
                Some("id"),
                format!("`{}` is not an id (letters, digits, _)", raw.id),
            ));
        }
        let units = raw
            .units
            .iter()
            .filter_map(|u| known_unit(u, line, "units", problems))
            .collect();
        focus_areas.push(FocusArea {
            id: raw.id,
            name: raw.name,
            units,
        });
    }

    let mut criteria: Vec<Criterion> = Vec::new();
    for spanned in file.criterion {
        let line = at(spanned.span());
        let raw = spanned.into_inner();
        if !is_identifier(&raw.id) || RULE_VARIABLES.contains(&raw.id.as_str()) {
            problems.push(problem(
                STRATEGY_FILE,
                line,
                Some("id"),
                format!("`{}` can't name a criterion (letters, digits and _, starting with a letter; not one of {})", raw.id, RULE_VARIABLES.join(", ")),
            ));
        }
        if criteria.iter().any(|c| c.id == raw.id) {
            problems.push(problem(
                STRATEGY_FILE,
                line,
                Some("id"),
                format!("criterion `{}` declared twice", raw.id),
            ));
        }
        if !raw.weight.is_finite() || raw.weight < 0.0 {
            problems.push(problem(
                STRATEGY_FILE,
                line,
                Some("weight"),
                format!("{} is not a weight (expected a number >= 0)", raw.weight),
            ));
        }
        let pair_ok =
            |pair: [f64; 2]| pair[0].is_finite() && pair[1].is_finite() && pair[0] < pair[1];
        let source = match raw.source.as_str() {
            "assessment" => match raw.scale {
                Some(scale) if pair_ok(scale) => Some(Source::Assessment {
                    scale: (scale[0], scale[1]),
                }),
                _ => {
                    problems.push(problem(STRATEGY_FILE, line, Some("scale"), "an assessed criterion needs `scale = [low, high]` with low < high, e.g. [1, 5]"));
                    None
                }
            },
            "computed" => {
                let compute = match raw.compute.as_deref() {
                    Some("growth") => Some(Compute::Growth),
                    Some("margin") => Some(Compute::Margin),
                    Some("size") => Some(Compute::Size),
                    other => {
                        problems.push(problem(
                            STRATEGY_FILE,
                            line,
                            Some("compute"),
                            format!(
                                "{} (expected growth, margin or size)",
                                other
                                    .map(|o| format!("`{o}` is not a computation"))
                                    .unwrap_or_else(|| "missing".into())
                            ),
                        ));
                        None
                    }
                };
                let metric_of = |name: Option<&String>,
                                 field: &str,
                                 problems: &mut Vec<Diagnostic>|
                 -> Option<MetricId> {
                    let name = name?;
                    match MetricId::parse(name) {
                        Ok(id) if model.metric(&id).is_some() => Some(id),
                        _ => {
                            let known: Vec<String> =
                                model.metrics.iter().map(|m| m.id.to_string()).collect();
                            problems.push(problem(
                                STRATEGY_FILE,
                                line,
                                Some(field),
                                format!(
                                    "unknown metric `{name}` (group.toml defines {})",
                                    known.join(", ")
                                ),
                            ));
                            None
                        }
                    }
                };
                let metric = metric_of(raw.metric.as_ref(), "metric", problems);
                if raw.metric.is_none() {
                    problems.push(problem(
                        STRATEGY_FILE,
                        line,
                        Some("metric"),
                        "missing; a computed criterion names the metric it reads",
                    ));
                }
                let denominator = metric_of(raw.denominator.as_ref(), "denominator", problems);
                if compute == Some(Compute::Margin) && raw.denominator.is_none() {
                    problems.push(problem(
                        STRATEGY_FILE,
                        line,
                        Some("denominator"),
                        "missing; a margin is metric / denominator, e.g. denominator = \"revenue\"",
                    ));
                }
                let range = match raw.range {
                    Some(range) if pair_ok(range) => Some((range[0], range[1])),
                    _ => {
                        problems.push(problem(STRATEGY_FILE, line, Some("range"), "a computed criterion needs `range = [low, high]` (low < high) mapping its figure onto 0..1"));
                        None
                    }
                };
                match (compute, metric, range) {
                    (Some(compute), Some(metric), Some(range)) => Some(Source::Computed {
                        compute,
                        metric,
                        denominator,
                        range,
                    }),
                    _ => None,
                }
            }
            other => {
                problems.push(problem(
                    STRATEGY_FILE,
                    line,
                    Some("source"),
                    format!(
                        "`{other}` is not a criterion source (expected assessment or computed)"
                    ),
                ));
                None
            }
        };
        if let Some(source) = source {
            criteria.push(Criterion {
                name: raw.name.unwrap_or_else(|| raw.id.clone()),
                id: raw.id,
                weight: raw.weight,
                source,
                line,
            });
        }
    }
    let total: f64 = criteria.iter().map(|c| c.weight).sum();
    if !header.weights_sum.is_finite() || header.weights_sum <= 0.0 {
        problems.push(problem(
            STRATEGY_FILE,
            header_line,
            Some("weights_sum"),
            "expected a positive number, the sum the criteria weights must reach (e.g. 1)",
        ));
    } else if (total - header.weights_sum).abs() > 1e-9 * header.weights_sum.max(1.0) {
        problems.push(problem(
            STRATEGY_FILE,
            header_line,
            Some("weights_sum"),
            format!("the criteria weights sum to {total} but {} is declared; adjust the weights or the declared sum", header.weights_sum),
        ));
    }

    let criterion_ids: BTreeSet<&str> = criteria.iter().map(|c| c.id.as_str()).collect();
    let mut classes: Vec<Class> = Vec::new();
    for spanned in file.class {
        let line = at(spanned.span());
        let raw = spanned.into_inner();
        if !is_identifier(&raw.id) {
            problems.push(problem(
                STRATEGY_FILE,
                line,
                Some("id"),
                format!("`{}` is not a class id (letters, digits, _)", raw.id),
            ));
        }
        if classes.iter().any(|c| c.id == raw.id) {
            problems.push(problem(
                STRATEGY_FILE,
                line,
                Some("id"),
                format!("class `{}` declared twice", raw.id),
            ));
        }
        match compile(&raw.rule, focus_areas.len(), criteria.len()) {
            Ok(program) => {
                let variables = program.variables();
                let mut unknown: Vec<&str> = variables
                    .iter()
                    .map(String::as_str)
                    .filter(|v| !RULE_VARIABLES.contains(v) && !criterion_ids.contains(v))
                    .collect();
                unknown.sort();
                if !unknown.is_empty() {
                    problems.push(problem(
                        STRATEGY_FILE,
                        line,
                        Some("rule"),
                        format!(
                            "unknown name{} {} in `{}` (a rule may use {} and the criteria {})",
                            if unknown.len() > 1 { "s" } else { "" },
                            unknown
                                .iter()
                                .map(|u| format!("`{u}`"))
                                .collect::<Vec<_>>()
                                .join(", "),
                            raw.rule,
                            RULE_VARIABLES.join(", "),
                            criterion_ids.iter().copied().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            }
            Err(message) => problems.push(problem(
                STRATEGY_FILE,
                line,
                Some("rule"),
                format!("`{}` does not parse as CEL: {message}", raw.rule),
            )),
        }
        let mut policy = Policy::default();
        if let Some(p) = raw.policy {
            for (field, value) in [("share_min", p.share_min), ("share_max", p.share_max)] {
                if let Some(v) = value {
                    if !(0.0..=1.0).contains(&v) {
                        problems.push(problem(
                            STRATEGY_FILE,
                            line,
                            Some(&format!("policy.{field}")),
                            format!("{v} is not a share (expected 0 to 1)"),
                        ));
                    }
                }
            }
            if let (Some(lo), Some(hi)) = (p.share_min, p.share_max) {
                if lo > hi {
                    problems.push(problem(
                        STRATEGY_FILE,
                        line,
                        Some("policy.share_min"),
                        format!("share_min {lo} is above share_max {hi}"),
                    ));
                }
            }
            if let Some([lo, hi]) = p.cycle_years {
                if lo == 0 || lo > hi {
                    problems.push(problem(
                        STRATEGY_FILE,
                        line,
                        Some("policy.cycle_years"),
                        "expected [shortest, longest] years, e.g. [3, 5]",
                    ));
                }
            }
            let review = p.review.and_then(|d| {
                let parsed = NaiveDate::parse_from_str(&d.to_string(), "%Y-%m-%d").ok();
                if parsed.is_none() {
                    problems.push(problem(
                        STRATEGY_FILE,
                        line,
                        Some("policy.review"),
                        "expected a date, e.g. 2026-11-16",
                    ));
                }
                parsed
            });
            if let Some(realisation) = &p.realisation {
                if !["sale", "listing", "spin_off"].contains(&realisation.as_str()) {
                    problems.push(problem(STRATEGY_FILE, line, Some("policy.realisation"), format!("`{realisation}` is not a realisation (expected sale, listing or spin_off)")));
                }
            }
            policy = Policy {
                share_min: p.share_min,
                share_max: p.share_max,
                governance: p.governance,
                cycle_years: p.cycle_years.map(|[a, b]| (a, b)),
                review,
                realisation: p.realisation,
            };
        }
        classes.push(Class {
            name: raw.name.unwrap_or_else(|| raw.id.clone()),
            id: raw.id,
            rule: raw.rule,
            policy,
            line,
        });
    }
    if classes.is_empty() {
        problems.push(problem(
            STRATEGY_FILE,
            header_line,
            Some("class"),
            "no class declared; add [[class]] tables in priority order",
        ));
    }
    let least: f64 = classes.iter().filter_map(|c| c.policy.share_min).sum();
    if least > 1.0 + 1e-9 {
        problems.push(problem(
            STRATEGY_FILE,
            header_line,
            Some("policy.share_min"),
            format!("the classes' least shares add up to {least}, more than the whole budget"),
        ));
    }

    // Classify changes in the timeline must name declared classes.
    for change in &model.timeline {
        if let holdco_core::ChangeKind::Classify { class, .. } = &change.kind {
            if !classes.iter().any(|c| &c.id == class) {
                let known: Vec<&str> = classes.iter().map(|c| c.id.as_str()).collect();
                problems.push(Diagnostic::at(
                    &change.origin,
                    Some("class"),
                    format!(
                        "unknown class `{class}` (strategy.toml declares {})",
                        known.join(", ")
                    ),
                ));
            }
        }
    }

    let assessments = match assessments {
        Some(text) => parse_assessments(text, &criteria, &timeline, problems),
        None => Vec::new(),
    };
    let strategy = Strategy {
        name: header.name,
        weights_sum: header.weights_sum,
        portfolio,
        focus_areas,
        criteria,
        classes,
        assessments,
    };
    (problems.len() == before).then_some(strategy)
}

const ASSESSMENT_COLUMNS: [&str; 6] = ["unit", "date", "criterion", "score", "rationale", "source"];

fn parse_assessments(
    text: &str,
    criteria: &[Criterion],
    timeline: &Timeline,
    problems: &mut Vec<Diagnostic>,
) -> Vec<Assessment> {
    let file = ASSESSMENTS_FILE;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_string()).collect(),
        Err(error) => {
            problems.push(problem(file, 1, None, format!("CSV: {error}")));
            return Vec::new();
        }
    };
    for column in &header {
        if !ASSESSMENT_COLUMNS.contains(&column.as_str()) {
            problems.push(problem(
                file,
                1,
                Some(column),
                format!(
                    "unknown column (expected {})",
                    ASSESSMENT_COLUMNS.join(", ")
                ),
            ));
        }
    }
    for column in &ASSESSMENT_COLUMNS[..5] {
        if !header.iter().any(|h| h == column) {
            problems.push(problem(file, 1, Some(column), "missing column"));
        }
    }
    let position: BTreeMap<&str, usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i))
        .collect();
    let mut out = Vec::new();
    let mut seen: BTreeMap<(UnitId, NaiveDate, String), u32> = BTreeMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(error) => {
                let line = error.position().map(|p| p.line() as u32).unwrap_or(0);
                problems.push(problem(file, line, None, format!("CSV: {error}")));
                continue;
            }
        };
        let line = record.position().map(|p| p.line() as u32).unwrap_or(0);
        let get = |name: &str| {
            position
                .get(name)
                .and_then(|i| record.get(*i))
                .map(str::trim)
                .unwrap_or("")
        };
        let unit = match UnitId::parse(get("unit")) {
            Ok(u) => Some(u),
            Err(message) => {
                problems.push(problem(file, line, Some("unit"), message));
                None
            }
        };
        let date = match holdco_core::period::parse_iso_date(get("date")) {
            Some(d) => Some(d),
            None => {
                problems.push(problem(
                    file,
                    line,
                    Some("date"),
                    format!("`{}` is not a date (expected YYYY-MM-DD)", get("date")),
                ));
                None
            }
        };
        let criterion = get("criterion").to_string();
        let scale = match criteria.iter().find(|c| c.id == criterion) {
            Some(Criterion {
                source: Source::Assessment { scale },
                ..
            }) => Some(*scale),
            Some(_) => {
                problems.push(problem(
                    file,
                    line,
                    Some("criterion"),
                    format!(
                        "`{criterion}` is computed from facts; only assessed criteria take scores"
                    ),
                ));
                None
            }
            None => {
                let known: Vec<&str> = criteria
                    .iter()
                    .filter(|c| matches!(c.source, Source::Assessment { .. }))
                    .map(|c| c.id.as_str())
                    .collect();
                problems.push(problem(
                    file,
                    line,
                    Some("criterion"),
                    format!(
                        "unknown criterion `{criterion}` (strategy.toml declares {})",
                        known.join(", ")
                    ),
                ));
                None
            }
        };
        let score = match get("score").parse::<f64>() {
            Ok(s) if s.is_finite() => match scale {
                Some((lo, hi)) if s < lo || s > hi => {
                    problems.push(problem(
                        file,
                        line,
                        Some("score"),
                        format!("{s} is outside the scale {lo} to {hi}"),
                    ));
                    None
                }
                _ => Some(s),
            },
            _ => {
                problems.push(problem(
                    file,
                    line,
                    Some("score"),
                    format!("`{}` is not a number", get("score")),
                ));
                None
            }
        };
        let rationale = get("rationale").to_string();
        if rationale.is_empty() {
            problems.push(problem(
                file,
                line,
                Some("rationale"),
                "empty; say why the score was given",
            ));
        }
        if let (Some(unit), Some(date)) = (&unit, date) {
            match timeline.unit(unit) {
                Some(index) if timeline.record(index).alive_on(date) => {}
                Some(_) => problems.push(problem(
                    file,
                    line,
                    Some("unit"),
                    format!("`{unit}` does not exist on {date}"),
                )),
                None => problems.push(problem(
                    file,
                    line,
                    Some("unit"),
                    format!("unknown unit `{unit}` (not created in timeline.toml)"),
                )),
            }
            if let Some(first) = seen.insert((unit.clone(), date, criterion.clone()), line) {
                problems.push(problem(
                    file,
                    line,
                    Some("criterion"),
                    format!("`{unit}` already scored on `{criterion}` on {date} (line {first})"),
                ));
            }
        }
        if let (Some(unit), Some(date), Some(_), Some(score)) = (unit, date, scale, score) {
            let source = Some(get("source").to_string()).filter(|s| !s.is_empty());
            out.push(Assessment {
                unit,
                date,
                criterion,
                score,
                rationale,
                source,
                line,
            });
        }
    }
    out
}
