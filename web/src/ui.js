// DOM helpers: element builder, status messages, progress, formatting.

/** h('tag.class#id', {attrs}, ...children): text children are escaped (text nodes). */
export function h(spec, attrs, ...kids) {
  const m = /^([a-z0-9]+)((?:[.#][\w-]+)*)$/i.exec(spec);
  const el = document.createElement(m ? m[1] : 'div');
  if (m && m[2]) for (const part of m[2].match(/[.#][\w-]+/g)) {
    if (part[0] === '.') el.classList.add(part.slice(1)); else el.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) { kids.unshift(attrs); attrs = null; }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, kids);
  return el;
}

function append(el, kids) {
  for (const k of kids) {
    if (k === null || k === undefined || k === false) continue;
    if (Array.isArray(k)) append(el, k);
    else el.appendChild(k instanceof Node ? k : document.createTextNode(String(k)));
  }
}

let uid = 0;
/** A labelled form field. */
export function field(label, input, hint) {
  const id = input.id || 'f' + ++uid;
  input.id = id;
  const hintEl = hint ? h('small.hint', { id: id + '-hint' }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', id + '-hint');
  return h('div.field', h('label', { for: id }, label), input, hintEl);
}

export function select(name, options, value) {
  return h('select', { name }, options.map(([v, t]) => h('option', { value: v, selected: String(v) === String(value) }, t)));
}

/** Announces @p msg (polite; errors assertive). */
export function toast(msg, kind = 'info') {
  const box = document.getElementById(kind === 'error' ? 'alert' : 'status');
  if (!box) return;
  box.textContent = '';
  box.appendChild(h('div.toast.' + kind, msg));
  box.hidden = false;
  clearTimeout(box._t);
  box._t = setTimeout(() => { box.hidden = true; }, kind === 'error' ? 12000 : 5000);
}

export function errorText(e) {
  if (!e) return 'unknown error';
  if (e.status === 401) return 'Your session has expired: sign in again.';
  if (e.status === 403) return 'Refused: ' + e.message;
  if (e.status === 404) return 'Not found: ' + e.message;
  return e.message || String(e);
}

/** A progress bar with a label; update(msg, fraction). */
export function progress() {
  const bar = h('progress', { max: 100, value: 0 });
  const label = h('span.plabel', '');
  const el = h('div.progress', { role: 'status', 'aria-live': 'polite' }, label, bar);
  el.hidden = true;
  el.update = (msg, f) => {
    el.hidden = false;
    label.textContent = msg;
    bar.value = Math.round(Math.max(0, Math.min(1, f)) * 100);
  };
  el.done = () => { el.hidden = true; };
  return el;
}

/** Runs @p fn while @p btn is disabled; shows errors. */
export async function busy(btn, fn) {
  if (btn) { btn.disabled = true; btn.setAttribute('aria-busy', 'true'); }
  try {
    return await fn();
  } catch (e) {
    toast(errorText(e), 'error');
    return undefined;
  } finally {
    if (btn) { btn.disabled = false; btn.removeAttribute('aria-busy'); }
  }
}

export const short = (a) => (a ? a.slice(0, 6) + '…' + a.slice(-4) : '');

export function date(t) {
  if (!t) return '—';
  const d = new Date(t * 1000);
  return d.toISOString().slice(0, 16).replace('T', ' ');
}

export function dateOnly(s) {
  if (!s) return '—';
  return String(s).slice(0, 10);
}

export function download(name, data, type = 'application/json') {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = h('a', { href: url, download: name });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
