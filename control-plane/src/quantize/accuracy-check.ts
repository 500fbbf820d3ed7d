import * as ort from 'onnxruntime-node';
import { EdgefleetError } from '@edgefleet/shared';
import type { Feeds } from './calibrate.js';

/** How a variant compares with its float32 original on the same inputs (onnxruntime-node, CPU EP). */
export interface AccuracyReport {
  /** variant bytes / float32 bytes. */
  sizeRatio: number;
  /** Largest |fp32 − variant| over every output element of every sample. */
  maxAbsError: number;
  /** Smallest cosine similarity of an output (flattened, per sample) with its float32 twin. */
  cosine: number;
  /** Share of rows whose argmax matches float32, for outputs shaped like class scores [N, C≥2]; absent otherwise. */
  top1Agreement?: number | undefined;
  /** p50 latency of the variant / p50 of float32 on the first sample (CPU, one thread each). */
  latencyRatio: number;
  fp32P50Ms: number;
  variantP50Ms: number;
  samples: number;
}

export interface AccuracyThresholds {
  /** @default 0.99 */
  minCosine: number;
  /** @default 0.98 */
  minTop1: number;
}

export const DEFAULT_ACCURACY_THRESHOLDS: Readonly<AccuracyThresholds> = Object.freeze({ minCosine: 0.99, minTop1: 0.98 });

/** The reasons a report fails the thresholds (empty when it passes). */
export function thresholdFailures(report: AccuracyReport, t: AccuracyThresholds): string[] {
  const failures: string[] = [];
  if (!(report.cosine >= t.minCosine)) failures.push(`cosine ${report.cosine.toFixed(4)} < ${t.minCosine}`);
  if (report.top1Agreement !== undefined && !(report.top1Agreement >= t.minTop1)) failures.push(`top-1 agreement ${report.top1Agreement.toFixed(4)} < ${t.minTop1}`);
  return failures;
}

async function open(bytes: Uint8Array, what: string): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 3 });
  } catch (cause) {
    throw new EdgefleetError('MODEL_LOAD_FAILED', `onnxruntime could not load the ${what}: ${(cause as Error).message}`, { cause });
  }
}

async function p50(session: ort.InferenceSession, feeds: Feeds, runs: number): Promise<number> {
  await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/**
 * Runs the float32 model and the variant on every sample and compares each float output. Latency is
 * timed alternately on the first sample so both see the same machine load.
 */
export async function checkAccuracy(fp32: Uint8Array, variant: Uint8Array, samples: readonly Feeds[], options: { latencyRuns?: number } = {}): Promise<AccuracyReport> {
  if (!samples.length) throw new EdgefleetError('INPUT_INVALID', 'the accuracy check needs at least one input sample');
  const base = await open(fp32, 'float32 model');
  const candidate = await open(variant, 'variant');
  try {
    let maxAbsError = 0;
    let cosine = 1;
    let rows = 0;
    let agreeing = 0;
    let classScores = false;
    for (const feeds of samples) {
      const [a, b] = [await base.run(feeds), await candidate.run(feeds)];
      for (const name of base.outputNames) {
        const x = a[name];
        const y = b[name];
        if (!x || !y || x.type !== 'float32' || y.type !== 'float32') continue;
        const xa = x.data as Float32Array;
        const ya = y.data as Float32Array;
        let dot = 0;
        let nx = 0;
        let ny = 0;
        for (let i = 0; i < xa.length; i++) {
          const d = Math.abs(xa[i]! - ya[i]!);
          if (!(d <= maxAbsError)) maxAbsError = Number.isNaN(d) ? Infinity : d;
          dot += xa[i]! * ya[i]!;
          nx += xa[i]! * xa[i]!;
          ny += ya[i]! * ya[i]!;
        }
        const cos = nx === 0 && ny === 0 ? 1 : dot / Math.sqrt(nx * ny);
        cosine = Math.min(cosine, Number.isNaN(cos) ? 0 : cos);
        const dims = x.dims;
        if (dims.length === 2 && dims[1]! >= 2) {
          classScores = true;
          const c = dims[1]!;
          for (let r = 0; r < dims[0]!; r++) {
            rows++;
            if (argmax(xa, r * c, c) === argmax(ya, r * c, c)) agreeing++;
          }
        }
      }
    }
    const runs = options.latencyRuns ?? 20;
    let fp32P50Ms = 0;
    let variantP50Ms = 0;
    // Three alternating rounds, best p50 of each: machine noise hits both alike.
    for (let round = 0; round < 3; round++) {
      const f = await p50(base, samples[0]!, runs);
      const v = await p50(candidate, samples[0]!, runs);
      fp32P50Ms = round === 0 ? f : Math.min(fp32P50Ms, f);
      variantP50Ms = round === 0 ? v : Math.min(variantP50Ms, v);
    }
    return {
      sizeRatio: variant.byteLength / fp32.byteLength,
      maxAbsError,
      cosine,
      top1Agreement: classScores ? agreeing / rows : undefined,
      latencyRatio: variantP50Ms / fp32P50Ms,
      fp32P50Ms,
      variantP50Ms,
      samples: samples.length,
    };
  } finally {
    await base.release();
    await candidate.release();
  }
}

function argmax(data: Float32Array, offset: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (data[offset + i]! > data[offset + best]!) best = i;
  return best;
}
