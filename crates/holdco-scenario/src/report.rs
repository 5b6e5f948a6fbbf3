//! Results of `scenario run` and `scenario compare` as plain data (tables, JSON) and
//! charts.

use crate::engine::{self, Basis, Projection, Simulation, Stats, Swing};
use crate::stats::{Moments, Sketch};
use crate::svg;
use serde::Serialize;

/// The percentiles every distribution reports.
pub const PERCENTILES: [f64; 5] = [0.05, 0.25, 0.50, 0.75, 0.95];

/// A distribution summarised. The mean and its standard error are exact sums over the
/// paths; the percentiles come from a quantile sketch accurate to `quantile_accuracy`
/// (relative) and are rounded to it (a value of 2,433,363 at ±0.2% is shown as 2,433,000).
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
    /// Relative accuracy of the percentiles (0.002: within ±0.2% of the exact order
    /// statistic); 0 when every path gave the same value (the percentiles are then exact).
    pub quantile_accuracy: f64,
}

impl Distribution {
    fn of(moments: &Moments, sketch: &Sketch) -> Distribution {
        let exact = moments.count() > 0 && moments.min() == moments.max();
        let accuracy = if exact { 0.0 } else { sketch.alpha() };
        let q = |p: f64| round_to_accuracy(clamp(sketch.quantile(p), moments), accuracy);
        Distribution {
            mean: moments.mean(),
            se: moments.se(),
            sd: moments.sd(),
            p5: q(0.05),
            p25: q(0.25),
            p50: q(0.5),
            p75: q(0.75),
            p95: q(0.95),
            quantile_accuracy: accuracy,
        }
    }
}

/// `value` rounded to the power of ten at or below its absolute error `accuracy x |value|`,
/// so no digit is shown that the sketch does not vouch for (2,433,363 at 0.002: error 4,867,
/// rounded to thousands: 2,433,000). Accuracy 0 leaves it as it is.
pub fn round_to_accuracy(value: f64, accuracy: f64) -> f64 {
    let error = accuracy * value.abs();
    if !(error > 0.0 && error.is_finite()) {
        return value;
    }
    let step = 10f64.powf(error.log10().floor());
    (value / step).round() * step
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
    /// What a dis-synergy takes from it, in words, when it has one.
    pub dis_synergy: Option<String>,
    /// Its reporting factor in the projected group figures, per year.
    pub report: Vec<f64>,
}

/// A dis-synergy in words: its median share, what it takes (EBITA; revenue and EBITA for a
/// part valued on revenue) and from when.
fn dis_synergy_words(projection: &Projection, part: &engine::Part) -> Option<String> {
    let (var, from) = part.dis_synergy.as_ref()?;
    let year = projection
        .years
        .get(*from)
        .or(projection.years.last())
        .cloned()
        .unwrap_or_default();
    let what = match part.basis {
        Basis::Revenue => "of its revenue and EBITA (valued on revenue: the multiple applies to the revenue left, margin unchanged)",
        Basis::Ebita => "of its EBITA (revenue unchanged)",
    };
    Some(format!("dis-synergy {:.1}% (median) {what}, from {year} through the valuation, before the holding discount", var.at(0, 0.0) * 100.0))
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
    /// Relative accuracy of the percentiles, which are rounded to it.
    pub quantile_accuracy: f64,
}

fn fan(years: &[String], sketches: &[Sketch]) -> Fan {
    // Rounded to the sketches' accuracy, as the value's percentiles are.
    let q = |p: f64| {
        sketches
            .iter()
            .map(|s| round_to_accuracy(s.quantile(p), s.alpha()))
            .collect::<Vec<f64>>()
    };
    let accuracy = sketches.first().map(Sketch::alpha).unwrap_or(0.0);
    Fan {
        years: years.to_vec(),
        p5: q(0.05),
        p25: q(0.25),
        p50: q(0.5),
        p75: q(0.75),
        p95: q(0.95),
        quantile_accuracy: accuracy,
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
    /// Assumptions given but not used, and other things a reader should know (filled by
    /// the caller from [`crate::compile::compile_with_warnings`]).
    pub warnings: Vec<String>,
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
            dis_synergy: dis_synergy_words(projection, p),
            report: (0..projection.years.len())
                .map(|t| p.report_in(t))
                .collect(),
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
        warnings: Vec::new(),
    }
}

