import type { Logger } from 'pino';
import type { DevicePublishChannel } from '@edgefleet/shared';
import type { Outbox } from '../store/outbox.js';
import type { AckSource } from './ack-receiver.js';
import { createAckWindow, nextToSend } from './ack-window.js';
import type { MqttSession } from './session.js';

export interface OutboxPublisher {
  /** Publishes what is queued and fits the window (call after enqueue; connects and acks call it too). */
  flush(): void;
  /** Resolves when nothing of `kind` is queued or in flight, or after `ms`. */
  drained(ms: number): Promise<boolean>;
}

export interface OutboxPublisherOptions {
  outbox: Outbox;
  session: Pick<MqttSession, 'connected' | 'publish' | 'onConnect'>;
  /** The control plane's acks (createAckReceiver): the only thing that empties the outbox. */
  acks: AckSource;
  logger: Pick<Logger, 'warn' | 'info' | 'debug'>;
  /** Only this kind of entry (deployment events); @default every kind */
  kind?: string;
  /** Entries published and not yet acknowledged, at most. @default 64 */
  window?: number;
  /** Published again when the control plane has not acknowledged it in this time. @default 10000 */
  ackTimeoutMs?: number;
}

/**
 * Publishes a durable outbox over the session at QoS 1, oldest first, a window at a time. An entry
 * leaves the outbox only when the control plane acknowledges its seq (issue 10): a broker's PUBACK
 * is no proof of delivery, since a broker acks and drops what nobody is subscribed to (a control
 * plane still resubscribing after a broker restart). Unacknowledged entries go again after the ack
 * timeout and on every new connection; receivers de-duplicate by seq/eventId. Entries store the
 * channel name as their topic (the session builds the device topic).
 */
export function createOutboxPublisher(options: OutboxPublisherOptions): OutboxPublisher {
  const { outbox, session, logger, kind } = options;
  const inFlight = createAckWindow({
    limit: options.window ?? 64,
    ackTimeoutMs: options.ackTimeoutMs ?? 10_000,
    onExpired: (seqs) => {
      logger.info({ seqs: seqs.length, first: seqs[0] }, 'no ack from the control plane in time; publishing again');
      flush();
    },
  });
  let scheduled = false;
  const flushNow = (): void => {
    scheduled = false;
    if (!session.connected) return;
    let entries: ReturnType<Outbox['peek']>;
    try {
      entries = nextToSend(inFlight, (limit) => outbox.peek(limit, kind));
    } catch (err) {
      // A store error (disk full, I/O) must not escape a timer callback and kill the agent; the next connect, enqueue or ack flushes again.
      logger.warn({ err }, 'outbox read failed; will retry on the next flush');
      return;
    }
    for (const entry of entries) {
      inFlight.open(entry.seq);
      // PUBACK only means the broker has it: the entry stays in the window until the control plane's ack.
      session.publish(entry.topic as DevicePublishChannel, entry.payload, { qos: entry.qos }).catch((err: unknown) => {
        inFlight.close(entry.seq);
        logger.debug({ err, seq: entry.seq }, 'outbox publish not acknowledged by the broker; kept for the next connection');
      });
    }
  };
  function flush(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flushNow);
  }
  options.acks.onAck(({ seqs }) => {
    let freed = false;
    for (const seq of seqs) freed = inFlight.close(seq) || freed;
    if (freed) flush();
  });
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
