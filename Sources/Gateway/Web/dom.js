// Small DOM helpers: element creation and value formatting.

/** Creates an element. `attrs`: `class`, `text`, `style` (an object), `on<event>` handlers, DOM properties
 *  (`value`, `checked`, `disabled`, `hidden`, `selected`) or attributes; children are nodes or strings. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name === 'text') el.textContent = value;
    else if (name === 'style') Object.assign(el.style, value);  // CSSOM: allowed by the page's CSP, unlike style attributes
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (['value', 'checked', 'disabled', 'hidden', 'selected'].includes(name)) el[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A labelled form field. */
export function field(label, input, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'label' }, label), input, hint ? h('small', {}, hint) : null);
}

/** A <select> of options given as strings or {value, label}. */
export function select(attrs, options, selected) {
  const el = h('select', attrs);
  setOptions(el, options, selected);
  return el;
}

export function setOptions(el, options, selected) {
  const keep = selected ?? el.value;
  el.replaceChildren();
  for (const o of options) {
    if (o.group) {
      const g = h('optgroup', { label: o.group });
      for (const x of o.options) g.append(option(x));
      el.append(g);
    } else {
      el.append(option(o));
    }
  }
  if (keep !== undefined && [...el.options].some((o) => o.value === keep)) el.value = keep;
}

function option(o) {
  const { value, label } = typeof o === 'string' ? { value: o, label: o } : o;
  return h('option', { value }, label ?? value);
}

export function formatTime(unix) {
  if (unix === null || unix === undefined) return '—';
  const d = new Date(unix * 1000);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function formatBytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function formatMs(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  return ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

export function formatRate(perSecond) {
  if (perSecond === null || perSecond === undefined || !Number.isFinite(perSecond)) return '—';
  return `${perSecond.toFixed(1)} tok/s`;
}

/** A number from an input, or undefined when it is empty. */
export function numberOf(input) {
  const t = input.value.trim();
  if (t === '') return undefined;
  const n = Number(t);
  if (!Number.isFinite(n)) throw new Error(`'${t}' is not a number.`);
  return n;
}

/** Shows a message in the page's message area until dismissed (errors) or for a few seconds (info). */
export function showMessage(text, kind = 'error') {
  const area = document.getElementById('messages');
  const close = h('button', { class: 'close', title: 'Dismiss', 'aria-label': 'Dismiss' }, '×');
  const item = h('div', { class: `message ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, h('span', { class: 'text' }, text), close);
  close.addEventListener('click', () => item.remove());
  area.append(item);
  if (kind !== 'error') setTimeout(() => item.remove(), 6000);
  return item;
}

export function showError(error) {
  console.error(error);
  return showMessage(error?.message ?? String(error), 'error');
}

export function showInfo(text) { return showMessage(text, 'info'); }

/** Runs an async action, showing its error in the message area. */
export async function guarded(action) {
  try {
    return await action();
  } catch (error) {
    showError(error);
    return undefined;
  }
}

/** Creates an SVG element (attributes only). */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  for (const child of children.flat()) if (child) el.append(child);
  return el;
}
