import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneConfigSchema, createRolloutRequestSchema, LATENCY_BUCKETS_MS, cohortHealthResponseSchema, telemetrySamplesResponseSchema, type InferenceWindow } from '@edgefleet/shared';
import { createControlPlane, createRolloutStore, readAdminToken, rolloutPlugin, telemetryPlugin, type ControlPlane } from '@edgefleet/control-plane';
import {
  createInferenceAccumulator,
  createMqttClientTransport,
  createOutboxSender,
  createSqliteOutbox,
  createStateStore,
  createTelemetryCollector,
  createTelemetryOutbox,
  openDatabase,
  TELEMETRY_KIND,
} from '@edgefleet/agent';
import { createFakeMetricsSource, createManualScheduler } from '@edgefleet/agent/testing';
import { freePort, tmpDataDir, type TmpDir } from '../helpers/index.js';

/**
 * The telemetry plugin inside a real control plane (embedded broker with device auth, SQLite,
 * REST API with tokens): an authenticated device's agent-side collector and sender deliver
 * batches; the REST queries (tag selector, cohort health) and /metrics see them.
 */
describe('telemetry plugin in the control plane', () => {
  let dir: TmpDir;
  let cp: ControlPlane;
  let token: string;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    dir = await tmpDataDir('edgefleet-telemetry-cp-');
    const config = controlPlaneConfigSchema.parse({
      dataDir: join(dir.path, 'cp'),
      http: { host: '127.0.0.1', port: await freePort() },
      mqtt: { host: '127.0.0.1', port: await freePort() },
      logLevel: 'warn',
    });
    mkdirSync(config.dataDir, { recursive: true });
    // The rollout plugin answers `?rolloutId=` through the cohorts service it publishes; its engine idles here.
    cp = createControlPlane({ config, plugins: [telemetryPlugin({ flushIntervalMs: 20 }), rolloutPlugin({ tickIntervalMs: 3_600_000 })] });
    await cp.start();
    token = await readAdminToken(config.dataDir);
  });

  afterAll(async () => {
    for (const c of clients) await c.endAsync(true);
    await cp?.stop();
    await dir?.cleanup();
  });

  async function get<T>(path: string, schema?: { parse(v: unknown): T }): Promise<{ status: number; body: T }> {
    const response = await fetch(`${cp.urls.http}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const body = path === '/metrics' ? await response.text() : await response.json();
    return { status: response.status, body: schema && response.ok ? schema.parse(body) : (body as T) };
  }

  function window(requests: number, failures: number, t: number): InferenceWindow {
    const latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
    latency[5] = requests; // (20, 50] ms
    return { model: 'cls', version: '1.0.0', ep: 'cpu', from: t - 30_000, to: t, requests, failures: failures ? { INFERENCE_FAILED: failures } : {}, latency, latencySumMs: requests * 15, queueSumMs: 0 };
  }

  /** A provisioned device running the agent's telemetry parts for `cycles` collection cycles. */
  async function runDevice(id: string, site: string, cycles: number, t0: number): Promise<void> {
    const [provisioned] = await cp.devices.add([{ id, tags: { site } }]);
    const client = await mqtt.connectAsync(cp.urls.mqtt, { clientId: id, username: id, password: provisioned!.secret, clean: true, reconnectPeriod: 200 });
    clients.push(client);
    const agentDir = join(dir.path, id);
    const db = openDatabase(join(agentDir, 'state.db'));
    const outbox = createSqliteOutbox(db);
    let now = t0;
    const scheduler = createManualScheduler();
    const inference = createInferenceAccumulator();
    const sender = createOutboxSender({ outbox, transport: createMqttClientTransport(client, id), streams: [{ kind: TELEMETRY_KIND, window: 100 }] });
    const collector = createTelemetryCollector({
      schedule: '*/30 * * * * *',
      scheduler,
      metrics: createFakeMetricsSource({ cpu: site === 'berlin' ? 20 : 80, memUsed: 1e9, memTotal: 4e9 }),
      inference,
      outbox: createTelemetryOutbox({ deviceId: id, db, outbox, counters: createStateStore(db), maxBatches: 1000 }),
      sender,
      clock: { now: () => now },
    });
    collector.start();
    for (let i = 0; i < cycles; i++) {
      now += 30_000;
      inference.add([window(100, site === 'berlin' ? 0 : 5, now)]);
      await scheduler.fire();
    }
    await collector.stop();
    expect(outbox.size(TELEMETRY_KIND)).toBe(0);
    db.close();
  }

  it('ingests authenticated device telemetry and answers REST queries and /metrics', async () => {
    const t0 = Date.now() - 10 * 60_000;
    await runDevice('cam-berlin-1', 'berlin', 4, t0);
    await runDevice('cam-paris-1', 'paris', 4, t0);

    const deadline = Date.now() + 10_000;
    let devices: { devices: { deviceId: string; batches: number }[] } = { devices: [] };
    while (Date.now() < deadline) {
      devices = (await get<typeof devices>('/api/v1/telemetry/devices')).body;
      if (devices.devices.reduce((n, d) => n + d.batches, 0) === 8) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(devices.devices.map((d) => [d.deviceId, d.batches])).toEqual([['cam-berlin-1', 4], ['cam-paris-1', 4]]);

    const berlin = await get(`/api/v1/telemetry/samples?selector=site%3Dberlin&from=${t0}&resolution=raw`, telemetrySamplesResponseSchema);
    expect(berlin.status).toBe(200);
    expect(berlin.body.series.map((s) => s.deviceId)).toEqual(['cam-berlin-1']);
    expect(berlin.body.series[0]!.points.map((p) => p.cpu)).toEqual([20, 20, 20, 20]);

    const health = await get(`/api/v1/telemetry/cohort-health?model=cls&version=1.0.0&selector=site%3Dparis&from=${t0}`, cohortHealthResponseSchema);
    expect(health.body).toMatchObject({ requests: 400, failures: 20, failureRate: 0.05, devicesReporting: 1, devices: 1, latencySamples: 400 });
    expect(health.body.p95LatencyMs).toBeCloseTo(48.5, 6);

    // A rollout cohort, from the rollout plugin: an unknown rollout is 404; a known one gives its wave's devices.
    const unknown = await get<{ code: string }>(`/api/v1/telemetry/cohort-health?model=cls&version=1.0.0&rolloutId=r-1&from=${t0}`);
    expect([unknown.status, unknown.body.code]).toEqual([404, 'ROLLOUT_NOT_FOUND']);
    // Fixture rows for a finished rollout (the engine leaves finished ones alone).
    const rollouts = createRolloutStore(cp.store.sql);
    const spec = createRolloutRequestSchema.parse({ model: 'cls', version: '1.0.0', target: { kind: 'all' } });
    await rollouts.insertRollout({ id: 'r-1', model: 'cls', version: '1.0.0', state: 'succeeded', spec, createdBy: 'test', createdAt: t0, startAt: t0, updatedAt: t0 });
    for (const [wave, deviceId] of [[0, 'cam-berlin-1'], [1, 'cam-paris-1']] as const) {
      await rollouts.insertDevice({ rolloutId: 'r-1', deviceId, wave, state: 'baking', notifyCount: 1, enteredAt: t0, updatedAt: t0 });
    }
    const wave0 = await get(`/api/v1/telemetry/cohort-health?model=cls&version=1.0.0&rolloutId=r-1&wave=0&from=${t0}`, cohortHealthResponseSchema);
    expect(wave0.body).toMatchObject({ devices: 1, requests: 400, failures: 0 });
    const whole = await get(`/api/v1/telemetry/cohort-health?model=cls&version=1.0.0&rolloutId=r-1&from=${t0}`, cohortHealthResponseSchema);
    expect(whole.body).toMatchObject({ devices: 2, requests: 800, failures: 20 });

    const bad = await get<{ code: string }>('/api/v1/telemetry/cohort-health?model=cls&version=1.0.0&from=yesterday');
    expect(bad.status).toBe(400);
    const anonymous = await fetch(`${cp.urls.http}/api/v1/telemetry/devices`);
    expect(anonymous.status).toBe(401);

    const metrics = (await get<string>('/metrics')).body;
    expect(metrics).toMatch(/edgefleet_devices_by_model_version\{model="cls",version="1.0.0",ep="cpu"\} 2/);
    expect(metrics).toMatch(/edgefleet_telemetry_batches_total 8/);
  });
});
