import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePayload, telemetryBatchSchema, type DeviceSample } from '@edgefleet/shared';
import { createSqliteOutbox, createStateStore, openDatabase } from '../store/index.js';
import { createOutboxSender, type OutboxStream, type OutboxTransport } from '../mqtt/index.js';
import { createTelemetryOutbox, TELEMETRY_KIND } from './telemetry-outbox.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(dir: string, maxBatches: number) {
  const db = openDatabase(join(dir, 'state.db'));
  const outbox = createSqliteOutbox(db);
  const telemetry = createTelemetryOutbox({ deviceId: 'dev-1', db, outbox, counters: createStateStore(db), maxBatches });
  return { db, outbox, telemetry };
}

function samples(n: number, t0: number): DeviceSample[] {
  return Array.from({ length: n }, (_, i) => ({ t: t0 + i, cpu: 10 }));
}

/** Records what was published; `up` models the link. Stands in for the MQTT client (proven in test/integration/telemetry-*.test.ts). */
function recordingPublisher(): OutboxTransport & { published: { topic: string; payload: Buffer }[]; up: boolean } {
  const p = {
    up: true,
    published: [] as { topic: string; payload: Buffer }[],
    connected: () => p.up,
    publish: async (topic: string, payload: Buffer) => {
      if (!p.up) throw new Error('link down');
      p.published.push({ topic, payload });
    },
  };
  return p;
}

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'edgefleet-outbox-'));
  dirs.push(d);
  return d;
}

describe('telemetry outbox (real SQLite file)', () => {
  it('numbers batches with monotonic seqs that continue after a restart', () => {
    const dir = tmp();
    const a = open(dir, 100);
    const first = a.telemetry.enqueue({ samples: samples(1, 0), inference: [] }, new Date(0));
    const second = a.telemetry.enqueue({ samples: samples(1, 1), inference: [] }, new Date(1));
    expect(second.seq).toBeGreaterThan(first.seq);
    a.db.close();
    const b = open(dir, 100);
    expect(b.telemetry.pending()).toBe(2);
    const third = b.telemetry.enqueue({ samples: samples(1, 2), inference: [] }, new Date(2));
    expect(third.seq).toBeGreaterThan(second.seq);
    const stored = b.outbox.peek(10, TELEMETRY_KIND).map((e) => parsePayload(telemetryBatchSchema, e.payload));
    expect(stored.map((s) => s.seq)).toEqual([first.seq, second.seq, third.seq]);
    expect(stored[0]!.deviceId).toBe('dev-1');
    b.db.close();
  });

  it('at the cap drops the oldest telemetry and counts batches and samples exactly, across restarts', () => {
    const dir = tmp();
    const cap = 10;
    let a = open(dir, cap);
    // 25 batches of 1..3 samples: the first 15 must go.
    const sizes = Array.from({ length: 25 }, (_, i) => (i % 3) + 1);
    const seqs: number[] = [];
    for (const [i, n] of sizes.entries()) {
      if (i === 12) {
        a.db.close();
        a = open(dir, cap);
      }
      seqs.push(a.telemetry.enqueue({ samples: samples(n, i * 10), inference: [] }, new Date(i)).seq);
    }
    const droppedSamples = sizes.slice(0, 15).reduce((x, y) => x + y, 0);
    expect(a.telemetry.dropped()).toEqual({ batches: 15, samples: droppedSamples });
    expect(a.telemetry.pending()).toBe(cap);
    const kept = a.outbox.peek(100, TELEMETRY_KIND).map((e) => parsePayload(telemetryBatchSchema, e.payload));
    expect(kept.map((b) => b.seq)).toEqual(seqs.slice(15));
    // The newest batch carries the cumulative count, so the control plane learns it.
    expect(kept.at(-1)!.dropped).toEqual({ batches: 15, samples: droppedSamples });
    a.db.close();
  });

  it('never drops or counts deployment events, even past the cap', () => {
    const { db, outbox, telemetry } = open(tmp(), 3);
    for (let i = 0; i < 5; i++) outbox.enqueue('deployment-event', 'events', (seq) => Buffer.from(JSON.stringify({ seq })));
    for (let i = 0; i < 6; i++) telemetry.enqueue({ samples: samples(1, i), inference: [] }, new Date(i));
    expect(outbox.size('deployment-event')).toBe(5);
    expect(telemetry.pending()).toBe(3);
    expect(telemetry.dropped()).toEqual({ batches: 3, samples: 3 });
    db.close();
  });
});

