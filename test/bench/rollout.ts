/**
 * Rollout throughput (issue 7, issue 10 item 1): time for one rollout to take N simulated devices
 * (each its own MQTT connection speaking the real contract: signed desired state, artifact fetched in
 * chunks over MQTT and verified, deployment events, reported state; inference simulated) from
 * "create" to every device active, on the embedded aedes broker and on Mosquitto, in devices per
 * minute, beside AWS IoT Jobs' ceiling of 1,000 notifications per minute and the goal of 10,000
 * devices in under 60 s. The control plane is a real `edgefleet server` process; the simulated
 * devices run in a second process (fleet/sim-process.ts): on this 2-core machine, one core each.
 * The control plane's CPU and peak RSS during the rollout come from /proc. Sizes: 1,000 and 10,000
 * (1,000, 10,000 and 15,000 with --long: at 20,000 the simulator's one process runs out of file
 * descriptors, see docs/fleet-scale.md; EDGEFLEET_BENCH_ROLLOUT_SIZES=... overrides).
 * EDGEFLEET_BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each server process there.
 * Beside the single-replica SQLite runs, `replicas` runs the same rollout through two replicas on a
 * fresh PostgreSQL database and Mosquitto with shared subscriptions (issue 16; the lease holder
 * runs the engine, both serve artifact chunks), and `postgres` through one such replica, which
 * separates the cost of the store from the cost of the second replica.
 */
import { randomBytes } from 'node:crypto';
import { rolloutEventSchema, rolloutViewSchema, type RolloutEvent } from '@edgefleet/shared';
import { z } from 'zod';
import { createStore } from '@edgefleet/control-plane';
import { POSTGRES_URL, tmpDataDir } from '../helpers/index.js';
import { identityModel } from '../helpers/onnx-models.js';
import type { BenchResult, BenchRow } from './bench-result.js';
import { benchBrokers, sampled, startServer, type BrokerKind, type Sampled, type ServerProcess } from './fleet/server-process.js';
import { startSimProcess, type SimProcess } from './fleet/sim-process.js';

const AWS_IOT_JOBS_MAX_PER_MINUTE = 1000;
const GOAL_DEVICES = 10_000;
const GOAL_SECONDS = 60;

/** Where the rollout runs: one replica on SQLite with either broker, or two replicas on PostgreSQL + Mosquitto. */
type Setup = BrokerKind | 'postgres' | 'replicas';

const SETUP_LABEL: Record<Setup, string> = {
  embedded: 'embedded broker',
  mosquitto: 'mosquitto broker',
  postgres: '1 replica on PostgreSQL + mosquitto',
  replicas: '2 replicas on PostgreSQL + mosquitto',
};

/** EDGEFLEET_BENCH_BROKERS=mosquitto,postgres,replicas picks setups; by default all four. */
function benchSetups(): Setup[] {
  const only = process.env.EDGEFLEET_BENCH_BROKERS?.split(',');
  return [...benchBrokers(), ...(['postgres', 'replicas'] as const).filter((s) => !only || only.includes(s))];
}

interface Servers {
  /** The one the rollout is created on (any replica would do). */
  api: ServerProcess;
  all: ServerProcess[];
  close(): Promise<void>;
}