/// The tornado, ready to show: a deterministic sensitivity around the all-median point.
#[derive(Debug, Clone, Serialize)]
pub struct Tornado {
    /// What it is, in words (the base is not the Monte Carlo mean).
    pub method: String,
    /// The result with every assumption at its median.
    pub base: f64,
    /// What it measures ("value" or "A - B").
    pub measure: String,
    /// Bars, largest swing first.
    pub swings: Vec<Swing>,
    /// Assumptions that move the result too but were left out of the `top` bars, largest
    /// swing first.
    pub dropped: Vec<Swing>,
    /// Display label of each assumption key (bars and dropped): names, not ids.
    pub labels: std::collections::BTreeMap<String, String>,
}

/// What the tornado is, said next to it.
pub const TORNADO_METHOD: &str = "deterministic sensitivity around the all-median point: one assumption at a time at its P10 and at its P90, every other at its median; the base is the result with all at their medians, not the Monte Carlo mean";

impl Tornado {
    fn new(
        projections: &[&Projection],
        measure: String,
        (base, swings, dropped): (f64, Vec<Swing>, Vec<Swing>),
    ) -> Tornado {
        let labels = swings
            .iter()
            .chain(&dropped)
            .map(|s| {
                (
                    s.assumption.clone(),
                    assumption_label(projections, &s.assumption),
                )
            })
            .collect();
        Tornado {
            method: TORNADO_METHOD.into(),
            base,
            measure,
            swings,
            dropped,
            labels,
        }
    }

    /// The display label of an assumption key.
    pub fn label<'a>(&'a self, key: &'a str) -> &'a str {
        self.labels.get(key).map(String::as_str).unwrap_or(key)
    }
}

/// An assumption key in words, with the unit's name rather than its id:
/// `unit.cloud_intelligence.multiple` -> "阿里云智能集团 Cloud Intelligence Group: multiple".
pub fn assumption_label(projections: &[&Projection], key: &str) -> String {
    let name = |unit: &str| {
        projections
            .iter()
            .flat_map(|p| &p.parts)
            .find(|p| p.unit == unit)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| unit.to_string())
    };
    let words = |what: &str| what.replace('_', " ");
    let parts: Vec<&str> = key.split('.').collect();
    match parts.as_slice() {
        ["unit", unit, what] => format!("{}: {}", name(unit), words(what)),
        ["separation", id, "dis_synergy", unit] => format!("{}: dis-synergy of {id}", name(unit)),
        ["separation", id, what] => format!("{id}: {}", words(what)),
        ["change", id, what] => format!("{id}: {}", words(what)),
        ["valuation", what] => words(what),
        ["correlation", "factor"] => "common growth factor".into(),
        _ => key.to_string(),
    }
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
    Run {
        paths: simulation.paths,
        seed: simulation.seed,
        result: scenario_result(projection, title, currency, &simulation.stats[0]),
        tornado: Tornado::new(
            &[projection],
            "value".into(),
            engine::tornado(projection, None, top),
        ),
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
    Comparison {
        paths: simulation.paths,
        seed: simulation.seed,
        a: scenario_result(a.0, a.1, currency, &simulation.stats[0]),
        b: scenario_result(b.0, b.1, currency, &simulation.stats[1]),
        difference: Distribution::of(&diff.moments, &diff.sketch),
        p_a_greater: diff.p_greater(),
        p_a_greater_se: diff.p_greater_se(),
        tornado: Tornado::new(
            &[a.0, b.0],
            format!("{} - {}", a.0.name, b.0.name),
            engine::tornado(a.0, Some(b.0), top),
        ),
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
            label: tornado.label(&s.assumption).to_string(),
            low: s.low,
            high: s.high,
            low_note: s.low_note.clone(),
            high_note: s.high_note.clone(),
        })
        .collect()
}

/// The lines under the tornado chart: what it is, and which bars were left out.
fn tornado_notes(tornado: &Tornado) -> Vec<String> {
    let mut notes = vec![format!(
        "Low = the assumption's P10 (red), high = its P90 (blue). The base line ({}) is the result with every assumption at its median (the all-median point), not the Monte Carlo mean.",
        thousands(tornado.base)
    )];
    if !tornado.dropped.is_empty() {
        let names: Vec<&str> = tornado
            .dropped
            .iter()
            .map(|s| tornado.label(&s.assumption))
            .collect();
        let widest = tornado
            .dropped
            .iter()
            .map(|s| (s.high - s.low).abs())
            .fold(0.0, f64::max);
        notes.push(format!(
            "Not shown, {} smaller swing(s), each at most {}: {}.",
            names.len(),
            thousands(widest),
            names.join("; ")
        ));
    }
    notes
}

