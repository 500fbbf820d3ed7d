import { z } from 'zod';

/**
 * The device → control plane channels whose messages come from the agent's durable outbox and are
 * acknowledged end to end: the agent deletes an outbox entry only when the control plane names its
 * seq on the device's `acks` channel, after its handlers have stored the message. A broker's PUBACK
 * only says the broker took it, and a broker drops what nobody is subscribed to (issue 10).
 */
export const ACKED_CHANNELS = ['events', 'telemetry'] as const;
export type AckedChannel = (typeof ACKED_CHANNELS)[number];

/** Seqs in one ack message; the control plane splits a longer list into several messages. */
export const ACK_MAX_SEQS = 1000;

/** Control plane → device, QoS 1, not retained: these outbox seqs of `channel` are stored. */
export const deliveryAckSchema = z.object({
  channel: z.enum(ACKED_CHANNELS),
  seqs: z.array(z.number().int().nonnegative()).min(1).max(ACK_MAX_SEQS),
});
export type DeliveryAck = z.infer<typeof deliveryAckSchema>;

export function isAckedChannel(channel: string): channel is AckedChannel {
  return (ACKED_CHANNELS as readonly string[]).includes(channel);
}
