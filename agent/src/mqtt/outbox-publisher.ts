import type { Logger } from 'pino';
import type { DevicePublishChannel } from '@edgefleet/shared';
import type { Outbox } from '../store/outbox.js';
import type { MqttSession } from './session.js';

export interface OutboxPublisher {
  /** Publishes what is queued (call after enqueue and on connect); entries leave the outbox on PUBACK. */
  flush(): void;
  /** Resolves when nothing of `kind` is queued or in flight, or after `ms`. */
  drained(ms: number): Promise<boolean>;
}

/**
 * Publishes a durable outbox over the session at QoS 1, oldest first, deleting each entry only on
 * PUBACK. Entries store the channel name as their topic (the session builds the device topic).
 */
export function createOutboxPublisher({ outbox, session, logger, kind }: { outbox: Outbox; session: MqttSession; logger: Logger; kind?: string }): OutboxPublisher {
  const inFlight = new Set<number>();
  let scheduled = false;
  const flushNow = (): void => {
    scheduled = false;
    if (!session.connected) return;
    let entries: ReturnType<Outbox['peek']>;
    try {
      entries = outbox.peek(100, kind);
    } catch (err) {
      // A store error (disk full, I/O) must not escape a timer callback and kill the agent; the next connect or enqueue flushes again.
      logger.warn({ err }, 'outbox read failed; will retry on the next flush');
      return;
    }
    for (const entry of entries) {
      if (inFlight.has(entry.seq)) continue;
      inFlight.add(entry.seq);
      session.publish(entry.topic as DevicePublishChannel, entry.payload, { qos: entry.qos }).then(
        () => {
          inFlight.delete(entry.seq);
          try {
            outbox.ack(entry.seq);
          } catch (err) {
            // Keeping the entry only means it is published again: QoS 1 receivers de-duplicate by seq/eventId.
            logger.warn({ err, seq: entry.seq }, 'outbox ack could not be written; the entry will be sent again');
            return;
          }
          if (inFlight.size === 0) flush();
        },
        (err: unknown) => {
          inFlight.delete(entry.seq);
          logger.debug({ err, seq: entry.seq }, 'outbox publish not acknowledged; kept for the next connection');
        },
      );
    }
  };
  function flush(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flushNow);
  }
  session.onConnect(() => {
    inFlight.clear();
    flush();
  });
  return {
    flush,
    async drained(ms) {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        if (outbox.size(kind) === 0) return true;
        await new Promise((r) => setTimeout(r, 25));
      }
      return outbox.size(kind) === 0;
    },
  };
}
