import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { artifactChunkRequestSchema } from './artifact.js';
import { commandRequestSchema, commandResultSchema } from './command.js';
import { ACK_MAX_SEQS, deliveryAckSchema } from './delivery-ack.js';
import { deploymentEventSchema } from './deployment-event.js';
import { desiredStateSchema } from './desired-state.js';
import { encodePayload, parsePayload } from './parse.js';
import { presenceSchema, reportedStateSchema } from './reported-state.js';
import { LATENCY_BUCKETS_MS, telemetryBatchSchema } from './telemetry.js';

const sha = 'e'.repeat(64);
const at = '2026-11-26T06:00:00.000Z';

const desired = {
  deviceId: 'cam-01',
  generation: 7,
  issuedAt: at,
  models: [
    {
      name: 'text-cls',
      version: '2.0.0',
      artifact: { sha256: sha, size: 1024, createdAt: at, signature: 'c2ln' },
      rolloutId: 'r-1',
      probation: { windowMs: 30_000, maxFailureRate: 0.1, minRequests: 10 },
      ep: { forbid: ['webgpu'] },
    },
  ],
};

const reported = {
  deviceId: 'cam-01',
  observedGeneration: 7,
  appliedGeneration: 6,
  agentVersion: '0.1.0',
  reportedAt: at,
  executionProviders: ['cpu'],
  models: [{ name: 'text-cls', installed: ['1.0.0', '2.0.0'], active: '1.0.0', target: '2.0.0', state: 'loading' }],
};

const telemetry = {
  deviceId: 'cam-01',
  seq: 42,
  sentAt: at,
  samples: [{ t: 1_764_136_800_000, cpu: 12.5, memUsed: 1e9, temps: { cpu: 45.5 } }],
  inference: [
    {
      model: 'text-cls', version: '1.0.0', ep: 'cpu', from: 1, to: 2, requests: 10, failures: { INFERENCE_FAILED: 1 },
      latency: new Array(LATENCY_BUCKETS_MS.length + 1).fill(0), latencySumMs: 20,
    },
  ],
};

type Case = [string, z.ZodType, unknown];

const valid: Case[] = [
  ['desired state', desiredStateSchema, desired],
  ['empty desired state', desiredStateSchema, { ...desired, models: [] }],
  ['reported state', reportedStateSchema, reported],
  ['presence', presenceSchema, { deviceId: 'cam-01', status: 'offline' }],
  ['queued event', deploymentEventSchema, { deviceId: 'cam-01', eventId: 'e1', seq: 1, at, generation: 7, model: 'text-cls', version: '2.0.0', type: 'queued' }],
  ['failed event', deploymentEventSchema, { deviceId: 'cam-01', eventId: 'e2', seq: 2, at, generation: 7, model: 'text-cls', version: '2.0.0', type: 'failed', error: { code: 'ARTIFACT_DIGEST_MISMATCH', message: 'x' } }],
  ['rolled-back event', deploymentEventSchema, { deviceId: 'cam-01', eventId: 'e3', seq: 3, at, generation: 7, model: 'text-cls', version: '2.0.0', type: 'rolled-back', to: '1.0.0', reason: { code: 'PROBATION_FAILED', message: 'p95 900ms > 300ms' }, metrics: { requests: 50, failures: 0, p95LatencyMs: 900 } }],
  ['telemetry batch', telemetryBatchSchema, telemetry],
  ['ping', commandRequestSchema, { id: 'c1', type: 'ping' }],
  ['rollback', commandRequestSchema, { id: 'c2', type: 'rollback', model: 'text-cls' }],
  ['set-log-level', commandRequestSchema, { id: 'c3', type: 'set-log-level', level: 'debug' }],
  ['command result', commandResultSchema, { id: 'c1', deviceId: 'cam-01', ok: true, at, result: { pong: true } }],
  ['chunk request', artifactChunkRequestSchema, { requestId: 'q', sha256: sha, offset: 0, length: 262144 }],
  ['events ack', deliveryAckSchema, { channel: 'events', seqs: [1, 2, 5] }],
  ['telemetry ack at the seq bound', deliveryAckSchema, { channel: 'telemetry', seqs: Array.from({ length: ACK_MAX_SEQS }, (_, i) => i) }],
];

