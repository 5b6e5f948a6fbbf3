// The dashboard's shell: sign-in, the page menu (following the token's role and scope),
// and the hash router (#/structure, #/numbers, #/checks ...).

import { h, fill, field, errorBox, announce } from './dom.js';
import { get, token, setToken, ApiError } from './api.js';
import { Timeline } from './timeline.js';
import { structurePage } from './structure.js';
import { numbersPage } from './numbers.js';
import { checksPage } from './more.js';
import { portfolioPage, capitalPage, scenariosPage } from './pages.js';
import { changesPage, auditPage } from './changes.js';
import { governancePage } from './governance.js';

const PAGES = [
  { path: 'structure', title: 'Structure', render: structurePage },
  { path: 'numbers', title: 'Numbers', render: numbersPage },
  { path: 'checks', title: 'Checks', render: checksPage },
  // These need endpoints newer servers have: offered when the session lists them.
  { path: 'portfolio', title: 'Portfolio', render: portfolioPage, needs: '/api/v1/classify' },
  { path: 'capital', title: 'Capital', render: capitalPage, needs: '/api/v1/plan', wholeGroup: true },
  { path: 'scenarios', title: 'Scenarios', render: scenariosPage, needs: '/api/v1/scenarios/compare' },
  { path: 'governance', title: 'Governance', render: governancePage, needs: '/api/v1/dashboard/governance' },
  { path: 'changes', title: 'Change sets', render: changesPage, needs: '/api/v1/changesets' },
  { path: 'audit', title: 'Audit', render: auditPage, needs: '/api/v1/audit' },
];

function offered(page, ctx) {
  if (page.needs && !ctx.endpoints.has(page.needs)) return false;
  // A scoped token may not see whole-group answers (the server refuses them with 403).
  if (page.wholeGroup && ctx.session.scopes.length) return false;
  return true;
}

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
let context = null;

async function loadContext() {
  const [session, model, doc] = await Promise.all([
    get('/api/v1/dashboard/session'),
    get('/api/v1/dashboard/model', {}, { cached: true }),
    get('/api/v1/dashboard/timeline', {}, { cached: true }),
  ]);
  // Where the first paint's time goes (read by the browser test, shown nowhere).
  const loaded = performance.now();
  const timeline = new Timeline(doc);
  window.__holdcoLoad = { documents_ms: loaded, timeline_build_ms: performance.now() - loaded, units: timeline.count };
  // The endpoints this server answers beyond the first four (the session lists them).
  const endpoints = new Set(session.endpoints || []);
  return { session, model, timeline, main, endpoints };
}

function signInPage(message) {
  nav.replaceChildren();
  who.replaceChildren();
  const input = h('input', { type: 'password', autocomplete: 'current-password', required: true, spellcheck: 'false' });
  const problem = h('div', { 'aria-live': 'assertive' }, message ? errorBox({ message }) : null);
  const form = h('form.signin', {
    onsubmit: async (e) => {
      e.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      try {
        await get('/api/v1/dashboard/session', {}, { auth: value });
        setToken(value);
        context = null;
        if (location.hash.startsWith('#/structure')) route();
        else location.hash = '#/structure';
      } catch (error) {
        problem.replaceChildren(errorBox(error instanceof ApiError && error.status === 401
          ? { message: 'That token is not valid (revoked, mistyped or from another store). Ask an admin for one: holdco token create --name NAME --role viewer' }
          : error));
      }
    },
  },
  h('h1', {}, 'Sign in'),
  h('p', {}, 'Paste the token you were given (holdco token create prints it once). It stays in this browser tab only.'),
  field('Access token', input),
  h('button.primary', { type: 'submit' }, 'Sign in'),
  problem);
  main.replaceChildren(form);
  input.focus();
}

function drawMenu(current) {
  const { session, model } = context;
  nav.replaceChildren(h('ul', {}, PAGES.filter((p) => offered(p, context)).map((p) => h('li', {},
    h('a', { href: `#/${p.path}`, 'aria-current': p.path === current ? 'page' : null }, p.title)))));
  const scope = session.scopes.length ? `sees ${session.scopes.join(', ')}` : 'whole group';
  who.replaceChildren(
    h('span.group', {}, model.group.name),
    h('span.role', { title: `token ${session.name}` }, `${session.name} · ${session.role} · ${scope}`),
    h('button', { type: 'button', onclick: signOut }, 'Sign out'));
}

function signOut() {
  setToken(null);
  context = null;
  location.hash = '#/signin';
  announce('Signed out');
}

async function route() {
  const path = (location.hash.replace(/^#\/?/, '').split('?')[0]) || 'structure';
  if (!token() || path === 'signin') {
    if (token() && path === 'signin') setToken(null);
    signInPage();
    return;
  }
  try {
    if (!context) context = await loadContext();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      setToken(null);
      signInPage('Your token is no longer accepted: sign in again.');
      return;
    }
    main.replaceChildren(errorBox(error));
    return;
  }
  const page = PAGES.find((p) => p.path === path && offered(p, context)) || PAGES[0];
  drawMenu(page.path);
  document.title = `${page.title} · holdco`;
  try {
    await page.render(context);
    document.body.dataset.page = page.path;
  } catch (error) {
    main.replaceChildren(errorBox(error));
  }
}

// A table wider than the screen scrolls sideways inside its frame: the frame is a labelled,
// focusable region so the keyboard can scroll it too.
new MutationObserver(() => {
  for (const wrap of main.querySelectorAll('.table-wrap:not([tabindex])')) {
    const caption = wrap.querySelector('caption');
    wrap.setAttribute('tabindex', '0');
    wrap.setAttribute('role', 'region');
    wrap.setAttribute('aria-label', caption ? caption.textContent : 'Table');
  }
}).observe(main, { childList: true, subtree: true });

window.addEventListener('hashchange', () => {
  const path = location.hash.replace(/^#\/?/, '').split('?')[0];
  // The pages rewrite their own query string (replaceState fires no hashchange).
  if (document.body.dataset.page !== path) route();
});
route();
