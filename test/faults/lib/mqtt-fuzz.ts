/**
 * Deterministic MQTT payload fuzzing: structured mutations of valid contract payloads (built from
 * @edgefleet/shared's schemas) plus binary garbage, huge strings, wrong types, prototype keys and
 * other devices' ids. The same seed yields the same sequence; each message names its mutation.
 */
import {
  commandRequestSchema,
  deploymentEventSchema,
  deliveryAckSchema,
  desiredStateSchema,
  encodeArtifactChunk,
  encodePayload,
  MAX_CHUNK_BYTES,
  MAX_JSON_PAYLOAD_BYTES,
  presenceSchema,
  reportedStateSchema,
  telemetryBatchSchema,
  commandResultSchema,
  artifactChunkRequestSchema,
  LATENCY_BUCKETS_MS,
  type DeviceChannel,
} from '@edgefleet/shared';
import { createPrng, type Prng } from './prng.js';

export type FuzzTarget = 'agent' | 'control-plane';

/** Channels each side receives: the agent gets cp→device channels, the control plane device→cp ones. */
export const FUZZ_CHANNELS: Record<FuzzTarget, readonly DeviceChannel[]> = {
  agent: ['desired', 'commands', 'artifact-chunks', 'acks'],
  'control-plane': ['reported', 'presence', 'events', 'telemetry', 'command-results', 'artifact-requests'],
};

export interface FuzzedMessage {
  index: number;
  channel: DeviceChannel;
  payload: Buffer;
  /** Which mutation produced it, for the counts and for replaying a failure. */
  mutation: string;
}

export interface MqttFuzzOptions {
  seed: number;
  count: number;
  target: FuzzTarget;
  /** The device whose topics are used. */
  deviceId: string;
  /** Another real device, whose id is planted in payloads. */
  otherDeviceId: string;
  /** Skip payloads over this size (the 4 MiB + 1 byte oversize case included by default). */
  maxPayloadBytes?: number;
}

const HEX64 = 'ab'.repeat(32);
const NOW = '2026-01-01T00:00:00.000Z';

