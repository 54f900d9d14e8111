#!/usr/bin/env node
// A fake OpenAI API (Chat Completions, Embeddings, Models) over TLS or plain
// HTTP, written from OpenAI's published API reference, not from corral.
// usage: fake-openai.mjs --port P (--cert C --key K | --plain) [--api-key KEY] [--models a,b] ...
// Prints "listening PORT" when ready. See README.md for the triggers and /fake/*.
import {
  describeImages, fragments, hashId, header, imageFromUrl, isTrigger, limitReply, parseFlags, randomId,
  requestedTool, sendJson, sendJsonCut, serve, slowStart, sse, streamPieces, toolArguments, triggers, words,
} from './common.mjs';
import { createHash } from 'node:crypto';

const config = parseFlags('fake-openai.mjs', ['gpt-4o-mini', 'gpt-4o']);
const CREATED = 1_700_000_000;

// ---- errors: {"error": {"message", "type", "param", "code"}} ---------------

function errorBody(message, type, param = null, code = null) {
  return { error: { message, type, param, code } };
}

function sendError(ctx, status, body, headers = {}) {
  sendJson(ctx.res, status, { ...baseHeaders(ctx), ...headers }, body);
}

function baseHeaders(ctx) {
  ctx.requestId ??= randomId('req_', 16);
  return { 'x-request-id': ctx.requestId, 'openai-version': '2020-10-01', 'openai-processing-ms': '1' };
}

// The key as OpenAI's message shows it: its last four characters at most.
const mask = (key) => (key.length > 12 ? `${key.slice(0, 3)}${'*'.repeat(8)}${key.slice(-4)}` : '*'.repeat(8));

// Authorization: Bearer KEY, as the API reference's Authentication section says.
function authorized(ctx) {
  if (config.apiKey === null) return true;
  const auth = header(ctx, 'authorization');
  const m = /^Bearer\s+(.+)$/i.exec(auth ?? '');
  if (!m) {
    sendError(ctx, 401, errorBody("You didn't provide an API key. You need to provide your API key in an " +
      'Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).', 'invalid_request_error'));
    return false;
  }
  if (m[1].trim() !== config.apiKey) {
    sendError(ctx, 401, errorBody(`Incorrect API key provided: ${mask(m[1].trim())}. You can find your API key ` +
      'at https://platform.openai.com/account/api-keys.', 'invalid_request_error', null, 'invalid_api_key'));
    return false;
  }
  return true;
}

// Fault triggers that answer before any work: 429, 500, 503.
function faulted(ctx, model) {
  const t = triggers(model);
  if (t.rateLimit) {
    sendError(ctx, 429, errorBody(`Rate limit reached for ${model} in organization org-fake on requests per min ` +
      '(RPM): Limit 3, Used 3, Requested 1. Please try again in 7s.', 'requests', null, 'rate_limit_exceeded'), {
      'retry-after': '7', 'x-ratelimit-limit-requests': '3', 'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '7s',
    });
    return true;
  }
  if (t.serverError) {
    sendError(ctx, 500, errorBody('The server had an error while processing your request. Sorry about that!',
      'server_error'));
    return true;
  }
  if (t.overloaded) {
    sendError(ctx, 503, errorBody('The engine is currently overloaded, please try again later.', 'server_error'));
    return true;
  }
  return false;
}

function knownModel(ctx, model) {
  if (config.models.includes(model) || isTrigger(model)) return true;
  sendError(ctx, 404, errorBody(`The model \`${model}\` does not exist or you do not have access to it.`,
    'invalid_request_error', null, 'model_not_found'));
  return false;
}

// ---- request reading ----------------------------------------------------------

function parts(content) {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? content.filter((p) => p && typeof p === 'object') : [];
}

const textOf = (content) => parts(content).filter((p) => p.type === 'text' || p.type === 'refusal')
  .map((p) => p.text ?? p.refusal ?? '').join(' ');

const imagesOf = (content) => parts(content).filter((p) => p.type === 'image_url')
  .map((p) => imageFromUrl(p.image_url?.url));

// What the answer is about: the result of a tool the assistant called, or the
// last user message (its text and images).
function subject(messages) {
  const last = messages[messages.length - 1];
  if (last?.role === 'tool') {
    const call = messages.flatMap((m) => m.tool_calls ?? []).find((c) => c.id === last.tool_call_id);
    return { toolResult: { name: call?.function?.name ?? last.tool_call_id, text: textOf(last.content) } };
  }
  const user = [...messages].reverse().find((m) => m.role === 'user');
  return { text: textOf(user?.content), images: imagesOf(user?.content) };
}

