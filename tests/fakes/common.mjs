// Plumbing shared by the fake providers: flags, the HTTP/TLS server, the
// request log and statistics behind /fake/*, SSE writing, and the
// deterministic helpers (word counts, stream pieces, tool arguments, image
// fingerprints) that let a test predict an answer from its own request.
// Nothing here knows a provider's wire format; fake-openai.mjs and
// fake-anthropic.mjs do.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { parseArgs } from 'node:util';

const LOG_SIZE = 100;
const MAX_BODY = 64 << 20;
const MAX_SLOW_MS = 60_000;

export function parseFlags(name, defaultModels) {
  const usage = `usage: ${name} --port P [--host H] (--cert C --key K | --plain) [--api-key KEY] ` +
    '[--models a,b] [--slow-ms N] [--chunk-delay-ms N] [--keep-alive-ms N]';
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        cert: { type: 'string' },
        key: { type: 'string' },
        plain: { type: 'boolean', default: false },
        'api-key': { type: 'string' },
        models: { type: 'string', default: defaultModels.join(',') },
        'slow-ms': { type: 'string', default: '2000' },
        'chunk-delay-ms': { type: 'string', default: '2' },
        'keep-alive-ms': { type: 'string', default: '65000' },
      },
    }));
  } catch (e) {
    fail(`${e.message}\n${usage}`);
  }
  const int = (flag, min, max) => {
    const n = Number(values[flag]);
    if (!Number.isInteger(n) || n < min || n > max) fail(`--${flag} must be an integer in [${min}, ${max}]\n${usage}`);
    return n;
  };
  if (values.port === undefined) fail(usage);
  if (!values.plain && (!values.cert || !values.key)) fail(`--cert and --key are required unless --plain\n${usage}`);
  return {
    port: int('port', 0, 65535),
    host: values.host,
    tls: values.plain ? null : { cert: readFileSync(values.cert), key: readFileSync(values.key) },
    apiKey: values['api-key'] ?? null,
    models: values.models.split(',').map((m) => m.trim()).filter(Boolean),
    slowMs: int('slow-ms', 0, MAX_SLOW_MS),
    chunkDelayMs: int('chunk-delay-ms', 0, 1000),
    keepAliveMs: int('keep-alive-ms', 1, 3_600_000),
  };
}

function fail(message) {
  console.error(message);
  process.exit(2);
}

// Counters behind GET /fake/stats. A TLS handshake counts once per TLS
// connection; tls_resumed counts those the client resumed from a session it
// kept (ticket or ID), which is what a client's TLS session reuse saves.
function newStats() {
  return { connections: 0, open_connections: 0, tls_handshakes: 0, tls_resumed: 0, tls_failures: 0, requests: 0 };
}

// Headers as lower-case names; a header sent more than once keeps every value
// (an array), so a duplicated Authorization cannot hide behind Node's merging.
function headerMap(rawHeaders) {
  const out = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    const value = rawHeaders[i + 1];
    if (!(name in out)) out[name] = value;
    else if (Array.isArray(out[name])) out[name].push(value);
    else out[name] = [out[name], value];
  }
  return out;
}

