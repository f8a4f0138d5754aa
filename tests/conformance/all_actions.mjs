// Every action, end to end, through the official SDK:
//   assets.upload (fixture media) → actions.run (inputs per the action's catalog slots) → generations.retrieve
//   until terminal → download every output without auth → check it is real media of the slot's type.
//
// The action list comes from actions.list(), so a new action is exercised without touching this file
// (it runs with its default params and generic checks; PLANS below adds params and property checks).
//
// Environment:
//   FLORA_BASE_URL, FLORA_API_KEY (live key), STAMEN_WORKSPACE_ID
//   STAMEN_FIXTURE_IMAGE, STAMEN_FIXTURE_IMAGE2 (64×48 PNGs), STAMEN_FIXTURE_VIDEO, STAMEN_FIXTURE_VIDEO2
//   (H.264+AAC MP4s), STAMEN_FIXTURE_GREEN_VIDEO (green-screen MP4), STAMEN_FIXTURE_AUDIO (WAV)
//   STAMEN_OUTPUT_DIR      downloaded outputs are written here (<action_id>/<n>.<ext>) for deeper checks
//   STAMEN_EXPECTED_ACTIONS  catalog size to insist on (default 58)
//   STAMEN_ACTION_CONCURRENCY  actions in flight at once (default 6)
//
// Prints one JSON line per check (see lib.mjs): `catalog`, `assets.upload.fixtures`, `actions.run.<id>` for
// every catalog id, and `actions.all_ran`. Exits 1 if any check failed.

import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

import FLORA from '@flora-ai/flora';

import { check, CheckFailed, describeError, download, env, exitCode, expect, safeJSON, waitForRun } from './lib.mjs';

const WORKSPACE_ID = env('STAMEN_WORKSPACE_ID');
env('FLORA_BASE_URL');
env('FLORA_API_KEY');
const OUTPUT_DIR = env('STAMEN_OUTPUT_DIR');
const EXPECTED_ACTIONS = Number(env('STAMEN_EXPECTED_ACTIONS', { required: false }) || 58);
const CONCURRENCY = Number(env('STAMEN_ACTION_CONCURRENCY', { required: false }) || 6);
const FIXTURES = {
  image: { path: env('STAMEN_FIXTURE_IMAGE'), content_type: 'image/png' },
  image2: { path: env('STAMEN_FIXTURE_IMAGE2'), content_type: 'image/png' },
  video: { path: env('STAMEN_FIXTURE_VIDEO'), content_type: 'video/mp4' },
  video2: { path: env('STAMEN_FIXTURE_VIDEO2'), content_type: 'video/mp4' },
  green_video: { path: env('STAMEN_FIXTURE_GREEN_VIDEO'), content_type: 'video/mp4' },
  audio: { path: env('STAMEN_FIXTURE_AUDIO'), content_type: 'audio/wav' },
};
const RUN_TIMEOUT_MS = 60_000;

const client = new FLORA();
const tag = randomUUID().slice(0, 8);

// ── media sniffing ───────────────────────────────────────────────────────────

const SLOT_OUTPUT_TYPE = { image: 'imageUrl', video: 'videoUrl', audio: 'audioUrl', text: 'text' };
/** Container kinds acceptable for each slot type. */
const KINDS = {
  image: ['png', 'jpeg', 'webp'],
  video: ['mp4', 'webm'],
  audio: ['wav', 'mp3', 'm4a', 'ogg'],
};
const CONTENT_TYPES = {
  png: ['image/png'],
  jpeg: ['image/jpeg'],
  webp: ['image/webp'],
  mp4: ['video/mp4', 'video/quicktime'],
  webm: ['video/webm'],
  wav: ['audio/wav', 'audio/x-wav', 'audio/wave', 'audio/vnd.wave'],
  mp3: ['audio/mpeg', 'audio/mp3'],
  m4a: ['audio/mp4', 'audio/m4a', 'audio/x-m4a', 'audio/aac'],
  ogg: ['audio/ogg', 'audio/opus'],
};
const EXTENSIONS = { png: 'png', jpeg: 'jpg', webp: 'webp', mp4: 'mp4', webm: 'webm', wav: 'wav', mp3: 'mp3', m4a: 'm4a', ogg: 'ogg' };

