import type { Outbox, OutboxEntry } from '../store/index.js';
import { createAckWindow, nextToSend, type AckSource } from '../mqtt/index.js';
import { DEPLOYMENT_EVENT_KIND } from '../reconcile/deployment-events.js';
import { TELEMETRY_KIND } from './telemetry-outbox.js';

/**
 * Drains the agent's durable outbox to the broker. With `acks` (the agent), an entry is deleted only
 * when the control plane acknowledges its seq end to end (issue 10); at most `acks.window` entries
 * are unacknowledged at once, and one unacknowledged after `acks.ackTimeoutMs`, or when the link
 * comes back (`reconnected()`), is published again. Without `acks` (a bare client with nothing on
 * the other side to ack), an entry is deleted on the broker's PUBACK. Either way a redelivered seq
 * is dropped by the control plane as a duplicate.
 *
 * Order: priority kinds (deployment events) first, then everything else oldest first. A bandwidth
 * budget (metered links) applies to telemetry only; events are never held back.
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

export interface OutboxSenderOptions {
  outbox: Outbox;
  transport: OutboxTransport;
  clock?: Clock;
  /** Entries published per round (in flight together). @default 100 */
  batchLimit?: number;
  /** Telemetry bytes allowed per rolling hour; 0 = unlimited. @default 0 */
  budgetBytesPerHour?: number;
  /** Kinds sent before everything else and exempt from the budget. @default [DEPLOYMENT_EVENT_KIND] */
  priorityKinds?: readonly string[];
  /**
   * Drain only these kinds (e.g. `[TELEMETRY_KIND]` while deployment events keep their own
   * publisher, agent/src/mqtt/outbox-publisher.ts). @default every kind
   */
  kinds?: readonly string[];
  /** A publish without PUBACK in this time counts as failed (the entry stays). @default 10000 */
  publishTimeoutMs?: number;
  /** End-to-end acks from the control plane; without them the broker's PUBACK deletes an entry. */
  acks?: { source: AckSource; window: number; ackTimeoutMs: number };
  onError?: (err: unknown, entry: OutboxEntry) => void;
}

export interface FlushResult {
  sent: number;
  /** Telemetry entries held back by the bandwidth budget. */
  deferredByBudget: number;
  failed: number;
}

export interface OutboxSender {
  /**
   * Publishes until the outbox is empty, the ack window is full, the link drops, a publish fails or
   * the budget is spent. A call during a run shares it, and the run goes round once more.
   */
  flush(): Promise<FlushResult>;
  /** A new connection: every entry still waiting for its ack is published again, then flushes. */
  reconnected(): Promise<FlushResult>;
  /** Telemetry bytes published in the last hour. */
  bytesInLastHour(): number;
}

const HOUR_MS = 3_600_000;

export function createOutboxSender(options: OutboxSenderOptions): OutboxSender {
  const { outbox, transport } = options;
  const kinds = options.kinds;
  // Monotonic: the hourly budget is a duration, and a wall-clock step back must not freeze it.
  const clock = options.clock ?? { now: () => performance.now() };
  const batchLimit = options.batchLimit ?? 100;
  const budget = options.budgetBytesPerHour ?? 0;
  const priorityKinds = (options.priorityKinds ?? [DEPLOYMENT_EVENT_KIND]).filter((k) => !kinds || kinds.includes(k));
  const publishTimeoutMs = options.publishTimeoutMs ?? 10_000;
  const spent: { at: number; bytes: number }[] = [];
  let running: Promise<FlushResult> | undefined;
  let again = false;
  // From timers and ack messages: a store error must not become an unhandled rejection that ends
  // the agent; the collector's next flush reports it (its onError).
  const kick = (): void => void flush().catch(() => undefined);
  const inFlight = options.acks ? createAckWindow({ limit: options.acks.window, ackTimeoutMs: options.acks.ackTimeoutMs, onExpired: kick }) : undefined;
  options.acks?.source.onAck(({ seqs }) => {
    let freed = false;
    for (const seq of seqs) freed = inFlight!.close(seq) || freed;
    if (freed) kick();
  });

  function bytesInLastHour(): number {
    const cutoff = clock.now() - HOUR_MS;
    while (spent.length > 0 && spent[0]!.at <= cutoff) spent.shift();
    return spent.reduce((sum, s) => sum + s.bytes, 0);
  }

  async function publishOne(entry: OutboxEntry): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    inFlight?.open(entry.seq);
    try {
      await Promise.race([
        transport.publish(entry.topic, entry.payload, entry.qos),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no PUBACK within ${publishTimeoutMs} ms`)), publishTimeoutMs);
        }),
      ]);
      // With end-to-end acks the entry stays until the control plane names its seq.
      if (!inFlight) outbox.ack(entry.seq);
      if (entry.kind === TELEMETRY_KIND) spent.push({ at: clock.now(), bytes: entry.payload.length });
      return true;
    } catch (err) {
      inFlight?.close(entry.seq);
      options.onError?.(err, entry);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The oldest `limit` entries (of `kind`) not waiting for an ack. */
  function peek(limit: number, kind?: string): OutboxEntry[] {
    return inFlight ? nextToSend(inFlight, (n) => outbox.peek(n, kind), limit) : outbox.peek(limit, kind);
  }

  /** Picks the next round, within the ack window: priority kinds first, then the oldest of the rest within the budget. */
  function nextRound(): { round: OutboxEntry[]; budgetSpent: boolean } {
    const round: OutboxEntry[] = [];
    const cap = inFlight ? Math.min(batchLimit, inFlight.free()) : batchLimit;
    if (cap === 0) return { round, budgetSpent: false };
    for (const kind of priorityKinds) {
      if (round.length >= cap) break;
      round.push(...peek(cap - round.length, kind));
    }
    if (round.length > 0) return { round, budgetSpent: false };
    let allowance = budget > 0 ? budget - bytesInLastHour() : Infinity;
    const rest = kinds ? kinds.flatMap((k) => peek(cap, k)).sort((a, b) => a.seq - b.seq).slice(0, cap) : peek(cap);
    for (const entry of rest) {
      if (entry.kind === TELEMETRY_KIND) {
        if (entry.payload.length > allowance) return { round, budgetSpent: true };
        allowance -= entry.payload.length;
      }
      round.push(entry);
    }
    return { round, budgetSpent: false };
  }

  async function drain(): Promise<FlushResult> {
    const result: FlushResult = { sent: 0, deferredByBudget: 0, failed: 0 };
    while (transport.connected()) {
      const { round, budgetSpent } = nextRound();
      const outcomes = await Promise.all(round.map(publishOne));
      const ok = outcomes.filter(Boolean).length;
      result.sent += ok;
      result.failed += outcomes.length - ok;
      if (budgetSpent) result.deferredByBudget = outbox.size(TELEMETRY_KIND);
      if (round.length === 0 || ok < outcomes.length || budgetSpent) break;
    }
    return result;
  }

  async function run(): Promise<FlushResult> {
    const total: FlushResult = { sent: 0, deferredByBudget: 0, failed: 0 };
    do {
      again = false;
      const r = await drain();
      total.sent += r.sent;
      total.failed += r.failed;
      total.deferredByBudget = r.deferredByBudget;
    } while (again && transport.connected());
    return total;
  }

  function flush(): Promise<FlushResult> {
    // An ack that frees the window while a run is about to end must not wait for the next trigger.
    if (running) again = true;
    running ??= run().finally(() => {
      running = undefined;
    });
    return running;
  }

  return {
    flush,
    reconnected() {
      inFlight?.clear();
      return flush();
    },
    bytesInLastHour,
  };
}
