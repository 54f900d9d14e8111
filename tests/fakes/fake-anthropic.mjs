#!/usr/bin/env node
// A fake Anthropic API (Messages, token counting, Models) over TLS or plain
// HTTP, written from Anthropic's published API reference, not from corral.
// usage: fake-anthropic.mjs --port P (--cert C --key K | --plain) [--api-key KEY] [--models a,b] ...
// Prints "listening PORT" when ready. See README.md for the triggers and /fake/*.
import {
  describeImages, fragments, hashId, header, imageFromBase64, isTrigger, limitReply, parseFlags, randomId,
  requestedTool, sendJson, sendJsonCut, serve, slowStart, sse, streamPieces, toolArguments, triggers, words,
} from './common.mjs';

const config = parseFlags('fake-anthropic.mjs', ['claude-sonnet-4-5', 'claude-haiku-4-5']);
// The versions of the versioning page. 2026-10-21 removes temperature, top_p and
// top_k (400 even at defaults), document blocks in assistant messages and
// citations on user text blocks.
const VERSIONS = ['2026-10-21', '2023-06-01', '2023-01-01'];
const REMOVED_IN_2026 = ['temperature', 'top_p', 'top_k'];
const CREATED = Date.parse('2025-01-01T00:00:00Z');

// ---- errors: {"type": "error", "error": {"type", "message"}, "request_id"} ---

function baseHeaders(ctx) {
  ctx.requestId ??= randomId('req_011C', 12);
  return { 'request-id': ctx.requestId };
}

function sendError(ctx, status, type, message, headers = {}) {
  const h = baseHeaders(ctx);
  const body = { type: 'error', error: { type, message }, request_id: ctx.requestId };
  sendJson(ctx.res, status, { ...h, ...headers }, body);
}

const invalid = (ctx, message) => sendError(ctx, 400, 'invalid_request_error', message);

// The API key as `Authorization: Bearer KEY` (what the SDKs send since API
// version 2026-10-21) or `x-api-key: KEY` (the older header, still accepted;
// when both are sent, x-api-key decides), and anthropic-version.
function admitted(ctx) {
  if (config.apiKey !== null) {
    const bearer = /^Bearer\s+(.+)$/i.exec(header(ctx, 'authorization') ?? '')?.[1].trim();
    const key = header(ctx, 'x-api-key') ?? bearer;
    if (key === undefined) return sendError(ctx, 401, 'authentication_error', 'x-api-key header is required'), false;
    if (key !== config.apiKey) return sendError(ctx, 401, 'authentication_error', 'invalid x-api-key'), false;
  }
  const version = header(ctx, 'anthropic-version');
  if (version === undefined) return invalid(ctx, 'anthropic-version: header is required'), false;
  if (!VERSIONS.includes(version)) return invalid(ctx, `anthropic-version: "${version}" is not a valid version`), false;
  ctx.version = version;
  return true;
}

function faulted(ctx, model) {
  const t = triggers(model);
  if (t.rateLimit) {
    sendError(ctx, 429, 'rate_limit_error', "This request would exceed your organization's rate limit of 50 " +
      'requests per minute. Please try again later.', {
      'retry-after': '7', 'anthropic-ratelimit-requests-limit': '50', 'anthropic-ratelimit-requests-remaining': '0',
      'anthropic-ratelimit-requests-reset': new Date(Date.now() + 7000).toISOString().replace(/\.\d+Z$/, 'Z'),
    });
    return true;
  }
  if (t.serverError) return sendError(ctx, 500, 'api_error', 'Internal server error'), true;
  if (t.overloaded) return sendError(ctx, 529, 'overloaded_error', 'Overloaded'), true;
  return false;
}

function knownModel(ctx, model) {
  if (config.models.includes(model) || isTrigger(model)) return true;
  sendError(ctx, 404, 'not_found_error', `model: ${model}`);
  return false;
}

// ---- request reading ----------------------------------------------------------

function blocks(content) {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? content.filter((b) => b && typeof b === 'object') : [];
}

// Text a block carries for the prompt: text blocks and tool results' text.
function textOf(content) {
  return blocks(content).map((b) => {
    if (b.type === 'text') return b.text ?? '';
    if (b.type === 'tool_result') return textOf(b.content);
    return '';
  }).filter(Boolean).join(' ');
}

function imagesOf(content) {
  return blocks(content).filter((b) => b.type === 'image').map((b) =>
    (b.source?.type === 'base64' ? imageFromBase64(b.source.media_type, b.source.data)
      : { url: b.source?.url ?? String(b.source?.type) }));
}