/** The container, judged by magic numbers. `ftyp` files are `m4a` when the brand says audio. */
function sniffMedia(bytes) {
  const ascii = (start, end) => Buffer.from(bytes.subarray(start, end)).toString('latin1');
  if (bytes.length >= 8 && bytes[0] === 0x89 && ascii(1, 4) === 'PNG' && bytes[4] === 0x0d && bytes[5] === 0x0a) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (bytes.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return 'wav';
  if (bytes.length >= 12 && ascii(4, 8) === 'ftyp') return ['M4A ', 'M4B '].includes(ascii(8, 12)) ? 'm4a' : 'mp4';
  if (bytes.length >= 4 && bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) return 'webm';
  if (bytes.length >= 4 && ascii(0, 4) === 'OggS') return 'ogg';
  if (bytes.length >= 3 && ascii(0, 3) === 'ID3') return 'mp3';
  if (bytes.length >= 2 && bytes[0] === 0xff && (bytes[1] & 0xe0) === 0xe0) return 'mp3'; // MPEG frame sync
  return 'unknown';
}

/** Width/height from the image header (PNG IHDR, JPEG SOFn, WebP VP8/VP8L/VP8X). */
function imageSize(kind, bytes) {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (kind === 'png') {
    expect(buf.toString('latin1', 12, 16) === 'IHDR', 'PNG does not start with IHDR');
    return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
  }
  if (kind === 'jpeg') {
    let offset = 2;
    while (offset + 9 < buf.length) {
      expect(buf[offset] === 0xff, 'JPEG marker expected', offset);
      const marker = buf[offset + 1];
      if (marker === 0xff) {
        offset += 1;
        continue;
      }
      const length = buf.readUInt16BE(offset + 2);
      if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
        return { width: buf.readUInt16BE(offset + 7), height: buf.readUInt16BE(offset + 5) };
      }
      offset += 2 + length;
    }
    throw new CheckFailed('JPEG has no SOF marker');
  }
  if (kind === 'webp') {
    const chunk = buf.toString('latin1', 12, 16);
    if (chunk === 'VP8X') return { width: 1 + buf.readUIntLE(24, 3), height: 1 + buf.readUIntLE(27, 3) };
    if (chunk === 'VP8L') {
      const bits = buf.readUInt32LE(21);
      return { width: 1 + (bits & 0x3fff), height: 1 + ((bits >> 14) & 0x3fff) };
    }
    if (chunk === 'VP8 ') return { width: buf.readUInt16LE(26) & 0x3fff, height: buf.readUInt16LE(28) & 0x3fff };
    throw new CheckFailed(`unknown WebP chunk ${chunk}`);
  }
  throw new CheckFailed(`not an image kind: ${kind}`);
}

// ── per-action plans ─────────────────────────────────────────────────────────
// params: sent with the run (small sizes/durations keep the suite fast); texts: values for text slots,
// by slot name (an array for `multiple` slots); media: fixture names to use for a slot type, in order;
// verify(outputs): property checks on the downloaded outputs (image sizes, texts, counts). Video durations
// and pixels are checked on the saved files by the pytest module (test_sdk_all_actions.py).

const SRC = { width: 64, height: 48 }; // the image fixtures
const VIDEO = { width: 160, height: 120 }; // the video fixtures

const sizeIs = (width, height) => (outputs) => {
  for (const out of outputs) {
    expect(out.width === width && out.height === height, `output should be ${width}x${height}`, { width: out.width, height: out.height });
  }
};
const sameSize = sizeIs(SRC.width, SRC.height);
const square = (outputs) => {
  for (const out of outputs) expect(out.width === out.height, 'output should be square', out);
};
const countIs = (n, then) => (outputs) => {
  expect(outputs.length === n, `expected ${n} outputs, got ${outputs.length}`, outputs);
  then?.(outputs);
};
const textIs = (...want) => (outputs) => {
  const got = outputs.map((o) => o.text);
  expect(safeJSON(got) === safeJSON(want), 'text outputs differ', { want, got });
};
const kindIs = (kind, then) => (outputs) => {
  for (const out of outputs) expect(out.kind === kind, `output should be ${kind}`, out);
  then?.(outputs);
};

