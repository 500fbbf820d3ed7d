import { EdgefleetError, isEdgefleetError, type EpCandidate, type ExecutionProvider } from '@edgefleet/shared';
import type { Tensor } from './runtime-port.js';
import { nonFiniteOutputs, sampleInputs } from './sample-inputs.js';
import type { ModelSession, SessionFactory, SessionOptionsSpec } from './session-port.js';

export interface ProbeRequest {
  factory: SessionFactory;
  modelPath: string;
  /** Ordered candidates (planExecutionProviders). */
  candidates: readonly ExecutionProvider[];
  /** Candidates ruled out before probing; reported first. */
  skipped?: readonly EpCandidate[];
  /** Options for a session on `ep`; `intraOpThreads` is set when a thread count is being measured. */
  sessionOptions: (ep: ExecutionProvider, intraOpThreads?: number) => SessionOptionsSpec;
  /**
   * Other intra-op thread counts to time against an EP's default (threadCountsToTry); none by
   * default. Tried only on `inputs` given by the caller, or on a model whose input dimensions are
   * all fixed but the batch.
   */
  threadCounts?: (ep: ExecutionProvider) => readonly number[];
  /**
   * Inputs for warm-up and timing, shaped like real requests (a golden input); default generated
   * from the model's specs. Given inputs the model rejects are replaced by generated ones.
   */
  inputs?: Tensor[];
  /** Per-candidate session start deadline. */
  startTimeoutMs: number;
  /** Total time for timed runs across candidates. */
  budgetMs: number;
  /** Timed runs per candidate at most (after one warm-up run). @default 20 */
  maxRuns?: number;
  /** Skip timing when only one candidate starts (the cache-hit path). @default false */
  skipBenchmarkWhenAlone?: boolean;
  now?: () => number;
}

export interface ProbeResult {
  /** The selected session, already warmed up: the runtime serves on it (no second create). */
  session: ModelSession;
  ep: ExecutionProvider;
  /** Every candidate with its status, reason and measured latency. */
  candidates: EpCandidate[];
  /** Candidates tried before one started (EP fallbacks). */
  fallbacks: number;
  /** Intra-op threads of the selected session, when a thread count was measured faster than the default. */
  intraOpThreads?: number;
}

interface Started {
  ep: ExecutionProvider;
  session: ModelSession;
  finite: boolean;
  report: EpCandidate;
  p50: number;
  threads: number | undefined;
}

/** One session of a candidate EP being timed: the default options, or another thread count. */
interface Variant {
  session: ModelSession;
  threads: number | undefined;
  times: number[];
}

/** Another intra-op thread count is chosen only when its p50 is at least 10% below the best so far. */
const THREAD_MARGIN = 0.9;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

async function withTimeout<T>(ms: number, what: string, start: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new EdgefleetError('EP_UNAVAILABLE', `${what}: no answer within ${ms} ms`)), ms);
  try {
    return await Promise.race([
      start(controller.signal),
      new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason as Error), { once: true })),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Tries each candidate EP, one at a time (onnxruntime-node rejects create() for an EP that cannot
 * start and has no fallback): start with a deadline, one warm-up run, an output sanity check, then
 * timed runs within an equal share of the remaining budget; where `threadCounts` offers other
 * intra-op thread counts, a session with each is timed round-robin against the best so far and the
 * winner stands for the EP. Picks the lowest p50 among candidates
 * whose outputs are finite (when none is finite the model itself is at fault: the fastest is kept
 * and the smoke test will reject it). Only the leader so far stays loaded: each slower candidate's
 * session is released as soon as it has been measured.
 */
