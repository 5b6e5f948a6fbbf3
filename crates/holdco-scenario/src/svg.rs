//! Charts of scenario results as standalone SVG text: a fan chart of projected paths, overlaid
//! histograms of value per scenario, and a tornado of the assumptions that move a result most.
//! Written by hand, with no fonts or system libraries needed. Every chart accepts empty input,
//! single points and equal values, and never writes NaN or infinity into the SVG: non-finite
//! inputs are left out.

/// The font stack of every chart: fonts with Chinese glyphs first (unit names are often
/// Chinese), then common Latin fonts, then the generic family.
const CHART_FONTS: &str = "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', 'DejaVu Sans', Arial, sans-serif";

use std::fmt::Write as _;

const PALETTE: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
];

/// The percentiles of one projected series (e.g. a scenario's revenue), one value per x label.
#[derive(Debug, Clone, PartialEq)]
pub struct FanSeries {
    /// The series' name in the legend (e.g. the scenario).
    pub name: String,
    /// 5th percentiles.
    pub p5: Vec<f64>,
    /// 25th percentiles.
    pub p25: Vec<f64>,
    /// Medians.
    pub p50: Vec<f64>,
    /// 75th percentiles.
    pub p75: Vec<f64>,
    /// 95th percentiles.
    pub p95: Vec<f64>,
}

/// The distribution of one scenario's result, as histogram bins.
#[derive(Debug, Clone, PartialEq)]
pub struct Density {
    /// The name in the legend (e.g. the scenario).
    pub name: String,
    /// Bins `(lo, hi, share)`: share is the fraction of paths in `[lo, hi)`.
    pub bins: Vec<(f64, f64, f64)>,
    /// 5th percentile, marked with a dashed line.
    pub p5: f64,
    /// Median, marked with a solid line.
    pub p50: f64,
    /// 95th percentile, marked with a dashed line.
    pub p95: f64,
}

/// One assumption of a tornado chart: the result with the assumption at its low and at its
/// high value, the others held at the base.
#[derive(Debug, Clone, PartialEq)]
pub struct TornadoBar {
    /// The assumption, e.g. `cloud.multiple`.
    pub label: String,
    /// The result with the assumption at its low value.
    pub low: f64,
    /// The result with the assumption at its high value.
    pub high: f64,
    /// What the low value was, e.g. `P10 = 9.5x`.
    pub low_note: String,
    /// What the high value was, e.g. `P90 = 14.2x`.
    pub high_note: String,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A coordinate with one decimal; never NaN or infinite in the output.
fn c(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.1}")
    } else {
        "0".to_string()
    }
}

/// A number with thousands separators and `decimals` decimals: 12,345.6.
fn number(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return "-".to_string();
    }
    let text = format!("{:.*}", decimals, value.abs());
    let (whole, fraction) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(w, f)| (w, Some(f)));
    let mut out = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    // No "-0" for values that round to zero.
    if value < 0.0 && out.chars().any(|ch| ch.is_ascii_digit() && ch != '0') {
        format!("-{out}")
    } else {
        out
    }
}

/// Decimals that resolve a difference of `step`.
fn decimals_for(step: f64) -> usize {
    if !(step.is_finite() && step > 0.0) || step >= 1.0 {
        0
    } else {
        ((-step.log10()).ceil() as usize).min(8)
    }
}

/// A readable axis: round ticks (1, 2 or 5 times a power of ten), about `target` of them,
/// covering every finite value given (a pad is added around a single value).
struct Axis {
    lo: f64,
    hi: f64,
    step: f64,
}

impl Axis {
    fn new(values: impl Iterator<Item = f64>, target: usize) -> Axis {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.filter(|v| v.is_finite()) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if !lo.is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        if hi - lo <= f64::EPSILON * lo.abs().max(hi.abs()).max(f64::MIN_POSITIVE) {
            let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
            (lo, hi) = (lo - pad, hi + pad);
        }
        let raw = (hi - lo) / target.max(1) as f64;
        let power = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|m| m * power)
            .find(|s| *s >= raw)
            .unwrap_or(raw);
        let (lo, hi) = ((lo / step).floor() * step, (hi / step).ceil() * step);
        if !(lo.is_finite() && hi.is_finite() && step.is_finite() && step > 0.0 && hi > lo) {
            return Axis {
                lo: 0.0,
                hi: 1.0,
                step: 0.2,
            };
        }
        Axis { lo, hi, step }
    }

    fn ticks(&self) -> Vec<f64> {
        let count = ((self.hi - self.lo) / self.step).round().clamp(0.0, 100.0) as usize;
        (0..=count)
            .map(|i| self.lo + i as f64 * self.step)
            .map(|v| if v.abs() < self.step * 1e-9 { 0.0 } else { v })
            .collect()
    }

    /// The position of `v` in [from, to] (pixels).
    fn map(&self, v: f64, from: f64, to: f64) -> f64 {
        from + (v - self.lo) / (self.hi - self.lo) * (to - from)
    }

    fn label(&self, v: f64) -> String {
        number(v, decimals_for(self.step))
    }
}

fn open(out: &mut String, width: f64, height: f64, title: &str) {
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" viewBox="0 0 {0} {1}" font-family="{CHART_FONTS}" font-size="12">"#,
        c(width),
        c(height)
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="20" y="28" font-size="18" font-weight="bold">{}</text>"#,
        escape(title)
    );
}