const SPLIT_TEXT = { texts: { text: 'one\ntwo\nthree' }, params: { split_mode: 'lines' }, verify: textIs('one', 'two', 'three') };
const FIND_REPLACE = {
  texts: { text: 'The cat sat on the cat mat; concatenate.' },
  params: { find: 'cat', replace: 'dog', whole_word: true },
  verify: textIs('The dog sat on the dog mat; concatenate.'),
};
const CONCAT = { texts: { texts: ['alpha', 'beta'] }, params: { separator: ' + ' }, verify: textIs('alpha + beta') };
const QR = { texts: { text: 'https://stamen.example/qr' }, params: { size: 128 }, verify: kindIs('png', square) };
const SIDE_BY_SIDE = { params: { layout: 'horizontal-2', gap: 0 }, verify: sizeIs(2 * SRC.width, SRC.height) };

const PLANS = {
  // text
  'split-text': SPLIT_TEXT,
  'split-text-browser': SPLIT_TEXT,
  'find-and-replace-text': FIND_REPLACE,
  'find-and-replace-text-browser': FIND_REPLACE,
  'concat-text': CONCAT,
  'concat-text-browser': CONCAT,
  // image
  'rotate-image': { params: { angle: 90, expand: true }, verify: sizeIs(SRC.height, SRC.width) },
  'rotate-image-browser': { params: { angle: 90, canvas_mode: 'expand' }, verify: sizeIs(SRC.height, SRC.width) },
  'flip-image': { params: { direction: 'horizontal' }, verify: sameSize },
  'change-image-ar': { params: { aspect_ratio: '1:1', fit: 'crop' }, verify: sizeIs(SRC.height, SRC.height) },
  'change-image-ar-browser': { params: { aspect_ratio: '1:1', fit: 'crop' }, verify: sizeIs(SRC.height, SRC.height) },
  'color-grade-image': { params: { brightness: 0.2, contrast: 0.1 }, verify: sameSize },
  'color-grade-image-browser': { params: { brightness: 0.2, hue_shift: 30 }, verify: sameSize },
  'color-filter-image': { params: { filter: 'grayscale' }, verify: sameSize },
  'color-filter-image-browser': { params: { filter: 'invert' }, verify: sameSize },
  'color-tint-image': { verify: sameSize },
  'color-tint-image-browser': { verify: sameSize },
  'filter-color-image': { verify: sameSize },
  'filter-color-image-browser': { verify: sameSize },
  'blur-image': { params: { radius: 2 }, verify: sameSize },
  'blur-image-browser': { params: { radius: 2 }, verify: sameSize },
  'duplicate-image': { params: { count: 3 }, verify: countIs(3, sameSize) },
  'duplicate-image-browser': { params: { count: 3 }, verify: countIs(3, sameSize) },
  'side-by-side-composite': SIDE_BY_SIDE,
  'side-by-side-composite-browser': SIDE_BY_SIDE,
  'add-shape-to-image': { params: { shape: 'ellipse' } },
  'add-shape-to-image-browser': { params: { shape: 'star' } },
  'generate-shape-image': { params: { width: 80, height: 60 } },
  'add-text-to-image': { texts: { text: 'Hi' }, params: { font_size: 16 } },
  'add-text-to-image-browser': { texts: { text: 'Hi' }, params: { font_size: 16 } },
  'generate-text-image': { texts: { text: 'Stamen' }, params: { width: 160, height: 80, font_size: 24 }, verify: sizeIs(160, 80) },
  'qr-code-generator': QR,
  'qr-code-generator-browser': QR,
  'overlay-image-browser': { params: { opacity: 0.8 }, verify: sameSize },
  'draw-image-browser': { verify: sameSize },
  'crop-image-browser': { params: { size: { x: 0.5, y: 0.5 } }, verify: sizeIs(SRC.width / 2, SRC.height / 2) },
  'scene-3d-image-browser': { params: { size: 128, aspect_ratio: '1:1' }, verify: sizeIs(128, 128) },
  'resize-image-browser': { params: { mode: 'percent', percent: 50 }, verify: sizeIs(SRC.width / 2, SRC.height / 2) },
  'shader-effect-browser': { params: { effect: 'edges' }, verify: sameSize },
  // video
  'ken-burns-video': { params: { duration: 1, fps: '24' } },
  'stitch-videos': {},
  'split-video': { params: { split_mode: 'equal', segments: 2 }, verify: countIs(2) },
  'extract-video-frames': {
    params: { mode: 'evenly', frame_count: 3 },
    verify: countIs(3, sizeIs(VIDEO.width, VIDEO.height)),
  },
  'color-grade-video': { params: { brightness: 0.1, saturation: 1.2 } },
  'video-to-frame-grid': { params: { rows: 2, cols: 2, cell_width: 80, gap: 0 }, verify: (outs) => expect(outs[0].width === 160, 'grid should be 2×80 px wide', outs) },
  'boomerang-video': {},
  'reverse-video': { params: { audio_mode: 'reverse' } },
  'video-to-long-exposure': { params: { max_frames: 24 }, verify: sizeIs(VIDEO.width, VIDEO.height) },
  'video-effect': { params: { effect: 'pixelate', pixel_block_size: 8 } },
  'color-filter-video': { params: { filter: 'sepia' } },
  'speed-up-video': { params: { factor: 2 } },
  'slow-down-video': { params: { factor: 2, smoothing: 'off' } },
  'duplicate-video': { params: { count: 2 }, verify: countIs(2) },
  'greenscreen-video': { media: { video: ['green_video'] }, params: { color_preset: 'green' } },
  'resize-video': { params: { resolution: '240' } },
  'change-video-ar': { params: { aspect_ratio: '1:1', fit: 'crop' } },
  'split-audio-from-video': { params: { audio_format: 'auto' } },
  'merge-audio-into-video': { params: { duration: 'video' } },
};

