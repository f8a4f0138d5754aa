// Core FLORA SDK conformance: drives the official `@flora-ai/flora` client against a running Stamen.
//
// Environment:
//   FLORA_BASE_URL          http://127.0.0.1:<port>/api/v1
//   FLORA_API_KEY           sk_live_… key of the main workspace
//   STAMEN_TEST_KEY         sk_test_… key of the same workspace (simulated models)
//   STAMEN_WORKSPACE_ID     ws_… of the main workspace
//   STAMEN_WEBHOOK_SECRET   whsec_… of the main workspace (`stamen webhook-secret`)
//   STAMEN_OTHER_API_KEY    sk_live_… key of a second workspace
//   STAMEN_OTHER_PROJECT_ID prj_… belonging to that second workspace
//
// Prints one JSON line per check (see lib.mjs); exits 1 if any check failed.

import http from 'node:http';
import { randomUUID } from 'node:crypto';

import FLORA, {
  AuthenticationError,
  BadRequestError,
  ConflictError,
  NotFoundError,
  WebhookVerificationError,
} from '@flora-ai/flora';

import { check, describeError, download, env, exitCode, expect, expectReject, safeJSON, sleep, sniff, waitForRun } from './lib.mjs';

const BASE_URL = env('FLORA_BASE_URL');
const LIVE_KEY = env('FLORA_API_KEY');
const TEST_KEY = env('STAMEN_TEST_KEY');
const WORKSPACE_ID = env('STAMEN_WORKSPACE_ID');
const WEBHOOK_SECRET = env('STAMEN_WEBHOOK_SECRET');
const OTHER_KEY = env('STAMEN_OTHER_API_KEY');
const OTHER_PROJECT_ID = env('STAMEN_OTHER_PROJECT_ID');

const live = new FLORA(); // FLORA_BASE_URL / FLORA_API_KEY from the environment, as a user would
const test = new FLORA({ apiKey: TEST_KEY });
const tag = randomUUID().slice(0, 8);

const MEDIA = {
  image: { model: 'sim-image', outputType: 'imageUrl', magic: 'png', contentTypes: ['image/png'] },
  video: { model: 'sim-video', outputType: 'videoUrl', magic: 'mp4', contentTypes: ['video/mp4'] },
  audio: {
    model: 'sim-audio',
    outputType: 'audioUrl',
    magic: 'wav',
    contentTypes: ['audio/wav', 'audio/x-wav', 'audio/wave', 'audio/vnd.wave'],
  },
  text: { model: 'sim-text', outputType: 'text' },
};

const MODEL_KEYS = {
  model_id: 'string',
  name: 'string',
  provider: 'string',
  type: 'string',
  capabilities: 'array',
  estimated_credits: 'number',
  estimated_seconds: 'number',
  params: 'array',
};

function typeOf(value) {
  return Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
}

function expectShape(object, shape, what) {
  for (const [key, type] of Object.entries(shape)) {
    const types = type.split('|');
    expect(key in object, `${what}: key ${key} missing`, object);
    expect(types.includes(typeOf(object[key])), `${what}: ${key} should be ${type}, got ${typeOf(object[key])}`, object);
  }
}

const isMs = (value) => Number.isInteger(value) && value > 1e12 && value < 1e14;

function expectProject(project, what, { name, workspaceId }) {
  expectShape(
    project,
    {
      project_id: 'string',
      workspace_id: 'string',
      name: 'string',
      origin: 'string|null',
      created_at: 'number',
      last_modified: 'number|null',
    },
    what,
  );
  expect(/^prj_\S+$/.test(project.project_id), `${what}: project_id is not prj_…`, project);
  expect(project.workspace_id === workspaceId, `${what}: workspace_id mismatch`, project);
  if (name !== undefined) expect(project.name === name, `${what}: name not echoed`, project);
  expect(isMs(project.created_at), `${what}: created_at is not integer unix ms`, project);
}

