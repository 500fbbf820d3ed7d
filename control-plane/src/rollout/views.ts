/** Read models (pure): the `show --json` view of a rollout from its rows. */
import { DEVICE_ROLLOUT_STATES, type RolloutDeviceView, type RolloutView } from '@edgefleet/shared';
import type { DeviceRow, RolloutRow, WaveRow } from './rollout-store.js';

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

export function countByState(devices: readonly DeviceRow[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(DEVICE_ROLLOUT_STATES.map((s) => [s, 0]));
  for (const d of devices) counts[d.state] = (counts[d.state] ?? 0) + 1;
  return counts;
}

export function deviceView(d: DeviceRow): RolloutDeviceView {
  return {
    deviceId: d.deviceId,
    wave: d.wave,
    state: d.state,
    ...(d.reason !== undefined ? { reason: d.reason } : {}),
    ...(d.errorCode !== undefined ? { error: { code: d.errorCode, message: d.reason ?? d.errorCode } } : {}),
    ...(d.generation !== undefined ? { generation: d.generation } : {}),
    ...(d.previous ? { previousVersion: d.previous.version } : {}),
    updatedAt: new Date(d.updatedAt).toISOString(),
  };
}

export function rolloutView(r: RolloutRow, waves: readonly WaveRow[], devices: readonly DeviceRow[], withDevices = false): RolloutView {
  const strip = <T extends Record<string, unknown>>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return strip({
    id: r.id,
    model: r.model,
    version: r.version,
    state: r.state,
    target: r.spec.target,
    strategy: r.spec.strategy,
    gates: r.spec.gates,
    schedule: r.spec.schedule,
    createdAt: new Date(r.createdAt).toISOString(),
    startedAt: iso(r.startedAt),
    finishedAt: iso(r.finishedAt),
    currentWave: r.currentWave,
    waves: waves.map((w) => {
      const members = devices.filter((d) => d.wave === w.index);
      return strip({
        index: w.index,
        state: w.state,
        size: members.length,
        startedAt: iso(w.startedAt),
        bakeUntil: iso(w.bakeUntil),
        finishedAt: iso(w.finishedAt),
        gates: w.gates ?? [],
        counts: countByState(members),
      });
    }),
    counts: countByState(devices),
    halt: r.halt,
    devices: withDevices ? devices.map(deviceView) : undefined,
  });
}