const DEFAULT_MEDIA = { image: ['image', 'image2'], video: ['video', 'video2'], audio: ['audio'] };

/**
 * ActionInput[] for every input slot (optional ones too; two items for a `multiple` slot, or its min).
 * Inputs carry their slot `name` only when the action has several input slots; single-slot actions get
 * unnamed inputs, as in the SDK's own examples, so both binding paths (by name, by type) are exercised.
 */
function buildInputs(entry, plan, assets) {
  const used = { image: 0, video: 0, audio: 0 };
  const inputs = [];
  const named = entry.inputs.length > 1;
  for (const slot of entry.inputs) {
    const count = slot.multiple ? Math.max(2, (typeof slot.multiple === 'object' && slot.multiple.min) || 0) : 1;
    for (let k = 0; k < count; k++) {
      if (slot.type === 'text') {
        const given = plan.texts?.[slot.name];
        const text = Array.isArray(given) ? given[k] : given ?? `Stamen conformance text ${k + 1}`;
        inputs.push({ type: 'text', ...(named ? { name: slot.name } : {}), text });
        continue;
      }
      const names = plan.media?.[slot.type] ?? DEFAULT_MEDIA[slot.type];
      expect(names, `no fixture for slot type ${slot.type}`, slot);
      const fixture = names[used[slot.type]++ % names.length];
      inputs.push({ type: slot.type, ...(named ? { name: slot.name } : {}), url: assets[fixture].url });
    }
  }
  return inputs;
}

