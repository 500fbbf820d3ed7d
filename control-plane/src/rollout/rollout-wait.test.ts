import { describe, expect, it } from 'vitest';
import { EdgefleetError, ROLLOUT_WAIT_EXIT_CODES, rolloutWaitSummarySchema, type RolloutState, type RolloutView } from '@edgefleet/shared';
import { followRollout, formatWaitSummary, refusedSummary, rolloutEnd, waitSummary } from './rollout-wait.js';

function view(state: RolloutState, extra: Partial<RolloutView> = {}): RolloutView {
  return {
    id: 'r-1', model: 'cls', version: '2.0.0', state,
    target: { kind: 'all' },
    strategy: { waves: [{ count: 1 }, { percent: 100 }], bakeMs: 1000, ratePerMinute: 0, jitterMs: 0, manualApproval: false, onBreach: 'rollback' } as RolloutView['strategy'],
    gates: {} as RolloutView['gates'],
    createdAt: '2026-12-03T00:00:00.000Z',
    waves: [{ index: 0, state: 'passed', size: 1, counts: {}, gates: [] }, { index: 1, state: 'baking', size: 9, counts: {}, gates: [] }] as RolloutView['waves'],
    counts: { succeeded: 1, baking: 9 },
    ...extra,
  };
}

/** A clock that only moves when the loop sleeps, and a server whose answers are scripted. */
function scripted(states: RolloutState[]) {
  let t = 0;
  const sleeps: number[] = [];
  let i = 0;
  return {
    sleeps,
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    get: async () => view(states[Math.min(i++, states.length - 1)]!),
  };
}

describe('rolloutEnd', () => {
  it.each([
    ['succeeded', 'succeeded'],
    ['halted', 'halted'],
    ['rolled-back', 'rolled-back'],
    ['aborted', 'aborted'],
    ['scheduled', undefined],
    ['running', undefined],
    ['paused', undefined],
  ] as const)('%s → %s', (state, outcome) => {
    expect(rolloutEnd(state)).toBe(outcome);
  });
});

describe('followRollout', () => {
  it('polls at the interval until the rollout ends', async () => {
    const s = scripted(['scheduled', 'running', 'running', 'succeeded']);
    const seen: string[] = [];
    const r = await followRollout({ ...s, intervalMs: 2000, timeoutMs: 60_000, onView: (v) => seen.push(v.state) });
    expect(r.outcome).toBe('succeeded');
    expect(seen).toEqual(['scheduled', 'running', 'running', 'succeeded']);
    expect(s.sleeps).toEqual([2000, 2000, 2000]);
    expect(r.waitedMs).toBe(6000);
  });

  it('times out on the deadline, not an interval later, and reports the state it left running', async () => {
    const s = scripted(['running']);
    const r = await followRollout({ ...s, intervalMs: 2000, timeoutMs: 5000 });
    expect(r.outcome).toBe('timed-out');
    expect(r.view.state).toBe('running');
    expect(s.sleeps).toEqual([2000, 2000, 1000]);
    expect(r.waitedMs).toBe(5000);
  });

  it('a halt ends the wait (an operator must act) and a paused rollout does not', async () => {
    const s = scripted(['running', 'paused', 'paused', 'halted']);
    expect((await followRollout({ ...s, intervalMs: 10 })).outcome).toBe('halted');
  });

  it('with no timeout it waits for ever', async () => {
    const s = scripted([...Array<RolloutState>(50).fill('running'), 'rolled-back']);
    const r = await followRollout({ ...s, intervalMs: 1000 });
    expect(r.outcome).toBe('rolled-back');
    expect(s.sleeps).toHaveLength(50);
  });
});

describe('summaries', () => {
  it('carries the exit code of each outcome and parses with the shared schema', () => {
    for (const outcome of ['succeeded', 'halted', 'rolled-back', 'aborted', 'timed-out'] as const) {
      const state = outcome === 'timed-out' ? 'running' : outcome;
      const s = rolloutWaitSummarySchema.parse(waitSummary({ view: view(state), outcome, waitedMs: 1234.6 }));
      expect(s).toMatchObject({ outcome, exitCode: ROLLOUT_WAIT_EXIT_CODES[outcome], rolloutId: 'r-1', state, waitedMs: 1235 });
      expect(s.waves).toEqual([{ index: 0, state: 'passed', size: 1 }, { index: 1, state: 'baking', size: 9 }]);
    }
    expect(new Set(Object.values(ROLLOUT_WAIT_EXIT_CODES)).size).toBe(Object.keys(ROLLOUT_WAIT_EXIT_CODES).length);
  });

  it('a refusal names the server error', () => {
    const s = refusedSummary('cls', '9.9.9', new EdgefleetError('MODEL_VERSION_NOT_FOUND', 'cls@9.9.9 is not registered'), 12);
    expect(rolloutWaitSummarySchema.parse(s)).toEqual({ outcome: 'refused', exitCode: 3, model: 'cls', version: '9.9.9', waitedMs: 12, error: { code: 'MODEL_VERSION_NOT_FOUND', message: 'cls@9.9.9 is not registered' } });
    expect(formatWaitSummary(s)).toBe('rollout cls@9.9.9 refused: MODEL_VERSION_NOT_FOUND cls@9.9.9 is not registered (exit 3)');
  });

  it('a halt says why, a timeout says the rollout goes on', () => {
    const halt = { reason: 'failure rate 1.00 > 0.05', results: [], at: '2026-12-03T00:00:01.000Z' };
    expect(formatWaitSummary(waitSummary({ view: view('halted', { halt }), outcome: 'halted', waitedMs: 10 }))).toBe('rollout cls@2.0.0 (r-1) halted: failure rate 1.00 > 0.05 (exit 4)');
    expect(formatWaitSummary(waitSummary({ view: view('running'), outcome: 'timed-out', waitedMs: 61_000 }))).toBe('rollout cls@2.0.0 (r-1) timed-out after 61 s; the rollout goes on (state running) (exit 7)');
  });
});