/** One valid payload per channel, checked against its schema (encodePayload throws otherwise). */
export function validPayload(channel: DeviceChannel, deviceId: string, n = 1): unknown {
  switch (channel) {
    case 'desired':
      return JSON.parse(
        encodePayload(desiredStateSchema, {
          deviceId,
          generation: n,
          issuedAt: NOW,
          models: [{ name: 'fuzz-model', version: `1.0.${n}`, artifact: { sha256: HEX64, size: 1024, createdAt: NOW, signature: 'c2lnbmF0dXJl' } }],
        }).toString(),
      );
    case 'commands':
      return JSON.parse(encodePayload(commandRequestSchema, { id: `fuzz-${n}`, type: 'ping', issuedAt: NOW }).toString());
    case 'reported':
      return JSON.parse(
        encodePayload(reportedStateSchema, {
          deviceId,
          observedGeneration: n,
          appliedGeneration: n,
          agentVersion: '0.1.0',
          reportedAt: NOW,
          executionProviders: ['cpu'],
          models: [{ name: 'fuzz-model', installed: ['1.0.0'], active: '1.0.0', state: 'active', ep: 'cpu' }],
        }).toString(),
      );
    case 'presence':
      return JSON.parse(encodePayload(presenceSchema, { deviceId, status: 'online', at: NOW }).toString());
    case 'events':
      return JSON.parse(
        encodePayload(deploymentEventSchema, { deviceId, eventId: `fuzz-${n}`, seq: n, at: NOW, generation: 1, model: 'fuzz-model', version: '1.0.0', type: 'active', ep: 'cpu' }).toString(),
      );
    case 'telemetry':
      return JSON.parse(
        encodePayload(telemetryBatchSchema, {
          deviceId,
          seq: n,
          sentAt: NOW,
          samples: [{ t: 1_700_000_000_000, cpu: 12.5, memUsed: 1e8, memTotal: 4e9 }],
          inference: [
            { model: 'fuzz-model', version: '1.0.0', ep: 'cpu', from: 1, to: 2, requests: 3, failures: {}, latency: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0), latencySumMs: 0 },
          ],
        }).toString(),
      );
    case 'command-results':
      return JSON.parse(encodePayload(commandResultSchema, { id: `fuzz-${n}`, deviceId, ok: true, at: NOW }).toString());
    case 'artifact-requests':
      return JSON.parse(encodePayload(artifactChunkRequestSchema, { requestId: `fuzz-${n}`, sha256: HEX64, offset: 0, length: 1024 }).toString());
    case 'acks':
      return JSON.parse(encodePayload(deliveryAckSchema, { channel: 'events', seqs: [n] }).toString());
    case 'artifact-chunks':
      return { requestId: `fuzz-${n}`, sha256: HEX64, offset: 0, total: 1024 };
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Paths to every node of a JSON value, so a mutation can hit nested fields too. */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function setAt(root: Json, path: (string | number)[], replacement: Json | undefined): Json {
  if (path.length === 0) return replacement ?? null;
  const copy = structuredClone(root) as Record<string | number, Json>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  const last = path[path.length - 1] as string | number;
  if (replacement === undefined) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else node[last] = replacement;
  return copy;
}

function wrongValue(rng: Prng, otherDeviceId: string): Json {
  return rng.pick<() => Json>([
    () => null,
    () => rng.int(-1e9, 1e9),
    () => -1,
    () => 1e308,
    () => 2 ** 53 + 1,
    () => rng.next(),
    () => true,
    () => rng.string(rng.int(0, 40)),
    () => 'x'.repeat(rng.pick([4097, 70_000, 300_000])),
    () => [],
    () => [rng.string(3), 1, null],
    () => ({}),
    () => ({ nested: { deeper: [rng.string(5)] } }),
    () => otherDeviceId,
    () => '../../../../etc/passwd',
    () => 'edgefleet/v1/devices/+/desired',
    () => '#',
    () => '2026-13-45T99:99:99Z',
    () => '\u0000\u202e',
  ])();
}

function deepNesting(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

function jsonMutation(rng: Prng, base: Json, opts: MqttFuzzOptions): { payload: Buffer; mutation: string } {
  const all = paths(base).filter((p) => p.length > 0);
  const kind = rng.pick([
    'drop-field',
    'wrong-type',
    'wrong-type',
    'wrong-type',
    'other-device-id',
    'extra-fields',
    'proto-keys',
    'truncated-json',
    'not-an-object',
    'deep-nesting',
    'duplicate-keys',
    'multi-mutation',
  ] as const);
  const text = (v: Json): Buffer => Buffer.from(JSON.stringify(v));
  switch (kind) {
    case 'drop-field':
      return { payload: text(setAt(base, rng.pick(all), undefined)), mutation: kind };
    case 'wrong-type':
      return { payload: text(setAt(base, rng.pick(all), wrongValue(rng, opts.otherDeviceId))), mutation: kind };
    case 'other-device-id': {
      const hit = all.filter((p) => p[p.length - 1] === 'deviceId');
      return { payload: text(hit.length ? setAt(base, rng.pick(hit), opts.otherDeviceId) : setAt(base, ['deviceId'], opts.otherDeviceId)), mutation: kind };
    }
    case 'extra-fields':
      return { payload: text({ ...(base as Record<string, Json>), [rng.string(8)]: wrongValue(rng, opts.otherDeviceId) }), mutation: kind };
    case 'proto-keys':
      // A JSON text with __proto__/constructor keys: JSON.parse makes own properties, a naive merge pollutes.
      return {
        payload: Buffer.from(JSON.stringify(base).replace(/^\{/, '{"__proto__":{"polluted":true,"isAdmin":true},"constructor":{"prototype":{"polluted":true}},')),
        mutation: kind,
      };
    case 'truncated-json': {
      const full = text(base);
      return { payload: full.subarray(0, rng.int(0, Math.max(0, full.length - 1))), mutation: kind };
    }
    case 'not-an-object':
      return { payload: Buffer.from(rng.pick(['null', '[]', '42', '"text"', 'true', '{}', 'NaN', 'undefined', ''])), mutation: kind };
    case 'deep-nesting':
      return { payload: Buffer.from(`{"deviceId":${JSON.stringify(opts.deviceId)},"models":${deepNesting(rng.pick([100, 10_000, 100_000]))}}`), mutation: kind };
    case 'duplicate-keys':
      return { payload: Buffer.from(JSON.stringify(base).replace(/^\{/, `{"deviceId":${JSON.stringify(opts.otherDeviceId)},`)), mutation: kind };
    case 'multi-mutation': {
      let v = base;
      for (let i = rng.int(2, 5); i > 0; i -= 1) {
        const ps = paths(v).filter((p) => p.length > 0);
        if (ps.length === 0) break;
        v = setAt(v, rng.pick(ps), rng.bool(0.3) ? undefined : wrongValue(rng, opts.otherDeviceId));
      }
      return { payload: text(v), mutation: kind };
    }
  }
}

function chunkFrameMutation(rng: Prng, header: Record<string, Json>): { payload: Buffer; mutation: string } {
  const kind = rng.pick(['short-frame', 'header-length-huge', 'header-not-json', 'header-wrong-fields', 'data-too-large', 'unknown-request', 'error-frame'] as const);
  switch (kind) {
    case 'short-frame':
      return { payload: rng.bytes(rng.int(0, 3)), mutation: `chunk-${kind}` };
    case 'header-length-huge': {
      const b = Buffer.alloc(8);
      b.writeUInt32BE(rng.pick([4097, 0xffffffff, 1 << 20]), 0);
      return { payload: b, mutation: `chunk-${kind}` };
    }
    case 'header-not-json': {
      const junk = rng.bytes(rng.int(1, 200));
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(junk.length, 0);
      return { payload: Buffer.concat([prefix, junk, rng.bytes(16)]), mutation: `chunk-${kind}` };
    }
    case 'header-wrong-fields': {
      const json = Buffer.from(JSON.stringify({ ...header, offset: rng.pick([-1, 'zero', null, 1e20]), sha256: rng.pick(['nothex', 42, HEX64.toUpperCase()]) }));
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(json.length, 0);
      return { payload: Buffer.concat([prefix, json]), mutation: `chunk-${kind}` };
    }
    case 'data-too-large':
      return { payload: encodeArtifactChunk(header as never, Buffer.alloc(MAX_CHUNK_BYTES + 1)), mutation: `chunk-${kind}` };
    case 'unknown-request':
      return { payload: encodeArtifactChunk({ requestId: `unsolicited-${rng.int(0, 1e6)}`, sha256: HEX64, offset: rng.int(0, 4096), total: 4096 }, rng.bytes(rng.int(0, 4096))), mutation: `chunk-${kind}` };
    case 'error-frame':
      return {
        payload: encodeArtifactChunk({ requestId: `unsolicited-${rng.int(0, 1e6)}`, sha256: HEX64, offset: 0, total: 0, error: { code: 'ARTIFACT_NOT_FOUND', message: 'fuzz' } }),
        mutation: `chunk-${kind}`,
      };
  }
}

/** Yields `count` fuzzed messages for the target's inbound channels. */
export function* mqttFuzzMessages(opts: MqttFuzzOptions): Generator<FuzzedMessage> {
  const rng = createPrng(opts.seed);
  const channels = FUZZ_CHANNELS[opts.target];
  const limit = opts.maxPayloadBytes ?? MAX_JSON_PAYLOAD_BYTES + 1;
  let index = 0;
  while (index < opts.count) {
    const channel = rng.pick(channels);
    const base = validPayload(channel, opts.deviceId, index + 1) as Json;
    let out: { payload: Buffer; mutation: string };
    const roll = rng.next();
    if (roll < 0.08) out = { payload: rng.bytes(rng.int(1, 2048)), mutation: 'binary-garbage' };
    else if (roll < 0.09) out = { payload: Buffer.alloc(0), mutation: 'empty' };
    else if (roll < 0.092) out = { payload: Buffer.alloc(MAX_JSON_PAYLOAD_BYTES + 1, 0x20), mutation: 'oversize' };
    else if (channel === 'artifact-chunks') out = chunkFrameMutation(rng, base as Record<string, Json>);
    else out = jsonMutation(rng, base, opts);
    if (out.payload.length > limit) continue;
    yield { index, channel, payload: out.payload, mutation: out.mutation };
    index += 1;
  }
}

/** Counts per mutation kind, for the case report. */
export function countMutations(messages: Iterable<Pick<FuzzedMessage, 'mutation'>>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of messages) counts[m.mutation] = (counts[m.mutation] ?? 0) + 1;
  return counts;
}