const EVENTS: OutboxStream = { kind: 'deployment-event', window: 100 };

describe('outbox sender over the shared outbox (PUBACK deletes)', () => {
  it('sends events before telemetry, deletes only what was acknowledged, keeps the rest while the link is down', async () => {
    const { db, outbox, telemetry } = open(tmp(), 100);
    const publisher = recordingPublisher();
    const sender = createOutboxSender({ outbox, transport: publisher, streams: [EVENTS, { kind: TELEMETRY_KIND, window: 4 }] });
    for (let i = 0; i < 6; i++) telemetry.enqueue({ samples: samples(1, i), inference: [] }, new Date(i));
    outbox.enqueue('deployment-event', 'events', (seq) => Buffer.from(JSON.stringify({ seq })));
    publisher.up = false;
    expect(await sender.flush()).toEqual({ sent: 0, deferredByBudget: 0, failed: 0 });
    expect(outbox.size()).toBe(7);
    publisher.up = true;
    expect(await sender.flush()).toMatchObject({ sent: 7, failed: 0 });
    expect(publisher.published[0]!.topic).toBe('events');
    expect(publisher.published.slice(1).every((p) => p.topic === 'telemetry')).toBe(true);
    expect(outbox.size()).toBe(0);
    db.close();
  });

  it('a failed publish leaves the entry for the next flush', async () => {
    const { db, outbox, telemetry } = open(tmp(), 100);
    let failNext = true;
    const published: Buffer[] = [];
    const sender = createOutboxSender({
      outbox,
      transport: {
        connected: () => true,
        publish: async (_t, payload) => {
          if (failNext) {
            failNext = false;
            throw new Error('socket closed before PUBACK');
          }
          published.push(payload);
        },
      },
      streams: [{ kind: TELEMETRY_KIND, window: 1 }],
    });
    telemetry.enqueue({ samples: samples(1, 0), inference: [] }, new Date(0));
    expect(await sender.flush()).toEqual({ sent: 0, deferredByBudget: 0, failed: 1 });
    expect(telemetry.pending()).toBe(1);
    expect(await sender.flush()).toMatchObject({ sent: 1 });
    expect(telemetry.pending()).toBe(0);
    db.close();
  });

  it('holds telemetry back beyond the hourly byte budget, never events, and resumes an hour later', async () => {
    const { db, outbox, telemetry } = open(tmp(), 100);
    const publisher = recordingPublisher();
    let now = 1_000_000;
    const one = telemetry.enqueue({ samples: samples(1, 0), inference: [] }, new Date(0));
    const size = Buffer.byteLength(JSON.stringify(one));
    for (let i = 1; i < 10; i++) telemetry.enqueue({ samples: samples(1, i), inference: [] }, new Date(i));
    const sender = createOutboxSender({ outbox, transport: publisher, clock: { now: () => now }, streams: [EVENTS, { kind: TELEMETRY_KIND, window: 100, budgetBytesPerHour: size * 3 + 1 }] });
    const first = await sender.flush();
    expect(first.sent).toBe(3);
    expect(first.deferredByBudget).toBe(7);
    outbox.enqueue('deployment-event', 'events', (seq) => Buffer.from(JSON.stringify({ seq })));
    expect((await sender.flush()).sent).toBe(1);
    expect(outbox.size('deployment-event')).toBe(0);
    now += 3_600_001;
    expect((await sender.flush()).sent).toBe(3);
    expect(sender.bytesInLastHour(TELEMETRY_KIND)).toBeLessThanOrEqual(size * 3 + 1);
    db.close();
  });

  it('with only a telemetry stream leaves deployment events in the outbox', async () => {
    const { db, outbox, telemetry } = open(tmp(), 100);
    const publisher = recordingPublisher();
    outbox.enqueue('deployment-event', 'events', (seq) => Buffer.from(JSON.stringify({ seq })));
    telemetry.enqueue({ samples: samples(1, 0), inference: [] }, new Date(0));
    const sender = createOutboxSender({ outbox, transport: publisher, streams: [{ kind: TELEMETRY_KIND, window: 100 }] });
    expect((await sender.flush()).sent).toBe(1);
    expect(publisher.published.map((p) => p.topic)).toEqual(['telemetry']);
    expect(outbox.size('deployment-event')).toBe(1);
    db.close();
  });
});
