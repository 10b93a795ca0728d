// Compare: one input sent to 2–4 models or prompt versions at once, streamed side by side with
// TTFT, tokens/s and tokens per column; a blind mode (columns A, B, … in shuffled order until the
// vote); votes go to /api/votes and the Elo leaderboard is shown below.

import { api, modelChoices, streamChat } from './api.js';
import { field, formatMs, formatRate, guarded, h, numberOf, select, setOptions, showError, showInfo, svg } from './dom.js';
import { appendTokens } from './tokens.js';

const LETTERS = 'ABCD';

export function create() {
  const pickers = h('div', { id: 'cmp-models', class: 'pickers' });
  const addModel = h('button', { id: 'cmp-add' }, '+ Model');
  const removeModel = h('button', { id: 'cmp-remove' }, '− Model');
  const system = h('textarea', { id: 'cmp-system', rows: 2, placeholder: 'System prompt (optional)' });
  const input = h('textarea', { id: 'cmp-input', rows: 3, placeholder: 'The same input for every column' });
  const variablesInput = h('input', { id: 'cmp-variables', placeholder: '{"name": "value"} for prompt versions (optional)' });
  const temperature = h('input', { id: 'cmp-temperature', type: 'number', step: '0.1', value: '0.7' });
  const maxTokens = h('input', { id: 'cmp-max-tokens', type: 'number', min: '1', value: '128' });
  const seed = h('input', { id: 'cmp-seed', type: 'number', placeholder: 'random' });
  const blind = h('input', { id: 'cmp-blind', type: 'checkbox' });
  const runButton = h('button', { id: 'cmp-run', class: 'primary' }, 'Run');
  const stopButton = h('button', { id: 'cmp-stop', disabled: true }, 'Stop');
  const columns = h('div', { id: 'cmp-columns', class: 'compare-columns' });
  const voteBar = h('div', { id: 'cmp-vote', class: 'vote', hidden: true });
  const leaderboard = h('div', { id: 'cmp-leaderboard' });

  let choices = [];
  let running = null;
  /** The last run: {input, columns: [{model, el…}]}. */
  let last = null;

  function addPicker(value) {
    if (pickers.children.length >= 4) return;
    const s = select({ class: 'cmp-model' }, choices, value);
    const fallback = [...s.options].map((o) => o.value)[pickers.children.length] ?? s.value;
    if (value === undefined) s.value = fallback;
    pickers.append(field(`Column ${pickers.children.length + 1}`, s));
    updateButtons();
  }

  function updateButtons() {
    addModel.disabled = pickers.children.length >= 4 || running !== null;
    removeModel.disabled = pickers.children.length <= 2 || running !== null;
  }

  function label(column, index) {
    return blind.checked && !last?.voted ? `Model ${LETTERS[index]}` : column.model;
  }

  function relabel() {
    if (!last) return;
    last.columns.forEach((c, i) => { c.title.textContent = label(c, i); });
  }

  async function run() {
    const models = [...pickers.querySelectorAll('select')].map((s) => s.value);
    if (models.some((m) => !m)) throw new Error('Choose a model for every column.');
    if (!input.value.trim()) throw new Error('Type the input to compare.');
    let variables;
    if (variablesInput.value.trim()) {
      try { variables = JSON.parse(variablesInput.value); } catch { throw new Error('Variables must be a JSON object like {"name": "value"}.'); }
    }
    const order = models.map((m, i) => ({ model: m, i }));
    if (blind.checked) order.sort(() => Math.random() - 0.5);
    const params = {};
    const t = numberOf(temperature); if (t !== undefined) params.temperature = t;
    const mt = numberOf(maxTokens); if (mt !== undefined) params.max_tokens = mt;
    const sd = numberOf(seed); if (sd !== undefined) params.seed = sd;

    last = { input: input.value, voted: false, columns: [] };
    columns.replaceChildren();
    voteBar.hidden = true;
    running = new AbortController();
    runButton.disabled = true;
    stopButton.disabled = false;
    updateButtons();
    for (const { model } of order) {
      const column = { model };
      column.title = h('h3', { class: 'cmp-title' });
      column.ttft = h('b', { class: 'cmp-ttft' }, '—');
      column.rate = h('b', { class: 'cmp-tps' }, '—');
      column.tokens = h('b', { class: 'cmp-tokens' }, '0');
      column.status = h('span', { class: 'cmp-status muted' }, 'waiting…');
      column.output = h('div', { class: 'cmp-output tokens streaming' });
      column.element = h('div', { class: 'card cmp-column' }, column.title,
        h('div', { class: 'stats' }, 'TTFT ', column.ttft, ' · ', column.rate, ' · tokens ', column.tokens, ' ', column.status),
        column.output);
      last.columns.push(column);
      columns.append(column.element);
    }
    relabel();
    const messages = [...(system.value.trim() ? [{ role: 'system', content: system.value }] : []), { role: 'user', content: input.value }];
    const results = await Promise.allSettled(last.columns.map(async (column) => {
      column.status.textContent = 'streaming…';
      try {
        const result = await streamChat({ model: column.model, messages, ...params, ...(variables ? { variables } : {}) }, {
          signal: running.signal,
          onToken: (text, entries) => appendTokens(column.output, text, entries),
          onStats: (s) => {
            column.ttft.textContent = formatMs(s.ttftMs);
            column.rate.textContent = formatRate(s.tokensPerSecond);
            column.tokens.textContent = String(s.tokens);
          },
        });
        column.status.textContent = result.stopped ? 'stopped' : `finish: ${result.finishReason ?? '—'}`;
      } catch (error) {
        column.status.textContent = 'failed';
        column.output.append(h('span', { class: 'error-text' }, error.message));
        throw error;
      } finally {
        column.output.classList.remove('streaming');
      }
    }));
    running = null;
    runButton.disabled = false;
    stopButton.disabled = true;
    updateButtons();
    for (const r of results) if (r.status === 'rejected') showError(r.reason);
    if (results.every((r) => r.status === 'fulfilled')) showVote();
  }

  function showVote() {
    const n = last.columns.length;
    const names = last.columns.map((c, i) => label(c, i));
    const buttons = n === 2
      ? [h('button', { id: 'vote-left', 'data-winner': 'left' }, `← ${names[0]} is better`),
        h('button', { id: 'vote-tie', 'data-winner': 'tie' }, 'Tie'),
        h('button', { id: 'vote-right', 'data-winner': 'right' }, `${names[1]} is better →`)]
      : [...last.columns.map((c, i) => h('button', { class: 'vote-best', 'data-best': i }, `${names[i]} is best`)),
        h('button', { id: 'vote-tie', 'data-winner': 'tie' }, 'All tie')];
    voteBar.replaceChildren(h('span', {}, 'Which answer is better? '), ...buttons);
    voteBar.hidden = false;
    for (const b of buttons) b.addEventListener('click', () => guarded(() => vote(b.dataset)));
  }

  /** Two columns: one vote. More: the best column wins against each other one (or all pairs tie). */
  async function vote({ winner, best }) {
    const cols = last.columns;
    const pairs = [];
    if (cols.length === 2) pairs.push([cols[0], cols[1], winner]);
    else if (best !== undefined) for (const [i, c] of cols.entries()) { if (i !== Number(best)) pairs.push([cols[Number(best)], c, 'left']); }
    else for (let i = 0; i < cols.length; i += 1) for (let j = i + 1; j < cols.length; j += 1) pairs.push([cols[i], cols[j], 'tie']);
    for (const b of voteBar.querySelectorAll('button')) b.disabled = true;
    for (const [left, right, w] of pairs) {
      await api('/api/votes', { method: 'POST', body: { prompt: last.input, left: left.model, right: right.model, winner: w } });
    }
    last.voted = true;
    relabel();
    voteBar.replaceChildren(h('span', { id: 'vote-done' }, `Vote stored (${pairs.length === 1 ? 'one pair' : `${pairs.length} pairs`}).`),
      ...last.columns.map((c, i) => h('span', { class: 'reveal' }, ` ${LETTERS[i]} = ${c.model}`)));
    showInfo('Vote stored.');
    await loadLeaderboard();
  }

  /** A bar from the 1000 start line: right and green above it, left and red below. */
  function eloBar(elo, spread) {
    const width = 160;
    const mid = width / 2;
    const length = (Math.abs(elo - 1000) / spread) * (mid - 2);
    return svg('svg', { class: 'elo-bar', width, height: 12, viewBox: `0 0 ${width} 12`, role: 'img', 'aria-label': `Elo ${elo.toFixed(1)}` },
      svg('rect', { x: elo >= 1000 ? mid : mid - length, y: 2, width: Math.max(1, length), height: 8, class: elo >= 1000 ? 'up' : 'down' }),
      svg('line', { x1: mid, x2: mid, y1: 0, y2: 12, class: 'axis' }));
  }

  async function loadLeaderboard() {
    const board = await api('/api/leaderboard');
    const spread = Math.max(1, ...board.data.map((r) => Math.abs(r.elo - 1000)));
    const rows = board.data.map((r, i) => h('tr', {},
      h('td', {}, String(i + 1)), h('td', { class: 'lb-model' }, r.model), h('td', { class: 'num lb-elo' }, r.elo.toFixed(1)),
      h('td', {}, eloBar(r.elo, spread)),
      h('td', { class: 'num' }, String(r.wins)), h('td', { class: 'num' }, String(r.losses)), h('td', { class: 'num' }, String(r.ties)),
      h('td', { class: 'num lb-games' }, String(r.games))));
    leaderboard.replaceChildren(h('h2', {}, 'Leaderboard (Elo)'),
      rows.length ? h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, ...['#', 'Model', 'Elo', '', 'Wins', 'Losses', 'Ties', 'Games'].map((t) => h('th', {}, t)))),
        h('tbody', {}, rows))
        : h('p', { class: 'muted' }, 'No votes yet.'));
  }

  addModel.addEventListener('click', () => addPicker());
  removeModel.addEventListener('click', () => { pickers.lastElementChild?.remove(); updateButtons(); });
  runButton.addEventListener('click', () => guarded(run));
  stopButton.addEventListener('click', () => running?.abort());
  blind.addEventListener('change', relabel);

  const element = h('section', {},
    h('div', { class: 'card' },
      h('h2', {}, 'Compare'),
      pickers,
      h('div', { class: 'row' }, addModel, removeModel, h('label', { class: 'check' }, blind, ' Blind (A/B until the vote)')),
      field('System prompt', system),
      field('Input', input),
      h('div', { class: 'grid3' }, field('Temperature', temperature), field('Max tokens', maxTokens), field('Seed', seed)),
      field('Variables', variablesInput),
      h('div', { class: 'row' }, runButton, stopButton)),
    columns, voteBar, h('div', { class: 'card' }, leaderboard));

  return {
    element,
    dispose() { running?.abort(); },
    async show() {
      const leaderboardLoad = loadLeaderboard().catch(showError);
      choices = await modelChoices(showError);
      if (pickers.children.length === 0) { addPicker(); addPicker(); }
      else for (const s of pickers.querySelectorAll('select')) setOptions(s, choices);
      await leaderboardLoad;
    },
  };
}
