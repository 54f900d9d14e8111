// Proves the fakes speak what the official SDKs expect: the `openai` and
// `@anthropic-ai/sdk` npm clients run against fake-openai.mjs and
// fake-anthropic.mjs over TLS (test CA trusted through NODE_EXTRA_CA_CERTS),
// plus raw SSE lines checked against the providers' streaming references.
// usage: NODE_EXTRA_CA_CERTS=DIR/ca.pem node selftest.mjs --certs DIR   (DIR from make-certs.sh)
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, test } from 'node:test';
import { parseArgs } from 'node:util';
import { ANT_TOOLS, collect, FN_TOOLS, IMAGES_SEEN, JPEG, PNG, rejection, WEATHER_ARGS, WEATHER_SCHEMA }
  from './fixtures.mjs';
import { startFake } from './launch.mjs';

const { values: args } = parseArgs({ options: { certs: { type: 'string' } } });
if (!args.certs) {
  console.error('usage: node selftest.mjs --certs DIR');
  process.exit(2);
}
const tlsArgs = (name = 'server') => ['--cert', `${args.certs}/${name}.pem`, '--key', `${args.certs}/${name}.key`];
const OPENAI_KEY = 'sk-fake-openai-0123456789abcdef';
const ANTHROPIC_KEY = 'sk-ant-api03-fake-0123456789abcdef';
const OPENAI_MODELS = ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small'];
const ANTHROPIC_MODELS = ['claude-sonnet-4-5', 'claude-haiku-4-5'];
const fakes = {};

before(async () => {
  const common = ['--slow-ms', '300'];
  [fakes.openai, fakes.anthropic] = await Promise.all([
    startFake('openai', [...tlsArgs(), ...common, '--api-key', OPENAI_KEY, '--models', OPENAI_MODELS.join(',')]),
    startFake('anthropic', [...tlsArgs(), ...common, '--api-key', ANTHROPIC_KEY,
      '--models', ANTHROPIC_MODELS.join(',')]),
  ]);
});
after(async () => {
  await Promise.all(Object.values(fakes).map((f) => f.stop()));
});

// Retries would hide a wrong status, so there are none.
const openai = (opts = {}) =>
  new OpenAI({ baseURL: `${fakes.openai.origin}/v1`, apiKey: OPENAI_KEY, maxRetries: 0, ...opts });
const anthropic = (opts = {}) =>
  new Anthropic({ baseURL: fakes.anthropic.origin, apiKey: ANTHROPIC_KEY, maxRetries: 0, ...opts });
const words = (s) => s.split(/\s+/).filter(Boolean).length;

async function lastRequest(fake, path) {
  const log = await (await fetch(`${fake.origin}/fake/requests`)).json();
  const hit = log.filter((e) => e.path === path).at(-1);
  assert.ok(hit, `the fake logged a request to ${path}`);
  return hit;
}

// ---- OpenAI ----------------------------------------------------------------

const OAI_MESSAGES = [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello fake world' }];

test('openai chat: echo, usage from word counts, sampling fields in the request log', async () => {
  const r = await openai().chat.completions.create({ model: 'gpt-4o-mini', messages: OAI_MESSAGES, temperature: 0.3,
    top_p: 0.9, max_tokens: 50, seed: 7, stop: ['zzz'], response_format: { type: 'text' } });
  assert.equal(r.object, 'chat.completion');
  assert.match(r.id, /^chatcmpl-/);
  assert.equal(r.model, 'gpt-4o-mini');
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, 'echo: hello fake world');
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.deepEqual([r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens], [5, 4, 9]);
  assert.match(r._request_id, /^req_/);
  const logged = await lastRequest(fakes.openai, '/v1/chat/completions');
  assert.equal(logged.headers.authorization, `Bearer ${OPENAI_KEY}`);
  assert.equal(logged.tls.servername, 'localhost');
  const { temperature, top_p, max_tokens, seed, stop, response_format } = logged.body;
  assert.deepEqual({ temperature, top_p, max_tokens, seed, stop, response_format },
    { temperature: 0.3, top_p: 0.9, max_tokens: 50, seed: 7, stop: ['zzz'], response_format: { type: 'text' } });
  assert.equal(logged.status, 200);
});

