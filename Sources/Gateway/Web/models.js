// Models: installed and loaded models with their memory use, and a pull with live progress.

import { api, events } from './api.js';
import { formatBytes, guarded, h, showError, showInfo } from './dom.js';

export function create() {
  const table = h('div', { id: 'md-list' });
  const name = h('input', { id: 'md-pull-name', placeholder: 'alias, e.g. smollm2:135m' });
  const pull = h('button', { id: 'md-pull', class: 'primary', type: 'submit' }, 'Pull');
  const cancel = h('button', { id: 'md-pull-cancel', type: 'button', disabled: true }, 'Cancel');
  const bar = h('div', { class: 'fill' });
  const progress = h('div', { id: 'md-progress', class: 'progress', hidden: true,
    role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100' }, bar);
  const progressText = h('div', { id: 'md-progress-text', class: 'muted' });
  let running = null;

  async function load() {
    const models = await api('/api/models');
    const loaded = models.data.filter((m) => m.loaded);
    const memory = loaded.reduce((sum, m) => sum + (m.memory_bytes ?? 0), 0);
    table.replaceChildren(
      h('p', { id: 'md-summary' }, `${models.data.filter((m) => m.installed).length} installed, ${loaded.length} loaded`,
        loaded.length ? ` (${formatBytes(memory)} in memory)` : ''),
      h('table', { class: 'table', id: 'md-table' },
        h('thead', {}, h('tr', {}, ...['Model', 'Architecture', 'Installed', 'Size', 'Loaded', 'Memory'].map((t) => h('th', {}, t)))),
        h('tbody', {}, ...models.data.map((m) => h('tr', { 'data-id': m.id },
          h('td', {}, m.id), h('td', {}, m.architecture ?? '—'),
          h('td', {}, m.installed ? h('span', { class: 'badge good' }, 'installed') : h('span', { class: 'badge' }, 'no')),
          h('td', { class: 'num' }, formatBytes(m.size_bytes)),
          h('td', {}, m.loaded ? h('span', { class: 'badge good' }, 'loaded') : h('span', { class: 'muted' }, '—')),
          h('td', { class: 'num' }, formatBytes(m.memory_bytes)))))));
  }

  function setProgress(fraction, text) {
    progress.hidden = false;
    progress.classList.toggle('indeterminate', fraction === null);
    if (fraction !== null) bar.style.width = `${(fraction * 100).toFixed(1)}%`;
    progress.setAttribute('aria-valuenow', fraction === null ? '' : String(Math.round(fraction * 100)));
    progressText.textContent = text;
  }

  async function runPull() {
    const model = name.value.trim();
    if (!model) throw new Error('Name the model to pull, e.g. smollm2:135m.');
    running = new AbortController();
    pull.disabled = true;
    cancel.disabled = false;
    setProgress(null, `Pulling ${model}…`);
    try {
      for await (const event of events('/api/admin/models/pull', { model }, running.signal)) {
        if (event.done) {
          const what = event.downloaded === false ? 'already installed, nothing to download' : formatBytes(event.size_bytes);
          setProgress(1, `Pulled ${event.model ?? model} (${what}).`);
          showInfo(`Pulled ${event.model ?? model}.`);
        } else if (event.phase === 'downloading') {
          const total = event.total ?? null;
          const fraction = total ? Math.min(1, (event.bytes ?? 0) / total) : null;
          setProgress(fraction, `Downloading: ${formatBytes(event.bytes ?? 0)}${total ? ` of ${formatBytes(total)}` : ''}`);
        } else if (event.phase === 'trying') {
          setProgress(null, `Trying ${event.source}…`);
        } else if (event.phase === 'source_failed') {
          setProgress(null, `${event.source} failed (${event.reason}); trying the next source…`);
        } else if (event.message) {
          progressText.textContent = event.message;
        }
      }
    } catch (error) {
      if (error.name === 'AbortError') setProgress(null, 'Cancelled.');
      else { setProgress(0, `Failed: ${error.message}`); throw error; }
    } finally {
      running = null;
      pull.disabled = false;
      cancel.disabled = true;
      load().catch(showError);
    }
  }

  const form = h('form', { class: 'card', id: 'md-pull-form' }, h('h2', {}, 'Pull a model'),
    h('div', { class: 'row' }, name, pull, cancel), progress, progressText);
  form.addEventListener('submit', (event) => { event.preventDefault(); guarded(runPull); });
  cancel.addEventListener('click', () => running?.abort());

  const element = h('section', {}, h('div', { class: 'card' }, h('h2', {}, 'Models'), table), form);
  return { element, dispose() { running?.abort(); }, show: load };
}
