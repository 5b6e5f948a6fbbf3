//! Charts as standalone SVG text: the portfolio matrix (growth against margin, bubble area
//! proportional to revenue, colour by class) and the allocation by class and year (stacked
//! bars). Written by hand: no fonts or system libraries are needed.

/// The font stack of every chart: fonts with Chinese glyphs first (unit names are often
/// Chinese), then common Latin fonts, then the generic family.
const CHART_FONTS: &str = "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', 'DejaVu Sans', Arial, sans-serif";

use crate::classify::Classification;
use crate::plan::Plan;
use std::collections::BTreeMap;
use std::fmt::Write as _;

const PALETTE: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
];

/// Text for SVG: markup characters as entities, and control characters (which XML forbids
/// and a viewer would reject the file for) as visible escapes such as `\u{1b}`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// A colour per class, in the order given.
fn colours(classes: &[String]) -> BTreeMap<String, &'static str> {
    classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.clone(), PALETTE[i % PALETTE.len()]))
        .collect()
}

fn nice_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (-0.1, 0.1);
    }
    let pad = ((hi - lo) * 0.15).max(0.05);
    (
        ((lo - pad) * 10.0).floor() / 10.0,
        ((hi + pad) * 10.0).ceil() / 10.0,
    )
}

/// Roughly how wide a text is at the charts' 12px font: CJK characters are about a full em,
/// Latin letters a little over half (used to keep labels apart and inside the canvas).
fn text_width(text: &str, size: f64) -> f64 {
    text.chars()
        .map(|c| if (c as u32) >= 0x2E80 { 1.0 } else { 0.56 })
        .sum::<f64>()
        * size
}

/// A label's box: left, top, right, bottom.
type LabelBox = (f64, f64, f64, f64);