/// The width of `text` at `size` pixels in a sans-serif font, roughly: CJK characters a full
/// em, others about 0.58 em.
fn text_width(text: &str, size: f64) -> f64 {
    text.chars()
        .map(|ch| {
            if (ch as u32) >= 0x2E80 {
                size
            } else {
                0.58 * size
            }
        })
        .sum()
}

/// `text` broken at spaces into lines no wider than `width` pixels at `size`.
fn wrap(text: &str, width: f64, size: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if !line.is_empty() && text_width(&candidate, size) > width {
            lines.push(std::mem::take(&mut line));
            line = word.to_string();
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn no_data(out: &mut String, x: f64, y: f64, text: &str) {
    let _ = writeln!(
        out,
        r##"<text x="{}" y="{}" text-anchor="middle" fill="#555">{}</text>"##,
        c(x),
        c(y),
        escape(text)
    );
}

/// Horizontal grid lines and labels of a y axis, with the axis title turned on its side.
fn y_axis(
    out: &mut String,
    axis: &Axis,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    title: &str,
) {
    for v in axis.ticks() {
        let y = axis.map(v, bottom, top);
        let _ = writeln!(
            out,
            r##"<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="{3}"/><text x="{4}" y="{5}" text-anchor="end">{6}</text>"##,
            c(left),
            c(y),
            c(right),
            if v == 0.0 { "#888" } else { "#eee" },
            c(left - 6.0),
            c(y + 4.0),
            axis.label(v)
        );
    }
    let _ = writeln!(
        out,
        r#"<text transform="translate(16 {}) rotate(-90)" text-anchor="middle">{}</text>"#,
        c((top + bottom) / 2.0),
        escape(title)
    );
}

/// The history of the charted metric, drawn as a solid line before (and over) the fan.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActualLine {
    /// The legend's name, e.g. `actual`.
    pub name: String,
    /// `(x label, value)` in order; labels the fan also has are drawn at the fan's position,
    /// others before the fan.
    pub points: Vec<(String, f64)>,
}

/// A fan chart: for each series a P5-P95 band, a darker P25-P75 band and the median line,
/// one colour per series, over the x labels (e.g. years), with a legend.
pub fn fan_chart(title: &str, y_label: &str, x_labels: &[String], series: &[FanSeries]) -> String {
    fan_chart_with_actuals(title, y_label, x_labels, series, None, &[])
}

/// [`fan_chart`] with the actual history drawn as a solid black line labelled with its name
/// (years before the fan are added to the x axis before the projection's), a dashed line
/// where the projection starts, and `notes` (source, basis, paths, seed) as a footnote
/// wrapped under the chart.
pub fn fan_chart_with_actuals(
    title: &str,
    y_label: &str,
    x_labels: &[String],
    series: &[FanSeries],
    actual: Option<&ActualLine>,
    notes: &[String],
) -> String {
    let actual_points: Vec<(String, f64)> = actual
        .map(|a| {
            a.points
                .iter()
                .filter(|(_, v)| v.is_finite())
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    // Years of history the fan does not cover come first on the x axis.
    let before: Vec<String> = actual_points
        .iter()
        .map(|(label, _)| label.clone())
        .filter(|label| !x_labels.contains(label))
        .collect();
    let shift = before.len();
    let all_labels: Vec<String> = before.iter().chain(x_labels).cloned().collect();
    let x_labels = all_labels.as_slice();
    let width = 900.0;
    let note_lines: Vec<String> = notes
        .iter()
        .flat_map(|n| wrap(n, width - 40.0, 11.0))
        .collect();
    let (height, left, right, top, bottom) = (
        520.0 + 15.0 * note_lines.len() as f64,
        100.0,
        200.0,
        50.0,
        60.0 + 15.0 * note_lines.len() as f64,
    );
    let (plot_left, plot_right, plot_top, plot_bottom) =
        (left, width - right, top, height - bottom);
    let points = series
        .iter()
        .map(|s| {
            [
                s.p5.len(),
                s.p25.len(),
                s.p50.len(),
                s.p75.len(),
                s.p95.len(),
            ]
            .into_iter()
            .max()
            .unwrap_or(0)
        })
        .max()
        .unwrap_or(0)
        .saturating_add(shift)
        .max(x_labels.len());
    let axis = Axis::new(
        series
            .iter()
            .flat_map(|s| {
                s.p5.iter()
                    .chain(&s.p25)
                    .chain(&s.p50)
                    .chain(&s.p75)
                    .chain(&s.p95)
                    .copied()
            })
            .chain(actual_points.iter().map(|(_, v)| *v)),
        6,
    );
    let x = |i: usize| {
        if points <= 1 {
            (plot_left + plot_right) / 2.0
        } else {
            plot_left + i as f64 / (points - 1) as f64 * (plot_right - plot_left)
        }
    };
    let y = |v: f64| axis.map(v, plot_bottom, plot_top);
    let mut out = String::new();
    open(&mut out, width, height, title);
    y_axis(
        &mut out,
        &axis,
        plot_left,
        plot_right,
        plot_top,
        plot_bottom,
        y_label,
    );
    let _ = writeln!(
        out,
        r##"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#888"/>"##,
        c(plot_left),
        c(plot_top),
        c(plot_right - plot_left),
        c(plot_bottom - plot_top)
    );
    // Thin the x labels so they never overlap: each needs its width and a gap.
    let label_room = x_labels
        .iter()
        .map(|l| text_width(l, 12.0))
        .fold(0.0, f64::max)
        + 16.0;
    let every = (points as f64 * label_room / (plot_right - plot_left))
        .ceil()
        .max(1.0) as usize;
    for (i, label) in x_labels.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            c(x(i)),
            c(plot_bottom + 18.0),
            escape(label)
        );
    }
    for (i, line) in note_lines.iter().enumerate() {
        let _ = writeln!(
            out,
            r##"<text x="20" y="{}" font-size="11" fill="#333">{}</text>"##,
            c(plot_bottom + 44.0 + 15.0 * i as f64),
            escape(line)
        );
    }
    let has_data = !actual_points.is_empty()
        || series.iter().any(|s| {
            s.p50
                .iter()
                .chain(&s.p5)
                .chain(&s.p95)
                .any(|v| v.is_finite())
        });
    if !has_data {
        no_data(
            &mut out,
            (plot_left + plot_right) / 2.0,
            (plot_top + plot_bottom) / 2.0,
            "no data",
        );
    }
    // The legend: one entry per series, names wrapped to the legend's width, then the
    // actual line.
    let legend_lines: Vec<Vec<String>> = series
        .iter()
        .map(|s| wrap(&s.name, right - 40.0, 12.0))
        .collect();
    let mut legend_y = Vec::new();
    let mut next_y = plot_top + 14.0;
    for lines in &legend_lines {
        legend_y.push(next_y);
        next_y += 22.0 + 15.0 * lines.len().saturating_sub(1) as f64;
    }
    for (k, s) in series.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        // Position i on the axis is the series' point i - shift.
        let at = |values: &Vec<f64>, i: usize| {
            i.checked_sub(shift)
                .and_then(|j| values.get(j))
                .copied()
                .filter(|v| v.is_finite())
        };
        for (low, high, opacity) in [(&s.p5, &s.p95, 0.15), (&s.p25, &s.p75, 0.3)] {
            let pairs: Vec<(usize, f64, f64)> = (0..points)
                .filter_map(|i| Some((i, at(low, i)?, at(high, i)?)))
                .collect();
            if pairs.len() == 1 {
                let (i, a, b) = pairs[0];
                let _ = writeln!(
                    out,
                    r#"<rect x="{}" y="{}" width="24" height="{}" fill="{colour}" fill-opacity="{opacity}"/>"#,
                    c(x(i) - 12.0),
                    c(y(a.max(b))),
                    c((y(a) - y(b)).abs())
                );
            } else if pairs.len() > 1 {
                let upper = pairs
                    .iter()
                    .map(|(i, _, b)| format!("{},{}", c(x(*i)), c(y(*b))));
                let lower = pairs
                    .iter()
                    .rev()
                    .map(|(i, a, _)| format!("{},{}", c(x(*i)), c(y(*a))));
                let polygon: Vec<String> = upper.chain(lower).collect();
                let _ = writeln!(
                    out,
                    r#"<polygon points="{}" fill="{colour}" fill-opacity="{opacity}" stroke="none"/>"#,
                    polygon.join(" ")
                );
            }
        }
        let median: Vec<(usize, f64)> = (0..points)
            .filter_map(|i| Some((i, at(&s.p50, i)?)))
            .collect();
        if median.len() > 1 {
            let line: Vec<String> = median
                .iter()
                .map(|(i, v)| format!("{},{}", c(x(*i)), c(y(*v))))
                .collect();
            let _ = writeln!(
                out,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
                line.join(" ")
            );
        }
        for (i, v) in &median {
            let label = x_labels.get(*i).map(String::as_str).unwrap_or("");
            let _ = writeln!(
                out,
                r#"<circle cx="{}" cy="{}" r="3" fill="{colour}"><title>{}</title></circle>"#,
                c(x(*i)),
                c(y(*v)),
                escape(&format!("{} {label}: median {}", s.name, axis.label(*v)))
            );
        }
        let ly = legend_y[k];
        let lx = plot_right + 20.0;
        let _ = writeln!(
            out,
            r#"<rect x="{}" y="{}" width="16" height="12" fill="{colour}" fill-opacity="0.3"/><line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{colour}" stroke-width="2"/>"#,
            c(lx),
            c(ly - 10.0),
            c(lx),
            c(ly - 4.0),
            c(lx + 16.0),
            c(ly - 4.0),
        );
        // Long names (scenario titles) wrap within the legend's width.
        for (j, part) in legend_lines[k].iter().enumerate() {
            let _ = writeln!(
                out,
                r#"<text x="{}" y="{}">{}</text>"#,
                c(lx + 22.0),
                c(ly + 15.0 * j as f64),
                escape(part)
            );
        }
    }
    // The history: a solid black line over the fan, its points marked, and where the
    // projection starts a dashed vertical line.
    if !actual_points.is_empty() {
        let at: Vec<(usize, f64)> = actual_points
            .iter()
            .filter_map(|(label, v)| Some((x_labels.iter().position(|l| l == label)?, *v)))
            .collect();
        if shift > 0 && shift < points {
            let xs = (x(shift - 1) + x(shift)) / 2.0;
            let _ = writeln!(
                out,
                r##"<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#888" stroke-dasharray="4 3"/><text x="{3}" y="{4}" fill="#555" font-size="11">projection</text>"##,
                c(xs),
                c(plot_top),
                c(plot_bottom),
                c(xs + 4.0),
                c(plot_top + 14.0)
            );
        }
        if at.len() > 1 {
            let line: Vec<String> = at
                .iter()
                .map(|(i, v)| format!("{},{}", c(x(*i)), c(y(*v))))
                .collect();
            let _ = writeln!(
                out,
                r#"<polyline points="{}" fill="none" stroke="black" stroke-width="2.5"/>"#,
                line.join(" ")
            );
        }
        let name = actual.map(|a| a.name.as_str()).unwrap_or("actual");
        for (i, v) in &at {
            let _ = writeln!(
                out,
                r#"<circle cx="{}" cy="{}" r="3.5" fill="black"><title>{}</title></circle>"#,
                c(x(*i)),
                c(y(*v)),
                escape(&format!("{name} {}: {}", x_labels[*i], axis.label(*v)))
            );
        }
        // The label at the last actual point, above it.
        if let Some((i, v)) = at.last() {
            let _ = writeln!(
                out,
                r#"<text x="{}" y="{}" text-anchor="end" font-weight="bold">{}</text>"#,
                c(x(*i) - 6.0),
                c((y(*v) - 10.0).max(plot_top + 12.0)),
                escape(name)
            );
        }
    }
    if !actual_points.is_empty() {
        let ly = next_y;
        next_y += 22.0;
        let lx = plot_right + 20.0;
        let name = actual.map(|a| a.name.as_str()).unwrap_or("actual");
        let _ = writeln!(
            out,
            r#"<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="black" stroke-width="2.5"/><text x="{3}" y="{4}">{5}</text>"#,
            c(lx),
            c(ly - 4.0),
            c(lx + 16.0),
            c(lx + 22.0),
            c(ly),
            escape(name)
        );
    }
    let note_y = next_y + 10.0;
    let _ = writeln!(
        out,
        r##"<text x="{0}" y="{1}" fill="#555" font-size="11">bands: P5-P95 and P25-P75</text><text x="{0}" y="{2}" fill="#555" font-size="11">line: median</text>"##,
        c(plot_right + 20.0),
        c(note_y),
        c(note_y + 15.0)
    );
    // What the group figures are: each part at the consolidation factor of its stake in that year.
    for (i, line) in [
        "group figures: each part at",
        "its stake's consolidation",
        "factor in each year",
    ]
    .iter()
    .enumerate()
    {
        let _ = writeln!(
            out,
            r##"<text x="{}" y="{}" fill="#555" font-size="11">{line}</text>"##,
            c(plot_right + 20.0),
            c(note_y + 40.0 + 15.0 * i as f64)
        );
    }
    let _ = writeln!(out, "</svg>");
    out
}

