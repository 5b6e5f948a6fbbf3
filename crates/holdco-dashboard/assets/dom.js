// A few helpers to build the page without a framework. Text always goes in as text
// (never as HTML), so names from the model cannot inject markup.

/** h('div.cls', {attr: value, onclick: fn}, child, ...) → an element. */
export function h(tag, attrs = {}, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name || 'div');
  if (classes.length) el.className = classes.join(' ');
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'value') el.value = value;
    else if (key === 'checked') el.checked = !!value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  append(el, children);
  return el;
}

/** Replaces an element's children (arrays flattened, null and false left out). */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes and children. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

let labelCount = 0;

/** A labelled control: <label for=id>text</label> + the control. */
export function field(text, control, hint) {
  if (!control.id) control.id = `f${++labelCount}`;
  return h('div.field', {}, h('label', { for: control.id }, text), control, hint ? h('small', {}, hint) : null);
}

/** A <select> with [value, text] options. */
export function select(options, value, attrs = {}) {
  return h('select', attrs, options.map(([v, text]) => h('option', { value: v, selected: String(v) === String(value) }, text)));
}

/** Says something to screen readers and in the status line. */
export function announce(text) {
  const status = document.getElementById('status');
  if (status) status.textContent = text;
}

/** An error box naming what went wrong. */
export function errorBox(error) {
  return h('div.error', { role: 'alert' }, error.message || String(error));
}

/** Downloads text (or a Blob) as a file. */
export function download(name, text, type = 'text/csv;charset=utf-8') {
  const url = URL.createObjectURL(text instanceof Blob ? text : new Blob([text], { type }));
  const link = h('a', { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
