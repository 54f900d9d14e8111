// Hosted backends through corral (issue 13), with the official `openai`,
// `@anthropic-ai/sdk` and `ollama` npm clients: corral in front of corral-sim
// (Ollama), the fake OpenAI and the fake Anthropic (../fakes, over TLS, with API
// keys). Expected values come from the providers' references and the fakes'
// deterministic answers (../fakes/README.md), never from corral's code.
// usage: NODE_EXTRA_CA_CERTS=ca.pem FAKE_OPENAI_KEY=… FAKE_ANTHROPIC_KEY=… node hosted.mjs
//          --corral URL --corral-tls URL --sim URL --openai URL --anthropic URL --openai-brief URL --ollama URL
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import tls from 'node:tls';
import { test } from 'node:test';
import { parseArgs } from 'node:util';
import { ANT_TOOLS, collect, FN_TOOLS, IMAGES_SEEN, JPEG, PNG, rejection, seen, WEATHER_ARGS, WEATHER_SCHEMA }
  from '../fakes/fixtures.mjs';

const NAMES = ['corral', 'corral-tls', 'sim', 'openai', 'anthropic', 'openai-brief', 'ollama'];
const { values: args } = parseArgs({ options: Object.fromEntries(NAMES.map((k) => [k, { type: 'string' }])) });
for (const k of NAMES) {
  if (!args[k]) {
    console.error('usage: node hosted.mjs --corral URL --corral-tls URL --sim URL --openai URL --anthropic URL ' +
      '--openai-brief URL --ollama URL (keys in FAKE_OPENAI_KEY, FAKE_ANTHROPIC_KEY)');
    process.exit(2);
  }
}
const OPENAI_KEY = process.env.FAKE_OPENAI_KEY;
const ANTHROPIC_KEY = process.env.FAKE_ANTHROPIC_KEY;
assert.ok(OPENAI_KEY && ANTHROPIC_KEY, 'FAKE_OPENAI_KEY and FAKE_ANTHROPIC_KEY are set');
// What the clients send corral (auth is off there): it must never reach a provider.
const CLIENT_KEY = 'sk-client-own-key-must-not-travel-4242';
// fake-ollama.mjs (plain HTTP, model echo-llama:latest) echoes tools and images, which corral-sim ignores.
const fakes = { openai: args.openai, anthropic: args.anthropic, brief: args['openai-brief'], ollama: args.ollama };
const ECHO_MODEL = 'echo-llama:latest';

const SIM_MODEL = 'llama3.2:latest';
const ANT_MODEL = 'claude-sonnet-4-5';

