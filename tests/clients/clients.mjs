// The official ollama and openai npm clients, run once against the backend
// directly and once through corral; every deterministic field must agree.
// usage: node clients.mjs --proxy URL --direct URL [--model M] [--embed-model E]
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import { Ollama } from 'ollama';
import OpenAI from 'openai';

const { values: args } = parseArgs({
  options: {
    proxy: { type: 'string' },
    direct: { type: 'string' },
    model: { type: 'string', default: 'llama3.2' },
    'embed-model': { type: 'string', default: 'nomic-embed-text' },
  },
});
if (!args.proxy || !args.direct) {
  console.error('usage: node clients.mjs --proxy URL --direct URL [--model M] [--embed-model E]');
  process.exit(2);
}
const model = args.model;
const embedModel = args['embed-model'];
const MISSING = 'corral-no-such-model-xyz';
// Retries would hide a failed request through the proxy, so there are none.
const clients = (host) => ({
  ollama: new Ollama({ host }),
  openai: new OpenAI({ baseURL: `${host}/v1`, apiKey: 'x', maxRetries: 0 }),
});
const sides = { direct: clients(args.direct), proxy: clients(args.proxy) };

// Greedy sampling with a fixed seed, so a real Ollama answers the same twice.
const options = { temperature: 0, seed: 42, num_predict: 24 };
const oaiOptions = { temperature: 0, seed: 42, max_tokens: 24 };
const messages = [{ role: 'user', content: 'Say hello in five words.' }];

// Fields that legitimately differ between two runs of the same request.
const VOLATILE = new Set(['created_at', 'modified_at', 'expires_at', 'created', 'id', 'system_fingerprint',
  'total_duration', 'load_duration', 'prompt_eval_duration', 'eval_duration']);
function stable(v) {
  if (v instanceof Date) return 'date';
  if (Array.isArray(v)) return v.map(stable);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).filter(([k]) => !VOLATILE.has(k)).map(([k, x]) => [k, stable(x)]));
  }
  return v;
}
// Runs fn against the backend, then through the proxy (sequentially, so the
// backend sees the same request twice in a row). Returns [direct, proxy].
async function both(fn) {
  const d = await fn(sides.direct);
  const p = await fn(sides.proxy);
  return [d, p];
}
// Like both(), and the two results must agree on every deterministic field.
async function same(fn) {
  const [d, p] = await both(fn);
  assert.deepEqual(stable(p), stable(d));
  return p;
}
async function collect(stream) {
  const parts = [];
  for await (const part of stream) parts.push(part);
  return parts;
}
const rejection = (promise) => promise.then(() => assert.fail('expected an error'), (e) => e);
const tagged = (name) => (name.includes(':') ? name : `${name}:latest`);

// ---- ollama client ---------------------------------------------------------

test('ollama generate', async () => {
  const r = await same((s) => s.ollama.generate({ model, prompt: 'Why is the sky blue?', options, stream: false }));
  assert.equal(r.done, true);
  assert.ok(r.response.length > 0, 'a response');
  assert.ok(r.eval_count > 0, 'eval_count');
});

test('ollama generate stream', async () => {
  const [d, p] = await both(async (s) =>
    collect(await s.ollama.generate({ model, prompt: 'Tell me a story.', options, stream: true })));
  assert.ok(p.length > 1, `several parts (got ${p.length})`);
  assert.ok(p.slice(0, -1).every((x) => x.done === false), 'only the last part is done');
  assert.equal(p.at(-1).done, true);
  assert.ok(p.at(-1).eval_count > 0, 'final part has eval_count');
  assert.equal(p.map((x) => x.response).join(''), d.map((x) => x.response).join(''));
  assert.deepEqual(stable(p), stable(d));
});

test('ollama chat', async () => {
  const r = await same((s) => s.ollama.chat({ model, messages, options, stream: false }));
  assert.equal(r.done, true);
  assert.equal(r.message.role, 'assistant');
  assert.ok(r.message.content.length > 0, 'content');
});

test('ollama chat stream', async () => {
  const [d, p] = await both(async (s) => collect(await s.ollama.chat({ model, messages, options, stream: true })));
  assert.ok(p.length > 1, `several parts (got ${p.length})`);
  assert.equal(p.at(-1).done, true);
  assert.ok(p.at(-1).eval_count > 0, 'final part has eval_count');
  const text = (parts) => parts.map((x) => x.message.content).join('');
  assert.ok(text(p).length > 0, 'content');
  assert.equal(text(p), text(d));
  assert.deepEqual(stable(p), stable(d));
});