/// Overlaid translucent histograms, one colour per scenario, with dashed P5 and P95 and a
/// solid median marker for each, and a legend with those values. Heights are densities
/// (share per unit of x), so histograms with different bin widths compare fairly.
pub fn histogram(title: &str, x_label: &str, densities: &[Density]) -> String {
    let (width, height, left, right, top, bottom) = (900.0, 520.0, 70.0, 260.0, 50.0, 60.0);
    let (plot_left, plot_right, plot_top, plot_bottom) = (
        left,
        width - right,
        top + 14.0 * densities.len().min(8) as f64,
        height - bottom,
    );
    let finite_bins = |d: &Density| {
        d.bins
            .iter()
            .filter(|(lo, hi, share)| {
                lo.is_finite() && hi.is_finite() && share.is_finite() && hi >= lo
            })
            .copied()
            .collect::<Vec<_>>()
    };
    let edges = densities.iter().flat_map(|d| {
        finite_bins(d)
            .into_iter()
            .flat_map(|(lo, hi, _)| [lo, hi])
            .chain([d.p5, d.p50, d.p95])
            .collect::<Vec<_>>()
    });
    let x_axis = Axis::new(edges, 7);
    // A bin of zero width (all values equal) is drawn a few pixels wide.
    let min_width = 4.0 / (plot_right - plot_left) * (x_axis.hi - x_axis.lo);
    let height_of = |(lo, hi, share): (f64, f64, f64)| share.max(0.0) / (hi - lo).max(min_width);
    let tallest = densities
        .iter()
        .flat_map(|d| finite_bins(d).into_iter().map(height_of))
        .fold(0.0f64, f64::max);
    let tallest = if tallest > 0.0 && tallest.is_finite() {
        tallest
    } else {
        1.0
    };
    let x = |v: f64| x_axis.map(v, plot_left, plot_right);
    let y = |density: f64| plot_bottom - density / tallest * (plot_bottom - plot_top);
    let mut out = String::new();
    open(&mut out, width, height, title);
    for v in x_axis.ticks() {
        let _ = writeln!(
            out,
            r##"<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#eee"/><text x="{0}" y="{3}" text-anchor="middle">{4}</text>"##,
            c(x(v)),
            c(plot_top),
            c(plot_bottom),
            c(plot_bottom + 18.0),
            x_axis.label(v)
        );
    }
    let _ = writeln!(
        out,
        r##"<line x1="{}" y1="{2}" x2="{}" y2="{2}" stroke="#888"/>"##,
        c(plot_left),
        c(plot_right),
        c(plot_bottom)
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        c((plot_left + plot_right) / 2.0),
        c(plot_bottom + 40.0),
        escape(x_label)
    );
    let _ = writeln!(
        out,
        r#"<text transform="translate(30 {}) rotate(-90)" text-anchor="middle">share of paths (density)</text>"#,
        c((plot_top + plot_bottom) / 2.0)
    );
    if densities.iter().all(|d| finite_bins(d).is_empty()) {
        no_data(
            &mut out,
            (plot_left + plot_right) / 2.0,
            (plot_top + plot_bottom) / 2.0,
            "no data",
        );
    }
    for (k, d) in densities.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let _ = writeln!(
            out,
            r#"<g fill="{colour}" fill-opacity="0.35" stroke="{colour}" stroke-opacity="0.8" stroke-width="0.5">"#
        );
        for bin in finite_bins(d) {
            let (lo, hi, share) = bin;
            let (x0, x1) = if hi - lo < min_width {
                (x((lo + hi) / 2.0) - 2.0, x((lo + hi) / 2.0) + 2.0)
            } else {
                (x(lo), x(hi))
            };
            let top_y = y(height_of(bin));
            let _ = writeln!(
                out,
                r#"<rect x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>"#,
                c(x0),
                c(top_y),
                c((x1 - x0).max(0.0)),
                c((plot_bottom - top_y).max(0.0)),
                escape(&format!(
                    "{}: {} to {}: {:.1}% of paths",
                    d.name,
                    x_axis.label(lo),
                    x_axis.label(hi),
                    share * 100.0
                ))
            );
        }
        let _ = writeln!(out, "</g>");
        // Markers, their labels staggered per scenario so they do not overlap.
        let label_y = top + 12.0 + (k % 8) as f64 * 14.0;
        for (name, value, dash) in [
            ("P5", d.p5, " stroke-dasharray=\"4 3\""),
            ("P50", d.p50, ""),
            ("P95", d.p95, " stroke-dasharray=\"4 3\""),
        ] {
            if !value.is_finite() {
                continue;
            }
            let _ = writeln!(
                out,
                r#"<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="{colour}" stroke-width="1.5"{dash}/><text x="{0}" y="{3}" text-anchor="middle" font-size="10" fill="{colour}">{name}</text>"#,
                c(x(value)),
                c(plot_top),
                c(plot_bottom),
                c(label_y)
            );
        }
        let ly = plot_top + 14.0 + k as f64 * 54.0;
        let lx = plot_right + 20.0;
        let _ = writeln!(
            out,
            r#"<rect x="{}" y="{}" width="14" height="14" fill="{colour}" fill-opacity="0.5"/><text x="{}" y="{}">{}</text>"#,
            c(lx),
            c(ly - 11.0),
            c(lx + 20.0),
            c(ly),
            escape(&d.name)
        );
        let median = format!("median {}", x_axis.label(d.p50));
        let range = format!("P5 {}, P95 {}", x_axis.label(d.p5), x_axis.label(d.p95));
        let _ = writeln!(
            out,
            r##"<text x="{0}" y="{1}" fill="#555" font-size="11">{2}</text><text x="{0}" y="{3}" fill="#555" font-size="11">{4}</text>"##,
            c(lx + 20.0),
            c(ly + 15.0),
            escape(&median),
            c(ly + 29.0),
            escape(&range)
        );
    }
    let _ = writeln!(out, "</svg>");
    out
}