// Retries would hide a wrong status, so there are none.
const clientsAt = (origin) => ({
  openai: new OpenAI({ baseURL: `${origin}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 }),
  anthropic: new Anthropic({ baseURL: origin, apiKey: CLIENT_KEY, maxRetries: 0 }),
  ollama: new Ollama({ host: origin, headers: { authorization: `Bearer ${CLIENT_KEY}` } }),
});
const corral = clientsAt(args.corral);
const corralTls = clientsAt(args['corral-tls']);

// ---- helpers ----------------------------------------------------------------

const words = (s) => String(s).split(/\s+/).filter(Boolean).length;
const nonce = () => `n${randomBytes(5).toString('hex')}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function getJson(url, init) {
  const res = await fetch(url, init);
  const text = await res.text();
  try {
    return { status: res.status, headers: res.headers, body: JSON.parse(text), text };
  } catch {
    return { status: res.status, headers: res.headers, body: null, text };
  }
}

// The fake's log entries whose body mentions `marker` (each test puts a fresh
// one in its prompt, so a probe or an earlier test cannot be mistaken for it).
async function fakeRequests(fake, marker) {
  const log = (await getJson(`${fakes[fake]}/fake/requests`)).body;
  return log.filter((e) => JSON.stringify(e.body ?? e.body_text ?? '').includes(marker));
}
async function fakeRequest(fake, marker) {
  let hits = await fakeRequests(fake, marker);
  // The fake marks a request completed on its response's 'finish' event, which can come a
  // moment after the client has read the last byte: look again, briefly.
  for (let i = 0; i < 20 && hits.length === 1 && hits[0].completed === false; ++i) {
    await new Promise((r) => setTimeout(r, 25));
    hits = await fakeRequests(fake, marker);
  }
  assert.equal(hits.length, 1, `the fake ${fake} received exactly one request with "${marker}" (got ${hits.length})`);
  return hits[0];
}

// Every header value the provider saw, flattened, must not carry the client's key.
function assertNoClientKey(entry) {
  const all = JSON.stringify(entry.headers);
  assert.ok(!all.includes(CLIENT_KEY), `the client's own key reached the provider: ${all}`);
}
function assertOpenAIAuth(entry) {
  assertNoClientKey(entry);
  assert.equal(entry.headers.authorization, `Bearer ${OPENAI_KEY}`, 'one Authorization, the configured key');
}
function assertAnthropicAuth(entry) {
  assertNoClientKey(entry);
  const h = entry.headers;
  const key = h['x-api-key'] ?? h.authorization?.replace(/^Bearer /, '');
  assert.equal(key, ANTHROPIC_KEY, 'the configured key, as x-api-key or Bearer');
  if (h.authorization !== undefined) assert.equal(h.authorization, `Bearer ${ANTHROPIC_KEY}`);
  assert.equal(typeof h['anthropic-version'], 'string', 'anthropic-version is sent');
}

// Text of an OpenAI content (string or parts) or an Anthropic one (string or blocks).
const textOf = (content) => (typeof content === 'string' ? content
  : (content ?? []).filter((p) => p.type === 'text').map((p) => p.text).join(' '));

// Ollama's final statistics: counts from the provider's usage, durations in ns.
function assertOllamaFinal(r, { prompt, completion }) {
  assert.equal(r.done, true);
  assert.equal(typeof r.done_reason, 'string', `done_reason in ${JSON.stringify(r)}`);
  assert.equal(r.prompt_eval_count, prompt, 'prompt_eval_count = the provider\'s prompt tokens');
  assert.equal(r.eval_count, completion, 'eval_count = the provider\'s completion tokens');
  for (const d of ['total_duration', 'prompt_eval_duration', 'eval_duration']) {
    assert.ok(Number.isInteger(r[d]) && r[d] >= 0, `${d} is a whole number of ns, got ${r[d]}`);
  }
  assert.ok(r.total_duration > 0, 'total_duration > 0');
}

const TOOL_REPLY = 'tool get_weather returned: sunny 21C';

// Prometheus: the sum of a family's samples whose labels include model="M".
function metricSum(text, family, model) {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${family}{`) && line.includes(`model="${model}"`)) sum += Number(line.split(' ').at(-1));
  }
  return sum;
}
// /metrics once corral has accounted for every answered request (only the scrape in flight).
async function settledMetrics() {
  for (let i = 0; i < 250; i++) {
    const m = await (await fetch(`${args.corral}/metrics`)).text();
    if (m.includes('\ncorral_in_flight_requests 1\n')) return (await fetch(`${args.corral}/metrics`)).text();
    await sleep(20);
  }
  assert.fail('corral_in_flight_requests never settled to the scrape alone');
}

// ---- the fakes and corral-sim answer directly (sanity of the set-up) ---------

test('set-up: the fakes answer the official SDKs directly over TLS with their keys, corral-sim answers', async () => {
  const oai = new OpenAI({ baseURL: `${fakes.openai}/v1`, apiKey: OPENAI_KEY, maxRetries: 0 });
  const r = await oai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'direct a b' }] });
  assert.equal(r.choices[0].message.content, 'echo: direct a b');
  const ant = new Anthropic({ baseURL: fakes.anthropic, apiKey: ANTHROPIC_KEY, maxRetries: 0 });
  const m = await ant.messages.create({ model: ANT_MODEL, max_tokens: 20,
    messages: [{ role: 'user', content: 'x y' }] });
  assert.equal(m.content[0].text, 'echo: x y');
  const wrong = await rejection(new OpenAI({ baseURL: `${fakes.openai}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 })
    .models.list());
  assert.ok(wrong instanceof OpenAI.AuthenticationError, 'the client key is not a provider key');
  const sim = await new Ollama({ host: args.sim }).chat({ model: SIM_MODEL, stream: false,
    messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(sim.done, true);
  const echo = await new Ollama({ host: fakes.ollama }).chat({ model: ECHO_MODEL, stream: false,
    messages: [{ role: 'user', content: 'hi echo', images: [PNG.toString('base64')] }] });
  assert.equal(echo.message.content, `echo: hi echo [images=1 ${seen('image/png', PNG)}]`);
});

test('set-up: corral is up', async () => {
  const h = await fetch(`${args.corral}/health`);
  assert.equal(h.status, 200, 'corral answers /health (see its log below if not)');
});

// ---- OpenAI client → openai backend: untouched but for the auth header -------

test('openai client → fake OpenAI (gpt-4o): answer, usage, the configured key and not the client\'s', async () => {
  const n = nonce();
  const request = { model: 'gpt-4o', messages: [{ role: 'system', content: 'be brief' },
    { role: 'user', content: `hello ${n}` }], temperature: 0.5, seed: 3 };
  const r = await corral.openai.chat.completions.create(request);
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, 'gpt-4o');
  assert.equal(r.choices[0].message.content, `echo: hello ${n}`);
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.deepEqual([r.usage.prompt_tokens, r.usage.completion_tokens], [4, 3]);
  const e = await fakeRequest('openai', n);
  assert.equal(e.path, '/v1/chat/completions');
  assertOpenAIAuth(e);
  assert.deepEqual(e.body, request, 'the body is passed through as the client sent it');
  assert.equal(e.status, 200);
});

test('openai client → fake OpenAI, streamed: chunks, usage chunk, [DONE]', async () => {
  const n = nonce();
  const stream = corral.openai.chat.completions.stream({ model: 'gpt-4o', stream_options: { include_usage: true },
    messages: [{ role: 'user', content: `stream me ${n}` }] });
  const chunks = await collect(stream);
  const final = await stream.finalChatCompletion();
  assert.equal(final.choices[0].message.content, `echo: stream me ${n}`);
  assert.ok(chunks.filter((c) => c.choices[0]?.delta.content).length >= 3, 'several content chunks');
  assert.deepEqual(chunks.at(-1).choices, [], 'the usage chunk comes last');
  assert.deepEqual([final.usage.prompt_tokens, final.usage.completion_tokens], [3, 4]);
  const e = await fakeRequest('openai', n);
  assertOpenAIAuth(e);
  assert.equal(e.body.stream, true);
  assert.equal(e.completed, true);
});

// ---- Anthropic client → /v1/messages ------------------------------------------

const ANT_BASE = { max_tokens: 100, system: 'be brief' };

test('anthropic client → fake Anthropic: untouched but for auth, text and usage', async () => {
  const n = nonce();
  const request = { ...ANT_BASE, model: ANT_MODEL, messages: [{ role: 'user', content: `hello ${n}` }] };
  const r = await corral.anthropic.messages.create(request);
  assert.equal(r.type, 'message');
  assert.equal(r.model, ANT_MODEL);
  assert.deepEqual(r.content, [{ type: 'text', text: `echo: hello ${n}` }]);
  assert.equal(r.stop_reason, 'end_turn');
  assert.deepEqual([r.usage.input_tokens, r.usage.output_tokens], [4, 3]);
  const e = await fakeRequest('anthropic', n);
  assert.equal(e.path, '/v1/messages');
  assertAnthropicAuth(e);
  assert.deepEqual(e.body, request, 'the body is passed through as the client sent it');
  assert.equal(e.tls.servername, 'localhost', 'SNI names the host of the backend url');

  // A client sending its own x-api-key (the older Anthropic header): replaced, not forwarded.
  const m = nonce();
  const raw = await getJson(`${args.corral}/v1/messages`, { method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': CLIENT_KEY },
    body: JSON.stringify({ ...request, messages: [{ role: 'user', content: m }] }) });
  assert.equal(raw.status, 200, raw.text);
  assert.equal(raw.body.content[0].text, `echo: ${m}`);
  const f = await fakeRequest('anthropic', m);
  assertAnthropicAuth(f);
  assert.equal(f.headers['anthropic-version'], '2023-06-01', 'the client\'s anthropic-version is kept');
});

test('anthropic client → fake Anthropic, streamed: the SDK accumulates the message', async () => {
  const n = nonce();
  const stream = corral.anthropic.messages.stream({ ...ANT_BASE, model: ANT_MODEL,
    messages: [{ role: 'user', content: `stream me ${n}` }] });
  const events = await collect(stream);
  const final = await stream.finalMessage();
  assert.deepEqual(final.content, [{ type: 'text', text: `echo: stream me ${n}` }]);
  assert.deepEqual([final.stop_reason, final.usage.input_tokens, final.usage.output_tokens], ['end_turn', 5, 4]);
  assert.deepEqual(events.map((x) => x.type).slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
  assertAnthropicAuth(await fakeRequest('anthropic', n));
});

// What corral-sim answers natively to the chat the translation should produce.
async function simChat(messages, options = {}) {
  return new Ollama({ host: args.sim }).chat({ model: SIM_MODEL, messages, stream: false, options });
}

test('anthropic client → corral-sim (translated to /api/chat): text and usage as the backend answered', async () => {
  const n = nonce();
  const user = `hello there ${n}`;
  const native = await simChat([{ role: 'system', content: 'be brief' }, { role: 'user', content: user }]);
  const r = await corral.anthropic.messages.create({ ...ANT_BASE, model: SIM_MODEL,
    messages: [{ role: 'user', content: user }] });
  assert.equal(r.type, 'message');
  assert.equal(r.role, 'assistant');
  assert.equal(r.model, SIM_MODEL);
  assert.deepEqual(r.content, [{ type: 'text', text: native.message.content }]);
  assert.equal(r.stop_reason, 'end_turn');
  assert.deepEqual([r.usage.input_tokens, r.usage.output_tokens], [native.prompt_eval_count, native.eval_count]);

  const short = await corral.anthropic.messages.create({ ...ANT_BASE, max_tokens: 3, model: SIM_MODEL,
    messages: [{ role: 'user', content: user }] });
  const nativeShort = await simChat([{ role: 'system', content: 'be brief' }, { role: 'user', content: user }],
    { num_predict: 3 });
  assert.deepEqual([short.content[0].text, short.stop_reason, short.usage.output_tokens],
    [nativeShort.message.content, 'max_tokens', 3], 'max_tokens becomes num_predict; length is max_tokens');
});

test('anthropic client → corral-sim, streamed: Anthropic\'s event sequence, the SDK accumulates it', async () => {
  const user = `stream from ollama ${nonce()}`;
  const native = await simChat([{ role: 'system', content: 'be brief' }, { role: 'user', content: user }]);
  const stream = corral.anthropic.messages.stream({ ...ANT_BASE, model: SIM_MODEL,
    messages: [{ role: 'user', content: user }] });
  const events = await collect(stream);
  const final = await stream.finalMessage();
  assert.deepEqual(final.content, [{ type: 'text', text: native.message.content }]);
  assert.deepEqual([final.stop_reason, final.usage.input_tokens, final.usage.output_tokens],
    ['end_turn', native.prompt_eval_count, native.eval_count]);
  const types = events.map((e) => e.type).filter((t) => t !== 'ping');
  assert.equal(types[0], 'message_start');
  assert.equal(types[1], 'content_block_start');
  assert.deepEqual(types.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
  assert.ok(types.filter((t) => t === 'content_block_delta').length >= 2, 'text in several deltas');
  // Ollama reports prompt_eval_count at the end: the input tokens come in message_delta's usage.
  const delta = events.find((e) => e.type === 'message_delta');
  assert.deepEqual([delta.usage.input_tokens, delta.usage.output_tokens],
    [native.prompt_eval_count, native.eval_count]);

  // The raw bytes: `event: NAME` then `data: {"type": NAME …}`, as Anthropic's streaming reference shows.
  const raw = await fetch(`${args.corral}/v1/messages`, { method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': CLIENT_KEY },
    body: JSON.stringify({ ...ANT_BASE, model: SIM_MODEL, stream: true,
      messages: [{ role: 'user', content: user }] }) });
  assert.equal(raw.status, 200);
  assert.match(raw.headers.get('content-type'), /^text\/event-stream/);
  const blocks = (await raw.text()).split('\n\n').filter((b) => b.trim());
  for (const b of blocks) {
    const m = /^event: ([a-z_]+)\ndata: (\{.*\})$/.exec(b);
    assert.ok(m, `an event: line then a data: line, got ${JSON.stringify(b)}`);
    assert.equal(JSON.parse(m[2]).type, m[1]);
  }
});

// ---- ollama client on hosted models -----------------------------------------------

const OLLAMA_OPTIONS = { temperature: 0.25, top_p: 0.5, seed: 11, num_predict: 50, stop: ['zzz'] };

test('ollama chat → gpt-4o (translated to /v1/chat/completions): Ollama\'s final object from the usage', async () => {
  const n = nonce();
  const messages = [{ role: 'system', content: 'be brief' }, { role: 'user', content: `hello ${n}` }];
  const r = await corral.ollama.chat({ model: 'gpt-4o', messages, stream: false, options: OLLAMA_OPTIONS });
  assert.equal(r.model, 'gpt-4o');
  assert.deepEqual([r.message.role, r.message.content], ['assistant', `echo: hello ${n}`]);
  assert.equal(r.done_reason, 'stop');
  assertOllamaFinal(r, { prompt: 4, completion: 3 });
  const e = await fakeRequest('openai', n);
  assert.equal(e.path, '/v1/chat/completions');
  assertOpenAIAuth(e);
  assert.equal(e.body.model, 'gpt-4o');
  assert.deepEqual(e.body.messages.map((m) => [m.role, textOf(m.content)]),
    [['system', 'be brief'], ['user', `hello ${n}`]]);
  const b = e.body;
  assert.deepEqual([b.temperature, b.top_p, b.seed, b.max_tokens ?? b.max_completion_tokens, [b.stop].flat()],
    [0.25, 0.5, 11, 50, ['zzz']], 'sampling options carried across');
});

test('ollama chat → gpt-4o streamed: NDJSON parts, then done with counts', async () => {
  const n = nonce();
  const parts = await collect(await corral.ollama.chat({ model: 'gpt-4o', stream: true,
    messages: [{ role: 'user', content: `stream it now ${n}` }] }));
  assert.ok(parts.length >= 4, `several parts (${parts.length})`);
  assert.ok(parts.slice(0, -1).every((p) => p.done === false && p.model === 'gpt-4o'));
  assert.equal(parts.map((p) => p.message.content).join(''), `echo: stream it now ${n}`);
  assertOllamaFinal(parts.at(-1), { prompt: 4, completion: 5 });
  assert.equal(parts.at(-1).done_reason, 'stop');
  const e = await fakeRequest('openai', n);
  assert.equal(e.body.stream, true);
  assertOpenAIAuth(e);
});

test('ollama chat → claude-sonnet-4-5 (translated to /v1/messages), stream and not', async () => {
  const n = nonce();
  const messages = [{ role: 'system', content: 'be brief' }, { role: 'user', content: `hello ${n}` }];
  const options = { num_predict: 50, stop: ['zzz'] };
  const r = await corral.ollama.chat({ model: ANT_MODEL, messages, stream: false, options });
  assert.equal(r.model, ANT_MODEL);
  assert.equal(r.message.content, `echo: hello ${n}`);
  assert.equal(r.done_reason, 'stop');
  assertOllamaFinal(r, { prompt: 4, completion: 3 });
  const e = await fakeRequest('anthropic', n);
  assert.equal(e.path, '/v1/messages');
  assertAnthropicAuth(e);
  assert.equal(textOf(e.body.system), 'be brief', 'the system prompt goes to the top-level system');
  assert.deepEqual(e.body.messages.map((m) => [m.role, textOf(m.content)]), [['user', `hello ${n}`]]);
  assert.deepEqual([e.body.max_tokens, e.body.stop_sequences], [50, ['zzz']]);

  const m = nonce();
  const parts = await collect(await corral.ollama.chat({ model: ANT_MODEL, stream: true,
    messages: [{ role: 'user', content: `stream it ${m}` }] }));
  assert.equal(parts.map((p) => p.message.content).join(''), `echo: stream it ${m}`);
  assert.ok(parts.length >= 4, `several parts (${parts.length})`);
  assertOllamaFinal(parts.at(-1), { prompt: 3, completion: 4 });
  assert.equal(typeof (await fakeRequest('anthropic', m)).body.max_tokens, 'number', 'max_tokens is always sent');
});

test('ollama chat → anthropic: temperature is carried, or a 400 names it (never dropped)', async () => {
  const n = nonce();
  const outcome = await corral.ollama.chat({ model: ANT_MODEL, stream: false, options: { temperature: 0.3 },
    messages: [{ role: 'user', content: `warm ${n}` }] }).then((r) => r, (e) => e);
  if (outcome instanceof Error) {
    assert.equal(outcome.status_code, 400, `${outcome}`);
    assert.match(outcome.error, /temperature/);
  } else {
    assert.equal(outcome.message.content, `echo: warm ${n}`);
    assert.equal((await fakeRequest('anthropic', n)).body.temperature, 0.3);
  }
});

test('ollama generate → gpt-4o and → claude-sonnet-4-5: system and prompt, stream and not', async () => {
  for (const [model, fake] of [['gpt-4o', 'openai'], [ANT_MODEL, 'anthropic']]) {
    const n = nonce();
    const r = await corral.ollama.generate({ model, system: 'be brief', prompt: `tell ${n}`, stream: false });
    assert.equal(r.model, model);
    assert.equal(r.response, `echo: tell ${n}`, model);
    assertOllamaFinal(r, { prompt: 4, completion: 3 });
    const e = await fakeRequest(fake, n);
    if (fake === 'openai') assertOpenAIAuth(e);
    else assertAnthropicAuth(e);

    const m = nonce();
    const parts = await collect(await corral.ollama.generate({ model, prompt: `tell me more ${m}`, stream: true }));
    assert.equal(parts.map((p) => p.response).join(''), `echo: tell me more ${m}`, model);
    assert.ok(parts.slice(0, -1).every((p) => p.done === false));
    assertOllamaFinal(parts.at(-1), { prompt: 4, completion: 5 });
  }
});

// ---- tool calls and images through each translation ----------------------------------

for (const [model, fake] of [['gpt-4o', 'openai'], [ANT_MODEL, 'anthropic']]) {
  test(`ollama tools → ${model}: a tool call (stream and not) and the result round trip`, async () => {
    const n = nonce();
    const messages = [{ role: 'user', content: `please call get_weather for Paris ${n}` }];
    const r = await corral.ollama.chat({ model, messages, tools: FN_TOOLS, stream: false });
    assert.equal(r.message.tool_calls?.length, 1, `one tool call in ${JSON.stringify(r.message)}`);
    assert.equal(r.message.tool_calls[0].function.name, 'get_weather');
    assert.deepEqual(r.message.tool_calls[0].function.arguments, WEATHER_ARGS, 'arguments as an object');
    const e = await fakeRequest(fake, n);
    if (fake === 'openai') {
      assert.deepEqual(e.body.tools, FN_TOOLS, 'tools reach OpenAI as OpenAI tools');
    } else {
      assert.deepEqual(e.body.tools, ANT_TOOLS, 'tools reach Anthropic as Anthropic tools');
      assert.equal(r.message.content, 'Calling get_weather.');
    }

    const again = await corral.ollama.chat({ model, tools: FN_TOOLS, stream: false, messages: [...messages, r.message,
      { role: 'tool', content: 'sunny 21C', tool_name: 'get_weather' }] });
    assert.equal(again.message.content, TOOL_REPLY, 'the result is linked to the call it answers');

    const m = nonce();
    const parts = await collect(await corral.ollama.chat({ model, tools: FN_TOOLS, stream: true,
      messages: [{ role: 'user', content: `call get_weather ${m}` }] }));
    const calls = parts.flatMap((p) => p.message.tool_calls ?? []);
    assert.equal(calls.length, 1, `the streamed fragments make one whole call: ${JSON.stringify(parts)}`);
    assert.equal(calls[0].function.name, 'get_weather');
    assert.deepEqual(calls[0].function.arguments, WEATHER_ARGS);
    assert.equal(parts.at(-1).done, true);
    assert.equal(parts.at(-1).eval_count, words(JSON.stringify(WEATHER_ARGS)) + (fake === 'anthropic' ? 2 : 0));
  });

  test(`ollama images → ${model}: the bytes arrive intact, with their media types`, async () => {
    const n = nonce();
    const images = [PNG.toString('base64'), JPEG.toString('base64')];
    const r = await corral.ollama.chat({ model, stream: false,
      messages: [{ role: 'user', content: `what are these? ${n}`, images }] });
    assert.equal(r.message.content, `echo: what are these? ${n} ${IMAGES_SEEN}`);
    const g = await corral.ollama.generate({ model, prompt: `and these? ${n}`, images, stream: false });
    assert.equal(g.response, `echo: and these? ${n} ${IMAGES_SEEN}`, 'generate\'s images too');
  });
}

test('openai tools → claude-sonnet-4-5 (translated both ways): call, stream, result round trip', async () => {
  const n = nonce();
  const messages = [{ role: 'user', content: `please call get_weather for Paris ${n}` }];
  const r = await corral.openai.chat.completions.create({ model: ANT_MODEL, messages, tools: FN_TOOLS });
  const choice = r.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.tool_calls.length, 1);
  const call = choice.message.tool_calls[0];
  assert.equal(call.type, 'function');
  assert.equal(typeof call.id, 'string');
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), WEATHER_ARGS);
  const e = await fakeRequest('anthropic', n);
  assertAnthropicAuth(e);
  assert.deepEqual(e.body.tools, ANT_TOOLS);
  assert.equal(typeof e.body.max_tokens, 'number', 'Anthropic requires max_tokens: corral supplies one');

  const again = await corral.openai.chat.completions.create({ model: ANT_MODEL, tools: FN_TOOLS,
    messages: [...messages, choice.message, { role: 'tool', tool_call_id: call.id, content: 'sunny 21C' }] });
  assert.equal(again.choices[0].message.content, TOOL_REPLY);
  assert.equal(again.choices[0].finish_reason, 'stop');

  const m = nonce();
  const stream = corral.openai.chat.completions.stream({ model: ANT_MODEL, tools: FN_TOOLS,
    stream_options: { include_usage: true }, messages: [{ role: 'user', content: `call get_weather ${m}` }] });
  const chunks = await collect(stream);
  const final = await stream.finalChatCompletion();
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
  assert.deepEqual(JSON.parse(final.choices[0].message.tool_calls[0].function.arguments), WEATHER_ARGS);
  assert.ok(chunks.filter((c) => c.choices[0]?.delta.tool_calls).length >= 2, 'argument deltas are streamed');
  assert.deepEqual([final.usage.prompt_tokens, final.usage.completion_tokens],
    [3, 2 + words(JSON.stringify(WEATHER_ARGS))], 'usage is Anthropic\'s input/output tokens');
});

test('openai client → claude-sonnet-4-5: text, stream ([DONE]) and images', async () => {
  const n = nonce();
  const r = await corral.openai.chat.completions.create({ model: ANT_MODEL, max_tokens: 60,
    messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: `hello ${n}` }] });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, ANT_MODEL);
  assert.equal(r.choices[0].message.content, `echo: hello ${n}`);
  assert.deepEqual([r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens], [4, 3, 7]);
  const e = await fakeRequest('anthropic', n);
  assert.equal(textOf(e.body.system), 'be brief');
  assert.equal(e.body.max_tokens, 60);

  const m = nonce();
  const res = await fetch(`${args.corral}/v1/chat/completions`, { method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}` },
    body: JSON.stringify({ model: ANT_MODEL, stream: true, messages: [{ role: 'user', content: `raw sse ${m}` }] }) });
  assert.equal(res.status, 200);
  const events = (await res.text()).split('\n\n').filter((x) => x.trim());
  assert.equal(events.at(-1), 'data: [DONE]');
  const chunks = events.slice(0, -1).map((x) => {
    assert.match(x, /^data: \{/, 'OpenAI SSE: data lines only');
    return JSON.parse(x.slice(6));
  });
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'));
  assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), `echo: raw sse ${m}`);

  const k = nonce();
  const img = await corral.openai.chat.completions.create({ model: ANT_MODEL, messages: [{ role: 'user', content: [
    { type: 'text', text: `what are these? ${k}` },
    { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG.toString('base64')}` } },
    { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${JPEG.toString('base64')}` } },
  ] }] });
  assert.equal(img.choices[0].message.content, `echo: what are these? ${k} ${IMAGES_SEEN}`);
});

test('anthropic client → gpt-4o (translated to /v1/chat/completions): text, tools, images, stream', async () => {
  const n = nonce();
  const r = await corral.anthropic.messages.create({ ...ANT_BASE, model: 'gpt-4o',
    messages: [{ role: 'user', content: `hello ${n}` }] });
  assert.deepEqual(r.content, [{ type: 'text', text: `echo: hello ${n}` }]);
  assert.deepEqual([r.model, r.stop_reason, r.usage.input_tokens, r.usage.output_tokens], ['gpt-4o', 'end_turn', 4, 3]);
  const e = await fakeRequest('openai', n);
  assertOpenAIAuth(e);
  assert.deepEqual(e.body.messages.map((x) => [x.role, textOf(x.content)]),
    [['system', 'be brief'], ['user', `hello ${n}`]]);

  const t = nonce();
  const messages = [{ role: 'user', content: `please call get_weather ${t}` }];
  const call = await corral.anthropic.messages.create({ ...ANT_BASE, model: 'gpt-4o', tools: ANT_TOOLS, messages });
  assert.equal(call.stop_reason, 'tool_use');
  const use = call.content.find((b) => b.type === 'tool_use');
  assert.ok(use, `a tool_use block in ${JSON.stringify(call.content)}`);
  assert.deepEqual([use.name, use.input], ['get_weather', WEATHER_ARGS]);
  assert.deepEqual((await fakeRequest('openai', t)).body.tools, FN_TOOLS);
  const result = await corral.anthropic.messages.create({ ...ANT_BASE, model: 'gpt-4o', tools: ANT_TOOLS,
    messages: [...messages, { role: 'assistant', content: call.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny 21C' }] }] });
  assert.deepEqual(result.content, [{ type: 'text', text: TOOL_REPLY }]);

  const s = nonce();
  const stream = corral.anthropic.messages.stream({ ...ANT_BASE, model: 'gpt-4o', tools: ANT_TOOLS,
    messages: [{ role: 'user', content: `call get_weather ${s}` }] });
  const final = await stream.finalMessage();
  assert.equal(final.stop_reason, 'tool_use');
  assert.deepEqual(final.content.find((b) => b.type === 'tool_use').input, WEATHER_ARGS);

  const i = nonce();
  const img = await corral.anthropic.messages.create({ ...ANT_BASE, model: 'gpt-4o', messages: [{ role: 'user',
    content: [{ type: 'text', text: `what are these? ${i}` },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG.toString('base64') } },
      { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: JPEG.toString('base64') } }] }] });
  assert.equal(img.content[0].text, `echo: what are these? ${i} ${IMAGES_SEEN}`);

  const w = nonce();
  const text = await corral.anthropic.messages.stream({ ...ANT_BASE, model: 'gpt-4o',
    messages: [{ role: 'user', content: `stream words ${w}` }] }).finalMessage();
  assert.deepEqual(text.content, [{ type: 'text', text: `echo: stream words ${w}` }]);
  assert.deepEqual([text.usage.input_tokens, text.usage.output_tokens], [5, 4]);
});

test('anthropic client → Ollama (fake-ollama): system, options, tools, tool results, images', async () => {
  const n = nonce();
  const r = await corral.anthropic.messages.create({ ...ANT_BASE, max_tokens: 40, stop_sequences: ['zzz'],
    model: ECHO_MODEL, messages: [{ role: 'user', content: `hello ${n}` }] });
  assert.deepEqual(r.content, [{ type: 'text', text: `echo: hello ${n}` }]);
  assert.deepEqual([r.usage.input_tokens, r.usage.output_tokens], [4, 3]);
  const e = await fakeRequest('ollama', n);
  assert.equal(e.path, '/api/chat');
  assert.deepEqual(e.body.messages.map((m) => [m.role, m.content]), [['system', 'be brief'], ['user', `hello ${n}`]]);
  assert.equal(e.body.options?.num_predict, 40, 'max_tokens becomes options.num_predict');
  assert.deepEqual(e.body.options?.stop, ['zzz'], 'stop_sequences become options.stop');

  const t = nonce();
  const messages = [{ role: 'user', content: `please call get_weather ${t}` }];
  const call = await corral.anthropic.messages.create({ ...ANT_BASE, model: ECHO_MODEL, tools: ANT_TOOLS, messages });
  assert.equal(call.stop_reason, 'tool_use');
  const use = call.content.find((b) => b.type === 'tool_use');
  assert.ok(use, `a tool_use block in ${JSON.stringify(call.content)}`);
  assert.deepEqual([use.name, use.input], ['get_weather', WEATHER_ARGS]);
  assert.equal(typeof use.id, 'string');
  assert.deepEqual((await fakeRequest('ollama', t)).body.tools, FN_TOOLS, 'Anthropic tools become Ollama tools');
  const result = await corral.anthropic.messages.create({ ...ANT_BASE, model: ECHO_MODEL, tools: ANT_TOOLS,
    messages: [...messages, { role: 'assistant', content: call.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny 21C' }] }] });
  assert.deepEqual(result.content, [{ type: 'text', text: TOOL_REPLY }], 'the result names the tool it answers');

  const s = nonce();
  const stream = corral.anthropic.messages.stream({ ...ANT_BASE, model: ECHO_MODEL, tools: ANT_TOOLS,
    messages: [{ role: 'user', content: `call get_weather ${s}` }] });
  const final = await stream.finalMessage();
  assert.equal(final.stop_reason, 'tool_use');
  assert.deepEqual(final.content.find((b) => b.type === 'tool_use')?.input, WEATHER_ARGS);

  const i = nonce();
  const img = await corral.anthropic.messages.create({ ...ANT_BASE, model: ECHO_MODEL, messages: [{ role: 'user',
    content: [{ type: 'text', text: `what are these? ${i}` },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG.toString('base64') } },
      { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: JPEG.toString('base64') } }] }] });
  assert.equal(img.content[0].text, `echo: what are these? ${i} ${IMAGES_SEEN}`);
});

// ---- what each API can and cannot carry ---------------------------------------------------

test('ollama format → OpenAI response_format (JSON mode and schema), multi-turn to Anthropic', async () => {
  const n = nonce();
  const json = await corral.ollama.chat({ model: 'gpt-4o', stream: false, format: 'json',
    messages: [{ role: 'user', content: `json ${n}` }] });
  assert.deepEqual(JSON.parse(json.message.content), { echo: `echo: json ${n}` });
  assert.deepEqual((await fakeRequest('openai', n)).body.response_format, { type: 'json_object' });
  const m = nonce();
  const schema = await corral.ollama.chat({ model: 'gpt-4o', stream: false, format: WEATHER_SCHEMA,
    messages: [{ role: 'user', content: `schema ${m}` }] });
  assert.deepEqual(JSON.parse(schema.message.content), WEATHER_ARGS);
  const rf = (await fakeRequest('openai', m)).body.response_format;
  assert.equal(rf?.type, 'json_schema');
  assert.deepEqual(rf.json_schema?.schema, WEATHER_SCHEMA);

  const k = nonce();
  const turns = await corral.ollama.chat({ model: ANT_MODEL, stream: false, messages: [
    { role: 'system', content: 'be brief' }, { role: 'user', content: 'first question' },
    { role: 'assistant', content: 'first answer' }, { role: 'user', content: `second ${k}` }] });
  assert.equal(turns.message.content, `echo: second ${k}`);
  const e = await fakeRequest('anthropic', k);
  assert.deepEqual(e.body.messages.map((x) => [x.role, textOf(x.content)]),
    [['user', 'first question'], ['assistant', 'first answer'], ['user', `second ${k}`]]);
  assert.equal(turns.prompt_eval_count, 8, 'every turn and the system prompt count');
});

test('anthropic client → OpenAI: sampling fields, stop sequences and the history are carried', async () => {
  const n = nonce();
  const r = await corral.anthropic.messages.create({ ...ANT_BASE, model: 'gpt-4o', temperature: 0.2, top_p: 0.9,
    stop_sequences: ['zzz'], messages: [{ role: 'user', content: 'first question' },
      { role: 'assistant', content: 'first answer' }, { role: 'user', content: `second ${n}` }] });
  assert.equal(r.content[0].text, `echo: second ${n}`);
  const b = (await fakeRequest('openai', n)).body;
  assert.deepEqual(b.messages.map((x) => [x.role, textOf(x.content)]), [['system', 'be brief'],
    ['user', 'first question'], ['assistant', 'first answer'], ['user', `second ${n}`]]);
  assert.deepEqual([b.temperature, b.top_p, b.max_tokens ?? b.max_completion_tokens, [b.stop].flat()],
    [0.2, 0.9, 100, ['zzz']]);
});

test('a field the target API cannot express is a 400 naming it, in the client\'s shape, sent nowhere', async () => {
  // Anthropic's Messages API has no seed and one answer per request (no n); OpenAI's chat has no top_k.
  const n = nonce();
  const messages = [{ role: 'user', content: `refuse ${n}` }];
  for (const [model, options, field] of [[ANT_MODEL, { seed: 1 }, /seed/], ['gpt-4o', { top_k: 5 }, /top_k/]]) {
    const e = await rejection(corral.ollama.chat({ model, stream: false, options, messages }));
    assert.equal(e.status_code, 400, `${model} ${JSON.stringify(options)}: ${e}`);
    assert.match(e.error, field);
  }
  const seed = await rejection(corral.openai.chat.completions.create({ model: ANT_MODEL, seed: 3, messages }));
  assert.ok(seed instanceof OpenAI.BadRequestError, `BadRequestError, got ${seed}`);
  assert.match(seed.error?.message ?? '', /seed/);
  const many = await rejection(corral.openai.chat.completions.create({ model: ANT_MODEL, n: 2, messages }));
  assert.ok(many instanceof OpenAI.BadRequestError, `BadRequestError, got ${many}`);
  assert.match(many.error?.message ?? '', /\bn\b/);
  const topK = await rejection(corral.anthropic.messages.create({ ...ANT_BASE, model: 'gpt-4o', top_k: 5, messages }));
  assert.ok(topK instanceof Anthropic.BadRequestError, `BadRequestError, got ${topK}`);
  assert.equal(topK.error?.type, 'error');
  assert.match(topK.apiMessage ?? '', /top_k/);
  assert.equal((await fakeRequests('openai', n)).length + (await fakeRequests('anthropic', n)).length, 0);
});

test('a provider error in the middle of a stream reaches each client as a stream error', async () => {
  const long = 'one two three four five six seven';
  const whole = `echo: ${long}`;
  // Each client's own stream reader must fail, after part of the answer, never looking complete.
  async function broken(parts) {
    let text = '';
    let done = false;
    const err = await rejection((async () => {
      for await (const p of await parts()) {
        text += p.message?.content ?? p.choices?.[0]?.delta?.content ?? (p.delta?.text ?? '');
        if (p.done === true || p.type === 'message_stop' || p.choices?.[0]?.finish_reason) done = true;
      }
    })());
    assert.ok(text.length > 0 && text !== whole, `part of the answer arrived: "${text}" (then ${err}${
      err.cause ? `, cause ${err.cause}` : ''})`);
    assert.equal(done, false, 'no end-of-answer marker was relayed');
    return err;
  }
  const messages = [{ role: 'user', content: long }];
  // Anthropic's `event: error` (overloaded_error), translated.
  const o = await broken(() => corral.ollama.chat({ model: 'claude-mid-stream-error', stream: true, messages }));
  assert.match(o.message, /overload/i, `the ollama client sees the provider's error: ${o}`);
  const p = await broken(() => corral.openai.chat.completions.create({ model: 'claude-mid-stream-error',
    stream: true, messages }));
  assert.ok(p instanceof OpenAI.APIError, `an OpenAI APIError from the stream, got ${p}`);
  assert.match(p.message, /overload/i);
  const a = await broken(() => corral.anthropic.messages.create({ ...ANT_BASE, model: 'claude-mid-stream-error',
    stream: true, messages }));
  assert.ok(a instanceof Anthropic.APIError, `passed through: ${a}`);
  assert.equal(a.type, 'overloaded_error');
  // OpenAI's stream breaks off (no [DONE]): each client still sees an error, not a short answer.
  for (const run of [
    () => corral.ollama.chat({ model: 'gpt-4o-mid-stream-error', stream: true, messages }),
    () => corral.anthropic.messages.create({ ...ANT_BASE, model: 'gpt-4o-mid-stream-error', stream: true, messages }),
  ]) {
    assert.ok((await broken(run)) instanceof Error);
  }
});

