// Structure through time: the tree on a date, a date slider over the time axis with the
// dated changes as marks, and the units that changed between two dates highlighted.
// The tree is virtualised (only the rows in view exist in the page), so 100,000 units
// scroll and redraw as fast as fifty.

import { h, fill, s, field, select, announce } from './dom.js';
import { fromDay } from './format.js';
import { timeAxis } from './chart.js';

const ROW = 30; // px per tree row
const OVERSCAN = 12;
const STATUS_TEXT = {
  new: 'new', gone: 'gone', moved: 'moved', merged: 'merged', split: 'split', renamed: 'renamed',
};

export function structurePage(ctx) {
  const { timeline, model } = ctx;
  const firstDay = dayOf(model.first_date);
  const latestDay = dayOf(model.latest_structure);
  const lastDay = Math.max(latestDay, firstDay) + 366;
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  let day = clamp(params.get('at') ? dayOf(params.get('at')) : latestDay, firstDay, lastDay);
  let compareDay = params.get('since') ? dayOf(params.get('since')) : day;
  let current = timeline.structureOn(day);
  let compare = current;
  let diff = new Map();
  let rows = [];
  const expanded = new Map(); // unit → true/false, overriding the default
  const defaultDepth = current.alive <= 400 ? Infinity : 1;
  let focusUnit = null;

  // --- controls -------------------------------------------------------------------------
  const slider = h('input', {
    type: 'range', min: firstDay, max: lastDay, step: 1, value: day,
    'aria-valuetext': fromDay(day),
  });
  const dateInput = h('input', { type: 'date', value: fromDay(day), min: fromDay(firstDay), max: fromDay(lastDay) });
  const compareInput = h('input', { type: 'date', value: fromDay(compareDay), min: fromDay(firstDay), max: fromDay(lastDay) });
  const changeDates = [...new Set(timeline.changes.map((c) => c.date))].sort();
  const jump = select([['', 'Jump to a change date…'], ...changeDates.map((d) => [d, `${d} (${timeline.changes.filter((c) => c.date === d).length} changes)`])], '');
  const axisHolder = h('div.axis');
  const summary = h('p.summary', { 'aria-live': 'polite' });
  const treeBox = h('div.tree', { role: 'region', 'aria-label': 'Units on the chosen date', tabindex: '0' });
  const spacer = h('div.tree-spacer');
  const viewport = h('div.tree-rows');
  treeBox.append(spacer);
  spacer.append(viewport);
  const goneBox = h('div.gone');
  const panel = h('aside.panel', { 'aria-label': 'Unit history', hidden: true });
  const legend = h('ul.legend', { 'aria-label': 'Highlight legend' },
    Object.keys(STATUS_TEXT).map((k) => h('li', {}, h(`span.badge.st-${k}`, {}, STATUS_TEXT[k]))));

  // Dragging (or a key press) starts a comparison from where the slider was.
  slider.addEventListener('pointerdown', () => setCompare(day));
  slider.addEventListener('keydown', (e) => { if (!e.repeat && (e.key.startsWith('Arrow') || e.key.startsWith('Page') || e.key === 'Home' || e.key === 'End')) setCompare(day); });
  slider.addEventListener('input', () => setDay(Number(slider.value)));
  dateInput.addEventListener('change', () => { if (dateInput.value) { setCompare(day); setDay(clamp(dayOf(dateInput.value), firstDay, lastDay)); } });
  compareInput.addEventListener('change', () => { if (compareInput.value) { setCompare(clamp(dayOf(compareInput.value), firstDay, lastDay)); redraw(); } });
  jump.addEventListener('change', () => { if (jump.value) { setCompare(day); setDay(dayOf(jump.value)); } });
  treeBox.addEventListener('scroll', () => paintRows());
  // Arrow keys walk the tree: up and down between units, right opens (or goes to the first
  // unit below), left closes (or goes to the unit above), Home and End.
  viewport.addEventListener('keydown', (e) => {
    const at = document.activeElement && document.activeElement.dataset.row;
    if (at === undefined) return;
    const i = Number(at);
    const row = rows[i];
    let target = null;
    if (e.key === 'ArrowDown') target = Math.min(rows.length - 1, i + 1);
    else if (e.key === 'ArrowUp') target = Math.max(0, i - 1);
    else if (e.key === 'Home') target = 0;
    else if (e.key === 'End') target = rows.length - 1;
    else if (e.key === 'ArrowRight') {
      if (row.children && !row.open) { expanded.set(row.u, true); flatten(); paintRows(); target = i; } else if (row.children) target = i + 1;
    } else if (e.key === 'ArrowLeft') {
      if (row.open) { expanded.set(row.u, false); flatten(); paintRows(); target = i; } else {
        for (let k = i - 1; k >= 0; k--) if (rows[k].depth < row.depth) { target = k; break; }
      }
    }
    if (target === null) return;
    e.preventDefault();
    focusRow(target);
  });

  function setCompare(d) {
    if (d === compareDay) return;
    compareDay = d;
    compare = timeline.structureOn(d);
    compareInput.value = fromDay(d);
  }

  function setDay(d) {
    if (d === day) return;
    day = d;
    slider.value = d;
    slider.setAttribute('aria-valuetext', fromDay(d));
    dateInput.value = fromDay(d);
    redraw();
    history.replaceState(null, '', `#/structure?at=${fromDay(day)}&since=${fromDay(compareDay)}`);
  }

  // --- drawing --------------------------------------------------------------------------
  function redraw() {
    const started = performance.now();
    current = timeline.structureOn(day);
    if (compare.day !== compareDay) compare = timeline.structureOn(compareDay);
    diff = timeline.diff(compare, current);
    flatten();
    paintRows();
    paintGone();
    drawAxis();
    const counts = {};
    for (const [u, entry] of diff) {
      if (current.parent[u] === -2 && !entry.statuses.has('gone')) continue;
      for (const st of entry.statuses) counts[st] = (counts[st] || 0) + 1;
    }
    const parts = Object.entries(counts).map(([k, v]) => `${v} ${k}`);
    summary.textContent = `${fromDay(day)}: ${current.alive.toLocaleString('en-US')} units` +
      (compareDay !== day ? `; since ${fromDay(compareDay)}: ${parts.length ? parts.join(', ') : 'no change'}` : '');
    const ms = performance.now() - started;
    window.__holdcoRedraws = (window.__holdcoRedraws || []).concat([ms]);
    document.body.dataset.structureDay = fromDay(day);
  }

  function isOpen(u, depth) {
    return expanded.has(u) ? expanded.get(u) : depth < defaultDepth;
  }

  function flatten() {
    rows = [];
    const { childStart, childList } = current;
    const stack = [];
    for (let i = current.tops.length - 1; i >= 0; i--) stack.push([current.tops[i], 0]);
    while (stack.length) {
      const [u, depth] = stack.pop();
      const from = childStart[u];
      const to = childStart[u + 1];
      const open = to > from && isOpen(u, depth);
      rows.push({ u, depth, children: to - from, open });
      if (open) for (let i = to - 1; i >= from; i--) stack.push([childList[i], depth + 1]);
    }
    spacer.style.height = `${rows.length * ROW}px`;
  }

  function paintRows() {
    const top = treeBox.scrollTop;
    const height = treeBox.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(rows.length, Math.ceil((top + height) / ROW) + OVERSCAN);
    const focused = document.activeElement && viewport.contains(document.activeElement)
      ? document.activeElement.dataset.focusKey : null;
    viewport.replaceChildren();
    viewport.style.transform = `translateY(${first * ROW}px)`;
    for (let i = first; i < last; i++) viewport.append(rowElement(rows[i], i));
    if (focused) {
      const again = viewport.querySelector(`[data-focus-key="${focused}"]`);
      if (again) again.focus();
    }
  }

  function focusRow(i) {
    const top = i * ROW;
    if (top < treeBox.scrollTop) treeBox.scrollTop = top;
    else if (top + ROW > treeBox.scrollTop + treeBox.clientHeight) treeBox.scrollTop = top + ROW - treeBox.clientHeight;
    paintRows();
    const button = viewport.querySelector(`button.unit[data-row="${i}"]`);
    if (button) button.focus();
  }

  function rowElement(row, i) {
    const { u, depth, children, open } = row;
    const name = timeline.nameOn(u, day);
    const entry = diff.get(u);
    const el = h('div.row', { role: 'group', 'aria-label': name });
    el.style.paddingLeft = `${depth * 18 + 4}px`;
    if (entry) el.classList.add('changed');
    if (children) {
      el.append(h('button.toggle', {
        type: 'button', 'aria-expanded': String(open),
        'aria-label': `${open ? 'Collapse' : 'Expand'} ${name} (${children} units below)`,
        dataset: { focusKey: `t${u}` },
        onclick: () => { expanded.set(u, !open); flatten(); paintRows(); },
      }, open ? '▾' : '▸'));
    } else {
      el.append(h('span.toggle-space', { 'aria-hidden': 'true' }));
    }
    el.append(h('button.unit', {
      type: 'button', dataset: { unit: timeline.ids[u], focusKey: `u${u}`, row: String(i) },
      title: `${timeline.ids[u]} (${timeline.kinds[u]})`,
      onclick: () => openHistory(u),
    }, name));
    el.append(h('span.kind', {}, timeline.kinds[u]));
    if (entry) {
      for (const st of entry.statuses) el.append(h(`span.badge.st-${st}`, { title: entry.reasons.join('; ') }, STATUS_TEXT[st]));
    }
    return el;
  }

  function paintGone() {
    const gone = [...diff.entries()].filter(([u, e]) => e.statuses.has('gone') && current.parent[u] === -2);
    goneBox.replaceChildren();
    if (!gone.length) return;
    goneBox.append(h('h3', {}, `Gone since ${fromDay(Math.min(day, compareDay))} (${gone.length})`));
    const list = h('ul');
    for (const [u, e] of gone.slice(0, 200)) {
      list.append(h('li', {}, h('button.unit', { type: 'button', onclick: () => openHistory(u) }, timeline.nameOn(u, compareDay)),
        ' ', [...e.statuses].map((st) => h(`span.badge.st-${st}`, {}, STATUS_TEXT[st])), ' ', h('small', {}, e.reasons.join('; '))));
    }
    if (gone.length > 200) list.append(h('li', {}, `… and ${gone.length - 200} more`));
    goneBox.append(list);
  }

  function drawAxis() {
    axisHolder.replaceChildren(timeAxis({
      from: firstDay, to: lastDay, marks: changeDates, current: day, compare: compareDay,
      label: 'Dated changes on the time axis',
      width: slider.getBoundingClientRect().width, pad: 8,
      onPick: (d) => { setCompare(day); setDay(d); },
    }));
  }

  function openHistory(u) {
    focusUnit = u;
    panel.hidden = false;
    const id = timeline.ids[u];
    const names = timeline.names[u];
    const parents = timeline.parents[u];
    const changes = timeline.changesOf(id);
    const close = h('button.close', { type: 'button', 'aria-label': 'Close the unit history', onclick: () => { panel.hidden = true; } }, '×');
    fill(panel,
      close,
      h('h2', {}, timeline.nameOn(u, day)),
      h('p', {}, h('code', {}, id), ` · ${timeline.kinds[u]} · created ${fromDay(timeline.created[u])}`,
        timeline.ended[u] < 2147483647 ? ` · ended ${fromDay(timeline.ended[u])}` : ''),
      names.length > 1 ? [h('h3', {}, 'Names'), h('ul', {}, names.map(([d, n]) => h('li', {}, `${fromDay(d)}: ${n}`)))] : null,
      h('h3', {}, 'Parents'),
      h('ul', {}, parents.map(([d, p]) => h('li', {}, `${fromDay(d)}: ${p === null ? '(top)' : timeline.nameOn(p, d)}`))),
      h('h3', {}, `Changes (${changes.length})`),
      h('ol.changes', {}, changes.map((c) => h('li', {},
        h('strong', {}, `${c.date} ${c.kind}`), c.id ? h('code', {}, ` ${c.id}`) : null,
        c.note ? h('p', {}, c.note) : null,
        c.source ? h('p', {}, h('a', { href: c.source, target: '_blank', rel: 'noopener noreferrer' }, 'source')) : null))),
    );
    close.focus();
    announce(`History of ${timeline.nameOn(u, day)}`);
  }

  // --- layout ---------------------------------------------------------------------------
  const page = h('section.page.structure', { 'aria-labelledby': 'structure-title' },
    h('h1', { id: 'structure-title' }, 'Structure through time'),
    h('div.controls',
      {},
      field('Show date', dateInput),
      field('Highlight changes since', compareInput),
      field('Change dates', jump),
    ),
    h('div.slider-block', {}, h('label', { for: 'date-slider' }, 'Date (drag; the marks below are the dated changes)'), slider, axisHolder),
    summary,
    legend,
    h('div.split', {}, h('div.treecol', {}, treeBox, goneBox), panel),
  );
  slider.id = 'date-slider';
  ctx.main.replaceChildren(page);
  redraw();
  // The time axis follows the slider's width; the listener leaves with the page.
  const onResize = () => {
    if (!page.isConnected) { window.removeEventListener('resize', onResize); return; }
    drawAxis();
    paintRows();
  };
  window.addEventListener('resize', onResize);
  return { setDay, redraw, get focusUnit() { return focusUnit; } };
}

function dayOf(text) {
  const [y, m, d] = text.split('-').map(Number);
  return Math.round(Date.UTC(y, m - 1, d) / 86400000);
}

function clamp(v, lo, hi) {
  return Math.min(hi, Math.max(lo, v));
}
