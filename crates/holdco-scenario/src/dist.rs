//! Distributions of assumptions, each a function of a standard normal score (a Gaussian
//! copula): correlated normal scores go in, the assumption's value comes out, so correlation
//! is stated once for all variables whatever their marginal distribution.
//!
//! In scenario files a distribution is a bare number (a fixed value) or a table:
//!
//! ```toml
//! growth  = { dist = "normal", mean = 0.12, sd = 0.05 }
//! multiple = { dist = "lognormal", median = 18.0, sd_log = 0.25 }   # or mean = 18.0, sd = 4.0
//! margin  = { dist = "triangular", min = 0.05, mode = 0.10, max = 0.12 }
//! discount = { dist = "uniform", min = 0.10, max = 0.20, source = "Berger and Ofek (1995)" }
//! churn   = { dist = "empirical", values = [0.02, 0.05, 0.04, 0.07] }
//! tax     = { dist = "fixed", value = 0.25 }
//! ```
//!
//! The keys `source`, `note` and `basis` may appear in any table and are left to the caller.

use crate::rng::{norm_cdf, norm_quantile};
use std::fmt;

/// Largest magnitude of any distribution parameter (and of a fixed value): far above any
/// group's figures in any scale, and low enough that sums and products of draws over
/// every path and year stay finite.
pub const MAX_PARAMETER: f64 = 1e15;
/// Largest `sd_log` of a lognormal (also when derived from mean and sd): `exp(3 × 6)` is
/// already a factor of 66 million between the median and a six-sigma draw.
pub const MAX_SD_LOG: f64 = 3.0;
/// Most values of an empirical distribution.
pub const MAX_EMPIRICAL_VALUES: usize = 100_000;

/// A distribution of one assumption.
#[derive(Debug, Clone, PartialEq)]
pub enum Dist {
    /// Always this value.
    Fixed(f64),
    /// Normal with this mean and standard deviation.
    Normal {
        /// The mean.
        mean: f64,
        /// The standard deviation (>= 0).
        sd: f64,
    },
    /// `exp(N(mu, sigma^2))`: the median is `exp(mu)`.
    LogNormal {
        /// Mean of the logarithm.
        mu: f64,
        /// Standard deviation of the logarithm (>= 0).
        sigma: f64,
    },
    /// Triangular on `[min, max]` with its peak at `mode`.
    Triangular {
        /// The lowest value.
        min: f64,
        /// The most likely value, `min <= mode <= max`.
        mode: f64,
        /// The highest value.
        max: f64,
    },
    /// Uniform on `[min, max]`.
    Uniform {
        /// The lowest value.
        min: f64,
        /// The highest value.
        max: f64,
    },
    /// The distribution of observed values (sorted, at least two, all finite), continuous by
    /// linear interpolation between order statistics (quantile type 7): each gap between
    /// neighbouring sorted values carries probability `1 / (n - 1)`, spread evenly.
    Empirical(Vec<f64>),
}

/// A distribution that cannot be read or has invalid parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistError {
    /// The key at fault, e.g. `"sd"` (`"dist"` for the distribution's name, `"value"` for a
    /// value that is neither a number nor a table).
    pub field: String,
    /// What was expected and how to fix it, e.g. `"sd must be >= 0 (got -0.1)"`.
    pub message: String,
}

