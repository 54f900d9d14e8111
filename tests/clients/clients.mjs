// The official ollama and openai npm clients, run against the backend directly
// and through corral; every deterministic field must agree.
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
const sides = {
  direct: { ollama: new Ollama({ host: args.direct }), openai: new OpenAI({ baseURL: `${args.direct}/v1`, apiKey: 'x' }) },
  proxy: { ollama: new Ollama({ host: args.proxy }), openai: new OpenAI({ baseURL: `${args.proxy}/v1`, apiKey: 'x' }) },
};

// Fields that legitimately differ between two runs of the same request.
const VOLATILE = new Set(['created_at', 'modified_at', 'expires_at', 'created', 'id', 'system_fingerprint',
  'total_duration', 'load_duration', 'prompt_eval_duration', 'eval_duration']);
function stable(v) {
  if (Array.isArray(v)) return v.map(stable);
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    return Object.fromEntries(Object.entries(v).filter(([k]) => !VOLATILE.has(k)).map(([k, x]) => [k, stable(x)]));
  }
  return v instanceof Date ? 'date' : v;
}
async function both(fn) {
  return [await fn(sides.direct), await fn(sides.proxy)];
}
async function collect(stream) {
  const parts = [];
  for await (const p of stream) parts.push(p);
  return parts;
}
async function same(fn) {
  const [d, p] = await both(fn);
  assert.deepEqual(stable(p), stable(d));
  return p;
}

test('ollama generate', async () => {
  const r = await same((s) => s.ollama.generate({ model, prompt: 'Why is the sky blue?', stream: false }));
  assert.equal(r.done, true);
  assert.ok(r.response.length > 0);
  assert.ok(r.eval_count > 0);
});

test('ollama generate stream', async () => {
  const [d, p] = await both(async (s) => collect(await s.ollama.generate({ model, prompt: 'Tell me a story', stream: true })));
  assert.ok(p.length > 1, 'a stream has several parts');
  assert.equal(p.at(-1).done, true);
  assert.ok(p.at(-1).eval_count > 0);
  assert.equal(p.map((x) => x.response).join(''), d.map((x) => x.response).join(''));
  assert.deepEqual(stable(p), stable(d));
});

test('ollama chat', async () => {
  const r = await same((s) => s.ollama.chat({ model, messages: [{ role: 'user', content: 'hello' }], stream: false }));
  assert.equal(r.message.role, 'assistant');
});

test('ollama chat stream', async () => {
  const [d, p] = await both(async (s) =>
    collect(await s.ollama.chat({ model, messages: [{ role: 'user', content: 'hello' }], stream: true })));
  assert.ok(p.length > 1);
  assert.equal(p.at(-1).done, true);
  assert.deepEqual(stable(p), stable(d));
});

test('ollama embed', async () => {
  const r = await same((s) => s.ollama.embed({ model: embedModel, input: ['first text', 'second text'] }));
  assert.equal(r.embeddings.length, 2);
  assert.ok(r.embeddings[0].length > 0);
});

test('ollama embeddings (legacy)', async () => {
  const r = await same((s) => s.ollama.embeddings({ model: embedModel, prompt: 'some text' }));
  assert.ok(r.embedding.length > 0);
});

test('ollama list', async () => {
  const r = await same((s) => s.ollama.list());
  assert.ok(r.models.some((m) => m.name.startsWith(model)), `${model} is listed`);
});

test('ollama show', async () => {
  const r = await same((s) => s.ollama.show({ model }));
  assert.ok(r.details);
});

test('ollama ps and version', async () => {
  await same((s) => s.ollama.ps());
  const v = await same((s) => s.ollama.version());
  assert.match(v.version, /\d+\.\d+/);
});

test('ollama pull stream', async () => {
  const [d, p] = await both(async (s) => collect(await s.ollama.pull({ model, stream: true })));
  assert.equal(p.at(-1).status, 'success');
  assert.deepEqual(p.map((x) => x.status), d.map((x) => x.status));
});

test('ollama missing model is the same error', async () => {
  const [d, p] = await both((s) =>
    s.ollama.generate({ model: 'no-such-model-xyz', prompt: 'x', stream: false }).then(() => null, (e) => e));
  assert.ok(d && p, 'both sides reject');
  assert.equal(p.status_code, d.status_code);
  assert.equal(p.error, d.error);
});

test('openai chat completion', async () => {
  const r = await same((s) => s.openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }));
  assert.ok(r.choices[0].message.content.length > 0);
  assert.ok(r.usage.completion_tokens > 0);
});

test('openai chat completion stream with usage', async () => {
  const [d, p] = await both(async (s) => collect(await s.openai.chat.completions.create({
    model, messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true },
  })));
  const text = (parts) => parts.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  assert.ok(p.length > 1);
  assert.equal(text(p), text(d));
  assert.ok(p.some((c) => c.usage && c.usage.completion_tokens > 0), 'a usage chunk arrives');
  assert.deepEqual(stable(p), stable(d));
});

test('openai models and embeddings', async () => {
  const [dm, pm] = await both(async (s) => (await s.openai.models.list()).data.map((m) => m.id).sort());
  assert.deepEqual(pm, dm);
  const e = await same((s) => s.openai.embeddings.create({ model: embedModel, input: 'hello' }));
  assert.ok(e.data[0].embedding.length > 0);
});