function subject(messages) {
  const last = messages[messages.length - 1];
  const result = last?.role === 'user' ? blocks(last.content).find((b) => b.type === 'tool_result') : undefined;
  if (result) {
    const use = messages.flatMap((m) => blocks(m.content))
      .find((b) => b.type === 'tool_use' && b.id === result.tool_use_id);
    return { toolResult: { name: use?.name ?? result.tool_use_id, text: textOf(result.content) } };
  }
  const user = [...messages].reverse().find((m) => m.role === 'user');
  return { text: textOf(user?.content), images: imagesOf(user?.content) };
}

function validate(ctx, body, { needMaxTokens }) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return invalid(ctx, 'There was an error parsing the body of your request.'), false;
  }
  if (typeof body.model !== 'string' || !body.model) return invalid(ctx, 'model: Field required'), false;
  if (!Array.isArray(body.messages)) return invalid(ctx, 'messages: Field required'), false;
  if (needMaxTokens && !Number.isInteger(body.max_tokens)) return invalid(ctx, 'max_tokens: Field required'), false;
  if (ctx.version === '2026-10-21' && !versionAllows(ctx, body)) return false;
  for (const [i, m] of body.messages.entries()) {
    if (m?.role === 'system') {
      return invalid(ctx, 'messages: Unexpected role "system". The Messages API accepts a top-level `system` ' +
        'parameter, not "system" as an input message role.'), false;
    }
    if (m?.role !== 'user' && m?.role !== 'assistant') {
      return invalid(ctx, `messages.${i}.role: Input should be 'user' or 'assistant'`), false;
    }
  }
  return true;
}

function versionAllows(ctx, body) {
  const removed = REMOVED_IN_2026.find((f) => f in body);
  if (removed) return invalid(ctx, `${removed}: Extra inputs are not permitted`), false;
  for (const [i, m] of body.messages.entries()) {
    const list = blocks(m?.content);
    if (m?.role === 'assistant' && list.some((b) => b.type === 'document')) {
      return invalid(ctx, `messages.${i}: document blocks are not allowed in assistant messages`), false;
    }
    if (m?.role === 'user' && list.some((b) => b.type === 'text' && Array.isArray(b.citations) && b.citations.length)) {
      return invalid(ctx, `messages.${i}: citations are not allowed on text blocks in user messages`), false;
    }
  }
  return true;
}

const promptTokens = (body) =>
  words(textOf(body.system)) + body.messages.reduce((n, m) => n + words(textOf(m.content)), 0);

// ---- the answer ---------------------------------------------------------------

// content blocks, stop_reason, stop_sequence and output token count.
function answer(body) {
  const s = subject(body.messages);
  const toolNames = (body.tools ?? []).map((t) => t?.name).filter(Boolean);
  const toolName = body.tool_choice?.type === 'none' || !s.text ? null : requestedTool(s.text, toolNames);
  if (toolName) {
    const tool = body.tools.find((t) => t.name === toolName);
    const input = toolArguments(tool.input_schema);
    const intro = `Calling ${toolName}.`;
    return {
      content: [{ type: 'text', text: intro },
        { type: 'tool_use', id: hashId('toolu_', body.model, s.text, toolName), name: toolName, input }],
      stopReason: 'tool_use', stopSequence: null, outputTokens: words(intro) + words(JSON.stringify(input)),
    };
  }
  const text = s.toolResult ? `tool ${s.toolResult.name} returned: ${s.toolResult.text}`
    : `echo: ${s.text}${describeImages(s.images)}`;
  const limited = limitReply(text, { maxTokens: body.max_tokens, stops: body.stop_sequences });
  const stopReason = { stop: 'end_turn', stop_sequence: 'stop_sequence', length: 'max_tokens' }[limited.reason];
  return { content: [{ type: 'text', text: limited.text }], stopReason, stopSequence: limited.stopSequence,
    outputTokens: words(limited.text) };
}

const usage = (input, output) => ({ input_tokens: input, cache_creation_input_tokens: 0, cache_read_input_tokens: 0,
  output_tokens: output, service_tier: 'standard' });

function message(id, model, a, inputTokens) {
  return { id, type: 'message', role: 'assistant', model, content: a.content, stop_reason: a.stopReason,
    stop_sequence: a.stopSequence, usage: usage(inputTokens, a.outputTokens) };
}

