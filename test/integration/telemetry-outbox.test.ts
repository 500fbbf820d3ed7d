import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createServer, connect, type Server, type Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deviceTopic, LATENCY_BUCKETS_MS, parsePayload, telemetryBatchSchema, type InferenceWindow, type TelemetryBatch } from '@edgefleet/shared';
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
  type TelemetryCollector,
} from '@edgefleet/agent';
import { createFakeMetricsSource, createManualScheduler } from '@edgefleet/agent/testing';
import { createSqliteDatabase, createTelemetryService, migrate, type SqlDatabase, type TelemetryService } from '@edgefleet/control-plane';
import { freePort, MOSQUITTO_URL, tmpDataDir, type TmpDir } from '../helpers/index.js';
import { startAedesBroker, type TestBroker } from '../helpers/aedes-broker.js';
import { describeNeeding } from '../setup/gate.js';
import type { RequirementId } from '../setup/requirements.mjs';

/**
 * Issue 6, done-when: an agent cut off from the broker for a simulated hour (120 cycles of a 30 s
 * schedule, driven by a manual scheduler and clock — not real time) keeps every batch, survives a
 * restart while offline, delivers all of them once the link is back, and the control plane stores
 * none twice even when batches are redelivered. At the outbox cap the drop counter is exact.
 * Runs against the embedded broker (aedes) and Mosquitto; the link is cut with a TCP proxy.
 */