impl DistError {
    fn new(field: &str, message: impl Into<String>) -> DistError {
        DistError {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for DistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for DistError {}

/// The distribution names a table may give in `dist`.
const KNOWN: &str = "fixed, normal, lognormal, triangular, uniform, empirical";
/// Keys any table may carry for the caller.
const PASSED_THROUGH: [&str; 3] = ["source", "note", "basis"];

/// The parameters each distribution takes, as they are listed in error messages.
fn parameters(dist: &str) -> Option<&'static [&'static str]> {
    Some(match dist {
        "fixed" => &["value"],
        "normal" => &["mean", "sd"],
        "lognormal" => &["median", "sd_log", "mean", "sd"],
        "triangular" => &["min", "mode", "max"],
        "uniform" => &["min", "max"],
        "empirical" => &["values"],
        _ => return None,
    })
}

fn type_name(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a number",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

/// A finite number from an integer or a float; `what` names it in the message.
fn finite(value: &toml::Value, field: &str, what: &str) -> Result<f64, DistError> {
    let number = match value {
        toml::Value::Integer(i) => *i as f64,
        toml::Value::Float(f) => *f,
        other => {
            return Err(DistError::new(
                field,
                format!("{what} must be a number (got {})", type_name(other)),
            ))
        }
    };
    if number.is_finite() && number.abs() <= MAX_PARAMETER {
        Ok(number)
    } else if number.is_finite() {
        Err(DistError::new(
            field,
            format!("{what} must be at most {MAX_PARAMETER:e} in magnitude (got {number:e}); amounts are in the group's currency and scale"),
        ))
    } else {
        Err(DistError::new(
            field,
            format!("{what} must be a finite number (got {number})"),
        ))
    }
}

impl Dist {
    /// Reads a distribution from a scenario file's value: a bare number is [`Dist::Fixed`], a
    /// table names its distribution in `dist` (see the module documentation). Every parameter
    /// is checked; the error names the key at fault and says what was expected.
    pub fn parse(value: &toml::Value) -> Result<Dist, DistError> {
        let table = match value {
            toml::Value::Integer(_) | toml::Value::Float(_) => return Ok(Dist::Fixed(finite(value, "value", "a fixed value")?)),
            toml::Value::Table(table) => table,
            other => {
                return Err(DistError::new(
                    "value",
                    format!("expected a number or a distribution table such as {{ dist = \"normal\", mean = 0.12, sd = 0.05 }} (got {})", type_name(other)),
                ))
            }
        };
        let name = match table.get("dist") {
            Some(toml::Value::String(name)) => name.as_str(),
            Some(other) => return Err(DistError::new("dist", format!("must be the name of a distribution, one of {KNOWN} (got {})", type_name(other)))),
            None => return Err(DistError::new("dist", format!("missing: say which distribution, one of {KNOWN}, or give a plain number for a fixed value"))),
        };
        let Some(allowed) = parameters(name) else {
            return Err(DistError::new(
                "dist",
                format!("unknown distribution \"{name}\"; known: {KNOWN}"),
            ));
        };
        for key in table.keys() {
            if key != "dist"
                && !allowed.contains(&key.as_str())
                && !PASSED_THROUGH.contains(&key.as_str())
            {
                return Err(DistError::new(
                    key,
                    format!("unknown key for a {name} distribution; allowed keys: dist, {}, and source, note, basis", allowed.join(", ")),
                ));
            }
        }
        let number = |key: &str| -> Result<f64, DistError> {
            match table.get(key) {
                Some(value) => finite(value, key, key),
                None => Err(DistError::new(
                    key,
                    format!("missing: a {name} distribution needs {}", needs(name)),
                )),
            }
        };
        match name {
            "fixed" => Ok(Dist::Fixed(number("value")?)),
            "normal" => {
                let (mean, sd) = (number("mean")?, number("sd")?);
                non_negative("sd", sd)?;
                Ok(Dist::Normal { mean, sd })
            }
            "lognormal" => {
                let by_median = table.contains_key("median") || table.contains_key("sd_log");
                let by_moments = table.contains_key("mean") || table.contains_key("sd");
                if by_median && by_moments {
                    let key = if table.contains_key("mean") {
                        "mean"
                    } else {
                        "sd"
                    };
                    return Err(DistError::new(
                        key,
                        "a lognormal takes either median and sd_log (of the logarithm), or mean and sd (on the natural scale), not a mix of the two",
                    ));
                }
                if by_moments {
                    let (mean, sd) = (number("mean")?, number("sd")?);
                    if mean <= 0.0 {
                        return Err(DistError::new("mean", format!("mean must be > 0 for a lognormal (got {mean}); for values that can be negative use a normal")));
                    }
                    non_negative("sd", sd)?;
                    let dist = Dist::lognormal_from_moments(mean, sd);
                    if let Dist::LogNormal { sigma, .. } = dist {
                        if sigma > MAX_SD_LOG {
                            return Err(DistError::new("sd", format!("sd {sd} is too wide for mean {mean}: its sd_log would be {sigma:.3}, above the limit {MAX_SD_LOG}")));
                        }
                    }
                    Ok(dist)
                } else {
                    let (median, sigma) = (number("median")?, number("sd_log")?);
                    if median <= 0.0 {
                        return Err(DistError::new("median", format!("median must be > 0 for a lognormal (got {median}); for values that can be negative use a normal")));
                    }
                    non_negative("sd_log", sigma)?;
                    if sigma > MAX_SD_LOG {
                        return Err(DistError::new(
                            "sd_log",
                            format!("sd_log must be at most {MAX_SD_LOG} (got {sigma})"),
                        ));
                    }
                    Ok(Dist::LogNormal {
                        mu: median.ln(),
                        sigma,
                    })
                }
            }
            "triangular" => {
                let (min, mode, max) = (number("min")?, number("mode")?, number("max")?);
                if min >= max {
                    return Err(DistError::new("max", format!("max must be > min (got min {min}, max {max}); use a plain number for a fixed value")));
                }
                if mode < min || mode > max {
                    return Err(DistError::new(
                        "mode",
                        format!("mode must lie between min and max ({min} to {max}; got {mode})"),
                    ));
                }
                Ok(Dist::Triangular { min, mode, max })
            }
            "uniform" => {
                let (min, max) = (number("min")?, number("max")?);
                if min >= max {
                    return Err(DistError::new("max", format!("max must be > min (got min {min}, max {max}); use a plain number for a fixed value")));
                }
                Ok(Dist::Uniform { min, max })
            }
            _ => {
                let values = match table.get("values") {
                    Some(toml::Value::Array(items)) => items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| finite(item, "values", &format!("values[{i}]")))
                        .collect::<Result<Vec<f64>, _>>()?,
                    Some(other) => {
                        return Err(DistError::new(
                            "values",
                            format!(
                            "values must be an array of numbers, e.g. [0.02, 0.05, 0.04] (got {})",
                            type_name(other)
                        ),
                        ))
                    }
                    None => return Err(DistError::new(
                        "values",
                        "missing: an empirical distribution needs values = [at least two numbers]",
                    )),
                };
                Dist::empirical(values)
            }
        }
    }

    /// An empirical distribution of observed values: at least two, all finite; sorted here.
    pub fn empirical(mut values: Vec<f64>) -> Result<Dist, DistError> {
        if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(DistError::new(
                "values",
                format!("values[{i}] must be a finite number (got {v})"),
            ));
        }
        if let Some((i, v)) = values
            .iter()
            .enumerate()
            .find(|(_, v)| v.abs() > MAX_PARAMETER)
        {
            return Err(DistError::new(
                "values",
                format!("values[{i}] must be at most {MAX_PARAMETER:e} in magnitude (got {v:e})"),
            ));
        }
        if values.len() > MAX_EMPIRICAL_VALUES {
            return Err(DistError::new("values", format!("an empirical distribution takes at most {MAX_EMPIRICAL_VALUES} values (got {})", values.len())));
        }
        if values.len() < 2 {
            return Err(DistError::new("values", format!("an empirical distribution needs at least two values (got {}); use a plain number for a fixed value", values.len())));
        }
        values.sort_unstable_by(f64::total_cmp);
        Ok(Dist::Empirical(values))
    }

    /// The lognormal with this mean and standard deviation on the natural scale
    /// (`mean > 0`): `sigma^2 = ln(1 + sd^2 / mean^2)`, `mu = ln(mean) - sigma^2 / 2`.
    fn lognormal_from_moments(mean: f64, sd: f64) -> Dist {
        let variance_log = (sd / mean).powi(2).ln_1p();
        Dist::LogNormal {
            mu: mean.ln() - variance_log / 2.0,
            sigma: variance_log.sqrt(),
        }
    }

    /// The value at normal score `z`, i.e. `quantile(norm_cdf(z))`: the map from a
    /// (correlated) standard normal draw to this assumption. Normal and lognormal are computed
    /// directly (`mean + sd z`, `exp(mu + sigma z)`); a fixed value ignores `z`.
    #[inline]
    pub fn at_z(&self, z: f64) -> f64 {
        match self {
            Dist::Fixed(value) => *value,
            Dist::Normal { mean, sd } => mean + sd * z,
            Dist::LogNormal { mu, sigma } => libm::exp(mu + sigma * z),
            _ => self.quantile(norm_cdf(z)),
        }
    }

    /// The quantile at probability `p` in (0, 1); `p` is clamped to [0, 1], where unbounded
    /// distributions give infinities. Empirical: linear interpolation between order statistics
    /// (type 7). NaN gives NaN.
    pub fn quantile(&self, p: f64) -> f64 {
        if p.is_nan() {
            return f64::NAN;
        }
        let p = p.clamp(0.0, 1.0);
        match self {
            Dist::Fixed(value) => *value,
            Dist::Normal { mean, sd } => {
                if *sd == 0.0 {
                    *mean
                } else {
                    mean + sd * norm_quantile(p)
                }
            }
            Dist::LogNormal { mu, sigma } => {
                if *sigma == 0.0 {
                    libm::exp(*mu)
                } else {
                    libm::exp(mu + sigma * norm_quantile(p))
                }
            }
            Dist::Triangular { min, mode, max } => {
                let width = max - min;
                if width <= 0.0 {
                    return *min;
                }
                let below = (mode - min) / width;
                if p <= below {
                    min + (p * width * (mode - min)).sqrt()
                } else {
                    max - ((1.0 - p) * width * (max - mode)).sqrt()
                }
            }
            Dist::Uniform { min, max } => min + p * (max - min),
            Dist::Empirical(values) => match values.len() {
                0 => f64::NAN,
                1 => values[0],
                n => {
                    let h = (n - 1) as f64 * p;
                    let lower = (h.floor() as usize).min(n - 2);
                    let fraction = h - lower as f64;
                    values[lower] + fraction * (values[lower + 1] - values[lower])
                }
            },
        }
    }

    /// The mean, in closed form (for an empirical distribution, the mean of the interpolated
    /// distribution that is sampled, which weighs the two extremes half as much as the sample
    /// mean does).
    pub fn mean(&self) -> f64 {
        match self {
            Dist::Fixed(value) => *value,
            Dist::Normal { mean, .. } => *mean,
            Dist::LogNormal { mu, sigma } => libm::exp(mu + sigma * sigma / 2.0),
            Dist::Triangular { min, mode, max } => (min + mode + max) / 3.0,
            Dist::Uniform { min, max } => (min + max) / 2.0,
            Dist::Empirical(values) => match values.len() {
                0 => f64::NAN,
                1 => values[0],
                n => values.windows(2).map(|w| (w[0] + w[1]) / 2.0).sum::<f64>() / (n - 1) as f64,
            },
        }
    }

    /// The standard deviation, in closed form.
    pub fn sd(&self) -> f64 {
        match self {
            Dist::Fixed(_) => 0.0,
            Dist::Normal { sd, .. } => *sd,
            Dist::LogNormal { sigma, .. } => self.mean() * libm::expm1(sigma * sigma).sqrt(),
            Dist::Triangular { min, mode, max } => {
                ((min * min + mode * mode + max * max - min * mode - min * max - mode * max) / 18.0)
                    .max(0.0)
                    .sqrt()
            }
            Dist::Uniform { min, max } => (max - min).abs() / 12f64.sqrt(),
            Dist::Empirical(values) => match values.len() {
                0 => f64::NAN,
                1 => 0.0,
                n => {
                    // Each gap [a, b] is uniform: E[(X - c)^2] = (a'^2 + a'b' + b'^2) / 3 about c.
                    let centre = self.mean();
                    let second: f64 = values
                        .windows(2)
                        .map(|w| {
                            let (a, b) = (w[0] - centre, w[1] - centre);
                            (a * a + a * b + b * b) / 3.0
                        })
                        .sum();
                    (second / (n - 1) as f64).max(0.0).sqrt()
                }
            },
        }
    }

    /// Whether the distribution has zero variance (a fixed value, a zero sd or sigma, an empty
    /// range, or empirical values that are all equal).
    pub fn is_fixed(&self) -> bool {
        match self {
            Dist::Fixed(_) => true,
            Dist::Normal { sd, .. } => *sd == 0.0,
            Dist::LogNormal { sigma, .. } => *sigma == 0.0,
            Dist::Triangular { min, max, .. } | Dist::Uniform { min, max } => min == max,
            Dist::Empirical(values) => values.first() == values.last(),
        }
    }

    /// A short description for reports, e.g. `normal(mean 0.12, sd 0.05)`.
    pub fn describe(&self) -> String {
        match self {
            Dist::Fixed(value) => short(*value),
            Dist::Normal { mean, sd } => {
                format!("normal(mean {}, sd {})", short(*mean), short(*sd))
            }
            Dist::LogNormal { mu, sigma } => format!(
                "lognormal(median {}, sd_log {})",
                short(libm::exp(*mu)),
                short(*sigma)
            ),
            Dist::Triangular { min, mode, max } => format!(
                "triangular(min {}, mode {}, max {})",
                short(*min),
                short(*mode),
                short(*max)
            ),
            Dist::Uniform { min, max } => {
                format!("uniform(min {}, max {})", short(*min), short(*max))
            }
            Dist::Empirical(values) => match (values.first(), values.last()) {
                (Some(lo), Some(hi)) => format!(
                    "empirical({} values, {} to {})",
                    values.len(),
                    short(*lo),
                    short(*hi)
                ),
                _ => "empirical(no values)".to_string(),
            },
        }
    }
}

/// Needed parameters in words, for "missing" messages.
fn needs(dist: &str) -> &'static str {
    match dist {
        "fixed" => "value",
        "normal" => "mean and sd",
        "lognormal" => "median and sd_log, or mean and sd",
        "triangular" => "min, mode and max",
        "uniform" => "min and max",
        _ => "values",
    }
}

