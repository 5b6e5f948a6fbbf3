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
  const right = 14;
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
