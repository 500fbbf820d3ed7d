import { ACK_MAX_SEQS, deliveryAckSchema, encodePayload, type AckedChannel } from '@edgefleet/shared';

/**
 * Coalesces the control plane's end-to-end acks (issue 10): every seq stored within `delayMs` for one
 * device and channel goes out as one `acks` message (split at ACK_MAX_SEQS), so a device draining a
 * backlog gets one ack per window instead of one per message.
 */
export interface AckBatcher {
  add(deviceId: string, channel: AckedChannel, seq: number): void;
  /** Publishes everything pending now (before the bus closes). */
  flush(): Promise<void>;
  /** Seqs waiting for the next flush. */
  pending(): number;
}

export interface AckBatcherOptions {
  /** Publishes one encoded ack message to a device's `acks` channel. */
  publish(deviceId: string, payload: Buffer): Promise<void>;
  onError?(err: unknown, deviceId: string): void;
  /** @default 10 */
  delayMs?: number;
}

export function createAckBatcher(options: AckBatcherOptions): AckBatcher {
  const delayMs = options.delayMs ?? 10;
  let pending = new Map<string, Map<AckedChannel, Set<number>>>();
  let count = 0;
  let timer: NodeJS.Timeout | undefined;

  async function flush(): Promise<void> {
    clearTimeout(timer);
    timer = undefined;
    const batch = pending;
    pending = new Map();
    count = 0;
    const sends: Promise<void>[] = [];
    for (const [deviceId, channels] of batch) {
      for (const [channel, set] of channels) {
        const seqs = [...set];
        for (let i = 0; i < seqs.length; i += ACK_MAX_SEQS) {
          const payload = encodePayload(deliveryAckSchema, { channel, seqs: seqs.slice(i, i + ACK_MAX_SEQS) });
          // A lost ack costs one redelivery after the device's ack timeout, which de-duplication absorbs.
          sends.push(options.publish(deviceId, payload).catch((err: unknown) => options.onError?.(err, deviceId)));
        }
      }
    }
    await Promise.all(sends);
  }

  return {
    add(deviceId, channel, seq) {
      let channels = pending.get(deviceId);
      if (!channels) pending.set(deviceId, (channels = new Map()));
      let seqs = channels.get(channel);
      if (!seqs) channels.set(channel, (seqs = new Set()));
      if (!seqs.has(seq)) count += 1;
      seqs.add(seq);
      timer ??= setTimeout(() => void flush(), delayMs);
    },
    flush,
    pending: () => count,
  };
}
