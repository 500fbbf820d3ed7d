import type { Logger } from 'pino';
import { deliveryAckSchema, parsePayload, toEdgefleetError, type AckedChannel } from '@edgefleet/shared';
import type { Outbox } from '../store/outbox.js';
import type { MqttSession } from './session.js';

export interface DeliveredAck {
  channel: AckedChannel;
  /** The acknowledged seqs that were in the outbox and are now removed from it. */
  seqs: number[];
}

/** Where publishers learn that the control plane stored what they sent. */
export interface AckSource {
  /** Returns a function that removes the listener. */
  onAck(listener: (ack: DeliveredAck) => void): () => void;
}

/**
 * The agent's end of the `acks` channel (issue 10): an outbox entry leaves the outbox only when the
 * control plane names its seq, on the channel the entry was published on. A seq the outbox does not
 * hold on that channel (already acknowledged, dropped at the telemetry cap, or simply wrong) is
 * ignored. Outbox entries store their channel as their topic.
 */
export function createAckReceiver({ session, outbox, logger }: { session: Pick<MqttSession, 'on'>; outbox: Pick<Outbox, 'removeAcked'>; logger: Pick<Logger, 'warn' | 'debug'> }): AckSource {
  const listeners = new Set<(ack: DeliveredAck) => void>();
  session.on('acks', (payload) => {
    let ack;
    try {
      ack = parsePayload(deliveryAckSchema, payload, 'ack');
    } catch (err) {
      logger.warn({ code: toEdgefleetError(err).code, err: toEdgefleetError(err).message.slice(0, 500) }, 'rejected an ack');
      return;
    }
    let seqs: number[];
    try {
      seqs = outbox.removeAcked(ack.channel, ack.seqs);
    } catch (err) {
      // Disk full or I/O: the entries stay, are sent again after the ack timeout and acked again.
      logger.warn({ err, channel: ack.channel, seqs: ack.seqs.length }, 'acknowledged outbox entries could not be removed');
      return;
    }
    if (seqs.length < ack.seqs.length) logger.debug({ channel: ack.channel, unknown: ack.seqs.length - seqs.length }, 'ignored acks for seqs not in the outbox');
    if (seqs.length === 0) return;
    for (const l of listeners) l({ channel: ack.channel, seqs });
  });
  return {
    onAck(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