/// A tornado chart: one bar per assumption, sorted by the width of its swing (largest on
/// top), each running from the result with the assumption at its low value to the result at
/// its high value, split at `base`; values and notes are written at the ends.
/// `notes` are printed under the axis, one paragraph each, wrapped to the chart's width.
pub fn tornado(
    title: &str,
    x_label: &str,
    base: f64,
    bars: &[TornadoBar],
    notes: &[String],
) -> String {
    let mut rows: Vec<&TornadoBar> = bars
        .iter()
        .filter(|b| b.low.is_finite() && b.high.is_finite())
        .collect();
    rows.sort_by(|a, b| {
        (b.high - b.low)
            .abs()
            .total_cmp(&(a.high - a.low).abs())
            .then_with(|| a.label.cmp(&b.label))
    });
    let base = if base.is_finite() { base } else { 0.0 };
    // Room for the longest label, within reason.
    // Labels up to 540 pixels wide; longer ones cut with an ellipsis (the full text in a tooltip).
    const LABEL_MAX: f64 = 540.0;
    let shown = |label: &str| {
        if text_width(label, 12.0) <= LABEL_MAX {
            return label.to_string();
        }
        let mut cut = String::new();
        for ch in label.chars() {
            if text_width(&cut, 12.0) + text_width(&ch.to_string(), 12.0) + 12.0 > LABEL_MAX {
                break;
            }
            cut.push(ch);
        }
        format!("{cut}…")
    };
    let label_width = rows
        .iter()
        .map(|b| text_width(&shown(&b.label), 12.0))
        .fold(0.0, f64::max);
    let (row_height, top) = (30.0, 70.0);
    let left = (label_width + 30.0).clamp(120.0, LABEL_MAX + 30.0);
    let axis = Axis::new(rows.iter().flat_map(|b| [b.low, b.high]).chain([base]), 6);
    let decimals = decimals_for(axis.step / 10.0);
    // Leave room on both sides for the widest value label (value and the input behind it).
    let value_text = |value: f64, note: &str| {
        if note.is_empty() {
            number(value, decimals)
        } else {
            format!("{} ({note})", number(value, decimals))
        }
    };
    let side = |pick_left: bool| {
        rows.iter()
            .map(|b| {
                let (value, note) = if (b.low <= b.high) == pick_left {
                    (b.low, &b.low_note)
                } else {
                    (b.high, &b.high_note)
                };
                text_width(&value_text(value, note), 11.0)
            })
            .fold(0.0, f64::max)
    };
    let plot_left = left + (side(true) + 14.0).max(130.0);
    let plot_right = plot_left + 500.0;
    let width = (plot_right + (side(false) + 14.0).max(150.0)).max(left + 680.0);
    let lines: Vec<String> = notes
        .iter()
        .flat_map(|n| wrap(n, width - 40.0, 11.0))
        .collect();
    let bottom = 60.0 + 15.0 * lines.len() as f64;
    let height = top + bottom + row_height * rows.len().max(1) as f64;
    let x = |v: f64| axis.map(v, plot_left, plot_right);
    let mut out = String::new();
    open(&mut out, width, height, title);
    let _ = writeln!(
        out,
        r##"<text x="20" y="48" fill="#555">deterministic sensitivity: each bar moves one assumption to its low and high value, every other held at the base</text>"##
    );
    let plot_bottom = top + row_height * rows.len().max(1) as f64;
    for (i, line) in lines.iter().enumerate() {
        let _ = writeln!(
            out,
            r##"<text x="20" y="{}" font-size="11" fill="#333">{}</text>"##,
            c(plot_bottom + 62.0 + 15.0 * i as f64),
            escape(line)
        );
    }
    for v in axis.ticks() {
        let _ = writeln!(
            out,
            r##"<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#eee"/><text x="{0}" y="{3}" text-anchor="middle">{4}</text>"##,
            c(x(v)),
            c(top),
            c(plot_bottom),
            c(plot_bottom + 18.0),
            axis.label(v)
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        c((plot_left + plot_right) / 2.0),
        c(plot_bottom + 40.0),
        escape(x_label)
    );
    if rows.is_empty() {
        no_data(
            &mut out,
            (plot_left + plot_right) / 2.0,
            top + row_height / 2.0 + 4.0,
            "no assumption varies",
        );
    }
    for (i, bar) in rows.iter().enumerate() {
        let y = top + i as f64 * row_height + 5.0;
        let h = row_height - 10.0;
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" text-anchor="end">{}<title>{}</title></text>"#,
            c(left - 10.0),
            c(y + h / 2.0 + 4.0),
            escape(&shown(&bar.label)),
            escape(&bar.label)
        );
        for (value, note, colour) in [
            (bar.low, &bar.low_note, "#d62728"),
            (bar.high, &bar.high_note, "#1f77b4"),
        ] {
            let (a, b) = (x(base).min(x(value)), x(base).max(x(value)));
            let _ = writeln!(
                out,
                r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{colour}" fill-opacity="0.75"><title>{}</title></rect>"#,
                c(a),
                c(y),
                c((b - a).max(1.0)),
                c(h),
                escape(&format!(
                    "{}: {note} gives {}",
                    bar.label,
                    number(value, decimals)
                ))
            );
        }
        // Value labels outside the ends: whichever of low and high lies further out on each side.
        let (left_value, left_note, right_value, right_note) = if bar.low <= bar.high {
            (bar.low, &bar.low_note, bar.high, &bar.high_note)
        } else {
            (bar.high, &bar.high_note, bar.low, &bar.low_note)
        };
        let text = value_text;
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" text-anchor="end" font-size="11">{}</text>"#,
            c(x(left_value.min(base)) - 4.0),
            c(y + h / 2.0 + 4.0),
            escape(&text(left_value, left_note))
        );
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" font-size="11">{}</text>"#,
            c(x(right_value.max(base)) + 4.0),
            c(y + h / 2.0 + 4.0),
            escape(&text(right_value, right_note))
        );
    }
    let _ = writeln!(
        out,
        r#"<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="black"/><text x="{0}" y="{3}" text-anchor="middle" font-size="11">base {4}</text>"#,
        c(x(base)),
        c(top - 6.0),
        c(plot_bottom),
        c(top - 10.0),
        number(base, decimals)
    );
    let lx = width - 140.0;
    let _ = writeln!(
        out,
        r##"<rect x="{}" y="22" width="12" height="12" fill="#d62728" fill-opacity="0.75"/><text x="{}" y="32" font-size="11">assumption low</text>"##,
        c(lx),
        c(lx + 16.0)
    );
    let _ = writeln!(
        out,
        r##"<rect x="{}" y="40" width="12" height="12" fill="#1f77b4" fill-opacity="0.75"/><text x="{}" y="50" font-size="11">assumption high</text>"##,
        c(lx),
        c(lx + 16.0)
    );
    let _ = writeln!(out, "</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tags balance (a stack of element names), the root is <svg>, and no NaN or infinity
    /// appears.
    fn assert_well_formed(svg: &str) {
        assert!(svg.starts_with("<svg "), "starts with <svg");
        assert!(
            !svg.contains("NaN") && !svg.contains("inf"),
            "no NaN or infinity:\n{svg}"
        );
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let end = rest[start..].find('>').expect("every tag closes") + start;
            let tag = &rest[start + 1..end];
            assert!(!tag.contains('<'), "no '<' inside a tag: {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(
                    stack.pop().as_deref(),
                    Some(name.trim()),
                    "closing tag matches"
                );
            } else if !tag.ends_with('/') {
                stack.push(tag.split_whitespace().next().unwrap_or("").to_string());
            }
            // Text between tags holds no raw '&' other than entities.
            let text_end = rest[end..].find('<').map_or(rest.len(), |i| i + end);
            let text = &rest[end + 1..text_end];
            for (i, _) in text.match_indices('&') {
                let entity = &text[i..];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                        .iter()
                        .any(|e| entity.starts_with(e)),
                    "raw & in {text}"
                );
            }
            rest = &rest[end + 1..];
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
    }

    fn fan(name: &str, base: f64, n: usize) -> FanSeries {
        let at = |k: f64| {
            (0..n)
                .map(|i| base * (1.0 + 0.1 * i as f64) + k * i as f64)
                .collect()
        };
        FanSeries {
            name: name.into(),
            p5: at(-20.0),
            p25: at(-8.0),
            p50: at(0.0),
            p75: at(8.0),
            p95: at(20.0),
        }
    }

    #[test]
    fn fan_chart_draws_bands_lines_and_legend() {
        let years: Vec<String> = (2025..2035).map(|y| format!("FY{y}")).collect();
        let svg = fan_chart(
            "Revenue <A & B>",
            "CNY millions",
            &years,
            &[fan("keep cloud", 1000.0, 10), fan("spin off", 900.0, 10)],
        );
        assert_well_formed(&svg);
        assert_eq!(svg.matches("<polygon").count(), 4);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(
            svg.contains("Revenue &lt;A &amp; B&gt;")
                && svg.contains("FY2025")
                && svg.contains("spin off")
        );
        assert!(
            svg.contains("1,000") || svg.contains("1,200"),
            "thousands separators"
        );
    }

    #[test]
    fn fan_chart_draws_actuals_before_the_fan_and_a_footnote() {
        let years: Vec<String> = (2026..2031).map(|y| format!("FY{y}")).collect();
        let actual = ActualLine {
            name: "actual".into(),
            points: (2022..2027)
                .map(|y| (format!("FY{y}"), 800.0 + 40.0 * f64::from(y - 2022)))
                .chain([("FY2023x".to_string(), f64::NAN)])
                .collect(),
        };
        let svg = fan_chart_with_actuals(
            "Revenue",
            "CNY millions",
            &years,
            &[fan("keep", 1000.0, 5)],
            Some(&actual),
            &["Fan: 20,000 Monte Carlo paths, seed 7.".to_string()],
        );
        assert_well_formed(&svg);
        // History years FY2022..FY2025 come before the fan; FY2026 is drawn over it; the
        // non-finite point is left out (no label for it).
        for year in ["FY2022", "FY2025", "FY2030"] {
            assert!(svg.contains(&format!(">{year}<")), "{year}");
        }
        assert!(!svg.contains("FY2023x"));
        assert!(svg.contains(r#"stroke="black" stroke-width="2.5""#));
        assert_eq!(
            svg.matches("<circle").count(),
            5 + 5,
            "5 medians, 5 actuals"
        );
        assert!(svg.contains(">actual<") && svg.contains(">projection<"));
        assert!(svg.contains("seed 7."));
        // The first fan point sits right of the last history-only year.
        let x_of = |label: &str| {
            let at = svg.find(&format!(">{label}<")).unwrap();
            let tag = &svg[svg[..at].rfind("<text").unwrap()..at];
            let x = tag.split("x=\"").nth(1).unwrap().split('"').next().unwrap();
            x.parse::<f64>().unwrap()
        };
        assert!(x_of("FY2025") < x_of("FY2026"));
        // Without history, the chart is the plain fan chart.
        assert_eq!(
            fan_chart_with_actuals("R", "x", &years, &[fan("a", 1.0, 5)], None, &[]),
            fan_chart("R", "x", &years, &[fan("a", 1.0, 5)])
        );
    }

    #[test]
    fn fan_chart_survives_degenerate_input() {
        assert_well_formed(&fan_chart("", "", &[], &[]));
        assert_well_formed(&fan_chart(
            "one",
            "x",
            &["FY2025".into()],
            &[fan("a", 5.0, 1)],
        ));
        let flat = FanSeries {
            name: "flat".into(),
            p5: vec![3.0; 4],
            p25: vec![3.0; 4],
            p50: vec![3.0; 4],
            p75: vec![3.0; 4],
            p95: vec![3.0; 4],
        };
        assert_well_formed(&fan_chart("flat", "x", &["a".into(), "b".into()], &[flat]));
        let broken = FanSeries {
            name: "nan".into(),
            p5: vec![f64::NAN, 1.0],
            p25: vec![],
            p50: vec![f64::INFINITY, 2.0, 3.0],
            p75: vec![1.0],
            p95: vec![f64::NEG_INFINITY, 4.0],
        };
        assert_well_formed(&fan_chart("broken", "x", &["a".into()], &[broken]));
        let zeros = FanSeries {
            name: "zero".into(),
            p5: vec![0.0; 3],
            p25: vec![0.0; 3],
            p50: vec![0.0; 3],
            p75: vec![0.0; 3],
            p95: vec![0.0; 3],
        };
        assert_well_formed(&fan_chart("zeros", "x", &[], &[zeros]));
        let many: Vec<String> = (0..200).map(|i| format!("M{i}")).collect();
        let svg = fan_chart("many", "x", &many, &[fan("a", 1.0, 200)]);
        assert_well_formed(&svg);
        assert!(svg.matches("<text").count() < 200, "x labels are thinned");
    }

    #[test]
    fn histogram_overlays_scenarios_with_markers() {
        let bins = |shift: f64| {
            (0..40)
                .map(|i| {
                    (
                        shift + i as f64 * 10.0,
                        shift + (i + 1) as f64 * 10.0,
                        0.025,
                    )
                })
                .collect::<Vec<_>>()
        };
        let densities = [
            Density {
                name: "keep \"cloud\"".into(),
                bins: bins(0.0),
                p5: 20.0,
                p50: 200.0,
                p95: 380.0,
            },
            Density {
                name: "spin-off".into(),
                bins: bins(50.0),
                p5: 70.0,
                p50: 250.0,
                p95: 430.0,
            },
        ];
        let svg = histogram("Value", "CNY <millions>", &densities);
        assert_well_formed(&svg);
        assert!(svg.contains("keep &quot;cloud&quot;") && svg.contains("CNY &lt;millions&gt;"));
        assert_eq!(svg.matches(">P50<").count(), 2);
        assert!(svg.matches("<rect").count() >= 80);
    }

    #[test]
    fn histogram_survives_degenerate_input() {
        assert_well_formed(&histogram("", "", &[]));
        let single = Density {
            name: "constant".into(),
            bins: vec![(7.0, 7.0, 1.0)],
            p5: 7.0,
            p50: 7.0,
            p95: 7.0,
        };
        let svg = histogram("constant", "x", &[single]);
        assert_well_formed(&svg);
        assert!(
            svg.contains("width=\"4.0\""),
            "a zero-width bin is drawn 4 px wide"
        );
        let broken = Density {
            name: "nan".into(),
            bins: vec![
                (f64::NAN, 1.0, 0.5),
                (1.0, 2.0, f64::INFINITY),
                (3.0, 2.0, 0.1),
            ],
            p5: f64::NAN,
            p50: 1.0,
            p95: f64::INFINITY,
        };
        assert_well_formed(&histogram("broken", "x", &[broken]));
        let empty = Density {
            name: "empty".into(),
            bins: vec![],
            p5: 0.0,
            p50: 0.0,
            p95: 0.0,
        };
        assert!(histogram("empty", "x", &[empty]).contains("no data"));
    }

    #[test]
    fn tornado_sorts_by_swing_and_labels_the_ends() {
        let bar = |label: &str, low: f64, high: f64| TornadoBar {
            label: label.into(),
            low,
            high,
            low_note: "P10".into(),
            high_note: "P90".into(),
        };
        let bars = [
            bar("small", 990.0, 1010.0),
            bar("cloud.multiple <EV/EBITA>", 700.0, 1400.0),
            bar("discount", 1100.0, 950.0),
        ];
        let svg = tornado(
            "What moves value",
            "CNY millions",
            1000.0,
            &bars,
            &[
                "a note long enough to be wrapped onto more than one line when the chart is narrow"
                    .to_string(),
            ],
        );
        assert_well_formed(&svg);
        let order: Vec<usize> = ["cloud.multiple", "discount", "small"]
            .iter()
            .map(|l| svg.find(l).expect("label shown"))
            .collect();
        assert!(
            order[0] < order[1] && order[1] < order[2],
            "sorted by swing"
        );
        assert!(
            svg.contains("&lt;EV/EBITA&gt;")
                && svg.contains("1,400 (P90)")
                && svg.contains("700 (P10)")
                && svg.contains("base 1,000")
        );
    }

    #[test]
    fn tornado_survives_degenerate_input() {
        assert!(tornado("", "", 0.0, &[], &[]).contains("no assumption varies"));
        assert_well_formed(&tornado("", "", f64::NAN, &[], &[]));
        let same = TornadoBar {
            label: "x".repeat(80),
            low: 5.0,
            high: 5.0,
            low_note: String::new(),
            high_note: String::new(),
        };
        let nan = TornadoBar {
            label: "nan".into(),
            low: f64::NAN,
            high: 1.0,
            low_note: "a".into(),
            high_note: "b".into(),
        };
        let svg = tornado("same", "x", 5.0, &[same, nan], &[]);
        assert_well_formed(&svg);
        assert!(svg.contains('…'));
    }

    #[test]
    fn numbers_are_readable() {
        assert_eq!(number(1234567.891, 0), "1,234,568");
        assert_eq!(number(-1234.5, 1), "-1,234.5");
        assert_eq!(number(-0.0001, 2), "0.00");
        assert_eq!(number(999.0, 0), "999");
        assert_eq!(number(f64::NAN, 0), "-");
        let axis = Axis::new([0.012, 0.087].into_iter(), 5);
        assert!(axis.step > 0.0 && axis.lo <= 0.012 && axis.hi >= 0.087);
        assert_eq!(axis.label(0.02), "0.02");
        let flat = Axis::new([5.0, 5.0].into_iter(), 5);
        assert!(flat.lo < 5.0 && flat.hi > 5.0);
        let empty = Axis::new(std::iter::empty(), 5);
        assert!(empty.lo < empty.hi);
    }
}