// ---- aliases and merged model lists -----------------------------------------------------

const SIM_MODELS = ['llama3.2:latest', 'qwen2.5:7b', 'nomic-embed-text:latest', ECHO_MODEL];
const HOSTED_MODELS = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4-5', 'gpt-4.1-mini'];
const ALIASES = ['fast', 'gpt-4'];
// Ollama lists names with a tag; a hosted name may or may not get ":latest".
const listed = (names, m) => names.includes(m) || names.includes(`${m}:latest`);

test('/v1/models and /api/tags list every kind\'s models and the aliases', async () => {
  const v1 = (await collect(corral.openai.models.list())).map((m) => m.id);
  const tags = (await corral.ollama.list()).models.map((m) => m.name);
  for (const m of [...SIM_MODELS, ...HOSTED_MODELS, ...ALIASES]) {
    assert.ok(listed(v1, m), `/v1/models lists ${m}: ${v1.join(', ')}`);
    assert.ok(listed(tags, m), `/api/tags lists ${m}: ${tags.join(', ')}`);
  }
});

test('alias fast → llama3.2:latest on corral-sim: routed, answered under the name asked for', async () => {
  const messages = [{ role: 'user', content: 'quick one' }];
  const native = await simChat(messages);
  const r = await corral.ollama.chat({ model: 'fast', messages, stream: false });
  assert.equal(r.model, 'fast');
  assert.equal(r.message.content, native.message.content);
  const parts = await collect(await corral.ollama.chat({ model: 'fast', messages, stream: true }));
  assert.ok(parts.every((p) => p.model === 'fast'), `every part says fast: ${parts.map((p) => p.model)}`);
  const o = await corral.openai.chat.completions.create({ model: 'fast', messages });
  assert.equal(o.model, 'fast');
});

