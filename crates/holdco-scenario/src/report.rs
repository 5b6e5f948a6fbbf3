//! Results of `scenario run` and `scenario compare` as plain data (tables, JSON) and
//! charts.

use crate::engine::{self, Projection, Simulation, Stats, Swing};
use crate::stats::{Moments, Sketch};
use crate::svg;
use serde::Serialize;

/// The percentiles every distribution reports.
pub const PERCENTILES: [f64; 5] = [0.05, 0.25, 0.50, 0.75, 0.95];

/// A distribution summarised.
#[derive(Debug, Clone, Serialize)]
pub struct Distribution {
    /// Mean.
    pub mean: f64,
    /// Standard error of the mean.
    pub se: f64,
    /// Standard deviation.
    pub sd: f64,
    /// 5th percentile.
    pub p5: f64,
    /// 25th percentile.
    pub p25: f64,
    /// Median.
    pub p50: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 95th percentile.
    pub p95: f64,
}

impl Distribution {
    fn of(moments: &Moments, sketch: &Sketch) -> Distribution {
        let q = |p: f64| clamp(sketch.quantile(p), moments);
        Distribution {
            mean: moments.mean(),
            se: moments.se(),
            sd: moments.sd(),
            p5: q(0.05),
            p25: q(0.25),
            p50: q(0.5),
            p75: q(0.75),
            p95: q(0.95),
        }
    }
}

/// A sketch's quantile kept within the exact range seen (a constant stays exact).
fn clamp(value: f64, moments: &Moments) -> f64 {
    if moments.count() == 0 {
        return f64::NAN;
    }
    value.clamp(moments.min(), moments.max())
}

/// One line of the sum-of-the-parts bridge (means over the paths; they add up to the mean
/// value).
#[derive(Debug, Clone, Serialize)]
pub struct BridgeLine {
    /// What the line is.
    pub line: String,
    /// Mean contribution.
    pub mean: f64,
    /// Its standard error.
    pub se: f64,
}

/// A part and where it stands.
#[derive(Debug, Clone, Serialize)]
pub struct PartInfo {
    /// Unit id.
    pub unit: String,
    /// Name.
    pub name: String,
    /// Held, spun off, sold...
    pub status: String,
    /// Economic share the group keeps.
    pub held: f64,
    /// Share held directly by the shareholders after a spin-off.
    pub direct: f64,
    /// Base-year revenue.
    pub revenue0: f64,
}

/// Percentile bands per projection year.
#[derive(Debug, Clone, Serialize)]
pub struct Fan {
    /// Year labels.
    pub years: Vec<String>,
    /// 5th percentile per year.
    pub p5: Vec<f64>,
    /// 25th.
    pub p25: Vec<f64>,
    /// Median.
    pub p50: Vec<f64>,
    /// 75th.
    pub p75: Vec<f64>,
    /// 95th.
    pub p95: Vec<f64>,
}

fn fan(years: &[String], sketches: &[Sketch]) -> Fan {
    let q = |p: f64| sketches.iter().map(|s| s.quantile(p)).collect::<Vec<f64>>();
    Fan {
        years: years.to_vec(),
        p5: q(0.05),
        p25: q(0.25),
        p50: q(0.5),
        p75: q(0.75),
        p95: q(0.95),
    }
}

/// One scenario's result.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    /// Name.
    pub scenario: String,
    /// Title.
    pub title: String,
    /// Currency of every amount.
    pub currency: String,
    /// Value to the group's shareholders.
    pub value: Distribution,
    /// Sum-of-the-parts bridge.
    pub bridge: Vec<BridgeLine>,
    /// Parts.
    pub parts: Vec<PartInfo>,
    /// Group revenue (parts at their reporting factor) per year.
    pub revenue: Fan,
    /// Group EBITA per year.
    pub ebita: Fan,
    /// Histogram of the value: (low, high, share of paths).
    pub histogram: Vec<(f64, f64, f64)>,
}

/// Summarises one scenario's statistics.
pub fn scenario_result(
    projection: &Projection,
    title: &str,
    currency: &str,
    stats: &Stats,
) -> ScenarioResult {
    let bridge = projection
        .line_names()
        .into_iter()
        .zip(&stats.lines)
        .filter(|(_, m)| m.mean() != 0.0 || m.sd() != 0.0)
        .map(|(line, m)| BridgeLine {
            line,
            mean: m.mean(),
            se: m.se(),
        })
        .collect();
    let parts = projection
        .parts
        .iter()
        .map(|p| PartInfo {
            unit: p.unit.clone(),
            name: p.name.clone(),
            status: p.status.clone(),
            held: p.held,
            direct: p.direct,
            revenue0: p.revenue0,
        })
        .collect();
    ScenarioResult {
        scenario: projection.name.clone(),
        title: title.to_string(),
        currency: currency.to_string(),
        value: Distribution::of(&stats.value, &stats.value_sketch),
        bridge,
        parts,
        revenue: fan(&projection.years, &stats.revenue),
        ebita: fan(&projection.years, &stats.ebita),
        histogram: stats.value_sketch.histogram(40),
    }
}

