// What the fakes' self-test and the hosted tests send the fakes, and what a
// fake reports back for it: images with their expected fingerprints, the tool
// definitions in each dialect, and small helpers for awaiting SDK calls.
// Written from the test's side on purpose (not imported from common.mjs), so a
// fake's fingerprint is checked against an independent computation.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

// A real 1x1 PNG and a JPEG-headed blob: the fakes must report their exact bytes.
export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
export const JPEG = Buffer.concat([Buffer.from('ffd8ffe000104a464946', 'hex'), Buffer.alloc(300, 7)]);
export const seen = (mediaType, bytes) => `${mediaType} bytes=${bytes.length} ` +
  `head=${bytes.subarray(0, 8).toString('hex')} sha256=${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`;
export const IMAGES_SEEN = `[images=2 ${seen('image/png', PNG)} ${seen('image/jpeg', JPEG)}]`;

export const WEATHER_SCHEMA = {
  type: 'object',
  properties: {
    city: { type: 'string' },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    days: { type: 'integer' },
  },
  required: ['city'],
};
export const WEATHER_ARGS = { city: 'city-value', unit: 'celsius', days: 42 };
export const TIME_SCHEMA = { type: 'object', properties: {} };
// OpenAI's and Ollama's tool definitions have the same shape.
export const FN_TOOLS = [
  { type: 'function', function: { name: 'get_time', description: 'Current time', parameters: TIME_SCHEMA } },
  { type: 'function',
    function: { name: 'get_weather', description: 'Weather for a city', parameters: WEATHER_SCHEMA } },
];
export const ANT_TOOLS = [
  { name: 'get_time', description: 'Current time', input_schema: TIME_SCHEMA },
  { name: 'get_weather', description: 'Weather for a city', input_schema: WEATHER_SCHEMA },
];

export const rejection = (promise) => promise.then(() => assert.fail('expected an error'), (e) => e);
export async function collect(iterable) {
  const out = [];
  for await (const x of iterable) out.push(x);
  return out;
}