// First value of a header (the one an ordinary server would use).
export function header(ctx, name) {
  const v = ctx.entry.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    let size = 0;
    req.on('data', (b) => {
      size += b.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
      } else parts.push(b);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

// Starts the fake: `handle(ctx)` answers every request outside /fake/*.
// ctx = { req, res, entry, body (parsed JSON or undefined), bodyText, config, url }.
export function serve(config, handle) {
  const stats = newStats();
  let log = [];
  let seq = 0;
  let connSeq = 0;

  const onRequest = async (req, res) => {
    const url = new URL(req.url, 'http://fake');
    let raw;
    try {
      raw = await readBody(req);
    } catch {
      return;
    }
    if (url.pathname.startsWith('/fake/')) return fakeEndpoint(req, res, url);
    stats.requests++;
    const bodyText = raw.toString('utf8');
    let body;
    try {
      body = bodyText.length ? JSON.parse(bodyText) : undefined;
    } catch {
      body = undefined;
    }
    const sock = req.socket;
    const entry = {
      seq: ++seq,
      time: new Date().toISOString(),
      connection: sock.fakeConnectionId,
      tls: config.tls ? { resumed: sock.isSessionReused(), servername: sock.servername || null,
        protocol: sock.getProtocol() } : null,
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: headerMap(req.rawHeaders),
      body: body ?? null,
      body_text: body === undefined && bodyText.length ? bodyText : undefined,
      body_bytes: raw.length,
      status: null,
      completed: false,
    };
    log.push(entry);
    if (log.length > LOG_SIZE) log = log.slice(-LOG_SIZE);
    // completed stays false when the response was cut off or the client left mid-way.
    res.on('finish', () => { entry.completed = true; });
    res.on('close', () => { entry.status = res.headersSent ? res.statusCode : 0; });
    try {
      await handle({ req, res, entry, body, bodyText, config, url });
    } catch (e) {
      console.error(`fake error=${JSON.stringify(String(e?.stack ?? e))}`);
      if (!res.headersSent) sendJson(res, 500, {}, { fake_error: String(e) });
      else res.destroy();
    }
  };

  const fakeEndpoint = (req, res, url) => {
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /fake/requests') return sendJson(res, 200, {}, log);
    if (route === 'GET /fake/stats') return sendJson(res, 200, {}, stats);
    if (route === 'POST /fake/reset') {
      log = [];
      Object.assign(stats, newStats(), { open_connections: stats.open_connections });
      return sendJson(res, 200, {}, { reset: true });
    }
    return sendJson(res, 404, {}, { error: `no fake endpoint ${route}` });
  };

  const server = config.tls ? https.createServer({ ...config.tls }, onRequest) : http.createServer(onRequest);
  server.keepAliveTimeout = config.keepAliveMs;
  server.headersTimeout = config.keepAliveMs + 1000;
  server.requestTimeout = 0;
  server.on('connection', (sock) => {
    stats.connections++;
    stats.open_connections++;
    sock.on('close', () => { stats.open_connections--; });
    if (!config.tls) sock.fakeConnectionId = ++connSeq;
  });
  server.on('secureConnection', (tlsSock) => {
    tlsSock.fakeConnectionId = ++connSeq;
    stats.tls_handshakes++;
    if (tlsSock.isSessionReused()) stats.tls_resumed++;
  });
  server.on('tlsClientError', () => { stats.tls_failures++; });
  server.listen(config.port, config.host, () => {
    process.stdout.write(`listening ${server.address().port}\n`);
  });
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
  return server;
}

export function sendJson(res, status, headers, obj) {
  const data = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': data.length, ...headers });
  res.end(data);
}

// Writes the head and half of a JSON body whose content-length promises all
// of it, then drops the connection: a response that breaks off mid-body.
export async function sendJsonCut(res, headers, obj) {
  const data = Buffer.from(JSON.stringify(obj));
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': data.length, ...headers });
  await write(res, data.subarray(0, data.length >> 1));
  res.socket?.destroy();
}

function write(res, data) {
  return new Promise((resolve) => res.write(data, () => resolve()));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A Server-Sent Events response. send() waits chunkDelayMs between events so
// each event leaves as its own write, as a provider's token stream does.
export function sse(ctx, headers) {
  const { res, config } = ctx;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers });
  res.flushHeaders();
  let first = true;
  return {
    get closed() { return res.destroyed || res.writableEnded; },
    async send(text) {
      if (this.closed) return;
      if (!first && config.chunkDelayMs) await sleep(config.chunkDelayMs);
      first = false;
      if (!this.closed) await write(res, text);
    },
    end() { if (!this.closed) res.end(); },
    abort() { res.socket?.destroy(); },
  };
}

// ---- model names as fault triggers --------------------------------------

// `slow` combines with the others (slow-rate-limit is slow, then a 429).
export function triggers(model) {
  const m = String(model ?? '');
  return {
    slow: m.includes('slow'),
    rateLimit: m.includes('rate-limit'),
    serverError: m.includes('server-error'),
    overloaded: m.includes('overloaded'),
    midStreamError: m.includes('mid-stream-error'),
  };
}

export function isTrigger(model) {
  return Object.values(triggers(model)).some(Boolean);
}

export async function slowStart(ctx, model) {
  if (triggers(model).slow) await sleep(ctx.config.slowMs);
}

// ---- deterministic helpers ------------------------------------------------

export const words = (text) => String(text ?? '').split(/\s+/).filter(Boolean).length;

// Pieces that concatenate back to `text`: one word with its leading space each.
export function streamPieces(text) {
  const pieces = String(text).split(/(?<=\S)(?=\s)/);
  return pieces.length ? pieces : [''];
}

// Fixed-size fragments of a string (tool arguments arrive this way).
export function fragments(text, size = 6) {
  const out = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length ? out : [''];
}

export const randomId = (prefix, bytes = 12) => prefix + randomBytes(bytes).toString('hex');
export const hashId = (prefix, ...parts) =>
  prefix + createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 24);

