/**
 * Fault case: 10,000 malformed gRPC calls (100,000 long) at a real agent's gRPC listener while it
 * serves a model: random bytes, fields with the wrong wire types, truncated messages and raw
 * contents, shapes that overflow, 100 MB claims (in the frame's length prefix and inside a
 * message), broken frames (compressed without an encoding, a length longer than the data, two
 * messages on a unary call), bit flips, unknown datatypes and methods. Every call must end with a
 * gRPC status (none a crash or a reset), and well-formed requests after them must all be answered.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAgentBuilt, spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { grpcClients, type Json } from '../helpers/grpc-clients.js';
import { freePort } from '../helpers/ports.js';
import { tmpDataDir, type TmpDir } from '../helpers/tmp-dir.js';
import { startAgentRig, type AgentRig } from './lib/agent-rig.js';
import { grpcConnection, grpcFuzzCases, type GrpcFuzzKind } from './lib/grpc-fuzz.js';
import { createPrng } from './lib/prng.js';
import { faultsLong, recordFaultCase } from './lib/results.js';

const COUNT = faultsLong() ? 100_000 : 10_000;
const MAX_BODY = 1024 * 1024;
const WELL_FORMED = 50;

let rig: AgentRig;
let dir: TmpDir;
let agent: AgentProcess | undefined;

beforeAll(async () => {
  await ensureAgentBuilt();
  rig = await startAgentRig();
  dir = await tmpDataDir('fault-grpc-agent-');
});

afterAll(async () => {
  await agent?.stop().catch(() => undefined);
  await rig?.close();
  await dir?.cleanup();
});

describe('malformed gRPC calls at the agent', () => {
  it(`${COUNT.toLocaleString('en-US')} malformed frames and messages: each ends with a gRPC status, no crash, well-formed calls answered after`, async () => {
    const started = Date.now();
    const deviceId = 'fuzz-grpc-agent';
    const [apiPort, grpcPort] = [await freePort(), await freePort()];
    const v1 = rig.addModelVersion('adder', '1.0.1', 1);
    agent = await spawnAgent({ deviceId, brokerUrl: rig.broker.url, fleetPublicKey: rig.keys.publicKeyPem, dataDir: dir.path, apiPort, config: { api: { port: apiPort, maxBodyBytes: MAX_BODY }, inference: { grpcPort } } });
    const g = await rig.desire(deviceId, [v1]);
    await rig.waitReport(deviceId, (r) => r.appliedGeneration >= g && r.models.some((m) => m.active === v1.version), 60_000);
    const address = `127.0.0.1:${grpcPort}`;

    const connection = grpcConnection(address);
    const codes: Record<string, number> = {};
    const byKind: Partial<Record<GrpcFuzzKind, number>> = {};
    const noStatus: Partial<Record<GrpcFuzzKind, number>> = {};
    let unanswered = 0;
    // A compressed flag without a known grpc-encoding is INTERNAL by the gRPC protocol (grpc-js answers it before the agent sees the call).
    let compressedInternal = 0;
    const offenders: string[] = [];
    const cases = [...grpcFuzzCases(createPrng(1818), COUNT, 'adder')];
    for (let i = 0; i < cases.length; i += 16) {
      await Promise.all(
        cases.slice(i, i + 16).map(async (c) => {
          const reply = await connection.send(c);
          byKind[c.kind] = (byKind[c.kind] ?? 0) + 1;
          if (reply.status === undefined) {
            unanswered += 1;
            noStatus[c.kind] = (noStatus[c.kind] ?? 0) + 1;
            if (offenders.length < 10) offenders.push(`#${c.index} ${c.kind} ${c.path}: ${reply.reset ?? 'no status'}`);
            return;
          }
          const code = reply.status as status;
          const name = status[code] ?? String(code);
          codes[name] = (codes[name] ?? 0) + 1;
          // OK is right for a call that happens to be well-formed (e.g. random bytes that decode to an empty ServerLive request).
          if (code === status.INTERNAL && c.kind === 'bad-frame' && /decompress/.test(reply.message ?? '')) compressedInternal += 1;
          else if ((code === status.UNKNOWN || code === status.INTERNAL) && offenders.length < 10) offenders.push(`#${c.index} ${c.kind} ${c.path}: ${name} ${reply.message ?? ''}`);
        }),
      );
    }
    connection.close();
    const crashed = agent.child.exitCode !== null || agent.child.signalCode !== null;

    const clients = grpcClients(address);
    let answered = 0;
    try {
      for (let i = 0; i < WELL_FORMED; i++) {
        const x = [i, 1, 2, 3];
        const typed = await clients.call<Json>(clients.kserve, 'ModelInfer', { model_name: 'adder', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: x } }] });
        const raw = await clients.call<Json>(clients.kserve, 'ModelInfer', { model_name: 'adder', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [Buffer.from(Float32Array.from(x).buffer)] });
        const tf = await clients.call<Json>(clients.prediction, 'Predict', { model_spec: { name: 'adder' }, inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: 1 }, { size: 4 }] }, float_val: x } } });
        const rawOut = raw.raw_output_contents[0] as Buffer;
        const ok =
          typed.outputs[0].contents.fp32_contents[0] === i + 1 &&
          new Float32Array(rawOut.buffer.slice(rawOut.byteOffset, rawOut.byteOffset + 16))[0] === i + 1 &&
          new Float32Array(new Uint8Array(tf.outputs.y.tensor_content as Buffer).buffer)[0] === i + 1;
        if (ok) answered += 1;
      }
    } finally {
      clients.close();
    }

    recordFaultCase(
      'grpc-fuzz-agent',
      {
        title: `${COUNT.toLocaleString('en-US')} malformed gRPC frames and messages at the agent's gRPC listener`,
        counts: {
          calls: cases.length,
          'ended without a gRPC status': unanswered,
          ...Object.fromEntries(Object.entries(noStatus).map(([k, v]) => [`no status, kind ${k}`, v])),
          'INTERNAL for a compressed flag without an encoding (gRPC protocol)': compressedInternal,
          ...Object.fromEntries(Object.entries(codes).map(([k, v]) => [`status ${k}`, v])),
          ...Object.fromEntries(Object.entries(byKind).map(([k, v]) => [`kind ${k}`, v])),
          'well-formed calls after': WELL_FORMED * 3,
        },
        goals: [
          { name: 'calls ended with a gRPC status', value: (cases.length - unanswered) / cases.length, target: '100 %', met: unanswered === 0 },
          { name: 'UNKNOWN or INTERNAL statuses from the agent', value: (codes.UNKNOWN ?? 0) + (codes.INTERNAL ?? 0) - compressedInternal, target: '= 0', met: (codes.UNKNOWN ?? 0) + (codes.INTERNAL ?? 0) - compressedInternal === 0 },
          { name: 'agent crashes', value: crashed ? 1 : 0, target: '= 0', met: !crashed },
          { name: 'well-formed calls answered correctly after the fuzz', value: answered / WELL_FORMED, target: '100 %', met: answered === WELL_FORMED },
        ],
        notes: offenders.length ? [`Calls without a clean status (first 10): ${offenders.join(' | ')}`] : [],
      },
      started,
    );
    expect(crashed).toBe(false);
    expect(answered).toBe(WELL_FORMED);
    expect(offenders).toEqual([]);
  });
});
