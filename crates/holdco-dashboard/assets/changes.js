// Change sets and the audit trail: proposals listed by state, one change set's diff
// (structure and figures before and after), its problems and history, and the review steps
// the signed-in role may take (the server checks every step again: four eyes, scope, state).

import { h, fill, field, select, errorBox, announce } from './dom.js';
import { get, send, ApiError } from './api.js';
import { number } from './format.js';

const STATES = ['draft', 'submitted', 'approved', 'applied', 'rejected', 'withdrawn'];
const when = (seconds) => new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ');

const EXAMPLE_PATCH = JSON.stringify({
  timeline: '[[change]]\nid = "create-ventures"\ndate = 2025-06-01\nkind = "create"\nunit = "ventures"\nname = "Ventures"\nparent = "all_others"\n',
  facts: 'unit,period,metric,value,currency,counterparty,basis,structure,source\nventures,FY2026,revenue,1200,,,,,board pack\n',
}, null, 2);

/** The review steps a caller may take on a change set in its state (the server decides). */
function steps(record, session) {
  const own = record.author === session.name;
  const proposer = session.may.propose;
  const reviewer = session.may.approve;
  const out = [];
  if (record.state === 'draft' && own && proposer) out.push('submit', 'withdraw');
  if (record.state === 'submitted' && own && proposer) out.push('withdraw');
  if (record.state === 'submitted' && reviewer && !own) out.push('approve', 'reject');
  if (record.state === 'approved' && reviewer && !own) out.push('apply');
  return out;
}

function problemsList(problems) {
  return h('ul.gaps', {}, problems.map((p) => h('li', {}, `${p.file}${p.line ? `:${p.line}` : ''}${p.field ? `: ${p.field}` : ''}: ${p.message}`)));
}

/**
 * The lines of a document that a change set removes (−) and adds (+), with their line
 * numbers before and after: a longest-common-subsequence diff of the lines (documents are
 * small; past a million line pairs, lines are compared by position).
 */
export function lineDiff(before, after) {
  const a = before === null || before === undefined ? [] : before.split('\n');
  const b = after === null || after === undefined ? [] : after.split('\n');
  const out = [];
  if (a.length * b.length > 1e6) {
    for (let k = 0; k < Math.max(a.length, b.length); k++) {
      if (a[k] === b[k]) continue;
      if (k < a.length) out.push({ sign: '−', line: k + 1, text: a[k] });
      if (k < b.length) out.push({ sign: '+', line: k + 1, text: b[k] });
    }
    return out;
  }
  // common[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const common = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      common[i][j] = a[i] === b[j] ? common[i + 1][j + 1] + 1 : Math.max(common[i + 1][j], common[i][j + 1]);
    }
  }
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) { i++; j++; continue; }
    if (j >= b.length || (i < a.length && common[i + 1][j] >= common[i][j + 1])) {
      out.push({ sign: '−', line: i + 1, text: a[i] }); i++;
    } else {
      out.push({ sign: '+', line: j + 1, text: b[j] }); j++;
    }
  }
  return out;
}

const count = (lines, sign) => lines.filter((l) => l.sign === sign).length;

function documentDiff(doc) {
  const what = doc.before === null ? 'new' : doc.after === null ? 'removed' : 'changed';
  const lines = lineDiff(doc.before, doc.after);
  return h('div.doc-diff', { dataset: { path: doc.path } },
    h('h4', {}, `${doc.path} (${what}: ${count(lines, '−')} line${count(lines, '−') === 1 ? '' : 's'} removed, ${count(lines, '+')} added)`),
    h('pre', { tabindex: '0', role: 'region', 'aria-label': `Lines of ${doc.path} removed and added` },
      lines.map((l) => h(l.sign === '+' ? 'ins' : 'del', {}, `${l.sign} ${String(l.line).padStart(4)}  ${l.text}`))));
}

