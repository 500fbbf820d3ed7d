import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { deliveryAckSchema, desiredStateSchema, encodeArtifactChunk, encodePayload, MAX_JSON_PAYLOAD_BYTES } from '@edgefleet/shared';
import { createInboundDispatcher, type InboundRoutes } from './inbound-dispatcher.js';
import type { MessageHandler } from './session.js';

function rig() {
  const handlers = new Map<string, MessageHandler>();
  const routed: { route: keyof InboundRoutes; value: unknown }[] = [];
  const warnings: { channel: string; msg: string; code?: string }[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line) as never) });
  const record =
    (route: keyof InboundRoutes) =>
    (value?: unknown): void =>
      void routed.push({ route, value });
  const dispatcher = createInboundDispatcher({
    session: { on: (channel, handler) => void handlers.set(channel, handler) },
    deviceId: 'dev-1',
    logger,
    routes: { desired: record('desired'), command: record('command'), invalidCommand: record('invalidCommand'), chunk: record('chunk'), invalidChunk: record('invalidChunk'), ack: record('ack') },
  });
  const deliver = (channel: string, payload: Buffer | string): void => handlers.get(channel)!(Buffer.isBuffer(payload) ? payload : Buffer.from(payload), `edgefleet/v1/devices/dev-1/${channel}`);
  return { dispatcher, handlers, routed, warnings, deliver };
}

const desired = { deviceId: 'dev-1', generation: 3, issuedAt: '2026-12-01T00:00:00.000Z', models: [] };

describe('inbound dispatcher', () => {
  it('subscribes a handler for every channel the agent subscribes to', () => {
    expect([...rig().handlers.keys()].sort()).toEqual(['acks', 'artifact-chunks', 'commands', 'desired']);
  });

  it('routes each valid payload once, as a typed value', () => {
    const r = rig();
    r.deliver('desired', encodePayload(desiredStateSchema, desired));
    r.deliver('commands', JSON.stringify({ id: 'c1', type: 'ping' }));
    r.deliver('acks', encodePayload(deliveryAckSchema, { channel: 'events', seqs: [4, 5] }));
    r.deliver('artifact-chunks', encodeArtifactChunk({ requestId: 'q1', sha256: 'a'.repeat(64), offset: 0, total: 2 }, Buffer.from([7, 8])));
    expect(r.routed.map((x) => x.route)).toEqual(['desired', 'command', 'ack', 'chunk']);
    expect(r.routed[0]!.value).toMatchObject({ generation: 3 });
    expect(r.routed[1]!.value).toEqual({ id: 'c1', type: 'ping' });
    expect(r.routed[2]!.value).toEqual({ channel: 'events', seqs: [4, 5] });
    expect((r.routed[3]!.value as { data: Buffer }).data).toEqual(Buffer.from([7, 8]));
    expect(r.dispatcher.counts).toEqual({
      desired: { accepted: 1, rejected: 0 },
      commands: { accepted: 1, rejected: 0 },
      'artifact-chunks': { accepted: 1, rejected: 0 },
      acks: { accepted: 1, rejected: 0 },
    });
    expect(r.warnings).toEqual([]);
  });

  it.each([
    ['desired', '{not json', 'rejected a desired state'],
    ['desired', JSON.stringify({ ...desired, generation: 'three' }), 'rejected a desired state'],
    ['desired', JSON.stringify({ ...desired, deviceId: 'someone-else' }), 'rejected a desired state'],
    ['acks', JSON.stringify({ channel: 'events', seqs: [-1, 'x'] }), 'rejected an ack'],
    ['acks', JSON.stringify({ channel: 'reported', seqs: [1] }), 'rejected an ack'],
    ['acks', 'null', 'rejected an ack'],
    ['artifact-chunks', Buffer.from([0, 0, 0, 50, 1]), 'dropped an undecodable artifact chunk'],
    ['commands', '{"broken', 'dropped a command that is not JSON (no id to answer)'],
    ['commands', JSON.stringify({ type: 'ping' }), 'dropped an invalid command without an id'],
    ['commands', JSON.stringify({ id: 'x', type: 'ping', pad: 'x'.repeat(MAX_JSON_PAYLOAD_BYTES) }), 'dropped an oversized command'],
  ] as const)('%s %s: logged with its reason, counted, dropped', (channel, payload, msg) => {
    const r = rig();
    expect(() => r.deliver(channel, payload)).not.toThrow();
    expect(r.routed.filter((x) => x.route !== 'invalidChunk')).toEqual([]);
    expect(r.warnings).toMatchObject([{ channel, msg }]);
    expect(r.dispatcher.counts[channel]).toEqual({ accepted: 0, rejected: 1 });
  });

  it('tells the fetcher about an undecodable chunk', () => {
    const r = rig();
    r.deliver('artifact-chunks', Buffer.alloc(0));
    expect(r.routed).toEqual([{ route: 'invalidChunk', value: undefined }]);
  });

  it('hands an invalid command with an id on to be answered: COMMAND_UNKNOWN for an unknown type, PAYLOAD_INVALID otherwise', () => {
    const r = rig();
    r.deliver('commands', JSON.stringify({ id: 'c2', type: 'format-disk' }));
    r.deliver('commands', JSON.stringify({ id: 'c3', type: 'rollback', model: 7 }));
    expect(r.routed).toMatchObject([
      { route: 'invalidCommand', value: { id: 'c2', type: 'format-disk', error: { code: 'COMMAND_UNKNOWN' } } },
      { route: 'invalidCommand', value: { id: 'c3', type: 'rollback', error: { code: 'PAYLOAD_INVALID' } } },
    ]);
    expect(r.dispatcher.counts.commands).toEqual({ accepted: 0, rejected: 2 });
  });

  it('ignores an empty payload on desired (a cleared retained message)', () => {
    const r = rig();
    r.deliver('desired', Buffer.alloc(0));
    expect(r.routed).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.dispatcher.counts.desired).toEqual({ accepted: 0, rejected: 0 });
  });
});
