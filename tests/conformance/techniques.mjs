// Techniques conformance: drives `client.techniques.*` and `client.runs.startTechnique` of the official
// `@flora-ai/flora` client against a running Stamen, on its built-in techniques.
//
// Environment:
//   FLORA_BASE_URL          http://127.0.0.1:<port>/api/v1
//   FLORA_API_KEY           sk_live_… key of the workspace
//   STAMEN_TEST_KEY         sk_test_… key of the same workspace (model nodes run through the simulator)
//   STAMEN_WORKSPACE_ID     ws_… of the workspace
//   STAMEN_WEBHOOK_SECRET   whsec_… of the workspace (`stamen webhook-secret`)
//   STAMEN_FIXTURE_VIDEO    path of a 1.5 s 160×120 MP4 (H.264 + AAC)
//   STAMEN_FIXTURE_VIDEO2   path of a 1.0 s 160×120 MP4 (a second, shorter clip)
//   STAMEN_FIXTURE_AUDIO    path of a 1.5 s WAV
//
// Prints one JSON line per check (see lib.mjs); exits 1 if any check failed.

import http from 'node:http';
import { randomUUID } from 'node:crypto';

import FLORA, { BadRequestError, ConflictError, NotFoundError } from '@flora-ai/flora';

import { CheckFailed, check, describeError, download, env, exitCode, expect, expectReject, pngSize, safeJSON, sleep, sniff } from './lib.mjs';

const WORKSPACE_ID = env('STAMEN_WORKSPACE_ID');
const TEST_KEY = env('STAMEN_TEST_KEY');
const WEBHOOK_SECRET = env('STAMEN_WEBHOOK_SECRET');
const FIXTURES = {
  video: env('STAMEN_FIXTURE_VIDEO'),
  video2: env('STAMEN_FIXTURE_VIDEO2'),
  audio: env('STAMEN_FIXTURE_AUDIO'),
};

const live = new FLORA(); // FLORA_BASE_URL / FLORA_API_KEY from the environment, as a user would
const test = new FLORA({ apiKey: TEST_KEY });
const tag = randomUUID().slice(0, 8);

const BUILTINS = {
  'narrated-title': {
    id: 'tech_narrated_title',
    name: 'Narrated title',
    inputs: [{ id: 'title', type: 'text' }],
    outputs: [{ id: 'video', type: 'videoUrl' }],
  },
  'boomerang-clip': {
    id: 'tech_boomerang_clip',
    name: 'Boomerang clip',
    inputs: [{ id: 'video', type: 'videoUrl', allow_multiple: true }],
    outputs: [{ id: 'clip', type: 'videoUrl' }],
  },
  'prompt-to-loop': {
    id: 'tech_prompt_to_loop',
    name: 'Prompt to loop',
    inputs: [{ id: 'prompt', type: 'text' }],
    outputs: [
      { id: 'loop', type: 'videoUrl' },
      { id: 'still', type: 'imageUrl' },
    ],
  },
  'vertical-music-video': {
    id: 'tech_vertical_music_video',
    name: 'Vertical music video',
    inputs: [
      { id: 'video', type: 'videoUrl' },
      { id: 'music', type: 'audioUrl' },
    ],
    outputs: [{ id: 'video', type: 'videoUrl' }],
  },
};

const IO_TYPES = ['imageUrl', 'videoUrl', 'audioUrl', 'text', 'documentUrl'];
const STATUSES = ['pending', 'running', 'completed', 'failed'];

// What a downloaded output may be, per declared output type: sniffed kinds and Content-Type prefix.
const MEDIA = {
  imageUrl: { kinds: ['png', 'jpeg', 'webp', 'gif'], mime: 'image/' },
  videoUrl: { kinds: ['mp4', 'webm'], mime: 'video/' },
  audioUrl: { kinds: ['wav', 'mp3', 'ogg'], mime: 'audio/' },
  documentUrl: { kinds: ['pdf'], mime: 'application/pdf' },
};

// ── helpers ──────────────────────────────────────────────────────────────────

function typeOf(value) {
  return Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
}

function expectShape(object, shape, what) {
  expect(typeOf(object) === 'object', `${what}: not an object`, object);
  for (const [key, type] of Object.entries(shape)) {
    const types = type.split('|');
    expect(key in object, `${what}: key ${key} missing`, object);
    expect(types.includes(typeOf(object[key])), `${what}: ${key} should be ${type}, got ${typeOf(object[key])}`, object);
  }
}

const isMs = (value) => Number.isInteger(value) && value > 1e12 && value < 1e14;

/** Sniff a few more kinds than lib.sniff (JPEG, WebP, GIF, WebM, Ogg, PDF). */
function sniffMore(bytes) {
  const kind = sniff(bytes);
  if (kind !== 'unknown') return kind;
  const ascii = (start, end) => Buffer.from(bytes.subarray(start, end)).toString('latin1');
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (ascii(0, 4) === 'GIF8') return 'gif';
  if (bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) return 'webm';
  if (ascii(0, 4) === 'OggS') return 'ogg';
  if (ascii(0, 5) === '%PDF-') return 'pdf';
  if (bytes[0] === 0xff && (bytes[1] & 0xe0) === 0xe0) return 'mp3';
  return 'unknown';
}

/**
 * The tracks of an MP4 (ISO BMFF): duration from `mvhd`, per track the handler (`vide` / `soun`) and the
 * `tkhd` presentation size. Enough to tell what a technique produced without ffmpeg.
 */
