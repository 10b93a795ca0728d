// The token view: each generated token coloured by its probability, its top-5 alternatives in a
// tooltip on hover.

import { h } from './dom.js';

/** The probability band of a logprob, for its colour: p4 (≥ 90 %) … p0 (< 10 %). */
export function band(logprob) {
  const p = Math.exp(logprob);
  if (p >= 0.9) return 'p4';
  if (p >= 0.6) return 'p3';
  if (p >= 0.3) return 'p2';
  if (p >= 0.1) return 'p1';
  return 'p0';
}

export function percent(logprob) {
  const p = Math.exp(logprob) * 100;
  return p >= 10 ? `${p.toFixed(0)} %` : `${p.toFixed(1)} %`;
}

/** A token's text with its whitespace made visible. */
export function visible(token) {
  return token.replace(/ /g, '␣').replace(/\n/g, '↵').replace(/\t/g, '⇥') || '∅';
}

/** A span for one logprob entry ({token, logprob, top_logprobs}). */
export function tokenSpan(entry) {
  const span = h('span', { class: `tok ${band(entry.logprob)}`, 'data-logprob': entry.logprob }, entry.token);
  span.alternatives = entry.top_logprobs ?? [];
  span.chosen = entry;
  return span;
}

/** Appends a chunk to a token view: spans for its logprob entries, or plain text without them. */
export function appendTokens(view, text, entries) {
  if (entries.length) for (const e of entries) view.append(tokenSpan(e));
  else if (text) view.append(text);
}

let installed = false;

/** One shared tooltip, shown over any `.tok` span. */
export function installTooltip() {
  if (installed) return;
  installed = true;
  const tip = document.getElementById('tooltip');
  document.addEventListener('mouseover', (event) => {
    const span = event.target.closest?.('.tok');
    if (!span || !span.chosen) return;
    const rows = span.alternatives.map((a) => h('tr', { class: a.token === span.chosen.token ? 'chosen' : '' },
      h('td', { class: 'alt-token' }, visible(a.token)),
      h('td', { class: 'alt-p' }, percent(a.logprob)),
      h('td', {}, h('span', { class: `bar ${band(a.logprob)}`, style: { width: `${Math.max(2, Math.exp(a.logprob) * 60)}px` } }))));
    tip.replaceChildren(
      h('div', { class: 'tip-head' }, h('b', {}, visible(span.chosen.token)), ' ', percent(span.chosen.logprob)),
      rows.length ? h('table', { class: 'alternatives' }, rows) : h('div', { class: 'muted' }, 'No alternatives reported.'));
    tip.hidden = false;
    const r = span.getBoundingClientRect();
    const top = r.bottom + 6 + tip.offsetHeight > window.innerHeight ? r.top - tip.offsetHeight - 6 : r.bottom + 6;
    tip.style.left = `${Math.min(window.innerWidth - tip.offsetWidth - 8, Math.max(8, r.left))}px`;
    tip.style.top = `${Math.max(8, top)}px`;
  });
  document.addEventListener('mouseout', (event) => {
    if (event.target.closest?.('.tok')) tip.hidden = true;
  });
}
