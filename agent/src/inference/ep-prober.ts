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
  sessionOptions: (ep: ExecutionProvider) => SessionOptionsSpec;
  /** Inputs for warm-up and timing; default generated from the model's specs. */
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
}

interface Started {
  ep: ExecutionProvider;
  session: ModelSession;
  finite: boolean;
  report: EpCandidate;
  p50: number;
}

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
 * timed runs within an equal share of the remaining budget. Picks the lowest p50 among candidates
 * whose outputs are finite (when none is finite the model itself is at fault: the fastest is kept
 * and the smoke test will reject it). Releases every session but the chosen one.
 */
export async function probeExecutionProviders(request: ProbeRequest): Promise<ProbeResult> {
  const now = request.now ?? (() => performance.now());
  const maxRuns = request.maxRuns ?? 20;
  const reports: EpCandidate[] = [...(request.skipped ?? [])];
  const started: Started[] = [];
  let fallbacks = 0;
  let inputs = request.inputs;
  const budgetEnd = now() + request.budgetMs;

  for (const [index, ep] of request.candidates.entries()) {
    const report: EpCandidate = { ep, status: 'failed' };
    reports.push(report);
    if (started.length > 0 && now() >= budgetEnd) {
      Object.assign(report, { status: 'skipped', reason: 'benchmark budget exhausted' });
      continue;
    }
    let session: ModelSession;
    try {
      session = await withTimeout(request.startTimeoutMs, ep, (signal) => request.factory.create({ modelPath: request.modelPath, ep, options: request.sessionOptions(ep) }, signal));
    } catch (error) {
      report.reason = error instanceof Error ? error.message : String(error);
      if (started.length === 0) fallbacks++;
      // A file onnxruntime cannot parse fails the same way on every EP.
      if (isEdgefleetError(error, 'MODEL_INVALID')) {
        await releaseAll(started.map((s) => s.session));
        throw new EdgefleetError('MODEL_INVALID', report.reason, { cause: error, details: { candidates: reports } });
      }
      continue;
    }
    try {
      inputs ??= sampleInputs(session.inputs);
      const warm = await session.run(inputs);
      const bad = nonFiniteOutputs(warm.outputs);
      const candidatesLeft = request.candidates.length - index;
      const share = Math.max(0, (budgetEnd - now()) / candidatesLeft);
      const times: number[] = [];
      const timeUntil = now() + share;
      const alone = request.skipBenchmarkWhenAlone && request.candidates.length === 1;
      // At least one timed run, so every started candidate reports a latency.
      do {
        const t0 = now();
        await session.run(inputs);
        times.push(now() - t0);
      } while (!alone && times.length < maxRuns && now() < timeUntil);
      times.sort((a, b) => a - b);
      Object.assign(report, {
        status: 'started',
        p50Ms: round(percentile(times, 50)),
        p95Ms: round(percentile(times, 95)),
        runs: times.length,
        ...(bad.length > 0 ? { reason: `outputs not finite: ${bad.join(', ')}` } : {}),
      });
      started.push({ ep, session, finite: bad.length === 0, report, p50: percentile(times, 50) });
    } catch (error) {
      report.reason = `warm-up failed: ${error instanceof Error ? error.message : String(error)}`;
      if (started.length === 0) fallbacks++;
      await session.release().catch(() => undefined);
    }
  }

  const finite = started.filter((s) => s.finite);
  const pool = finite.length > 0 ? finite : started;
  const best = pool.reduce<Started | undefined>((a, b) => (a === undefined || b.p50 < a.p50 ? b : a), undefined);
  if (!best) {
    throw new EdgefleetError('MODEL_LOAD_FAILED', `no execution provider could run the model (${reports.map((r) => `${r.ep}: ${r.reason ?? r.status}`).join('; ')})`, {
      details: { candidates: reports },
    });
  }
  best.report.status = 'selected';
  for (const s of started) {
    if (s !== best && !s.finite && finite.length > 0) s.report.status = 'failed';
  }
  await releaseAll(started.filter((s) => s !== best).map((s) => s.session));
  return { session: best.session, ep: best.ep, candidates: reports, fallbacks };
}

async function releaseAll(sessions: ModelSession[]): Promise<void> {
  await Promise.all(sessions.map((s) => s.release().catch(() => undefined)));
}
