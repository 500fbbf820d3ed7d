import type { Logger } from 'pino';
import type { DeliveryAck } from '@edgefleet/shared';
import type { Outbox, OutboxEntry } from '../store/outbox.js';
import { createAckWindow, nextToSend, type AckWindow } from './ack-window.js';

/**
 * The agent's one sender of its durable outbox (deployment events and telemetry share the table and
 * its seq space). Each stream (an entry kind) has its own ack window; streams are served in
 * priority order, and a stream sends only when no entry of a stream before it is waiting to be
 * sent (so events go before telemetry, and an in-flight event never holds telemetry back).
 *
 * With end-to-end acks (`acks`, the agent, issue 10) an entry leaves the outbox only when the
 * control plane names its seq on the entry's channel (`handleAck`): a broker's PUBACK is no proof
 * of delivery, since a broker acks and drops what nobody is subscribed to. An entry unacknowledged
 * after `acks.timeoutMs`, and everything unacknowledged on a new connection (`reconnected`), is
 * published again; receivers de-duplicate by seq/eventId. Without `acks` (a bare client with
 * nothing on the other side to ack) the broker's PUBACK deletes the entry.
 *
 * Entries store their channel name as their topic (the transport builds the device topic).
 */

/**
 * The MQTT connection as the sender needs it. `channel` is the entry's topic field (a device
 * channel name such as `telemetry`); `publish` resolves on PUBACK (QoS 1) and rejects on failure.
 */
export interface OutboxTransport {
  connected(): boolean;
  publish(channel: string, payload: Buffer, qos: 0 | 1): Promise<void>;
}

export interface Clock {
  now(): number;
}

export interface OutboxStream {
  /** The outbox entry kind this stream sends. */
  kind: string;
  /** Entries published and not yet acknowledged, at most (without acks: not yet PUBACKed). */
  window: number;
  /** Bytes this stream may publish per rolling hour (metered links); 0 = unlimited. @default 0 */
  budgetBytesPerHour?: number;
}

export interface OutboxSenderOptions {
  outbox: Outbox;
  transport: OutboxTransport;
  /** Highest priority first. Kinds not named here stay in the outbox untouched. */
  streams: readonly OutboxStream[];
  /** End-to-end acks from the control plane (fed through `handleAck`); without them PUBACK deletes. */
  acks?: { timeoutMs: number };
  /** A publish without PUBACK in this time counts as failed (the entry stays). @default 10000 */
  publishTimeoutMs?: number;
  clock?: Clock;
  logger?: Pick<Logger, 'warn' | 'info' | 'debug'>;
}

export interface FlushResult {
  sent: number;
  /** Entries held back by a stream's byte budget. */
  deferredByBudget: number;
  failed: number;
}

export interface OutboxSender {
  /**
   * Publishes until every stream is empty or its window full, the link drops, a publish fails or a
   * budget is spent. A call during a run shares it, and the run goes round once more.
   */
  flush(): Promise<FlushResult>;
  /** A new connection: every entry still waiting for its ack is published again. */
  reconnected(): Promise<FlushResult>;
  /** The control plane's ack (parsed by the inbound dispatcher): removes the named entries, frees their window slots. */
  handleAck(ack: DeliveryAck): void;
  /**
   * Resolves when nothing of `kind` (every stream when omitted) is queued or being published. Never
   * rejects and has no deadline of its own: wrap it in one (lifecycle's withDeadline).
   */
  drained(kind?: string): Promise<void>;
  /** Bytes the stream published in the last hour. */
  bytesInLastHour(kind: string): number;
  /** Stops publishing and the ack timers; the outbox keeps whatever is unacknowledged. */
  stop(): void;
}

const HOUR_MS = 3_600_000;

interface StreamState {
  readonly spec: OutboxStream;
  readonly window: AckWindow;
  /** Publishes awaiting PUBACK. */
  publishing: number;
  readonly spent: { at: number; bytes: number }[];
}

