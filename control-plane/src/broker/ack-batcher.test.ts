import { describe, expect, it } from 'vitest';
import { ACK_MAX_SEQS, deliveryAckSchema, parsePayload, type DeliveryAck } from '@edgefleet/shared';
import { createAckBatcher } from './ack-batcher.js';

function recorder() {
  const sent: { deviceId: string; ack: DeliveryAck }[] = [];
  return { sent, publish: async (deviceId: string, payload: Buffer) => void sent.push({ deviceId, ack: parsePayload(deliveryAckSchema, payload) }) };
}

describe('ack batcher', () => {
  it('coalesces seqs per device and channel into one message, once each', async () => {
    const r = recorder();
    const acks = createAckBatcher({ publish: r.publish, delayMs: 60_000 });
    acks.add('a', 'events', 1);
    acks.add('a', 'events', 2);
    acks.add('a', 'events', 2);
    acks.add('a', 'telemetry', 3);
    acks.add('b', 'events', 7);
    expect(acks.pending()).toBe(4);
    await acks.flush();
    expect(r.sent).toEqual([
      { deviceId: 'a', ack: { channel: 'events', seqs: [1, 2] } },
      { deviceId: 'a', ack: { channel: 'telemetry', seqs: [3] } },
      { deviceId: 'b', ack: { channel: 'events', seqs: [7] } },
    ]);
    expect(acks.pending()).toBe(0);
  });

  it('flushes by itself after the delay', async () => {
    const r = recorder();
    const acks = createAckBatcher({ publish: r.publish, delayMs: 5 });
    acks.add('a', 'telemetry', 1);
    const deadline = Date.now() + 5000;
    while (r.sent.length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 5));
    expect(r.sent).toEqual([{ deviceId: 'a', ack: { channel: 'telemetry', seqs: [1] } }]);
  });

  it('splits a long list at the schema bound and reports a failed publish', async () => {
    const r = recorder();
    const errors: string[] = [];
    let fail = true;
    const acks = createAckBatcher({
      publish: async (deviceId, payload) => {
        if (fail) {
          fail = false;
          throw new Error('client disconnecting');
        }
        await r.publish(deviceId, payload);
      },
      onError: (_err, deviceId) => void errors.push(deviceId),
      delayMs: 60_000,
    });
    for (let seq = 0; seq < ACK_MAX_SEQS * 2 + 1; seq++) acks.add('a', 'telemetry', seq);
    await acks.flush();
    expect(errors).toEqual(['a']);
    expect(r.sent.map((s) => s.ack.seqs.length)).toEqual([ACK_MAX_SEQS, 1]);
  });
});
