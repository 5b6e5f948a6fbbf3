// Governance and people: who leads each unit and sits on each body on a date, the boards
// with their seats and independence, the leadership pipeline against its target, and the
// breaches of the governance rules (GET /api/v1/dashboard/governance, the answers of
// `holdco people`, `board`, `pipeline --by unit` and `governance check`; a scoped token
// sees its subtrees).

import { h, fill, field, errorBox, announce } from './dom.js';
import { get } from './api.js';
import { pipelineChart } from './chart.js';
import { downloadButtons } from './downloads.js';

const pct = (v) => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(1)}%`);
const words = (id) => id.replace(/_/g, ' ');

export async function governancePage(ctx) {
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const at = h('input', { type: 'date', value: params.get('at') || '' });
  const summary = h('p.summary', { 'aria-live': 'polite' });
  const peopleHolder = h('div');
  const boardsHolder = h('div');
  const pipelineHolder = h('div');
  const breachesHolder = h('div');
  const problem = h('div', { 'aria-live': 'polite' });
  let answer = null;
  const downloads = downloadButtons(() => answer && {
    file: `people-${answer.at}`,
    title: `Leaders and bodies on ${answer.at}`,
    columns: PEOPLE_COLUMNS,
    rows: answer.people.map((r) => PEOPLE_COLUMNS.map((c) => (r[c] === undefined ? null : r[c]))),
    query: [['at', answer.at]],
  }, problem);
  ctx.main.replaceChildren(h('section.page', { 'aria-labelledby': 'governance-title' },
    h('h1', { id: 'governance-title' }, 'Governance and people'),
    h('div.controls', {}, field('People on', at, 'empty: the latest structure'), h('div.field.downloads', {}, downloads)),
    problem, summary, peopleHolder, boardsHolder, pipelineHolder, breachesHolder));
  at.addEventListener('change', load);

  async function load() {
    peopleHolder.setAttribute('aria-busy', 'true');
    try {
      answer = await get('/api/v1/dashboard/governance', { at: at.value });
      if (!at.value) at.value = answer.at;
      history.replaceState(null, '', `#/governance?at=${answer.at}`);
      const people = new Set(answer.people.map((r) => r.person));
      summary.textContent = `${people.size} ${people.size === 1 ? 'person holds' : 'people hold'} ${answer.people.length} role${answer.people.length === 1 ? '' : 's'} on ${answer.at}; ${answer.boards.length} ${answer.boards.length === 1 ? 'board or committee' : 'boards and committees'}`;
      drawPeople();
      drawBoards();
      drawPipeline();
      drawBreaches();
      announce(summary.textContent);
    } catch (error) {
      fill(peopleHolder, errorBox(error));
      fill(boardsHolder); fill(pipelineHolder); fill(breachesHolder);
    } finally {
      peopleHolder.removeAttribute('aria-busy');
    }
  }

  function drawPeople() {
    let last = null;
    fill(peopleHolder, h('h2', {}, `People on ${answer.at}`),
      answer.people.length ? h('div.table-wrap', {}, h('table.people', {}, h('caption', {}, `Leaders and bodies on ${answer.at}, unit by unit`),
        h('thead', {}, h('tr', {}, ['Unit', 'Role', 'Person', 'Since', 'Term to', 'Title'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, answer.people.map((r) => {
          const first = r.unit !== last;
          last = r.unit;
          return h('tr', { 'data-unit': r.unit, 'data-person': r.person },
            h('th.name', { scope: 'row' }, first ? `${'\u2003'.repeat(Math.min(r.depth, 4))}${r.unit_name}` : h('span.sr-only', {}, r.unit_name)),
            h('td', {}, r.body ? `${words(r.role)} · ${r.body}` : words(r.role)),
            h('td', {}, r.source ? h('a', { href: r.source, target: '_blank', rel: 'noopener noreferrer' }, r.name) : r.name),
            h('td', {}, r.since), h('td', {}, r.term_end || ''), h('td', {}, r.title || ''));
        })))) : h('p', {}, 'Nobody holds a role on this date in this part of the group.'));
  }

  function drawBoards() {
    if (!answer.boards.length) { fill(boardsHolder); return; }
    fill(boardsHolder, h('h2', {}, 'Boards and committees'),
      h('div.table-wrap', {}, h('table.boards', {}, h('caption', {}, `Seats and independence on ${answer.at}`),
        h('thead', {}, h('tr', {}, ['Body', 'Unit', 'Kind', 'Directors', 'Seats', 'Independent', 'Minimum', 'Members'].map((t, i) => h(i >= 3 && i <= 6 ? 'th.num' : 'th', { scope: 'col' }, t)))),
        h('tbody', {}, answer.boards.map((b) => {
          const short = b.independent < b.min_independent;
          const over = b.seats !== null && b.directors > b.seats;
          return h(`tr${short || over ? '.fail' : ''}`, { 'data-body': b.body },
            h('th', { scope: 'row' }, b.name), h('td', {}, b.unit_name), h('td', {}, b.kind),
            h('td.num', {}, String(b.directors)), h('td.num', {}, b.seats === null ? '–' : String(b.seats)),
            h('td.num', {}, String(b.independent), short ? h('span.badge.st-gone', {}, `short by ${b.min_independent - b.independent}`) : null),
            h('td.num', {}, String(b.min_independent)),
            h('td', {}, b.members.map((m) => m.name).join(', ') || '–'));
        })))));
  }

  function drawPipeline() {
    const p = answer.pipeline;
    if (!p || p.problem) { fill(pipelineHolder, p && p.problem ? h('p.note', {}, `Pipeline: ${p.problem}`) : null); return; }
    const points = (p.trajectory.length ? p.trajectory : p.rows.slice(0, 1)).map((r) => ({ label: r.date.slice(0, 4), share: r.cohort_share, leaders: r.leaders }));
    const chart = h('div.chart', { role: 'region', 'aria-label': 'Leadership pipeline chart', tabindex: '0' });
    fill(pipelineHolder, h('h2', {}, `Leadership pipeline: leaders born ${p.born_from} or later`),
      p.target ? h('p', { id: 'pipeline-target' }, `Target ${pct(p.target.share)} by ${p.target.by}; on ${p.at}: ${pct(p.rows[0] && p.rows[0].cohort_share)}`,
        p.gap !== null ? `, ${pct(p.gap)} to go` : '', p.target.source ? [' (', h('a', { href: p.target.source, target: '_blank', rel: 'noopener noreferrer' }, 'source'), ')'] : null) : null,
      p.trajectory.length ? chart : null,
      h('div.table-wrap', {}, h('table.pipeline', {}, h('caption', {}, `Leaders by birth cohort on ${p.at}`),
        h('thead', {}, h('tr', {}, ['Unit', 'Leaders', `Born ${p.born_from} or later`, 'Born before', 'Birth year unknown'].map((t, i) => h(i ? 'th.num' : 'th', { scope: 'col' }, t)))),
        h('tbody', {}, p.rows.map((r) => h('tr', { 'data-unit': r.unit }, h('th', { scope: 'row' }, r.name), h('td.num', {}, String(r.leaders)),
          h('td.num', {}, `${r.cohort} (${pct(r.cohort_share)})`), h('td.num', {}, `${r.older} (${pct(r.older_share)})`), h('td.num', {}, `${r.unknown} (${pct(r.unknown_share)})`)))))),
      h('p.note', {}, 'Unknown = birth year not published; never guessed, never counted in a cohort.'));
    if (p.trajectory.length) {
      fill(chart, h('p.caption', {}, `Share of leaders born ${p.born_from} or later, on ${p.at.slice(5)} of each year`),
        pipelineChart({ points, target: p.target, label: `Leadership pipeline: share of leaders born ${p.born_from} or later against the target`, width: Math.min(640, Math.max(300, (chart.clientWidth || 600) - 12)) }));
    }
  }

  function drawBreaches() {
    if (answer.breaches === null) { fill(breachesHolder, h('p.note', {}, 'Breaches are checked over the whole group: a token with the whole group sees them.')); return; }
    fill(breachesHolder, h('h2', {}, `Breaches on ${answer.at}`),
      answer.breaches.length ? h('ul.breaches', {}, answer.breaches.map((b) => h('li', {}, h('span.badge.st-gone', {}, words(b.kind)), ' ', b.message)))
        : h('p', {}, 'No breach of the governance rules on this date.'));
  }
  await load();
}

const PEOPLE_COLUMNS = ['unit', 'unit_name', 'depth', 'body', 'role', 'person', 'name', 'title', 'since', 'term_end', 'source'];
