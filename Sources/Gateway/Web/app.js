// The workbench shell: sign-in, tabs as hash routes (#/playground, #/prompts/NAME, #/logs/ID, …),
// and the message area. Each page is created once and kept, so a running stream or a form
// survives a tab switch; `show(params)` refreshes it when it is opened.

import { api, forgetKey, storedKey, storeKey } from './api.js';
import { fill, h, showError, showInfo } from './dom.js';
import { installTooltip } from './tokens.js';
import * as playground from './playground.js';
import * as compare from './compare.js';
import * as prompts from './prompts.js';
import * as logs from './logs.js';
import * as keys from './keys.js';
import * as models from './models.js';

const modules = { playground, compare, prompts, logs, keys, models };

const app = {
  /** /api/me: {auth_required, key}. */
  me: null,
  pages: {},
  /** Set by "open in playground": {model, system, messages, parameters}. */
  playgroundPrefill: null,
  navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
};

function page(name) {
  if (!app.pages[name]) {
    const created = modules[name].create(app);
    created.element.classList.add('page');
    created.element.id = `page-${name}`;
    document.getElementById('pages').append(created.element);
    app.pages[name] = created;
  }
  return app.pages[name];
}

function route() {
  if (signInRequired()) return renderSignIn();
  document.getElementById('sign-in')?.remove();
  const [name, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  let tab = modules[name] ? name : 'playground';
  if (document.querySelector(`#tabs a[data-tab="${tab}"]`)?.hidden) {
    // An admin page while signed in with a key that lacks the admin scope.
    tab = 'playground';
    history.replaceState(null, '', '#/playground');
  }
  for (const a of document.querySelectorAll('#tabs a')) a.classList.toggle('active', a.dataset.tab === tab);
  for (const [n, p] of Object.entries(app.pages)) p.element.hidden = n !== tab;
  const current = page(tab);
  current.element.hidden = false;
  Promise.resolve(current.show(rest.map(decodeURIComponent))).catch(showError);
}

function signInRequired() {
  return app.me?.auth_required && !app.me?.key;
}

function renderIdentity() {
  const who = document.getElementById('identity');
  const out = document.getElementById('sign-out');
  const key = app.me?.key;
  fill(who, key ? h('span', {}, 'Signed in as ', h('b', {}, key.name), ` (${(key.scopes ?? []).join(', ')})`)
    : app.me?.auth_required ? 'Not signed in' : 'Open server (no keys)');
  out.hidden = !storedKey();
  // A key without the admin scope gets 403 from the admin pages: do not offer them.
  const admin = !key || (key.scopes ?? []).includes('admin');
  for (const a of document.querySelectorAll('#tabs a[data-admin]')) a.hidden = !admin;
}

function renderSignIn(message) {
  document.getElementById('tabs').classList.add('disabled');
  for (const p of Object.values(app.pages)) p.element.hidden = true;
  let form = document.getElementById('sign-in');
  if (!form) {
    const input = h('input', { id: 'sign-in-key', type: 'password', placeholder: 'sk-studio-…', autocomplete: 'off', required: true });
    form = h('form', { id: 'sign-in', class: 'card sign-in' },
      h('h2', {}, 'Sign in'),
      h('p', {}, 'This server requires an API key. Create one with ', h('code', {}, 'studio keys create --name NAME --scopes chat,admin'),
        ' and paste it here. It is kept in this browser only.'),
      h('div', { class: 'row' }, input, h('button', { type: 'submit', id: 'sign-in-submit', class: 'primary' }, 'Sign in')),
      h('p', { class: 'error-text', id: 'sign-in-error' }));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      signIn(input.value.trim());
    });
    document.getElementById('pages').before(form);
  }
  document.getElementById('sign-in-error').textContent = message ?? '';
  form.querySelector('input').focus();
}

/** Keeps `key`, checks it with /api/me and opens the workbench, or says why it was refused. */
export async function signIn(key) {
  storeKey(key);
  try {
    await loadMe();
  } catch (error) {
    forgetKey();
    app.me = { auth_required: true, key: null };
    renderIdentity();
    return renderSignIn(error.message);
  }
  if (signInRequired()) {
    forgetKey();
    renderIdentity();
    return renderSignIn('That key was not accepted.');
  }
  document.getElementById('tabs').classList.remove('disabled');
  resetPages();
  showInfo(`Signed in as ${app.me.key?.name ?? 'an open server'}.`);
  route();
}

function signOut() {
  forgetKey();
  resetPages();
  loadMe().catch(showError).finally(route);
}

/** Drops every page so that none keeps data fetched with another key. */
function resetPages() {
  for (const p of Object.values(app.pages)) {
    p.dispose?.();
    p.element.remove();
  }
  app.pages = {};
}

async function loadMe() {
  app.me = await api('/api/me');
  renderIdentity();
}

/** At start-up: a stored key that the server no longer accepts (revoked) is dropped. */
async function start() {
  try {
    await loadMe().catch(async (error) => {
      // A server that refuses the stored key outright: drop it and ask again without one.
      if (error.status !== 401 || !storedKey()) throw error;
      forgetKey();
      await loadMe();
    });
    if (signInRequired() && storedKey()) {
      forgetKey();
      renderIdentity();
      showError(new Error('The stored key was not accepted (revoked?): sign in again.'));
    }
  } catch (error) {
    app.me = { auth_required: false, key: null };
    showError(error);
  }
  route();
}

window.addEventListener('studio:unauthorized', () => {
  // The key was revoked, or keys were just switched on: ask for one. The keys page defers this
  // while it shows a secret that was just created.
  if (app.holdSignIn) return;
  if (storedKey()) forgetKey();
  app.me = { auth_required: true, key: null };
  renderIdentity();
  renderSignIn('The server asked for a key (HTTP 401).');
});

window.addEventListener('unhandledrejection', (event) => showError(event.reason));
window.addEventListener('hashchange', route);
document.getElementById('sign-out').addEventListener('click', (event) => {
  event.preventDefault();
  signOut();
});
app.signIn = signIn;

installTooltip();
start();
