// Shared helpers for the conformance scripts: check runner, polling, media sniffing.
//
// Every check prints exactly one JSON line on stdout:
//   {"check": "<name>", "ok": true|false, "detail": <anything JSON>, "ms": <duration>}
// pytest (test_sdk_*.py) parses those lines and reports each check separately.

import { APIError } from '@flora-ai/flora';

export function env(name, { required = true } = {}) {
  const value = process.env[name];
  if (required && !value) throw new Error(`environment variable ${name} is required`);
  return value;
}

export class CheckFailed extends Error {}

/** Fail the current check unless `condition` holds. `detail` is attached to the report. */
export function expect(condition, message, detail) {
  if (!condition) {
    const suffix = detail === undefined ? '' : ` -- ${safeJSON(detail)}`;
    throw new CheckFailed(`${message}${suffix}`);
  }
}

export function safeJSON(value) {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** A readable description of anything thrown, SDK errors included (class, status, body). */
export function describeError(err) {
  if (err instanceof CheckFailed) return err.message;
  if (err instanceof APIError) {
    return `${err.constructor.name} status=${err.status} body=${safeJSON(err.error)}`;
  }
  if (err instanceof Error) return `${err.constructor.name}: ${err.message}\n${(err.stack || '').split('\n').slice(1, 6).join('\n')}`;
  return String(err);
}

/** Expect `promise` to reject with SDK error class `cls`; returns the error. */
export async function expectReject(promise, cls, what) {
  let result;
  try {
    result = await promise;
  } catch (err) {
    expect(err instanceof cls, `${what}: expected ${cls.name}, got ${err?.constructor?.name}`, describeError(err));
    return err;
  }
  throw new CheckFailed(`${what}: expected ${cls.name}, but the call succeeded: ${safeJSON(result)}`);
}

const results = [];

/** Run one named check; never throws. Prints its JSON line as soon as it finishes. */
export async function check(name, fn) {
  const started = Date.now();
  let line;
  try {
    const detail = await fn();
    line = { check: name, ok: true, detail: detail ?? null, ms: Date.now() - started };
  } catch (err) {
    line = { check: name, ok: false, detail: describeError(err), ms: Date.now() - started };
  }
  results.push(line);
  process.stdout.write(JSON.stringify(line) + '\n');
  return line;
}

/** Exit code for the script: 0 when every check passed. */
export function exitCode() {
  return results.length > 0 && results.every((r) => r.ok) ? 0 : 1;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll generations.retrieve until the run is terminal; returns the final run object. */
export async function waitForRun(client, runId, { timeoutMs = 30_000, intervalMs = 150 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let run;
  const seen = [];
  while (Date.now() < deadline) {
    run = await client.generations.retrieve(runId);
    if (seen[seen.length - 1] !== run.status) seen.push(run.status);
    expect(
      ['pending', 'running', 'completed', 'failed'].includes(run.status),
      `run ${runId} has an unknown status`,
      run,
    );
    if (run.status === 'completed' || run.status === 'failed') return { run, statuses: seen };
    await sleep(intervalMs);
  }
  throw new CheckFailed(`run ${runId} not terminal after ${timeoutMs} ms; last: ${safeJSON(run)}`);
}

/** What the bytes are, judged by their magic numbers. */
export function sniff(bytes) {
  const ascii = (start, end) => Buffer.from(bytes.subarray(start, end)).toString('latin1');
  if (bytes.length >= 8 && bytes[0] === 0x89 && ascii(1, 4) === 'PNG' && bytes[4] === 0x0d && bytes[5] === 0x0a) {
    return 'png';
  }
  if (bytes.length >= 12 && ascii(4, 8) === 'ftyp') return 'mp4';
  if (bytes.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return 'wav';
  if (bytes.length >= 3 && ascii(0, 3) === 'ID3') return 'mp3';
  return 'unknown';
}

/** PNG width/height from the IHDR chunk. */
export function pngSize(bytes) {
  expect(sniff(bytes) === 'png', 'not a PNG', Buffer.from(bytes.subarray(0, 16)).toString('hex'));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** Fetch a public output URL without any Authorization header. */
export async function download(url) {
  expect(typeof url === 'string' && /^https?:\/\//.test(url), 'output url is not an absolute http(s) URL', url);
  const response = await fetch(url, { redirect: 'manual' });
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { status: response.status, contentType: response.headers.get('content-type') || '', bytes };
}

/**
 * Decode a non-interlaced 8-bit PNG (grey, grey+alpha, RGB, RGBA; palette too) into RGBA pixels.
 * Enough to check what an action did to a small test image.
 */
export async function decodePng(bytes) {
  const { inflateSync } = await import('node:zlib');
  const { width, height } = pngSize(bytes);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8;
  let depth;
  let colorType;
  let interlace;
  let palette = null;
  let trns = null;
  const idat = [];
  while (offset < buf.length) {
    const length = buf.readUInt32BE(offset);
    const type = buf.toString('latin1', offset + 4, offset + 8);
    const data = buf.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      depth = data[8];
      colorType = data[9];
      interlace = data[12];
    } else if (type === 'PLTE') palette = data;
    else if (type === 'tRNS') trns = data;
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  expect(depth === 8 && interlace === 0, 'decodePng handles only 8-bit non-interlaced PNGs', { depth, interlace });
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType];
  expect(channels, `unsupported PNG colour type ${colorType}`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = pixels.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : Buffer.alloc(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? out[i - channels] : 0;
      const b = prev[i];
      const c = i >= channels ? prev[i - channels] : 0;
      let value = line[i];
      if (filter === 1) value += a;
      else if (filter === 2) value += b;
      else if (filter === 3) value += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        value += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[i] = value & 0xff;
    }
  }
  const at = (x, y) => {
    const i = (y * width + x) * channels;
    if (colorType === 6) return [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]];
    if (colorType === 2) return [pixels[i], pixels[i + 1], pixels[i + 2], 255];
    if (colorType === 0) return [pixels[i], pixels[i], pixels[i], 255];
    if (colorType === 4) return [pixels[i], pixels[i], pixels[i], pixels[i + 1]];
    const index = pixels[i];
    return [palette[index * 3], palette[index * 3 + 1], palette[index * 3 + 2], trns && index < trns.length ? trns[index] : 255];
  };
  return { width, height, at };
}
