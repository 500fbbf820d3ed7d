import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePayload, telemetryBatchSchema } from '@edgefleet/shared';
import { createSqliteOutbox, createStateStore, openDatabase, type Outbox } from '../store/index.js';
import { createTelemetryOutbox, TELEMETRY_KIND } from '../telemetry/telemetry-outbox.js';
import { createOutboxSender, type OutboxSender, type OutboxTransport } from './outbox-sender.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(maxBatches: number) {
  const dir = mkdtempSync(join(tmpdir(), 'edgefleet-sender-acks-'));
  dirs.push(dir);
  const db = openDatabase(join(dir, 'state.db'));
  const outbox = createSqliteOutbox(db);
  const telemetry = createTelemetryOutbox({ deviceId: 'dev-1', db, outbox, counters: createStateStore(db), maxBatches });
  return { db, outbox, telemetry };
}

/** The control plane's acks on the telemetry channel, as the inbound dispatcher hands them to the sender. */
function ackSource(outbox: Outbox) {
  let sender: OutboxSender | undefined;
  return {
    attach(s: OutboxSender) {
      sender = s;
      return s;
    },
    /** Returns the seqs the outbox still held (and now removed). */
    ack(seqs: number[]): number[] {
      const held = seqs.filter((seq) => outbox.peek(1_000_000, TELEMETRY_KIND).some((e) => e.seq === seq));
      sender!.handleAck({ channel: 'telemetry', seqs });
      return held;
    },
  };
}

function transport(): OutboxTransport & { seqs: number[] } {
  const t = {
    seqs: [] as number[],
    connected: () => true,
    publish: async (_topic: string, payload: Buffer) => void t.seqs.push(parsePayload(telemetryBatchSchema, payload).seq),
  };
  return t;
}

const sample = (i: number) => ({ samples: [{ t: i, cpu: 1 }], inference: [] });

describe('outbox sender with end-to-end acks', () => {
  it('keeps batches after PUBACK, holds at most `window` unacknowledged, and deletes only what the control plane acks', async () => {
    const { db, outbox, telemetry } = open(100);
    const seqs = Array.from({ length: 5 }, (_, i) => telemetry.enqueue(sample(i), new Date(i)).seq);
    const acks = ackSource(outbox);
    const t = transport();
    const sender = acks.attach(createOutboxSender({ outbox, transport: t, streams: [{ kind: TELEMETRY_KIND, window: 2 }], acks: { timeoutMs: 60_000 } }));
    expect(await sender.flush()).toEqual({ sent: 2, deferredByBudget: 0, failed: 0 });
    expect(t.seqs).toEqual(seqs.slice(0, 2));
    expect(telemetry.pending()).toBe(5);
    // A second flush sends nothing new: the window is full.
    expect((await sender.flush()).sent).toBe(0);
    acks.ack([seqs[0]!]);
    await sender.flush();
    expect(t.seqs).toEqual(seqs.slice(0, 3));
    acks.ack(seqs.slice(1, 3));
    await sender.flush();
    acks.ack(seqs.slice(3));
    await sender.flush();
    expect(t.seqs).toEqual(seqs);
    expect(telemetry.pending()).toBe(0);
    db.close();
  });

  it('publishes again what is unacknowledged after the ack timeout and on reconnect', async () => {
    const { db, outbox, telemetry } = open(100);
    const seq = telemetry.enqueue(sample(0), new Date(0)).seq;
    const acks = ackSource(outbox);
    const t = transport();
    const sender = acks.attach(createOutboxSender({ outbox, transport: t, streams: [{ kind: TELEMETRY_KIND, window: 4 }], acks: { timeoutMs: 100 } }));
    await sender.flush();
    const deadline = Date.now() + 5000;
    while (t.seqs.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(t.seqs.slice(0, 2)).toEqual([seq, seq]);
    await sender.reconnected();
    expect(t.seqs.at(-1)).toBe(seq);
    const before = t.seqs.length;
    acks.ack([seq]);
    await sender.reconnected();
    expect(t.seqs.length).toBe(before);
    expect(telemetry.pending()).toBe(0);
    db.close();
  });

  it('keeps the cap accounting exact: a batch dropped while waiting for its ack counts once, and its late ack is ignored', async () => {
    const { db, outbox, telemetry } = open(3);
    const acks = ackSource(outbox);
    const t = transport();
    const sender = acks.attach(createOutboxSender({ outbox, transport: t, streams: [{ kind: TELEMETRY_KIND, window: 8 }], acks: { timeoutMs: 60_000 } }));
    const first = telemetry.enqueue(sample(0), new Date(0)).seq;
    await sender.flush();
    expect(t.seqs).toEqual([first]);
    // No ack comes (control plane away); three more batches push the first out at the cap.
    for (let i = 1; i <= 3; i++) telemetry.enqueue(sample(i), new Date(i));
    expect(telemetry.dropped()).toEqual({ batches: 1, samples: 1 });
    expect(acks.ack([first])).toEqual([]);
    expect(telemetry.dropped()).toEqual({ batches: 1, samples: 1 });
    expect(telemetry.pending()).toBe(3);
    db.close();
  });
});

describe('outbox sender with end-to-end acks, store errors', () => {
  it('an ack that triggers a flush while the store cannot be read does not reject unhandled', async () => {
    const { db, outbox, telemetry } = open(100);
    const seqs = [0, 1].map((i) => telemetry.enqueue(sample(i), new Date(i)).seq);
    let failPeek = false;
    const flaky: Outbox = {
      ...outbox,
      peek: (limit, kind) => {
        if (failPeek) throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
        return outbox.peek(limit, kind);
      },
    };
    const acks = ackSource(outbox);
    const t = transport();
    const sender = acks.attach(createOutboxSender({ outbox: flaky, transport: t, streams: [{ kind: TELEMETRY_KIND, window: 1 }], acks: { timeoutMs: 60_000 } }));
    await sender.flush();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      failPeek = true;
      acks.ack([seqs[0]!]);
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
      failPeek = false;
      await sender.flush();
      expect(t.seqs).toEqual(seqs);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      db.close();
    }
  });
});
