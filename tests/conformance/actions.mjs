// Actions + assets conformance: assets.upload → actions.run (rotate) → poll → download → dimensions swapped.
//
// Environment: FLORA_BASE_URL, FLORA_API_KEY (live key), STAMEN_WORKSPACE_ID.
// Prints one JSON line per check (see lib.mjs); exits 1 if any check failed.

import { randomUUID } from 'node:crypto';
import zlib from 'node:zlib';

import FLORA, { BadRequestError, NotFoundError } from '@flora-ai/flora';

import {
  check,
  decodePng,
  describeError,
  download,
  env,
  exitCode,
  expect,
  expectReject,
  waitForRun,
} from './lib.mjs';

const WORKSPACE_ID = env('STAMEN_WORKSPACE_ID');
env('FLORA_BASE_URL');
env('FLORA_API_KEY');
const client = new FLORA();
const tag = randomUUID().slice(0, 8);

/** The test image's colour at (x, y): every pixel distinct, so any geometric transform is detectable. */
const colorAt = (x, y) => [x * 10, y * 25, 200];

/** A tiny, non-square RGB PNG (width × height), each pixel a different colour. */
function makePng(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (buf) => {
    let c = 0xffffffff;
    for (const byte of buf) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      const [r, g, b] = colorAt(x, y);
      row[1 + x * 3] = r;
      row[2 + x * 3] = g;
      row[3 + x * 3] = b;
    }
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const WIDTH = 24;
const HEIGHT = 10;

async function main() {
  let projectId = null;
  let asset = null;
  let setupError = null;
  const setup = (async () => {
    const project = await client.projects.create({ name: `conformance actions ${tag}`, workspace_id: WORKSPACE_ID });
    projectId = project.project_id;
    asset = await client.assets.upload(makePng(WIDTH, HEIGHT), {
      workspace_id: WORKSPACE_ID,
      file_name: `probe-${tag}.png`,
      content_type: 'image/png',
      pollIntervalMs: 100,
      pollTimeoutMs: 20_000,
    });
  })().catch((err) => (setupError = describeError(err)));
  const needAsset = async () => {
    await setup;
    expect(asset && projectId, `project/asset setup failed: ${setupError}`);
  };

  // Where each output pixel comes from in the input, per transform (input is WIDTH × HEIGHT).
  const TRANSFORMS = {
    clockwise: { width: HEIGHT, height: WIDTH, source: (x, y) => [y, HEIGHT - 1 - x] },
    counterclockwise: { width: HEIGHT, height: WIDTH, source: (x, y) => [WIDTH - 1 - y, x] },
    mirror: { width: WIDTH, height: HEIGHT, source: (x, y) => [WIDTH - 1 - x, y] },
    identity: { width: WIDTH, height: HEIGHT, source: (x, y) => [x, y] },
  };

  function matches(image, name) {
    const t = TRANSFORMS[name];
    if (image.width !== t.width || image.height !== t.height) return false;
    for (let y = 0; y < image.height; y++) {
      for (let x = 0; x < image.width; x++) {
        const [sx, sy] = t.source(x, y);
        const want = colorAt(sx, sy);
        const got = image.at(x, y);
        if (want.some((v, i) => Math.abs(v - got[i]) > 2)) return false;
      }
    }
    return true;
  }

  async function runImageAction(actionId, params, expected) {
    await needAsset();
    const created = await client.actions.run({
      action_id: actionId,
      workspace_id: WORKSPACE_ID,
      project_id: projectId,
      inputs: [{ type: 'image', url: asset.url }],
      params,
    });
    expect(/^run_\S+$/.test(created.run_id), 'actions.run: run_id is not run_…', created);
    expect(created.type === 'action', "actions.run: type should be 'action'", created);
    expect(created.charged_cost === 0, 'actions.run: actions cost nothing', created);
    const { run } = await waitForRun(client, created.run_id);
    expect(run.status === 'completed', `action run ended ${run.status}`, run);
    const output = run.outputs?.[0];
    expect(output && output.type === 'imageUrl', 'outputs[0] should be an imageUrl', run);
    const got = await download(output.url);
    expect(got.status === 200, `GET output url (no auth) returned ${got.status}`, output.url);
    const image = await decodePng(got.bytes);
    const size = { width: image.width, height: image.height };
    const want = TRANSFORMS[expected];
    expect(size.width === want.width && size.height === want.height, `expected ${want.width}x${want.height} (${expected})`, size);
    const actual = Object.keys(TRANSFORMS).filter((name) => matches(image, name));
    expect(actual.includes(expected), `pixels are not the ${expected} transform of the input`, { looks_like: actual });
    return { run_id: run.run_id, size, content_type: got.contentType };
  }

  const checks = [
    check('actions.list+retrieve', async () => {
      const listed = await client.actions.list();
      expect(Array.isArray(listed.actions), 'actions is not an array', listed);
      const ids = listed.actions.map((a) => a.action_id);
      for (const id of ['rotate-image', 'rotate-image-browser', 'flip-image', 'reverse-video']) {
        expect(ids.includes(id), `${id} missing from actions.list()`, ids);
      }
      const entry = await client.actions.retrieve('rotate-image-browser');
      expect(entry.action_id === 'rotate-image-browser', 'retrieve returned another action', entry);
      for (const key of ['name', 'description', 'language', 'charged_cost', 'inputs', 'outputs', 'params']) {
        expect(key in entry, `action entry lacks ${key}`, entry);
      }
      expect(entry.params.some((p) => p.key === 'angle'), 'rotate-image-browser has no angle param', entry.params);
      await expectReject(client.actions.retrieve('no-such-action'), NotFoundError, "actions.retrieve('no-such-action')");
      return { count: ids.length };
    }),
    check('assets.upload', async () => {
      await needAsset();
      expect(/^asset_\S+$/.test(asset.asset_id), 'asset_id is not asset_…', asset);
      expect(asset.status === 'ready', `asset status ${asset.status}`, asset);
      if (asset.width != null || asset.height != null) {
        expect(asset.width === WIDTH && asset.height === HEIGHT, 'asset width/height do not match the PNG', asset);
      }
      const got = await download(asset.url);
      expect(got.status === 200, `GET asset url (no auth) returned ${got.status}`, asset.url);
      const image = await decodePng(got.bytes);
      expect(matches(image, 'identity'), 'downloaded asset is not the uploaded image', { width: image.width, height: image.height });
      return { asset_id: asset.asset_id, uploaded_via: asset.uploaded_via, content_type: asset.content_type };
    }),
    check('actions.run.rotate-image', () => runImageAction('rotate-image', { angle: 90, expand: true }, 'clockwise')),
    check('actions.run.rotate-image-browser', () =>
      runImageAction('rotate-image-browser', { angle: 90, canvas_mode: 'expand' }, 'clockwise'),
    ),
    check('actions.run.flip-image', () => runImageAction('flip-image', { direction: 'horizontal' }, 'mirror')),
    check('actions.run.bad_params', async () => {
      await needAsset();
      const err = await expectReject(
        client.actions.run({
          action_id: 'rotate-image',
          workspace_id: WORKSPACE_ID,
          project_id: projectId,
          inputs: [{ type: 'image', url: asset.url }],
          params: { not_a_param: 1 },
        }),
        BadRequestError,
        'actions.run with an unknown param',
      );
      expect(err.error?.error?.code === 'input_validation_error', "code should be 'input_validation_error'", err.error);
      return err.error;
    }),
  ];
  await Promise.all(checks);
}

main().then(
  () => process.exit(exitCode()),
  (err) => {
    process.stdout.write(JSON.stringify({ check: 'script', ok: false, detail: String(err?.stack || err) }) + '\n');
    process.exit(2);
  },
);