test('alias gpt-4 → gpt-4o on the fake OpenAI: the forwarded body names gpt-4o, answers say gpt-4', async () => {
  const n = nonce();
  const r = await corral.openai.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: n }] });
  assert.equal(r.model, 'gpt-4');
  assert.equal(r.choices[0].message.content, `echo: ${n}`);
  const e = await fakeRequest('openai', n);
  assert.equal(e.body.model, 'gpt-4o');
  assertOpenAIAuth(e);
  const m = nonce();
  const chunks = await collect(await corral.openai.chat.completions.create({ model: 'gpt-4', stream: true,
    messages: [{ role: 'user', content: m }] }));
  assert.ok(chunks.every((c) => c.model === 'gpt-4'), `every chunk says gpt-4: ${chunks.map((c) => c.model)}`);
  const o = await corral.ollama.chat({ model: 'gpt-4', stream: false, messages: [{ role: 'user', content: 'ol' }] });
  assert.deepEqual([o.model, o.message.content], ['gpt-4', 'echo: ol']);
  const a = await corral.anthropic.messages.create({ ...ANT_BASE, model: 'gpt-4',
    messages: [{ role: 'user', content: 'an' }] });
  assert.deepEqual([a.model, a.content[0].text], ['gpt-4', 'echo: an']);
});

