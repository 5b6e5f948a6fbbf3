// Portfolio, capital and scenarios: pages over the strategy endpoints (/api/v1/classify,
// /api/v1/plan, /api/v1/scenarios...). The menu offers them only when the server's session
// answer lists those endpoints.

import { h, fill, field, select, errorBox, announce } from './dom.js';
import { get, post, getLines } from './api.js';
import { number, exact, unitLabel } from './format.js';
import { bubbleChart, stackedBars, fanChart, histogram, tornado, PALETTE } from './chart.js';

const percent = (v) => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(1)}%`);
const chartWidth = (el) => Math.min(1000, Math.max(300, (el.clientWidth || 720) - 12));

function classLegend(classes) {
  return h('ul.series-legend', { 'aria-label': 'Classes' }, classes.map((c, k) => h('li', {}, h(`span.swatch.c${k % 10}`, { 'aria-hidden': 'true' }), c)));
}

// --- portfolio ------------------------------------------------------------------------------

/**
 * What the bubbles' size is: the metric of the strategy's size criterion (its basis reads
 * "METRIC share of the group in FY..."), in the group's currency and the metric's scale, as
 * the classification computes `size_value`.
 */
function sizeOf(c, model) {
  const basis = c.units.flatMap((u) => u.criteria.map((k) => k.basis))
    .map((b) => /^(?:no figure: )?(\S+) share of the group in /.exec(b || ''))
    .find((found) => found);
  const metric = basis && (model.metrics || []).find((m) => m.id === basis[1]);
  return {
    title: metric ? (metric.name || metric.id) : 'size',
    unit: metric ? unitLabel(metric, model.group.currency) : `${model.group.currency}, the size criterion's metric`,
    format: (v) => number(v, metric),
  };
}

