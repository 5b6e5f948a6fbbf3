// The server's JSON API, called with the signed-in bearer token.
// The token lives in this tab's sessionStorage only: closing the tab signs out.

const KEY = 'holdco.token';

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.code = body && body.error;
    this.parameter = body && body.parameter;
    this.body = body;
  }
}

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(KEY, value);
  else sessionStorage.removeItem(KEY);
  cache.clear();
}

const cache = new Map();

/** GET a JSON document; `params` become the query string (empty values are left out). */
export async function get(path, params = {}, { cached = false, auth = token() } = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') query.set(name, value);
  }
  const url = query.toString() ? `${path}?${query}` : path;
  if (cached && cache.has(url)) return cache.get(url);
  const promise = request('GET', url, undefined, auth);
  if (cached) {
    cache.set(url, promise);
    promise.catch(() => cache.delete(url));
  }
  return promise;
}

/** POST (or another method) with a JSON body. */
export function send(method, path, body) {
  cache.clear();
  return request(method, path, body, token());
}

async function request(method, url, body, auth) {
  const headers = { Accept: 'application/json' };
  if (auth) headers.Authorization = `Bearer ${auth}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let json = null;
  const text = await response.text();
  if (text) {
    try { json = JSON.parse(text); } catch { json = { message: text }; }
  }
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

/** True when the server answers `path` (an endpoint that may not exist on older servers). */
export async function available(path) {
  try {
    const response = await fetch(path, { method: 'GET', headers: { Authorization: `Bearer ${token()}` } });
    return response.status !== 404 || !(await response.text()).includes('no such endpoint');
  } catch {
    return false;
  }
}
