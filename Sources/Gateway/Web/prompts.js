// Prompts: the named templates, their immutable versions, labels, a coloured line diff between
// two versions, a form that saves a new version, and "open in playground".

import { api } from './api.js';
import { field, formatTime, guarded, h, select, setOptions, showError, showInfo } from './dom.js';

export function create(app) {
  const list = h('div', { id: 'pm-list', class: 'list' });
  const detail = h('div', { id: 'pm-detail' });
  const newButton = h('button', { id: 'pm-new' }, 'New prompt');
  let current = null;  // GET /api/prompts/{name}

  async function loadList() {
    const prompts = await api('/api/prompts');
    list.replaceChildren(...(prompts.data.length ? prompts.data.map((p) => h('a', {
      class: `item${current?.name === p.name ? ' active' : ''}`, href: `#/prompts/${encodeURIComponent(p.name)}`, 'data-name': p.name,
    }, h('b', {}, p.name), h('span', { class: 'muted' }, ` v${p.latest_version}`),
    ...Object.entries(p.labels ?? {}).map(([l, v]) => h('span', { class: 'badge' }, `${l}→v${v}`))))
      : [h('p', { class: 'muted' }, 'No prompts yet.')]));
  }

  function messageRow(role = 'user', content = '') {
    const row = h('div', { class: 'message-row' },
      select({ class: 'pm-role' }, ['system', 'user', 'assistant'], role),
      h('textarea', { class: 'pm-content', rows: 2, value: content }),
      h('button', { class: 'pm-remove-message', title: 'Remove this message', onclick: () => row.remove() }, '×'));
    return row;
  }

  /** The save form, prefilled with a version (or empty for a new prompt). */
  function saveForm(name, version) {
    const nameInput = h('input', { id: 'pm-name', value: name ?? '', placeholder: 'name, e.g. support-reply', disabled: Boolean(name) });
    const model = h('input', { id: 'pm-model', value: version?.model ?? '', placeholder: 'model id, e.g. qwen2.5-coder:0.5b (optional)' });
    const system = h('textarea', { id: 'pm-system', rows: 4, value: version?.system ?? '' });
    const messages = h('div', { id: 'pm-messages' }, ...(version?.messages ?? [{ role: 'user', content: '' }]).map((m) => messageRow(m.role, m.content)));
    const parameters = h('input', { id: 'pm-parameters', value: version?.parameters && Object.keys(version.parameters).length ? JSON.stringify(version.parameters) : '', placeholder: '{"temperature": 0.2} (optional)' });
    const note = h('input', { id: 'pm-note', placeholder: 'what changed (optional)' });
    const save = h('button', { id: 'pm-save', class: 'primary', type: 'submit' }, name ? 'Save as new version' : 'Save prompt');
    const form = h('form', { id: 'pm-form', class: 'card' },
      h('h3', {}, name ? `New version of ${name}` : 'New prompt'),
      field('Name', nameInput), field('Model', model), field('System', system),
      h('div', { class: 'field' }, h('span', { class: 'label' }, 'Messages (use {{variable}} for inputs)'), messages,
        h('button', { type: 'button', id: 'pm-add-message', onclick: () => messages.append(messageRow()) }, '+ Message')),
      field('Parameters (JSON)', parameters), field('Note', note), h('div', { class: 'row' }, save));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      guarded(async () => {
        const target = (name ?? nameInput.value).trim();
        if (!target) throw new Error('Give the prompt a name.');
        const body = {
          system: system.value,
          messages: [...messages.querySelectorAll('.message-row')].map((r) => ({
            role: r.querySelector('.pm-role').value, content: r.querySelector('.pm-content').value,
          })),
        };
        if (model.value.trim()) body.model = model.value.trim();
        if (parameters.value.trim()) {
          try { body.parameters = JSON.parse(parameters.value); } catch { throw new Error('Parameters must be a JSON object like {"temperature": 0.2}.'); }
        }
        if (note.value.trim()) body.note = note.value.trim();
        const saved = await api(`/api/prompts/${encodeURIComponent(target)}`, { method: 'POST', body });
        showInfo(`Saved ${saved.name} v${saved.version}.`);
        if (current?.name === saved.name) await open(saved.name);
        else app.navigate(`#/prompts/${encodeURIComponent(saved.name)}`);
      });
    });
    return form;
  }

  function openInPlayground(version) {
    app.playgroundPrefill = { model: version.model, system: version.system, messages: version.messages, parameters: version.parameters };
    app.navigate('#/playground');
  }

  async function showDiff(out, from, to) {
    const diff = await api(`/api/prompts/${encodeURIComponent(current.name)}/diff?from=${from}&to=${to}`);
    const cls = { '+': 'add', '-': 'del', ' ': 'same' };
    out.replaceChildren(h('div', { class: 'diff-head muted' }, `v${diff.from} → v${diff.to}`),
      h('pre', { class: 'diff' }, ...diff.lines.map((l) => h('div', { class: `line ${cls[l.op] ?? 'same'}` },
        h('span', { class: 'op' }, l.op === ' ' ? ' ' : l.op), l.text))));
  }

  async function open(name) {
    current = await api(`/api/prompts/${encodeURIComponent(name)}`);
    const versions = [...current.versions].sort((a, b) => b.version - a.version);
    const numbers = versions.map((v) => ({ value: String(v.version), label: `v${v.version}` }));
    const labelsOf = (n) => Object.entries(current.labels ?? {}).filter(([, v]) => v === n).map(([l]) => l);

    const from = select({ id: 'pm-diff-from' }, numbers, String(versions[1]?.version ?? versions[0]?.version));
    const to = select({ id: 'pm-diff-to' }, numbers, String(versions[0]?.version));
    const diffOut = h('div', { id: 'pm-diff' });
    const labelName = h('input', { id: 'pm-label-name', placeholder: 'production', list: 'pm-label-names' });
    const labelVersion = select({ id: 'pm-label-version' }, numbers);

    const table = h('table', { class: 'table', id: 'pm-versions' },
      h('thead', {}, h('tr', {}, ...['Version', 'Created', 'Model', 'Labels', 'Note', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, ...versions.map((v) => h('tr', { 'data-version': v.version },
        h('td', {}, `v${v.version}`), h('td', {}, formatTime(v.created)), h('td', {}, v.model ?? '—'),
        h('td', {}, ...labelsOf(v.version).map((l) => h('span', { class: 'badge' }, l))),
        h('td', {}, v.note ?? ''),
        h('td', {}, h('button', { class: 'pm-open', onclick: () => openInPlayground(v) }, 'Open in playground'))))));

    detail.replaceChildren(
      h('div', { class: 'card' }, h('h2', { id: 'pm-title' }, current.name), table),
      h('div', { class: 'card' }, h('h3', {}, 'Diff'),
        h('div', { class: 'row' }, field('From', from), field('To', to),
          h('button', { id: 'pm-diff-show', onclick: () => guarded(() => showDiff(diffOut, from.value, to.value)) }, 'Show diff')),
        diffOut),
      h('div', { class: 'card' }, h('h3', {}, 'Labels'),
        h('datalist', { id: 'pm-label-names' }, ...['production', 'staging'].map((l) => h('option', { value: l }))),
        h('div', { class: 'row' }, field('Label', labelName), field('Version', labelVersion),
          h('button', { id: 'pm-label-set', onclick: () => guarded(async () => {
            const label = labelName.value.trim();
            if (!label) throw new Error('Name the label, e.g. production.');
            await api(`/api/prompts/${encodeURIComponent(current.name)}/labels/${encodeURIComponent(label)}`,
              { method: 'PUT', body: { version: Number(labelVersion.value) } });
            showInfo(`${label} → v${labelVersion.value}.`);
            await Promise.all([open(current.name), loadList()]);
          }) }, 'Set label'))),
      saveForm(current.name, versions[0]));
    if (versions.length >= 2) await showDiff(diffOut, from.value, to.value);
    await loadList();
  }

  newButton.addEventListener('click', () => {
    current = null;
    app.navigate('#/prompts');
    detail.replaceChildren(saveForm(null, null));
  });

  const element = h('section', {}, h('div', { class: 'columns' },
    h('aside', { class: 'card settings' }, h('h2', {}, 'Prompts'), newButton, list),
    h('div', { class: 'main' }, detail)));

  return {
    element,
    async show([name]) {
      if (name) return open(name);
      current = null;
      await loadList();
      if (!detail.firstChild || detail.querySelector('#pm-title')) detail.replaceChildren(saveForm(null, null));
    },
  };
}