fn non_negative(field: &str, value: f64) -> Result<(), DistError> {
    if value < 0.0 {
        Err(DistError::new(
            field,
            format!("{field} must be >= 0 (got {value})"),
        ))
    } else {
        Ok(())
    }
}

/// A number with at most six significant digits and no trailing zeros: 0.12, 18, 1.5e-7.
fn short(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{}", if value == 0.0 { 0.0 } else { value });
    }
    let magnitude = value.abs().log10().floor() as i32;
    if !(-4..=9).contains(&magnitude) {
        let text = format!("{value:.5e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.trim_end_matches('0').trim_end_matches('.')
        } else {
            mantissa
        };
        return format!("{mantissa}e{exponent}");
    }
    let decimals = (5 - magnitude).max(0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{draw_bits, key, std_normal, stream_id};

    fn parse(text: &str) -> Result<Dist, DistError> {
        let table: toml::Table =
            toml::from_str(&format!("x = {text}")).expect("test input is TOML");
        Dist::parse(&table["x"])
    }

    /// Asserts that parsing fails on `field` with a message containing `fragment`.
    fn check_error(text: &str, field: &str, fragment: &str) {
        match parse(text) {
            Ok(dist) => panic!("{text} parsed as {dist:?}"),
            Err(e) => {
                assert_eq!(e.field, field, "{text}: {e}");
                assert!(
                    e.message.contains(fragment),
                    "{text}: message {:?} lacks {fragment:?}",
                    e.message
                );
            }
        }
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(parse("3").unwrap(), Dist::Fixed(3.0));
        assert_eq!(parse("0.25").unwrap(), Dist::Fixed(0.25));
        assert_eq!(
            parse(r#"{ dist = "fixed", value = 2 }"#).unwrap(),
            Dist::Fixed(2.0)
        );
        assert_eq!(parse(r#"{ dist = "normal", mean = 0.12, sd = 0.05, source = "analysts", note = "x", basis = "FY2024" }"#).unwrap(), Dist::Normal { mean: 0.12, sd: 0.05 });
        let by_median = parse(r#"{ dist = "lognormal", median = 18.0, sd_log = 0.25 }"#).unwrap();
        assert_eq!(
            by_median,
            Dist::LogNormal {
                mu: 18f64.ln(),
                sigma: 0.25
            }
        );
        let by_moments = parse(r#"{ dist = "lognormal", mean = 18, sd = 4.0 }"#).unwrap();
        assert!(
            (by_moments.mean() - 18.0).abs() < 1e-12 && (by_moments.sd() - 4.0).abs() < 1e-12,
            "{by_moments:?}"
        );
        assert_eq!(
            parse(r#"{ dist = "triangular", min = 1, mode = 1, max = 3 }"#).unwrap(),
            Dist::Triangular {
                min: 1.0,
                mode: 1.0,
                max: 3.0
            }
        );
        assert_eq!(
            parse(r#"{ dist = "uniform", min = -1, max = 1 }"#).unwrap(),
            Dist::Uniform {
                min: -1.0,
                max: 1.0
            }
        );
        assert_eq!(
            parse(r#"{ dist = "empirical", values = [3, 1.5, 2] }"#).unwrap(),
            Dist::Empirical(vec![1.5, 2.0, 3.0])
        );
        // A [table] section reads the same as an inline table.
        let table: toml::Table =
            toml::from_str("[x]\ndist = \"normal\"\nmean = 1\nsd = 0\n").unwrap();
        assert_eq!(
            Dist::parse(&table["x"]).unwrap(),
            Dist::Normal { mean: 1.0, sd: 0.0 }
        );
    }

    /// Issue 16 item 4: parameters that overflow a draw are refused, naming the key.
    #[test]
    fn rejects_parameters_whose_draws_overflow() {
        check_error(
            r#"{ dist = "lognormal", median = 1e308, sd_log = 0.2 }"#,
            "median",
            "at most 1e15",
        );
        check_error(
            r#"{ dist = "lognormal", median = 4, sd_log = 40 }"#,
            "sd_log",
            "at most 3",
        );
        check_error(
            r#"{ dist = "lognormal", mean = 4, sd = 1e12 }"#,
            "sd",
            "too wide",
        );
        check_error(
            r#"{ dist = "normal", mean = 0.1, sd = 1e200 }"#,
            "sd",
            "at most 1e15",
        );
        check_error(
            r#"{ dist = "empirical", values = [1, 2e16] }"#,
            "values",
            "at most 1e15",
        );
        assert!(Dist::parse(&toml::Value::Float(-1e300)).is_err());
        // Every accepted distribution keeps its draws finite far beyond any normal score drawn.
        for text in [
            r#"{ dist = "lognormal", median = 1e15, sd_log = 3 }"#,
            r#"{ dist = "normal", mean = -1e15, sd = 1e15 }"#,
        ] {
            let dist = parse(text).unwrap();
            for z in [-40.0, 40.0] {
                assert!(dist.at_z(z).is_finite(), "{text} at {z}");
            }
        }
    }

    #[test]
    fn rejects_every_invalid_form() {
        check_error(
            r#""high""#,
            "value",
            "expected a number or a distribution table",
        );
        check_error("[1, 2]", "value", "got an array");
        check_error("nan", "value", "finite");
        check_error("inf", "value", "finite");
        check_error(r#"{ mean = 1, sd = 2 }"#, "dist", "missing");
        check_error(r#"{ dist = 3 }"#, "dist", "got an integer");
        check_error(
            r#"{ dist = "gamma", shape = 2 }"#,
            "dist",
            "known: fixed, normal, lognormal, triangular, uniform, empirical",
        );
        check_error(
            r#"{ dist = "normal", mean = 1, sd = 2, stdev = 3 }"#,
            "stdev",
            "allowed keys: dist, mean, sd",
        );
        check_error(
            r#"{ dist = "normal", mean = 1 }"#,
            "sd",
            "missing: a normal distribution needs mean and sd",
        );
        check_error(
            r#"{ dist = "normal", mean = 1, sd = -0.1 }"#,
            "sd",
            "sd must be >= 0 (got -0.1)",
        );
        check_error(
            r#"{ dist = "normal", mean = "1", sd = 0.1 }"#,
            "mean",
            "must be a number (got a string)",
        );
        check_error(
            r#"{ dist = "normal", mean = nan, sd = 0.1 }"#,
            "mean",
            "finite",
        );
        check_error(r#"{ dist = "normal", mean = 1, sd = inf }"#, "sd", "finite");
        check_error(r#"{ dist = "fixed" }"#, "value", "missing");
        check_error(
            r#"{ dist = "fixed", value = true }"#,
            "value",
            "got a boolean",
        );
        check_error(
            r#"{ dist = "lognormal", median = 18 }"#,
            "sd_log",
            "missing",
        );
        check_error(
            r#"{ dist = "lognormal", median = 0, sd_log = 0.2 }"#,
            "median",
            "must be > 0",
        );
        check_error(
            r#"{ dist = "lognormal", median = 18, sd_log = -0.2 }"#,
            "sd_log",
            ">= 0",
        );
        check_error(
            r#"{ dist = "lognormal", mean = -1, sd = 0.2 }"#,
            "mean",
            "must be > 0",
        );
        check_error(
            r#"{ dist = "lognormal", mean = 10, sd = -2 }"#,
            "sd",
            ">= 0",
        );
        check_error(
            r#"{ dist = "lognormal", median = 18, sd = 2 }"#,
            "sd",
            "either median and sd_log",
        );
        check_error(r#"{ dist = "lognormal" }"#, "median", "missing");
        check_error(
            r#"{ dist = "lognormal", mu = 1, sigma = 2 }"#,
            "mu",
            "allowed keys: dist, median, sd_log, mean, sd",
        );
        check_error(
            r#"{ dist = "triangular", min = 1, max = 3 }"#,
            "mode",
            "missing",
        );
        check_error(
            r#"{ dist = "triangular", min = 1, mode = 4, max = 3 }"#,
            "mode",
            "between",
        );
        check_error(
            r#"{ dist = "triangular", min = 2, mode = 2, max = 2 }"#,
            "max",
            "use a plain number",
        );
        check_error(
            r#"{ dist = "triangular", min = 3, mode = 2, max = 1 }"#,
            "max",
            "max must be > min",
        );
        check_error(
            r#"{ dist = "uniform", min = 1, max = 1 }"#,
            "max",
            "max must be > min",
        );
        check_error(r#"{ dist = "uniform", min = 1 }"#, "max", "missing");
        check_error(
            r#"{ dist = "empirical", values = [1] }"#,
            "values",
            "at least two",
        );
        check_error(
            r#"{ dist = "empirical", values = [1, "x"] }"#,
            "values",
            "values[1] must be a number",
        );
        check_error(
            r#"{ dist = "empirical", values = [1, nan] }"#,
            "values",
            "values[1] must be a finite number",
        );
        check_error(
            r#"{ dist = "empirical", values = 3 }"#,
            "values",
            "must be an array",
        );
        check_error(r#"{ dist = "empirical" }"#, "values", "missing");
        assert_eq!(
            Dist::empirical(vec![1.0, f64::INFINITY]).unwrap_err().field,
            "values"
        );
        assert!(Dist::empirical(vec![]).is_err());
        assert_eq!(
            parse(r#"{ dist = "normal", sd = -1 }"#)
                .unwrap_err()
                .to_string(),
            "mean: missing: a normal distribution needs mean and sd"
        );
    }

    fn all() -> Vec<Dist> {
        vec![
            Dist::Fixed(2.5),
            Dist::Normal {
                mean: 0.12,
                sd: 0.05,
            },
            Dist::LogNormal {
                mu: 18f64.ln(),
                sigma: 0.25,
            },
            Dist::LogNormal {
                mu: 0.0,
                sigma: 1.0,
            },
            Dist::Triangular {
                min: 0.05,
                mode: 0.10,
                max: 0.12,
            },
            Dist::Triangular {
                min: -1.0,
                mode: -1.0,
                max: 2.0,
            },
            Dist::Uniform {
                min: 0.10,
                max: 0.20,
            },
            Dist::empirical(vec![0.02, 0.05, 0.04, 0.07, 0.3]).unwrap(),
        ]
    }

    #[test]
    fn draws_match_the_closed_form_mean_and_sd() {
        let n = if cfg!(debug_assertions) {
            200_000
        } else {
            2_000_000
        };
        for (d, dist) in all().into_iter().enumerate() {
            let k = key(5, stream_id("dist test"), d as u64);
            let xs: Vec<f64> = (0..n as u64)
                .map(|s| dist.at_z(std_normal(draw_bits(k, s))))
                .collect();
            let nf = n as f64;
            let mean = xs.iter().sum::<f64>() / nf;
            let m2 = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / nf;
            let m4 = xs.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / nf;
            let (expected_mean, expected_sd) = (dist.mean(), dist.sd());
            if dist.is_fixed() {
                assert!(
                    xs.iter().all(|x| *x == expected_mean) && expected_sd == 0.0,
                    "{dist:?}"
                );
                continue;
            }
            // Standard errors of the sample mean and variance.
            let se_mean = (m2 / nf).sqrt();
            let se_var = ((m4 - m2 * m2) / nf).sqrt();
            assert!(
                (mean - expected_mean).abs() <= 4.0 * se_mean,
                "{}: mean {mean} vs {expected_mean} (se {se_mean})",
                dist.describe()
            );
            assert!(
                (m2 - expected_sd.powi(2)).abs() <= 4.0 * se_var,
                "{}: variance {m2} vs {} (se {se_var})",
                dist.describe(),
                expected_sd.powi(2)
            );
        }
    }

    #[test]
    fn quantiles_are_monotone_and_agree_with_at_z() {
        for dist in all() {
            let mut last = f64::NEG_INFINITY;
            for i in 1..1000 {
                let p = i as f64 / 1000.0;
                let q = dist.quantile(p);
                assert!(
                    q >= last,
                    "{}: quantile({p}) = {q} < {last}",
                    dist.describe()
                );
                last = q;
                let z = norm_quantile(p);
                let at = dist.at_z(z);
                assert!(
                    (at - q).abs() <= 1e-9 * q.abs().max(1.0),
                    "{}: at_z({z}) = {at}, quantile({p}) = {q}",
                    dist.describe()
                );
            }
            assert!(dist.quantile(f64::NAN).is_nan());
            assert!(!dist.at_z(40.0).is_nan() && !dist.at_z(-40.0).is_nan());
        }
    }

    #[test]
    fn empirical_quantiles_interpolate_order_statistics() {
        let d = Dist::empirical(vec![4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!(d.quantile(0.0), 1.0);
        assert_eq!(d.quantile(1.0), 4.0);
        assert_eq!(d.quantile(0.5), 2.5);
        assert!((d.quantile(1.0 / 3.0) - 2.0).abs() < 1e-12);
        assert_eq!(d.mean(), 2.5);
        // Three gaps of width one, each uniform: variance 1/12 + variance of the centres (2/3).
        assert!((d.sd().powi(2) - (1.0 / 12.0 + 2.0 / 3.0)).abs() < 1e-12);
    }

    #[test]
    fn fixedness_and_descriptions() {
        assert!(Dist::Fixed(1.0).is_fixed());
        assert!(Dist::Normal { mean: 1.0, sd: 0.0 }.is_fixed());
        assert!(Dist::LogNormal {
            mu: 1.0,
            sigma: 0.0
        }
        .is_fixed());
        assert!(Dist::Empirical(vec![2.0, 2.0, 2.0]).is_fixed());
        assert!(!Dist::Uniform { min: 0.0, max: 1.0 }.is_fixed());
        assert_eq!(
            Dist::Normal {
                mean: 0.12,
                sd: 0.05
            }
            .describe(),
            "normal(mean 0.12, sd 0.05)"
        );
        assert_eq!(
            parse(r#"{ dist = "lognormal", median = 18.0, sd_log = 0.25 }"#)
                .unwrap()
                .describe(),
            "lognormal(median 18, sd_log 0.25)"
        );
        assert_eq!(Dist::Fixed(1234567.0).describe(), "1234567");
        assert_eq!(Dist::Fixed(-0.000015).describe(), "-1.5e-5");
        assert_eq!(
            Dist::Empirical(vec![0.02, 0.3]).describe(),
            "empirical(2 values, 0.02 to 0.3)"
        );
        // Zero-variance distributions give their value at every score.
        for dist in [Dist::Normal { mean: 3.0, sd: 0.0 }, Dist::Fixed(3.0)] {
            assert_eq!(dist.at_z(1.7), 3.0);
        }
    }
}