fn overlaps(a: &LabelBox, b: &LabelBox) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// The portfolio matrix: growth against margin, bubble area proportional to the size metric,
/// colour by class, each bubble named. Only units with figures of their own are drawn (a
/// unit whose figures are only a share of another's would repeat that unit's ratios); the
/// others are listed under the chart, with the reason.
pub fn matrix(classification: &Classification, class_order: &[String], title: &str) -> String {
    let drawable =
        |u: &&crate::classify::UnitClass| u.growth.is_some() && u.margin.is_some() && u.own_figures;
    let placed: Vec<&crate::classify::UnitClass> =
        classification.units.iter().filter(drawable).collect();
    let unplaced: Vec<String> = classification
        .units
        .iter()
        .filter(|u| !drawable(u))
        .map(|u| {
            let why = if !u.own_figures {
                "no figures of its own"
            } else {
                "no growth or margin"
            };
            format!(
                "{} ({}, {why})",
                u.name,
                u.class.clone().unwrap_or_else(|| "unclassified".into())
            )
        })
        .collect();
    let note_lines = unplaced.len().div_ceil(2);
    let (width, left, right, top) = (1000.0, 80.0, 240.0, 64.0);
    let plot_h = 480.0;
    let bottom = 110.0 + 16.0 * note_lines as f64;
    let height = top + plot_h + bottom;
    let plot_w = width - left - right;
    let (x0, x1) = nice_range(placed.iter().filter_map(|u| u.growth));
    let (y0, y1) = nice_range(placed.iter().filter_map(|u| u.margin));
    let x = |v: f64| left + (v - x0) / (x1 - x0) * plot_w;
    let y = |v: f64| top + plot_h - (v - y0) / (y1 - y0) * plot_h;
    let largest = placed
        .iter()
        .filter_map(|u| u.size_value)
        .fold(0.0f64, |a, b| a.max(b.abs()));
    let radius = |size: f64| {
        if largest > 0.0 {
            6.0 + 40.0 * (size.abs() / largest).sqrt()
        } else {
            8.0
        }
    };
    let colour = colours(class_order);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{CHART_FONTS}" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{left}" y="28" font-size="18" font-weight="bold">{}</text>"#,
        escape(title)
    );
    let _ = writeln!(
        out,
        r##"<text x="{left}" y="48" fill="#555">{} growth and margin (the strategy's computed criteria), restated into the structure of {} (the group's own restatements first); bubble area = size</text>"##,
        classification.fiscal_year, classification.date
    );
    // Grid and axes, ticks every tenth.
    let mut tick = (x0 * 10.0).round() as i64;
    while (tick as f64) / 10.0 <= x1 + 1e-9 {
        let v = tick as f64 / 10.0;
        let _ = writeln!(
            out,
            r#"<line x1="{0:.1}" y1="{top}" x2="{0:.1}" y2="{1:.1}" stroke="{2}"/><text x="{0:.1}" y="{3:.1}" text-anchor="middle">{4:.0}%</text>"#,
            x(v),
            top + plot_h,
            if tick == 0 { "#888" } else { "#eee" },
            top + plot_h + 16.0,
            v * 100.0
        );
        tick += 1;
    }
    let mut tick = (y0 * 10.0).round() as i64;
    while (tick as f64) / 10.0 <= y1 + 1e-9 {
        let v = tick as f64 / 10.0;
        let _ = writeln!(
            out,
            r#"<line x1="{left}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="{2}"/><text x="{3:.1}" y="{4:.1}" text-anchor="end">{5:.0}%</text>"#,
            y(v),
            left + plot_w,
            if tick == 0 { "#888" } else { "#eee" },
            left - 6.0,
            y(v) + 4.0,
            v * 100.0
        );
        tick += 1;
    }
    let _ = writeln!(
        out,
        r##"<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>"##
    );
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">growth over the year before</text>"#,
        left + plot_w / 2.0,
        top + plot_h + 36.0
    );
    let _ = writeln!(
        out,
        r#"<text transform="translate(22 {:.1}) rotate(-90)" text-anchor="middle">margin</text>"#,
        top + plot_h / 2.0
    );
    // Largest bubbles first so small ones stay visible on top.
    let mut ordered = placed.clone();
    ordered.sort_by(|a, b| {
        b.size_value
            .unwrap_or(0.0)
            .abs()
            .total_cmp(&a.size_value.unwrap_or(0.0).abs())
            .then(a.unit.cmp(&b.unit))
    });
    let mut taken: Vec<LabelBox> = Vec::new();
    let mut labels = String::new();
    for unit in &ordered {
        let (gx, my) = (x(unit.growth.unwrap_or(0.0)), y(unit.margin.unwrap_or(0.0)));
        let r = radius(unit.size_value.unwrap_or(0.0));
        let fill = unit
            .class
            .as_ref()
            .and_then(|c| colour.get(c))
            .copied()
            .unwrap_or("#bbbbbb");
        let _ = writeln!(
            out,
            r#"<circle cx="{gx:.1}" cy="{my:.1}" r="{r:.1}" fill="{fill}" fill-opacity="0.5" stroke="{fill}"><title>{}</title></circle>"#,
            escape(&format!(
                "{} ({}): {}",
                unit.name,
                unit.unit,
                unit.class.clone().unwrap_or_default()
            ))
        );
        taken.push((gx - r, my - r, gx + r, my + r));
        let _ = (gx, my, r);
    }
    // Names beside their bubbles: the first free place among right, left, above and below,
    // then further down the right side, with a leader line when moved away.
    for unit in &ordered {
        let (gx, my) = (x(unit.growth.unwrap_or(0.0)), y(unit.margin.unwrap_or(0.0)));
        let r = radius(unit.size_value.unwrap_or(0.0));
        let w = text_width(&unit.name, 12.0);
        let fits = |b: &LabelBox| {
            b.0 >= 2.0 && b.2 <= width - 2.0 && b.1 >= top - 14.0 && b.3 <= top + plot_h + 4.0
        };
        let mut candidates: Vec<LabelBox> = vec![
            (gx + r + 4.0, my - 8.0, gx + r + 4.0 + w, my + 6.0),
            (gx - r - 4.0 - w, my - 8.0, gx - r - 4.0, my + 6.0),
            (gx - w / 2.0, my - r - 18.0, gx + w / 2.0, my - r - 4.0),
            (gx - w / 2.0, my + r + 4.0, gx + w / 2.0, my + r + 18.0),
        ];
        for step in 1..40 {
            let dy = 16.0 * step as f64;
            candidates.push((gx + r + 4.0, my - 8.0 + dy, gx + r + 4.0 + w, my + 6.0 + dy));
            candidates.push((gx + r + 4.0, my - 8.0 - dy, gx + r + 4.0 + w, my + 6.0 - dy));
        }
        let others: Vec<LabelBox> = taken
            .iter()
            .copied()
            .filter(|b| !(b.0 == gx - r && b.1 == my - r))
            .collect();
        let chosen = candidates
            .iter()
            .find(|b| fits(b) && !others.iter().any(|o| overlaps(o, b)))
            .copied()
            .unwrap_or(candidates[0]);
        let moved = (chosen.1 - (my - 8.0)).abs() > 1.0
            && chosen != candidates[2]
            && chosen != candidates[3];
        if moved {
            let _ = writeln!(
                labels,
                r##"<line x1="{gx:.1}" y1="{my:.1}" x2="{:.1}" y2="{:.1}" stroke="#999" stroke-width="0.8"/>"##,
                chosen.0,
                chosen.1 + 7.0
            );
        }
        let _ = writeln!(
            labels,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            chosen.0,
            chosen.3 - 3.0,
            escape(&unit.name)
        );
        taken.push(chosen);
    }
    out.push_str(&labels);
    // Legend: classes, then the bubble-size key.
    let lx = left + plot_w + 24.0;
    let _ = writeln!(
        out,
        r#"<text x="{lx}" y="{}" font-weight="bold">class</text>"#,
        top + 10.0
    );
    for (i, class) in class_order.iter().enumerate() {
        let ly = top + 30.0 + i as f64 * 22.0;
        let _ = writeln!(
            out,
            r#"<circle cx="{}" cy="{}" r="7" fill="{}" fill-opacity="0.5"/><text x="{}" y="{}">{}</text>"#,
            lx + 7.0,
            ly - 4.0,
            colour[class],
            lx + 20.0,
            ly,
            escape(&class.replace('_', " "))
        );
    }
    if largest > 0.0 {
        let ky = top + 40.0 + class_order.len() as f64 * 22.0;
        let _ = writeln!(
            out,
            r#"<text x="{lx}" y="{ky}" font-weight="bold">size (as recorded)</text>"#
        );
        let mut cy = ky + 12.0;
        for share in [1.0, 0.25] {
            let value = largest * share;
            let r = radius(value);
            cy += r;
            let _ = writeln!(
                out,
                r##"<circle cx="{:.1}" cy="{cy:.1}" r="{r:.1}" fill="none" stroke="#777"/><text x="{:.1}" y="{:.1}">{}</text>"##,
                lx + 46.0,
                lx + 46.0 + r + 8.0,
                cy + 4.0,
                thousands(value)
            );
            cy += r + 8.0;
        }
    }
    let mut ny = top + plot_h + 60.0;
    if !unplaced.is_empty() {
        let _ = writeln!(
            out,
            r##"<text x="{left}" y="{ny}" fill="#555">Not drawn:</text>"##
        );
        for pair in unplaced.chunks(2) {
            ny += 16.0;
            let _ = writeln!(
                out,
                r##"<text x="{left}" y="{ny}" fill="#555">{}</text>"##,
                escape(&pair.join("; "))
            );
        }
    }
    let _ = writeln!(
        out,
        r##"<text x="{left}" y="{:.1}" fill="#777" font-size="11">Figures: the model's facts, each with its source (holdco explain). Criteria scores: assessments.csv</text><text x="{left}" y="{:.1}" fill="#777" font-size="11">(in the bundled example an analyst's judgement, not the group's). Classes and colours: strategy.toml.</text>"##,
        height - 26.0,
        height - 12.0
    );
    let _ = writeln!(out, "</svg>");
    out
}

