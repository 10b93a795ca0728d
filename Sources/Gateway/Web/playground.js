// Playground: one chat with a model (or a prompt version), its parameters, streaming output with
// a Stop button, and every reply shown as a token view coloured by probability.

import { api, modelChoices, streamChat } from './api.js';
import { field, formatMs, formatRate, guarded, h, numberOf, select, setOptions, showError } from './dom.js';
import { appendTokens } from './tokens.js';

const VARIABLE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The `{{names}}` used in some texts, in order of appearance. */
export function variablesIn(texts) {
  const names = [];
  for (const t of texts) for (const m of t.matchAll(VARIABLE)) if (!names.includes(m[1])) names.push(m[1]);
  return names;
}

export function render(text, values) {
  return text.replace(VARIABLE, (whole, name) => (name in values ? values[name] : whole));
}

export function create(app) {
  const model = select({ id: 'pg-model' }, []);
  const system = h('textarea', { id: 'pg-system', rows: 4, placeholder: 'You are a helpful assistant.' });
  const temperature = h('input', { id: 'pg-temperature', type: 'number', step: '0.1', min: '0', max: '2', value: '0.7' });
  const topP = h('input', { id: 'pg-top-p', type: 'number', step: '0.05', min: '0', max: '1', value: '1' });
  const maxTokens = h('input', { id: 'pg-max-tokens', type: 'number', min: '1', value: '256' });
  const seed = h('input', { id: 'pg-seed', type: 'number', placeholder: 'random' });
  const variables = h('div', { id: 'pg-variables', class: 'variables' });
  const chat = h('div', { id: 'pg-chat', class: 'chat' });
  const input = h('textarea', { id: 'pg-input', rows: 3, placeholder: 'Message (Ctrl+Enter sends)' });
  const send = h('button', { id: 'pg-send', class: 'primary' }, 'Send');
  const stop = h('button', { id: 'pg-stop', disabled: true }, 'Stop');
  const clear = h('button', { id: 'pg-clear' }, 'Clear chat');
  const plain = h('input', { id: 'pg-plain', type: 'checkbox' });
  const stats = {
    ttft: h('b', { id: 'pg-ttft' }, '—'), rate: h('b', { id: 'pg-tps' }, '—'), tokens: h('b', { id: 'pg-token-count' }, '—'),
    finish: h('span', { id: 'pg-finish', class: 'muted' }),
  };

  /** The conversation: {role, content}; assistant replies also keep their bubble. */
  let messages = [];
  let running = null;
  const values = {};
  /** The {{variables}} of the prompt version chosen as the model (`prompt:NAME@REF`), rendered by the server. */
  let promptVariables = [];

  function refreshVariables() {
    const names = [...new Set([...promptVariables, ...variablesIn([system.value, ...messages.map((m) => m.content), input.value])])];
    variables.replaceChildren(...names.map((name) => field(`{{${name}}}`,
      h('input', { 'data-variable': name, value: values[name] ?? '', oninput: (e) => { values[name] = e.target.value; } }))));
    variables.hidden = names.length === 0;
  }

  function bubble(role, content) {
    const body = h('div', { class: 'content' }, content);
    const el = h('div', { class: `msg ${role}` }, h('div', { class: 'role' }, role), body);
    chat.append(el);
    chat.scrollTop = chat.scrollHeight;
    return body;
  }

  function redraw() {
    chat.replaceChildren();
    for (const m of messages) {
      m.view = bubble(m.role, m.view ? [...m.view.childNodes] : m.content);
      if (m.role === 'assistant') m.view.classList.add('tokens');
    }
    refreshVariables();
  }

  async function loadPromptVariables() {
    promptVariables = [];
    const ref = /^prompt:([^@]+)(?:@(.+))?$/.exec(model.value);
    if (ref) {
      const prompt = await api(`/api/prompts/${encodeURIComponent(ref[1])}`);
      const numbers = prompt.versions.map((v) => v.version);
      const wanted = ref[2] === undefined ? Math.max(...numbers) : /^\d+$/.test(ref[2]) ? Number(ref[2]) : prompt.labels?.[ref[2]];
      const version = prompt.versions.find((v) => v.version === wanted);
      if (version) {
        const used = variablesIn([version.system ?? '', ...(version.messages ?? []).map((m) => m.content)]);
        promptVariables = [...new Set([...(version.variables ?? []), ...used])];
      }
    }
    refreshVariables();
  }

  function parameters() {
    const p = {};
    const t = numberOf(temperature); if (t !== undefined) p.temperature = t;
    const tp = numberOf(topP); if (tp !== undefined) p.top_p = tp;
    const mt = numberOf(maxTokens); if (mt !== undefined) p.max_tokens = mt;
    const s = numberOf(seed); if (s !== undefined) p.seed = s;
    return p;
  }

  async function run() {
    if (running) return;
    const text = input.value;
    if (text.trim()) {
      messages.push({ role: 'user', content: text });
      bubble('user', text);
      input.value = '';
    } else if (messages.at(-1)?.role !== 'user') {
      return showError(new Error('Type a message first.'));
    }
    const body = {
      model: model.value,
      messages: [
        ...(system.value.trim() ? [{ role: 'system', content: render(system.value, values) }] : []),
        ...messages.map((m) => ({ role: m.role, content: render(m.content, values) })),
      ],
      ...parameters(),
    };
    const serverSide = promptVariables.filter((name) => (values[name] ?? '') !== '');
    if (serverSide.length) body.variables = Object.fromEntries(serverSide.map((name) => [name, values[name]]));
    const reply = { role: 'assistant', content: '' };
    reply.view = bubble('assistant', '');
    reply.view.classList.add('tokens', 'streaming');
    messages.push(reply);
    running = new AbortController();
    send.disabled = true;
    stop.disabled = false;
    stats.finish.textContent = 'streaming…';
    try {
      const result = await streamChat(body, {
        signal: running.signal,
        onToken: (chunk, entries) => {
          reply.content += chunk;
          appendTokens(reply.view, chunk, entries);
          chat.scrollTop = chat.scrollHeight;
        },
        onStats: (s) => {
          stats.ttft.textContent = formatMs(s.ttftMs);
          stats.rate.textContent = formatRate(s.tokensPerSecond);
          stats.tokens.textContent = String(s.tokens);
        },
      });
      stats.finish.textContent = result.stopped ? 'stopped' : `finish: ${result.finishReason ?? '—'}`;
    } catch (error) {
      stats.finish.textContent = 'failed';
      reply.view.append(h('span', { class: 'error-text' }, ` [${error.message}]`));
      showError(error);
    } finally {
      reply.view.classList.remove('streaming');
      running = null;
      send.disabled = false;
      stop.disabled = true;
    }
  }

  send.addEventListener('click', () => guarded(run));
  model.addEventListener('change', () => guarded(loadPromptVariables));
  stop.addEventListener('click', () => running?.abort());
  clear.addEventListener('click', () => { messages = []; redraw(); });
  plain.addEventListener('change', () => chat.classList.toggle('plain', plain.checked));
  input.addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); guarded(run); } });
  for (const el of [system, input]) el.addEventListener('input', refreshVariables);

  const element = h('section', {},
    h('div', { class: 'columns' },
      h('aside', { class: 'card settings' },
        h('h2', {}, 'Playground'),
        field('Model', model),
        field('System prompt', system),
        variables,
        h('div', { class: 'grid2' },
          field('Temperature', temperature), field('Top p', topP),
          field('Max tokens', maxTokens), field('Seed', seed)),
        h('label', { class: 'check' }, plain, ' Plain text (no probability colours)'),
        h('p', { class: 'legend' }, 'Token colours: ', ...['p4', 'p3', 'p2', 'p1', 'p0'].map((b, i) =>
          h('span', { class: `tok ${b}` }, ['≥90 %', '≥60 %', '≥30 %', '≥10 %', '<10 %'][i])))),
      h('div', { class: 'card main' },
        chat,
        h('div', { class: 'stats', id: 'pg-stats' }, 'TTFT ', stats.ttft, ' · ', stats.rate, ' · tokens ', stats.tokens, ' ', stats.finish),
        input,
        h('div', { class: 'row' }, send, stop, h('span', { class: 'spacer' }), clear))));
  refreshVariables();

  let loaded = false;
  return {
    element,
    dispose() { running?.abort(); },
    async show() {
      if (!loaded || app.playgroundPrefill) {
        setOptions(model, await modelChoices(showError), app.playgroundPrefill?.model);
        loaded = true;
      }
      const prefill = app.playgroundPrefill;
      if (prefill) {
        app.playgroundPrefill = null;
        if (prefill.model) {
          if (![...model.options].some((o) => o.value === prefill.model)) model.append(h('option', { value: prefill.model }, prefill.model));
          model.value = prefill.model;
        }
        system.value = prefill.system ?? '';
        messages = (prefill.messages ?? []).map((m) => ({ role: m.role, content: m.content }));
        const p = prefill.parameters ?? {};
        if (p.temperature !== undefined) temperature.value = p.temperature;
        if (p.top_p !== undefined) topP.value = p.top_p;
        if (p.max_tokens !== undefined) maxTokens.value = p.max_tokens;
        if (p.seed !== undefined) seed.value = p.seed;
        redraw();
      }
      await loadPromptVariables();
    },
  };
}
