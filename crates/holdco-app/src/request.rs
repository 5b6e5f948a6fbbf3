//! A roll-up or explain question as a user writes it — the CLI's flags, the API's query
//! parameters — turned into the core's [`Query`]. Both front ends fill a [`RollupRequest`]
//! and read its errors in their own words ([`RequestError::cli_message`],
//! [`RequestError::field`] and [`RequestError::api_message`]).

use chrono::NaiveDate;
use holdco_core::period::{parse_iso_date, parse_range};
use holdco_core::rollup::{BasisFilter, Query, View};
use holdco_core::{Aggregation, Currency, Granularity, MetricId, Model, Period, UnitId};

/// A question's parts as text, as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupRequest {
    /// Metric id.
    pub metric: String,
    /// Top node (the group when `None`).
    pub node: Option<String>,
    /// One period.
    pub period: Option<String>,
    /// A range `A..B`.
    pub periods: Option<String>,
    /// `reported`, `restated` or `organic`.
    pub view: String,
    /// Structure date to restate into (the latest when `None`).
    pub structure: Option<String>,
    /// `reported`, `plan`, `estimate` or `restated@YYYY-MM-DD`.
    pub basis: String,
    /// `published` or `reported`.
    pub from: String,
    /// Levels below the node.
    pub depth: u32,
    /// Output currency.
    pub currency: Option<String>,
}

impl RollupRequest {
    /// A request for `metric` with every other part at its default.
    pub fn new(metric: &str) -> RollupRequest {
        RollupRequest {
            metric: metric.to_string(),
            node: None,
            period: None,
            periods: None,
            view: "reported".into(),
            structure: None,
            basis: "reported".into(),
            from: "published".into(),
            depth: 1,
            currency: None,
        }
    }
}

/// A part of a request that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// A part is malformed.
    #[error("{field}: {message}")]
    Invalid {
        /// The part (flag or parameter name without dashes).
        field: &'static str,
        /// The text given, when the message quotes it.
        given: Option<String>,
        /// What is wrong and what is expected.
        message: String,
    },
    /// `period` names a range.
    #[error("period takes one period; for a range use periods {0}")]
    OnePeriod(String),
    /// No periods given and no figure to choose them from.
    #[error("no figures for `{0}` yet")]
    NoFigures(String),
    /// `from` is neither `published` nor `reported`.
    #[error("from: `{0}`: expected published or reported")]
    From(String),
}

impl RequestError {
    fn invalid(field: &'static str, message: impl Into<String>) -> RequestError {
        RequestError::Invalid {
            field,
            given: None,
            message: message.into(),
        }
    }

    /// The part at fault, as named by both front ends (`period`, `structure`...).
    pub fn field(&self) -> &'static str {
        match self {
            RequestError::Invalid { field, .. } => field,
            RequestError::OnePeriod(_) => "period",
            RequestError::NoFigures(_) => "periods",
            RequestError::From(_) => "from",
        }
    }

    /// The message in the CLI's words (flags as `--name`).
    pub fn cli_message(&self) -> String {
        match self {
            RequestError::Invalid {
                field: "metric",
                message,
                ..
            } => message.clone(),
            RequestError::Invalid {
                field,
                given: Some(given),
                message,
            } => format!("--{field} {given}: {message}"),
            RequestError::Invalid { field, message, .. } => format!("--{field}: {message}"),
            RequestError::OnePeriod(p) => {
                format!("--period takes one period; for a range use --periods {p}")
            }
            RequestError::NoFigures(metric) => format!(
                "no figures for `{metric}` yet: give --period P or --periods A..B (e.g. --periods FY2023..FY2025)"
            ),
            RequestError::From(from) => format!("--from {from}: expected published or reported"),
        }
    }

    /// The message in the API's words (parameters as `name=`), without the parameter's
    /// name (the API's error body names it apart).
    pub fn api_message(&self) -> String {
        match self {
            RequestError::Invalid {
                given: Some(given),
                message,
                ..
            } => format!("`{given}`: {message}"),
            RequestError::Invalid { message, .. } => message.clone(),
            RequestError::OnePeriod(p) => {
                format!("takes one period; for a range use periods={p}")
            }
            RequestError::NoFigures(metric) => {
                format!("no figures for `{metric}` yet: give periods=A..B (e.g. periods=FY2023..FY2025)")
            }
            RequestError::From(from) => format!("`{from}`: expected published or reported"),
        }
    }
}

