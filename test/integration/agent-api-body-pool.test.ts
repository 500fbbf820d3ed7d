import { join } from 'node:path';
import { createApiServer, createInferenceRuntime, createNodeHardwarePort, detectHardware, type ApiServer, type InferenceRuntimeWithEvents } from '@edgefleet/agent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addModel, tmpDataDir, writeModelFile, type TmpDir } from '../helpers/index.js';

/**
 * Large binary requests reuse body memory the inference worker hands back. That may never mix one
 * request's bytes into another's answer: many concurrent requests with different inputs, over
 * several rounds (so bodies are reused), must each get exactly their own input + 1.
 */
const ELEMENTS = 65_536; // 256 KiB of FP32 each way: a pooled body
const SHAPE = [1, ELEMENTS];

let tmp: TmpDir;
let runtime: InferenceRuntimeWithEvents;
let api: ApiServer;
let base: string;

beforeAll(async () => {
  tmp = await tmpDataDir();
  const model = await writeModelFile(join(tmp.path, 'add.onnx'), addModel({ shape: SHAPE, addend: 1 }));
  runtime = await createInferenceRuntime({ hardware: await detectHardware(createNodeHardwarePort()), config: { epBenchmarkBudgetMs: 100, intraOpThreads: 1 } });
  await runtime.load({ model: 'add', version: '1', path: model.path, sha256: model.sha256 });
  runtime.setLabel('add', 'active', '1');
  api = createApiServer({ runtime, port: 0, ready: true, defaultMetrics: false });
  base = (await api.listen()).url;
}, 60_000);

afterAll(async () => {
  await api?.close();
  await runtime?.close();
  await tmp?.cleanup();
});

async function inferBinary(value: number): Promise<{ status: number; header: { outputs: { name: string; parameters: { binary_data_size: number } }[] }; output: Float32Array; length: number; headerLength: number }> {
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: SHAPE, datatype: 'FP32', parameters: { binary_data_size: ELEMENTS * 4 } }], parameters: { binary_data_output: true } }));
  const tensor = Buffer.from(new Float32Array(ELEMENTS).fill(value).buffer);
  const res = await fetch(`${base}/v2/models/add/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    body: Buffer.concat([header, tensor]),
  });
  const body = Buffer.from(await res.arrayBuffer());
  const headerLength = Number(res.headers.get('inference-header-content-length'));
  const bytes = body.subarray(headerLength);
  return {
    status: res.status,
    header: JSON.parse(body.subarray(0, headerLength).toString()),
    output: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)),
    length: Number(res.headers.get('content-length')),
    headerLength,
  };
}

describe('local API: pooled request bodies', () => {
  it('concurrent large binary requests, over rounds that reuse bodies, each get their own answer', async () => {
    for (let round = 0; round < 4; round++) {
      const values = Array.from({ length: 8 }, (_, i) => round * 100 + i);
      const replies = await Promise.all(values.map((v) => inferBinary(v)));
      replies.forEach((reply, i) => {
        expect(reply.status).toBe(200);
        expect(reply.header.outputs[0]?.parameters.binary_data_size).toBe(ELEMENTS * 4);
        expect(reply.length).toBe(reply.headerLength + ELEMENTS * 4);
        expect(reply.output).toHaveLength(ELEMENTS);
        // Every element, not a sample: a reused buffer would show up as another request's value anywhere.
        expect(reply.output.every((x) => x === values[i]! + 1)).toBe(true);
      });
    }
  });
});
