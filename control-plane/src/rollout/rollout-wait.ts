/**
 * Following a rollout until it ends, for `rollouts watch` and `rollouts create --wait` (a CI
 * pipeline step): one loop, with the clock injected so the deadline logic is tested without time.
 */
import {
  ROLLOUT_WAIT_EXIT_CODES,
  type EdgefleetError,
  type RolloutState,
  type RolloutView,
  type RolloutWaitOutcome,
  type RolloutWaitSummary,
} from '@edgefleet/shared';

/** The states a rollout does not leave by itself; halted waits for an operator, so a pipeline treats it as an end. */
const ENDS: Partial<Record<RolloutState, RolloutWaitOutcome>> = {
  succeeded: 'succeeded',
  halted: 'halted',
  'rolled-back': 'rolled-back',
  aborted: 'aborted',
};

export function rolloutEnd(state: RolloutState): RolloutWaitOutcome | undefined {
  return ENDS[state];
}

export interface FollowOptions {
  get(): Promise<RolloutView>;
  intervalMs: number;
  /** Give up (outcome timed-out) once this much time has passed; undefined waits for ever. */
  timeoutMs?: number;
  onView?(view: RolloutView): void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface FollowResult {
  view: RolloutView;
  outcome: RolloutWaitOutcome;
  waitedMs: number;
}

const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function followRollout(options: FollowOptions): Promise<FollowResult> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const started = now();
  for (;;) {
    const view = await options.get();
    options.onView?.(view);
    const waitedMs = now() - started;
    const end = rolloutEnd(view.state);
    if (end) return { view, outcome: end, waitedMs };
    if (options.timeoutMs !== undefined && waitedMs >= options.timeoutMs) return { view, outcome: 'timed-out', waitedMs };
    const left = options.timeoutMs === undefined ? options.intervalMs : Math.min(options.intervalMs, options.timeoutMs - waitedMs);
    await sleep(Math.max(0, left));
  }
}

export function waitSummary(result: FollowResult): RolloutWaitSummary {
  const { view, outcome, waitedMs } = result;
  return {
    outcome,
    exitCode: ROLLOUT_WAIT_EXIT_CODES[outcome],
    rolloutId: view.id,
    model: view.model,
    version: view.version,
    state: view.state,
    waitedMs: Math.round(waitedMs),
    counts: view.counts,
    waves: view.waves.map((w) => ({ index: w.index, state: w.state, size: w.size })),
    ...(view.halt ? { halt: view.halt } : {}),
  };
}

export function refusedSummary(model: string, version: string, err: EdgefleetError, waitedMs: number): RolloutWaitSummary {
  return { outcome: 'refused', exitCode: ROLLOUT_WAIT_EXIT_CODES.refused, model, version, waitedMs: Math.round(waitedMs), error: { code: err.code, message: err.message } };
}

export function formatWaitSummary(s: RolloutWaitSummary): string {
  const what = `${s.model}@${s.version}${s.rolloutId ? ` (${s.rolloutId})` : ''}`;
  const detail = s.error ? `: ${s.error.code} ${s.error.message}` : s.halt ? `: ${s.halt.reason}` : s.outcome === 'timed-out' ? ` after ${Math.round(s.waitedMs / 1000)} s; the rollout goes on (state ${s.state})` : '';
  return `rollout ${what} ${s.outcome}${detail} (exit ${s.exitCode})`;
}