/** Create a generation, poll to completion, validate the create response and final run. */
async function generate(client, { type, model, prompt, projectId, extra = {} }) {
  const created = await client.generations.create({
    type,
    prompt,
    workspace_id: WORKSPACE_ID,
    project_id: projectId,
    ...(model ? { model } : {}),
    ...extra,
  });
  expectShape(created, { run_id: 'string', type: 'string', charged_cost: 'number', estimated_seconds: 'number|null' }, 'create response');
  expect(/^run_\S+$/.test(created.run_id), 'create: run_id is not run_…', created);
  expect(created.type === 'generation', 'create: type should be "generation"', created);
  expect(!('status' in created), 'create: response must not carry status', created);
  expect(created.charged_cost >= 0, 'create: charged_cost < 0', created);
  if (model) expect(created.model?.model_id === model, 'create: model.model_id should echo the model', created);
  if (created.project_id != null) expect(created.project_id === projectId, 'create: project_id mismatch', created);
  if (created.poll_url != null) {
    expect(created.poll_url.endsWith(`/runs/${created.run_id}`), 'create: poll_url does not point at the run', created);
  }
  const { run, statuses } = await waitForRun(client, created.run_id);
  expect(run.status === 'completed', `run ended ${run.status}`, run);
  expect(run.run_id === created.run_id, 'run_id mismatch on retrieve', run);
  expect(run.progress === 100, 'completed run should have progress 100', run);
  expect(isMs(run.created_at), 'created_at is not integer unix ms', run);
  expect(isMs(run.completed_at) && run.completed_at >= run.created_at, 'completed_at missing or before created_at', run);
  if (run.started_at !== undefined) {
    expect(run.started_at >= run.created_at && run.started_at <= run.completed_at, 'started_at out of order', run);
  }
  for (const key of ['error_code', 'error_message']) expect(!(key in run), `completed run carries ${key}`, run);
  for (const [key, value] of Object.entries(run)) expect(value !== null, `run.${key} is null (absent data must be omitted)`, run);
  expect(Array.isArray(run.outputs) && run.outputs.length >= 1, 'completed run has no outputs', run);
  const output = run.outputs[0];
  expectShape(output, { output_id: 'string', type: 'string', url: 'string' }, 'outputs[0]');
  return { created, run, output, statuses };
}

async function verifyMedia(type, output) {
  const spec = MEDIA[type];
  expect(output.type === spec.outputType, `outputs[0].type should be ${spec.outputType}`, output);
  if (type === 'text') {
    expect(output.url.trim().length > 0, 'text output is empty', output);
    return { text: output.url.slice(0, 60) };
  }
  const got = await download(output.url);
  expect(got.status === 200, `GET output url (no auth) returned ${got.status}`, { url: output.url });
  const kind = sniff(got.bytes);
  expect(kind === spec.magic, `downloaded bytes are ${kind}, expected ${spec.magic}`, {
    head: Buffer.from(got.bytes.subarray(0, 16)).toString('hex'),
  });
  const mime = got.contentType.split(';')[0].trim().toLowerCase();
  expect(spec.contentTypes.includes(mime), `Content-Type ${got.contentType} does not match ${spec.magic}`, output.url);
  return { bytes: got.bytes.length, content_type: got.contentType };
}

// ── webhook receiver ─────────────────────────────────────────────────────────

function startReceiver() {
  const deliveries = [];
  const listeners = new Set();
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      deliveries.push({ method: req.method, path: req.url, headers: req.headers, raw: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      for (const listener of listeners) listener();
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
        await new Promise((resolve) => {
          const done = () => {
            listeners.delete(done);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(done, Math.max(0, Math.min(250, deadline - Date.now())));
          listeners.add(done);
        });
      }
      return null;
    },
  };
}

// ── checks ───────────────────────────────────────────────────────────────────