function validate(ctx, body) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    sendError(ctx, 400, errorBody('We could not parse the JSON body of your request. (HINT: This likely means ' +
      "you aren't using your HTTP library correctly.)", 'invalid_request_error'));
    return false;
  }
  if (typeof body.model !== 'string' || !body.model) {
    sendError(ctx, 400, errorBody('you must provide a model parameter', 'invalid_request_error'));
    return false;
  }
  return true;
}

function validateChat(ctx, body) {
  if (!Array.isArray(body.messages)) {
    sendError(ctx, 400, errorBody("Missing required parameter: 'messages'.", 'invalid_request_error', 'messages',
      'missing_required_parameter'));
    return false;
  }
  if (!body.messages.length) {
    sendError(ctx, 400, errorBody("Invalid 'messages': empty array. Expected an array with minimum length 1, " +
      'but got an empty array instead.', 'invalid_request_error', 'messages', 'empty_array'));
    return false;
  }
  const bad = body.messages.findIndex((m) => !m || typeof m !== 'object' || typeof m.role !== 'string');
  if (bad >= 0) {
    sendError(ctx, 400, errorBody(`Invalid value for 'messages[${bad}]': expected an object with a 'role'.`,
      'invalid_request_error', `messages[${bad}]`, 'invalid_value'));
    return false;
  }
  if (body.stream_options != null && body.stream !== true) {
    sendError(ctx, 400, errorBody("The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      'invalid_request_error', 'stream_options'));
    return false;
  }
  return true;
}

// ---- the answer ---------------------------------------------------------------

// { text, finish } or { tool: {id, name, arguments}, finish: 'tool_calls' }, with usage.
function answer(body) {
  const messages = body.messages;
  const promptTokens = messages.reduce((n, m) => n + words(textOf(m.content)), 0);
  const s = subject(messages);
  const toolNames = (body.tools ?? []).map((t) => t?.function?.name).filter(Boolean);
  const toolName = body.tool_choice === 'none' || !s.text ? null : requestedTool(s.text, toolNames);
  if (toolName) {
    const fn = body.tools.find((t) => t.function?.name === toolName).function;
    const args = JSON.stringify(toolArguments(fn.parameters));
    const id = hashId('call_', body.model, s.text, toolName);
    return { tool: { id, name: toolName, arguments: args }, finish: 'tool_calls',
      usage: usage(promptTokens, words(args)) };
  }
  let text;
  if (s.toolResult) text = `tool ${s.toolResult.name} returned: ${s.toolResult.text}`;
  else text = `echo: ${s.text}${describeImages(s.images)}`;
  const format = body.response_format?.type;
  if (format === 'json_object') text = JSON.stringify({ echo: text });
  else if (format === 'json_schema') text = JSON.stringify(toolArguments(body.response_format.json_schema?.schema));
  const stops = typeof body.stop === 'string' ? [body.stop] : body.stop;
  const limited = limitReply(text, { maxTokens: body.max_completion_tokens ?? body.max_tokens, stops });
  return { text: limited.text, finish: limited.reason === 'length' ? 'length' : 'stop',
    usage: usage(promptTokens, words(limited.text)) };
}

function usage(prompt, completion) {
  return {
    prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0 },
  };
}

function completion(id, model, a) {
  const message = a.tool
    ? { role: 'assistant', content: null, refusal: null, annotations: [],
      tool_calls: [{ id: a.tool.id, type: 'function', function: { name: a.tool.name, arguments: a.tool.arguments } }] }
    : { role: 'assistant', content: a.text, refusal: null, annotations: [] };
  return {
    id, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: a.finish }],
    usage: a.usage, service_tier: 'default', system_fingerprint: 'fp_fake',
  };
}

// The chunk sequence of a streamed answer, as chat.completion.chunk objects.
function chunkDeltas(a) {
  if (a.tool) {
    const head = { index: 0, id: a.tool.id, type: 'function', function: { name: a.tool.name, arguments: '' } };
    return [
      { delta: { role: 'assistant', content: null, tool_calls: [head] } },
      ...fragments(a.tool.arguments)
        .map((f) => ({ delta: { tool_calls: [{ index: 0, function: { arguments: f } }] } })),
      { delta: {}, finish_reason: a.finish },
    ];
  }
  return [
    { delta: { role: 'assistant', content: '', refusal: null } },
    ...streamPieces(a.text).filter(Boolean).map((p) => ({ delta: { content: p } })),
    { delta: {}, finish_reason: a.finish },
  ];
}