/// The tornado, ready to show.
#[derive(Debug, Clone, Serialize)]
pub struct Tornado {
    /// The result with every assumption at its median.
    pub base: f64,
    /// What it measures ("value" or "A - B").
    pub measure: String,
    /// Bars, largest swing first.
    pub swings: Vec<Swing>,
}

/// `scenario run`.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// Paths.
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// The scenario.
    pub result: ScenarioResult,
    /// Assumptions that move the value most.
    pub tornado: Tornado,
}

/// `scenario compare`.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Paths (the same for both: paired).
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// Scenario A.
    pub a: ScenarioResult,
    /// Scenario B.
    pub b: ScenarioResult,
    /// A - B, path by path.
    pub difference: Distribution,
    /// P(A > B), ties counted half.
    pub p_a_greater: f64,
    /// Its standard error.
    pub p_a_greater_se: f64,
    /// Assumptions that move A - B most.
    pub tornado: Tornado,
}

/// Builds the `scenario run` result.
pub fn run(
    projection: &Projection,
    title: &str,
    currency: &str,
    simulation: &Simulation,
    top: usize,
) -> Run {
    let (base, swings) = engine::tornado(projection, None, top);
    Run {
        paths: simulation.paths,
        seed: simulation.seed,
        result: scenario_result(projection, title, currency, &simulation.stats[0]),
        tornado: Tornado {
            base,
            measure: "value".into(),
            swings,
        },
    }
}

/// Builds the `scenario compare` result.
pub fn compare(
    a: (&Projection, &str),
    b: (&Projection, &str),
    currency: &str,
    simulation: &Simulation,
    top: usize,
) -> Comparison {
    let diff = simulation
        .diff
        .as_ref()
        .expect("compare runs two scenarios");
    let (base, swings) = engine::tornado(a.0, Some(b.0), top);
    Comparison {
        paths: simulation.paths,
        seed: simulation.seed,
        a: scenario_result(a.0, a.1, currency, &simulation.stats[0]),
        b: scenario_result(b.0, b.1, currency, &simulation.stats[1]),
        difference: Distribution::of(&diff.moments, &diff.sketch),
        p_a_greater: diff.p_greater(),
        p_a_greater_se: diff.p_greater_se(),
        tornado: Tornado {
            base,
            measure: format!("{} - {}", a.0.name, b.0.name),
            swings,
        },
    }
}

fn fan_series(name: &str, fan: &Fan) -> svg::FanSeries {
    svg::FanSeries {
        name: name.to_string(),
        p5: fan.p5.clone(),
        p25: fan.p25.clone(),
        p50: fan.p50.clone(),
        p75: fan.p75.clone(),
        p95: fan.p95.clone(),
    }
}

fn density(result: &ScenarioResult) -> svg::Density {
    svg::Density {
        name: result.scenario.clone(),
        bins: result.histogram.clone(),
        p5: result.value.p5,
        p50: result.value.p50,
        p95: result.value.p95,
    }
}

fn tornado_bars(tornado: &Tornado) -> Vec<svg::TornadoBar> {
    tornado
        .swings
        .iter()
        .map(|s| svg::TornadoBar {
            label: s.assumption.clone(),
            low: s.low,
            high: s.high,
            low_note: s.low_note.clone(),
            high_note: s.high_note.clone(),
        })
        .collect()
}

/// The charts of a run or comparison: file name and SVG text.
pub fn charts(results: &[&ScenarioResult], tornado: &Tornado) -> Vec<(String, String)> {
    let Some(first) = results.first() else {
        return Vec::new();
    };
    let currency = &first.currency;
    let names: Vec<&str> = results.iter().map(|r| r.scenario.as_str()).collect();
    let title = names.join(" vs ");
    let revenue: Vec<svg::FanSeries> = results
        .iter()
        .map(|r| fan_series(&r.scenario, &r.revenue))
        .collect();
    let ebita: Vec<svg::FanSeries> = results
        .iter()
        .map(|r| fan_series(&r.scenario, &r.ebita))
        .collect();
    let densities: Vec<svg::Density> = results.iter().map(|r| density(r)).collect();
    vec![
        (
            "revenue-fan.svg".into(),
            svg::fan_chart(
                &format!("Projected revenue, {title} (P5-P95, P25-P75, median)"),
                &format!("{currency} millions"),
                &first.revenue.years,
                &revenue,
            ),
        ),
        (
            "ebita-fan.svg".into(),
            svg::fan_chart(
                &format!("Projected EBITA, {title} (P5-P95, P25-P75, median)"),
                &format!("{currency} millions"),
                &first.ebita.years,
                &ebita,
            ),
        ),
        (
            "value.svg".into(),
            svg::histogram(
                &format!("Value to shareholders, {title}"),
                &format!("{currency} millions"),
                &densities,
            ),
        ),
        (
            "tornado.svg".into(),
            svg::tornado(
                &format!("What moves {} most", tornado.measure),
                &format!("{currency} millions"),
                tornado.base,
                &tornado_bars(tornado),
            ),
        ),
    ]
}
