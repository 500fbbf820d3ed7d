/**
 * Fault case: 10,000 fuzzed payloads per side through the contract parsers both agent and control
 * plane use where MQTT data enters (`parsePayload` with each channel's schema, `decodeArtifactChunk`).
 * Every payload must be either accepted as a schema-valid value or refused with a coded
 * EdgefleetError (PAYLOAD_INVALID / PAYLOAD_TOO_LARGE): never a bare exception, never pollution.
 */
import { describe, expect, it } from 'vitest';
import { CHANNEL_SCHEMAS, decodeArtifactChunk, EdgefleetError, parsePayload, type DeviceChannel } from '@edgefleet/shared';
import { countMutations, mqttFuzzMessages, validPayload, FUZZ_CHANNELS, type FuzzTarget } from './lib/mqtt-fuzz.js';
import { faultsLong, recordFaultCase } from './lib/results.js';

function parseAtEdge(channel: DeviceChannel, payload: Buffer): unknown {
  if (channel === 'artifact-chunks') return decodeArtifactChunk(payload);
  return parsePayload(CHANNEL_SCHEMAS[channel], payload, channel);
}

describe('fuzzed MQTT payloads through the contract parsers', () => {
  it('the generator is deterministic and its bases are valid contract payloads', () => {
    const a = [...mqttFuzzMessages({ seed: 7, count: 300, target: 'agent', deviceId: 'dev-a', otherDeviceId: 'dev-b' })];
    const b = [...mqttFuzzMessages({ seed: 7, count: 300, target: 'agent', deviceId: 'dev-a', otherDeviceId: 'dev-b' })];
    expect(a.map((m) => m.payload.toString('base64'))).toEqual(b.map((m) => m.payload.toString('base64')));
    for (const target of ['agent', 'control-plane'] as FuzzTarget[]) {
      for (const channel of FUZZ_CHANNELS[target]) {
        if (channel === 'artifact-chunks') continue;
        expect(() => parsePayload(CHANNEL_SCHEMAS[channel], Buffer.from(JSON.stringify(validPayload(channel, 'dev-a'))), channel)).not.toThrow();
      }
    }
  });

  it('10,000 per side: accepted or refused with a coded error, nothing else', () => {
    const started = Date.now();
    const count = faultsLong() ? 100_000 : 10_000;
    const counts: Record<string, number> = { payloads: 0, accepted: 0, refusedCoded: 0, uncodedErrors: 0, prototypePolluted: 0 };
    const uncoded: string[] = [];
    const mutations: Record<string, number> = {};
    for (const target of ['agent', 'control-plane'] as FuzzTarget[]) {
      const messages = [...mqttFuzzMessages({ seed: 20261126, count, target, deviceId: 'dev-a', otherDeviceId: 'dev-b' })];
      Object.entries(countMutations(messages)).forEach(([k, v]) => (mutations[k] = (mutations[k] ?? 0) + v));
      for (const m of messages) {
        counts.payloads! += 1;
        try {
          parseAtEdge(m.channel, m.payload);
          counts.accepted! += 1;
        } catch (err) {
          if (err instanceof EdgefleetError && (err.code === 'PAYLOAD_INVALID' || err.code === 'PAYLOAD_TOO_LARGE')) counts.refusedCoded! += 1;
          else {
            counts.uncodedErrors! += 1;
            if (uncoded.length < 5) uncoded.push(`${target}#${m.index} ${m.channel} ${m.mutation}: ${String(err)}`);
          }
        }
      }
    }
    if ((({}) as Record<string, unknown>).polluted !== undefined || (({}) as Record<string, unknown>).isAdmin !== undefined) counts.prototypePolluted = 1;
    recordFaultCase(
      'fuzz-contract-parsers',
      {
        title: `${(2 * count).toLocaleString('en-US')} fuzzed MQTT payloads through the shared contract parsers`,
        counts: { ...counts, ...Object.fromEntries(Object.entries(mutations).map(([k, v]) => [`mutation ${k}`, v])) },
        goals: [
          { name: 'uncoded exceptions', value: counts.uncodedErrors!, target: '= 0', met: counts.uncodedErrors === 0 },
          { name: 'prototype pollution', value: counts.prototypePolluted!, target: '= 0', met: counts.prototypePolluted === 0 },
        ],
        notes: uncoded.length ? [`First uncoded errors: ${uncoded.join(' | ')}`] : [],
      },
      started,
    );
    expect(uncoded).toEqual([]);
    expect(counts.prototypePolluted).toBe(0);
    expect(counts.refusedCoded).toBeGreaterThan(count);
  });
});
