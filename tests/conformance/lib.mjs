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