// ---- the TLS front door ------------------------------------------------------------------

test('tls_listen serves the official clients over TLS (ALPN http/1.1, the test CA)', async () => {
  const url = new URL(args['corral-tls']);
  const alpn = await new Promise((resolve, reject) => {
    const s = tls.connect({ host: url.hostname, port: Number(url.port), servername: url.hostname,
      ALPNProtocols: ['h2', 'http/1.1'] }, () => {
      resolve({ authorized: s.authorized, protocol: s.alpnProtocol });
      s.end();
    });
    s.on('error', reject);
  });
  assert.deepEqual(alpn, { authorized: true, protocol: 'http/1.1' });

  const o = await corralTls.ollama.chat({ model: SIM_MODEL, stream: false,
    messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(o.done, true);
  const n = nonce();
  const oai = await corralTls.openai.chat.completions.create({ model: 'gpt-4o',
    messages: [{ role: 'user', content: n }] });
  assert.equal(oai.choices[0].message.content, `echo: ${n}`);
  const stream = await collect(await corralTls.ollama.chat({ model: 'gpt-4o', stream: true,
    messages: [{ role: 'user', content: 'over tls' }] }));
  assert.equal(stream.map((p) => p.message.content).join(''), 'echo: over tls');
  const ant = await corralTls.anthropic.messages.stream({ ...ANT_BASE, model: ANT_MODEL,
    messages: [{ role: 'user', content: 'tls too' }] }).finalMessage();
  assert.equal(ant.content[0].text, 'echo: tls too');
  assert.equal((await fetch(`${args.corral}/health`)).status, 200, 'plain listen keeps working beside it');
});

// ---- connection reuse to the providers ------------------------------------------------------

test('TLS connections to a provider are kept alive and reused', async () => {
  const n = nonce();
  const count = 6;
  for (let i = 0; i < count; i++) {
    const r = await corral.openai.chat.completions.create({ model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `reuse ${n} ${i}` }] });
    assert.equal(r.choices[0].message.content, `echo: reuse ${n} ${i}`);
  }
  const hits = await fakeRequests('openai', n);
  assert.equal(hits.length, count);
  const connections = new Set(hits.map((e) => e.connection)).size;
  assert.ok(connections < count, `${count} requests on ${connections} connections: a pooled connection is reused`);
});