/// A date written as `YYYY-MM-DD`, for the part named `field`.
pub fn date(field: &'static str, text: &str) -> Result<NaiveDate, RequestError> {
    parse_iso_date(text).ok_or_else(|| RequestError::Invalid {
        field,
        given: Some(text.to_string()),
        message: "expected a date as YYYY-MM-DD, e.g. 2025-04-01".into(),
    })
}

/// The facts a question reads: `basis` (`reported`, `plan`, `estimate`,
/// `restated@YYYY-MM-DD`) with `from` (`published` layers the group's own restatements over
/// reported figures; `reported` carries reported figures only).
pub fn basis(basis: &str, from: &str) -> Result<BasisFilter, RequestError> {
    if !matches!(from, "published" | "reported") {
        return Err(RequestError::From(from.to_string()));
    }
    let parsed = match basis {
        "reported" => BasisFilter::Reported,
        "plan" => BasisFilter::Plan,
        "estimate" => BasisFilter::Estimate,
        other => match other.strip_prefix("restated@") {
            Some(text) => BasisFilter::Restated(date("basis", text)?),
            None => {
                return Err(RequestError::Invalid {
                    field: "basis",
                    given: Some(other.to_string()),
                    message: "expected reported, plan, estimate or restated@YYYY-MM-DD".into(),
                })
            }
        },
    };
    Ok(match (parsed, from) {
        (BasisFilter::Reported, "reported") => BasisFilter::ReportedOnly,
        (parsed, _) => parsed,
    })
}

/// The default periods of a roll-up: the last five fiscal years up to the latest one with a
/// figure for the metric (or for the parts of a ratio). `None` for an unknown metric or one
/// without figures.
pub fn latest_years(model: &Model, metric: &MetricId) -> Option<Vec<Period>> {
    let parts: Vec<&MetricId> = match &model.metric(metric)?.aggregation {
        Aggregation::Ratio {
            numerator,
            denominator,
        } => vec![numerator, denominator],
        _ => vec![metric],
    };
    let last = model
        .facts
        .iter()
        .filter(|f| parts.contains(&&f.key.metric))
        .map(|f| f.key.period.last_day())
        .max()?;
    let year = Period::containing(last, Granularity::Year, model.group.calendar());
    Some((-4..=0).map(|k| year.shift(k)).collect())
}

impl RollupRequest {
    /// The periods asked: `period` (exactly one), `periods` (a range), or the default
    /// ([`latest_years`]).
    pub fn periods(&self, model: &Model) -> Result<Vec<Period>, RequestError> {
        let calendar = model.group.calendar();
        match (&self.period, &self.periods) {
            (Some(_), Some(_)) => Err(RequestError::invalid(
                "periods",
                "give either period or periods, not both",
            )),
            (Some(one), None) => {
                match parse_range(one, calendar).map_err(|e| RequestError::invalid("period", e))? {
                    list if list.len() == 1 => Ok(list),
                    _ => Err(RequestError::OnePeriod(one.clone())),
                }
            }
            (None, Some(range)) => {
                parse_range(range, calendar).map_err(|e| RequestError::invalid("periods", e))
            }
            (None, None) => MetricId::parse(&self.metric)
                .ok()
                .and_then(|metric| latest_years(model, &metric))
                .ok_or_else(|| RequestError::NoFigures(self.metric.clone())),
        }
    }

    /// Whether the periods are given (the default needs the facts to be chosen).
    pub fn names_periods(&self) -> bool {
        self.period.is_some() || self.periods.is_some()
    }

    /// The core's question. The metric, node and currency are checked against the model by
    /// the engine (which names what exists); here only their spelling.
    pub fn query(&self, model: &Model) -> Result<Query, RequestError> {
        let periods = self.periods(model)?;
        Ok(Query {
            metric: MetricId::parse(&self.metric)
                .map_err(|e| RequestError::invalid("metric", e))?,
            periods,
            view: View::parse(&self.view).map_err(|e| RequestError::invalid("view", e))?,
            structure: self
                .structure
                .as_deref()
                .map(|s| date("structure", s))
                .transpose()?,
            node: self
                .node
                .as_deref()
                .map(UnitId::parse)
                .transpose()
                .map_err(|e| RequestError::invalid("node", e))?,
            depth: self.depth,
            currency: self
                .currency
                .as_deref()
                .map(Currency::parse)
                .transpose()
                .map_err(|e| RequestError::invalid("currency", e))?,
            basis: basis(&self.basis, &self.from)?,
        })
    }
}
