// The official ollama (config `headers`), openai (`apiKey`) and
// @anthropic-ai/sdk (`apiKey`, sent as x-api-key) clients with corral's keys
// (issue 12): a good key is served, a bad one and a spent limit raise each
// client's own error. Prints "ok …" per check, "FAIL …" otherwise;
// exits 1 when a check failed. Run by tests/integration/auth_test.cc.
// usage: node auth.mjs CORRAL_URL TOKEN RPM1_TOKEN   (RPM1_TOKEN: a key with --rpm 1, unused so far)
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

const [host, token, limited] = process.argv.slice(2);
if (!host || !token || !limited) {
  console.error('usage: node auth.mjs CORRAL_URL TOKEN RPM1_TOKEN');
  process.exit(2);
}
const unknown = 'crl_' + 'A'.repeat(43);  // well formed, in no store
const model = 'llama3.2';
const messages = [{ role: 'user', content: 'hello' }];
let failed = false;

async function check(name, fn) {
  try {
    const detail = await fn();
    console.log(`ok ${name}${detail ? ` (${detail})` : ''}`);
  } catch (e) {
    failed = true;
    console.log(`FAIL ${name}: ${e?.constructor?.name} ${e?.status ?? e?.status_code ?? ''} ${e?.message}`);
  }
}
// fn must throw; test says whether what it threw is the expected error.
async function refused(fn, test) {
  try {
    await fn();
  } catch (e) {
    if (test(e)) return e.message;
    throw e;
  }
  throw new Error('no error raised');
}

const ollama = (key) => new Ollama({ host, headers: { Authorization: `Bearer ${key}` } });
const openai = (key) => new OpenAI({ baseURL: `${host}/v1`, apiKey: key, maxRetries: 0 });
const anthropic = (key) => new Anthropic({ baseURL: host, apiKey: key, maxRetries: 0 });

await check('ollama chat', async () => {
  const r = await ollama(token).chat({ model, messages, stream: false });
  if (!r.message?.content) throw new Error(`no content: ${JSON.stringify(r)}`);
});
await check('ollama stream', async () => {
  let text = '';
  for await (const part of await ollama(token).generate({ model, prompt: 'hi', stream: true })) text += part.response;
  if (!text) throw new Error('nothing streamed');
});
await check('ollama list', async () => {
  const r = await ollama(token).list();
  if (!r.models.some((m) => m.name.startsWith(model))) throw new Error(JSON.stringify(r));
});
await check('ollama bad key 401', () =>
  refused(() => ollama(unknown).chat({ model, messages, stream: false }),
    (e) => e.name === 'ResponseError' && e.status_code === 401 && e.error === 'unknown API key'));
await check('ollama rate limit 429', async () => {
  await ollama(limited).chat({ model, messages, stream: false });
  return refused(() => ollama(limited).chat({ model, messages, stream: false }),
    (e) => e.name === 'ResponseError' && e.status_code === 429 && /requests per minute \(rpm\)/.test(e.error));
});

await check('openai chat', async () => {
  const r = await openai(token).chat.completions.create({ model, messages });
  if (!r.choices?.[0]?.message?.content) throw new Error(JSON.stringify(r));
});
await check('openai stream', async () => {
  let text = '';
  const stream = await openai(token).chat.completions.create({ model, messages, stream: true });
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  if (!text) throw new Error('nothing streamed');
});
await check('openai models', async () => {
  const ids = [];
  for await (const m of openai(token).models.list()) ids.push(m.id);
  if (!ids.some((id) => id.startsWith(model))) throw new Error(ids.join(','));
});
await check('openai bad key AuthenticationError', () =>
  refused(() => openai(unknown).chat.completions.create({ model, messages }),
    (e) => e instanceof OpenAI.AuthenticationError && e.status === 401 && e.error?.type === 'authentication_error'));
await check('openai rate limit RateLimitError', () =>
  refused(() => openai(limited).chat.completions.create({ model, messages }),
    (e) => e instanceof OpenAI.RateLimitError && e.status === 429 && Number(e.headers.get('retry-after')) >= 1));

await check('anthropic messages', async () => {
  const r = await anthropic(token).messages.create({ model, max_tokens: 16, messages });
  if (!r.content?.[0]?.text) throw new Error(JSON.stringify(r));
});
await check('anthropic bad key AuthenticationError', () =>
  refused(() => anthropic(unknown).messages.create({ model, max_tokens: 16, messages }),
    (e) => e instanceof Anthropic.AuthenticationError && e.status === 401 &&
      e.error?.error?.type === 'authentication_error'));
await check('anthropic rate limit RateLimitError', () =>
  refused(() => anthropic(limited).messages.create({ model, max_tokens: 16, messages }),
    (e) => e instanceof Anthropic.RateLimitError && e.status === 429));

process.exit(failed ? 1 : 0);