test('TLS sessions are resumed on new connections to a provider', async () => {
  // Only corral talks to this fake (its discovery at start, then these requests), and it closes
  // connections idle for 100 ms: corral opens several, and each after the first should resume.
  const n = nonce();
  for (let i = 0; i < 4; i++) {
    if (i) await sleep(150);
    const r = await corral.openai.chat.completions.create({ model: 'gpt-4.1-mini',
      messages: [{ role: 'user', content: `brief ${n} ${i}` }] });
    assert.equal(r.choices[0].message.content, `echo: brief ${n} ${i}`);
  }
  const log = (await getJson(`${fakes.brief}/fake/requests`)).body;
  assert.equal(log.filter((e) => JSON.stringify(e.body ?? '').includes(n)).length, 4);
  const firstOf = new Map();
  for (const e of log) if (!firstOf.has(e.connection)) firstOf.set(e.connection, e);
  const connections = [...firstOf.values()];
  const summary = connections.map((e) => `${e.path} resumed=${e.tls.resumed}`).join(', ');
  assert.ok(connections.length >= 2, `discovery and the requests used ${connections.length} connection(s)`);
  assert.equal(connections[0].tls.resumed, false, 'the first handshake is a full one');
  assert.ok(connections.slice(1).every((e) => e.tls.resumed), `later connections resume: ${summary}`);
});