function mp4Info(bytes) {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const boxes = (start, end) => {
    const out = [];
    let offset = start;
    while (offset + 8 <= end) {
      let size = buf.readUInt32BE(offset);
      const type = buf.toString('latin1', offset + 4, offset + 8);
      let header = 8;
      if (size === 1) {
        size = Number(buf.readBigUInt64BE(offset + 8));
        header = 16;
      } else if (size === 0) size = end - offset;
      if (size < header || offset + size > end) break;
      out.push({ type, start: offset + header, end: offset + size });
      offset += size;
    }
    return out;
  };
  const child = (box, type) => (box ? boxes(box.start, box.end).find((b) => b.type === type) : undefined);
  const moov = boxes(0, buf.length).find((b) => b.type === 'moov');
  expect(moov, 'MP4 has no moov box');
  const mvhd = child(moov, 'mvhd');
  expect(mvhd, 'MP4 has no mvhd box');
  const v1 = buf[mvhd.start] === 1;
  const timescale = buf.readUInt32BE(mvhd.start + (v1 ? 20 : 12));
  const duration = v1 ? Number(buf.readBigUInt64BE(mvhd.start + 24)) : buf.readUInt32BE(mvhd.start + 16);
  const tracks = boxes(moov.start, moov.end)
    .filter((b) => b.type === 'trak')
    .map((trak) => {
      const tkhd = child(trak, 'tkhd');
      const hdlr = child(child(trak, 'mdia'), 'hdlr');
      return {
        handler: hdlr ? buf.toString('latin1', hdlr.start + 8, hdlr.start + 12) : null,
        width: tkhd ? buf.readUInt32BE(tkhd.end - 8) / 65536 : null,
        height: tkhd ? buf.readUInt32BE(tkhd.end - 4) / 65536 : null,
      };
    });
  const video = tracks.find((t) => t.handler === 'vide') || null;
  return {
    seconds: timescale ? Math.round((duration / timescale) * 1000) / 1000 : null,
    video: video ? { width: video.width, height: video.height } : null,
    audio: tracks.some((t) => t.handler === 'soun'),
  };
}

/** Check a contract `Technique` (list item = retrieve response). */
function expectTechnique(technique, what) {
  expectShape(technique, { technique_id: 'string', name: 'string', run_cost: 'number', inputs: 'array', outputs: 'array' }, what);
  expect(/^tech_\S+$/.test(technique.technique_id), `${what}: technique_id is not tech_…`, technique);
  expect(technique.name.length > 0, `${what}: empty name`, technique);
  expect(Number.isFinite(technique.run_cost) && technique.run_cost >= 0, `${what}: run_cost must be a number >= 0`, technique);
  if ('description' in technique) expect(typeof technique.description === 'string', `${what}: description is not a string`, technique);
  for (const [side, items] of [['inputs', technique.inputs], ['outputs', technique.outputs]]) {
    items.forEach((io, index) => {
      const where = `${what}.${side}[${index}]`;
      expectShape(io, { id: 'string', name: 'string', type: 'string' }, where);
      expect(IO_TYPES.includes(io.type), `${where}: type ${io.type} is not one of ${IO_TYPES}`, io);
      for (const flag of ['optional', 'allow_multiple', 'accepts_element']) {
        if (flag in io) expect(typeof io[flag] === 'boolean', `${where}: ${flag} should be boolean`, io);
      }
      if ('description' in io) expect(typeof io.description === 'string', `${where}: description is not a string`, io);
    });
    const ids = items.map((io) => io.id);
    expect(new Set(ids).size === ids.length, `${what}: duplicate ${side} ids`, ids);
  }
}

/** A built-in as listed must declare what its YAML declares. */
function expectBuiltin(technique, slug) {
  const want = BUILTINS[slug];
  expect(technique.technique_id === want.id, `${slug}: technique_id should be ${want.id}`, technique);
  expect(technique.name === want.name, `${slug}: name should be ${want.name}`, technique);
  const pick = (items, keys) => items.map((io) => Object.fromEntries(keys.map((k) => [k, io[k]])));
  const inputKeys = ['id', 'type'];
  const gotInputs = pick(technique.inputs, inputKeys);
  expect(safeJSON(gotInputs) === safeJSON(pick(want.inputs, inputKeys)), `${slug}: inputs differ`, technique.inputs);
  for (const io of want.inputs) {
    const got = technique.inputs.find((i) => i.id === io.id);
    expect(got.optional !== true, `${slug}: input ${io.id} should be required`, got);
    if (io.allow_multiple) expect(got.allow_multiple === true, `${slug}: input ${io.id} should allow_multiple`, got);
  }
  expect(
    safeJSON(pick(technique.outputs, inputKeys)) === safeJSON(pick(want.outputs, inputKeys)),
    `${slug}: outputs differ`,
    technique.outputs,
  );
}

/** Check a full `Run` object (nested create / retrieve, `GET /runs/{id}`). */
function expectRun(run, what) {
  expectShape(run, { run_id: 'string', status: 'string', progress: 'number', created_at: 'number' }, what);
  expect(/^run_\S+$/.test(run.run_id), `${what}: run_id is not run_…`, run);
  expect(STATUSES.includes(run.status), `${what}: unknown status ${run.status}`, run);
  expect(run.progress >= 0 && run.progress <= 100, `${what}: progress out of 0..100`, run);
  expect(isMs(run.created_at), `${what}: created_at is not integer unix ms`, run);
  for (const [key, value] of Object.entries(run)) expect(value !== null, `${what}: ${key} is null (absent data must be omitted)`, run);
  if (run.poll_url !== undefined) expect(run.poll_url.endsWith(`/runs/${run.run_id}`), `${what}: poll_url does not point at the run`, run);
}

