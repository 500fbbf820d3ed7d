import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { deliveryAckSchema, encodePayload, type AckedChannel } from '@edgefleet/shared';
import { openDatabase } from '../store/database.js';
import { migrate } from '../store/migrations.js';
import { createSqliteOutbox, type Outbox } from '../store/outbox.js';
import { createAckReceiver } from './ack-receiver.js';
import { createOutboxPublisher, type OutboxPublisherOptions } from './outbox-publisher.js';
import type { MessageHandler, MqttSession } from './session.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function realOutbox(): Outbox {
  const dir = mkdtempSync(join(tmpdir(), 'agent-outbox-pub-'));
  dirs.push(dir);
  const db = openDatabase(join(dir, 'state.db'));
  migrate(db);
  return createSqliteOutbox(db);
}

/**
 * The session as the publisher and ack receiver use it: publish resolves at once (the broker's
 * PUBACK), `ack()` delivers a control-plane ack on the acks channel, `reconnect()` fires onConnect.
 */
function fakeSession() {
  const published: number[] = [];
  const inbound = new Map<string, MessageHandler>();
  const connectListeners: (() => void)[] = [];
  const session: MqttSession = {
    connected: true,
    dropped: 0,
    on: (channel, handler) => void inbound.set(channel, handler),
    onConnect: (l) => void connectListeners.push(l),
    onDisconnect: () => undefined,
    publish: async (_channel, payload) => {
      published.push(Number(payload.toString()));
    },
    start: () => undefined,
    close: async () => undefined,
  };
  return {
    session,
    published,
    ack: (seqs: number[], channel: AckedChannel = 'events') => inbound.get('acks')!(encodePayload(deliveryAckSchema, { channel, seqs }), 'acks'),
    reconnect: () => connectListeners.forEach((l) => l()),
  };
}

const quiet = pino({ level: 'silent' });

function start(outbox: Outbox, options: Partial<OutboxPublisherOptions> = {}) {
  const s = fakeSession();
  const acks = createAckReceiver({ session: s.session, outbox, logger: quiet });
  const publisher = createOutboxPublisher({ outbox, session: s.session, acks, logger: quiet, ...options });
  return { ...s, publisher };
}

function enqueue(outbox: Outbox, n: number, topic = 'events', kind = 'event'): number[] {
  return Array.from({ length: n }, () => outbox.enqueue(kind, topic, (seq) => Buffer.from(String(seq))));
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Lets every setImmediate flush and resolved publish run. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 30));

describe('outbox publisher (end-to-end acks)', () => {
  it('keeps entries after PUBACK and removes each only when the control plane acks its seq', async () => {
    const outbox = realOutbox();
    enqueue(outbox, 3);
    const p = start(outbox);
    p.publisher.flush();
    await until('three publishes', () => p.published.length === 3);
    await settle();
    expect(p.published).toEqual([1, 2, 3]);
    expect(outbox.size()).toBe(3);
    p.ack([1, 3]);
    expect(outbox.peek(10).map((e) => e.seq)).toEqual([2]);
    expect(await p.publisher.drained(50)).toBe(false);
    p.ack([2]);
    expect(await p.publisher.drained(2000)).toBe(true);
    expect(p.published).toEqual([1, 2, 3]);
  });

  it('publishes an unacknowledged entry again after the ack timeout, and stops once acked', async () => {
    const outbox = realOutbox();
    enqueue(outbox, 1);
    const p = start(outbox, { ackTimeoutMs: 100 });
    p.publisher.flush();
    await until('a resend after the ack timeout', () => p.published.length >= 2);
    expect(p.published.slice(0, 2)).toEqual([1, 1]);
    p.ack([1]);
    const sent = p.published.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(p.published.length).toBe(sent);
    expect(outbox.size()).toBe(0);
  });

  it('publishes everything unacknowledged again on a new connection', async () => {
    const outbox = realOutbox();
    enqueue(outbox, 2);
    const p = start(outbox);
    p.publisher.flush();
    await until('two publishes', () => p.published.length === 2);
    p.ack([1]);
    p.reconnect();
    await until('the resend on connect', () => p.published.length === 3);
    await settle();
    expect(p.published).toEqual([1, 2, 2]);
  });

  it('keeps at most `window` entries unacknowledged and drains a backlog in order', async () => {
    const outbox = realOutbox();
    enqueue(outbox, 7);
    const p = start(outbox, { window: 3 });
    p.publisher.flush();
    await until('the first window', () => p.published.length === 3);
    await settle();
    expect(p.published).toEqual([1, 2, 3]);
    p.ack([2]);
    await until('one more after an ack', () => p.published.length === 4);
    await settle();
    expect(p.published).toEqual([1, 2, 3, 4]);
    p.ack([1, 3, 4]);
    await until('the next three', () => p.published.length === 7);
    p.ack([5, 6, 7]);
    expect(await p.publisher.drained(2000)).toBe(true);
    expect(p.published).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('ignores acks for unknown seqs and for seqs of another channel', async () => {
    const outbox = realOutbox();
    enqueue(outbox, 1);
    const [telemetrySeq] = enqueue(outbox, 1, 'telemetry', 'telemetry');
    const p = start(outbox, { kind: 'event', window: 1 });
    p.publisher.flush();
    await until('one publish', () => p.published.length === 1);
    p.ack([99, 1000]);
    p.ack([1], 'telemetry');
    p.ack([telemetrySeq!]);
    await settle();
    expect(outbox.size()).toBe(2);
    // The window stayed full: nothing was freed, so nothing else went out.
    expect(p.published).toEqual([1]);
  });

  it('rejects an invalid ack payload without touching the outbox', () => {
    const outbox = realOutbox();
    enqueue(outbox, 1);
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    const inbound = new Map<string, MessageHandler>();
    createAckReceiver({ session: { on: (c, h) => void inbound.set(c, h) }, outbox, logger });
    inbound.get('acks')!(Buffer.from(JSON.stringify({ channel: 'events', seqs: [-1, 'x'] })), 'acks');
    inbound.get('acks')!(Buffer.from(JSON.stringify({ channel: 'reported', seqs: [1] })), 'acks');
    inbound.get('acks')!(Buffer.from('{not json'), 'acks');
    expect(outbox.size()).toBe(1);
    expect(warnings.filter((l) => l.includes('rejected an ack'))).toHaveLength(3);
  });

  it('survives a store that cannot remove an acked entry (disk full): it is sent again and acked again', async () => {
    const real = realOutbox();
    let failRemovals = 1;
    const outbox: Outbox = {
      ...real,
      removeAcked(topic, seqs) {
        if (failRemovals-- > 0) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
        return real.removeAcked(topic, seqs);
      },
    };
    enqueue(outbox, 1);
    const p = start(outbox, { ackTimeoutMs: 100 });
    p.publisher.flush();
    await until('one publish', () => p.published.length === 1);
    p.ack([1]);
    expect(real.size()).toBe(1);
    await until('the resend after the ack timeout', () => p.published.length === 2);
    p.ack([1]);
    expect(await p.publisher.drained(2000)).toBe(true);
  });

  it('survives a store that cannot be read', async () => {
    const real = realOutbox();
    const outbox: Outbox = { ...real, peek: () => { throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' }); } };
    const p = start(outbox);
    p.publisher.flush();
    await settle();
    expect(p.published).toEqual([]);
    expect(real.size()).toBe(0);
  });
});