// ---- tokens in /metrics and analytics --------------------------------------------------------

test('metrics and analytics: gpt-4o tokens equal the provider\'s usage, native and translated', async () => {
  const n = nonce();
  const before = await settledMetrics();
  const expected = [];
  const oai = await corral.openai.chat.completions.create({ model: 'gpt-4o',
    messages: [{ role: 'user', content: `count one ${n}` }] });
  expected.push([oai.usage.prompt_tokens, oai.usage.completion_tokens]);
  const stream = corral.openai.chat.completions.stream({ model: 'gpt-4o', stream_options: { include_usage: true },
    messages: [{ role: 'user', content: `count two two ${n}` }] });
  const final = await stream.finalChatCompletion();
  expected.push([final.usage.prompt_tokens, final.usage.completion_tokens]);
  const ol = await corral.ollama.chat({ model: 'gpt-4o', stream: false,
    messages: [{ role: 'user', content: `count three three three ${n}` }] });
  expected.push([ol.prompt_eval_count, ol.eval_count]);
  const ols = await collect(await corral.ollama.chat({ model: 'gpt-4o', stream: true,
    messages: [{ role: 'user', content: `count four four four four ${n}` }] }));
  expected.push([ols.at(-1).prompt_eval_count, ols.at(-1).eval_count]);
  const ant = await corral.anthropic.messages.create({ ...ANT_BASE, model: 'gpt-4o',
    messages: [{ role: 'user', content: `count five ${n}` }] });
  expected.push([ant.usage.input_tokens, ant.usage.output_tokens]);
  // The fake's word counts, independent of what corral relayed.
  assert.deepEqual(expected, [[3, 4], [4, 5], [5, 6], [6, 7], [5, 4]]);

  const after = await settledMetrics();
  const delta = (family) => metricSum(after, family, 'gpt-4o') - metricSum(before, family, 'gpt-4o');
  assert.equal(delta('corral_prompt_tokens_total'), 23, 'corral_prompt_tokens_total{model="gpt-4o"} grew by the usage');
  assert.equal(delta('corral_completion_tokens_total'), 26, 'corral_completion_tokens_total{model="gpt-4o"}');

  let rows = [];
  for (let i = 0; i < 100 && rows.length < expected.length; i++) {
    if (i) await sleep(50);
    const q = await getJson(`${args.corral}/analytics/search?model=gpt-4o&prompt_search=${n}&limit=50`);
    assert.equal(q.status, 200, q.text);
    rows = q.body.results;
  }
  assert.equal(rows.length, expected.length, `analytics rows for ${n}: ${JSON.stringify(rows)}`);
  const got = rows.map((r) => [r.prompt_tokens, r.completion_tokens]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  assert.deepEqual(got, [...expected].sort((a, b) => a[0] - b[0] || a[1] - b[1]));
  for (const r of rows) {
    assert.deepEqual([r.model, r.backend, r.status], ['gpt-4o', 'openai', 200]);
    assert.ok(r.duration_ms > 0, `duration_ms in ${JSON.stringify(r)}`);
    if (r.stream) assert.ok(r.ttft_ms > 0, `a streamed request's ttft_ms in ${JSON.stringify(r)}`);
  }
});

test('analytics records both names of an aliased request', async () => {
  const n = nonce();
  await corral.openai.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: `alias ${n}` }] });
  let rows = [];
  for (let i = 0; i < 100 && !rows.length; i++) {
    if (i) await sleep(50);
    rows = (await getJson(`${args.corral}/analytics/search?prompt_search=${n}`)).body.results;
  }
  assert.equal(rows.length, 1, `one row for ${n}`);
  const values = Object.values(rows[0]);
  assert.ok(values.includes('gpt-4') && values.includes('gpt-4o'), `gpt-4 and gpt-4o in ${JSON.stringify(rows[0])}`);
});