test('ollama embed', async () => {
  const r = await same((s) => s.ollama.embed({ model: embedModel, input: ['first text', 'second text'] }));
  assert.equal(r.embeddings.length, 2);
  assert.ok(r.embeddings[0].length > 0, 'a vector');
  assert.equal(r.embeddings[0].length, r.embeddings[1].length);
});

test('ollama embeddings (legacy)', async () => {
  const r = await same((s) => s.ollama.embeddings({ model: embedModel, prompt: 'some text' }));
  assert.ok(r.embedding.length > 0, 'a vector');
});

test('ollama list', async () => {
  const [d, p] = await both((s) => s.ollama.list());
  const names = (r) => r.models.map((m) => m.name).sort();
  assert.deepEqual(names(p), names(d));
  assert.ok(names(p).includes(tagged(model)), `${model} is listed`);
  assert.deepEqual(stable(p), stable(d));
});

test('ollama show', async () => {
  const r = await same((s) => s.ollama.show({ model }));
  assert.equal(typeof r.details, 'object');
});

test('ollama ps', async () => {
  const r = await same((s) => s.ollama.ps());
  assert.ok(Array.isArray(r.models));
});

test('ollama version', async () => {
  const r = await same((s) => s.ollama.version());
  assert.match(r.version, /\d+\.\d+/);
});

test('ollama pull stream', async () => {
  const [d, p] = await both(async (s) => collect(await s.ollama.pull({ model, stream: true })));
  assert.ok(p.length > 0);
  assert.equal(p.at(-1).status, 'success');
  assert.deepEqual(p.map((x) => x.status), d.map((x) => x.status));
});

test('ollama missing model: same error both ways', async () => {
  const [d, p] = await both((s) => rejection(s.ollama.generate({ model: MISSING, prompt: 'x', stream: false })));
  assert.equal(p.name, 'ResponseError');
  assert.ok(d.status_code >= 400, `an HTTP error status (got ${d.status_code})`);
  assert.equal(p.status_code, d.status_code);
  assert.equal(p.error, d.error);
});

// ---- openai client ---------------------------------------------------------

test('openai chat.completions.create', async () => {
  const [d, p] = await both((s) => s.openai.chat.completions.create({ model, messages, ...oaiOptions }));
  assert.equal(p.object, 'chat.completion');
  assert.ok(p.choices[0].message.content.length > 0, 'content');
  assert.equal(p.choices[0].message.content, d.choices[0].message.content);
  assert.ok(p.usage.completion_tokens > 0, 'usage');
  assert.deepEqual(p.usage, d.usage);
  assert.deepEqual(stable(p), stable(d));
});

test('openai chat.completions.create stream with usage', async () => {
  const [d, p] = await both(async (s) => collect(await s.openai.chat.completions.create({
    model, messages, ...oaiOptions, stream: true, stream_options: { include_usage: true },
  })));
  const text = (chunks) => chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  const usage = (chunks) => chunks.find((c) => c.usage)?.usage;
  assert.ok(p.length > 1, `several chunks (got ${p.length})`);
  assert.ok(text(p).length > 0, 'content');
  assert.equal(text(p), text(d));
  assert.ok(usage(p)?.completion_tokens > 0, 'a usage chunk arrives');
  assert.deepEqual(usage(p), usage(d));
  assert.deepEqual(stable(p), stable(d));
});

test('openai models.list', async () => {
  const [d, p] = await both(async (s) => (await s.openai.models.list()).data);
  const ids = (data) => data.map((m) => m.id).sort();
  assert.deepEqual(ids(p), ids(d));
  assert.ok(ids(p).includes(tagged(model)), `${model} is listed`);
});

test('openai embeddings.create', async () => {
  const r = await same((s) => s.openai.embeddings.create({ model: embedModel, input: ['hello', 'world'] }));
  assert.equal(r.data.length, 2);
  assert.ok(r.data[0].embedding.length > 0, 'a vector');
});

test('openai missing model: same error both ways', async () => {
  const [d, p] = await both((s) => rejection(s.openai.chat.completions.create({ model: MISSING, messages })));
  assert.ok(p instanceof OpenAI.APIError, `an APIError (got ${p})`);
  assert.ok(d.status >= 400, `an HTTP error status (got ${d.status})`);
  assert.equal(p.status, d.status);
  assert.deepEqual(p.error, d.error);
});