// The event sequence of the streaming reference: message_start, per block
// content_block_start / deltas / content_block_stop (a ping after the first
// start), message_delta with stop_reason and usage, message_stop.
function events(id, model, a, inputTokens) {
  const out = [['message_start', { type: 'message_start',
    message: { ...message(id, model, { ...a, content: [], stopReason: null, stopSequence: null, outputTokens: 1 },
      inputTokens) } }]];
  for (const [index, b] of a.content.entries()) {
    const start = b.type === 'text' ? { type: 'text', text: '' }
      : { type: 'tool_use', id: b.id, name: b.name, input: {} };
    out.push(['content_block_start', { type: 'content_block_start', index, content_block: start }]);
    if (index === 0) out.push(['ping', { type: 'ping' }]);
    const deltas = b.type === 'text'
      ? streamPieces(b.text).filter(Boolean).map((text) => ({ type: 'text_delta', text }))
      : ['', ...fragments(JSON.stringify(b.input))].map((partial_json) => ({ type: 'input_json_delta', partial_json }));
    for (const delta of deltas) out.push(['content_block_delta', { type: 'content_block_delta', index, delta }]);
    out.push(['content_block_stop', { type: 'content_block_stop', index }]);
  }
  out.push(['message_delta', { type: 'message_delta',
    delta: { stop_reason: a.stopReason, stop_sequence: a.stopSequence }, usage: { output_tokens: a.outputTokens } }]);
  out.push(['message_stop', { type: 'message_stop' }]);
  return out;
}

const eventText = (name, data) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

async function streamMessage(ctx, list, failMidway) {
  const out = sse(ctx, baseHeaders(ctx));
  const firstDelta = list.findIndex(([name]) => name === 'content_block_delta');
  for (const [i, [name, data]] of list.entries()) {
    if (failMidway && i === firstDelta + 2) {
      await out.send(eventText('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }));
      break;
    }
    await out.send(eventText(name, data));
  }
  out.end();
}

async function messages(ctx) {
  const body = ctx.body;
  if (!validate(ctx, body, { needMaxTokens: true }) || !knownModel(ctx, body.model)) return;
  await slowStart(ctx, body.model);
  if (faulted(ctx, body.model)) return;
  const a = answer(body);
  const id = randomId('msg_01', 12);
  const inputTokens = promptTokens(body);
  const cut = triggers(body.model).midStreamError;
  if (body.stream === true) return streamMessage(ctx, events(id, body.model, a, inputTokens), cut);
  if (cut) return sendJsonCut(ctx.res, baseHeaders(ctx), message(id, body.model, a, inputTokens));
  sendJson(ctx.res, 200, baseHeaders(ctx), message(id, body.model, a, inputTokens));
}

async function countTokens(ctx) {
  const body = ctx.body;
  if (!validate(ctx, body, { needMaxTokens: false }) || !knownModel(ctx, body.model)) return;
  sendJson(ctx.res, 200, baseHeaders(ctx), { input_tokens: promptTokens(body) });
}

// ---- models ------------------------------------------------------------------

const modelObject = (id, i) => ({ type: 'model', id, display_name: id.replace(/-/g, ' '),
  created_at: new Date(CREATED - i * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z') });

function listModels(ctx) {
  const data = config.models.map(modelObject);
  sendJson(ctx.res, 200, baseHeaders(ctx), { data, has_more: false, first_id: data[0]?.id ?? null,
    last_id: data[data.length - 1]?.id ?? null });
}

function getModel(ctx, id) {
  const i = config.models.indexOf(id);
  if (i < 0) return sendError(ctx, 404, 'not_found_error', `model: ${id}`);
  sendJson(ctx.res, 200, baseHeaders(ctx), modelObject(id, i));
}

serve(config, async (ctx) => {
  const { req, url } = ctx;
  const route = `${req.method} ${url.pathname}`;
  const known = ['POST /v1/messages', 'POST /v1/messages/count_tokens', 'GET /v1/models'];
  const modelPath = /^\/v1\/models\/(.+)$/.exec(url.pathname);
  if (!known.includes(route) && !(req.method === 'GET' && modelPath)) {
    return sendError(ctx, 404, 'not_found_error', 'Not Found');
  }
  if (!admitted(ctx)) return;
  if (route === 'POST /v1/messages') return messages(ctx);
  if (route === 'POST /v1/messages/count_tokens') return countTokens(ctx);
  if (route === 'GET /v1/models') return listModels(ctx);
  return getModel(ctx, decodeURIComponent(modelPath[1]));
});
