// Charts drawn as SVG by hand: the time axis with the dated changes, and line charts.

import { s } from './dom.js';
import { number } from './format.js';

export const PALETTE = ['#1f5f8b', '#d9822b', '#2e8b57', '#b23a48', '#6a4c93', '#8c6d1f', '#0f7c7c', '#c2185b', '#5d6d7e', '#7cb342'];

function yearOf(day) {
  return new Date(day * 86400000).getUTCFullYear();
}

function dayOfYear(year) {
  return Math.round(Date.UTC(year, 0, 1) / 86400000);
}

/**
 * The time axis: a tick per year, a mark per date with changes (clickable), the shown date
 * and the compared date. Width follows the page.
 */
export function timeAxis({ from, to, marks, current, compare, label, onPick, width = 0, pad = 14 }) {
  const w = Math.max(280, width || Math.min(1200, (document.querySelector('main') || document.body).clientWidth - 32));
  const height = 58;
  const x = (day) => pad + ((day - from) / Math.max(1, to - from)) * (w - 2 * pad);
  const svg = s('svg', { width: w, height, viewBox: `0 0 ${w} ${height}`, role: 'img', 'aria-label': label, class: 'time-axis' });
  svg.append(s('title', {}, label));
  svg.append(s('line', { x1: pad, x2: w - pad, y1: 30, y2: 30, class: 'axis-line' }));
  // Shaded span between the compared and the shown date.
  if (compare !== undefined && compare !== current) {
    const a = x(Math.min(compare, current));
    const b = x(Math.max(compare, current));
    svg.append(s('rect', { x: a, y: 20, width: Math.max(1, b - a), height: 20, class: 'axis-span' }));
  }
  const firstYear = yearOf(from);
  const lastYear = yearOf(to);
  const every = Math.max(1, Math.ceil((lastYear - firstYear + 1) / Math.max(1, Math.floor(w / 56))));
  for (let year = firstYear; year <= lastYear + 1; year++) {
    const d = dayOfYear(year);
    if (d < from || d > to) continue;
    svg.append(s('line', { x1: x(d), x2: x(d), y1: 26, y2: 34, class: 'axis-tick' }));
    if ((year - firstYear) % every === 0) svg.append(s('text', { x: x(d), y: 52, 'text-anchor': 'middle', class: 'axis-label' }, String(year)));
  }
  for (const date of marks) {
    const d = Math.round(Date.parse(`${date}T00:00:00Z`) / 86400000);
    const mark = s('line', { x1: x(d), x2: x(d), y1: 18, y2: 42, class: 'axis-mark', 'data-date': date });
    mark.append(s('title', {}, `changes on ${date}`));
    if (onPick) mark.addEventListener('click', () => onPick(d));
    svg.append(mark);
  }
  if (compare !== undefined && compare !== current) {
    svg.append(s('circle', { cx: x(compare), cy: 30, r: 5, class: 'axis-compare' }));
  }
  svg.append(s('path', { d: `M${x(current) - 6},8 L${x(current) + 6},8 L${x(current)},17 Z`, class: 'axis-current' }));
  return svg;
}

/** Rounds a step to 1, 2 or 5 times a power of ten. */
function niceStep(span, count) {
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  const m = raw / power;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
}

/**
 * A line chart of several series over periods. A missing value breaks the line (a gap is
 * shown as a gap). `unit` labels the y axis; names go in a legend under the chart (HTML,
 * so long and Chinese names wrap instead of overlapping).
 */
