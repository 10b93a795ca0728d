// Logs: the audit log with filters (model, key, since, text, status), pages of 50, and the
// detail of one record (#/logs/ID).

import { api } from './api.js';
import { field, formatMs, formatTime, guarded, h } from './dom.js';

const PAGE = 50;

export function create(app) {
  const model = h('input', { id: 'lg-model', placeholder: 'model' });
  const key = h('input', { id: 'lg-key', placeholder: 'key id or name' });
  const since = h('input', { id: 'lg-since', type: 'datetime-local', step: '1' });
  const grep = h('input', { id: 'lg-grep', placeholder: 'text in prompt or response' });
  const status = h('input', { id: 'lg-status', placeholder: 'e.g. 200, 429' });
  const apply = h('button', { id: 'lg-apply', class: 'primary', type: 'submit' }, 'Search');
  const results = h('div', { id: 'lg-results' });
  const detail = h('div', { id: 'lg-detail' });
  let offset = 0;

  function query() {
    const q = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
    if (model.value.trim()) q.set('model', model.value.trim());
    if (key.value.trim()) q.set('key', key.value.trim());
    if (since.value) q.set('since', String(Math.floor(new Date(since.value).getTime() / 1000)));
    if (grep.value.trim()) q.set('grep', grep.value.trim());
    if (status.value.trim()) q.set('status', status.value.trim());
    return q;
  }

  async function search() {
    const page = await api(`/api/admin/logs?${query()}`);
    const rows = page.data.map((r) => h('tr', { class: `log-row${r.status >= 400 ? ' failed' : ''}`, 'data-id': r.id,
      onclick: () => app.navigate(`#/logs/${encodeURIComponent(r.id)}`) },
    h('td', {}, formatTime(r.time)), h('td', {}, r.key_name ?? r.key_id ?? '—'), h('td', {}, r.endpoint ?? ''),
    h('td', {}, r.model ?? '—'), h('td', { class: 'num' }, String(r.status)),
    h('td', { class: 'num' }, `${r.prompt_tokens ?? '—'} / ${r.completion_tokens ?? '—'}`),
    h('td', { class: 'num' }, formatMs(r.latency_ms)), h('td', { class: 'num' }, formatMs(r.ttft_ms)),
    h('td', { class: 'preview' }, r.preview ?? '')));
    const prev = h('button', { id: 'lg-prev', disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - PAGE); guarded(search); } }, '← Newer');
    const next = h('button', { id: 'lg-next', disabled: offset + PAGE >= page.total, onclick: () => { offset += PAGE; guarded(search); } }, 'Older →');
    results.replaceChildren(
      h('div', { class: 'row' }, h('span', { id: 'lg-total' }, `${page.total} record${page.total === 1 ? '' : 's'}`),
        h('span', { class: 'spacer' }), prev, next),
      rows.length ? h('table', { class: 'table clickable', id: 'lg-table' },
        h('thead', {}, h('tr', {}, ...['Time', 'Key', 'Endpoint', 'Model', 'Status', 'Tokens in/out', 'Latency', 'TTFT', 'Preview'].map((t) => h('th', {}, t)))),
        h('tbody', {}, rows))
        : h('p', { class: 'muted' }, 'No records match.'));
  }

  function pretty(value) {
    return h('pre', { class: 'json' }, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  }

  async function openRecord(id) {
    const r = await api(`/api/admin/logs/${encodeURIComponent(id)}`);
    const facts = [['Id', r.id], ['Time', formatTime(r.time)], ['Key', `${r.key_name ?? '—'} (${r.key_id ?? 'none'})`],
      ['Request id', r.request_id], ['Endpoint', `${r.method ?? ''} ${r.endpoint ?? ''}`.trim()], ['Model', r.model], ['Status', r.status], ['Stream', r.stream ? 'yes' : 'no'],
      ['Tokens', `${r.prompt_tokens ?? '—'} prompt, ${r.completion_tokens ?? '—'} completion`],
      ['Latency', formatMs(r.latency_ms)], ['TTFT', formatMs(r.ttft_ms)]];
    detail.replaceChildren(h('div', { class: 'card', id: 'lg-record' },
      h('div', { class: 'row' }, h('h2', {}, `Request ${r.id}`), h('span', { class: 'spacer' }),
        h('a', { href: '#/logs', id: 'lg-back' }, '← All records')),
      h('dl', { class: 'facts' }, ...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v ?? '—'))])),
      r.error ? h('div', { class: 'error-text' }, `Error: ${r.error}`) : null,
      h('h3', {}, 'Parameters'), pretty(r.parameters ?? {}),
      h('h3', {}, 'Request'), pretty(r.request ?? ''),
      h('h3', {}, 'Response'), h('pre', { class: 'response', id: 'lg-response' }, r.response ?? '')));
  }

  const form = h('form', { class: 'card filters' }, h('h2', {}, 'Audit log'),
    h('div', { class: 'grid5' }, field('Model', model), field('Key', key), field('Since', since), field('Contains', grep), field('Status', status)),
    h('div', { class: 'row' }, apply));
  form.addEventListener('submit', (event) => { event.preventDefault(); offset = 0; guarded(search); });

  const element = h('section', {}, form, results, detail);
  return {
    element,
    async show([id]) {
      form.hidden = Boolean(id);
      results.hidden = Boolean(id);
      detail.hidden = !id;
      if (id) return openRecord(id);
      return search();
    },
  };
}