async function main() {
  const receiver = startReceiver();
  const receiverPort = await receiver.ready;

  // One project for this script's generations (created through the SDK; the projects check covers it too).
  let projectId = null;
  let projectError = null;
  const projectReady = live.projects.create({ name: `conformance ${tag}`, workspace_id: WORKSPACE_ID }).then(
    (p) => (projectId = p.project_id),
    (err) => (projectError = describeError(err)),
  );
  const needProject = async () => {
    await projectReady;
    expect(projectId, `could not create a project for the generations: ${projectError}`);
    return projectId;
  };

  const checks = [];

  checks.push(
    check('workspaces.list', async () => {
      const response = await live.workspaces.list();
      expect(Array.isArray(response.workspaces), 'workspaces is not an array', response);
      const mine = response.workspaces.find((w) => w.workspace_id === WORKSPACE_ID);
      expect(mine, `workspace ${WORKSPACE_ID} not listed`, response);
      expectShape(mine, { workspace_id: 'string', name: 'string', role: 'string', created_at: 'number|null' }, 'workspace');
      expect(/^ws_\S+$/.test(mine.workspace_id), 'workspace_id is not ws_…', mine);
      const other = await new FLORA({ apiKey: OTHER_KEY }).workspaces.list();
      const otherIds = other.workspaces.map((w) => w.workspace_id);
      expect(!otherIds.includes(WORKSPACE_ID), "another workspace's key lists this workspace", otherIds);
      return { workspaces: response.workspaces.map((w) => w.workspace_id) };
    }),
  );

  checks.push(
    check('models.list', async () => {
      const all = await live.models.list();
      expect(Array.isArray(all.models), 'models is not an array', all);
      for (const model of all.models) expectShape(model, MODEL_KEYS, `model ${model.model_id}`);
      const ids = all.models.map((m) => m.model_id);
      expect(ids.includes('espeak-tts'), 'espeak-tts missing from models.list()', ids);
      const espeak = all.models.find((m) => m.model_id === 'espeak-tts');
      expect(espeak.type === 'audio', 'espeak-tts should be type audio', espeak);

      const audio = await live.models.list({ type: 'audio' });
      const audioIds = audio.models.map((m) => m.model_id);
      expect(audioIds.includes('espeak-tts'), "espeak-tts missing from models.list({type:'audio'})", audioIds);
      expect(audio.models.every((m) => m.type === 'audio'), "models.list({type:'audio'}) returned non-audio models", audio);

      const image = await live.models.list({ type: 'image' });
      expect(!image.models.some((m) => m.model_id === 'espeak-tts'), "models.list({type:'image'}) includes espeak-tts", image);

      const simulated = await test.models.list();
      const simIds = Object.fromEntries(simulated.models.map((m) => [m.model_id, m.type]));
      for (const type of ['image', 'video', 'audio', 'text']) {
        expect(simIds[`sim-${type}`] === type, `test key: sim-${type} missing or not type ${type}`, simIds);
      }
      const simImage = await test.models.list({ type: 'image' });
      expect(simImage.models.some((m) => m.model_id === 'sim-image'), "test key: sim-image missing from {type:'image'}", simImage);
      expect(simImage.models.every((m) => m.type === 'image'), "test key: {type:'image'} returned non-image models", simImage);
      return { live: ids, test: Object.keys(simIds) };
    }),
  );

  checks.push(
    check('projects.create+retrieve', async () => {
      const name = `conformance projects ${tag}`;
      const created = await live.projects.create({ name, workspace_id: WORKSPACE_ID });
      expectProject(created, 'projects.create', { name, workspaceId: WORKSPACE_ID });
      const fetched = await live.projects.retrieve(created.project_id);
      expectProject(fetched, 'projects.retrieve', { name, workspaceId: WORKSPACE_ID });
      expect(fetched.project_id === created.project_id, 'retrieve returned another project', fetched);
      const listed = [];
      for await (const project of live.projects.list({ workspace_id: WORKSPACE_ID, limit: 100 })) {
        listed.push(project.project_id);
        if (listed.length > 1000) break;
      }
      expect(listed.includes(created.project_id), 'projects.list does not include the new project', listed);
      return { project_id: created.project_id };
    }),
  );

  checks.push(
    check('workspaces.projects.create', async () => {
      const name = `conformance ws-projects ${tag}`;
      const created = await live.workspaces.projects.create(WORKSPACE_ID, { name });
      expectProject(created, 'workspaces.projects.create', { name, workspaceId: WORKSPACE_ID });
      const fetched = await live.projects.retrieve(created.project_id);
      expect(fetched.name === name, 'retrieve after workspaces.projects.create: name mismatch', fetched);
      return { project_id: created.project_id };
    }),
  );

  for (const type of ['image', 'video', 'audio', 'text']) {
    checks.push(
      check(`generate.${type}`, async () => {
        await needProject();
        const { run, output, statuses } = await generate(test, {
          type,
          model: MEDIA[type].model,
          prompt: `a ${type} of a lighthouse (${tag})`,
          projectId,
        });
        const media = await verifyMedia(type, output);
        return { run_id: run.run_id, statuses, ...media };
      }),
    );
  }

  checks.push(
    check('generate.audio.espeak-tts.live', async () => {
      await needProject();
      const { run, output } = await generate(live, {
        type: 'audio',
        model: 'espeak-tts',
        prompt: 'Hello from the conformance suite.',
        projectId,
      });
      const media = await verifyMedia('audio', output);
      return { run_id: run.run_id, ...media };
    }),
  );

  checks.push(
    check('generations.list.pagination', async () => {
      const project = await test.projects.create({ name: `conformance paging ${tag}`, workspace_id: WORKSPACE_ID });
      const created = [];
      for (let i = 0; i < 5; i++) {
        const response = await test.generations.create({
          type: 'text',
          model: 'sim-text',
          prompt: `page item ${i}`,
          workspace_id: WORKSPACE_ID,
          project_id: project.project_id,
        });
        created.push(response.run_id);
        await sleep(5); // distinct creation instants, so "newest first" is well defined
      }
      const query = { project_id: project.project_id, limit: 2 };
      const first = await test.generations.list(query);
      expect(Array.isArray(first.generations), 'page has no generations array', first.generations);
      expect(first.generations.length === 2, `first page should hold 2 items (limit 2), got ${first.generations.length}`, first.generations);
      expect(typeof first.meta?.next_cursor === 'string' && first.meta.next_cursor.length > 0, 'first page lacks meta.next_cursor', first.meta);
      for (const item of first.generations) {
        expectShape(
          item,
          {
            run_id: 'string',
            generation_id: 'string',
            workspace_id: 'string',
            project_id: 'string',
            status: 'string',
            progress: 'number',
            created_at: 'number',
          },
          'generations[] item',
        );
        expect(item.generation_id === item.run_id, 'generation_id should equal run_id', item);
        expect(item.workspace_id === WORKSPACE_ID, 'workspace_id mismatch', item);
      }

      const pages = [];
      for await (const page of first.iterPages()) pages.push(page.generations.map((g) => g.run_id));
      const seen = [];
      for await (const item of test.generations.list(query)) {
        seen.push(item.run_id);
        expect(item.project_id === project.project_id, 'project_id filter leaked another project', item);
        if (seen.length > 50) break;
      }
      const expected = [...created].reverse();
      expect(new Set(seen).size === seen.length, 'auto-pagination yielded duplicates', seen);
      expect(safeJSON(seen) === safeJSON(expected), 'auto-pagination should yield all 5 runs, newest first', {
        got: seen,
        expected,
        pages,
      });
      expect(pages.length === 3, `expected 3 pages of ≤2 for 5 runs, got ${pages.length}`, pages);
      return { pages };
    }),
  );

  checks.push(
    check('idempotency.duplicate', async () => {
      await needProject();
      const responses = [];
      const counting = new FLORA({
        apiKey: TEST_KEY,
        fetch: async (url, init) => {
          const response = await fetch(url, init);
          responses.push({ url: String(url), status: response.status });
          return response;
        },
      });
      const key = `conformance-${randomUUID()}`;
      const body = { type: 'text', model: 'sim-text', prompt: `idempotent ${tag}`, workspace_id: WORKSPACE_ID, project_id: projectId };
      const first = await counting.generations.create(body, { headers: { 'Idempotency-Key': key } });
      expect(/^run_/.test(first.run_id), 'first create did not return a run', first);
      const before = responses.length;
      const err = await expectReject(
        counting.generations.create(body, { headers: { 'Idempotency-Key': key } }),
        ConflictError,
        'second create with the same Idempotency-Key',
      );
      expect(err.status === 409, 'status should be 409', err.status);
      expect(err.error?.error?.code === 'idempotency_duplicate', "error.error.code should be 'idempotency_duplicate'", err.error);
      expect(typeof err.error?.error?.message === 'string', 'error.error.message missing', err.error);
      const attempts = responses.length - before;
      const shouldRetry = err.headers.get('x-should-retry');
      expect(
        attempts === 1 && shouldRetry === 'false',
        `the SDK attempted the duplicate ${attempts} time(s); the 409 carried x-should-retry: ${shouldRetry} (want 1 attempt, 'false')`,
        { attempts: responses.slice(before), headers: Object.fromEntries(err.headers) },
      );
      // A fresh key still works.
      const fresh = await counting.generations.create(body, { headers: { 'Idempotency-Key': `${key}-2` } });
      expect(fresh.run_id !== first.run_id, 'a fresh key returned the same run', fresh);
      return { first: first.run_id, code: err.error.error.code, attempts };
    }),
  );

  checks.push(
    check('errors.not_found', async () => {
      const err = await expectReject(live.generations.retrieve('run_doesnotexist'), NotFoundError, "generations.retrieve('run_doesnotexist')");
      expect(err.status === 404, 'status should be 404', err.status);
      expect(err.error?.error?.code === 'not_found', "error.error.code should be 'not_found'", err.error);
      expect(typeof err.error?.error?.message === 'string', 'error.error.message missing', err.error);
      const extra = Object.keys(err.error.error).filter((k) => !['code', 'message', 'fields'].includes(k));
      expect(extra.length === 0, `error object has extra keys ${extra}`, err.error);
      return err.error;
    }),
  );

  checks.push(
    check('errors.request_id_header', async () => {
      const { response } = await live.workspaces.list().withResponse();
      const ok = response.headers.get('request-id');
      expect(ok && /^req_\S+$/.test(ok), 'success response lacks a request-id: req_… header', ok);
      const err = await expectReject(live.generations.retrieve('run_doesnotexist'), NotFoundError, 'retrieve missing run');
      const onError = err.headers.get('request-id');
      expect(onError && /^req_\S+$/.test(onError), 'error response lacks a request-id: req_… header', onError);
      return { ok, onError };
    }),
  );

  checks.push(
    check('errors.authentication', async () => {
      const bogus = new FLORA({ apiKey: 'sk_live_nope' });
      const err = await expectReject(bogus.workspaces.list(), AuthenticationError, "workspaces.list with key 'sk_live_nope'");
      expect(err.status === 401, 'status should be 401', err.status);
      expect(err.error?.error?.code === 'invalid_api_key', "error.error.code should be 'invalid_api_key'", err.error);
      const err2 = await expectReject(bogus.generations.retrieve('run_doesnotexist'), AuthenticationError, 'retrieve with a bogus key');
      expect(err2.error?.error?.code === 'invalid_api_key', 'auth must be checked before the lookup', err2.error);
      return err.error;
    }),
  );

  checks.push(
    check('errors.validation_fields', async () => {
      await needProject();
      const err = await expectReject(
        test.generations.create({ type: 'picture', prompt: 'x', workspace_id: WORKSPACE_ID, project_id: projectId }),
        BadRequestError,
        "generations.create with type 'picture'",
      );
      expect(err.status === 400, 'status should be 400', err.status);
      const body = err.error?.error;
      expect(body?.code === 'input_validation_error', "error.error.code should be 'input_validation_error'", err.error);
      expect(Array.isArray(body.fields) && body.fields.length > 0, 'error.error.fields should be a non-empty array', err.error);
      for (const field of body.fields) expectShape(field, { field: 'string', message: 'string' }, 'fields[] entry');
      expect(body.fields.some((f) => f.field === 'type'), "fields should name 'type'", body.fields);

      const empty = await expectReject(
        test.generations.create({ type: 'image', prompt: '', workspace_id: WORKSPACE_ID, project_id: projectId }),
        BadRequestError,
        'generations.create with an empty prompt',
      );
      expect(empty.error?.error?.fields?.some((f) => f.field === 'prompt'), "fields should name 'prompt'", empty.error);
      return body;
    }),
  );

  checks.push(
    check('errors.other_workspace_project', async () => {
      // The other workspace's own key sees its project, so it exists…
      const owner = new FLORA({ apiKey: OTHER_KEY });
      const own = await owner.projects.retrieve(OTHER_PROJECT_ID);
      expect(own.project_id === OTHER_PROJECT_ID, 'the owning key cannot retrieve its own project', own);
      // …but to our key it looks exactly like a project that does not exist.
      const missingId = 'prj_doesnotexist0000';
      const foreign = await expectReject(live.projects.retrieve(OTHER_PROJECT_ID), NotFoundError, "projects.retrieve(<other workspace's project>)");
      const missing = await expectReject(live.projects.retrieve(missingId), NotFoundError, 'projects.retrieve(<missing project>)');
      const normalise = (err, id) => safeJSON(err.error).split(id).join('<id>');
      expect(
        normalise(foreign, OTHER_PROJECT_ID) === normalise(missing, missingId),
        'foreign and missing project errors differ',
        { foreign: foreign.error, missing: missing.error },
      );
      expect(foreign.error?.error?.code === 'not_found', "code should be 'not_found'", foreign.error);
      // Generating into it is refused the same way.
      const genForeign = await expectReject(
        test.generations.create({ type: 'text', model: 'sim-text', prompt: 'x', workspace_id: WORKSPACE_ID, project_id: OTHER_PROJECT_ID }),
        NotFoundError,
        "generations.create into another workspace's project",
      );
      const genMissing = await expectReject(
        test.generations.create({ type: 'text', model: 'sim-text', prompt: 'x', workspace_id: WORKSPACE_ID, project_id: missingId }),
        NotFoundError,
        'generations.create into a missing project',
      );
      expect(
        normalise(genForeign, OTHER_PROJECT_ID) === normalise(genMissing, missingId),
        'generate: foreign and missing project errors differ',
        { foreign: genForeign.error, missing: genMissing.error },
      );
      return foreign.error;
    }),
  );

  checks.push(
    check('feedback.record', async () => {
      await projectReady;
      const response = await live.feedback.record({
        kind: 'bug',
        summary: `conformance feedback ${tag}`,
        detail: 'Recorded by tests/conformance/core.mjs.',
        attempted_tools: ['generations.create'],
        workspace_id: WORKSPACE_ID,
        ...(projectId ? { project_id: projectId } : {}),
      });
      expect(/^fb_\S+$/.test(response.feedback_id), 'feedback_id is not fb_…', response);
      expect(isMs(response.received_at), 'received_at is not integer unix ms', response);
      return response;
    }),
  );

  // Webhook: one generation with callback_url → POST to our receiver → verify with client.webhooks.unwrap.
  const webhookFlow = (async () => {
    await needProject();
    const callbackUrl = `http://127.0.0.1:${receiverPort}/hooks/flora?tag=${tag}`;
    const created = await test.generations.create({
      type: 'image',
      model: 'sim-image',
      prompt: `webhook ${tag}`,
      workspace_id: WORKSPACE_ID,
      project_id: projectId,
      callback_url: callbackUrl,
    });
    const delivery = await receiver.waitFor((d) => d.raw.toString('utf8').includes(created.run_id), 25_000);
    return { runId: created.run_id, delivery };
  })();

  checks.push(
    check('webhooks.unwrap', async () => {
      const { runId, delivery } = await webhookFlow;
      expect(delivery, `no webhook POST arrived within 25 s for ${runId}`, receiver.deliveries.map((d) => d.raw.toString('utf8').slice(0, 200)));
      expect(delivery.method === 'POST', `webhook used ${delivery.method}`);
      expect(delivery.path.startsWith('/hooks/flora'), 'webhook hit the wrong path', delivery.path);
      expect((delivery.headers['content-type'] || '').startsWith('application/json'), 'webhook Content-Type is not JSON', delivery.headers);
      const signature = delivery.headers['flora-signature'] || '';
      expect(/^t=\d+,v1=[0-9a-f]{64}(,v1=[0-9a-f]{64})*$/.test(signature), 'Flora-Signature malformed', signature);
      const t = Number(signature.slice(2, signature.indexOf(',')));
      expect(Math.abs(Date.now() / 1000 - t) < 120, 't= should be unix seconds close to now', signature);
      const event = await live.webhooks.unwrap(delivery.raw, delivery.headers, WEBHOOK_SECRET);
      expect(event.type === 'run.completed', `event type ${event.type}, expected run.completed`, event);
      expect(event.data?.run_id === runId, 'data.run_id does not match the run', event);
      expect(event.data.status === 'completed', 'data.status should be completed', event);
      expect(event.data.run_type === 'generation', 'data.run_type should be generation', event);
      expect(event.data.workspace_id === WORKSPACE_ID, 'data.workspace_id mismatch', event);
      expect(/^whd_\S+$/.test(event.id), 'event id is not whd_…', event);
      expect(isMs(event.created_at), 'event created_at is not unix ms', event);
      expect(typeof event.api_version === 'string' && event.api_version.length > 0, 'api_version missing', event);
      expect(delivery.headers['flora-webhook-id'] === event.id, 'Flora-Webhook-Id header != body id', delivery.headers);
      expect(delivery.headers['flora-event'] === event.type, 'Flora-Event header != body type', delivery.headers);
      const run = await test.generations.retrieve(runId);
      expect(run.status === 'completed', 'run not completed when its run.completed webhook arrived', run);
      const dupes = receiver.deliveries.filter((d) => d.raw.toString('utf8').includes(runId));
      return { event, deliveries_for_run: dupes.length };
    }),
  );

  checks.push(
    check('webhooks.tampered_rejected', async () => {
      const { runId, delivery } = await webhookFlow;
      expect(delivery, `no webhook POST arrived for ${runId}`);
      const raw = delivery.raw.toString('utf8');
      const tampered = raw.replace(runId, `${runId.slice(0, -1)}${runId.endsWith('X') ? 'Y' : 'X'}`);
      expect(tampered !== raw, 'could not tamper with the body');
      await expectReject(live.webhooks.unwrap(tampered, delivery.headers, WEBHOOK_SECRET), WebhookVerificationError, 'unwrap(tampered body)');
      await expectReject(
        live.webhooks.unwrap(delivery.raw, delivery.headers, `${WEBHOOK_SECRET}x`),
        WebhookVerificationError,
        'unwrap(wrong secret)',
      );
      await expectReject(live.webhooks.unwrap(`${raw} `, delivery.headers, WEBHOOK_SECRET), WebhookVerificationError, 'unwrap(body + trailing space)');
      return 'tampered body, trailing byte and wrong secret all rejected';
    }),
  );

  await Promise.all(checks);
  await receiver.close();
}

main().then(
  () => process.exit(exitCode()),
  (err) => {
    process.stdout.write(JSON.stringify({ check: 'script', ok: false, detail: String(err?.stack || err) }) + '\n');
    process.exit(2);
  },
);