// Applies stop sequences, then a token (word) limit, to a reply.
// reason: 'stop' | 'stop_sequence' | 'length'.
export function limitReply(text, { maxTokens, stops }) {
  let out = text;
  let reason = 'stop';
  let stopSequence = null;
  let cut = -1;
  for (const s of stops ?? []) {
    const at = typeof s === 'string' && s.length ? out.indexOf(s) : -1;
    if (at >= 0 && (cut < 0 || at < cut)) {
      cut = at;
      stopSequence = s;
    }
  }
  if (cut >= 0) {
    out = out.slice(0, cut);
    reason = 'stop_sequence';
  }
  if (Number.isInteger(maxTokens) && maxTokens >= 0 && words(out) > maxTokens) {
    out = streamPieces(out).filter((p) => p.trim()).slice(0, maxTokens).join('');
    reason = 'length';
    stopSequence = null;
  }
  return { text: out, reason, stopSequence };
}

// "call <tool>" in the last user text names a tool the request offers.
export function requestedTool(text, toolNames) {
  for (const m of String(text ?? '').matchAll(/\bcall\s+([A-Za-z0-9_.-]+)/g)) {
    const name = m[1].replace(/[.]+$/, '');
    if (toolNames.includes(name)) return name;
  }
  return null;
}

// Arguments for a tool, derived from its JSON schema alone: every property
// gets a value of its type (strings "<name>-value", numbers 42, booleans
// true, enums their first member), so a test can write them down.
export function toolArguments(schema) {
  const props = schema?.properties ?? {};
  const out = {};
  for (const [name, p] of Object.entries(props)) out[name] = sampleValue(name, p ?? {});
  return out;
}

function sampleValue(name, p) {
  if (Array.isArray(p.enum) && p.enum.length) return p.enum[0];
  const type = Array.isArray(p.type) ? p.type.find((t) => t !== 'null') : p.type;
  switch (type) {
    case 'integer':
    case 'number': return 42;
    case 'boolean': return true;
    case 'array': return [];
    case 'object': return toolArguments(p);
    default: return `${name}-value`;
  }
}

// An image as the fake saw it: media type, byte length, first 8 bytes and a
// short SHA-256, so a test can prove the exact bytes arrived.
export function imageFromBase64(mediaType, data) {
  const bytes = Buffer.from(String(data ?? ''), 'base64');
  return {
    media_type: mediaType || 'unknown',
    bytes: bytes.length,
    head: bytes.subarray(0, 8).toString('hex'),
    sha256: createHash('sha256').update(bytes).digest('hex').slice(0, 16),
  };
}

export function imageFromUrl(url) {
  const m = /^data:([^;,]*)(;base64)?,(.*)$/s.exec(String(url ?? ''));
  if (m && m[2]) return imageFromBase64(m[1], m[3]);
  return { url: String(url ?? '') };
}

export function describeImages(images) {
  if (!images.length) return '';
  const each = images.map((i) =>
    i.url !== undefined ? `url=${i.url}` : `${i.media_type} bytes=${i.bytes} head=${i.head} sha256=${i.sha256}`);
  return ` [images=${images.length} ${each.join(' ')}]`;
}