test('openai chat stream: content in several chunks, usage chunk with empty choices, [DONE]', async () => {
  const chunks = await collect(await openai().chat.completions.create({ model: 'gpt-4o-mini', messages: OAI_MESSAGES,
    stream: true, stream_options: { include_usage: true } }));
  const content = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? '')).join('');
  assert.equal(content, 'echo: hello fake world');
  assert.ok(chunks.filter((c) => c.choices[0]?.delta.content).length >= 3, 'content arrives in several chunks');
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id));
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  assert.equal(chunks.at(-2).choices[0].finish_reason, 'stop');
  assert.deepEqual(chunks.at(-1).choices, []);
  assert.deepEqual([chunks.at(-1).usage.prompt_tokens, chunks.at(-1).usage.completion_tokens], [5, 4]);
  assert.ok(chunks.slice(0, -1).every((c) => c.usage === null), 'usage is null on every other chunk');

  const helper = openai().chat.completions.stream({ model: 'gpt-4o-mini', messages: OAI_MESSAGES,
    stream_options: { include_usage: true } });
  const final = await helper.finalChatCompletion();
  assert.equal(final.choices[0].message.content, 'echo: hello fake world');
  assert.equal(final.usage.total_tokens, 9);
});

test('openai chat stream without include_usage has no usage chunk', async () => {
  const chunks = await collect(await openai().chat.completions.create({ model: 'gpt-4o-mini', messages: OAI_MESSAGES,
    stream: true }));
  assert.ok(chunks.every((c) => c.choices.length === 1 && c.usage === undefined));
});

