import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { deploymentEventSchema, encodePayload, type DeploymentEvent } from '@edgefleet/shared';
import { backoffDelayMs } from '../mqtt/backoff.js';
import type { Outbox } from '../store/outbox.js';

/** The fields a caller gives; the journal adds deviceId, eventId, seq and at. */
export type DeploymentEventInput = DeploymentEvent extends infer E
  ? E extends DeploymentEvent
    ? Omit<E, 'deviceId' | 'eventId' | 'seq' | 'at'>
    : never
  : never;

export interface DeploymentJournal {
  /**
   * Durably records the event (synchronous=FULL) and asks the publisher to send it. Never throws
   * for a storage failure (a full disk, SQLITE_FULL): the event is then held in memory, in order,
   * and written with backoff, because neither losing it nor stopping the caller is acceptable.
   */
  emit(event: DeploymentEventInput): void;
  /** Retries the held events now (after space was freed, or on a new desired state). */
  retry(): void;
  /** Events waiting in memory for the outbox write to succeed. */
  pending(): number;
  /** The last events emitted in this process (newest last), for get-state/diagnostics. */
  recent(): DeploymentEvent[];
}

export const DEPLOYMENT_EVENT_KIND = 'deployment-event';

interface Held {
  input: DeploymentEventInput;
  eventId: string;
  at: string;
}

export interface CreateDeploymentJournalOptions {
  deviceId: string;
  outbox: Outbox;
  onEnqueued: () => void;
  logger: Logger;
  /** First retry delay of a failed outbox write; doubles up to `retryMaxMs` (with jitter). @default 500 */
  retryBaseMs?: number;
  /** @default 30000 */
  retryMaxMs?: number;
}

export function createDeploymentJournal({ deviceId, outbox, onEnqueued, logger, retryBaseMs = 500, retryMaxMs = 30_000 }: CreateDeploymentJournalOptions): DeploymentJournal {
  const recent: DeploymentEvent[] = [];
  // Events whose outbox write failed, oldest first. The outbox assigns seq at write time, so a
  // later event must never be written before a held one: it would get the lower seq.
  const held: Held[] = [];
  let attempt = 0;
  let timer: NodeJS.Timeout | undefined;

  function write(h: Held): DeploymentEvent {
    let event: DeploymentEvent | undefined;
    outbox.enqueue(DEPLOYMENT_EVENT_KIND, 'events', (seq) => {
      event = deploymentEventSchema.parse({ ...h.input, deviceId, eventId: h.eventId, seq, at: h.at });
      return encodePayload(deploymentEventSchema, event);
    });
    const e = event as unknown as DeploymentEvent;
    recent.push(e);
    if (recent.length > 100) recent.shift();
    logger.info({ event: { type: e.type, model: e.model, version: e.version, generation: e.generation, seq: e.seq } }, `deployment ${e.type}`);
    return e;
  }

  function drain(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    let wrote = 0;
    while (held.length > 0) {
      const h = held[0] as Held;
      try {
        write(h);
      } catch (err) {
        attempt++;
        const delay = backoffDelayMs(attempt, retryBaseMs, retryMaxMs);
        logger.error({ err, held: held.length, retryInMs: delay, event: { type: h.input.type, model: h.input.model, version: h.input.version } }, 'deployment event not yet written to the outbox; kept in memory');
        // unref: a held event must not keep a stopping agent alive; it is logged above.
        timer = setTimeout(drain, delay);
        timer.unref();
        break;
      }
      held.shift();
      wrote++;
    }
    if (held.length === 0) {
      if (attempt > 0) logger.info({ wrote }, 'held deployment events written to the outbox');
      attempt = 0;
    }
    if (wrote > 0) onEnqueued();
  }

  return {
    emit(input) {
      held.push({ input, eventId: randomUUID(), at: new Date().toISOString() });
      // While older events wait for a retry, a new one queues behind them instead of trying alone.
      if (!timer) drain();
    },
    retry() {
      if (held.length > 0) drain();
    },
    pending: () => held.length,
    recent: () => [...recent],
  };
}
