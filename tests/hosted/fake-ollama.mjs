#!/usr/bin/env node
// A fake Ollama server (plain HTTP) that answers like the fakes of ../fakes:
// deterministic echoes, tool calls made from the tools' JSON schemas, image
// fingerprints, word-count token statistics, and /fake/requests to see what it
// received. corral-sim ignores tools and images; this one proves that a
// translation to Ollama's /api/chat and /api/generate carries them. Written from
// Ollama's API reference (docs/api.md: chat and generate requests and
// responses, streamed NDJSON, tool_calls with object arguments, tool results as
// role "tool" with tool_name, base64 images), not from corral.
// usage: fake-ollama.mjs --port P --plain [--models a:latest,b:latest]   (prints "listening PORT")
import {
  describeImages, imageFromBase64, parseFlags, requestedTool, sendJson, serve, sleep, streamPieces, toolArguments,
  words,
} from '../fakes/common.mjs';

const config = parseFlags('fake-ollama.mjs', ['echo-llama:latest']);
const MODIFIED = '2026-01-01T00:00:00Z';
const NS = 1_000_000;

const sniff = (bytes) => (bytes[0] === 0x89 && bytes[1] === 0x50 ? 'image/png'
  : bytes[0] === 0xff && bytes[1] === 0xd8 ? 'image/jpeg' : 'application/octet-stream');
const images = (list) => (Array.isArray(list) ? list : [])
  .map((b64) => imageFromBase64(sniff(Buffer.from(String(b64), 'base64')), b64));

function findModel(name) {
  const n = String(name ?? '');
  return config.models.find((m) => m === n || m === `${n}:latest`);
}

// What to answer: the result of a tool, a tool call, or an echo of the last user message.
function answer(body, chat) {
  const tools = Array.isArray(body.tools) ? body.tools : [];
  if (!chat) {
    const text = `echo: ${body.prompt ?? ''}${describeImages(images(body.images))}`;
    return { text, prompt: words(body.system) + words(body.prompt) };
  }
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const prompt = messages.reduce((n, m) => n + words(m?.content), 0);
  const last = messages.at(-1);
  if (last?.role === 'tool') return { text: `tool ${last.tool_name ?? '?'} returned: ${last.content ?? ''}`, prompt };
  const user = [...messages].reverse().find((m) => m?.role === 'user');
  const name = requestedTool(user?.content, tools.map((t) => t?.function?.name));
  if (name) {
    const fn = tools.find((t) => t.function.name === name).function;
    return { call: { function: { name, arguments: toolArguments(fn.parameters) } }, prompt };
  }
  return { text: `echo: ${user?.content ?? ''}${describeImages(images(user?.images))}`, prompt };
}

function final(base, a, evalCount) {
  return { ...base, done: true, done_reason: 'stop', total_duration: 3 * NS, load_duration: NS,
    prompt_eval_count: a.prompt, prompt_eval_duration: NS, eval_count: evalCount, eval_duration: NS };
}

async function generate(ctx, chat) {
  const { body, res } = ctx;
  if (!body || typeof body !== 'object') return sendJson(res, 400, {}, { error: 'invalid JSON body' });
  const model = findModel(body.model);
  if (!model) return sendJson(res, 404, {}, { error: `model "${body.model}" not found, try pulling it first` });
  const a = answer(body, chat);
  const base = { model: body.model, created_at: new Date().toISOString() };
  const piece = (text, extra = {}) => (chat ? { message: { role: 'assistant', content: text, ...extra } }
    : { response: text });
  const evalCount = a.call ? words(JSON.stringify(a.call.function.arguments)) : words(a.text);
  if (body.stream === false) {
    const whole = a.call ? piece('', { tool_calls: [a.call] }) : piece(a.text);
    return sendJson(res, 200, {}, final({ ...base, ...whole }, a, evalCount));
  }
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  const line = (obj) => new Promise((r) => res.write(`${JSON.stringify(obj)}\n`, () => r()));
  if (a.call) await line({ ...base, ...piece('', { tool_calls: [a.call] }), done: false });
  else {
    for (const p of streamPieces(a.text)) {
      await line({ ...base, ...piece(p), done: false });
      if (config.chunkDelayMs) await sleep(config.chunkDelayMs);
    }
  }
  await line(final({ ...base, ...piece('') }, a, evalCount));
  res.end();
}

const tag = (name) => ({ name, model: name, modified_at: MODIFIED, size: 1_000_000, digest: 'f'.repeat(64),
  details: { format: 'gguf', family: 'llama', parameter_size: '1B', quantization_level: 'Q4_0' } });

serve(config, async (ctx) => {
  const route = `${ctx.req.method} ${ctx.url.pathname}`;
  if (route === 'GET /' || route === 'HEAD /') return ctx.res.end('Ollama is running');
  if (route === 'GET /api/version') return sendJson(ctx.res, 200, {}, { version: '0.12.0' });
  if (route === 'GET /api/tags') return sendJson(ctx.res, 200, {}, { models: config.models.map(tag) });
  if (route === 'GET /api/ps') return sendJson(ctx.res, 200, {}, { models: [] });
  if (route === 'GET /v1/models') {  // Ollama's OpenAI-compatible list
    return sendJson(ctx.res, 200, {}, { object: 'list',
      data: config.models.map((id) => ({ id, object: 'model', created: 1_767_225_600, owned_by: 'library' })) });
  }
  if (route === 'POST /api/chat') return generate(ctx, true);
  if (route === 'POST /api/generate') return generate(ctx, false);
  return sendJson(ctx.res, 404, {}, { error: `404 page not found: ${route}` });
});