test('openai raw SSE lines follow the chat.completion.chunk stream', async () => {
  const res = await fetch(`${fakes.openai.origin}/v1/chat/completions`, { method: 'POST',
    headers: { authorization: `Bearer ${OPENAI_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', stream: true, stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'a b' }] }) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  assert.match(res.headers.get('x-request-id'), /^req_/);
  const events = (await res.text()).split('\n\n');
  assert.equal(events.pop(), '', 'the stream ends with a blank line');
  assert.equal(events.at(-1), 'data: [DONE]');
  for (const e of events.slice(0, -1)) {
    assert.match(e, /^data: \{"id":"chatcmpl-[^\n]*\}$/, 'one data line per event, no event: field');
    const chunk = JSON.parse(e.slice(6));
    assert.equal(chunk.object, 'chat.completion.chunk');
    assert.equal(typeof chunk.created, 'number');
    assert.equal(chunk.model, 'gpt-4o');
  }
});

test('openai tool call: arguments from the schema, tool result round trip', async () => {
  const client = openai();
  const messages = [{ role: 'user', content: 'please call get_weather for Paris' }];
  const r = await client.chat.completions.create({ model: 'gpt-4o', messages, tools: FN_TOOLS });
  const choice = r.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.content, null);
  assert.equal(choice.message.tool_calls.length, 1);
  const call = choice.message.tool_calls[0];
  assert.equal(call.type, 'function');
  assert.match(call.id, /^call_/);
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), WEATHER_ARGS);

  const again = await client.chat.completions.create({ model: 'gpt-4o', tools: FN_TOOLS,
    messages: [...messages, choice.message, { role: 'tool', tool_call_id: call.id, content: 'sunny 21C' }] });
  assert.equal(again.choices[0].message.content, 'tool get_weather returned: sunny 21C');
  assert.equal(again.choices[0].finish_reason, 'stop');
});

test('openai tool call stream: argument fragments accumulate into JSON the SDK parses', async () => {
  const stream = openai().chat.completions.stream({ model: 'gpt-4o', tools: FN_TOOLS,
    messages: [{ role: 'user', content: 'call get_weather' }], stream_options: { include_usage: true } });
  const chunks = await collect(stream);
  const final = await stream.finalChatCompletion();
  const call = final.choices[0].message.tool_calls[0];
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), WEATHER_ARGS);
  const head = chunks[0].choices[0].delta.tool_calls[0];
  assert.deepEqual([head.index, head.id, head.type, head.function.arguments], [0, call.id, 'function', '']);
  const fragments = chunks.filter((c) => c.choices[0]?.delta.tool_calls?.[0]?.function?.arguments);
  assert.ok(fragments.length >= 3, `arguments in several chunks (${fragments.length})`);
  assert.equal(final.usage.completion_tokens, words(JSON.stringify(WEATHER_ARGS)));
});

test('openai image_url content parts arrive intact', async () => {
  const r = await openai().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: [
    { type: 'text', text: 'what are these?' },
    { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG.toString('base64')}` } },
    { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${JPEG.toString('base64')}`, detail: 'low' } },
  ] }] });
  assert.equal(r.choices[0].message.content, `echo: what are these? ${IMAGES_SEEN}`);
  assert.equal(r.usage.prompt_tokens, 3, 'images carry no words');
});

test('openai max_tokens, stop and response_format shape the reply', async () => {
  const client = openai();
  const short = await client.chat.completions.create({ model: 'gpt-4o', messages: OAI_MESSAGES,
    max_completion_tokens: 2 });
  assert.deepEqual([short.choices[0].message.content, short.choices[0].finish_reason], ['echo: hello', 'length']);
  const stopped = await client.chat.completions.create({ model: 'gpt-4o', messages: OAI_MESSAGES, stop: 'fake' });
  assert.deepEqual([stopped.choices[0].message.content, stopped.choices[0].finish_reason], ['echo: hello ', 'stop']);
  const json = await client.chat.completions.create({ model: 'gpt-4o', messages: OAI_MESSAGES,
    response_format: { type: 'json_object' } });
  assert.deepEqual(JSON.parse(json.choices[0].message.content), { echo: 'echo: hello fake world' });
  const schema = await client.chat.completions.create({ model: 'gpt-4o', messages: OAI_MESSAGES,
    response_format: { type: 'json_schema', json_schema: { name: 'w', schema: WEATHER_SCHEMA } } });
  assert.deepEqual(JSON.parse(schema.choices[0].message.content), WEATHER_ARGS);
});

test('openai errors surface as the SDK error classes', async () => {
  const chat = (model) => openai().chat.completions.create({ model, messages: OAI_MESSAGES });
  const limited = await rejection(chat('gpt-rate-limit'));
  assert.ok(limited instanceof OpenAI.RateLimitError, `RateLimitError, got ${limited}`);
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get('retry-after'), '7');
  assert.equal(limited.code, 'rate_limit_exceeded');
  assert.match(limited.requestID, /^req_/);

  const broken = await rejection(chat('gpt-server-error'));
  assert.ok(broken instanceof OpenAI.InternalServerError, `InternalServerError, got ${broken}`);
  assert.equal(broken.status, 500);
  assert.equal(broken.type, 'server_error');

  const wrongKey = 'sk-wrong-key-0123456789abcdef';
  const denied = await rejection(openai({ apiKey: wrongKey }).models.list());
  assert.ok(denied instanceof OpenAI.AuthenticationError, `AuthenticationError, got ${denied}`);
  assert.equal(denied.code, 'invalid_api_key');
  assert.ok(!denied.message.includes(wrongKey), 'the key is masked in the message');

  const missing = await rejection(chat('gpt-9-nonexistent'));
  assert.ok(missing instanceof OpenAI.NotFoundError, `NotFoundError, got ${missing}`);
  assert.equal(missing.code, 'model_not_found');

  const noAuth = await fetch(`${fakes.openai.origin}/v1/models`);
  assert.equal(noAuth.status, 401);
  assert.match((await noAuth.json()).error.message, /didn't provide an API key/);
  const badRequest = await rejection(openai().chat.completions.create({ model: 'gpt-4o', messages: [] }));
  assert.ok(badRequest instanceof OpenAI.BadRequestError);
  assert.equal(badRequest.param, 'messages');
});

test('openai mid-stream-error breaks the stream and the body off', async () => {
  const stream = await openai().chat.completions.create({ model: 'gpt-mid-stream-error', stream: true,
    messages: [{ role: 'user', content: 'one two three four five six seven' }] });
  let text = '';
  const err = await rejection((async () => {
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
  })());
  assert.ok(err instanceof Error);
  assert.ok(text.length > 0 && text !== 'echo: one two three four five six seven', `a part arrived: "${text}"`);
  const body = await rejection(openai().chat.completions.create({ model: 'gpt-mid-stream-error',
    messages: OAI_MESSAGES }));
  assert.ok(body instanceof Error);
  const logged = await lastRequest(fakes.openai, '/v1/chat/completions');
  assert.deepEqual([logged.status, logged.completed], [200, false], 'the log shows the cut-off response');
});

test('a client that leaves mid-stream is logged as not completed', async () => {
  const long = Array.from({ length: 400 }, (_, i) => `w${i}`).join(' ');
  const stream = await openai().chat.completions.create({ model: 'gpt-4o-mini', stream: true,
    messages: [{ role: 'user', content: long }] });
  for await (const _ of stream) break;
  let logged;
  for (let i = 0; i < 100; i++) {
    logged = await lastRequest(fakes.openai, '/v1/chat/completions');
    if (logged.status !== null) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual([logged.status, logged.completed], [200, false]);
  const done = await openai().chat.completions.create({ model: 'gpt-4o-mini', messages: OAI_MESSAGES });
  assert.ok(done.id);
  assert.equal((await lastRequest(fakes.openai, '/v1/chat/completions')).completed, true);
});

test('openai slow delays the first byte past a short client timeout, then answers', async () => {
  const timedOut = await rejection(openai({ timeout: 50 }).chat.completions.create({ model: 'gpt-slow',
    messages: OAI_MESSAGES }));
  assert.ok(timedOut instanceof OpenAI.APIConnectionTimeoutError, `timeout, got ${timedOut}`);
  const r = await openai().chat.completions.create({ model: 'gpt-slow', messages: OAI_MESSAGES });
  assert.equal(r.choices[0].message.content, 'echo: hello fake world');
});

test('openai models list and retrieve', async () => {
  const client = openai();
  const models = await collect(client.models.list());
  assert.deepEqual(models.map((m) => m.id), OPENAI_MODELS);
  for (const m of models) {
    assert.equal(m.object, 'model');
    assert.equal(typeof m.created, 'number');
    assert.equal(typeof m.owned_by, 'string');
  }
  assert.equal((await client.models.retrieve('gpt-4o')).id, 'gpt-4o');
  assert.ok((await rejection(client.models.retrieve('nope'))) instanceof OpenAI.NotFoundError);
});

test('openai embeddings: base64 (the SDK default) and float agree', async () => {
  const input = ['alpha beta', 'gamma'];
  const r = await openai().embeddings.create({ model: 'text-embedding-3-small', input, dimensions: 4 });
  assert.equal((await lastRequest(fakes.openai, '/v1/embeddings')).body.encoding_format, 'base64');
  assert.equal(r.data.length, 2);
  assert.ok(r.data.every((d, i) => d.object === 'embedding' && d.index === i && d.embedding.length === 4));
  assert.notDeepEqual(r.data[0].embedding, r.data[1].embedding);
  assert.equal(r.usage.prompt_tokens, 3);
  const raw = await (await fetch(`${fakes.openai.origin}/v1/embeddings`, { method: 'POST',
    headers: { authorization: `Bearer ${OPENAI_KEY}` },
    body: JSON.stringify({ model: 'text-embedding-3-small', input, dimensions: 4, encoding_format: 'float' }),
  })).json();
  assert.deepEqual(raw.data.map((d) => d.embedding), r.data.map((d) => d.embedding));
});

// ---- Anthropic -------------------------------------------------------------

const ANT_REQUEST = { model: 'claude-sonnet-4-5', max_tokens: 100, system: 'be brief',
  messages: [{ role: 'user', content: 'hello fake world' }] };

function rawAnthropic(body, headers = {}) {
  return fetch(`${fakes.anthropic.origin}/v1/messages`, { method: 'POST', body: JSON.stringify(body),
    headers: { 'x-api-key': ANTHROPIC_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json',
      ...headers } });
}

test('anthropic message: echo, usage, the key arrives as the SDK sends it', async () => {
  const r = await anthropic().messages.create({ ...ANT_REQUEST, stop_sequences: ['zzz'] });
  assert.equal(r.type, 'message');
  assert.equal(r.role, 'assistant');
  assert.match(r.id, /^msg_/);
  assert.deepEqual(r.content, [{ type: 'text', text: 'echo: hello fake world' }]);
  assert.equal(r.stop_reason, 'end_turn');
  assert.equal(r.stop_sequence, null);
  assert.deepEqual([r.usage.input_tokens, r.usage.output_tokens], [5, 4]);
  assert.match(r._request_id, /^req_/);
  const logged = await lastRequest(fakes.anthropic, '/v1/messages');
  const sentKey = logged.headers['x-api-key'] ?? logged.headers.authorization?.replace(/^Bearer /, '');
  assert.equal(sentKey, ANTHROPIC_KEY);
  assert.ok(logged.headers['anthropic-version']);
  assert.deepEqual(logged.body.stop_sequences, ['zzz']);
});

test('anthropic auth: x-api-key or Bearer, x-api-key decides, anthropic-version required', async () => {
  assert.equal((await rawAnthropic(ANT_REQUEST)).status, 200);
  const headers = { authorization: `Bearer ${ANTHROPIC_KEY}`, 'anthropic-version': '2023-06-01' };
  const onlyBearer = await fetch(`${fakes.anthropic.origin}/v1/messages`, { method: 'POST', headers,
    body: JSON.stringify(ANT_REQUEST) });
  assert.equal(onlyBearer.status, 200);
  const both = await rawAnthropic(ANT_REQUEST,
    { 'x-api-key': 'sk-ant-wrong', authorization: `Bearer ${ANTHROPIC_KEY}` });
  assert.equal(both.status, 401);
  const none = await fetch(`${fakes.anthropic.origin}/v1/messages`, { method: 'POST',
    headers: { 'anthropic-version': '2023-06-01' }, body: JSON.stringify(ANT_REQUEST) });
  assert.equal(none.status, 401);
  const noneBody = await none.json();
  assert.deepEqual([noneBody.type, noneBody.error.type], ['error', 'authentication_error']);
  assert.equal(noneBody.request_id, none.headers.get('request-id'));
  const noVersion = await fetch(`${fakes.anthropic.origin}/v1/messages`, { method: 'POST',
    headers: { 'x-api-key': ANTHROPIC_KEY }, body: JSON.stringify(ANT_REQUEST) });
  assert.equal(noVersion.status, 400);
  assert.deepEqual((await noVersion.json()).error,
    { type: 'invalid_request_error', message: 'anthropic-version: header is required' });

  const denied = await rejection(anthropic({ apiKey: 'sk-ant-wrong' }).messages.create(ANT_REQUEST));
  assert.ok(denied instanceof Anthropic.AuthenticationError, `AuthenticationError, got ${denied}`);
  assert.equal(denied.type, 'authentication_error');
});

test('anthropic request validation: max_tokens, system role, version 2026-10-21 sampling fields', async () => {
  const { max_tokens: _, ...noMax } = ANT_REQUEST;
  const r1 = await rawAnthropic(noMax);
  assert.equal(r1.status, 400);
  assert.equal((await r1.json()).error.message, 'max_tokens: Field required');
  const r2 = await rawAnthropic({ ...ANT_REQUEST,
    messages: [{ role: 'system', content: 'x' }, ...ANT_REQUEST.messages] });
  assert.equal(r2.status, 400);
  assert.match((await r2.json()).error.message, /Unexpected role "system"/);
  const old = await rawAnthropic({ ...ANT_REQUEST, temperature: 0.2, top_k: 5 });
  assert.equal(old.status, 200, '2023-06-01 takes temperature and top_k');
  const v2026 = await rawAnthropic({ ...ANT_REQUEST, temperature: 1 }, { 'anthropic-version': '2026-10-21' });
  assert.equal(v2026.status, 400);
  assert.equal((await v2026.json()).error.message, 'temperature: Extra inputs are not permitted');
  const bad = await rawAnthropic(ANT_REQUEST, { 'anthropic-version': '2024-10-22' });
  assert.equal(bad.status, 400);
});

test('anthropic stream: the SDK sees the event sequence and accumulates the message', async () => {
  const events = await collect(await anthropic().messages.create({ ...ANT_REQUEST, stream: true }));
  const types = events.map((e) => e.type);
  assert.equal(types[0], 'message_start');
  assert.equal(types[1], 'content_block_start');
  assert.deepEqual(types.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
  const deltas = events.filter((e) => e.type === 'content_block_delta');
  assert.ok(deltas.length >= 3, 'text in several deltas');
  assert.ok(deltas.every((d) => d.index === 0 && d.delta.type === 'text_delta'));
  assert.equal(deltas.map((d) => d.delta.text).join(''), 'echo: hello fake world');
  assert.equal(events[0].message.usage.input_tokens, 5);
  const delta = events.at(-2);
  assert.deepEqual([delta.delta.stop_reason, delta.usage.output_tokens], ['end_turn', 4]);

  const final = await anthropic().messages.stream(ANT_REQUEST).finalMessage();
  assert.deepEqual(final.content, [{ type: 'text', text: 'echo: hello fake world' }]);
  assert.deepEqual([final.stop_reason, final.usage.input_tokens, final.usage.output_tokens], ['end_turn', 5, 4]);
});

test('anthropic raw SSE: named events whose data type matches, ping after the first block start', async () => {
  const res = await rawAnthropic({ ...ANT_REQUEST, stream: true });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  assert.match(res.headers.get('request-id'), /^req_/);
  const blocks = (await res.text()).split('\n\n');
  assert.equal(blocks.pop(), '');
  const events = blocks.map((b) => {
    const m = /^event: ([a-z_]+)\ndata: (\{.*\})$/.exec(b);
    assert.ok(m, `an event: line then a data: line, got ${JSON.stringify(b)}`);
    const data = JSON.parse(m[2]);
    assert.equal(data.type, m[1], 'the data type repeats the event name');
    return m[1];
  });
  assert.deepEqual(events.slice(0, 3), ['message_start', 'content_block_start', 'ping']);
  assert.deepEqual(events.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
});

test('anthropic tool use: text then tool_use, tool_result round trip', async () => {
  const client = anthropic();
  const messages = [{ role: 'user', content: 'please call get_weather for Paris' }];
  const r = await client.messages.create({ ...ANT_REQUEST, messages, tools: ANT_TOOLS });
  assert.equal(r.stop_reason, 'tool_use');
  assert.equal(r.content.length, 2);
  assert.deepEqual(r.content[0], { type: 'text', text: 'Calling get_weather.' });
  const use = r.content[1];
  assert.equal(use.type, 'tool_use');
  assert.match(use.id, /^toolu_/);
  assert.equal(use.name, 'get_weather');
  assert.deepEqual(use.input, WEATHER_ARGS);
  assert.equal(r.usage.output_tokens, 2 + words(JSON.stringify(WEATHER_ARGS)));

  const again = await client.messages.create({ ...ANT_REQUEST, tools: ANT_TOOLS, messages: [...messages,
    { role: 'assistant', content: r.content },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny 21C' }] }] });
  assert.deepEqual(again.content, [{ type: 'text', text: 'tool get_weather returned: sunny 21C' }]);
  assert.equal(again.stop_reason, 'end_turn');
});

test('anthropic tool use stream: input_json_delta fragments the SDK parses into input', async () => {
  const stream = anthropic().messages.stream({ ...ANT_REQUEST, tools: ANT_TOOLS,
    messages: [{ role: 'user', content: 'call get_weather' }] });
  const events = await collect(stream);
  const final = await stream.finalMessage();
  assert.equal(final.stop_reason, 'tool_use');
  assert.deepEqual(final.content[1].input, WEATHER_ARGS);
  assert.equal(final.content[1].name, 'get_weather');
  const start = events.find((e) => e.type === 'content_block_start' && e.index === 1);
  assert.deepEqual(start.content_block, { type: 'tool_use', id: final.content[1].id, name: 'get_weather', input: {} });
  const json = events.filter((e) => e.type === 'content_block_delta' && e.delta.type === 'input_json_delta');
  assert.ok(json.length >= 3, `input in several deltas (${json.length})`);
  assert.ok(json.every((e) => e.index === 1));
  assert.deepEqual(JSON.parse(json.map((e) => e.delta.partial_json).join('')), WEATHER_ARGS);
});

test('anthropic image blocks arrive intact', async () => {
  const r = await anthropic().messages.create({ ...ANT_REQUEST, messages: [{ role: 'user', content: [
    { type: 'text', text: 'what are these?' },
    { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG.toString('base64') } },
    { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: JPEG.toString('base64') } },
  ] }] });
  assert.equal(r.content[0].text, `echo: what are these? ${IMAGES_SEEN}`);
});

test('anthropic max_tokens and stop_sequences set stop_reason', async () => {
  const client = anthropic();
  const short = await client.messages.create({ ...ANT_REQUEST, max_tokens: 2 });
  assert.deepEqual([short.content[0].text, short.stop_reason, short.usage.output_tokens],
    ['echo: hello', 'max_tokens', 2]);
  const stopped = await client.messages.create({ ...ANT_REQUEST, stop_sequences: ['fake'] });
  assert.deepEqual([stopped.content[0].text, stopped.stop_reason, stopped.stop_sequence],
    ['echo: hello ', 'stop_sequence', 'fake']);
});

test('anthropic errors surface as the SDK error classes', async () => {
  const client = anthropic();
  const limited = await rejection(client.messages.create({ ...ANT_REQUEST, model: 'claude-rate-limit' }));
  assert.ok(limited instanceof Anthropic.RateLimitError, `RateLimitError, got ${limited}`);
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get('retry-after'), '7');
  assert.equal(limited.type, 'rate_limit_error');
  assert.match(limited.requestID, /^req_/);
  assert.equal(limited.error.request_id, limited.requestID);

  const broken = await rejection(client.messages.create({ ...ANT_REQUEST, model: 'claude-server-error' }));
  assert.ok(broken instanceof Anthropic.InternalServerError, `InternalServerError, got ${broken}`);
  assert.deepEqual([broken.status, broken.type], [500, 'api_error']);

  const busy = await rejection(client.messages.create({ ...ANT_REQUEST, model: 'claude-overloaded' }));
  assert.ok(busy instanceof Anthropic.InternalServerError);
  assert.deepEqual([busy.status, busy.type], [529, 'overloaded_error']);

  const missing = await rejection(client.messages.create({ ...ANT_REQUEST, model: 'claude-nonexistent' }));
  assert.ok(missing instanceof Anthropic.NotFoundError, `NotFoundError, got ${missing}`);
  assert.equal(missing.type, 'not_found_error');
});

test('anthropic mid-stream-error sends an error event the SDK raises', async () => {
  const stream = await anthropic().messages.create({ ...ANT_REQUEST, model: 'claude-mid-stream-error', stream: true,
    messages: [{ role: 'user', content: 'one two three four five six' }] });
  let text = '';
  const err = await rejection((async () => {
    for await (const e of stream) if (e.type === 'content_block_delta') text += e.delta.text;
  })());
  assert.ok(err instanceof Anthropic.APIError, `APIError, got ${err}`);
  assert.equal(err.type, 'overloaded_error');
  assert.ok(text.length > 0, 'deltas arrived before the error');
});

test('anthropic slow still answers', async () => {
  const r = await anthropic().messages.create({ ...ANT_REQUEST, model: 'claude-slow' });
  assert.equal(r.content[0].text, 'echo: hello fake world');
});

test('anthropic models list, retrieve and count_tokens', async () => {
  const client = anthropic();
  const page = await client.models.list();
  assert.deepEqual(page.data.map((m) => m.id), ANTHROPIC_MODELS);
  assert.deepEqual([page.has_more, page.first_id, page.last_id], [false, ANTHROPIC_MODELS[0], ANTHROPIC_MODELS.at(-1)]);
  for (const m of page.data) {
    assert.equal(m.type, 'model');
    assert.equal(typeof m.display_name, 'string');
    assert.ok(!Number.isNaN(Date.parse(m.created_at)));
  }
  assert.equal((await client.models.retrieve('claude-haiku-4-5')).id, 'claude-haiku-4-5');
  const count = await client.messages.countTokens({ model: ANT_REQUEST.model, system: ANT_REQUEST.system,
    messages: ANT_REQUEST.messages });
  assert.equal(count.input_tokens, 5);
});

// ---- transport: TLS trust, plain HTTP, keep-alive and session counts ------

test('the server certificate is trusted for localhost and 127.0.0.1; the untrusted one is refused', async () => {
  const ip = await fetch(`https://127.0.0.1:${fakes.openai.port}/v1/models`,
    { headers: { authorization: `Bearer ${OPENAI_KEY}` } });
  assert.equal(ip.status, 200);
  const untrusted = await startFake('openai', tlsArgs('untrusted'));
  try {
    const client = new OpenAI({ baseURL: `${untrusted.origin}/v1`, apiKey: 'x', maxRetries: 0 });
    const err = await rejection(client.models.list());
    assert.ok(err instanceof OpenAI.APIConnectionError, `APIConnectionError, got ${err}`);
    let cause = err;
    while (cause.cause) cause = cause.cause;
    assert.match(String(cause.code ?? cause.message), /SELF_SIGNED|self.signed/i);
    const stats = (await httpsGet(untrusted.port, '/fake/stats', false, { rejectUnauthorized: false })).body;
    assert.ok(stats.tls_failures >= 1, 'the refused handshake is counted');
    assert.equal(stats.tls_handshakes, 1, 'only the unverified /fake/stats read completed a handshake');
  } finally {
    await untrusted.stop();
  }
});

test('plain HTTP mode, without --api-key, takes any key', async () => {
  const plain = await startFake('openai', ['--plain']);
  try {
    const r = await new OpenAI({ baseURL: `${plain.origin}/v1`, apiKey: 'anything', maxRetries: 0 }).chat.completions
      .create({ model: 'gpt-4o-mini', messages: OAI_MESSAGES });
    assert.equal(r.choices[0].message.content, 'echo: hello fake world');
    const logged = await lastRequest(plain, '/v1/chat/completions');
    assert.equal(logged.tls, null);
  } finally {
    await plain.stop();
  }
});

function httpsGet(port, path, agent, tls = {}) {
  return new Promise((resolve, reject) => {
    const method = path === '/fake/reset' ? 'POST' : 'GET';
    const req = https.request({ host: 'localhost', port, path, method, agent, ...tls },
      (res) => {
        let body = '';
        res.on('data', (b) => { body += b; });
        res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(body) }));
      });
    req.on('error', reject);
    req.end();
  });
}