interface Link {
  url: string;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** A TCP proxy in front of the broker: `cut()` drops every connection and refuses new ones, like a dead cellular link. */
async function startLink(upstreamUrl: string): Promise<Link> {
  const upstream = new URL(upstreamUrl);
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = async (): Promise<void> => {
    server = createServer((client) => {
      const remote = connect(Number(upstream.port || 1883), upstream.hostname);
      for (const s of [client, remote]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(remote).pipe(client);
      client.on('close', () => remote.destroy());
      remote.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
  };
  const cut = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return { url: `mqtt://127.0.0.1:${port}`, cut, restore: listen, close: cut };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function window(requests: number, from: number): InferenceWindow {
  const latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  latency[4] = requests;
  return { model: 'det', version: '2.0.0', ep: 'cpu', from, to: from + 1000, requests, failures: { INFERENCE_FAILED: 1 }, latency, latencySumMs: requests * 15, queueSumMs: 0 };
}

/** The agent side as createAgent wires it: state.db, the shared outbox, collector on a schedule, sender on the MQTT link. */
function openAgent(dir: string, deviceId: string, client: MqttClient, clock: { now(): number }, maxBatches: number) {
  const db = openDatabase(join(dir, 'state.db'));
  const outbox = createSqliteOutbox(db);
  const telemetryOutbox = createTelemetryOutbox({ deviceId, db, outbox, counters: createStateStore(db), maxBatches });
  const sender = createOutboxSender({ outbox, transport: createMqttClientTransport(client, deviceId), streams: [{ kind: TELEMETRY_KIND, window: 50 }], clock, publishTimeoutMs: 5_000 });
  const scheduler = createManualScheduler();
  const inference = createInferenceAccumulator();
  let n = 0;
  const collector: TelemetryCollector = createTelemetryCollector({
    schedule: '*/30 * * * * *',
    scheduler,
    metrics: createFakeMetricsSource(() => ({ cpu: 20, memUsed: 1e9, memTotal: 4e9, netUp: client.connected })),
    inference,
    outbox: telemetryOutbox,
    sender,
    clock,
  });
  collector.start();
  /** One scheduled cycle: the hub delivered windows during the last 30 s, then the schedule fires. */
  const cycle = async (): Promise<void> => {
    inference.add([window(10, clock.now() - 30_000), window(5, clock.now() - 15_000)]);
    n++;
    await scheduler.fire();
  };
  const close = async (): Promise<void> => {
    await collector.stop();
    db.close();
  };
  return { db, outbox, telemetryOutbox, sender, cycle, close, cycles: () => n };
}

const brokers: [string, RequirementId[], () => Promise<{ url: string; close(): Promise<void> }>][] = [
  ['aedes', [], async () => startAedesBroker().then((b: TestBroker) => ({ url: b.url, close: () => b.close() }))],
  ['mosquitto', ['mosquitto-broker'], async () => ({ url: MOSQUITTO_URL, close: async () => undefined })],
];

for (const [_name, needs, startBroker] of brokers) describeNeeding(needs, `telemetry store-and-forward through ${_name}`, () => {
  let broker: { url: string; close(): Promise<void> };
  let tmp: TmpDir;
  let sql: SqlDatabase;
  let telemetry: TelemetryService;
  let cpClient: MqttClient;
  const handlers = new Set<(m: { deviceId: string; payload: TelemetryBatch }) => Promise<void>>();
  const received = new Map<string, number>();

  beforeAll(async () => {
    broker = await startBroker();
    tmp = await tmpDataDir('edgefleet-telemetry-it-');
    sql = createSqliteDatabase(join(tmp.path, 'control-plane.db'));
    // The control plane's side of the bus: its telemetry subscription, as the device bus delivers it.
    cpClient = await mqtt.connectAsync(broker.url, { clientId: `cp-${randomBytes(4).toString('hex')}`, clean: true, reconnectPeriod: 200 });
    cpClient.on('message', (topic, payload) => {
      const batch = parsePayload(telemetryBatchSchema, payload, 'telemetry');
      received.set(batch.deviceId, (received.get(batch.deviceId) ?? 0) + 1);
      for (const h of handlers) void h({ deviceId: batch.deviceId, payload: batch });
    });
    telemetry = createTelemetryService({
      store: { sql, migrate: (ns, steps) => migrate(sql, ns, steps) },
      bus: {
        on: ((_channel: 'telemetry', handler: (m: { deviceId: string; payload: TelemetryBatch }) => Promise<void>) => {
          handlers.add(handler);
          return () => handlers.delete(handler);
        }) as never,
      },
      flushIntervalMs: 50,
    });
    await telemetry.start();
  });

  afterAll(async () => {
    await telemetry?.stop();
    await cpClient?.endAsync();
    await sql?.close();
    await broker?.close();
    await tmp?.cleanup();
  });

  async function storedSeqs(deviceId: string): Promise<number[]> {
    await telemetry.flush();
    const rows = await sql.all<{ seq: number }>('SELECT seq FROM telemetry_batches WHERE device_id = ? ORDER BY seq', [deviceId]);
    return rows.map((r) => Number(r.seq));
  }

  it('keeps every batch through a simulated hour offline and a restart, delivers each once', async () => {
    const deviceId = `tele-${randomBytes(5).toString('hex')}`;
    await cpClient.subscribeAsync(deviceTopic(deviceId, 'telemetry'), { qos: 1 });
    const link = await startLink(broker.url);
    const dir = await tmpDataDir('edgefleet-agent-');
    let now = Date.UTC(2026, 10, 26, 6, 0, 0);
    const clock = { now: () => now };
    const client = await mqtt.connectAsync(link.url, { clientId: deviceId, clean: true, reconnectPeriod: 100 });
    let agent = openAgent(dir.path, deviceId, client, clock, 10_000);
    const enqueued: number[] = [];
    const tick = async (): Promise<void> => {
      await agent.cycle();
      now += 30_000;
    };
    const remember = (): void => {
      for (const e of agent.outbox.peek(1000, TELEMETRY_KIND)) if (!enqueued.includes(e.seq)) enqueued.push(e.seq);
    };
    try {
      // Online: two minutes of cycles, each delivered as it is written.
      for (let i = 0; i < 4; i++) {
        await tick();
        remember();
        await agent.sender.flush();
      }
      await until('the online batches to be stored', async () => (await storedSeqs(deviceId)).length === 4);
      expect(agent.telemetryOutbox.pending()).toBe(0);

      // The link dies for an hour: 120 cycles, each a durable batch, none sent.
      await link.cut();
      await until('the agent to notice the cut', () => !client.connected);
      for (let i = 0; i < 120; i++) {
        await tick();
        remember();
        if (i === 59) {
          // Power cycle halfway through the outage: the outbox is on disk.
          await agent.close();
          agent = openAgent(dir.path, deviceId, client, clock, 10_000);
          expect(agent.telemetryOutbox.pending()).toBe(60);
        }
      }
      expect(agent.telemetryOutbox.pending()).toBe(120);
      expect(agent.telemetryOutbox.dropped()).toEqual({ batches: 0, samples: 0 });
      expect((await storedSeqs(deviceId)).length).toBe(4);

      // Back online: the reconnect handler flushes; everything arrives, each seq once.
      await link.restore();
      await until('the agent to reconnect', () => client.connected);
      const result = await agent.sender.flush();
      expect(result).toMatchObject({ sent: 120, failed: 0 });
      expect(agent.telemetryOutbox.pending()).toBe(0);
      await until('all 124 batches to be stored', async () => (await storedSeqs(deviceId)).length === 124);
      expect(await storedSeqs(deviceId)).toEqual([...enqueued].sort((a, b) => a - b));

      // QoS 1 redelivery (a PUBACK lost on the way back): the same batches arrive again, none stored twice.
      const stored = await sql.all<{ seq: number }>('SELECT seq FROM telemetry_batches WHERE device_id = ? ORDER BY seq LIMIT 5', [deviceId]);
      expect(stored).toHaveLength(5);
      const before = received.get(deviceId) ?? 0;
      for (const { seq } of stored) {
        const again: TelemetryBatch = { deviceId, seq: Number(seq), sentAt: new Date(now).toISOString(), samples: [{ t: 1, cpu: 99 }], inference: [], dropped: { batches: 0, samples: 0 } };
        await client.publishAsync(deviceTopic(deviceId, 'telemetry'), Buffer.from(JSON.stringify(again)), { qos: 1 });
      }
      await until('the redeliveries to reach the control plane', () => (received.get(deviceId) ?? 0) >= before + 5);
      expect(await storedSeqs(deviceId)).toHaveLength(124);

      // Every sample and every inference request made it, exactly once.
      const samples = await sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM telemetry_samples WHERE device_id = ?', [deviceId]);
      expect(Number(samples?.n)).toBe(124);
      const health = await telemetry.cohortHealth({ model: 'det', version: '2.0.0', deviceIds: [deviceId], from: 0, to: now + 60_000 });
      expect(health.requests).toBe(124 * 15);
      expect(health.failures).toBe(124 * 2);
    } finally {
      await agent.close();
      await client.endAsync(true);
      await link.close();
      await dir.cleanup();
    }
  });

  it('at the outbox cap drops the oldest telemetry and reports the exact count to the control plane', async () => {
    const deviceId = `tele-${randomBytes(5).toString('hex')}`;
    await cpClient.subscribeAsync(deviceTopic(deviceId, 'telemetry'), { qos: 1 });
    const link = await startLink(broker.url);
    const dir = await tmpDataDir('edgefleet-agent-');
    let now = Date.UTC(2026, 10, 26, 8, 0, 0);
    const clock = { now: () => now };
    const client = await mqtt.connectAsync(link.url, { clientId: deviceId, clean: true, reconnectPeriod: 100 });
    const agent = openAgent(dir.path, deviceId, client, clock, 50);
    try {
      await link.cut();
      await until('the agent to notice the cut', () => !client.connected);
      let firstSeq: number | undefined;
      for (let i = 0; i < 120; i++) {
        await agent.cycle();
        now += 30_000;
        firstSeq ??= agent.outbox.peek(1, TELEMETRY_KIND)[0]?.seq;
      }
      expect(agent.telemetryOutbox.pending()).toBe(50);
      expect(agent.telemetryOutbox.dropped()).toEqual({ batches: 70, samples: 70 });
      await link.restore();
      await until('the agent to reconnect', () => client.connected);
      expect((await agent.sender.flush()).sent).toBe(50);
      await until('the 50 kept batches to be stored', async () => (await storedSeqs(deviceId)).length === 50);
      const [status] = (await telemetry.devices()).filter((d) => d.deviceId === deviceId);
      expect(status).toMatchObject({ batches: 50, dropped: { batches: 70, samples: 70 } });
      // The 50 newest survived: stored seqs are the last 50 written.
      const seqs = await storedSeqs(deviceId);
      expect(seqs).toHaveLength(50);
      expect(seqs[0]! - firstSeq!).toBe(70);
    } finally {
      await agent.close();
      await client.endAsync(true);
      await link.close();
      await dir.cleanup();
    }
  });
});
