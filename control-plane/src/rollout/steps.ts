/**
 * The rollout reconciler's decision (pure): from a snapshot of one running rollout, the typed steps
 * that move it on. engine.ts gathers the snapshot (store, registry, telemetry, clock) and applies
 * the steps; this file holds every rule, so the rules are table-tested without I/O (issue 7).
 */
import type { GateResult } from '@edgefleet/shared';
import { FAILED_STATES, FINISHED_STATES, IN_FLIGHT_STATES, transitionOnDeadline, type DeviceTransition } from './device-state.js';
import type { GateVerdict } from './gates.js';
import type { DeviceRow, RolloutRow, WaveRow } from './rollout-store.js';

export type Step =
  | { type: 'add-device'; deviceId: string; wave: number; incompatible?: string }
  | { type: 'device-transition'; deviceId: string; transition: DeviceTransition; cause: 'deadline' | 'reported' }
  | { type: 'await-approval'; wave: number }
  | { type: 'start-wave'; wave: number }
  | { type: 'notify'; deviceIds: string[]; nextNotifyAt: number }
  | { type: 'start-bake'; wave: number; bakeUntil: number }
  | { type: 'record-gates'; wave: number; results: GateResult[] }
  | { type: 'halt'; wave: number; breach: GateResult; results: GateResult[]; rollback: boolean }
  | { type: 'pass-wave'; wave: number; next: number | undefined };

export interface Snapshot {
  now: number;
  rollout: RolloutRow;
  waves: readonly WaveRow[];
  devices: readonly DeviceRow[];
  /** Devices the target selects now that the rollout does not hold yet (late joiners), with any incompatibility. */
  joiners: ReadonlyArray<{ deviceId: string; incompatible?: string }>;
  online: ReadonlyMap<string, boolean>;
  /** Devices whose reported state shows this version active at or after the rollout's generation. */
  reportedActive: ReadonlySet<string>;
  /** Whether the maintenance window (if any) is open now. */
  windowOpen: boolean;
  /** Gate verdict for the current wave, when the engine evaluated one. */
  verdict?: GateVerdict;
  random: () => number;
  /** Upper bound on notifications per pass, so one pass stays short at 10,000 devices. */
  maxNotifyPerPass: number;
}

/** Which wave a late joiner goes to: the first wave not started yet, else the current one. */
export function joinerWave(waves: readonly WaveRow[], current: number): number {
  const next = waves.find((w) => w.index > current && (w.state === 'pending' || w.state === 'awaiting-approval'));
  return next ? next.index : current;
}

/** Notifications allowed now by the rate limit, and the limiter's next cursor. */
export function rateLimit(count: number, now: number, cursor: number | undefined, ratePerMinute: number, jitterMs: number, random: () => number): { allowed: number; nextNotifyAt: number } {
  if (ratePerMinute <= 0) return { allowed: count, nextNotifyAt: now };
  const interval = 60_000 / ratePerMinute;
  let at = Math.max(cursor ?? now, now - interval);
  let allowed = 0;
  while (allowed < count && at <= now) {
    allowed++;
    at += interval + (jitterMs > 0 ? random() * jitterMs : 0);
  }
  return { allowed, nextNotifyAt: at };
}

export function planSteps(s: Snapshot): Step[] {
  const steps: Step[] = [];
  const { rollout, now } = s;
  const spec = rollout.spec;
  const current = rollout.currentWave ?? 0;
  const wave = s.waves[current];
  if (!wave) return steps;

  const target = joinerWave(s.waves, current);
  for (const j of s.joiners) steps.push({ type: 'add-device', deviceId: j.deviceId, wave: target, ...(j.incompatible ? { incompatible: j.incompatible } : {}) });

  // Devices that stop progressing are marked, so a wave never waits forever.
  const moved = new Map<string, DeviceRow['state']>();
  for (const d of s.devices) {
    if (!IN_FLIGHT_STATES.includes(d.state)) continue;
    if (s.reportedActive.has(d.deviceId)) {
      steps.push({ type: 'device-transition', deviceId: d.deviceId, transition: { state: 'baking' }, cause: 'reported' });
      moved.set(d.deviceId, 'baking');
    } else if (d.deadlineAt !== undefined && d.deadlineAt <= now) {
      const t = transitionOnDeadline(s.online.get(d.deviceId) ?? false);
      steps.push({ type: 'device-transition', deviceId: d.deviceId, transition: t, cause: 'deadline' });
      moved.set(d.deviceId, t.state);
    }
  }
  if (rollout.state !== 'running') return steps;

  if (wave.state === 'pending') {
    if (current > 0 && spec.strategy.manualApproval && wave.approvedAt === undefined) steps.push({ type: 'await-approval', wave: current });
    else steps.push({ type: 'start-wave', wave: current });
    return steps;
  }
  if (wave.state === 'awaiting-approval') {
    if (wave.approvedAt !== undefined) steps.push({ type: 'start-wave', wave: current });
    return steps;
  }
  if (wave.state !== 'notifying' && wave.state !== 'baking') return steps;

  if (s.verdict) {
    steps.push({ type: 'record-gates', wave: current, results: s.verdict.results });
    if (s.verdict.breach) {
      steps.push({ type: 'halt', wave: current, breach: s.verdict.breach, results: s.verdict.results, rollback: spec.strategy.onBreach === 'rollback' });
      return steps;
    }
  }

  const stateOf = (d: DeviceRow): DeviceRow['state'] => moved.get(d.deviceId) ?? d.state;
  const active = s.devices.filter((d) => d.wave <= current);
  const pending = active.filter((d) => stateOf(d) === 'pending');
  if (pending.length > 0 && s.windowOpen) {
    const { allowed, nextNotifyAt } = rateLimit(Math.min(pending.length, s.maxNotifyPerPass), now, rollout.nextNotifyAt, spec.strategy.ratePerMinute, spec.strategy.jitterMs, s.random);
    if (allowed > 0) steps.push({ type: 'notify', deviceIds: pending.slice(0, allowed).map((d) => d.deviceId), nextNotifyAt });
  }

  const unsettled = active.some((d) => stateOf(d) === 'pending' || IN_FLIGHT_STATES.includes(stateOf(d)));
  if (wave.state === 'notifying' && !unsettled) {
    steps.push({ type: 'start-bake', wave: current, bakeUntil: now + spec.strategy.bakeMs });
  } else if (wave.state === 'baking' && !unsettled && wave.bakeUntil !== undefined && now >= wave.bakeUntil) {
    const next = s.waves.find((w) => w.index > current)?.index;
    steps.push({ type: 'pass-wave', wave: current, next });
  }
  return steps;
}

/** Install numbers of one wave for the gates. */
export function installNumbers(devices: readonly DeviceRow[], wave: number): { devices: number; finished: number; failed: number } {
  const members = devices.filter((d) => d.wave === wave && d.state !== 'skipped');
  return {
    devices: members.length,
    finished: members.filter((d) => FINISHED_STATES.includes(d.state)).length,
    failed: members.filter((d) => FAILED_STATES.includes(d.state)).length,
  };
}
