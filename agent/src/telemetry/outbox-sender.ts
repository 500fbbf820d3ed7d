import type { Outbox, OutboxEntry } from '../store/index.js';
import { DEPLOYMENT_EVENT_KIND } from '../reconcile/deployment-events.js';
import { TELEMETRY_KIND } from './telemetry-outbox.js';

/**
 * Drains the agent's durable outbox to the broker: every entry is published at its QoS and deleted
 * only when the broker acknowledged it (PUBACK). A crash between PUBACK and delete re-sends the
 * entry after restart; its seq lets the control plane drop the duplicate.
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
  onError?: (err: unknown, entry: OutboxEntry) => void;
}

export interface FlushResult {
  sent: number;
  /** Telemetry entries held back by the bandwidth budget. */
  deferredByBudget: number;
  failed: number;
}

export interface OutboxSender {
  /** Publishes until the outbox is empty, the link drops, a publish fails or the budget is spent. Concurrent calls share one run. */
  flush(): Promise<FlushResult>;
  /** Telemetry bytes published in the last hour. */
  bytesInLastHour(): number;
}

const HOUR_MS = 3_600_000;

export function createOutboxSender(options: OutboxSenderOptions): OutboxSender {
  const { outbox, transport } = options;
  const kinds = options.kinds;
  const clock = options.clock ?? { now: () => Date.now() };
  const batchLimit = options.batchLimit ?? 100;
  const budget = options.budgetBytesPerHour ?? 0;
  const priorityKinds = (options.priorityKinds ?? [DEPLOYMENT_EVENT_KIND]).filter((k) => !kinds || kinds.includes(k));
  const publishTimeoutMs = options.publishTimeoutMs ?? 10_000;
  const spent: { at: number; bytes: number }[] = [];
  let running: Promise<FlushResult> | undefined;

  function bytesInLastHour(): number {
    const cutoff = clock.now() - HOUR_MS;
    while (spent.length > 0 && spent[0]!.at <= cutoff) spent.shift();
    return spent.reduce((sum, s) => sum + s.bytes, 0);
  }

  async function publishOne(entry: OutboxEntry): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        transport.publish(entry.topic, entry.payload, entry.qos),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no PUBACK within ${publishTimeoutMs} ms`)), publishTimeoutMs);
        }),
      ]);
      outbox.ack(entry.seq);
      if (entry.kind === TELEMETRY_KIND) spent.push({ at: clock.now(), bytes: entry.payload.length });
      return true;
    } catch (err) {
      options.onError?.(err, entry);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Picks the next round: priority kinds first, then the oldest of the rest within the budget. */
  function nextRound(): { round: OutboxEntry[]; budgetSpent: boolean } {
    const round: OutboxEntry[] = [];
    for (const kind of priorityKinds) {
      if (round.length >= batchLimit) break;
      round.push(...outbox.peek(batchLimit - round.length, kind));
    }
    if (round.length > 0) return { round, budgetSpent: false };
    let allowance = budget > 0 ? budget - bytesInLastHour() : Infinity;
    const rest = kinds ? kinds.flatMap((k) => outbox.peek(batchLimit, k)).sort((a, b) => a.seq - b.seq).slice(0, batchLimit) : outbox.peek(batchLimit);
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

  return {
    flush() {
      running ??= drain().finally(() => {
        running = undefined;
      });
      return running;
    },
    bytesInLastHour,
  };
}
