import { describe, expect, it } from 'vitest';
import { createFakeDevice, desiredModel, desiredState, failingWindow, settle, shaOf, type FakeDevice } from './fake-loop-ports.js';
import { failureKey } from './plan.js';
import { createReconcileLoop, type ReconcileLoop } from './reconcile-loop.js';

/**
 * Issue 17: every ordering of the five things that can happen to one model at once, each run
 * against the real loop over an in-memory device, with the step released at once, after the next
 * happening or only at the end, and with the new desired state replacing the model's version or
 * only adding another model (whose step then runs while the first model's probation ends).
 */
type Happening = 'step' | 'expiry' | 'rollback' | 'desired' | 'restart';
const HAPPENINGS: Happening[] = ['step', 'expiry', 'rollback', 'desired', 'restart'];
const PROBATION = { windowMs: 1000, maxFailureRate: 0, minRequests: 1 };

function permutations<T>(xs: readonly T[]): T[][] {
  if (xs.length <= 1) return [[...xs]];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

type RollbackOutcome = { ok: true; from: string; active: string } | { ok: false; code: string };

async function until(pred: () => boolean, what: string, turns = 500): Promise<void> {
  for (let i = 0; i < turns && !pred(); i++) await settle(1);
  if (!pred()) throw new Error(`not reached: ${what}`);
}

/** When the held activation goes on: never held, right after the next happening, or only at the end. */
type Release = 'not-held' | 'after-next' | 'at-end';
/** What the new desired state changes: m's version (superseding its deployment) or only another model. */
type DesiredKind = 'replaces-m' | 'adds-n';

async function scenario(order: readonly Happening[], release: Release, kind: DesiredKind): Promise<{ device: FakeDevice; loop: ReconcileLoop; generation: number; outcomes: RollbackOutcome[] }> {
  const device = createFakeDevice();
  // m@v1 serving with v0 as its rollback target; generation 1 wants v1: converged.
  device.pointers.set('m', { active: 'v1', previous: 'v0' });
  device.installed.set('m', new Map([['v0', shaOf('v0')], ['v1', shaOf('v1')]]));
  device.loaded.set('m', new Set(['v0', 'v1']));
  device.persistedDesired = desiredState(1, desiredModel('m', 'v1'));
  device.persistedApplied = 1;
  let loop = createReconcileLoop(device.ports());
  loop.start();
  await settle();
  device.holdActivate = release !== 'not-held';
  let generation = 1;
  let held = desiredState(1, desiredModel('m', 'v1'));
  const deliver = (next: typeof held): void => {
    held = next;
    loop.setDesired(next);
  };
  let releaseAt = -1;
  const rollbacks: Promise<RollbackOutcome>[] = [];
  for (const [i, happening] of order.entries()) {
    switch (happening) {
      case 'step': {
        // A deployment with probation, held mid-activation: the step is running.
        generation++;
        deliver(desiredState(generation, desiredModel('m', `v${generation}`, PROBATION), ...held.models.filter((m) => m.name !== 'm')));
        if (release !== 'not-held') await until(() => device.held() > 0, `activate of v${generation} running`);
        else await settle();
        if (release === 'after-next') releaseAt = i + 1;
        break;
      }
      case 'desired':
        generation++;
        if (kind === 'replaces-m') deliver(desiredState(generation, desiredModel('m', `v${generation}`), ...held.models.filter((m) => m.name !== 'm')));
        else deliver(desiredState(generation, ...held.models.filter((m) => m.name !== 'n'), desiredModel('n', `n${generation}`)));
        await settle(1);
        break;
      case 'expiry': {
        // Failing traffic on whatever serves now, then the probation window runs out.
        device.pendingWindows = [failingWindow('m', device.pointers.get('m')?.active ?? 'v1')];
        device.advance(PROBATION.windowMs);
        device.pendingWindows = [];
        await settle();
        break;
      }
      case 'rollback':
        rollbacks.push(
          loop.rollback('m', 'operator').then(
            (r): RollbackOutcome => ({ ok: true, ...r }),
            (e: { code: string }): RollbackOutcome => ({ ok: false, code: e.code }),
          ),
        );
        await settle(1);
        break;
      case 'restart':
        await loop.stop(1000);
        loop = createReconcileLoop(device.ports());
        loop.start();
        await settle();
        break;
    }
    if (i === releaseAt) {
      device.holdActivate = false;
      device.release();
    }
  }
  device.holdActivate = false;
  device.release();
  // Let everything finish: probations pass, back-offs come due.
  for (let i = 0; i < 8; i++) {
    await settle();
    device.advance(61_000);
  }
  await until(() => loop.state().running === undefined && loop.state().rollbacks.length === 0 && !loop.state().dirty, 'the loop idle');
  const outcomes = await Promise.race([Promise.all(rollbacks), settle(200).then(() => undefined)]);
  if (!outcomes) throw new Error('an operator rollback never answered');
  return { device, loop, generation, outcomes };
}

const cases = (['replaces-m', 'adds-n'] as const).flatMap((kind) =>
  (['not-held', 'after-next', 'at-end'] as const).flatMap((release) => permutations(HAPPENINGS).map((order) => [order.join(' → '), kind, release, order] as const)),
);

describe(`reconcile loop: every interleaving of ${HAPPENINGS.join(', ')} (${cases.length} runs)`, () => {
  it.each(cases)('%s (desired %s, held step %s)', async (_name, kind, release, order) => {
    const { device, loop, generation, outcomes } = await scenario(order, release, kind);
    const state = loop.state();
    await loop.stop(1000);

    // One work at a time: no operation, above all no pointer switch or step cleanup, ran beside another.
    expect(device.maxRunning).toBe(1);
    expect(device.ops.filter((o) => o.running !== 1)).toEqual([]);

    // No desired state lost: the last generation is held, persisted and applied.
    expect(state.desired?.generation).toBe(generation);
    expect(device.persistedDesired?.generation).toBe(generation);
    expect(state.applied).toBe(generation);

    // Converged: every model to its last desired version, unless that was rolled back in its generation.
    const rolledBack = device.events.filter((e) => e.type === 'rolled-back');
    for (const m of state.desired?.models ?? []) {
      const failed = device.failures.get(failureKey(m.name, m.version, shaOf(m.version)));
      const active = device.pointers.get(m.name)?.active;
      if (failed && failed.generation >= generation) {
        expect(['PROBATION_FAILED', 'ROLLED_BACK_BY_OPERATOR']).toContain(failed.error.code);
        const away = rolledBack.find((e) => e.model === m.name && e.version === m.version);
        expect(away?.type === 'rolled-back' && away.to).toBe(active);
      } else {
        expect(active).toBe(m.version);
      }
    }

    // No double rollback: a version is rolled away from at most once per generation (a newer
    // generation may deploy it again), and every rollback had one cause.
    const versions = rolledBack.map((e) => `${e.model}@${e.version}#${e.generation}`);
    expect(new Set(versions).size).toBe(versions.length);
    const byOperator = outcomes.filter((o) => o.ok).length;
    const byProbation = rolledBack.filter((e) => e.type === 'rolled-back' && e.reason.code === 'PROBATION_FAILED').length;
    expect(byOperator + byProbation).toBe(rolledBack.length);
    expect(byOperator).toBeLessThanOrEqual(1);
    for (const o of outcomes) if (!o.ok) expect(['ROLLBACK_UNAVAILABLE', 'LIFECYCLE_INVALID_STATE']).toContain(o.code);
  });
});
