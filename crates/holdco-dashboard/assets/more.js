// Pages beyond structure and numbers: the reconciliation checks.

import { h, fill, field, errorBox, announce } from './dom.js';
import { get } from './api.js';
import { number } from './format.js';

export async function checksPage(ctx) {
  const tolerance = h('input', { type: 'text', value: '1%', inputmode: 'decimal', size: 6 });
  const failures = h('input', { type: 'checkbox', checked: true });
  const holder = h('div.table-wrap');
  const summary = h('p.summary', { 'aria-live': 'polite' });
  async function load() {
    holder.setAttribute('aria-busy', 'true');
    try {
      const checks = await get('/api/v1/reconcile', { tolerance: tolerance.value, failures: failures.checked ? 'true' : '' });
      summary.textContent = `${checks.length} ${failures.checked ? 'checks outside the tolerance' : 'checks'}`;
      holder.replaceChildren(h('table.checks', {},
        h('caption', {}, 'Recorded totals against their parts, published restatements against holdco, quarters against years'),
        h('thead', {}, h('tr', {}, ['Check', 'Unit', 'Metric', 'Period', 'Basis', 'Published', 'Computed', 'Difference', 'Status', 'Note'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, checks.map((c) => h(`tr${c.ok ? '' : '.fail'}`, {},
          h('td', { title: c.detail || '' }, c.kind), h('td', {}, h('code', {}, c.unit)), h('td', {}, c.metric), h('td', {}, c.period),
          h('td', {}, c.basis), h('td.num', {}, number(c.published, null)), h('td.num', {}, number(c.computed, null)),
          h('td.num', {}, number(c.difference, null)), h('td', {}, c.status || (c.ok ? 'ok' : 'outside')),
          h('td.check-note', {}, c.note || ''))))));
      announce(summary.textContent);
    } catch (error) {
      holder.replaceChildren(errorBox(error));
    } finally {
      holder.removeAttribute('aria-busy');
    }
  }
  tolerance.addEventListener('change', load);
  failures.addEventListener('change', load);
  ctx.main.replaceChildren(h('section.page', { 'aria-labelledby': 'checks-title' },
    h('h1', { id: 'checks-title' }, 'Checks'),
    h('div.controls', {}, field('Tolerance', tolerance, 'e.g. 1% or 5 (absolute)'),
      h('div.field.check', {}, h('label', {}, failures, ' Only checks outside the tolerance'))),
    summary, holder));
  await load();
}