export async function portfolioPage(ctx) {
  const at = h('input', { type: 'date' });
  const chart = h('div.chart', { role: 'region', 'aria-label': 'Portfolio matrix', tabindex: '0' });
  const table = h('div.table-wrap');
  const history = h('aside.panel.wide', { 'aria-label': 'Class history', hidden: true });
  const reviewHolder = h('div.reviews');
  const summary = h('p.summary', { 'aria-live': 'polite' });
  const page = h('section.page', { 'aria-labelledby': 'portfolio-title' },
    h('h1', { id: 'portfolio-title' }, 'Portfolio'),
    h('div.controls', {}, field('Classification date', at, 'empty: the latest structure')),
    summary, chart, reviewHolder, table, history);
  ctx.main.replaceChildren(page);
  at.addEventListener('change', load);

  async function load() {
    table.setAttribute('aria-busy', 'true');
    try {
      const c = await get('/api/v1/classify', { at: at.value });
      if (!at.value) at.value = c.date;
      const classes = [...new Set(c.units.map((u) => u.class))].sort();
      summary.textContent = `${c.units.length} units classified on ${c.date} (figures of ${c.fiscal_year})` +
        (c.absent.length ? `; not alive or without figures: ${c.absent.join(', ')}` : '');
      const points = c.units.filter((u) => u.growth !== null && u.margin !== null)
        .map((u) => ({ x: u.growth, y: u.margin, size: u.size_value || 0, class: u.class, name: u.name, short: u.name.replace(/^[^A-Za-z]*\s/, '') }));
      const size = sizeOf(c, ctx.model);
      fill(chart,
        h('p.caption', {}, `Growth × margin on ${c.date}; bubble size = ${size.title}, ${size.unit} (see the key), colour = class (${c.units.length - points.length} units without both figures are in the table only)`),
        bubbleChart({ points, classes, label: `Portfolio matrix on ${c.date}: growth against margin`, width: chartWidth(chart), xLabel: 'revenue growth', yLabel: 'margin', format: (v) => `${Math.round(v * 100)}%`, size }),
        classLegend(classes));
      const criteria = [...new Set(c.units.flatMap((u) => u.criteria.map((k) => k.criterion)))];
      fill(table, h('table.portfolio', {},
        h('caption', {}, 'Classes and each criterion\'s points'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Unit'), h('th', { scope: 'col' }, 'Class'), h('th.num', { scope: 'col' }, 'Score'),
          criteria.map((k) => h('th.num', { scope: 'col' }, k.replace(/_/g, ' '))), h('th', { scope: 'col' }, 'Decision'))),
        h('tbody', {}, c.units.map((u) => h('tr', {},
          h('th.name', { scope: 'row' }, h('button.link', { type: 'button', onclick: () => showHistory(u) }, u.name)),
          h('td', {}, h(`span.swatch.c${classes.indexOf(u.class) % 10}`, { 'aria-hidden': 'true' }), u.class),
          h('td.num', {}, exact(u.score)),
          criteria.map((k) => { const x = u.criteria.find((q) => q.criterion === k); return h('td.num', { title: x ? x.basis : '' }, x ? exact(Math.round(x.contribution * 100) / 100) : '–'); }),
          h('td', {}, u.change))))));
      announce(summary.textContent);
    } catch (error) {
      fill(table, errorBox(error));
    } finally {
      table.removeAttribute('aria-busy');
    }
    if (ctx.endpoints.has('/api/v1/dashboard/reviews')) await loadReviews(at.value);
  }

  async function loadReviews(date) {
    try {
      const r = await get('/api/v1/dashboard/reviews', { at: date });
      if (!r.reviews.length) { fill(reviewHolder); return; }
      const due = r.reviews.filter((x) => x.status !== 'scheduled').length;
      fill(reviewHolder, h('div.table-wrap', {}, h('table.reviews', {},
        h('caption', {}, `Review dates of funding cycles on ${r.date}${due ? ` (${due} due or past)` : ''}`),
        h('thead', {}, h('tr', {}, ['Unit', 'Class', 'Cycle began', 'Cycle', 'Earliest review', 'Next review', 'Cycle ends', 'Status']
          .map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, r.reviews.map((x) => h(`tr.review-${x.status}`, { 'data-unit': x.unit },
          h('th', { scope: 'row' }, x.name), h('td', {}, x.class.replace(/_/g, ' ')), h('td', {}, x.classified),
          h('td', {}, `${x.cycle_years[0]} to ${x.cycle_years[1]} years`), h('td', {}, x.earliest),
          h('td.next', {}, x.next), h('td', {}, x.latest),
          h('td', {}, h(`span.badge.review-${x.status}`, {}, x.status)))))),
        h('p.note', {}, `Due: the next review is past or within ${r.due_within_days} days; past: the cycle ended. The cycle starts with the unit's classify decision; the next review is the class policy's review date when it falls in the cycle.`)));
    } catch (error) {
      fill(reviewHolder, errorBox(error));
    }
  }

  async function showHistory(u) {
    history.hidden = false;
    try {
      const hist = await get('/api/v1/history', { unit: u.unit });
      const close = h('button.close', { type: 'button', 'aria-label': 'Close the class history', onclick: () => { history.hidden = true; } }, '×');
      const classEvents = hist.history.filter((e) => /classif/.test(e.what));
      fill(history, close, h('h2', {}, `${u.name}: class history`),
        h('p', {}, `Now ${u.class} (${u.rule}); ${u.change}.`),
        classEvents.length ? h('ul', {}, classEvents.map((e) => h('li', {}, `${e.date}: ${e.what}`, e.source ? [' ', h('a', { href: e.source, target: '_blank', rel: 'noopener noreferrer' }, 'source')] : null))) : h('p', {}, 'No class decision recorded.'),
        h('h3', {}, 'All changes'), h('ul', {}, hist.history.map((e) => h('li', {}, `${e.date}: ${e.what}`))));
      close.focus();
    } catch (error) {
      fill(history, errorBox(error));
    }
  }
  await load();
}

