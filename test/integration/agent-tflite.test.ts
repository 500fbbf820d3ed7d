/**
 * TFLite end to end (issue 21): the MediaPipe face detector pushed to a real control plane, rolled
 * onto a real agent process, served from LiteRT through the same local API as ONNX models (KServe
 * v2 and TF Serving REST), its outputs equal to an in-process LiteRT run of the same file, and a
 * swap to a second TFLite version under load with no failed request. The MediaPipe selfie segmenter
 * (custom op Convolution2DTransposeBias) is rolled out beside it and checked the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLiteRtSessionFactory } from '@edgefleet/agent';
import { ensureAgentBuilt, spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { freePort, grpcClients, startControlPlane, tfliteModelPath, tmpDataDir, type GrpcClients, type TestControlPlane, type TmpDir } from '../helpers/index.js';

const SHAPE = [1, 128, 128, 3];
const input = Float32Array.from({ length: 128 * 128 * 3 }, (_, i) => ((i * 37) % 255) / 127.5 - 1);
// The segmenter takes RGB in [0, 1], NHWC as it declares.
const SELFIE_SHAPE = [1, 256, 256, 3];
const selfieInput = Float32Array.from({ length: 256 * 256 * 3 }, (_, i) => ((i * 53) % 256) / 255);

describe('a TFLite model served by a real agent', () => {
  let h: TestControlPlane;
  let dir: TmpDir;
  let agent: AgentProcess;
  let api: string;
  let grpc: GrpcClients;
  let grpcPort: number;
  const deviceId = 'tflite-01';

  const active = async (version: string, timeoutMs = 60_000, model = 'face'): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reported = (await h.cp.devices.get(deviceId)).reported?.models.find((m) => m.name === model);
      if (reported?.active === version && reported.state === 'active') return;
      if (Date.now() > deadline) throw new Error(`${model}@${version} not active within ${timeoutMs} ms: ${JSON.stringify(reported)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const kserve = async (
    version?: string,
    model = 'face',
    tensor: { name: string; shape: number[]; data: Float32Array } = { name: 'input', shape: SHAPE, data: input },
  ): Promise<{ status: number; outputs?: { name: string; shape: number[]; data: number[] }[] }> => {
    const res = await fetch(`${api}/v2/models/${model}${version ? `/versions/${version}` : ''}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: tensor.name, shape: tensor.shape, datatype: 'FP32', data: Array.from(tensor.data) }] }),
    });
    const body = (await res.json()) as { outputs?: { name: string; shape: number[]; data: number[] }[] };
    return { status: res.status, ...body };
  };

  beforeAll(async () => {
    await ensureAgentBuilt();
    h = await startControlPlane();
    dir = await tmpDataDir('agent-tflite-');
    const device = await h.provisionDevice(deviceId);
    grpcPort = await freePort();
    agent = await spawnAgent({ deviceId, brokerUrl: h.mqttUrl, fleetPublicKey: h.fleetPublicKeyPem, dataDir: dir.path, config: { broker: { url: h.mqttUrl, password: device.secret }, inference: { grpcPort } } });
    api = ((await agent.waitForLog((l) => l.msg === 'local API listening')) as unknown as { url: string }).url;
    grpc = grpcClients(`127.0.0.1:${grpcPort}`);
    await h.pushModel({ name: 'face', version: '1', file: tfliteModelPath('face') });
    await h.pushModel({ name: 'face', version: '2', file: tfliteModelPath('face'), labels: ['candidate'] });
    await h.pushModel({ name: 'selfie', version: '1', file: tfliteModelPath('selfie') });
  }, 120_000);
  afterAll(async () => {
    grpc?.close();
    await agent?.stop();
    await h?.close();
    await dir?.cleanup();
  });

  it('activates the .tflite version (smoke test on LiteRT) and reports it', async () => {
    await h.cp.desired.setDeviceModels(deviceId, [await h.desiredModel('face', '1')]);
    await active('1');
    const meta = (await (await fetch(`${api}/v2/models/face`)).json()) as { inputs: { name: string; datatype: string; shape: number[] }[]; outputs: { shape: number[] }[] };
    // As the model declares it: NHWC, no transposes.
    expect(meta.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: SHAPE }]);
    expect(meta.outputs.map((o) => o.shape)).toEqual([[1, 896, 16], [1, 896, 1]]);
    // The agent reports its LiteRT, so rollouts of TFLite versions do not skip it.
    expect((await h.cp.devices.get(deviceId)).reported?.hardware?.litert?.version).toMatch(/^\d+\.\d+/);
  }, 90_000);

  it('answers on KServe v2 REST, TF Serving REST and KServe gRPC (raw tensors) with the outputs of an in-process LiteRT run of the same file', async () => {
    const served = await kserve();
    expect(served.status).toBe(200);
    const session = await createLiteRtSessionFactory().create({ modelPath: tfliteModelPath('face'), ep: 'cpu', options: { intraOpNumThreads: 1 } });
    const reference = await session.run([{ name: 'input', datatype: 'FP32', shape: SHAPE, data: input }]);
    await session.release();
    for (const [i, out] of served.outputs!.entries()) {
      const ref = reference.outputs[i]!.data as Float32Array;
      expect(out.shape).toEqual(reference.outputs[i]!.shape);
      let maxDiff = 0;
      for (let k = 0; k < ref.length; k++) maxDiff = Math.max(maxDiff, Math.abs(out.data[k]! - ref[k]!));
      expect(maxDiff, `output ${out.name}`).toBeLessThan(1e-4);
    }
    const reply = await grpc.call<{ outputs: { name: string; shape: string[] }[]; raw_output_contents: Buffer[] }>(grpc.kserve, 'ModelInfer', { model_name: 'face', inputs: [{ name: 'input', datatype: 'FP32', shape: SHAPE }], raw_input_contents: [Buffer.from(input.buffer)] });
    expect(reply.outputs.map((o) => o.shape.map(Number))).toEqual([[1, 896, 16], [1, 896, 1]]);
    for (const [i, raw] of reply.raw_output_contents.entries()) {
      const got = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
      const ref = reference.outputs[i]!.data as Float32Array;
      expect(got.length).toBe(ref.length);
      expect(got.every((v, k) => Math.abs(v - ref[k]!) < 1e-4), `gRPC output ${reply.outputs[i]!.name}`).toBe(true);
    }
    const tf = await fetch(`${api}/v1/models/face:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [Array.from({ length: 128 }, (_, y) => Array.from({ length: 128 }, (_, x) => Array.from(input.subarray((y * 128 + x) * 3, (y * 128 + x) * 3 + 3))))] }) });
    expect(tf.status).toBe(200);
    const predictions = ((await tf.json()) as { predictions: unknown[] }).predictions;
    expect(predictions).toHaveLength(1);
  }, 60_000);

  it('rolls the selfie segmenter (custom op Convolution2DTransposeBias) out beside it, its KServe v2 REST mask equal to an in-process LiteRT run', async () => {
    await h.cp.desired.setDeviceModels(deviceId, [await h.desiredModel('face', '1'), await h.desiredModel('selfie', '1')]);
    await active('1', 90_000, 'selfie');
    const meta = (await (await fetch(`${api}/v2/models/selfie`)).json()) as { inputs: unknown[]; outputs: unknown[] };
    expect(meta.inputs).toEqual([{ name: 'input_1', datatype: 'FP32', shape: SELFIE_SHAPE }]);
    expect(meta.outputs).toEqual([{ name: 'activation_10', datatype: 'FP32', shape: [1, 256, 256, 1] }]);
    const served = await kserve(undefined, 'selfie', { name: 'input_1', shape: SELFIE_SHAPE, data: selfieInput });
    expect(served.status).toBe(200);
    const session = await createLiteRtSessionFactory().create({ modelPath: tfliteModelPath('selfie'), ep: 'cpu', options: { intraOpNumThreads: 1 } });
    const reference = await session.run([{ name: 'input_1', datatype: 'FP32', shape: SELFIE_SHAPE, data: selfieInput }]);
    await session.release();
    const out = served.outputs![0]!;
    const ref = reference.outputs[0]!.data as Float32Array;
    expect(out).toMatchObject({ name: 'activation_10', shape: [1, 256, 256, 1] });
    expect(out.data).toHaveLength(ref.length);
    let maxDiff = 0;
    for (let k = 0; k < ref.length; k++) maxDiff = Math.max(maxDiff, Math.abs(out.data[k]! - ref[k]!));
    expect(maxDiff).toBeLessThan(1e-4);
    // A mask, not zeros: the input is not blank, so some pixels differ.
    expect(Math.max(...ref) - Math.min(...ref)).toBeGreaterThan(0);
    // The face detector still answers beside it.
    expect((await kserve()).status).toBe(200);
  }, 120_000);

  it('swaps to a second TFLite version under load with no failed request', async () => {
    let stop = false;
    const statuses: number[] = [];
    const load = (async () => {
      while (!stop) statuses.push((await kserve()).status);
    })();
    await h.cp.desired.setDeviceModels(deviceId, [await h.desiredModel('face', '2'), await h.desiredModel('selfie', '1')]);
    await active('2');
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await load;
    expect(statuses.length).toBeGreaterThan(5);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  }, 90_000);
});
