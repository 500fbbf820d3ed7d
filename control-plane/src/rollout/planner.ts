/**
 * Wave planning (pure): which devices a target selects, how many go into each wave, and the
 * dry-run (issue 7). The engine uses exactly these functions when a rollout starts, which is what
 * makes "the dry-run's waves equal the waves executed" hold while the fleet does not change.
 */
import type { DryRunPlan, RolloutTarget, WaveSpec } from '@edgefleet/shared';
import { incompatibility } from './compatibility.js';
import type { FleetDevice, ModelRequirements } from './ports.js';

export function matchesTarget(target: RolloutTarget, device: Pick<FleetDevice, 'id' | 'tags'>): boolean {
  switch (target.kind) {
    case 'all':
      return true;
    case 'devices':
      return target.deviceIds.includes(device.id);
    case 'tags':
      return Object.entries(target.tags).every(([k, v]) => device.tags[k] === v);
  }
}

/** Devices the target selects, in a stable order (by id) so plans are reproducible. */
export function selectTargets(target: RolloutTarget, devices: readonly FleetDevice[]): FleetDevice[] {
  return devices.filter((d) => matchesTarget(target, d)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Wave sizes for `total` devices. A count adds that many devices; a percentage grows the rollout
 * to that share (rounded up); every wave gets at least one device while any remain; the last
 * wave takes the rest. Empty waves are dropped.
 */
export function planWaveSizes(specs: readonly WaveSpec[], total: number): number[] {
  const sizes: number[] = [];
  let covered = 0;
  specs.forEach((spec, i) => {
    if (covered >= total) return;
    const last = i === specs.length - 1;
    let target = 'count' in spec ? covered + spec.count : Math.ceil((spec.percent / 100) * total - 1e-9);
    if (last) target = total;
    target = Math.min(total, Math.max(covered + 1, target));
    sizes.push(target - covered);
    covered = target;
  });
  return sizes;
}

export interface PlannedDevice {
  deviceId: string;
  wave: number;
}

export interface SkippedDevice {
  deviceId: string;
  reason: 'incompatible';
  detail: string;
}

export interface WavePlan {
  waves: string[][];
  skipped: SkippedDevice[];
}

/** Splits the compatible targets into waves; incompatible devices are skipped with the reason. */
export function planWaves(target: RolloutTarget, specs: readonly WaveSpec[], devices: readonly FleetDevice[], requirements: ModelRequirements): WavePlan {
  const skipped: SkippedDevice[] = [];
  const eligible: string[] = [];
  for (const device of selectTargets(target, devices)) {
    const why = incompatibility(device, requirements);
    if (why) skipped.push({ deviceId: device.id, reason: 'incompatible', detail: why });
    else eligible.push(device.id);
  }
  const waves: string[][] = [];
  let offset = 0;
  for (const size of planWaveSizes(specs, eligible.length)) {
    waves.push(eligible.slice(offset, offset + size));
    offset += size;
  }
  return { waves, skipped };
}

/** Milliseconds to notify `count` devices at `ratePerMinute` (0 = unlimited), jitter excluded. */
export function notifySpanMs(count: number, ratePerMinute: number): number {
  if (ratePerMinute <= 0 || count <= 1) return 0;
  return Math.ceil(((count - 1) * 60_000) / ratePerMinute);
}

export interface DryRunInput {
  model: string;
  version: string;
  plan: WavePlan;
  startsAtMs: number;
  bakeMs: number;
  ratePerMinute: number;
  jitterMs: number;
}

/**
 * The dry-run timeline assuming every wave passes its gates at the end of its bake and devices
 * install instantly: a lower bound, shown so an operator sees the order and pacing.
 */
export function dryRun(input: DryRunInput): DryRunPlan {
  let at = input.startsAtMs;
  const waves = input.plan.waves.map((deviceIds, index) => {
    const from = at;
    const until = from + notifySpanMs(deviceIds.length, input.ratePerMinute) + input.jitterMs;
    at = until + input.bakeMs;
    return { index, deviceIds, notifyFrom: new Date(from).toISOString(), notifyUntil: new Date(until).toISOString() };
  });
  return {
    model: input.model,
    version: input.version,
    startsAt: new Date(input.startsAtMs).toISOString(),
    waves,
    skipped: input.plan.skipped.map((s) => ({ deviceId: s.deviceId, reason: s.reason, detail: s.detail })),
  };
}
