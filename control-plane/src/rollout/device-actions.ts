/**
 * What the engine does to one device's desired state: notify it of the rollout's version, or put
 * back what it had before. Both are idempotent across a crash at any point:
 *  - notify writes `previous` first, publishes, then records the generation; on restart a pending
 *    device whose desired state already carries this rollout is adopted, never published again;
 *  - revert only publishes while the desired entry still belongs to this rollout.
 */
import type { DesiredModel } from '@edgefleet/shared';
import type { DesiredStatePort } from './ports.js';
import type { DeviceRow, RolloutRow, RolloutStore } from './rollout-store.js';

export interface NotifyOutcome {
  generation: number;
  /** False when the desired state already carried this rollout (adopted after a restart). */
  published: boolean;
}

export async function notifyDevice(store: RolloutStore, desired: DesiredStatePort, rollout: RolloutRow, device: DeviceRow, model: DesiredModel): Promise<NotifyOutcome> {
  const current = await desired.getDesiredModels(device.deviceId);
  const entry = current.models.find((m) => m.name === rollout.model);
  if (device.previous !== undefined && entry?.rolloutId === rollout.id && entry.version === rollout.version && device.notifyCount === 0) {
    return { generation: current.generation, published: false };
  }
  if (device.previous === undefined) {
    await store.updateDevice(rollout.id, device.deviceId, { previous: entry ?? null });
  }
  const others = current.models.filter((m) => m.name !== rollout.model);
  const { generation } = await desired.setDeviceModels(device.deviceId, [...others, { ...model, rolloutId: rollout.id }]);
  return { generation, published: true };
}

/** Restores the device's previous entry for the model; returns the new generation, or undefined when nothing changed. */
export async function revertDevice(desired: DesiredStatePort, rollout: RolloutRow, device: DeviceRow): Promise<number | undefined> {
  if (device.previous === undefined) return undefined;
  const current = await desired.getDesiredModels(device.deviceId);
  const entry = current.models.find((m) => m.name === rollout.model);
  if (!entry || entry.rolloutId !== rollout.id) return undefined;
  const others = current.models.filter((m) => m.name !== rollout.model);
  const models = device.previous ? [...others, device.previous] : others;
  return (await desired.setDeviceModels(device.deviceId, models)).generation;
}
