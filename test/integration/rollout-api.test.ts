/**
 * Rollouts through a real control plane: embedded broker with device auth, SQLite, REST with
 * tokens, the SSE stream and the CLI, with simulated devices that speak the real contract (fetch
 * signed artifacts in chunks, report events and telemetry). Issue 7.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneConfigSchema, dryRunPlanSchema, rolloutEventSchema, rolloutViewSchema, type RolloutEvent, type RolloutView } from '@edgefleet/shared';
import { createApiClient, createControlPlane, readAdminToken, rolloutPlugin, runRolloutCli, telemetryPlugin, type ControlPlane } from '@edgefleet/control-plane';
import { createFleetSim, type FleetSim } from '../helpers/fleet-sim.js';
import { freePort, tmpDataDir, type TmpDir } from '../helpers/index.js';
import { identityModel } from '../helpers/onnx-models.js';

const DEVICES = 10;

describe('rollouts through the control plane', () => {
  let dir: TmpDir;
  let cp: ControlPlane;
  let token: string;
  let fleet: FleetSim;
  const published: Array<{ deviceId: string; generation: number; version?: string; rolloutId?: string }> = [];

  beforeAll(async () => {
    dir = await tmpDataDir('edgefleet-rollout-api-');
    const config = controlPlaneConfigSchema.parse({
      dataDir: join(dir.path, 'cp'),
      http: { host: '127.0.0.1', port: await freePort() },
      mqtt: { host: '127.0.0.1', port: await freePort() },
      logLevel: 'warn',
    });
    mkdirSync(config.dataDir, { recursive: true });
    cp = createControlPlane({ config, plugins: [telemetryPlugin({ flushIntervalMs: 20 }), rolloutPlugin({ tickIntervalMs: 100 })] });
    await cp.start();
    token = await readAdminToken(config.dataDir);
    cp.desired.onPublished((s) => {
      const m = s.models.find((x) => x.name === 'cls');
      published.push({ deviceId: s.deviceId, generation: s.generation, ...(m ? { version: m.version } : {}), ...(m?.rolloutId ? { rolloutId: m.rolloutId } : {}) });
    });
    for (const version of ['1.0.0', '2.0.0']) {
      await cp.models.push({ name: 'cls', version, content: Readable.from([identityModel()]), pushedBy: 'test' });
    }
    const ids = Array.from({ length: DEVICES }, (_, i) => `cam-${String(i).padStart(2, '0')}`);
    const provisioned = await cp.devices.add(ids.map((id, i) => ({ id, tags: { site: i % 2 ? 'berlin' : 'paris' } })));
    const v1 = await cp.models.desiredModel('cls', '1.0.0');
    for (const id of ids) await cp.desired.setDeviceModels(id, [v1]);
    fleet = createFleetSim({ brokerUrl: cp.urls.mqtt, devices: provisioned.map((p) => ({ deviceId: p.device.id, password: p.secret })), fleetPublicKey: cp.fleetPublicKeyPem, telemetryIntervalMs: 500 });
    await fleet.connectAll();
    await fleet.waitForActive('cls', '1.0.0', { timeoutMs: 20_000 });
  });

  afterAll(async () => {
    await fleet?.close();
    await cp?.stop();
    await dir?.cleanup();
  });

  const headers = (): Record<string, string> => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
  async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${cp.urls.http}/api/v1${path}`, { method, headers: headers(), ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    return { status: response.status, body: await response.json() };
  }

  async function waitFor(id: string, states: string[], timeoutMs = 30_000): Promise<RolloutView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = rolloutViewSchema.parse((await api('GET', `/rollouts/${id}?devices=true`)).body);
      if (states.includes(view.state) || Date.now() > deadline) return view;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Reads SSE frames from /rollouts/events until `until` says stop. */
  async function collectEvents(signal: AbortSignal, sink: RolloutEvent[]): Promise<void> {
    const response = await fetch(`${cp.urls.http}/api/v1/rollouts/events`, { headers: headers(), signal });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame.split('\n').find((l) => l.startsWith('data: '));
          if (data) sink.push(rolloutEventSchema.parse(JSON.parse(data.slice(6))));
        }
      }
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err;
    }
  }

  it('dry-runs, then rolls a good version out canary → 10% → 100% with live events, and the executed waves equal the plan', async () => {
    const request = { model: 'cls', version: '2.0.0', target: { kind: 'all' }, strategy: { waves: [{ count: 1 }, { percent: 10 }, { percent: 100 }], bakeMs: 300, ratePerMinute: 0 } };
    const dry = await api('POST', '/rollouts', { ...request, dryRun: true });
    expect(dry.status).toBe(200);
    const plan = dryRunPlanSchema.parse(dry.body);
    expect(plan.waves.map((w) => w.deviceIds.length)).toEqual([1, 1, 8]);

    const abort = new AbortController();
    const events: RolloutEvent[] = [];
    const streaming = collectEvents(abort.signal, events);
    const created = await api('POST', '/rollouts', request);
    expect(created.status).toBe(201);
    const id = rolloutViewSchema.parse(created.body).id;
    const view = await waitFor(id, ['succeeded', 'halted', 'rolled-back']);
    expect(view.state).toBe('succeeded');
    expect(view.counts.succeeded).toBe(DEVICES);
    expect(view.waves.map((w) => view.devices!.filter((d) => d.wave === w.index).map((d) => d.deviceId))).toEqual(plan.waves.map((w) => w.deviceIds));
    await fleet.waitForActive('cls', '2.0.0', { timeoutMs: 5000 });
    expect(fleet.activeCount('cls', '2.0.0')).toBe(DEVICES);

    // Exactly one desired-state generation per device carried this rollout.
    const mine = published.filter((p) => p.rolloutId === id);
    expect(mine).toHaveLength(DEVICES);
    expect(new Set(mine.map((p) => p.deviceId)).size).toBe(DEVICES);

    await new Promise((r) => setTimeout(r, 200));
    abort.abort();
    await streaming;
    const types = events.filter((e) => e.rolloutId === id).map((e) => `${e.type}:${String((e.data.to ?? e.data.state ?? '') as string)}`);
    expect(types).toEqual(expect.arrayContaining(['rollout-state:scheduled', 'rollout-state:running', 'device:notified', 'device:baking', 'wave:passed', 'rollout-state:succeeded']));

    const recorded = (await api('GET', `/rollouts/${id}/events?limit=5000`)).body as { events: RolloutEvent[] };
    expect(recorded.events.filter((e) => e.type === 'device' && e.data.to === 'notified')).toHaveLength(DEVICES);
    const audit = await cp.store.audit.list({ limit: 1000 });
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['rollout.create', 'rollout.running', 'rollout.wave.started', 'rollout.succeeded']));
  });

  it('answers bad input and unknown rollouts with coded errors', async () => {
    const bad = await api('POST', '/rollouts', { model: 'cls', version: '2.0.0', target: { kind: 'all' }, strategy: { waves: [{ percent: 150 }] } });
    expect(bad).toMatchObject({ status: 400, body: { code: 'PAYLOAD_INVALID' } });
    expect((bad.body as { error: string }).error).toMatch(/strategy\.waves/);
    expect(await api('GET', '/rollouts/nope')).toMatchObject({ status: 404, body: { code: 'ROLLOUT_NOT_FOUND' } });
    expect(await api('POST', '/rollouts', { model: 'cls', version: '9.9.9', target: { kind: 'all' } })).toMatchObject({ status: 404, body: { code: 'MODEL_VERSION_NOT_FOUND' } });
    const anonymous = await fetch(`${cp.urls.http}/api/v1/rollouts`);
    expect(anonymous.status).toBe(401);
  });

  it('drives rollouts from the CLI: create --dry-run, create, show --json, pause, resume, abort', async () => {
    const out: string[] = [];
    const run = async (...args: string[]): Promise<string> => {
      out.length = 0;
      await runRolloutCli(args, {
        client: () => createApiClient({ server: cp.urls.http, token }),
        io: { out: (t) => void out.push(t), err: (t) => void out.push(t), interactive: false },
        wantsJson: (cmd) => cmd.optsWithGlobals().json === true,
      });
      return out.join('\n');
    };
    const plan = await run('rollouts', 'create', '--model', 'cls@1.0.0', '--tags', 'site=berlin', '--waves', '1,100%', '--dry-run', '--json');
    expect(dryRunPlanSchema.parse(JSON.parse(plan)).waves.map((w) => w.deviceIds.length)).toEqual([1, 4]);
    const createdText = await run('rollouts', 'create', '--model', 'cls@1.0.0', '--tags', 'site=berlin', '--waves', '1,100%', '--bake', '1h', '--approval', '--json');
    const created = rolloutViewSchema.parse(JSON.parse(createdText));
    await waitFor(created.id, ['running']);
    await run('rollouts', 'pause', created.id);
    let shown = rolloutViewSchema.parse(JSON.parse(await run('rollouts', 'show', created.id, '--json')));
    expect(shown.state).toBe('paused');
    expect(shown.waves).toHaveLength(2);
    expect(Object.keys(shown.counts)).toEqual(expect.arrayContaining(['pending', 'notified', 'baking', 'succeeded', 'failed']));
    await run('rollouts', 'resume', created.id);
    const table = await run('rollouts', 'ls');
    expect(table).toContain(created.id);
    await run('rollouts', 'abort', created.id, '--revert');
    shown = rolloutViewSchema.parse(JSON.parse(await run('rollouts', 'show', created.id, '--json')));
    expect(shown.state).toBe('aborted');
    await expect(run('rollouts', 'create', '--model', 'cls', '--all')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(run('rollouts', 'create', '--model', 'cls@2.0.0', '--all', '--devices', 'a')).rejects.toThrow(/exactly one target/);
  });
});
