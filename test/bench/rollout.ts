/**
 * Rollout throughput (issue 7): time for one rollout to take N simulated devices (each its own MQTT
 * connection speaking the real contract: signed desired state, artifact fetched in chunks over MQTT
 * and verified, deployment events, reported state; inference simulated) from "create" to every device
 * active, on the embedded aedes broker and on Mosquitto, in devices per minute, beside AWS IoT Jobs'
 * ceiling of 1,000 notifications per minute. Sizes: 1,000 (and 10,000 with --long, or set
 * EDGEFLEET_BENCH_ROLLOUT_SIZES=1000,10000).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { controlPlaneConfigSchema } from '@edgefleet/shared';
import { createControlPlane, rolloutPlugin, type RolloutService } from '@edgefleet/control-plane';
import { createFleetSim } from '../helpers/fleet-sim.js';
import { MOSQUITTO_URL, freePort, tmpDataDir } from '../helpers/index.js';
import { identityModel } from '../helpers/onnx-models.js';
import type { BenchResult, BenchRow } from './bench-result.js';

const AWS_IOT_JOBS_MAX_PER_MINUTE = 1000;

interface RunResult {
  broker: 'embedded' | 'mosquitto';
  devices: number;
  /** Create → every device reports the new version active. */
  seconds: number;
  devicesPerMinute: number;
  /** Create → the engine marked the last device notified. */
  notifySeconds: number;
  p50ActivationS: number;
  p99ActivationS: number;
  connectSeconds: number;
  notifiedTwice: number;
}

async function runOnce(broker: 'embedded' | 'mosquitto', devices: number): Promise<RunResult> {
  const dir = await tmpDataDir('bench-rollout-');
  const config = controlPlaneConfigSchema.parse({
    dataDir: join(dir.path, 'cp'),
    http: { host: '127.0.0.1', port: await freePort() },
    mqtt: broker === 'embedded' ? { host: '127.0.0.1', port: await freePort() } : { url: MOSQUITTO_URL },
    logLevel: 'error',
  });
  mkdirSync(config.dataDir, { recursive: true });
  let service: RolloutService | undefined;
  const cp = createControlPlane({ config, plugins: [rolloutPlugin({ tickIntervalMs: 200, onStarted: (s) => (service = s) })] });
  await cp.start();
  // Unique ids: Mosquitto is shared with other runs and keeps retained messages.
  const run = randomBytes(3).toString('hex');
  const ids = Array.from({ length: devices }, (_, i) => `rb-${run}-${String(i).padStart(5, '0')}`);
  const provisioned = [];
  for (let i = 0; i < ids.length; i += 1000) provisioned.push(...(await cp.devices.add(ids.slice(i, i + 1000).map((id) => ({ id, tags: { bench: run } })))));
  await cp.models.push({ name: 'bench', version: '2.0.0', content: Readable.from([identityModel()]), pushedBy: 'bench' });
  const fleet = createFleetSim({
    brokerUrl: broker === 'embedded' ? cp.urls.mqtt : MOSQUITTO_URL,
    devices: provisioned.map((p) => ({ deviceId: p.device.id, ...(broker === 'embedded' ? { password: p.secret } : {}) })),
    fleetPublicKey: cp.fleetPublicKeyPem,
    connectConcurrency: 50,
  });
  try {
    const storm = await fleet.connectAll();
    if (storm.failed) throw new Error(`${storm.failed} simulated devices could not connect: ${storm.firstError ?? ''}`);
    const started = Date.now();
    const created = await service!.operations.create(
      { model: 'bench', version: '2.0.0', target: { kind: 'tags', tags: { bench: run } }, strategy: { waves: [{ count: 1 }, { percent: 100 }], bakeMs: 0, ratePerMinute: 0 } },
      'bench',
    );
    const done = await fleet.waitForActive('bench', '2.0.0', { timeoutMs: Math.max(120_000, devices * 60), sinceMs: started });
    const seconds = (Date.now() - started) / 1000;
    if (done.active < devices) throw new Error(`only ${done.active} of ${devices} devices became active`);
    const events = await service!.engine.store.eventsAfter(0, created.id, devices * 20);
    const notified = events.filter((e) => e.type === 'device' && e.data.to === 'notified');
    const perDevice = new Map<string, number>();
    for (const e of notified) perDevice.set(String(e.data.deviceId), (perDevice.get(String(e.data.deviceId)) ?? 0) + 1);
    const lastNotify = Math.max(...notified.map((e) => Date.parse(e.at)));
    const act = done.activationMs;
    return {
      broker,
      devices,
      seconds,
      devicesPerMinute: (devices / seconds) * 60,
      notifySeconds: (lastNotify - started) / 1000,
      p50ActivationS: (act[Math.floor(act.length * 0.5)] ?? 0) / 1000,
      p99ActivationS: (act[Math.min(act.length - 1, Math.floor(act.length * 0.99))] ?? 0) / 1000,
      connectSeconds: storm.ms / 1000,
      notifiedTwice: [...perDevice.values()].filter((n) => n > 1).length,
    };
  } finally {
    await fleet.close();
    await cp.stop();
    await dir.cleanup();
  }
}

export async function run(options: { long?: boolean } = {}): Promise<BenchResult> {
  const sizes = (process.env.EDGEFLEET_BENCH_ROLLOUT_SIZES ?? (options.long ? '1000,10000' : '1000')).split(',').map(Number);
  const runs: RunResult[] = [];
  const errors: string[] = [];
  for (const devices of sizes) {
    for (const broker of ['embedded', 'mosquitto'] as const) {
      try {
        runs.push(await runOnce(broker, devices));
      } catch (err) {
        errors.push(`${broker} ${devices}: ${(err as Error).message}`);
      }
    }
  }
  const summary: BenchRow[] = runs.flatMap((r) => [
    { metric: `rollout to ${r.devices} devices, ${r.broker} broker`, value: r.devicesPerMinute, unit: 'devices/min', note: `${(r.devicesPerMinute / AWS_IOT_JOBS_MAX_PER_MINUTE).toFixed(1)}× AWS IoT Jobs' 1,000/min ceiling; ${r.seconds.toFixed(1)} s create→all active` },
    { metric: `p99 activation, ${r.devices} devices, ${r.broker}`, value: r.p99ActivationS, unit: 's', note: `p50 ${r.p50ActivationS.toFixed(1)} s; last notify at ${r.notifySeconds.toFixed(1)} s; devices notified twice: ${r.notifiedTwice}` },
  ]);
  return { summary, runs, errors, awsIotJobsMaxPerMinute: AWS_IOT_JOBS_MAX_PER_MINUTE };
}