// --- capital ----------------------------------------------------------------------------

export async function capitalPage(ctx) {
  const holder = h('div');
  const draftHolder = h('div');
  ctx.main.replaceChildren(h('section.page', { 'aria-labelledby': 'capital-title' }, h('h1', { id: 'capital-title' }, 'Capital plan'), draftHolder, holder));
  let stored;
  try {
    stored = await get('/api/v1/plan');
    drawPlan(ctx, holder, stored, null);
    announce('Capital plan loaded');
  } catch (error) {
    fill(holder, errorBox(error));
    return;
  }
  if (ctx.session.may.draft_plan && ctx.endpoints.has('/api/v1/dashboard/plan/draft')) {
    try {
      const inputs = await get('/api/v1/dashboard/plan/draft');
      draftForm(ctx, draftHolder, inputs, (answer) => drawPlan(ctx, holder, answer.plan, stored),
        () => drawPlan(ctx, holder, stored, null));
    } catch (error) {
      fill(draftHolder, errorBox(error));
    }
  }
}

/** The draft editor: budgets, total, risk aversion, floors, caps and cycle commitments. */
function draftForm(ctx, holder, inputs, solved, reset) {
  const amount = (value, label) => h('input', { type: 'number', min: '0', step: 'any', value: String(value), 'aria-label': label, 'data-stored': String(value) });
  const unitName = (id) => (ctx.timeline.index.has(id) ? ctx.timeline.nameOn(ctx.timeline.index.get(id), Math.round(Date.parse(`${ctx.model.latest_structure}T00:00:00Z`) / 86400000)) : id);
  const total = inputs.total === null ? null : amount(inputs.total, 'Total over all years');
  const aversion = amount(inputs.risk_aversion, 'Risk aversion');
  const budgets = inputs.budgets.map((b) => ({ year: b.year, input: amount(b.amount, `Budget ${b.year}`) }));
  const bounds = ['floors', 'caps', 'cycles'].flatMap((kind) => inputs[kind].map((b) => ({ kind, index: b.index,
    input: amount(b.amount, `${kind.slice(0, -1)} of ${unitName(b.unit)}, ${b.years[0]}-${b.years[1]}`), b })));
  const problem = h('div', { 'aria-live': 'polite' });
  const status = h('p.draft-status', { role: 'status' });
  const solve = h('button.primary', { type: 'submit' }, 'Re-solve draft');
  const back = h('button', { type: 'button', onclick: () => {
    for (const input of holder.querySelectorAll('input[data-stored]')) input.value = input.dataset.stored;
    fill(status); fill(problem); reset(); announce('Back to the stored plan');
  } }, 'Reset to stored');
  const changed = (input) => Number(input.value) !== Number(input.dataset.stored);
  /** The draft as the server takes it: only the inputs changed from the stored document. */
  const draftBody = () => {
    const body = {};
    if (total && changed(total)) body.total = Number(total.value);
    if (changed(aversion)) body.risk_aversion = Number(aversion.value);
    body.budgets = budgets.filter((b) => changed(b.input)).map((b) => ({ year: b.year, amount: Number(b.input.value) }));
    for (const kind of ['floors', 'caps', 'cycles']) body[kind] = bounds.filter((b) => b.kind === kind && changed(b.input)).map((b) => ({ index: b.index, amount: Number(b.input.value) }));
    return body;
  };
  // Submitting the draft as a change set: capital.toml with the draft's values, reviewed and
  // applied as any change set (the server checks the role again, and four eyes at review).
  let submitBox = null;
  if (ctx.endpoints.has('/api/v1/dashboard/plan/draft/changeset')) {
    const message = h('input', { type: 'text', size: 50, placeholder: 'why the plan changes' });
    const submitted = h('p.draft-submitted', { role: 'status' });
    const submit = h('button', { type: 'button', onclick: async () => {
      submit.disabled = true;
      fill(problem);
      try {
        const answer = await post('/api/v1/dashboard/plan/draft/changeset', { message: message.value, draft: draftBody() });
        const cs = answer.changeset;
        fill(submitted, `Change set #${cs.id} ${cs.state}: capital.toml with this draft, for an approver to review (`,
          h('a', { href: '#/changes' }, 'change sets'), ').');
        solved(answer);
        announce(`Change set ${cs.id} ${cs.state}`);
      } catch (error) {
        fill(problem, errorBox(error));
      } finally {
        submit.disabled = false;
      }
    } }, 'Submit draft as change set');
    submitBox = h('div.controls.draft-submit', {}, field('Why (change set message)', message), submit, submitted);
  }
  const form = h('form.draft', { onsubmit: async (e) => {
    e.preventDefault();
    const body = draftBody();
    solve.disabled = true;
    fill(problem);
    try {
      const answer = await post('/api/v1/dashboard/plan/draft', body);
      const edits = [body.total !== undefined, body.risk_aversion !== undefined].filter(Boolean).length + body.budgets.length + body.floors.length + body.caps.length + body.cycles.length;
      fill(status, `Draft re-solved (${edits} input${edits === 1 ? '' : 's'} changed; nothing saved): objective ${number(answer.plan.objective, { measure: 'currency' })}.`);
      solved(answer);
      announce(status.textContent);
    } catch (error) {
      fill(problem, errorBox(error));
    } finally {
      solve.disabled = false;
    }
  } },
  h('h2', {}, 'Draft: edit and re-solve without saving'),
  h('p.note', {}, `Amounts in ${inputs.currency} ${inputs.scale || ''}. The optimiser re-solves on the server; nothing is stored until you submit the draft as a change set to capital.toml.`),
  h('div.controls', {},
    total ? field('Total over all years', total) : null,
    field('Risk aversion', aversion),
    budgets.map((b) => field(`Budget ${b.year}`, b.input))),
  bounds.length ? h('div.table-wrap', {}, h('table.bounds', {}, h('caption', {}, 'Floors, caps and cycle commitments (per year of their window)'),
    h('thead', {}, h('tr', {}, ['Kind', 'Unit', 'Years', 'Amount per year', 'Why'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, bounds.map((b) => h('tr', {}, h('td', {}, b.kind.slice(0, -1)), h('th', { scope: 'row' }, unitName(b.b.unit)),
      h('td', {}, `${b.b.years[0]}-${b.b.years[1]}`), h('td.num', {}, b.input), h('td', {}, b.b.note || '')))))) : null,
  h('div.actions', {}, solve, back), status, submitBox, problem);
  fill(holder, form);
}

/** The plan: money by year, the chart by class, by unit and year, binding constraints. */
function drawPlan(ctx, holder, plan, stored) {
  const metric = { measure: 'currency' };
  const unit = `${plan.currency} ${plan.scale || ''}`.trim();
  const years = plan.years.map((y) => y.year);
  const classes = [...new Set(plan.by_class.map((b) => b.class))];
  const units = [...new Set(plan.allocation.map((a) => a.unit))];
  const chart = h('div.chart', { role: 'region', 'aria-label': 'Plan by class', tabindex: '0' });
  const draft = stored !== null;
  fill(holder,
    h('p.summary.plan-summary', { 'data-objective': String(plan.objective) }, draft ? h('span.badge.draft', {}, 'draft') : null, ` ${plan.name}: objective ${number(plan.objective, metric)}`,
      draft ? ` (stored plan ${number(stored.objective, metric)}, ${plan.objective >= stored.objective ? '+' : ''}${number(plan.objective - stored.objective, metric)})` : ''),
    h('div.table-wrap', {}, h('table.money', {}, h('caption', {}, `${draft ? 'Draft: money' : 'Money'} by year (${unit})`),
      h('thead', {}, h('tr', {}, ['Year', 'Available', 'Allocated', 'Unused'].map((t, i) => h(i ? 'th.num' : 'th', { scope: 'col' }, t)))),
      h('tbody', {}, plan.years.map((y) => h('tr', {}, h('th', { scope: 'row' }, String(y.year)), h('td.num', {}, number(y.available, metric)), h('td.num', {}, number(y.allocated, metric)), h('td.num', {}, number(y.unused, metric))))))),
    chart,
    h('div.table-wrap', {}, h('table', {}, h('caption', {}, `By unit and year (${unit})`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Unit'), h('th', { scope: 'col' }, 'Class'), years.map((y) => h('th.num', { scope: 'col' }, String(y))))),
      h('tbody', {}, units.map((u) => {
        const rows = plan.allocation.filter((a) => a.unit === u);
        const name = ctx.timeline.index.has(u) ? ctx.timeline.nameOn(ctx.timeline.index.get(u), Math.round(Date.parse(`${ctx.model.latest_structure}T00:00:00Z`) / 86400000)) : u;
        return h('tr', {}, h('th.name', { scope: 'row' }, name), h('td', {}, rows[0].class),
          years.map((y) => { const r = rows.find((a) => a.year === y); return h('td.num', {}, r ? number(r.amount, metric) : '–'); }));
      })))),
    h('h2', {}, draft ? 'Binding constraints of the draft' : 'Binding constraints'),
    h('div.table-wrap', {}, h('table.binding', {}, h('caption', {}, 'What one more unit of money on the right-hand side is worth (shadow price)'),
      h('thead', {}, h('tr', {}, ['Constraint', 'What', 'Shadow price', 'Rate up', 'Rate down'].map((t, i) => h(i > 1 ? 'th.num' : 'th', { scope: 'col' }, t)))),
      h('tbody', {}, plan.binding.map((b) => h('tr', {}, h('td', {}, h('code', {}, b.constraint)), h('td', {}, b.description),
        h('td.num', {}, exact(b.shadow_price)), h('td.num', {}, exact(b.rate_up)), h('td.num', {}, exact(b.rate_down))))))),
    plan.realisations.length ? [h('h2', {}, 'Realisations'), h('ul', {}, plan.realisations.map((r) => h('li', {}, `${r.year}: ${r.unit} (${r.class}) ${r.form}, ${number(r.amount, metric)} ${unit}`)))] : null,
    h('p.note', {}, plan.method));
  fill(chart, h('p.caption', {}, `Allocated by class and year (${unit})`),
    stackedBars({ categories: years.map(String), series: classes.map((c) => ({ name: c, values: years.map((y) => (plan.by_class.find((b) => b.class === c && b.year === y) || {}).amount || 0) })), label: 'Capital allocated by class and year', unit, metric, width: Math.min(640, chartWidth(holder)) }),
    classLegend(classes));
}

// --- scenarios --------------------------------------------------------------------------

export async function scenariosPage(ctx) {
  const holder = h('div');
  const result = h('div', { 'aria-live': 'polite' });
  ctx.main.replaceChildren(h('section.page', { 'aria-labelledby': 'scenarios-title' }, h('h1', { id: 'scenarios-title' }, 'Scenarios'), holder, result));
  let list;
  try {
    list = await get('/api/v1/scenarios');
  } catch (error) {
    fill(holder, errorBox(error));
    return;
  }
  const options = list.map((sc) => [sc.name, `${sc.title} (${sc.name})`]);
  const a = select(options, list[0] && list[0].name);
  const b = select(options, list[1] ? list[1].name : list[0] && list[0].name);
  const paths = h('input', { type: 'number', min: '100', max: '1000000', step: '100', value: '2000' });
  const seed = h('input', { type: 'number', min: '0', step: '1', value: '2023' });
  const run = h('button.primary', { type: 'submit' }, 'Compare');
  const form = h('form.controls', {
    onsubmit: async (e) => {
      e.preventDefault();
      run.disabled = true;
      const started = performance.now();
      const bar = h('progress', { max: '1', value: '0', 'aria-label': 'Paths done' });
      const text = h('span', {}, `Starting ${Number(paths.value).toLocaleString('en-US')} paths of ${a.value} and ${b.value}…`);
      const progress = h('p.progress', { role: 'status' }, bar, ' ', text);
      fill(result, progress);
      const params = { a: a.value, b: b.value, paths: paths.value, seed: seed.value };
      try {
        let c = null;
        if (ctx.endpoints.has('/api/v1/dashboard/scenarios/compare')) {
          // The server reports each wave of paths it finishes, then the comparison.
          await getLines('/api/v1/dashboard/scenarios/compare', params, (line) => {
            if (line.result) c = line.result;
            else if (line.total) {
              bar.max = String(line.total);
              bar.value = String(line.done);
              text.textContent = `${line.done.toLocaleString('en-US')} of ${line.total.toLocaleString('en-US')} paths done`;
            }
          });
        } else {
          c = await get('/api/v1/scenarios/compare', params);
        }
        if (!c) throw new Error('the comparison ended without a result');
        const done = `Ran ${c.paths.toLocaleString('en-US')} of ${c.paths.toLocaleString('en-US')} paths in ${((performance.now() - started) / 1000).toFixed(1)} s`;
        await drawComparison(c);
        result.prepend(h('p.progress.done', { id: 'scenario-progress' }, done));
      } catch (error) {
        fill(result, errorBox(error));
      } finally {
        run.disabled = false;
      }
    },
  }, field('Scenario A', a), field('Scenario B', b), field('Paths', paths), field('Seed', seed), h('div.field', {}, run));
  fill(holder,
    h('div.table-wrap', {}, h('table', {}, h('caption', {}, 'Scenarios of the model'),
      h('thead', {}, h('tr', {}, ['Name', 'Title', 'Based on', 'Changes', 'Assumptions'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, list.map((sc) => h('tr', {}, h('td', {}, h('code', {}, sc.name)), h('td', {}, sc.title), h('td', {}, sc.base || '–'), h('td.num', {}, String(sc.changes)), h('td.num', {}, String(sc.assumptions))))))),
    form);

  async function drawComparison(c) {
    const metric = { measure: 'currency' };
    const unit = `${c.a.currency} millions`;
    let actual = [];
    try {
      const years = c.a.revenue.years;
      const first = Number(years[0].slice(2));
      const r = await get('/api/v1/rollup', { metric: 'revenue', view: 'restated', periods: `FY${first - 5}..FY${first - 1}`, depth: '0' });
      actual = r.rows.filter((row) => row.kind === 'node' && row.depth === 0).map((row) => ({ period: row.period, value: row.gap ? null : row.value }));
    } catch { actual = []; }
    const width = chartWidth(result);
    const pct = (p) => `${(p * 100).toFixed(1)}%`;
    const fan = (key) => [c.a, c.b].map((x) => ({ name: x.scenario, ...x[key] }));
    const scenarioLegend = (withActual) => h('ul.series-legend', {}, [c.a, c.b].map((x, k) => h('li', {}, h(`span.swatch.c${k}`, { 'aria-hidden': 'true' }), `${x.title} (${x.scenario})`)),
      withActual ? h('li', {}, h('span.swatch.actual', { 'aria-hidden': 'true' }), 'actual (restated)') : null);
    fill(result,
      h('div.verdict', {},
        h('p.big', { id: 'p-a-greater' }, `P(${c.a.scenario} > ${c.b.scenario}) = ${pct(c.p_a_greater)}`),
        h('p', {}, `± ${pct(c.p_a_greater_se)} (standard error), ${c.paths.toLocaleString('en-US')} paths, seed ${c.seed}. Mean difference ${number(c.difference.mean, metric)} ± ${number(c.difference.se, metric)} ${unit}.`)),
      h('div.table-wrap', {}, h('table', {}, h('caption', {}, `Value (${unit})`),
        h('thead', {}, h('tr', {}, ['Scenario', 'Mean', 'SE', 'P5', 'P50', 'P95'].map((t, i) => h(i ? 'th.num' : 'th', { scope: 'col' }, t)))),
        h('tbody', {}, [c.a, c.b].map((x) => h('tr', {}, h('th', { scope: 'row' }, x.title), ['mean', 'se', 'p5', 'p50', 'p95'].map((k) => h('td.num', {}, number(x.value[k], metric)))))
          .concat([h('tr', {}, h('th', { scope: 'row' }, 'A − B'), ['mean', 'se', 'p5', 'p50', 'p95'].map((k) => h('td.num', {}, number(c.difference[k], metric))))])))),
      h('h2', {}, 'Revenue: actuals and projections (P5-P95, P25-P75, median)'),
      h('div.chart', { role: 'region', 'aria-label': 'Revenue fan chart', tabindex: '0' }, fanChart({ actual, fans: fan('revenue'), label: 'Revenue fan chart of both scenarios with actuals', unit, metric, width }), scenarioLegend(actual.length > 0)),
      h('h2', {}, 'EBITA projections'),
      h('div.chart', { role: 'region', 'aria-label': 'EBITA fan chart', tabindex: '0' }, fanChart({ actual: [], fans: fan('ebita'), label: 'EBITA fan chart of both scenarios', unit, metric, width }), scenarioLegend(false)),
      h('h2', {}, 'Value: histograms'),
      h('div.chart', { role: 'region', 'aria-label': 'Value histograms', tabindex: '0' }, histogram({ sets: [c.a, c.b].map((x) => ({ name: x.scenario, bins: x.histogram })), label: 'Histograms of the value of both scenarios', unit, metric, width }), scenarioLegend(false)),
      h('h2', {}, `Tornado: ${c.tornado.measure}`),
      h('div.chart', { role: 'region', 'aria-label': 'Tornado', tabindex: '0' }, tornado({ base: c.tornado.base, swings: c.tornado.swings.slice(0, 12), label: `Tornado of ${c.tornado.measure}`, unit, metric, width }),
        h('ul.series-legend', {}, h('li', {}, h('span.swatch.c0', { 'aria-hidden': 'true' }), 'assumption at P10'), h('li', {}, h('span.swatch.c1', { 'aria-hidden': 'true' }), 'at P90'))),
      h('p.note', {}, c.tornado.method),
      h('h2', {}, 'Bridge: value by line'),
      h('div.table-wrap', {}, h('table', {}, h('caption', {}, `Where each scenario's value comes from (${unit})`),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Line'), h('th.num', { scope: 'col' }, c.a.scenario), h('th.num', { scope: 'col' }, c.b.scenario), h('th.num', { scope: 'col' }, 'A − B'))),
        h('tbody', {}, bridgeRows(c, metric)))),
      [...c.a.warnings, ...c.b.warnings].length ? h('ul.gaps', {}, [...c.a.warnings, ...c.b.warnings].map((w) => h('li', {}, w))) : null);
    announce(`P(${c.a.scenario} > ${c.b.scenario}) = ${pct(c.p_a_greater)}`);
  }
}

function bridgeRows(c, metric) {
  const lines = [...new Set([...c.a.bridge, ...c.b.bridge].map((l) => l.line))];
  return lines.map((line) => {
    const av = (c.a.bridge.find((l) => l.line === line) || {}).mean;
    const bv = (c.b.bridge.find((l) => l.line === line) || {}).mean;
    return h('tr', {}, h('th.name', { scope: 'row' }, line), h('td.num', {}, number(av, metric)), h('td.num', {}, number(bv, metric)),
      h('td.num', {}, av !== undefined && bv !== undefined ? number(av - bv, metric) : '–'));
  });
}

export { PALETTE };
