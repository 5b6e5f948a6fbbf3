// Numbers: a metric for a node over periods, as a table and a line chart, in the reported,
// restated or organic view, with each cell's provenance marked and gaps shown with their
// reason. A cell opens its explanation (facts, lineage weights, eliminations, rates and
// sources). The table downloads as CSV or XLSX with the CLI's columns.

import { h, fill, field, select, errorBox, announce } from './dom.js';
import { downloadButtons } from './downloads.js';

const COLUMNS = ['node', 'name', 'depth', 'kind', 'period', 'metric', 'value', 'minority', 'eliminated', 'gap', 'provenance'];
import { get } from './api.js';
import { number, exact, unitLabel, provenanceMark, PROVENANCE_LEGEND, fromDay } from './format.js';
import { lineChart, timeAxis } from './chart.js';

const VIEWS = [
  ['reported', 'Reported', 'each period in the structure of its own time'],
  ['restated', 'Restated', 'every period in one target structure, like for like'],
  ['organic', 'Organic', 'restated, without units bought, sold or closed within the periods'],
];

export function numbersPage(ctx) {
  const { model, timeline } = ctx;
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const years = model.years;
  const lastYear = years[years.length - 1];
  const state = {
    metric: params.get('metric') || (model.metrics[0] && model.metrics[0].id),
    node: params.get('node') || '',
    view: params.get('view') || 'restated',
    structure: params.get('structure') || model.latest_structure,
    from: params.get('from') || years[Math.max(0, years.length - 5)],
    to: params.get('to') || lastYear,
    depth: params.get('depth') || '1',
    reportedOnly: params.get('reported_only') === 'true',
  };
  let answer = null;

  const metricSelect = select(model.metrics.map((m) => [m.id, m.name]), state.metric);
  const viewBox = h('fieldset.views', {}, h('legend', {}, 'View'),
    VIEWS.map(([value, text, hint]) => h('label.radio', { title: hint },
      h('input', { type: 'radio', name: 'view', value, checked: state.view === value }), ` ${text}`)));
  const structureInput = h('input', { type: 'date', value: state.structure });
  const fromSelect = select(years.map((y) => [y, y]), state.from);
  const toSelect = select(years.map((y) => [y, y]), state.to);
  const depthSelect = select([['0', 'the node only'], ['1', '1 level'], ['2', '2 levels'], ['3', '3 levels']], state.depth);
  const nodeSelect = select([], state.node);
  const reportedOnly = h('input', { type: 'checkbox', checked: state.reportedOnly });
  const axisHolder = h('div.axis');
  const tableHolder = h('div.table-wrap');
  const chartHolder = h('div.chart', { role: 'region', 'aria-label': 'Line chart', tabindex: '0' });
  const legendHolder = h('ul.series-legend', { 'aria-label': 'Chart legend' });
  const explainPanel = h('aside.panel.explain', { 'aria-label': 'Explanation of a figure', hidden: true });
  const downloadProblem = h('div', { 'aria-live': 'polite' });
  const downloads = downloadButtons(() => answer && {
    file: `${state.metric}-${state.view}-${state.from}-${state.to}`,
    title: `${state.metric}, ${state.view} view, ${state.from} to ${state.to}`,
    columns: COLUMNS,
    rows: answer.rows.map((row) => COLUMNS.map((c) => (row[c] === undefined ? null : row[c]))),
    unit: unitText(),
    query: [['metric', state.metric], ['view', state.view], ['periods', `${state.from}..${state.to}`], ['structure', state.view === 'reported' ? '' : state.structure], ['node', state.node || 'the whole group'], ['depth', state.depth]],
  }, downloadProblem);
  const heading = h('p.caption');

  function fillNodes() {
    const day = dayOf(state.view === 'reported' ? model.latest_structure : state.structure);
    const st = timeline.structureOn(day);
    const options = [['', `${model.group.name} (the whole group)`]];
    const stack = st.tops.map((u) => [u, 0]).reverse();
    while (stack.length && options.length < 600) {
      const [u, depth] = stack.pop();
      if (!(timeline.root === u)) options.push([timeline.ids[u], `${'  '.repeat(depth)}${timeline.nameOn(u, day)}`]);
      if (depth < 3) for (let i = st.childStart[u + 1] - 1; i >= st.childStart[u]; i--) stack.push([st.childList[i], depth + 1]);
    }
    if (timeline.root === null && !state.node && options.length > 1) state.node = options[1][0];
    if (timeline.root === null) options.shift();
    nodeSelect.replaceChildren(...options.map(([v, t]) => h('option', { value: v, selected: v === state.node }, t)));
  }

  metricSelect.addEventListener('change', () => { state.metric = metricSelect.value; load(); });
  viewBox.addEventListener('change', (e) => { if (e.target.name === 'view') { state.view = e.target.value; fillNodes(); load(); } });
  structureInput.addEventListener('change', () => { if (structureInput.value) { state.structure = structureInput.value; fillNodes(); load(); } });
  fromSelect.addEventListener('change', () => { state.from = fromSelect.value; load(); });
  toSelect.addEventListener('change', () => { state.to = toSelect.value; load(); });
  depthSelect.addEventListener('change', () => { state.depth = depthSelect.value; load(); });
  nodeSelect.addEventListener('change', () => { state.node = nodeSelect.value; load(); });
  reportedOnly.addEventListener('change', () => { state.reportedOnly = reportedOnly.checked; load(); });

  const changeDates = [...new Set(timeline.changes.map((c) => c.date))].sort();
  const firstDay = dayOf(model.first_date);
  const lastDay = Math.max(dayOf(model.latest_structure), firstDay) + 366;

  function drawAxis() {
    axisHolder.hidden = state.view === 'reported';
    axisHolder.replaceChildren(
      h('p.axis-caption', {}, 'Target structure: pick a date with changes on the time axis, or type one.'),
      timeAxis({
        from: firstDay, to: lastDay, marks: changeDates, current: dayOf(state.structure),
        label: 'Time axis: dates the structure changed; the marker is the target structure',
        onPick: (d) => { state.structure = fromDay(d); structureInput.value = state.structure; fillNodes(); load(); },
      }));
  }

  const metric = () => model.metrics.find((m) => m.id === state.metric);

  async function load() {
    const query = {
      metric: state.metric,
      periods: `${state.from}..${state.to}`,
      view: state.view,
      structure: state.view === 'reported' ? '' : state.structure,
      node: state.node,
      depth: state.depth,
      from: state.reportedOnly ? 'reported' : '',
    };
    history.replaceState(null, '', `#/numbers?${new URLSearchParams({ ...query, from: state.from, to: state.to, reported_only: state.reportedOnly })}`);
    drawAxis();
    tableHolder.setAttribute('aria-busy', 'true');
    try {
      answer = await get('/api/v1/rollup', query);
      drawTable();
      drawChart();
      announce(`${metric().name}: ${answer.periods.length} periods loaded`);
    } catch (error) {
      answer = null;
      tableHolder.replaceChildren(errorBox(error));
      chartHolder.replaceChildren();
      legendHolder.replaceChildren();
    } finally {
      tableHolder.removeAttribute('aria-busy');
    }
  }

  /** The roll-up's rows grouped into lines: one per node or special line, cells by period. */
  function lines() {
    const byKey = new Map();
    for (const row of answer.rows) {
      const key = `${row.kind}\u0000${row.node}\u0000${row.depth}`;
      if (!byKey.has(key)) byKey.set(key, { kind: row.kind, node: row.node, name: row.name, depth: row.depth, cells: new Map() });
      byKey.get(key).cells.set(row.period, row);
    }
    return [...byKey.values()];
  }

  function drawTable() {
    const m = metric();
    const unit = unitLabel(m, answer.currency);
    heading.textContent = `${m.name} (${answer.view}, ${unit})` +
      (answer.view === 'reported' ? ', each period in the structure of its time' : `, in the ${answer.structure} structure`);
    const table = h('table.numbers', {},
      h('caption', {}, heading.textContent),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Unit'), answer.periods.map((p) => h('th.num', { scope: 'col' }, p)))),
      h('tbody', {}, lines().map((line) => h(`tr.kind-${line.kind}`, {},
        nameCell(line),
        answer.periods.map((p) => valueCell(line, line.cells.get(p), m, unit))))));
    fill(tableHolder, table, h('ul.prov-legend', { 'aria-label': 'Provenance marks' },
      PROVENANCE_LEGEND.map(([mark, text]) => h('li', {}, mark ? h('span.mark', {}, mark) : null, ` ${text}`))),
    answer.excluded && answer.excluded.length ? h('p.note', {}, `Left out of the organic view: ${answer.excluded.map((e) => e.name || e.unit || e).join(', ')}`) : null);
  }

  function nameCell(line) {
    const th = h('th.name', { scope: 'row' });
    th.style.paddingLeft = `${line.depth * 16 + 6}px`;
    const label = line.kind === 'node' ? line.name : line.name;
    if (line.kind === 'node' && line.node !== (state.node || (timeline.root !== null ? timeline.ids[timeline.root] : ''))) {
      th.append(h('button.link', { type: 'button', title: `Show ${line.name} and the units below it`, onclick: () => { state.node = line.node; fillNodes(); load(); } }, label));
    } else {
      th.append(label);
    }
    return th;
  }

  function valueCell(line, row, m, unit) {
    const td = h('td.num');
    if (!row) { td.append('–'); return td; }
    const mark = provenanceMark(row.provenance);
    const content = [h('span.value', {}, number(row.value, m)),
      mark ? h('span.mark', { title: row.provenance }, mark) : null];
    if (row.gap) td.classList.add('gap');
    const describe = `${line.name}, ${row.period}: ${row.gap ? `gap (${row.gap})` : `${number(row.value, m)} ${unit}`}${row.provenance ? `, ${row.provenance}` : ''}`;
    if (line.kind === 'node') {
      td.append(h('button.cell', {
        type: 'button', title: row.gap || row.provenance || '',
        dataset: { node: row.node, period: row.period },
        onclick: () => explain(row),
      }, content, h('span.sr-only', {}, ` explain ${describe}`)));
    } else {
      td.append(...content.filter(Boolean));
      td.title = describe;
    }
    if (row.gap) td.append(h('small.gap-reason', {}, row.gap));
    return td;
  }

  function drawChart() {
    const m = metric();
    const all = lines().filter((l) => l.kind === 'node');
    const minDepth = Math.min(...all.map((l) => l.depth));
    let chosen = all.filter((l) => l.depth === minDepth + 1);
    if (!chosen.length) chosen = all.filter((l) => l.depth === minDepth);
    chosen = chosen.slice(0, 10);
    const series = chosen.map((l) => ({ name: l.name, values: answer.periods.map((p) => { const c = l.cells.get(p); return c && !c.gap ? c.value : null; }) }));
    const width = Math.min(1000, (chartHolder.clientWidth || 720) - 12);
    chartHolder.replaceChildren(lineChart({
      periods: answer.periods, series, unit: unitLabel(m, answer.currency), metric: m,
      label: `${m.name}, ${answer.view}: line chart of ${series.length} units over ${answer.periods.length} periods`, width,
    }));
    legendHolder.replaceChildren(...series.map((sr, k) => h('li', {}, h(`span.swatch.c${k % 10}`, { 'aria-hidden': 'true' }), sr.name)));
  }

  async function explain(row) {
    explainPanel.hidden = false;
    explainPanel.replaceChildren(h('p', {}, 'Loading the explanation…'));
    const m = metric();
    try {
      const e = await get('/api/v1/explain', {
        metric: state.metric, node: row.node, period: row.period, view: state.view,
        structure: state.view === 'reported' ? '' : state.structure, from: state.reportedOnly ? 'reported' : '',
      });
      renderExplanation(e, m);
    } catch (error) {
      explainPanel.replaceChildren(errorBox(error));
    }
  }

  function renderExplanation(e, m) {
    const unit = unitLabel(m, e.currency || model.group.currency);
    const close = h('button.close', { type: 'button', 'aria-label': 'Close the explanation', onclick: () => { explainPanel.hidden = true; } }, '×');
    fill(explainPanel, close,
      h('h2', {}, `${e.name}, ${e.period}`),
      h('p.big', {}, e.value === null ? 'no figure' : `${number(e.value, m)} ${unit}`),
      h('p', {}, `${e.metric}, ${e.view} view${e.view === 'reported' ? '' : ` in the ${e.structure} structure`}`),
      e.parts.map((part) => [
        e.parts.length > 1 ? h('h3', {}, `${part.metric}: ${number(part.total, m)}`) : null,
        h('h3', {}, `Facts (${part.facts.length})`),
        h('div.table-wrap', {}, h('table.facts', {},
          h('thead', {}, h('tr', {}, ['Unit', 'Period', 'Basis', 'Recorded', 'Rate', 'Ownership', 'Lineage', 'Weight', 'Lands at', 'Amount', 'Source']
            .map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, part.facts.map((f) => h('tr', {},
            h('td', {}, h('code', {}, f.unit)), h('td', {}, f.period), h('td', {}, `${f.basis} (${f.structure})`),
            h('td.num', {}, `${number(f.value, m)}${f.currency ? ` ${f.currency}` : ''}`),
            h('td.num', {}, exact(f.rate)), h('td.num', {}, exact(f.ownership)),
            h('td', {}, f.lineage.length ? h('ul.lineage', {}, f.lineage.map((step) => lineageItem(step))) : 'none'),
            h('td.num.weight', {}, exact(f.weight)),
            h('td', {}, h('code', {}, f.lands_at)),
            h('td.num', {}, number(f.amount, m)),
            h('td', {}, f.source ? h('a', { href: f.source, target: '_blank', rel: 'noopener noreferrer' }, sourceLabel(f.source)) : f.origin)))))),
        part.eliminations.length ? [h('h3', {}, `Eliminations (${part.eliminations.length})`),
          h('ul', {}, part.eliminations.map((x) => h('li', {}, `${x.unit} → ${x.counterparty}, ${x.period}: ${number(x.value, m)} × ${exact(x.weight)} = ${number(x.amount, m)} removed`)))] : h('p', {}, 'No intercompany eliminations.'),
        part.gaps.length ? [h('h3', {}, 'Gaps'), h('ul.gaps', {}, part.gaps.map((g) => h('li', {}, g)))] : null,
        part.netted ? h('p.note', {}, `${part.netted} facts left out because their parts inside the node cancel.`) : null,
        part.resolution.length ? h('details', {}, h('summary', {}, 'How each unit\'s figure was found'), h('ul', {}, part.resolution.map((r) => h('li', {}, r)))) : null,
      ]));
    close.focus({ preventScroll: true });
    explainPanel.scrollIntoView({ block: 'nearest' });
    announce(`Explanation of ${e.name}, ${e.period}`);
  }

  function lineageItem(step) {
    const change = timeline.changeById.get(step.change);
    const calibrated = change && change.note && /calibrat/i.test(change.note);
    return h('li', {},
      h('span.weight', {}, exact(step.weight)), ' ', step.what, ` (${step.change}, ${step.date})`,
      calibrated ? h('span.badge.calibrated', { title: change.note }, 'calibrated') : null,
      change && change.note ? h('details', {}, h('summary', {}, 'note'), h('p', {}, change.note)) : null);
  }

  function unitText() {
    const metric = model.metrics.find((m) => m.id === state.metric);
    return metric ? unitLabel(metric, (answer && answer.currency) || model.group.currency) : null;
  }

  const page = h('section.page.numbers-page', { 'aria-labelledby': 'numbers-title' },
    h('h1', { id: 'numbers-title' }, 'Numbers'),
    h('div.controls', {},
      field('Metric', metricSelect),
      viewBox,
      field('Target structure', structureInput),
      field('Node', nodeSelect),
      field('From period', fromSelect),
      field('To period', toSelect),
      field('Depth', depthSelect),
      h('div.field.check', {}, h('label', {}, reportedOnly, ' Compute every figure from reported facts')),
      h('div.field.downloads', {}, downloads, downloadProblem),
    ),
    axisHolder,
    h('div.numbers-main', {}, tableHolder, explainPanel, chartHolder, legendHolder),
  );
  ctx.main.replaceChildren(page);
  fillNodes();
  return load();
}

function sourceLabel(url) {
  try {
    const u = new URL(url);
    const last = u.pathname.split('/').filter(Boolean).pop() || u.hostname;
    return `${u.hostname}: ${decodeURIComponent(last)}${u.hash}`;
  } catch {
    return url;
  }
}

function dayOf(text) {
  const [y, m, d] = text.split('-').map(Number);
  return Math.round(Date.UTC(y, m - 1, d) / 86400000);
}