async function startServers(setup: Setup, dataDir: string): Promise<Servers> {
  const profile = process.env.EDGEFLEET_BENCH_CPU_PROF;
  if (setup === 'embedded' || setup === 'mosquitto') {
    const server = await startServer({ dataDir, broker: setup, cpuProfileDir: profile });
    return { api: server, all: [server], close: () => server.stop() };
  }
  const database = `edgefleet_bench_${process.pid}_${Date.now()}`;
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${database}`;
  const admin = await createStore({ driver: 'postgres', url: POSTGRES_URL, dataDir: '/nonexistent' });
  await admin.sql.exec(`CREATE DATABASE ${database}`);
  const all: ServerProcess[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(all.map((s) => s.stop()));
    await admin.sql.exec(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    await admin.close();
  };
  try {
    // One after the other: the first creates the tables, the signing key and the admin token.
    for (const id of setup === 'replicas' ? ['bench-a', 'bench-b'] : ['bench-a']) all.push(await startServer({ dataDir, broker: 'mosquitto', cpuProfileDir: profile, replica: { postgresUrl: url.toString(), id } }));
  } catch (err) {
    await close();
    throw err;
  }
  return { api: all[0]!, all, close };
}

/** CPU and peak RSS of every process while `work` runs. */
async function sampledAll<T>(pids: readonly number[], work: () => Promise<T>): Promise<{ value: T; samples: Sampled<unknown>[] }> {
  if (pids.length === 0) return { value: await work(), samples: [] };
  const [first, ...rest] = pids;
  const outer = await sampled(first!, () => sampledAll(rest, work));
  return { value: outer.value.value, samples: [outer, ...outer.value.samples] };
}

interface RunResult {
  broker: Setup;
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
  cpCpuPct: number;
  cpPeakRssMb: number;
  simCpuPct: number;
  /** Chunk requests the simulator re-sent after a timeout, and its MQTT reconnects. */
  chunkRetries: number;
  reconnects: number;
  /** Chunk requests the control plane dropped with its queue full (from its log). */
  chunkRequestsDropped: number;
}

const eventsPage = z.object({ events: z.array(rolloutEventSchema) });

async function notifiedEvents(server: ServerProcess, rolloutId: string): Promise<RolloutEvent[]> {
  const out: RolloutEvent[] = [];
  for (let after = 0; ; ) {
    const { events } = eventsPage.parse(await server.api('GET', `/rollouts/${rolloutId}/events?after=${after}&limit=5000`));
    if (events.length === 0) return out;
    out.push(...events.filter((e) => e.type === 'device' && e.data.to === 'notified'));
    after = (events.at(-1) as RolloutEvent).id;
  }
}

async function runOnce(broker: Setup, devices: number): Promise<RunResult> {
  const dir = await tmpDataDir('bench-rollout-');
  const servers = await startServers(broker, dir.path);
  const server = servers.api;
  let sim: SimProcess | undefined;
  try {
    // Unique ids: Mosquitto is shared with other runs and keeps retained messages.
    const run = randomBytes(3).toString('hex');
    const ids = Array.from({ length: devices }, (_, i) => `rb-${run}-${String(i).padStart(5, '0')}`);
    const { devices: creds, fleetPublicKey } = await server.provision(ids, { bench: run });
    await server.api('POST', '/models/bench/versions/2.0.0', identityModel(), 201);
    const s = (sim = await startSimProcess({ brokerUrl: server.mqttUrl, devices: creds, fleetPublicKey, connectConcurrency: 100 }));
    const storm = await s.connectAll();
    if (storm.failed) throw new Error(`${storm.failed} simulated devices could not connect: ${storm.firstError ?? ''}`);
    const started = Date.now();
    const measured = await sampledAll([s.pid, ...servers.all.map((x) => x.pid)], async () => {
      const created = rolloutViewSchema.parse(
        await server.api('POST', '/rollouts', { model: 'bench', version: '2.0.0', target: { kind: 'tags', tags: { bench: run } }, strategy: { waves: [{ count: 1 }, { percent: 100 }], bakeMs: 0, ratePerMinute: 0 } }, 201),
      );
      const done = await s.waitForActive({ model: 'bench', version: '2.0.0', timeoutMs: Math.max(120_000, devices * 60), sinceMs: started });
      return { created, done };
    });
    const { created, done } = measured.value;
    const [simSample, ...serverSamples] = measured.samples as [Sampled<unknown>, ...Sampled<unknown>[]];
    const seconds = (Date.now() - started) / 1000;
    const counters = await s.counters();
    const chunkRequestsDropped = servers.all.reduce((n, x) => n + x.logCount('dropped a chunk request'), 0);
    if (done.active < devices) {
      throw new Error(`only ${done.active} of ${devices} devices became active in ${seconds.toFixed(0)} s (chunk retries ${counters.chunkRetries}, dropped ${chunkRequestsDropped}, reconnects ${counters.reconnects}); server log: ${server.stderrTail().slice(-600)}`);
    }
    const notified = await notifiedEvents(server, created.id);
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
      // Replicas: CPU summed over both (% of one core), RSS of the larger.
      cpCpuPct: serverSamples.reduce((n, x) => n + x.cpuPct, 0),
      cpPeakRssMb: Math.max(...serverSamples.map((x) => x.peakRssMb)),
      simCpuPct: simSample.cpuPct,
      chunkRetries: counters.chunkRetries,
      reconnects: counters.reconnects,
      chunkRequestsDropped,
    };
  } finally {
    await sim?.close();
    await servers.close();
    await dir.cleanup();
  }
}

export async function run(options: { long?: boolean } = {}): Promise<BenchResult> {
  const sizes = (process.env.EDGEFLEET_BENCH_ROLLOUT_SIZES ?? (options.long ? '1000,10000,15000' : '1000,10000')).split(',').map(Number);
  const runs: RunResult[] = [];
  const errors: string[] = [];
  for (const devices of sizes) {
    for (const broker of benchSetups()) {
      try {
        runs.push(await runOnce(broker, devices));
      } catch (err) {
        errors.push(`${broker} ${devices}: ${(err as Error).message}`);
      }
    }
  }
  const summary: BenchRow[] = runs.flatMap((r) => [
    {
      metric: `rollout to ${r.devices} devices, ${SETUP_LABEL[r.broker]}`,
      value: r.devicesPerMinute,
      unit: 'devices/min',
      note: `${(r.devicesPerMinute / AWS_IOT_JOBS_MAX_PER_MINUTE).toFixed(1)}× AWS IoT Jobs' 1,000/min ceiling; ${r.seconds.toFixed(1)} s create→all active${r.devices === GOAL_DEVICES ? `; ${(r.seconds / GOAL_SECONDS).toFixed(2)}× the 60 s goal` : ''}`,
    },
    { metric: `p99 activation, ${r.devices} devices, ${r.broker}`, value: r.p99ActivationS, unit: 's', note: `p50 ${r.p50ActivationS.toFixed(1)} s; last notify at ${r.notifySeconds.toFixed(1)} s; devices notified twice: ${r.notifiedTwice}; chunk requests re-sent ${r.chunkRetries} (${r.chunkRequestsDropped} dropped by the control plane)` },
    { metric: `control plane during the rollout, ${r.devices}, ${r.broker}`, value: r.cpCpuPct, unit: '% CPU', note: `peak RSS ${r.cpPeakRssMb.toFixed(0)} MB; simulator process ${r.simCpuPct.toFixed(0)} % CPU; connect storm ${r.connectSeconds.toFixed(1)} s` },
  ]);
  return { summary, runs, errors, awsIotJobsMaxPerMinute: AWS_IOT_JOBS_MAX_PER_MINUTE, goal: { devices: GOAL_DEVICES, seconds: GOAL_SECONDS } };
}