/** Pair outputs (in output-slot order) with the slots they fill; every output must belong to a slot. */
function assignOutputs(slots, outputs) {
  const pairs = [];
  let i = 0;
  for (const slot of slots) {
    const want = SLOT_OUTPUT_TYPE[slot.type];
    if (slot.multiple) {
      const start = i;
      while (i < outputs.length && outputs[i].type === want) pairs.push({ slot, output: outputs[i++] });
      const min = typeof slot.multiple === 'object' && slot.multiple.min != null ? slot.multiple.min : 1;
      expect(i - start >= min, `output slot ${slot.name} (multiple ${slot.type}) got ${i - start} outputs`, outputs);
    } else if (i < outputs.length && outputs[i].type === want) {
      pairs.push({ slot, output: outputs[i++] });
    } else {
      expect(slot.optional, `output slot ${slot.name} (${slot.type}) has no ${want} output`, { slots, outputs });
    }
  }
  expect(i === outputs.length, `outputs do not match the declared output slots`, { slots, outputs });
  return pairs;
}

async function verifyOutput(actionId, index, slot, output) {
  expect(typeof output.output_id === 'string' && output.output_id, 'output has no output_id', output);
  if (slot.type === 'text') {
    expect(typeof output.url === 'string' && output.url.trim().length > 0, 'text output is empty', output);
    return { slot: slot.name, type: 'text', text: output.url };
  }
  const got = await download(output.url);
  expect(got.status === 200, `GET output url (no auth) returned ${got.status}`, output.url);
  expect(got.bytes.length > 0, 'output is empty', output.url);
  let kind = sniffMedia(got.bytes);
  if (slot.type === 'audio' && kind === 'mp4') kind = 'm4a'; // an audio-only ISO-BMFF file under another brand
  expect(KINDS[slot.type].includes(kind), `${slot.type} output is ${kind} (want ${KINDS[slot.type].join('/')})`, {
    url: output.url,
    head: Buffer.from(got.bytes.subarray(0, 16)).toString('hex'),
  });
  const mime = got.contentType.split(';')[0].trim().toLowerCase();
  expect(CONTENT_TYPES[kind].includes(mime), `Content-Type ${got.contentType} does not match ${kind}`, output.url);
  const record = { slot: slot.name, type: slot.type, kind, bytes: got.bytes.length, content_type: mime };
  if (slot.type === 'image') {
    Object.assign(record, imageSize(kind, got.bytes));
    expect(record.width > 0 && record.height > 0 && record.width <= 8192 && record.height <= 8192, 'implausible image size', record);
  }
  const dir = path.join(OUTPUT_DIR, actionId);
  await fs.mkdir(dir, { recursive: true });
  record.file = path.join(dir, `${index}.${EXTENSIONS[kind]}`);
  await fs.writeFile(record.file, got.bytes);
  return record;
}

async function runAction(entry, ctx) {
  const actionId = entry.action_id;
  const plan = PLANS[actionId] ?? {};
  const retrieved = await client.actions.retrieve(actionId);
  expect(safeJSON(retrieved) === safeJSON(entry), 'actions.retrieve differs from the actions.list entry', { retrieved, entry });
  const inputs = buildInputs(entry, plan, ctx.assets);
  const started = Date.now();
  const created = await client.actions.run({
    action_id: actionId,
    workspace_id: WORKSPACE_ID,
    project_id: ctx.projectId,
    inputs,
    ...(plan.params ? { params: plan.params } : {}),
  });
  expect(/^run_\S+$/.test(created.run_id), 'run_id is not run_…', created);
  expect(created.type === 'action', "type should be 'action'", created);
  expect(created.action?.action_id === actionId, 'action.action_id should echo the id', created);
  expect(created.charged_cost === 0, 'actions cost nothing', created);
  const { run, statuses } = await waitForRun(client, created.run_id, { timeoutMs: RUN_TIMEOUT_MS, intervalMs: 200 });
  const seconds = (Date.now() - started) / 1000;
  expect(run.status === 'completed', `action run ended ${run.status}`, { run, params: plan.params, inputs });
  expect(Array.isArray(run.outputs) && run.outputs.length > 0, 'completed run has no outputs', run);
  const pairs = assignOutputs(entry.outputs, run.outputs);
  const outputs = await Promise.all(pairs.map(({ slot, output }, i) => verifyOutput(actionId, i, slot, output)));
  plan.verify?.(outputs);
  return {
    run_id: run.run_id,
    seconds,
    statuses,
    params: plan.params ?? {},
    inputs: inputs.map((item) => `${item.name ?? '(unnamed)'}:${item.type}`),
    outputs,
  };
}

