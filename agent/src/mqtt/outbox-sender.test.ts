import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { AckedChannel } from '@edgefleet/shared';
import { openDatabase } from '../store/database.js';
import { createSqliteOutbox, type Outbox } from '../store/outbox.js';
import { createOutboxSender, type OutboxSenderOptions, type OutboxStream, type OutboxTransport } from './outbox-sender.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function realOutbox(): Outbox {
  const dir = mkdtempSync(join(tmpdir(), 'agent-outbox-sender-'));
  dirs.push(dir);
  return createSqliteOutbox(openDatabase(join(dir, 'state.db')));
}

const EVENTS: OutboxStream = { kind: 'event', window: 64 };
const TELEMETRY: OutboxStream = { kind: 'telemetry', window: 64 };

/** A broker link that PUBACKs at once and records `channel:seq` in publish order. */
function link(): OutboxTransport & { up: boolean; published: string[]; seqs: () => number[] } {
  const t = {
    up: true,
    published: [] as string[],
    connected: () => t.up,
    publish: async (channel: string, payload: Buffer) => void t.published.push(`${channel}:${payload.toString()}`),
    seqs: () => t.published.map((p) => Number(p.split(':')[1])),
  };
  return t;
}

const quiet = pino({ level: 'silent' });

function start(outbox: Outbox, options: Partial<OutboxSenderOptions> = {}) {
  const t = link();
  const sender = createOutboxSender({ outbox, transport: t, streams: [{ ...EVENTS, window: 64 }], acks: { timeoutMs: 10_000 }, logger: quiet, ...options });
  const ack = (seqs: number[], channel: AckedChannel = 'events'): void => sender.handleAck({ channel, seqs });
  return { t, sender, ack };
}

function enqueue(outbox: Outbox, n: number, channel = 'events', kind = 'event'): number[] {
  return Array.from({ length: n }, () => outbox.enqueue(kind, channel, (seq) => Buffer.from(String(seq))));
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Whether `p` has settled after every pending immediate and short timer ran. */
async function settledSoon(p: Promise<unknown>, ms = 50): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setTimeout(r, ms));
  return done;
}

describe('outbox sender: end-to-end acks', () => {
  it('keeps entries after PUBACK and removes each only when the control plane acks its seq', async () => {
    const outbox = realOutbox();
    enqueue(outbox, 3);
    const { t, sender, ack } = start(outbox);
    expect(await sender.flush()).toEqual({ sent: 3, deferredByBudget: 0, failed: 0 });
    expect(t.seqs()).toEqual([1, 2, 3]);
    expect(outbox.size()).toBe(3);
    ack([1, 3]);
    expect(outbox.peek(10).map((e) => e.seq)).toEqual([2]);
    ack([2]);
    expect(outbox.size()).toBe(0);
    await sender.flush();
    expect(t.seqs()).toEqual([1, 2, 3]);
  });

  it('publishes an unacknowledged entry again after the ack timeout, and stops once acked', async () => {
    const outbox = realOutbox();
    enqueue(outbox, 1);
    const { t, sender, ack } = start(outbox, { acks: { timeoutMs: 100 } });
    await sender.flush();
    await until('a resend after the ack timeout', () => t.published.length >= 2);
    expect(t.seqs().slice(0, 2)).toEqual([1, 1]);
    ack([1]);
    const sent = t.published.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(t.published.length).toBe(sent);
    expect(outbox.size()).toBe(0);
  });

  it('publishes everything unacknowledged again on a new connection', async () => {
    const outbox = realOutbox();
    enqueue(outbox, 2);
    const { t, sender, ack } = start(outbox);
    await sender.flush();
    ack([1]);
    await sender.flush();
    t.up = false;
    expect((await sender.flush()).sent).toBe(0);
    t.up = true;
    expect((await sender.reconnected()).sent).toBe(1);
    expect(t.seqs()).toEqual([1, 2, 2]);
  });

  it('ignores acks for unknown seqs and for seqs of another channel', async () => {
    const outbox = realOutbox();
    enqueue(outbox, 1);
    const [telemetrySeq] = enqueue(outbox, 1, 'telemetry', 'telemetry');
    const { t, sender, ack } = start(outbox, { streams: [{ ...EVENTS, window: 1 }] });
    await sender.flush();
    ack([99, 1000]);
    ack([1], 'telemetry');
    ack([telemetrySeq!]);
    await sender.flush();
    expect(outbox.size()).toBe(2);
    // The window stayed full: nothing was freed, so nothing else went out.
    expect(t.seqs()).toEqual([1]);
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
    const { t, sender, ack } = start(outbox, { acks: { timeoutMs: 100 } });
    await sender.flush();
    ack([1]);
    expect(real.size()).toBe(1);
    await until('the resend after the ack timeout', () => t.published.length === 2);
    ack([1]);
    expect(await settledSoon(sender.drained())).toBe(true);
  });

  it('survives a store that cannot be read, without an unhandled rejection', async () => {
    const real = realOutbox();
    const outbox: Outbox = {
      ...real,
      peek: () => {
        throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
      },
    };
    const { t, sender } = start(outbox);
    expect(await sender.flush()).toEqual({ sent: 0, deferredByBudget: 0, failed: 0 });
    expect(t.published).toEqual([]);
  });
});