export async function changesPage(ctx) {
  const { session } = ctx;
  const stateSelect = select([['', 'every state'], ...STATES.map((st) => [st, st])], '');
  const list = h('div.table-wrap');
  const detail = h('section.panel.wide', { 'aria-label': 'Change set', hidden: true });
  const proposeBox = h('div');
  ctx.main.replaceChildren(h('section.page', { 'aria-labelledby': 'changes-title' },
    h('h1', { id: 'changes-title' }, 'Change sets'),
    h('div.controls', {}, field('State', stateSelect)),
    list, detail, proposeBox));
  stateSelect.addEventListener('change', load);

  if (session.may.propose) {
    const message = h('input', { type: 'text', required: true, size: 60 });
    const patch = h('textarea', { rows: 10, cols: 80, spellcheck: 'false' });
    patch.value = EXAMPLE_PATCH;
    const result = h('div', { 'aria-live': 'polite' });
    proposeBox.append(h('form.propose', {
      onsubmit: async (e) => {
        e.preventDefault();
        let parsed;
        try { parsed = JSON.parse(patch.value); } catch (error) {
          fill(result, errorBox({ message: `The change set is not JSON: ${error.message}` }));
          return;
        }
        try {
          const created = await send('POST', '/api/v1/changesets', { message: message.value, patch: parsed });
          fill(result, h('p', {}, `Change set ${created.id} recorded as a draft.`));
          announce(`Change set ${created.id} recorded`);
          await load();
          await open(created.id);
        } catch (error) {
          fill(result, errorBox(error), error instanceof ApiError && error.body && error.body.problems ? problemsList(error.body.problems) : null);
        }
      },
    },
    h('h2', {}, 'Propose a change set'),
    h('p.note', {}, 'Timeline changes, facts and FX in the model files\' own formats (docs/format.md, "Change sets"). It is validated and previewed, then kept as a draft until you submit it.'),
    field('Why (message)', message),
    field('Change set (JSON form)', patch),
    h('button.primary', { type: 'submit' }, 'Propose'),
    result));
  }

  async function load() {
    list.setAttribute('aria-busy', 'true');
    try {
      const records = await get('/api/v1/changesets', { state: stateSelect.value });
      fill(list, h('table.changesets', {},
        h('caption', {}, `${records.length} change sets${stateSelect.value ? ` (${stateSelect.value})` : ''}, newest first`),
        h('thead', {}, h('tr', {}, ['Id', 'State', 'Kind', 'Author', 'Created (UTC)', 'Units', 'Message'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, [...records].reverse().map((r) => h('tr', { dataset: { id: String(r.id) } },
          h('td', {}, h('button.link', { type: 'button', 'aria-label': `Open change set ${r.id}`, onclick: () => open(r.id) }, `#${r.id}`)),
          h('td', {}, h(`span.badge.cs-${r.state}`, {}, r.state)), h('td', {}, r.kind), h('td', {}, r.author),
          h('td', {}, when(r.created_at)), h('td', {}, r.units.join(', ')), h('td', {}, r.message))))));
    } catch (error) {
      fill(list, errorBox(error));
    } finally {
      list.removeAttribute('aria-busy');
    }
  }

  async function open(id) {
    detail.hidden = false;
    fill(detail, h('p', {}, `Loading change set ${id}…`));
    try {
      const shown = await get(`/api/v1/changesets/${id}`);
      render(shown);
    } catch (error) {
      fill(detail, errorBox(error));
    }
  }

  function render(shown) {
    const r = shown.changeset;
    const note = h('input', { type: 'text', size: 40 });
    const outcome = h('div', { 'aria-live': 'polite' });
    const actions = steps(r, session);
    const p = shown.preview || {};
    const d = shown.diff || {};
    const close = h('button.close', { type: 'button', 'aria-label': 'Close the change set', onclick: () => { detail.hidden = true; } }, '×');
    fill(detail, close,
      h('h2', {}, `Change set #${r.id}: ${r.message}`),
      h('p', {}, h(`span.badge.cs-${r.state}`, {}, r.state), ` ${r.kind} by ${r.author}, ${when(r.created_at)} UTC; base revision ${r.base_revision}, served revision ${shown.revision}`,
        shown.stale ? h('strong', {}, ' · the model moved on since its base: applying it checks for conflicts') : null),
      shown.problems && shown.problems.length ? [h('h3', {}, `Problems (${shown.problems.length})`), problemsList(shown.problems)] : h('p', {}, 'No validation problems.'),
      h('h3', {}, 'Structure before → after'),
      h('ul', {},
        (p.new_units || []).map((u) => h('li', {}, h('span.badge.st-new', {}, 'new'), ` ${u.name} (${u.unit}) under ${u.parent}`)),
        (p.gone_units || []).map((u) => h('li', {}, h('span.badge.st-gone', {}, 'gone'), ` ${u.name || u.unit || u}`)),
        (p.moved || []).map((u) => h('li', {}, h('span.badge.st-moved', {}, 'moved'), ` ${u.name || u.unit}: ${u.from || ''} → ${u.to || u.parent || ''}`)),
        (d.timeline_added || []).map((t) => h('li', {}, `+ ${t.change.date} ${t.change.kind.kind} ${t.change.kind.unit || ''}${t.change.id ? ` (${t.change.id})` : ''}`)),
        (d.timeline_removed || []).map((t) => h('li', {}, `− ${t.change.date} ${t.change.kind.kind} ${t.change.kind.unit || ''}${t.change.id ? ` (${t.change.id})` : ''}`))),
      d.documents && d.documents.length ? [h('h3', {}, 'Documents before → after'), d.documents.map(documentDiff)] : null,
      p.cells && p.cells.length ? [h('h3', {}, `Figures before → after (structure of ${p.structure})`),
        h('div.table-wrap', {}, h('table.preview', {},
          h('thead', {}, h('tr', {}, ['Node', 'Metric', 'Period', 'Before', 'After', 'Change'].map((t, i) => h(i > 2 ? 'th.num' : 'th', { scope: 'col' }, t)))),
          h('tbody', {}, p.cells.map((c) => h('tr', {}, h('th.name', { scope: 'row' }, c.name), h('td', {}, c.metric), h('td', {}, c.period),
            h('td.num', {}, number(c.before, null)), h('td.num', {}, number(c.after, null)),
            h('td.num', {}, c.before !== null && c.after !== null ? number(c.after - c.before, null) : '–'))))))] : null,
      h('h3', {}, 'History'),
      h('ol', {}, shown.transitions.map((t) => h('li', {}, `${when(t.at)} UTC: ${t.actor} ${t.from ? `${t.from} → ` : ''}${t.to}${t.note ? ` (“${t.note}”)` : ''}`))),
      actions.length ? h('div.actions', {},
        actions.some((a) => a === 'approve' || a === 'reject') ? field('Review note (optional)', note) : null,
        actions.map((a) => h(`button.step.step-${a}`, {
          type: 'button',
          onclick: async () => {
            try {
              const body = (a === 'approve' || a === 'reject') && note.value ? { note: note.value } : undefined;
              await send('POST', `/api/v1/changesets/${r.id}/${a}`, body);
              announce(`Change set ${r.id}: ${a} done`);
              await load();
              await open(r.id);
            } catch (error) {
              fill(outcome, errorBox(error));
            }
          },
        }, a[0].toUpperCase() + a.slice(1))),
        outcome) : h('p.note', {}, session.may.approve || session.may.propose ? 'No step is open to you on this change set (four eyes: nobody reviews their own).' : 'Your role reads change sets; it takes no review step.'));
    close.focus({ preventScroll: true });
    detail.scrollIntoView({ block: 'nearest' });
  }

  await load();
}

export async function auditPage(ctx) {
  const unit = h('input', { type: 'text', size: 20, placeholder: 'e.g. cloud_intelligence' });
  const since = h('input', { type: 'date' });
  const holder = h('div.table-wrap');
  ctx.main.replaceChildren(h('section.page', { 'aria-labelledby': 'audit-title' },
    h('h1', { id: 'audit-title' }, 'Audit trail'),
    h('div.controls', {}, field('Unit', unit, 'entries touching it'), field('Since', since)),
    holder));
  unit.addEventListener('change', load);
  since.addEventListener('change', load);
  async function load() {
    holder.setAttribute('aria-busy', 'true');
    try {
      const entries = await get('/api/v1/audit', { unit: unit.value.trim(), since: since.value });
      fill(holder, h('table.audit', {},
        h('caption', {}, `${entries.length} applied changes, newest first`),
        h('thead', {}, h('tr', {}, ['Revision', 'At (UTC)', 'Change set', 'Author', 'Applied by', 'Units', 'What', 'Message'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, [...entries].reverse().map((e) => h('tr', {},
          h('td.num', {}, String(e.revision)), h('td', {}, e.at.replace('T', ' ').replace('Z', '')), h('td', {}, `#${e.changeset}`),
          h('td', {}, e.author), h('td', {}, e.applied_by), h('td', {}, e.units.join(', ')), h('td', {}, e.summary), h('td', {}, e.message))))));
      announce(`${entries.length} audit entries`);
    } catch (error) {
      fill(holder, errorBox(error));
    } finally {
      holder.removeAttribute('aria-busy');
    }
  }
  await load();
}