/// Whole units with thousands separators.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if value < 0.0 && digits != "0" {
        out.insert(0, '-');
    }
    out
}

/// What the charts say beyond the results: how many paths, which seed, and the actual
/// history of revenue and EBITA drawn before the fans.
#[derive(Debug, Clone, Default)]
pub struct ChartContext {
    /// Monte Carlo paths.
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// The group's name (the actual line's source).
    pub group: String,
    /// Actual revenue (see [`crate::compile::actuals`]).
    pub revenue: Option<crate::compile::Actuals>,
    /// Actual EBITA.
    pub ebita: Option<crate::compile::Actuals>,
}

impl ChartContext {
    /// The actual line and the footnote of one fan chart.
    fn fan_notes(
        &self,
        actual: Option<&crate::compile::Actuals>,
        currency: &str,
    ) -> (Option<svg::ActualLine>, Vec<String>) {
        let mut notes = Vec::new();
        let line = actual.filter(|a| !a.points.is_empty()).map(|a| {
            let what = if a.continuing {
                "continuing operations (what the group held on that date; units that left before it are not in the line)"
            } else {
                "whole group"
            };
            let mut note = format!(
                "Actual (black line): {} {}, {what}, restated into the group's structure of {} (holdco rollup {} --view restated --structure {}); figures {}.",
                self.group,
                a.metric,
                a.structure,
                a.metric,
                a.structure,
                if a.provenance.is_empty() {
                    "from the model's facts".to_string()
                } else {
                    format!("from the model's facts: {}", a.provenance.join(", "))
                }
            );
            if !a.gaps.is_empty() {
                note.push_str(&format!(" Not drawn (gaps): {}.", a.gaps.join(", ")));
            }
            notes.push(note);
            svg::ActualLine {
                name: "actual".into(),
                points: a.points.clone(),
            }
        });
        if line.is_none() {
            notes.push("No actual history drawn: the model holds no complete figure for the years before the projection.".into());
        }
        notes.push(format!(
            "Fan: {} Monte Carlo paths, seed {}; {currency} millions.",
            thousands(self.paths as f64),
            self.seed
        ));
        (line, notes)
    }
}

/// The charts of a run or comparison: file name and SVG text.
pub fn charts(
    results: &[&ScenarioResult],
    tornado: &Tornado,
    context: &ChartContext,
) -> Vec<(String, String)> {
    let Some(first) = results.first() else {
        return Vec::new();
    };
    let currency = &first.currency;
    let names: Vec<&str> = results.iter().map(|r| r.scenario.as_str()).collect();
    let title = names.join(" vs ");
    // The fans' legends name each scenario by its title (its id when it has none); the
    // fans' titles name them by title when that fits on one line.
    let shown = |r: &ScenarioResult| {
        if r.title.trim().is_empty() {
            r.scenario.clone()
        } else {
            r.title.clone()
        }
    };
    let titles: Vec<String> = results.iter().map(|r| shown(r)).collect();
    let fan_title = |what: &str| {
        let long = format!("{what}, actual and projected: {}", titles.join(" vs "));
        if long.chars().count() <= 80 {
            long
        } else {
            format!("{what}, actual and projected: {title}")
        }
    };
    let revenue: Vec<svg::FanSeries> = results
        .iter()
        .map(|r| fan_series(&shown(r), &r.revenue))
        .collect();
    let ebita: Vec<svg::FanSeries> = results
        .iter()
        .map(|r| fan_series(&shown(r), &r.ebita))
        .collect();
    let densities: Vec<svg::Density> = results.iter().map(|r| density(r)).collect();
    vec![
        ("revenue-fan.svg".into(), {
            let (line, notes) = context.fan_notes(context.revenue.as_ref(), currency);
            svg::fan_chart_with_actuals(
                &fan_title("Revenue"),
                &format!("revenue, {currency} millions"),
                &first.revenue.years,
                &revenue,
                line.as_ref(),
                &notes,
            )
        }),
        ("ebita-fan.svg".into(), {
            let (line, notes) = context.fan_notes(context.ebita.as_ref(), currency);
            svg::fan_chart_with_actuals(
                &fan_title("EBITA"),
                &format!("EBITA, {currency} millions"),
                &first.ebita.years,
                &ebita,
                line.as_ref(),
                &notes,
            )
        }),
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
                &tornado_notes(tornado),
            ),
        ),
    ]
}