describe('outbox sender: streams', () => {
  it('keeps at most each stream its own window unacknowledged and drains a backlog in order', async () => {
    const outbox = realOutbox();
    enqueue(outbox, 7);
    const { t, sender, ack } = start(outbox, { streams: [{ ...EVENTS, window: 3 }] });
    await sender.flush();
    expect(t.seqs()).toEqual([1, 2, 3]);
    expect((await sender.flush()).sent).toBe(0);
    ack([2]);
    await sender.flush();
    expect(t.seqs()).toEqual([1, 2, 3, 4]);
    ack([1, 3, 4]);
    await sender.flush();
    expect(t.seqs()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('windows are per stream: a full event window does not use up telemetry slots', async () => {
    const outbox = realOutbox();
    const events = enqueue(outbox, 2);
    const tel = enqueue(outbox, 5, 'telemetry', 'telemetry');
    const { t, sender } = start(outbox, { streams: [{ ...EVENTS, window: 2 }, { ...TELEMETRY, window: 3 }] });
    await sender.flush();
    expect(t.seqs()).toEqual([...events, ...tel.slice(0, 3)]);
    expect((await sender.flush()).sent).toBe(0);
    // An event ack frees an event slot, not a telemetry one.
    sender.handleAck({ channel: 'events', seqs: [events[0]!] });
    const [late] = enqueue(outbox, 1);
    await sender.flush();
    expect(t.seqs().slice(5)).toEqual([late]);
    sender.handleAck({ channel: 'telemetry', seqs: [tel[0]!] });
    await sender.flush();
    expect(t.seqs().at(-1)).toBe(tel[3]);
  });

  it('priority: events go before telemetry, and telemetry waits while any event waits to be sent', async () => {
    const outbox = realOutbox();
    const tel = enqueue(outbox, 2, 'telemetry', 'telemetry');
    const events = enqueue(outbox, 4);
    const { t, sender, ack } = start(outbox, { streams: [{ ...EVENTS, window: 2 }, TELEMETRY] });
    await sender.flush();
    // Telemetry is older, but two events still wait for room: nothing of telemetry goes.
    expect(t.published).toEqual([`events:${events[0]}`, `events:${events[1]}`]);
    ack(events.slice(0, 2));
    await sender.flush();
    // The last events fit the window, so nothing of a higher stream waits: telemetry follows, in the same round, after them.
    expect(t.published.slice(2)).toEqual([`events:${events[2]}`, `events:${events[3]}`, `telemetry:${tel[0]}`, `telemetry:${tel[1]}`]);
  });

  it('leaves kinds that are not one of its streams in the outbox', async () => {
    const outbox = realOutbox();
    enqueue(outbox, 1);
    enqueue(outbox, 1, 'telemetry', 'telemetry');
    const { t, sender } = start(outbox, { streams: [TELEMETRY] });
    expect((await sender.flush()).sent).toBe(1);
    expect(t.published).toEqual(['telemetry:2']);
    expect(outbox.size('event')).toBe(1);
  });
});

describe('outbox sender: drained()', () => {
  it('resolves when the last entry is acknowledged, not before, and at once when already empty', async () => {
    const outbox = realOutbox();
    const { sender, ack } = start(outbox, { streams: [EVENTS, TELEMETRY] });
    expect(await settledSoon(sender.drained())).toBe(true);
    enqueue(outbox, 2);
    const [tel] = enqueue(outbox, 1, 'telemetry', 'telemetry');
    await sender.flush();
    const all = sender.drained();
    const events = sender.drained('event');
    ack([1]);
    expect(await settledSoon(events)).toBe(false);
    ack([2]);
    expect(await settledSoon(events)).toBe(true);
    expect(await settledSoon(all)).toBe(false);
    sender.handleAck({ channel: 'telemetry', seqs: [tel!] });
    expect(await settledSoon(all)).toBe(true);
  });

  it('without end-to-end acks, resolves once every entry is PUBACKed (and so deleted)', async () => {
    const outbox = realOutbox();
    enqueue(outbox, 3);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const t: OutboxTransport = { connected: () => true, publish: () => gate };
    const sender = createOutboxSender({ outbox, transport: t, streams: [EVENTS] });
    const flushing = sender.flush();
    const drained = sender.drained();
    expect(await settledSoon(drained)).toBe(false);
    release();
    expect(await flushing).toMatchObject({ sent: 3 });
    expect(await settledSoon(drained)).toBe(true);
    expect(outbox.size()).toBe(0);
  });

  it('counts a publish without PUBACK in time as failed and keeps the entry', async () => {
    const outbox = realOutbox();
    enqueue(outbox, 1);
    const t: OutboxTransport = { connected: () => true, publish: () => new Promise(() => undefined) };
    const sender = createOutboxSender({ outbox, transport: t, streams: [EVENTS], publishTimeoutMs: 50 });
    expect(await sender.flush()).toEqual({ sent: 0, deferredByBudget: 0, failed: 1 });
    expect(outbox.size()).toBe(1);
  });
});