export async function probeExecutionProviders(request: ProbeRequest): Promise<ProbeResult> {
  const now = request.now ?? (() => performance.now());
  const maxRuns = request.maxRuns ?? 20;
  const reports: EpCandidate[] = [...(request.skipped ?? [])];
  const started: Started[] = [];
  let leader: Started | undefined;
  let fallbacks = 0;
  const givenInputs = request.inputs;
  let inputs = givenInputs;
  const budgetEnd = now() + request.budgetMs;

  for (const [index, ep] of request.candidates.entries()) {
    const report: EpCandidate = { ep, status: 'failed' };
    reports.push(report);
    if (started.length > 0 && now() >= budgetEnd) {
      Object.assign(report, { status: 'skipped', reason: 'benchmark budget exhausted' });
      continue;
    }
    const start = (threads?: number): Promise<ModelSession> =>
      withTimeout(request.startTimeoutMs, ep, (signal) =>
        request.factory.create({ modelPath: request.modelPath, ep, options: request.sessionOptions(ep, threads) }, signal),
      );
    let session: ModelSession;
    try {
      session = await start();
    } catch (error) {
      report.reason = error instanceof Error ? error.message : String(error);
      if (started.length === 0) fallbacks++;
      // A file onnxruntime cannot parse fails the same way on every EP.
      if (isEdgefleetError(error, 'MODEL_INVALID')) {
        await leader?.session.release().catch(() => undefined);
        throw new EdgefleetError('MODEL_INVALID', report.reason, { cause: error, details: { candidates: reports } });
      }
      continue;
    }
    const variants: Variant[] = [{ session, threads: undefined, times: [] }];
    try {
      let warm;
      try {
        warm = await session.run((inputs ??= sampleInputs(session.inputs)));
      } catch (error) {
        if (!givenInputs || inputs !== givenInputs) throw error;
        // The caller's inputs (a golden input) do not fit the model: measure on generated ones and
        // leave the verdict on the given ones to the smoke test, which names what is wrong.
        inputs = sampleInputs(session.inputs);
        warm = await session.run(inputs);
      }
      const representative = inputs === givenInputs || session.inputs.every((spec) => spec.shape.every((d, i) => d >= 0 || i === 0));
      const bad = nonFiniteOutputs(warm.outputs);
      const candidatesLeft = request.candidates.length - index;
      const timeUntil = now() + Math.max(0, (budgetEnd - now()) / candidatesLeft);
      const alone = request.skipBenchmarkWhenAlone && request.candidates.length === 1;
      const threadsOf = (v: Variant): number | undefined => v.threads ?? request.sessionOptions(ep).intraOpNumThreads;
      // Other thread counts only for a candidate that works, within its share of the budget, and
      // on inputs shaped like real requests: a generated input for a variable-size image (64×64
      // instead of 640×640) made one thread look fastest for a detector that needs them all. A
      // variable batch dimension is fine: generated inputs use 1, the usual request.
      const counts = bad.length === 0 && !alone && representative ? (request.threadCounts?.(ep) ?? []) : [];
      let best = variants[0]!;
      const trials: NonNullable<EpCandidate['threadTrials']> = [];
      // One pass per other count, each pitting it against the best so far (two sessions of the
      // model alive at a time, not one per count: memory is what small devices lack), or a single
      // pass timing the default alone.
      const passes = Math.max(1, counts.length);
      for (let pass = 0; pass < passes; pass++) {
        const passEnd = now() + Math.max(0, (timeUntil - now()) / (passes - pass));
        const threads = counts[pass];
        const challenger = threads !== undefined && now() < timeUntil ? await startVariant(start, threads, inputs) : undefined;
        if (pass > 0 && !challenger) continue;
        if (challenger) variants.push(challenger);
        const contenders = challenger ? [best, challenger] : [best];
        for (const v of contenders) v.times = [];
        // Round-robin, so a noisy second on a shared machine lands on both alike. At least one
        // timed run each, so every started candidate reports a latency.
        do {
          for (const v of contenders) {
            const t0 = now();
            await v.session.run(inputs);
            v.times.push(now() - t0);
          }
        } while (!alone && best.times.length < maxRuns && now() < passEnd);
        for (const v of contenders) {
          v.times.sort((a, b) => a - b);
          if (challenger && (v === challenger || trials.length === 0)) trials.push({ intraOpThreads: threadsOf(v), p50Ms: round(percentile(v.times, 50)), runs: v.times.length });
        }
        if (!challenger) continue;
        // Another thread count has to win clearly: a noisy tie must not swap a big model onto one
        // thread (the detector: 61 ms on 2 threads, 89 ms on 1).
        const loser = percentile(challenger.times, 50) < percentile(best.times, 50) * THREAD_MARGIN ? best : challenger;
        if (loser === best) best = challenger;
        variants.splice(variants.indexOf(loser), 1);
        await loser.session.release().catch(() => undefined);
      }
      Object.assign(report, {
        status: 'started',
        p50Ms: round(percentile(best.times, 50)),
        p95Ms: round(percentile(best.times, 95)),
        runs: best.times.length,
        intraOpThreads: threadsOf(best),
        ...(trials.length > 0 ? { threadTrials: trials } : {}),
        ...(bad.length > 0 ? { reason: `outputs not finite: ${bad.join(', ')}` } : {}),
      });
      const entry: Started = { ep, session: best.session, finite: bad.length === 0, report, p50: percentile(best.times, 50), threads: best.threads };
      started.push(entry);
      // Only the leader so far stays loaded: a Jetson trying TensorRT, CUDA and the CPU would
      // otherwise hold three sessions of the model (and its GPU memory) until the probe ends.
      if (leader) {
        const winner = entry.finite !== leader.finite ? (entry.finite ? entry : leader) : entry.p50 < leader.p50 ? entry : leader;
        await (winner === entry ? leader : entry).session.release().catch(() => undefined);
        leader = winner;
      } else leader = entry;
    } catch (error) {
      report.reason = `warm-up failed: ${error instanceof Error ? error.message : String(error)}`;
      if (started.length === 0) fallbacks++;
      await releaseAll(variants.map((v) => v.session));
    }
  }

  const best = leader;
  if (!best) {
    throw new EdgefleetError('MODEL_LOAD_FAILED', `no execution provider could run the model (${reports.map((r) => `${r.ep}: ${r.reason ?? r.status}`).join('; ')})`, {
      details: { candidates: reports },
    });
  }
  best.report.status = 'selected';
  for (const s of started) {
    if (s !== best && !s.finite && best.finite) s.report.status = 'failed';
  }
  return { session: best.session, ep: best.ep, candidates: reports, fallbacks, intraOpThreads: best.threads };
}

/** A session with another thread count, warmed up; undefined when it does not start or gives other outputs than finite ones. */
async function startVariant(start: (threads: number) => Promise<ModelSession>, threads: number, inputs: Tensor[]): Promise<Variant | undefined> {
  let session: ModelSession | undefined;
  try {
    session = await start(threads);
    if (nonFiniteOutputs((await session.run(inputs)).outputs).length > 0) throw new Error('outputs not finite');
    return { session, threads, times: [] };
  } catch {
    // The default thread count already works: a variant that does not is simply not a candidate.
    await session?.release().catch(() => undefined);
    return undefined;
  }
}

async function releaseAll(sessions: ModelSession[]): Promise<void> {
  await Promise.all(sessions.map((s) => s.release().catch(() => undefined)));
}
