import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { agentConfigSchema, LATENCY_BUCKETS_MS, parsePayload, telemetryBatchSchema, type InferenceWindow } from '@edgefleet/shared';
import { createOutboxSender, createSessionTransport } from '../mqtt/index.js';
import { createInferenceWindowHub } from '../reconcile/index.js';
import { createSqliteOutbox, createStateStore, openDatabase } from '../store/index.js';
import { createAgentTelemetry } from './agent-telemetry.js';
import { createFakeMetricsSource } from './metrics-source.js';
import { createManualScheduler } from './scheduler.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('agent telemetry wiring', () => {
  it('takes windows from the hub, writes one batch per cycle and flushes the sender, which keeps it until acked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgefleet-agent-telemetry-'));
    dirs.push(dir);
    const config = agentConfigSchema.parse({
      deviceId: 'cam-7',
      dataDir: dir,
      broker: { url: 'mqtt://127.0.0.1:1' },
      fleetPublicKey: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----',
    });
    const db = openDatabase(join(dir, 'state.db'));
    const outbox = createSqliteOutbox(db);
    let pending: InferenceWindow[] = [];
    const hub = createInferenceWindowHub({
      takeWindows: () => {
        const taken = pending;
        pending = [];
        return taken;
      },
    });
    const published: { channel: string; payload: Buffer }[] = [];
    const session = {
      connected: false,
      publish: async (channel: string, payload: Buffer) => void published.push({ channel, payload }),
    };
    const sender = createOutboxSender({ outbox, transport: createSessionTransport(session), streams: [{ kind: 'telemetry', window: 8 }], acks: { timeoutMs: 60_000 } });
    const scheduler = createManualScheduler();
    const telemetry = createAgentTelemetry({
      config,
      db,
      store: createStateStore(db),
      outbox,
      sender,
      windows: hub,
      logger: { warn: () => undefined, debug: () => undefined } as never,
      metrics: createFakeMetricsSource({ cpu: 5 }),
      scheduler,
    });
    telemetry.start();
    expect(scheduler.expressions()).toEqual(['*/30 * * * * *']);
    outbox.enqueue('deployment-event', 'events', () => Buffer.from('{}'));
    const latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
    latency[2] = 3;
    for (let i = 0; i < 3; i++) {
      pending = [{ model: 'm', version: '1', ep: 'cpu', from: i * 1000, to: i * 1000 + 1000, requests: 3, failures: {}, latency, latencySumMs: 9, queueSumMs: 0 }];
      hub.poll();
    }
    await scheduler.fire();
    expect(published).toEqual([]);
    session.connected = true;
    await sender.reconnected();
    expect(published.map((p) => p.channel)).toEqual(['telemetry']);
    const batch = parsePayload(telemetryBatchSchema, published[0]!.payload);
    expect(batch.inference).toHaveLength(1);
    expect(batch.inference[0]!.requests).toBe(9);
    // PUBACK alone keeps the batch; the control plane's ack removes it.
    expect(telemetry.outbox.pending()).toBe(1);
    sender.handleAck({ channel: 'telemetry', seqs: [batch.seq] });
    expect(telemetry.outbox.pending()).toBe(0);
    expect(outbox.size('deployment-event')).toBe(1);
    await telemetry.stop();
    expect(scheduler.expressions()).toEqual([]);
    db.close();
  });
});