async function streamCompletion(ctx, id, model, a, includeUsage, cutMidway) {
  const out = sse(ctx, baseHeaders(ctx));
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choices, extra) => `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model,
    service_tier: 'default', system_fingerprint: 'fp_fake', choices, ...extra })}\n\n`;
  const deltas = chunkDeltas(a);
  for (const [i, d] of deltas.entries()) {
    if (cutMidway && i === Math.max(2, deltas.length >> 1)) {
      out.abort();
      return;
    }
    const choice = { index: 0, delta: d.delta, logprobs: null, finish_reason: d.finish_reason ?? null };
    await out.send(chunk([choice], includeUsage ? { usage: null } : {}));
  }
  if (includeUsage) await out.send(chunk([], { usage: a.usage }));
  await out.send('data: [DONE]\n\n');
  out.end();
}

async function chatCompletions(ctx) {
  const body = ctx.body;
  if (!validate(ctx, body) || !validateChat(ctx, body) || !knownModel(ctx, body.model)) return;
  await slowStart(ctx, body.model);
  if (faulted(ctx, body.model)) return;
  const a = answer(body);
  const id = randomId('chatcmpl-', 12);
  const cut = triggers(body.model).midStreamError;
  if (body.stream === true) {
    return streamCompletion(ctx, id, body.model, a, body.stream_options?.include_usage === true, cut);
  }
  if (cut) return sendJsonCut(ctx.res, baseHeaders(ctx), completion(id, body.model, a));
  sendJson(ctx.res, 200, baseHeaders(ctx), completion(id, body.model, a));
}

// ---- embeddings: a vector derived from the input's SHA-256 --------------------

function embeddingOf(input, dims) {
  const digest = createHash('sha256').update(typeof input === 'string' ? input : JSON.stringify(input)).digest();
  const v = Array.from({ length: dims }, (_, i) => (digest[i % 32] - 127.5) / 127.5 + Math.floor(i / 32) * 1e-3);
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => Math.fround(x / norm));
}

async function embeddings(ctx) {
  const body = ctx.body;
  if (!validate(ctx, body) || !knownModel(ctx, body.model)) return;
  if (body.input === undefined) {
    sendError(ctx, 400, errorBody("Missing required parameter: 'input'.", 'invalid_request_error', 'input',
      'missing_required_parameter'));
    return;
  }
  await slowStart(ctx, body.model);
  if (faulted(ctx, body.model)) return;
  const inputs = Array.isArray(body.input) && body.input.some((x) => typeof x !== 'number') ? body.input : [body.input];
  const dims = Number.isInteger(body.dimensions) && body.dimensions > 0 ? Math.min(body.dimensions, 4096) : 8;
  const base64 = body.encoding_format === 'base64';
  const data = inputs.map((input, index) => {
    const v = embeddingOf(input, dims);
    const embedding = base64 ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v;
    return { object: 'embedding', index, embedding };
  });
  const tokens = inputs.reduce((n, x) => n + (typeof x === 'string' ? words(x) : x.length), 0);
  sendJson(ctx.res, 200, baseHeaders(ctx), { object: 'list', data, model: body.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens } });
}

// ---- models ------------------------------------------------------------------

const modelObject = (id, i) => ({ id, object: 'model', created: CREATED + i, owned_by: 'system' });

function listModels(ctx) {
  sendJson(ctx.res, 200, baseHeaders(ctx), { object: 'list', data: config.models.map(modelObject) });
}

function getModel(ctx, id) {
  const i = config.models.indexOf(id);
  if (i < 0) {
    return sendError(ctx, 404, errorBody(`The model '${id}' does not exist`, 'invalid_request_error', 'model',
      'model_not_found'));
  }
  sendJson(ctx.res, 200, baseHeaders(ctx), modelObject(id, i));
}

serve(config, async (ctx) => {
  const { req, url } = ctx;
  const route = `${req.method} ${url.pathname}`;
  const known = ['POST /v1/chat/completions', 'POST /v1/embeddings', 'GET /v1/models'];
  const modelPath = /^\/v1\/models\/(.+)$/.exec(url.pathname);
  if (!known.includes(route) && !(req.method === 'GET' && modelPath)) {
    return sendError(ctx, 404, errorBody(`Invalid URL (${req.method} ${url.pathname})`, 'invalid_request_error'));
  }
  if (!authorized(ctx)) return;
  if (route === 'POST /v1/chat/completions') return chatCompletions(ctx);
  if (route === 'POST /v1/embeddings') return embeddings(ctx);
  if (route === 'GET /v1/models') return listModels(ctx);
  return getModel(ctx, decodeURIComponent(modelPath[1]));
});
