// Keys: the list, create (the secret is shown once) and revoke.

import { api, storedKey } from './api.js';
import { field, formatTime, guarded, h, numberOf, showInfo } from './dom.js';

export function create(app) {
  const name = h('input', { id: 'key-name', placeholder: 'e.g. laptop', required: true });
  const chat = h('input', { id: 'key-scope-chat', type: 'checkbox', checked: true });
  const admin = h('input', { id: 'key-scope-admin', type: 'checkbox' });
  const rpm = h('input', { id: 'key-rpm', type: 'number', min: '1', placeholder: 'no limit' });
  const tpm = h('input', { id: 'key-tpm', type: 'number', min: '1', placeholder: 'no limit' });
  const createButton = h('button', { id: 'key-create', class: 'primary', type: 'submit' }, 'Create key');
  const secretBox = h('div', { id: 'key-secret-box', hidden: true });
  const list = h('div', { id: 'key-list' });

  async function load() {
    const keys = await api('/api/admin/keys');
    const rows = keys.data.map((k) => {
      const revoke = h('button', { class: 'key-revoke danger', disabled: k.revoked }, 'Revoke');
      revoke.addEventListener('click', () => {
        if (revoke.dataset.armed !== 'yes') {
          revoke.dataset.armed = 'yes';
          revoke.textContent = 'Confirm revoke';
          return;
        }
        guarded(async () => {
          await api(`/api/admin/keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' });
          showInfo(`Revoked ${k.name}.`);
          await load();
        });
      });
      return h('tr', { class: k.revoked ? 'revoked' : '', 'data-id': k.id, 'data-name': k.name },
        h('td', {}, k.name), h('td', {}, h('code', {}, `${k.prefix}…`)), h('td', {}, (k.scopes ?? []).join(', ')),
        h('td', { class: 'num' }, k.rpm ?? '—'), h('td', { class: 'num' }, k.tpm ?? '—'),
        h('td', {}, formatTime(k.created)), h('td', {}, formatTime(k.last_used)),
        h('td', {}, k.revoked ? h('span', { class: 'badge bad' }, 'revoked') : h('span', { class: 'badge good' }, 'active')),
        h('td', {}, revoke));
    });
    list.replaceChildren(rows.length ? h('table', { class: 'table', id: 'key-table' },
      h('thead', {}, h('tr', {}, ...['Name', 'Prefix', 'Scopes', 'RPM', 'TPM', 'Created', 'Last used', 'Status', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, rows)) : h('p', { class: 'muted' }, 'No keys: the server is open to anyone who can reach it.'));
  }

  async function createKey() {
    const scopes = [chat.checked ? 'chat' : null, admin.checked ? 'admin' : null].filter(Boolean);
    if (!name.value.trim()) throw new Error('Name the key.');
    if (!scopes.length) throw new Error('Choose at least one scope.');
    const body = { name: name.value.trim(), scopes };
    const r = numberOf(rpm); if (r !== undefined) body.rpm = r;
    const t = numberOf(tpm); if (t !== undefined) body.tpm = t;
    const signedIn = Boolean(storedKey());
    // Creating the first key switches authentication on: the next call from this page would get
    // 401 and replace the page with the sign-in form before the secret could be copied.
    if (!signedIn) app.holdSignIn = true;
    let created;
    try {
      created = await api('/api/admin/keys', { method: 'POST', body });
    } finally {
      if (!created) app.holdSignIn = false;
    }
    const secret = h('code', { id: 'key-secret' }, created.secret);
    const use = h('button', { id: 'key-use', onclick: () => { app.holdSignIn = false; app.signIn(created.secret); } }, 'Sign in with this key');
    secretBox.replaceChildren(h('div', { class: 'card secret' },
      h('p', {}, h('b', {}, `Secret of ${created.key.name}`), ' — shown only now; copy it:'), secret,
      h('div', { class: 'row' },
        h('button', { id: 'key-copy', onclick: () => navigator.clipboard?.writeText(created.secret).then(() => showInfo('Copied.')) }, 'Copy'),
        signedIn ? null : use,
        h('button', { id: 'key-done', onclick: () => { secretBox.hidden = true; app.holdSignIn = false; guarded(load); } }, 'Done')),
      signedIn ? null : h('p', { class: 'muted' }, 'Keys now exist, so this server requires one: sign in with this key (or another) to go on.')));
    secretBox.hidden = false;
    name.value = '';
    if (signedIn) await load();
  }

  const form = h('form', { class: 'card', id: 'key-form' }, h('h2', {}, 'Create a key'),
    h('div', { class: 'grid4' }, field('Name', name), field('Requests/min', rpm), field('Tokens/min', tpm),
      h('div', { class: 'field' }, h('span', { class: 'label' }, 'Scopes'),
        h('label', { class: 'check' }, chat, ' chat'), h('label', { class: 'check' }, admin, ' admin'))),
    h('div', { class: 'row' }, createButton));
  form.addEventListener('submit', (event) => { event.preventDefault(); guarded(createKey); });

  const element = h('section', {}, form, secretBox, h('div', { class: 'card' }, h('h2', {}, 'Keys'), list));
  return { element, show: load };
}