const invalid: Case[] = [
  ['desired: negative generation', desiredStateSchema, { ...desired, generation: -1 }],
  ['desired: fractional generation', desiredStateSchema, { ...desired, generation: 1.5 }],
  ['desired: bad sha', desiredStateSchema, { ...desired, models: [{ ...desired.models[0], artifact: { ...desired.models[0]!.artifact, sha256: 'XYZ' } }] }],
  ['desired: duplicate model names', desiredStateSchema, { ...desired, models: [desired.models[0], desired.models[0]] }],
  ['desired: path traversal in name', desiredStateSchema, { ...desired, models: [{ ...desired.models[0], name: '../etc' }] }],
  ['desired: device id with wildcard', desiredStateSchema, { ...desired, deviceId: 'cam/#' }],
  ['desired: unknown EP', desiredStateSchema, { ...desired, models: [{ ...desired.models[0], ep: { pin: 'tpu' } }] }],
  ['desired: failure rate above 1', desiredStateSchema, { ...desired, models: [{ ...desired.models[0], probation: { maxFailureRate: 2 } }] }],
  ['desired: not an ISO time', desiredStateSchema, { ...desired, issuedAt: 'yesterday' }],
  ['reported: unknown model state', reportedStateSchema, { ...reported, models: [{ ...reported.models[0], state: 'dancing' }] }],
  ['reported: missing models', reportedStateSchema, { ...reported, models: undefined }],
  ['presence: unknown status', presenceSchema, { deviceId: 'a', status: 'maybe' }],
  ['event: unknown type', deploymentEventSchema, { deviceId: 'a', eventId: 'e', seq: 1, at, generation: 1, model: 'm', version: '1', type: 'exploded' }],
  ['event: failed without error', deploymentEventSchema, { deviceId: 'a', eventId: 'e', seq: 1, at, generation: 1, model: 'm', version: '1', type: 'failed' }],
  ['event: error with unknown code', deploymentEventSchema, { deviceId: 'a', eventId: 'e', seq: 1, at, generation: 1, model: 'm', version: '1', type: 'failed', error: { code: 'OOPS', message: 'x' } }],
  ['telemetry: histogram of wrong length', telemetryBatchSchema, { ...telemetry, inference: [{ ...telemetry.inference[0], latency: [1, 2] }] }],
  ['telemetry: cpu over 100', telemetryBatchSchema, { ...telemetry, samples: [{ t: 1, cpu: 150 }] }],
  ['telemetry: negative seq', telemetryBatchSchema, { ...telemetry, seq: -1 }],
  ['command: unknown type', commandRequestSchema, { id: 'c', type: 'format-disk' }],
  ['command: rollback without model', commandRequestSchema, { id: 'c', type: 'rollback' }],
  ['command: empty id', commandRequestSchema, { id: '', type: 'ping' }],
  ['command: bad log level', commandRequestSchema, { id: 'c', type: 'set-log-level', level: 'loud' }],
  ['chunk request: over 256 KiB', artifactChunkRequestSchema, { requestId: 'q', sha256: sha, offset: 0, length: 262145 }],
  ['chunk request: negative offset', artifactChunkRequestSchema, { requestId: 'q', sha256: sha, offset: -1, length: 1 }],
  ['ack: a channel without end-to-end acks', deliveryAckSchema, { channel: 'reported', seqs: [1] }],
  ['ack: no seqs', deliveryAckSchema, { channel: 'events', seqs: [] }],
  ['ack: more seqs than one message may carry', deliveryAckSchema, { channel: 'telemetry', seqs: Array.from({ length: ACK_MAX_SEQS + 1 }, (_, i) => i) }],
  ['ack: fractional seq', deliveryAckSchema, { channel: 'events', seqs: [1.5] }],
  ['ack: negative seq', deliveryAckSchema, { channel: 'events', seqs: [-1] }],
];

describe('MQTT contract schemas', () => {
  it.each(valid)('accepts a valid %s', (_name, schema, value) => {
    const result = schema.safeParse(value);
    expect(result.error?.issues).toBeUndefined();
  });

  it.each(invalid)('rejects %s', (_name, schema, value) => {
    expect(schema.safeParse(value).success).toBe(false);
  });

  it('strips unknown fields so newer peers can add optional ones', () => {
    const parsed = desiredStateSchema.parse({ ...desired, futureField: 1, models: [{ ...desired.models[0], hint: 'x' }] });
    expect(parsed).not.toHaveProperty('futureField');
    expect(parsed.models[0]).not.toHaveProperty('hint');
  });
});

describe('parsePayload', () => {
  it('parses valid JSON bytes', () => {
    expect(parsePayload(presenceSchema, Buffer.from(JSON.stringify({ deviceId: 'a', status: 'online' })))).toEqual({ deviceId: 'a', status: 'online' });
  });

  it('names every bad field in one PAYLOAD_INVALID error', () => {
    try {
      parsePayload(desiredStateSchema, JSON.stringify({ deviceId: 'a', generation: 'x' }), 'desired state');
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'PAYLOAD_INVALID' });
      const message = (err as Error).message;
      expect(message).toContain('generation');
      expect(message).toContain('issuedAt');
      expect(message).toContain('models');
    }
  });

  it.each([
    ['binary garbage', Buffer.from([0xff, 0xfe, 0x00, 0x01])],
    ['truncated JSON', Buffer.from('{"deviceId":')],
    ['a JSON string', Buffer.from('"hello"')],
    ['null', Buffer.from('null')],
  ])('rejects %s with PAYLOAD_INVALID', (_name, payload) => {
    expect(() => parsePayload(presenceSchema, payload)).toThrow(expect.objectContaining({ code: 'PAYLOAD_INVALID' }));
  });

  it('rejects oversize payloads before parsing', () => {
    expect(() => parsePayload(presenceSchema, Buffer.alloc(100, 0x20), 'presence', 10)).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
  });

  it('encodePayload refuses to send what the peer would reject', () => {
    expect(() => encodePayload(presenceSchema, { deviceId: 'a', status: 'maybe' } as never)).toThrow();
    expect(JSON.parse(encodePayload(presenceSchema, { deviceId: 'a', status: 'online' }).toString())).toEqual({ deviceId: 'a', status: 'online' });
  });
});