/** Poll `techniques.runs.retrieve` until terminal, checking each snapshot; returns the final run. */
async function waitForTechniqueRun(client, techniqueId, runId, { timeoutMs = 40_000, intervalMs = 150 } = {}) {
  const deadline = Date.now() + timeoutMs;
  const statuses = [];
  let run;
  let progress = 0;
  while (Date.now() < deadline) {
    run = await client.techniques.runs.retrieve(runId, { techniqueId });
    expectRun(run, `techniques.runs.retrieve(${runId})`);
    expect(run.run_id === runId, 'retrieve returned another run', run);
    if (statuses[statuses.length - 1] !== run.status) statuses.push(run.status);
    if (run.status === 'running') {
      expect(run.progress >= progress, 'progress went backwards while running', { before: progress, run });
      progress = run.progress;
    }
    if (run.status === 'completed' || run.status === 'failed') return { run, statuses };
    await sleep(intervalMs);
  }
  throw new CheckFailed(`technique run ${runId} not terminal after ${timeoutMs} ms; last: ${safeJSON(run)}`);
}

/** A completed run: shape, and `generations.retrieve` (GET /runs/{id}) agrees with the nested retrieve. */
async function expectCompleted(client, run, what) {
  expect(run.status === 'completed', `${what}: run ended ${run.status}`, run);
  expect(run.progress === 100, `${what}: completed run should have progress 100`, run);
  expect(isMs(run.completed_at) && run.completed_at >= run.created_at, `${what}: completed_at missing or before created_at`, run);
  if (run.started_at !== undefined) {
    expect(run.started_at >= run.created_at && run.started_at <= run.completed_at, `${what}: started_at out of order`, run);
  }
  for (const key of ['error_code', 'error_message']) expect(!(key in run), `${what}: completed run carries ${key}`, run);
  if ('charged_cost' in run) expect(run.charged_cost >= 0, `${what}: charged_cost < 0`, run);
  expect(Array.isArray(run.outputs) && run.outputs.length >= 1, `${what}: completed run has no outputs`, run);
  const ids = run.outputs.map((o) => o.output_id);
  expect(new Set(ids).size === ids.length, `${what}: duplicate output_id`, ids);
  for (const output of run.outputs) expectShape(output, { output_id: 'string', type: 'string', url: 'string' }, `${what}: output`);
  const generic = await client.generations.retrieve(run.run_id);
  expectRun(generic, `generations.retrieve(${run.run_id})`);
  expect(generic.status === 'completed', `generations.retrieve says ${generic.status}`, generic);
  expect(safeJSON(generic.outputs) === safeJSON(run.outputs), 'generations.retrieve and techniques.runs.retrieve disagree on outputs', {
    technique: run.outputs,
    generic: generic.outputs,
  });
}

/** Download one output (no auth) and check it is the declared type; returns what it is. */
async function verifyOutput(output, declaredType, what) {
  expect(output.type === declaredType, `${what}: output type ${output.type}, technique declares ${declaredType}`, output);
  if (declaredType === 'text') {
    expect(output.url.trim().length > 0, `${what}: text output is empty`, output);
    return { type: 'text', text: output.url.slice(0, 60) };
  }
  const got = await download(output.url);
  expect(got.status === 200, `${what}: GET output url (no auth) returned ${got.status}`, output.url);
  const kind = sniffMore(got.bytes);
  const media = MEDIA[declaredType];
  expect(media.kinds.includes(kind), `${what}: downloaded bytes are ${kind}, not a ${declaredType}`, {
    head: Buffer.from(got.bytes.subarray(0, 16)).toString('hex'),
  });
  const mime = got.contentType.split(';')[0].trim().toLowerCase();
  expect(mime.startsWith(media.mime), `${what}: Content-Type ${got.contentType} does not match ${kind}`, output.url);
  const info = { type: declaredType, kind, bytes: got.bytes.length, content_type: mime };
  if (kind === 'mp4') Object.assign(info, mp4Info(got.bytes));
  if (kind === 'png') Object.assign(info, pngSize(got.bytes));
  return info;
}

/**
 * Run outputs must follow the technique's output slots, each slot once per fanned-out value
 * (`perSlot`), in slot order; every output is downloaded and sniffed.
 */
async function verifyOutputs(run, technique, perSlot, what) {
  const expected = technique.outputs.flatMap((slot) => Array(perSlot).fill(slot.type));
  expect(run.outputs.length === expected.length, `${what}: ${run.outputs.length} outputs, expected ${expected.length} (${expected})`, run.outputs);
  return Promise.all(run.outputs.map((output, index) => verifyOutput(output, expected[index], `${what} outputs[${index}]`)));
}

const near = (value, target, tolerance) => typeof value === 'number' && Math.abs(value - target) <= tolerance;

function expectBadRequest(err, what) {
  expect(err.status === 400, `${what}: status should be 400`, err.status);
  expect(err.error?.error?.code === 'input_validation_error', `${what}: error.error.code should be input_validation_error`, err.error);
  const fields = err.error.error.fields;
  expect(Array.isArray(fields) && fields.length > 0, `${what}: error.error.fields missing`, err.error);
  for (const f of fields) expectShape(f, { field: 'string', message: 'string' }, `${what}: fields[]`);
  return fields;
}

// ── webhook receiver ─────────────────────────────────────────────────────────