// ---- provider errors in each client's shape (last: a failure may count against a backend) ----

test('provider 429 and 500 → openai client: RateLimitError with Retry-After, InternalServerError', async () => {
  for (const model of ['gpt-4o-rate-limit', 'claude-rate-limit']) {
    const e = await rejection(corral.openai.chat.completions.create({ model,
      messages: [{ role: 'user', content: 'x' }] }));
    assert.ok(e instanceof OpenAI.RateLimitError, `${model}: RateLimitError, got ${e}`);
    assert.equal(e.status, 429);
    assert.equal(e.headers.get('retry-after'), '7', `${model}: the provider's Retry-After`);
    assert.equal(typeof e.error?.message, 'string', `${model}: OpenAI's error shape, got ${JSON.stringify(e.error)}`);
  }
  for (const model of ['gpt-4o-server-error', 'claude-server-error']) {
    const e = await rejection(corral.openai.chat.completions.create({ model,
      messages: [{ role: 'user', content: 'x' }] }));
    assert.ok(e instanceof OpenAI.InternalServerError, `${model}: InternalServerError, got ${e}`);
    assert.equal(e.status, 500);
    assert.equal(typeof e.error?.message, 'string', `${model}: OpenAI's error shape, got ${JSON.stringify(e.error)}`);
  }
});

test('provider 429 and 500 → anthropic client: RateLimitError with Retry-After, InternalServerError', async () => {
  for (const model of ['claude-rate-limit', 'gpt-4o-rate-limit']) {
    const e = await rejection(corral.anthropic.messages.create({ ...ANT_BASE, model,
      messages: [{ role: 'user', content: 'x' }] }));
    assert.ok(e instanceof Anthropic.RateLimitError, `${model}: RateLimitError, got ${e}`);
    assert.equal(e.status, 429);
    assert.equal(e.headers.get('retry-after'), '7', `${model}: the provider's Retry-After`);
    assert.equal(e.error?.type, 'error', `${model}: Anthropic's error shape, got ${JSON.stringify(e.error)}`);
    assert.equal(e.type, 'rate_limit_error');
  }
  for (const model of ['claude-server-error', 'gpt-4o-server-error']) {
    const e = await rejection(corral.anthropic.messages.create({ ...ANT_BASE, model,
      messages: [{ role: 'user', content: 'x' }] }));
    assert.ok(e instanceof Anthropic.InternalServerError, `${model}: InternalServerError, got ${e}`);
    assert.equal(e.status, 500);
    assert.equal(e.error?.type, 'error', `${model}: Anthropic's error shape, got ${JSON.stringify(e.error)}`);
    assert.equal(e.type, 'api_error');
  }
});

test('provider 429 and 500 → ollama client: ResponseError with the status, Ollama shape, Retry-After', async () => {
  for (const [model, status] of [['gpt-4o-rate-limit', 429], ['claude-rate-limit', 429],
    ['gpt-4o-server-error', 500], ['claude-server-error', 500]]) {
    const e = await rejection(corral.ollama.chat({ model, stream: false, messages: [{ role: 'user', content: 'x' }] }));
    assert.equal(e.name, 'ResponseError', `${model}: ${e}`);
    assert.equal(e.status_code, status, model);
    const raw = await getJson(`${args.corral}/api/chat`, { method: 'POST',
      body: JSON.stringify({ model, stream: false, messages: [{ role: 'user', content: 'x' }] }) });
    assert.equal(raw.status, status);
    assert.equal(typeof raw.body?.error, 'string', `${model}: Ollama's {"error": "…"}, got ${raw.text}`);
    if (status === 429) assert.equal(raw.headers.get('retry-after'), '7', `${model}: the provider's Retry-After`);
  }
});