export function lineChart({ periods, series, unit, metric, label, width = 720 }) {
  const w = Math.max(300, width);
  const h = Math.round(Math.min(360, Math.max(220, w * 0.42)));
  const left = 74;
  const right = 30; // half of the last period label, centred on the last point
  const top = 24;
  const bottom = 34;
  const values = series.flatMap((sr) => sr.values.filter((v) => v !== null && v !== undefined));
  let lo = Math.min(0, ...values);
  let hi = Math.max(0, ...values);
  if (lo === hi) hi = lo + 1;
  const step = niceStep(hi - lo, 5);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const x = (i) => left + (periods.length === 1 ? (w - left - right) / 2 : (i / (periods.length - 1)) * (w - left - right));
  const y = (v) => top + (1 - (v - lo) / (hi - lo)) * (h - top - bottom);
  const svg = s('svg', { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-label': label, class: 'line-chart' });
  svg.append(s('title', {}, label));
  svg.append(s('text', { x: 4, y: 14, class: 'chart-unit' }, unit));
  for (let v = lo; v <= hi + step / 2; v += step) {
    svg.append(s('line', { x1: left, x2: w - right, y1: y(v), y2: y(v), class: v === 0 ? 'grid zero' : 'grid' }));
    svg.append(s('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, number(v, metric)));
  }
  const every = Math.max(1, Math.ceil(periods.length / Math.max(1, Math.floor((w - left) / 64))));
  periods.forEach((p, i) => {
    if (i % every === 0 || i === periods.length - 1) svg.append(s('text', { x: x(i), y: h - 12, 'text-anchor': 'middle', class: 'tick' }, p));
  });
  series.forEach((sr, k) => {
    const colour = PALETTE[k % PALETTE.length];
    let d = '';
    let pen = false;
    sr.values.forEach((v, i) => {
      if (v === null || v === undefined) { pen = false; return; }
      d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    if (d) svg.append(s('path', { d, class: 'series', stroke: colour, fill: 'none' }));
    sr.values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      const dot = s('circle', { cx: x(i), cy: y(v), r: 3.2, fill: colour });
      dot.append(s('title', {}, `${sr.name}, ${periods[i]}: ${number(v, metric)} ${unit}`));
      svg.append(dot);
    });
  });
  return svg;
}

/** Linear scale with nice ticks over [lo, hi] (0 included when `zero`). */
function scale(values, zero = true) {
  let lo = Math.min(...values, ...(zero ? [0] : []));
  let hi = Math.max(...values, ...(zero ? [0] : []));
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) { lo = 0; hi = 1; }
  if (lo === hi) { hi = lo + 1; }
  const step = niceStep(hi - lo, 5);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const ticks = [];
  for (let v = lo; v <= hi + step / 2; v += step) ticks.push(+v.toPrecision(12));
  return { lo, hi, ticks };
}

function frame(w, h, label) {
  const svg = s('svg', { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-label': label, class: 'chart-svg' });
  svg.append(s('title', {}, label));
  return svg;
}

/**
 * The portfolio matrix: growth across, margin up, bubble size = `size`, colour = class.
 * Labels beside the bubbles are placed top to bottom without overlapping. With
 * `size = { title, unit, format }` a key on the right draws reference bubbles for round
 * values with the same radius rule as the points, each labelled with its value, under the
 * size's title and unit (e.g. "Revenue", "CNY millions").
 */
export function bubbleChart({ points, classes, label, width = 720, xLabel, yLabel, format = (v) => v, size = null }) {
  const w = Math.max(300, width);
  const h = Math.round(Math.min(460, Math.max(280, w * 0.6)));
  // The size key takes a band on the right of the plot, or below it on a narrow chart.
  const beside = size && w >= 640;
  const keyWidth = beside ? 130 : 0;
  const below = size && !beside ? 124 : 0;
  const m = { left: 56, right: 16 + keyWidth, top: 16, bottom: 44 };
  const xs = scale(points.map((p) => p.x));
  const ys = scale(points.map((p) => p.y));
  const maxSize = Math.max(1, ...points.map((p) => p.size || 0));
  // The largest bubble's radius shrinks with the chart, so a phone's plot keeps room.
  const rMax = w < 520 ? 18 : 26;
  const radius = (value) => 5 + rMax * Math.sqrt(Math.max(0, value || 0) / maxSize);
  // The values are placed inside the plot by the largest radius, so no bubble is cut at an edge.
  const pad = 5 + rMax + 2;
  const x = (v) => m.left + pad + ((v - xs.lo) / (xs.hi - xs.lo)) * (w - m.left - m.right - 2 * pad);
  const y = (v) => m.top + pad + (1 - (v - ys.lo) / (ys.hi - ys.lo)) * (h - m.top - m.bottom - 2 * pad);
  const svg = frame(w, h + below, label);
  for (const t of xs.ticks) {
    svg.append(s('line', { x1: x(t), x2: x(t), y1: m.top, y2: h - m.bottom, class: t === 0 ? 'grid zero' : 'grid' }));
    svg.append(s('text', { x: x(t), y: h - m.bottom + 16, 'text-anchor': 'middle', class: 'tick' }, format(t)));
  }
  for (const t of ys.ticks) {
    svg.append(s('line', { x1: m.left, x2: w - m.right, y1: y(t), y2: y(t), class: t === 0 ? 'grid zero' : 'grid' }));
    svg.append(s('text', { x: m.left - 6, y: y(t) + 4, 'text-anchor': 'end', class: 'tick' }, format(t)));
  }
  svg.append(s('text', { x: (m.left + w - m.right) / 2, y: h - 6, 'text-anchor': 'middle', class: 'chart-unit' }, xLabel));
  svg.append(s('text', { x: 12, y: (m.top + h - m.bottom) / 2, 'text-anchor': 'middle', class: 'chart-unit', transform: `rotate(-90 12 ${(m.top + h - m.bottom) / 2})` }, yLabel));
  const sorted = [...points].sort((a, b) => (b.size || 0) - (a.size || 0));
  for (const p of sorted) {
    const r = radius(p.size);
    const colour = PALETTE[Math.max(0, classes.indexOf(p.class)) % PALETTE.length];
    const dot = s('circle', { cx: x(p.x), cy: y(p.y), r, fill: colour, 'fill-opacity': 0.55, stroke: colour });
    dot.append(s('title', {}, `${p.name}: ${p.class}, ${xLabel} ${format(p.x)}, ${yLabel} ${format(p.y)}`));
    svg.append(dot);
  }
  // Labels: beside, above or below the bubble, moved a line at a time until the label's box
  // (its width estimated from its characters, CJK ones wider) clears every label placed
  // before it and every bubble, with a few pixels between them.
  const placed = [];
  const notes = [];
  const discs = points.map((p) => ({ x: x(p.x), y: y(p.y), r: radius(p.size) }));
  // True when the box comes within 2 px of a bubble's disc.
  const touches = (box, d) => {
    const nx = Math.max(box.x0, Math.min(d.x, box.x1));
    const ny = Math.max(box.y0, Math.min(d.y, box.y1));
    return (nx - d.x) ** 2 + (ny - d.y) ** 2 < (d.r + 2) ** 2;
  };
  const widthOf = (text) => [...text].reduce((sum, ch) => sum + (ch.codePointAt(0) > 0x2e80 ? 11.5 : 6.4), 0);
  const gap = 4;
  const clear = (box) => box.x0 >= 2 && box.x1 <= w - 2 - keyWidth && box.y0 >= 2 && box.y1 <= h - m.bottom + 2
    && !placed.some((q) => box.x0 < q.x1 + gap && box.x1 > q.x0 - gap && box.y0 < q.y1 + gap && box.y1 > q.y0 - gap)
    && !discs.some((d) => touches(box, d));
  for (const p of [...points].sort((a, b) => y(a.y) - y(b.y))) {
    const r = radius(p.size);
    const text = p.short || p.name;
    const tw = widthOf(text);
    const cx = x(p.x);
    const cy = y(p.y);
    // Left edges and baselines to try: right, left, above, below the bubble.
    const spots = [[cx + r + 4, cy + 4], [cx - r - 4 - tw, cy + 4], [cx - tw / 2, cy - r - 5], [cx - tw / 2, cy + r + 13]];
    let chosen = null;
    for (let step = 0; step < 12 && !chosen; step++) {
      const dy = (step % 2 ? 1 : -1) * Math.ceil(step / 2) * 15;
      for (const [lx, ly] of spots) {
        const box = { x0: lx, x1: lx + tw, y0: ly + dy - 11, y1: ly + dy + 3 };
        if (clear(box)) { chosen = box; break; }
      }
    }
    if (!chosen) {
      // No room for the name: a number beside the bubble (or on it), the name in the list
      // under the chart.
      const number = String(notes.length + 1);
      const nw = widthOf(number);
      const near = [[cx + r + 3, cy + 4], [cx - r - 3 - nw, cy + 4], [cx - nw / 2, cy - r - 4], [cx - nw / 2, cy + r + 12]];
      for (let step = 0; step < 6 && !chosen; step++) {
        const dy = (step % 2 ? 1 : -1) * Math.ceil(step / 2) * 8;
        for (const [lx, ly] of near) {
          const box = { x0: lx, x1: lx + nw, y0: ly + dy - 11, y1: ly + dy + 3 };
          if (clear(box)) { chosen = box; break; }
        }
      }
      chosen = chosen || { x0: cx - nw / 2, x1: cx + nw / 2, y0: cy - 7, y1: cy + 7 };
      notes.push(`${number} ${text}`);
      placed.push(chosen);
      svg.append(s('text', { x: chosen.x0, y: chosen.y1 - 3, class: 'point-label point-number' }, number));
      continue;
    }
    placed.push(chosen);
    svg.append(s('text', { x: chosen.x0, y: chosen.y1 - 3, class: 'point-label' }, text));
  }
  let bottom = h + below;
  if (size && points.length) {
    const [x0, top] = beside ? [w - keyWidth + 8, m.top] : [m.left, h + 4];
    svg.append(sizeKey({ x0, top, values: keyValues(maxSize), radius, size }));
  }
  if (notes.length) {
    // The numbered names, wrapped to the chart's width.
    let line = 0;
    let at = 8;
    const rows = [];
    for (const note of notes) {
      const nw = widthOf(note) + 14;
      if (at > 8 && at + nw > w - 8) { line += 1; at = 8; }
      rows.push({ note, x: at, line });
      at += nw;
    }
    for (const row of rows) {
      svg.append(s('text', { x: row.x, y: bottom + 14 + row.line * 16, class: 'point-label point-note' }, row.note));
    }
    bottom += 16 * (line + 1) + 6;
  }
  svg.setAttribute('height', bottom);
  svg.setAttribute('viewBox', `0 0 ${w} ${bottom}`);
  return svg;
}

/** Up to three round values (1, 2 or 5 times a power of ten) at about 1, 1/4 and 1/16 of the largest. */
function keyValues(largest) {
  const round = (v) => {
    const power = 10 ** Math.floor(Math.log10(v));
    const m = v / power;
    return (m >= 5 ? 5 : m >= 2 ? 2 : 1) * power;
  };
  const values = [];
  for (const share of [1, 1 / 4, 1 / 16]) {
    const v = round(largest * share);
    if (v > 0 && !values.includes(v)) values.push(v);
  }
  return values;
}

/**
 * The size key: nested reference bubbles standing on one baseline, a leader line from the
 * top of each to its value on the right (values moved apart so they never touch), the
 * title and the unit above.
 */
function sizeKey({ x0, top, values, radius, size }) {
  const g = s('g', { class: 'size-key', 'aria-label': `Bubble size: ${size.title} (${size.unit})` });
  const largest = radius(values[0]);
  g.append(s('text', { x: x0, y: top + 10, class: 'chart-unit' }, 'bubble size'));
  g.append(s('text', { x: x0, y: top + 25, class: 'tick' }, size.title));
  g.append(s('text', { x: x0, y: top + 39, class: 'tick' }, size.unit));
  const cx = x0 + largest;
  const base = top + 54 + 2 * largest;
  let lastY = -Infinity;
  for (const v of values) {
    const r = radius(v);
    g.append(s('circle', { cx, cy: base - r, r, fill: 'none', stroke: '#5d6d7e', class: 'key-bubble' }));
    const y = Math.max(base - 2 * r + 4, lastY + 14);
    lastY = y;
    g.append(s('line', { x1: cx, x2: cx + largest + 6, y1: base - 2 * r, y2: y - 4, stroke: '#5d6d7e', class: 'key-line' }));
    g.append(s('text', { x: cx + largest + 9, y, class: 'tick key-value' }, size.format(v)));
  }
  return g;
}

/** Stacked bars: one bar per category (year), one segment per series (class). */
export function stackedBars({ categories, series, label, unit, metric, width = 560 }) {
  const w = Math.max(300, width);
  const h = 260;
  const m = { left: 74, right: 12, top: 22, bottom: 30 };
  const totals = categories.map((_, i) => series.reduce((sum, sr) => sum + (sr.values[i] || 0), 0));
  const ys = scale(totals);
  const y = (v) => m.top + (1 - (v - ys.lo) / (ys.hi - ys.lo)) * (h - m.top - m.bottom);
  const band = (w - m.left - m.right) / categories.length;
  const svg = frame(w, h, label);
  svg.append(s('text', { x: 4, y: 14, class: 'chart-unit' }, unit));
  for (const t of ys.ticks) {
    svg.append(s('line', { x1: m.left, x2: w - m.right, y1: y(t), y2: y(t), class: 'grid' }));
    svg.append(s('text', { x: m.left - 6, y: y(t) + 4, 'text-anchor': 'end', class: 'tick' }, number(t, metric)));
  }
  categories.forEach((c, i) => {
    let base = 0;
    series.forEach((sr, k) => {
      const v = sr.values[i] || 0;
      const rect = s('rect', { x: m.left + i * band + band * 0.2, width: band * 0.6, y: y(base + v), height: Math.max(0, y(base) - y(base + v)), fill: PALETTE[k % PALETTE.length] });
      rect.append(s('title', {}, `${c}, ${sr.name}: ${number(v, metric)} ${unit}`));
      svg.append(rect);
      base += v;
    });
    svg.append(s('text', { x: m.left + (i + 0.5) * band, y: h - 10, 'text-anchor': 'middle', class: 'tick' }, c));
  });
  return svg;
}

/**
 * Fan chart: actual figures as a line, then each scenario's P5-P95 and P25-P75 bands and
 * its median, over the projected years.
 */
export function fanChart({ actual, fans, label, unit, metric, width = 720 }) {
  const years = [...actual.map((a) => a.period), ...fans[0].years.filter((y) => !actual.some((a) => a.period === y))];
  const w = Math.max(300, width);
  const h = 300;
  const m = { left: 74, right: 30, top: 22, bottom: 30 };
  const all = [...actual.map((a) => a.value), ...fans.flatMap((f) => [...f.p5, ...f.p95])].filter((v) => v !== null);
  const ys = scale(all, false);
  const x = (i) => m.left + (i / Math.max(1, years.length - 1)) * (w - m.left - m.right);
  const y = (v) => m.top + (1 - (v - ys.lo) / (ys.hi - ys.lo)) * (h - m.top - m.bottom);
  const at = (year) => years.indexOf(year);
  const svg = frame(w, h, label);
  svg.append(s('text', { x: 4, y: 14, class: 'chart-unit' }, unit));
  for (const t of ys.ticks) {
    svg.append(s('line', { x1: m.left, x2: w - m.right, y1: y(t), y2: y(t), class: 'grid' }));
    svg.append(s('text', { x: m.left - 6, y: y(t) + 4, 'text-anchor': 'end', class: 'tick' }, number(t, metric)));
  }
  const every = Math.max(1, Math.ceil(years.length / Math.floor((w - m.left) / 60)));
  years.forEach((yr, i) => { if (i % every === 0) svg.append(s('text', { x: x(i), y: h - 10, 'text-anchor': 'middle', class: 'tick' }, yr)); });
  fans.forEach((f, k) => {
    const colour = PALETTE[k % PALETTE.length];
    const area = (lo, hi) => {
      const top = f.years.map((yr, i) => `${x(at(yr)).toFixed(1)},${y(hi[i]).toFixed(1)}`);
      const bottom = f.years.map((yr, i) => `${x(at(yr)).toFixed(1)},${y(lo[i]).toFixed(1)}`).reverse();
      return `M${top.join('L')}L${bottom.join('L')}Z`;
    };
    svg.append(s('path', { d: area(f.p5, f.p95), fill: colour, 'fill-opacity': 0.13 }));
    svg.append(s('path', { d: area(f.p25, f.p75), fill: colour, 'fill-opacity': 0.25 }));
    svg.append(s('path', { d: `M${f.years.map((yr, i) => `${x(at(yr)).toFixed(1)},${y(f.p50[i]).toFixed(1)}`).join('L')}`, stroke: colour, fill: 'none', 'stroke-width': 2.2, 'stroke-dasharray': k ? '6 3' : null }));
  });
  const points = actual.filter((a) => a.value !== null);
  if (points.length) {
    svg.append(s('path', { d: `M${points.map((a) => `${x(at(a.period)).toFixed(1)},${y(a.value).toFixed(1)}`).join('L')}`, stroke: '#1b2631', fill: 'none', 'stroke-width': 2.4 }));
    for (const a of points) {
      const dot = s('circle', { cx: x(at(a.period)), cy: y(a.value), r: 3, fill: '#1b2631' });
      dot.append(s('title', {}, `actual ${a.period}: ${number(a.value, metric)} ${unit}`));
      svg.append(dot);
    }
  }
  return svg;
}

/** Histograms of several distributions on one axis: bins as [from, to, density]. */
export function histogram({ sets, label, unit, metric, width = 720 }) {
  const w = Math.max(300, width);
  const h = 220;
  const m = { left: 44, right: 44, top: 22, bottom: 30 };
  const edges = sets.flatMap((st) => st.bins.flatMap((b) => [b[0], b[1]]));
  const xs = scale(edges, false);
  const top = Math.max(...sets.flatMap((st) => st.bins.map((b) => b[2])));
  const x = (v) => m.left + ((v - xs.lo) / (xs.hi - xs.lo)) * (w - m.left - m.right);
  const y = (v) => m.top + (1 - v / top) * (h - m.top - m.bottom);
  const svg = frame(w, h, label);
  svg.append(s('text', { x: 4, y: 14, class: 'chart-unit' }, unit));
  for (const t of xs.ticks) svg.append(s('text', { x: x(t), y: h - 10, 'text-anchor': 'middle', class: 'tick' }, number(t, metric)));
  svg.append(s('line', { x1: m.left, x2: w - m.right, y1: y(0), y2: y(0), class: 'grid zero' }));
  sets.forEach((st, k) => {
    const colour = PALETTE[k % PALETTE.length];
    for (const [a, b, d] of st.bins) {
      const rect = s('rect', { x: x(a), width: Math.max(0.5, x(b) - x(a)), y: y(d), height: y(0) - y(d), fill: colour, 'fill-opacity': 0.45 });
      rect.append(s('title', {}, `${st.name}: ${number(a, metric)} to ${number(b, metric)}`));
      svg.append(rect);
    }
  });
  return svg;
}

/** Tornado: each assumption's result at its low and high value, around the base. */
export function tornado({ base, swings, label, unit, metric, width = 720 }) {
  const w = Math.max(300, width);
  const row = 24;
  const m = { left: Math.min(260, Math.round(w * 0.42)), right: 36, top: 22, bottom: 26 };
  const h = m.top + m.bottom + swings.length * row;
  const xs = scale([base, ...swings.flatMap((sw) => [sw.low, sw.high])], false);
  const x = (v) => m.left + ((v - xs.lo) / (xs.hi - xs.lo)) * (w - m.left - m.right);
  const svg = frame(w, h, label);
  svg.append(s('text', { x: 4, y: 14, class: 'chart-unit' }, unit));
  for (const t of xs.ticks) {
    svg.append(s('line', { x1: x(t), x2: x(t), y1: m.top, y2: h - m.bottom, class: 'grid' }));
    svg.append(s('text', { x: x(t), y: h - 8, 'text-anchor': 'middle', class: 'tick' }, number(t, metric)));
  }
  swings.forEach((sw, i) => {
    const cy = m.top + i * row;
    const name = sw.assumption.length > 40 ? `…${sw.assumption.slice(-39)}` : sw.assumption;
    svg.append(s('text', { x: m.left - 6, y: cy + 16, 'text-anchor': 'end', class: 'tick' }, name));
    for (const [value, colour, note] of [[sw.low, PALETTE[0], `low (${sw.low_note})`], [sw.high, PALETTE[1], `high (${sw.high_note})`]]) {
      const rect = s('rect', { x: Math.min(x(base), x(value)), width: Math.max(1, Math.abs(x(value) - x(base))), y: cy + 4, height: row - 8, fill: colour });
      rect.append(s('title', {}, `${sw.assumption} ${note}: ${number(value, metric)} ${unit}`));
      svg.append(rect);
    }
  });
  svg.append(s('line', { x1: x(base), x2: x(base), y1: m.top - 4, y2: h - m.bottom, stroke: '#1b2631', 'stroke-width': 1.5 }));
  return svg;
}

/**
 * The leadership pipeline: the cohort's share of leaders on each date (bars) against the
 * target share (a dashed line, labelled with its date). Shares are 0 to 1.
 */
export function pipelineChart({ points, target, label, width = 560 }) {
  const w = Math.max(300, width);
  const h = 240;
  const m = { left: 44, right: 12, top: 26, bottom: 30 };
  const top = Math.max(0.1, target ? target.share : 0, ...points.map((p) => p.share || 0));
  const hi = Math.min(1, Math.ceil(top * 10 + 0.5) / 10);
  const y = (v) => m.top + (1 - v / hi) * (h - m.top - m.bottom);
  const band = (w - m.left - m.right) / Math.max(1, points.length);
  const svg = frame(w, h, label);
  for (let k = 0; k <= 4; k++) {
    const t = (hi * k) / 4;
    svg.append(s('line', { x1: m.left, x2: w - m.right, y1: y(t), y2: y(t), class: 'grid' }));
    svg.append(s('text', { x: m.left - 6, y: y(t) + 4, 'text-anchor': 'end', class: 'tick' }, `${Math.round(t * 100)}%`));
  }
  points.forEach((p, i) => {
    const x = m.left + i * band + band * 0.2;
    const bw = Math.max(4, band * 0.6);
    if (p.share !== null && p.share !== undefined) {
      const bar = s('rect', { x, y: y(p.share), width: bw, height: y(0) - y(p.share), fill: PALETTE[0], 'fill-opacity': 0.8 });
      bar.append(s('title', {}, `${p.label}: ${(p.share * 100).toFixed(1)}% of ${p.leaders} leaders`));
      svg.append(bar);
      svg.append(s('text', { x: x + bw / 2, y: y(p.share) - 4, 'text-anchor': 'middle', class: 'tick' }, `${Math.round(p.share * 100)}%`));
    }
    svg.append(s('text', { x: x + bw / 2, y: h - m.bottom + 16, 'text-anchor': 'middle', class: 'tick' }, p.label));
  });
  if (target) {
    svg.append(s('line', { x1: m.left, x2: w - m.right, y1: y(target.share), y2: y(target.share), stroke: PALETTE[1], 'stroke-width': 2, 'stroke-dasharray': '6 4' }));
    svg.append(s('text', { x: w - m.right, y: y(target.share) - 5, 'text-anchor': 'end', class: 'chart-unit' }, `target ${Math.round(target.share * 100)}% by ${target.by}`));
  }
  return svg;
}
