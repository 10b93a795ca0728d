// Talking to the server: JSON calls and server-sent event streams, with the stored key.

const KEY = 'studio.key';

export function storedKey() { return localStorage.getItem(KEY); }
export function storeKey(key) { localStorage.setItem(KEY, key); }
export function forgetKey() { localStorage.removeItem(KEY); }

/** An error answered by the server (status 0: reported inside a stream). */
export class APIError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function headers(json) {
  const h = {};
  const key = storedKey();
  if (key) h.Authorization = `Bearer ${key}`;
  if (json) h['Content-Type'] = 'application/json';
  return h;
}

async function failure(response) {
  const text = await response.text();
  let message = text || response.statusText;
  let code;
  try {
    const body = JSON.parse(text);
    if (body?.error) {
      message = typeof body.error === 'string' ? body.error : body.error.message ?? message;
      code = body.error.code;
    }
  } catch { /* not JSON: the text itself is the message */ }
  const error = new APIError(response.status, `${message} (HTTP ${response.status})`, code);
  if (response.status === 401) window.dispatchEvent(new CustomEvent('studio:unauthorized', { detail: error }));
  return error;
}

/** A JSON request; throws APIError on a non-2xx answer. */
export async function api(path, { method = 'GET', body, signal } = {}) {
  const response = await fetch(path, {
    method, signal, headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  const text = await response.text();
  return text.trim() ? JSON.parse(text) : null;
}

/** POSTs `body` and yields each `data:` event of the answer as JSON, until `[DONE]` or the end.
 *  An event carrying `error` is thrown as an APIError. */
export async function* events(path, body, signal) {
  const response = await fetch(path, { method: 'POST', signal, headers: headers(true), body: JSON.stringify(body) });
  if (!response.ok) throw await failure(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
        if (!data) continue;
        if (data === '[DONE]') return;
        const event = JSON.parse(data);
        if (event.error) {
          const e = event.error;
          throw new APIError(0, typeof e === 'string' ? e : e.message ?? JSON.stringify(e), e.code);
        }
        yield event;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** Streams one chat completion with top-5 logprobs. `onToken(text, logprob entries)` is called
 *  per chunk, `onStats(stats)` as the figures change. Returns the final stats and text. An abort
 *  through `signal` ends it early with `stopped: true`. */
export async function streamChat(body, { signal, onToken = () => {}, onStats = () => {} } = {}) {
  const request = { ...body, stream: true, stream_options: { include_usage: true }, logprobs: true, top_logprobs: 5 };
  const start = performance.now();
  const stats = { text: '', tokens: 0, ttftMs: null, tokensPerSecond: null, finishReason: null, usage: null, stopped: false, model: null };
  let first = null;
  try {
    for await (const chunk of events('/v1/chat/completions', request, signal)) {
      if (chunk.model) stats.model = chunk.model;
      if (chunk.usage) stats.usage = chunk.usage;
      for (const choice of chunk.choices ?? []) {
        if (choice.finish_reason) stats.finishReason = choice.finish_reason;
        const text = choice.delta?.content ?? '';
        const entries = choice.logprobs?.content ?? [];
        if (!text && entries.length === 0) continue;
        const now = performance.now();
        if (first === null) { first = now; stats.ttftMs = now - start; }
        stats.text += text;
        stats.tokens += entries.length || (text ? 1 : 0);
        if (stats.tokens > 1 && now > first) stats.tokensPerSecond = ((stats.tokens - 1) * 1000) / (now - first);
        onToken(text, entries);
        onStats(stats);
      }
    }
  } catch (error) {
    if (error.name !== 'AbortError') throw error;
    stats.stopped = true;
  }
  if (stats.usage?.completion_tokens) stats.tokens = Math.max(stats.tokens, stats.usage.completion_tokens);
  onStats(stats);
  return stats;
}

/** The model ids to offer: /v1/models, then the prompts (`prompt:NAME`, each label, recent
 *  versions). A failure to list the prompts is passed to `onError` and leaves the models. */
export async function modelChoices(onError) {
  const models = await api('/v1/models');
  const groups = [{ group: 'Models', options: models.data.map((m) => m.id) }];
  try {
    const prompts = await api('/api/prompts');
    const ids = [];
    for (const p of prompts.data) {
      ids.push({ value: `prompt:${p.name}`, label: `prompt:${p.name} (latest, v${p.latest_version})` });
      for (const label of Object.keys(p.labels ?? {})) ids.push(`prompt:${p.name}@${label}`);
      for (let v = p.latest_version; v >= Math.max(1, p.latest_version - 4); v -= 1) ids.push(`prompt:${p.name}@${v}`);
    }
    if (ids.length) groups.push({ group: 'Prompts', options: ids });
  } catch (error) {
    onError(error);
  }
  return groups;
}