export function createOutboxSender(options: OutboxSenderOptions): OutboxSender {
  const { outbox, transport, logger } = options;
  // Monotonic: the hourly budget is a duration, and a wall-clock step back must not freeze it.
  const clock = options.clock ?? { now: () => performance.now() };
  const publishTimeoutMs = options.publishTimeoutMs ?? 10_000;
  const endToEnd = options.acks !== undefined;
  // Without acks a slot frees on PUBACK or the publish timeout; the window's own expiry is only a backstop.
  const ackTimeoutMs = options.acks?.timeoutMs ?? publishTimeoutMs * 2;
  const streams: StreamState[] = options.streams.map((spec) => ({
    spec,
    window: createAckWindow({
      limit: spec.window,
      ackTimeoutMs,
      onExpired: (seqs) => {
        logger?.info({ kind: spec.kind, seqs: seqs.length, first: seqs[0] }, 'no ack from the control plane in time; publishing again');
        kick();
      },
    }),
    publishing: 0,
    spent: [],
  }));
  const byKind = new Map(streams.map((s) => [s.spec.kind, s]));
  const waiters: { kinds: StreamState[]; resolve: () => void }[] = [];
  let running: Promise<FlushResult> | undefined;
  let again = false;
  let stopped = false;

  function bytesInLastHour(s: StreamState): number {
    const cutoff = clock.now() - HOUR_MS;
    while (s.spent.length > 0 && s.spent[0]!.at <= cutoff) s.spent.shift();
    return s.spent.reduce((sum, x) => sum + x.bytes, 0);
  }

  function isDrained(kinds: readonly StreamState[]): boolean {
    return kinds.every((s) => s.publishing === 0 && outbox.size(s.spec.kind) === 0);
  }

  function settleWaiters(): void {
    if (waiters.length === 0) return;
    let ready: typeof waiters;
    try {
      ready = waiters.filter((w) => isDrained(w.kinds));
    } catch (err) {
      logger?.warn({ err }, 'outbox size could not be read; drain waiters wait for the next change');
      return;
    }
    for (const w of ready) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  }

  async function publishOne(s: StreamState, entry: OutboxEntry): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    s.window.open(entry.seq);
    s.publishing++;
    try {
      await Promise.race([
        transport.publish(entry.topic, entry.payload, entry.qos),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no PUBACK within ${publishTimeoutMs} ms`)), publishTimeoutMs);
        }),
      ]);
      if (!endToEnd) {
        outbox.ack(entry.seq);
        s.window.close(entry.seq);
      }
      if (s.spec.budgetBytesPerHour) s.spent.push({ at: clock.now(), bytes: entry.payload.length });
      return true;
    } catch (err) {
      s.window.close(entry.seq);
      logger?.debug({ err, kind: entry.kind, seq: entry.seq }, 'outbox entry not acknowledged by the broker; kept for the next flush');
      return false;
    } finally {
      clearTimeout(timer);
      s.publishing--;
    }
  }

  /** The next round: each stream's oldest entries not in flight, within its window and budget, until one has entries left waiting. */
  function nextRound(): { round: [StreamState, OutboxEntry][]; deferredByBudget: number } {
    const round: [StreamState, OutboxEntry][] = [];
    let deferredByBudget = 0;
    for (const s of streams) {
      const candidates = nextToSend(s.window, (n) => outbox.peek(n, s.spec.kind));
      let allowance = s.spec.budgetBytesPerHour ? s.spec.budgetBytesPerHour - bytesInLastHour(s) : Infinity;
      let picked = 0;
      for (const entry of candidates) {
        if (entry.payload.length > allowance) break;
        allowance -= entry.payload.length;
        round.push([s, entry]);
        picked++;
      }
      const waiting = outbox.size(s.spec.kind) - s.window.size - picked;
      if (picked < candidates.length) deferredByBudget += waiting;
      // Strict priority: what waits here goes before anything of a later stream.
      if (waiting > 0) break;
    }
    return { round, deferredByBudget };
  }

  async function drain(): Promise<FlushResult> {
    const result: FlushResult = { sent: 0, deferredByBudget: 0, failed: 0 };
    while (!stopped && transport.connected()) {
      const { round, deferredByBudget } = nextRound();
      result.deferredByBudget = deferredByBudget;
      if (round.length === 0) break;
      const outcomes = await Promise.all(round.map(([s, entry]) => publishOne(s, entry)));
      const ok = outcomes.filter(Boolean).length;
      result.sent += ok;
      result.failed += outcomes.length - ok;
      settleWaiters();
      if (ok < outcomes.length || deferredByBudget > 0) break;
    }
    return result;
  }

  async function run(): Promise<FlushResult> {
    // Never inside the caller's stack: flushes are triggered from outbox transactions and MQTT message handlers.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const total: FlushResult = { sent: 0, deferredByBudget: 0, failed: 0 };
    try {
      do {
        again = false;
        const r = await drain();
        total.sent += r.sent;
        total.failed += r.failed;
        total.deferredByBudget = r.deferredByBudget;
      } while (again && !stopped && transport.connected());
    } catch (err) {
      // A store error (disk full, I/O) must not escape a timer or message callback; the next enqueue, ack or connect flushes again.
      logger?.warn({ err }, 'outbox read failed; will retry on the next flush');
    }
    settleWaiters();
    return total;
  }

  function flush(): Promise<FlushResult> {
    // An ack that frees a window while a run is about to end must not wait for the next trigger.
    if (running) again = true;
    running ??= run().finally(() => {
      running = undefined;
    });
    return running;
  }

  function kick(): void {
    void flush();
  }

  return {
    flush,
    reconnected() {
      for (const s of streams) s.window.clear();
      return flush();
    },
    handleAck(ack) {
      let seqs: number[];
      try {
        seqs = outbox.removeAcked(ack.channel, ack.seqs);
      } catch (err) {
        // Disk full or I/O: the entries stay, are sent again after the ack timeout and acked again.
        logger?.warn({ err, channel: ack.channel, seqs: ack.seqs.length }, 'acknowledged outbox entries could not be removed');
        return;
      }
      if (seqs.length < ack.seqs.length) logger?.debug({ channel: ack.channel, unknown: ack.seqs.length - seqs.length }, 'ignored acks for seqs not in the outbox');
      if (seqs.length === 0) return;
      for (const seq of seqs) for (const s of streams) if (s.window.close(seq)) break;
      settleWaiters();
      // Freed slots, or fewer entries of a higher-priority stream waiting: either may let more go.
      kick();
    },
    drained(kind) {
      const kinds = kind === undefined ? streams : [byKind.get(kind)].filter((s): s is StreamState => s !== undefined);
      return new Promise<void>((resolve) => {
        waiters.push({ kinds, resolve });
        settleWaiters();
      });
    },
    bytesInLastHour(kind) {
      const s = byKind.get(kind);
      return s ? bytesInLastHour(s) : 0;
    },
    stop() {
      stopped = true;
      for (const s of streams) s.window.clear();
    },
  };
}