function startReceiver() {
  const deliveries = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      deliveries.push({ method: req.method, path: req.url, headers: req.headers, raw: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  const ready = new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
  return {
    ready,
    deliveries,
    close: () => new Promise((resolve) => server.close(() => resolve())),
    async waitFor(predicate, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const hit = deliveries.find(predicate);
        if (hit) return hit;
        await sleep(100);
      }
      return null;
    },
  };
}

// ── checks ───────────────────────────────────────────────────────────────────

async function main() {
  const receiver = startReceiver();
  const receiverPort = await receiver.ready;

  // Input media: the fixtures, uploaded through the SDK; their `url` is what the technique inputs get.
  const assetsReady = Promise.all(
    Object.entries(FIXTURES).map(async ([name, path]) => {
      const asset = await live.assets.upload(path, { workspace_id: WORKSPACE_ID, pollIntervalMs: 100, pollTimeoutMs: 20_000 });
      return [name, asset];
    }),
  ).then(Object.fromEntries);
  let assetsError = null;
  assetsReady.catch((err) => (assetsError = describeError(err)));
  const needAssets = async () => {
    try {
      const assets = await assetsReady;
      for (const [name, asset] of Object.entries(assets)) {
        expect(asset.status === 'ready' && typeof asset.url === 'string', `fixture ${name} not ready`, asset);
      }
      return assets;
    } catch {
      throw new CheckFailed(`uploading the input fixtures failed: ${assetsError}`);
    }
  };

  // The catalog as the test key sees it, for the run checks (declared outputs, run_cost).
  const catalogReady = Promise.all(
    Object.keys(BUILTINS).map(async (slug) => [slug, await test.techniques.retrieve(slug)]),
  ).then(Object.fromEntries);
  catalogReady.catch(() => {});

  const checks = [];
  const runIds = {}; // check name → run ids it created (for techniques.runs.list)

  checks.push(
    check('techniques.list', async () => {
      const first = await live.techniques.list({ limit: 2 });
      expect(Array.isArray(first.techniques) && first.techniques.length === 2, 'limit: 2 should give 2 techniques', first.techniques);
      expect(typeof first.meta?.next_cursor === 'string' && first.meta.next_cursor, 'first page of 2 should carry meta.next_cursor', first.meta);
      expect(first.hasNextPage(), 'SDK sees no next page after a page of 2');

      const paged = [];
      for await (const technique of live.techniques.list({ limit: 2 })) paged.push(technique);
      const ids = paged.map((t) => t.technique_id);
      expect(new Set(ids).size === ids.length, 'auto-pagination yielded duplicates', ids);
      const whole = await live.techniques.list({ limit: 100 });
      expect(whole.meta?.next_cursor == null, 'limit 100 should fit the whole catalog', whole.meta);
      expect(safeJSON(whole.techniques.map((t) => t.technique_id)) === safeJSON(ids), 'paged ids differ from one big page', {
        paged: ids,
        whole: whole.techniques.map((t) => t.technique_id),
      });
      expect(safeJSON(first.techniques) === safeJSON(paged.slice(0, 2)), 'first page differs from the start of the iteration');

      paged.forEach((t, i) => expectTechnique(t, `techniques[${i}]`));
      for (const [slug, want] of Object.entries(BUILTINS)) {
        const found = paged.find((t) => t.technique_id === want.id);
        expect(found, `built-in ${want.id} not listed`, ids);
        expectBuiltin(found, slug);
      }

      const vertical = [];
      for await (const t of live.techniques.list({ query: 'vertical', limit: 2 })) vertical.push(t.technique_id);
      expect(vertical.includes('tech_vertical_music_video'), "query 'vertical' misses tech_vertical_music_video", vertical);
      expect(!vertical.includes('tech_narrated_title'), "query 'vertical' returns tech_narrated_title", vertical);
      const narrated = (await live.techniques.list({ query: 'Narrated' })).techniques.map((t) => t.technique_id);
      expect(safeJSON(narrated) === safeJSON(['tech_narrated_title']), "query 'Narrated' should give only tech_narrated_title", narrated);
      const none = await live.techniques.list({ query: `no-such-technique-${tag}` });
      expect(none.techniques.length === 0 && none.meta?.next_cursor == null, 'a query matching nothing should be empty', none);
      return { listed: ids, pages_of_2: Math.ceil(ids.length / 2), query_vertical: vertical };
    }),
  );

  checks.push(
    check('techniques.retrieve', async () => {
      const listed = (await live.techniques.list({ limit: 100 })).techniques;
      const details = {};
      for (const [slug, want] of Object.entries(BUILTINS)) {
        const byId = await live.techniques.retrieve(want.id);
        const bySlug = await live.techniques.retrieve(slug);
        expectTechnique(byId, `retrieve(${want.id})`);
        expectBuiltin(byId, slug);
        expect(safeJSON(byId) === safeJSON(bySlug), `retrieve(${want.id}) and retrieve(${slug}) differ`, { byId, bySlug });
        const item = listed.find((t) => t.technique_id === want.id);
        expect(safeJSON(item) === safeJSON(byId), `list item and retrieve(${want.id}) differ`, { item, byId });
        details[slug] = { run_cost: byId.run_cost, inputs: byId.inputs.map((i) => `${i.id}:${i.type}`) };
      }
      for (const unknown of [`no-such-technique-${tag}`, 'tech_does_not_exist']) {
        const err = await expectReject(live.techniques.retrieve(unknown), NotFoundError, `techniques.retrieve('${unknown}')`);
        expect(err.status === 404 && err.error?.error?.code === 'not_found', 'unknown technique should be 404 not_found', err.error);
        expect(typeof err.error.error.message === 'string', 'error.error.message missing', err.error);
      }
      return details;
    }),
  );

  /**
   * Nested create (test key) → full Run → poll techniques.runs.retrieve to completed → GET /runs agrees →
   * outputs typed and ordered per the technique's output slots → each downloaded and sniffed.
   */
  async function nestedRun(name, slug, { via, inputs, perSlot = 1, verify }) {
    const technique = (await catalogReady)[slug];
    const reference = via === 'slug' ? slug : technique.technique_id;
    const created = await test.techniques.runs.create(reference, { inputs, mode: 'async' });
    expectRun(created, 'techniques.runs.create');
    expect('status' in created, 'nested create must return the full run, with status', created);
    expect(created.status !== 'failed', 'the fresh run is already failed', created);
    expect(!('outputs' in created) || created.status === 'completed', 'a fresh run carries outputs', created);
    (runIds[name] ||= []).push(created.run_id);
    // Poll under the other reference (slug ↔ id): both name the same technique.
    const pollRef = via === 'slug' ? technique.technique_id : slug;
    const { run, statuses } = await waitForTechniqueRun(test, pollRef, created.run_id);
    await expectCompleted(test, run, name);
    const outputs = await verifyOutputs(run, technique, perSlot, name);
    const extra = verify ? verify(outputs, run) : undefined;
    return { run_id: run.run_id, statuses, outputs, ...(extra || {}) };
  }

  checks.push(
    check('techniques.runs.create.narrated-title', async () =>
      nestedRun('techniques.runs.create.narrated-title', 'narrated-title', {
        via: 'slug',
        inputs: [{ id: 'title', type: 'text', value: `Hello from the SDK ${tag}` }],
        verify: ([video]) => {
          expect(video.kind === 'mp4', 'narrated title should be an MP4', video);
          expect(video.video?.width === 640 && video.video?.height === 360, 'title card video should be 640×360', video);
          expect(video.audio, 'narrated title has no audio track', video);
        },
      }),
    ),
  );

  checks.push(
    check('techniques.runs.create.prompt-to-loop', async () =>
      nestedRun('techniques.runs.create.prompt-to-loop', 'prompt-to-loop', {
        via: 'id',
        inputs: [{ id: 'prompt', type: 'text', value: `a lighthouse at dusk ${tag}` }],
        verify: ([loop, still]) => {
          expect(loop.kind === 'mp4' && loop.video, 'loop should be an MP4 with video', loop);
          // ken-burns 2 s, then forward + backward ≈ 4 s.
          expect(near(loop.seconds, 4, 0.6), `loop lasts ${loop.seconds} s, expected ≈ 4 s (2 s pan, boomeranged)`, loop);
          expect(still.kind === 'png', 'still should be a PNG from sim-image', still);
          expect(loop.video.width === still.width && loop.video.height === still.height, 'the loop should pan over the still at its size', { loop, still });
        },
      }),
    ),
  );

  checks.push(
    check('techniques.runs.create.boomerang-clip', async () => {
      const assets = await needAssets();
      return nestedRun('techniques.runs.create.boomerang-clip', 'boomerang-clip', {
        via: 'id',
        // allow_multiple: a repeated id → one clip per value, in order (1.5 s and 1.0 s sources).
        inputs: [
          { id: 'video', type: 'videoUrl', value: assets.video.url },
          { id: 'video', type: 'videoUrl', value: assets.video2.url },
        ],
        perSlot: 2,
        verify: ([long, short]) => {
          expect(near(long.seconds, 3, 0.5), `clip 1 lasts ${long.seconds} s, expected ≈ 3 s (1.5 s boomeranged)`, long);
          expect(near(short.seconds, 2, 0.5), `clip 2 lasts ${short.seconds} s, expected ≈ 2 s (1.0 s boomeranged)`, short);
          for (const clip of [long, short]) {
            expect(clip.video && clip.video.height === 480, 'resize-video 480 should give 480-pixel-high clips', clip);
          }
        },
      });
    }),
  );

  checks.push(
    check('techniques.runs.create.vertical-music-video', async () => {
      const assets = await needAssets();
      return nestedRun('techniques.runs.create.vertical-music-video', 'vertical-music-video', {
        via: 'slug',
        // The SDK types the nested input `type` as text|imageUrl|videoUrl; the contract's technique IO
        // types include audioUrl, which this technique's `music` input needs.
        inputs: [
          { id: 'video', type: 'videoUrl', value: assets.video.url },
          { id: 'music', type: 'audioUrl', value: assets.audio.url },
        ],
        verify: ([video]) => {
          expect(video.kind === 'mp4' && video.video, 'output should be an MP4 with video', video);
          const { width, height } = video.video;
          expect(height > width && Math.abs(width / height - 9 / 16) < 0.02, `output is ${width}×${height}, not 9:16`, video);
          expect(video.audio, 'the music is missing: no audio track', video);
          expect(near(video.seconds, 1.5, 0.3), `output lasts ${video.seconds} s, expected the video's 1.5 s`, video);
        },
      });
    }),
  );

  let topLevel = null; // { run_id, project_id } for techniques.runs.list
  checks.push(
    check('runs.startTechnique', async () => {
      const technique = await live.techniques.retrieve('tech_narrated_title');
      const created = await live.runs.startTechnique({
        technique_id: 'tech_narrated_title',
        workspace_id: WORKSPACE_ID,
        inputs: { title: `Top level ${tag}` },
      });
      if (typeof created?.run_id === 'string') {
        topLevel = { run_id: created.run_id, project_id: created.project_id };
        (runIds['runs.startTechnique'] ||= []).push(created.run_id);
      }
      expectShape(created, { run_id: 'string', type: 'string', charged_cost: 'number', estimated_seconds: 'number|null' }, 'startTechnique response');
      expect(/^run_\S+$/.test(created.run_id), 'run_id is not run_…', created);
      expect(created.type === 'technique', `type should be 'technique'`, created);
      expect(!('status' in created), 'the top-level create response has no status', created);
      expect(
        created.technique?.technique_id === 'tech_narrated_title' && created.technique?.name === 'Narrated title',
        'technique should be {name: "Narrated title", technique_id: "tech_narrated_title"}',
        created,
      );
      expect(created.charged_cost === technique.run_cost, `charged_cost quote ${created.charged_cost} != run_cost ${technique.run_cost}`, created);
      if (created.estimated_seconds !== null) expect(Number.isInteger(created.estimated_seconds) && created.estimated_seconds >= 0, 'estimated_seconds not an integer >= 0', created);
      expect(typeof created.poll_url === 'string' && /^https?:\/\//.test(created.poll_url), 'poll_url should be an absolute URL', created);
      expect(created.poll_url.endsWith(`/api/v1/runs/${created.run_id}`), 'poll_url does not point at /runs/{run_id}', created);
      expect(typeof created.project_id === 'string' && /^prj_/.test(created.project_id), 'project_id should be prj_…', created);
      expect(created.model == null && created.action == null, 'model and action should be null/absent', created);

      // Polled through poll_url's route (generations.retrieve) and the nested retrieve by slug.
      let run;
      const deadline = Date.now() + 40_000;
      do {
        run = await live.generations.retrieve(created.run_id);
        expectRun(run, 'generations.retrieve');
        if (run.status === 'completed' || run.status === 'failed') break;
        await sleep(150);
      } while (Date.now() < deadline);
      const nested = await live.techniques.runs.retrieve(created.run_id, { techniqueId: 'narrated-title' });
      await expectCompleted(live, nested, 'runs.startTechnique');
      const [video] = await verifyOutputs(nested, technique, 1, 'runs.startTechnique');
      expect(video.video?.width === 640 && video.audio, 'narrated title (live espeak-tts) should be 640-wide with audio', video);
      return { created, output: video };
    }),
  );

  checks.push(
    check('runs.startTechnique.slug_rejected', async () => {
      const err = await expectReject(
        live.runs.startTechnique({ technique_id: 'narrated-title', workspace_id: WORKSPACE_ID, inputs: { title: 'slug' } }),
        BadRequestError,
        "runs.startTechnique with a slug ('narrated-title')",
      );
      const fields = expectBadRequest(err, 'slug');
      expect(fields.some((f) => f.field === 'technique_id'), 'fields should name technique_id', fields);
      return err.error;
    }),
  );

  checks.push(
    check('techniques.runs.retrieve.other_technique', async () => {
      const created = await test.techniques.runs.create('narrated-title', {
        inputs: [{ id: 'title', type: 'text', value: `retrieve ${tag}` }],
        mode: 'async',
      });
      (runIds['techniques.runs.retrieve.other_technique'] ||= []).push(created.run_id);
      const same = await test.techniques.runs.retrieve(created.run_id, { techniqueId: 'tech_narrated_title' });
      expect(same.run_id === created.run_id, 'retrieve under its own technique failed', same);
      const err = await expectReject(
        test.techniques.runs.retrieve(created.run_id, { techniqueId: 'tech_boomerang_clip' }),
        NotFoundError,
        'techniques.runs.retrieve(run, {techniqueId: another technique})',
      );
      expect(err.error?.error?.code === 'not_found', 'code should be not_found', err.error);
      await expectReject(
        test.techniques.runs.retrieve('run_doesnotexist', { techniqueId: 'tech_narrated_title' }),
        NotFoundError,
        'techniques.runs.retrieve(unknown run)',
      );
      await expectReject(
        test.techniques.runs.create(`no-such-technique-${tag}`, { inputs: [{ id: 'x', type: 'text', value: 'x' }], mode: 'async' }),
        NotFoundError,
        'techniques.runs.create(unknown technique)',
      );
      await waitForTechniqueRun(test, 'narrated-title', created.run_id);
      return { run_id: created.run_id };
    }),
  );

  checks.push(
    check('techniques.runs.missing_input', async () => {
      const assets = await needAssets();
      const nested = await expectReject(
        test.techniques.runs.create('vertical-music-video', {
          inputs: [{ id: 'video', type: 'videoUrl', value: assets.video.url }],
          mode: 'async',
        }),
        BadRequestError,
        'nested create without the required music input',
      );
      const nestedFields = expectBadRequest(nested, 'nested');
      expect(
        nestedFields.some((f) => f.field.startsWith('inputs') && `${f.field} ${f.message}`.includes('music')),
        'fields should point at inputs and name the missing input music',
        nestedFields,
      );
      const top = await expectReject(
        test.runs.startTechnique({ technique_id: 'tech_vertical_music_video', workspace_id: WORKSPACE_ID, inputs: { video: assets.video.url } }),
        BadRequestError,
        'startTechnique without the required music input',
      );
      const topFields = expectBadRequest(top, 'top-level');
      expect(topFields.some((f) => f.field === 'inputs.music'), "fields should contain 'inputs.music'", topFields);
      const empty = await expectReject(
        test.techniques.runs.create('narrated-title', { inputs: [], mode: 'async' }),
        BadRequestError,
        'nested create with inputs: []',
      );
      expectBadRequest(empty, 'empty inputs');
      return { nested: nestedFields, top_level: topFields };
    }),
  );

  checks.push(
    check('techniques.runs.unknown_input', async () => {
      const nested = await expectReject(
        test.techniques.runs.create('tech_narrated_title', {
          inputs: [
            { id: 'title', type: 'text', value: 'ok' },
            { id: 'subtitle', type: 'text', value: 'not an input' },
          ],
          mode: 'async',
        }),
        BadRequestError,
        'nested create with an unknown input id',
      );
      const nestedFields = expectBadRequest(nested, 'nested');
      expect(nestedFields.some((f) => f.field.startsWith('inputs[1]')), 'fields should point at inputs[1]', nestedFields);
      const top = await expectReject(
        test.runs.startTechnique({ technique_id: 'tech_narrated_title', workspace_id: WORKSPACE_ID, inputs: { title: 'ok', subtitle: 'no' } }),
        BadRequestError,
        'startTechnique with an unknown input key',
      );
      const topFields = expectBadRequest(top, 'top-level');
      expect(topFields.some((f) => f.field === 'inputs.subtitle'), "fields should contain 'inputs.subtitle'", topFields);
      // The declared type must match too.
      const typed = await expectReject(
        test.techniques.runs.create('narrated-title', { inputs: [{ id: 'title', type: 'imageUrl', value: 'https://example.com/a.png' }], mode: 'async' }),
        BadRequestError,
        'nested create with the wrong input type',
      );
      const typedFields = expectBadRequest(typed, 'wrong type');
      expect(typedFields.some((f) => f.field.startsWith('inputs[0]')), 'fields should point at inputs[0]', typedFields);
      return { nested: nestedFields, top_level: topFields, wrong_type: typedFields };
    }),
  );

  checks.push(
    check('techniques.runs.idempotency', async () => {
      const responses = [];
      const counting = new FLORA({
        apiKey: TEST_KEY,
        fetch: async (url, init) => {
          const response = await fetch(url, init);
          responses.push({ url: String(url), status: response.status });
          return response;
        },
      });
      const key = `conformance-technique-${randomUUID()}`;
      const body = { inputs: [{ id: 'title', type: 'text', value: `idempotent ${tag}` }], mode: 'async', idempotency_key: key };
      const first = await counting.techniques.runs.create('tech_narrated_title', body);
      expectRun(first, 'first create');
      (runIds['techniques.runs.idempotency'] ||= []).push(first.run_id);
      const before = responses.length;
      const err = await expectReject(
        counting.techniques.runs.create('tech_narrated_title', body),
        ConflictError,
        'second nested create with the same idempotency_key',
      );
      expect(err.status === 409, 'status should be 409', err.status);
      expect(err.error?.error?.code === 'idempotency_duplicate', "error.error.code should be 'idempotency_duplicate'", err.error);
      const attempts = responses.length - before;
      const shouldRetry = err.headers.get('x-should-retry');
      expect(attempts === 1 && shouldRetry === 'false', `the SDK attempted the duplicate ${attempts} time(s); x-should-retry: ${shouldRetry} (want 1, 'false')`, responses.slice(before));
      const fresh = await counting.techniques.runs.create('tech_narrated_title', { ...body, idempotency_key: `${key}-2` });
      expect(fresh.run_id !== first.run_id, 'a fresh idempotency_key returned the same run', fresh);
      runIds['techniques.runs.idempotency'].push(fresh.run_id);
      await Promise.all([first, fresh].map((r) => waitForTechniqueRun(test, 'tech_narrated_title', r.run_id)));
      return { first: first.run_id, code: err.error.error.code, attempts };
    }),
  );

  checks.push(
    check('techniques.runs.webhook', async () => {
      const callbackUrl = `http://127.0.0.1:${receiverPort}/hooks/technique?tag=${tag}`;
      const created = await test.techniques.runs.create('narrated-title', {
        inputs: [{ id: 'title', type: 'text', value: `webhook ${tag}` }],
        mode: 'async',
        callback_url: callbackUrl,
      });
      (runIds['techniques.runs.webhook'] ||= []).push(created.run_id);
      const delivery = await receiver.waitFor((d) => d.raw.toString('utf8').includes(created.run_id), 30_000);
      expect(delivery, `no webhook POST arrived within 30 s for ${created.run_id}`, receiver.deliveries.map((d) => d.raw.toString('utf8').slice(0, 200)));
      expect(delivery.method === 'POST' && delivery.path.startsWith('/hooks/technique'), 'webhook hit the wrong method/path', delivery.path);
      const event = await test.webhooks.unwrap(delivery.raw, delivery.headers, WEBHOOK_SECRET);
      expect(event.type === 'run.completed', `event type ${event.type}, expected run.completed`, event);
      expect(event.data?.run_id === created.run_id, 'data.run_id does not match the run', event);
      expect(event.data.run_type === 'technique', `data.run_type should be 'technique'`, event);
      expect(event.data.status === 'completed', 'data.status should be completed', event);
      expect(event.data.workspace_id === WORKSPACE_ID, 'data.workspace_id mismatch', event);
      expect(!('outputs' in event.data), 'webhook data must not carry outputs', event);
      expect(/^whd_\S+$/.test(event.id) && delivery.headers['flora-webhook-id'] === event.id, 'event id / Flora-Webhook-Id mismatch', { event, headers: delivery.headers });
      expect(delivery.headers['flora-event'] === event.type, 'Flora-Event header != body type', delivery.headers);
      const run = await test.techniques.runs.retrieve(created.run_id, { techniqueId: 'narrated-title' });
      expect(run.status === 'completed', 'run not completed when its run.completed webhook arrived', run);
      return { event };
    }),
  );

  checks.push(
    check('techniques.runs.failed', async () => {
      // Accepted (the URL is well-formed), then fails when the worker cannot fetch it.
      const unreachable = `http://127.0.0.1:1/missing-${tag}.mp4`;
      const created = await test.techniques.runs.create('tech_boomerang_clip', {
        inputs: [{ id: 'video', type: 'videoUrl', value: unreachable }],
        mode: 'async',
        callback_url: `http://127.0.0.1:${receiverPort}/hooks/technique-failed?tag=${tag}`,
      });
      expectRun(created, 'techniques.runs.create');
      (runIds['techniques.runs.failed'] ||= []).push(created.run_id);
      const { run } = await waitForTechniqueRun(test, 'boomerang-clip', created.run_id);
      expect(run.status === 'failed', `run ended ${run.status}, expected failed`, run);
      expect(typeof run.error_code === 'string' && run.error_code.length > 0, 'failed run has no error_code', run);
      expect(typeof run.error_message === 'string' && run.error_message.length > 0, 'failed run has no error_message', run);
      expect(isMs(run.completed_at), 'failed run has no completed_at', run);
      expect(!('outputs' in run), 'failed run carries outputs', run);
      if ('charged_cost' in run) expect(run.charged_cost === 0, 'failed run should be refunded (charged_cost 0)', run);
      const delivery = await receiver.waitFor((d) => d.raw.toString('utf8').includes(created.run_id), 30_000);
      expect(delivery, `no run.failed webhook arrived within 30 s for ${created.run_id}`);
      const event = await test.webhooks.unwrap(delivery.raw, delivery.headers, WEBHOOK_SECRET);
      expect(event.type === 'run.failed' && event.data?.status === 'failed', 'expected a run.failed event', event);
      expect(event.data.run_type === 'technique' && event.data.run_id === created.run_id, 'event data should name this technique run', event);
      expect(event.data.error_code === run.error_code, 'event error_code differs from the run', { event, run });
      return { error_code: run.error_code, error_message: run.error_message, event: event.type };
    }),
  );

  await Promise.all(checks);

  // Listing last, once every run above exists and is terminal.
  await check('techniques.runs.list', async () => {
    const nestedId = runIds['techniques.runs.create.narrated-title']?.[0];
    expect(nestedId, 'the nested narrated-title run was not created (see its check)');
    expect(topLevel, 'the runs.startTechnique run was not created (see its check)');
    const mine = Object.values(runIds).flat();

    const all = [];
    for await (const item of test.techniques.runs.list({ limit: 2 })) all.push(item);
    const ids = all.map((r) => r.run_id);
    expect(new Set(ids).size === ids.length, 'auto-pagination yielded duplicates', ids);
    for (const id of mine) expect(ids.includes(id), `run ${id} missing from techniques.runs.list()`, ids);
    for (let i = 1; i < all.length; i++) expect(all[i - 1].created_at >= all[i].created_at, 'technique runs are not newest first', ids);
    for (const item of all) {
      expectRun(item, `technique_runs item ${item.run_id}`);
      expectShape(item, { project_id: 'string', workspace_id: 'string', technique_run_id: 'string', technique: 'object' }, `item ${item.run_id}`);
      expect(item.technique_run_id === item.run_id, 'technique_run_id !== run_id', item);
      expect(item.workspace_id === WORKSPACE_ID, 'workspace_id mismatch', item);
      expectShape(item.technique, { name: 'string', technique_id: 'string' }, `item ${item.run_id}.technique`);
    }
    const nested = all.find((r) => r.run_id === nestedId);
    const top = all.find((r) => r.run_id === topLevel.run_id);
    for (const item of [nested, top]) {
      expect(
        item.technique.technique_id === 'tech_narrated_title' && item.technique.name === 'Narrated title',
        'technique should be {name: "Narrated title", technique_id: "tech_narrated_title"}',
        item,
      );
      expect(item.status === 'completed' && Array.isArray(item.outputs) && item.outputs.length === 1, 'listed run should be completed with its output', item);
    }
    expect(top.project_id === topLevel.project_id, "listed project_id differs from startTechnique's", { top, topLevel });
    // Live and test keys of one workspace see the same history.
    const liveIds = [];
    for await (const item of live.techniques.runs.list({ limit: 100 })) liveIds.push(item.run_id);
    expect(safeJSON(liveIds) === safeJSON(ids), 'the live key lists different technique runs', { live: liveIds, test: ids });

    // Filters.
    const collect = async (query) => {
      const out = [];
      for await (const item of test.techniques.runs.list({ limit: 100, ...query })) out.push(item);
      return out;
    };
    const narrated = await collect({ technique_id: 'tech_narrated_title' });
    expect(narrated.length > 0 && narrated.every((r) => r.technique.technique_id === 'tech_narrated_title'), 'technique_id filter let other techniques through', narrated.map((r) => r.technique));
    for (const id of [nestedId, topLevel.run_id]) expect(narrated.some((r) => r.run_id === id), `technique_id filter lost ${id}`);
    const boomerang = await collect({ technique_id: 'tech_boomerang_clip' });
    expect(boomerang.every((r) => r.technique.technique_id === 'tech_boomerang_clip'), 'boomerang filter let other techniques through', boomerang.map((r) => r.technique));
    expect(!boomerang.some((r) => r.run_id === nestedId), 'boomerang filter lists a narrated-title run');
    const boomerangRun = runIds['techniques.runs.create.boomerang-clip']?.[0];
    if (boomerangRun) expect(boomerang.some((r) => r.run_id === boomerangRun), `boomerang filter lost ${boomerangRun}`, boomerang.map((r) => r.run_id));
    const completed = await collect({ status: 'completed' });
    expect(completed.every((r) => r.status === 'completed'), "status: 'completed' let other statuses through", completed.map((r) => r.status));
    for (const id of [nestedId, topLevel.run_id]) expect(completed.some((r) => r.run_id === id), `status filter lost ${id}`);
    const failed = await collect({ status: 'failed' });
    expect(failed.every((r) => r.status === 'failed'), "status: 'failed' let other statuses through", failed.map((r) => r.status));
    const failedRun = runIds['techniques.runs.failed']?.[0];
    if (failedRun) {
      expect(failed.some((r) => r.run_id === failedRun), `status: 'failed' lost ${failedRun}`, failed.map((r) => r.run_id));
      expect(!completed.some((r) => r.run_id === failedRun), `status: 'completed' lists the failed run ${failedRun}`);
    }
    expect(!failed.some((r) => r.run_id === nestedId || r.run_id === topLevel.run_id), "status: 'failed' lists a completed run");
    const project = await collect({ project_id: topLevel.project_id });
    expect(project.some((r) => r.run_id === topLevel.run_id), 'project_id filter lost the run', project.map((r) => r.run_id));
    return { listed: ids.length, narrated: narrated.length, boomerang: boomerang.length, completed: completed.length, failed: failed.length };
  });

  await receiver.close();
}

main().then(
  () => process.exit(exitCode()),
  (err) => {
    process.stdout.write(JSON.stringify({ check: 'script', ok: false, detail: String(err?.stack || err) }) + '\n');
    process.exit(2);
  },
);