/// Stacked bars of the allocation per year, one colour per class, with the money available.
pub fn allocation(plan: &Plan, class_order: &[String]) -> String {
    let (width, height, left, right, top, bottom) = (820.0, 540.0, 90.0, 200.0, 60.0, 80.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let mut classes: Vec<String> = class_order.to_vec();
    for c in &plan.by_class {
        if !classes.contains(&c.class) {
            classes.push(c.class.clone());
        }
    }
    let colour = colours(&classes);
    let highest = plan
        .years
        .iter()
        .map(|y| y.available.max(y.allocated))
        .fold(0.0f64, f64::max)
        .max(1.0);
    // Ticks at a round step (1, 2 or 5 times a power of ten), about five of them.
    let raw = highest / 5.0;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(raw);
    let ticks = (highest / step).ceil() as usize;
    let top_value = step * ticks as f64;
    let y = |v: f64| top + plot_h - v / top_value * plot_h;
    let n = plan.years.len().max(1) as f64;
    let slot = plot_w / n;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{CHART_FONTS}" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{left}" y="28" font-size="18" font-weight="bold">{}</text>"#,
        escape(&plan.name)
    );
    let _ = writeln!(
        out,
        r##"<text x="{left}" y="46" fill="#555">Allocation by class and year ({}{}); dashed line = budget plus disposal proceeds</text>"##,
        escape(&plan.currency),
        plan.scale
            .as_ref()
            .map(|s| format!(" {}", escape(s)))
            .unwrap_or_default()
    );
    for i in 0..=ticks {
        let v = step * i as f64;
        let _ = writeln!(
            out,
            r##"<line x1="{left}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#eee"/><text x="{2:.1}" y="{3:.1}" text-anchor="end">{4}</text>"##,
            y(v),
            left + plot_w,
            left - 6.0,
            y(v) + 4.0,
            thousands(v)
        );
    }
    for (i, year) in plan.years.iter().enumerate() {
        let bx = left + slot * i as f64 + slot * 0.2;
        let bw = slot * 0.6;
        let mut base = 0.0;
        for class in &classes {
            let amount: f64 = plan
                .by_class
                .iter()
                .filter(|c| &c.class == class && c.year == year.year)
                .map(|c| c.amount)
                .sum();
            if amount <= 0.0 {
                continue;
            }
            let _ = writeln!(
                out,
                r#"<rect x="{bx:.1}" y="{:.1}" width="{bw:.1}" height="{:.1}" fill="{}"><title>{}</title></rect>"#,
                y(base + amount),
                y(base) - y(base + amount),
                colour[class],
                escape(&format!("{class} {}: {}", year.year, thousands(amount)))
            );
            if y(base) - y(base + amount) > 14.0 {
                let _ = writeln!(
                    out,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="white">{}</text>"#,
                    bx + bw / 2.0,
                    y(base + amount / 2.0) + 4.0,
                    thousands(amount)
                );
            }
            base += amount;
        }
        let _ = writeln!(
            out,
            r##"<line x1="{0:.1}" y1="{1:.1}" x2="{2:.1}" y2="{1:.1}" stroke="#333" stroke-dasharray="5 3"/>"##,
            bx - 6.0,
            y(year.available),
            bx + bw + 6.0
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            bx + bw / 2.0,
            top + plot_h + 18.0,
            year.year
        );
    }
    let _ = writeln!(
        out,
        r##"<line x1="{left}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#888"/>"##,
        top + plot_h,
        left + plot_w
    );
    let lx = left + plot_w + 20.0;
    for (i, class) in classes.iter().enumerate() {
        let ly = top + 20.0 + i as f64 * 22.0;
        let _ = writeln!(
            out,
            r#"<rect x="{lx}" y="{}" width="14" height="14" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            ly - 11.0,
            colour[class],
            lx + 20.0,
            ly,
            escape(&class.replace('_', " "))
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="{left}" y="{:.1}" fill="#777" font-size="11">Budgets and proceeds from capital.toml (each with its source); the value and risk of each tranche are that file's assumptions.</text>"##,
        height - 10.0
    );
    let _ = writeln!(out, "</svg>");
    out
}

fn thousands(value: f64) -> String {
    let text = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i > 0 && (text.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < -0.5 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    /// Issue 16 item 13's sibling: names with markup or control characters keep the SVG
    /// well-formed.
    #[test]
    fn names_are_escaped_for_svg() {
        assert_eq!(
            super::escape("<a & \"b\">\u{1b}[2J"),
            "&lt;a &amp; &quot;b&quot;&gt;\\u{1b}[2J"
        );
    }
}
