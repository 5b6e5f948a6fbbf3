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

/** POST a JSON body and read a JSON answer, without clearing the cached documents (a
 * request that changes nothing stored, such as a draft re-solved). */
export function post(path, body) {
  return request('POST', path, body, token());
}

/** POST a JSON body and read the answer as a file (a Blob). */
export async function postForFile(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { Accept: '*/*', 'Content-Type': 'application/json', Authorization: `Bearer ${token()}` },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    let json = null;
    try { json = await response.json(); } catch { json = null; }
    throw new ApiError(response.status, json);
  }
  return response.blob();
}

/** GET newline-delimited JSON: `onLine` hears each value as it arrives. */
export async function getLines(path, params, onLine) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') query.set(name, value);
  }
  const response = await fetch(`${path}?${query}`, { headers: { Accept: 'application/x-ndjson', Authorization: `Bearer ${token()}` } });
  if (!response.ok) {
    let json = null;
    try { json = await response.json(); } catch { json = null; }
    throw new ApiError(response.status, json);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buffered += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, end).trim();
      buffered = buffered.slice(end + 1);
      if (line) onLine(JSON.parse(line));
    }
    if (done) break;
  }
  if (buffered.trim()) onLine(JSON.parse(buffered));
}