async function main() {
  // catalog + fixtures first (the actions need both)
  let catalog = [];
  await check('catalog', async () => {
    const listed = await client.actions.list();
    expect(Array.isArray(listed.actions), 'actions is not an array', listed);
    catalog = listed.actions;
    const ids = catalog.map((a) => a.action_id);
    expect(new Set(ids).size === ids.length, 'duplicate action ids', ids);
    for (const entry of catalog) {
      for (const slot of [...entry.inputs, ...entry.outputs]) {
        expect(slot.type in SLOT_OUTPUT_TYPE, `${entry.action_id}: unknown slot type`, slot);
      }
      expect(entry.outputs.length > 0, `${entry.action_id} declares no output slot`, entry);
      expect(entry.inputs.length > 0, `${entry.action_id} declares no input slot (runs need ≥ 1 input)`, entry);
    }
    expect(ids.length === EXPECTED_ACTIONS, `catalog has ${ids.length} actions, expected ${EXPECTED_ACTIONS}`, ids);
    return { count: ids.length };
  });

  const ctx = { projectId: null, assets: {} };
  const setup = await check('assets.upload.fixtures', async () => {
    const project = await client.projects.create({ name: `conformance all actions ${tag}`, workspace_id: WORKSPACE_ID });
    ctx.projectId = project.project_id;
    const summary = {};
    await Promise.all(
      Object.entries(FIXTURES).map(async ([name, fixture]) => {
        const asset = await client.assets.upload(fixture.path, {
          workspace_id: WORKSPACE_ID,
          file_name: `${name}-${tag}${path.extname(fixture.path)}`,
          content_type: fixture.content_type,
          pollIntervalMs: 100,
          pollTimeoutMs: 20_000,
        });
        expect(/^asset_\S+$/.test(asset.asset_id) && asset.status === 'ready', `${name}: asset not ready`, asset);
        const got = await download(asset.url);
        const want = await fs.readFile(fixture.path);
        expect(got.status === 200 && Buffer.compare(Buffer.from(got.bytes), want) === 0, `${name}: asset url does not serve the uploaded bytes`, {
          status: got.status,
          bytes: got.bytes.length,
          want: want.length,
        });
        ctx.assets[name] = asset;
        summary[name] = { asset_id: asset.asset_id, bytes: want.length, content_type: asset.content_type };
      }),
    );
    return summary;
  });

  // video actions first: they are the slow ones, so the pool ends on quick image/text runs
  const weight = (entry) => [...entry.inputs, ...entry.outputs].some((s) => s.type === 'video' || s.type === 'audio');
  const queue = [...catalog].sort((a, b) => Number(weight(b)) - Number(weight(a)));
  const reported = [];
  const worker = async () => {
    while (queue.length) {
      const entry = queue.shift();
      const line = await check(`actions.run.${entry.action_id}`, async () => {
        expect(setup.ok, `fixture upload failed: ${safeJSON(setup.detail)}`);
        return runAction(entry, ctx);
      });
      reported.push(line);
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const wallSeconds = (Date.now() - started) / 1000;

  await check('actions.all_ran', async () => {
    const failed = reported.filter((r) => !r.ok).map((r) => r.check);
    expect(catalog.length === EXPECTED_ACTIONS, `catalog has ${catalog.length} actions, expected ${EXPECTED_ACTIONS}`);
    expect(reported.length === catalog.length, `${reported.length} of ${catalog.length} actions reported`);
    expect(failed.length === 0, `${failed.length} action(s) failed`, failed);
    const slowest = [...reported].sort((a, b) => b.ms - a.ms).slice(0, 5).map((r) => `${r.check} ${r.ms} ms`);
    return { actions: reported.length, concurrency: CONCURRENCY, wall_seconds: wallSeconds, slowest };
  });
}

main().then(
  () => process.exit(exitCode()),
  (err) => {
    process.stdout.write(JSON.stringify({ check: 'script', ok: false, detail: describeError(err) }) + '\n');
    process.exit(2);
  },
);