test('keep-alive connections and TLS handshakes / resumptions are counted', async () => {
  const fake = await startFake('openai', tlsArgs());
  const keepAlive = new https.Agent({ keepAlive: true, maxSockets: 1 });
  const fresh = new https.Agent({ keepAlive: false });
  try {
    await httpsGet(fake.port, '/fake/reset', false);
    for (const agent of [keepAlive, keepAlive, fresh, fresh]) {
      assert.equal((await httpsGet(fake.port, '/v1/models', agent)).status, 200);
    }
    const log = (await httpsGet(fake.port, '/fake/requests', false)).body;
    const stats = (await httpsGet(fake.port, '/fake/stats', false)).body;
    assert.equal(log.length, 4);
    assert.equal(log[0].connection, log[1].connection, 'keep-alive reused the connection');
    assert.equal(new Set(log.map((e) => e.connection)).size, 3);
    assert.deepEqual(log.map((e) => e.tls.resumed), [false, false, false, true]);
    // the requests above, plus /fake/requests and /fake/stats on fresh connections each
    assert.deepEqual([stats.connections, stats.tls_handshakes, stats.tls_resumed, stats.requests], [5, 5, 1, 4]);
  } finally {
    keepAlive.destroy();
    fresh.destroy();
    await fake.stop();
  }
});
