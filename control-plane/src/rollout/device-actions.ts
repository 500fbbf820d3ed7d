/**
 * What the engine does to one device's desired state: notify it of the rollout's version, or put
 * back what it had before. Both are idempotent across a crash at any point:
 *  - notify writes `previous` first, publishes, then records the generation; on restart a pending
 *    device whose desired state already carries this rollout is adopted, never published again;
 *  - revert only publishes while the desired entry still belongs to this rollout.
 * Both read the device's whole model list and write it back changed, so each write is a
 * compare-and-set on the generation they read (issue 16): a change that landed in between (an
 * operator PUT, another rollout of another model) makes the write fail, and the decision is taken
 * again on the fresh state instead of overwriting it.
 */
import { EdgefleetError, isEdgefleetError, type DesiredModel } from '@edgefleet/shared';
import type { DesiredStatePort } from './ports.js';
import type { DeviceRow, RolloutRow, RolloutStore } from './rollout-store.js';

export interface NotifyOutcome {
  generation: number;
  /** False when the desired state already carried this rollout (adopted after a restart). */
  published: boolean;
}

/** Attempts per write before STORE_CONFLICT: each lost one means another writer just succeeded. */
export const DESIRED_WRITE_ATTEMPTS = 8;

type Current = { generation: number; models: DesiredModel[] };

/**
 * Reads the device's desired models and writes what `decide` makes of them, retrying on the fresh
 * state while another writer wins; `decide` returns a value instead of models to write nothing.
 */
async function readModifyWrite<T>(desired: DesiredStatePort, deviceId: string, decide: (current: Current) => Promise<{ write: DesiredModel[]; result: (generation: number) => T } | { done: T }>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const current = await desired.getDesiredModels(deviceId);
    const decision = await decide(current);
    if ('done' in decision) return decision.done;
    try {
      const { generation } = await desired.setDeviceModels(deviceId, decision.write, current.generation);
      return decision.result(generation);
    } catch (err) {
      if (!isEdgefleetError(err, 'STORE_CONFLICT')) throw err;
      if (attempt >= DESIRED_WRITE_ATTEMPTS) {
        throw new EdgefleetError('STORE_CONFLICT', `the desired state of ${deviceId} kept changing; gave up after ${attempt} attempts`, { cause: err });
      }
    }
  }
}

export async function notifyDevice(store: RolloutStore, desired: DesiredStatePort, rollout: RolloutRow, device: DeviceRow, model: DesiredModel): Promise<NotifyOutcome> {
  // `previous` is ours to (re)write only when this notify recorded it: on a retry the device may hold something else by now.
  const recordsPrevious = device.previous === undefined;
  return await readModifyWrite<NotifyOutcome>(desired, device.deviceId, async (current) => {
    const entry = current.models.find((m) => m.name === rollout.model);
    if (!recordsPrevious && entry?.rolloutId === rollout.id && entry.version === rollout.version && device.notifyCount === 0) {
      return { done: { generation: current.generation, published: false } };
    }
    if (recordsPrevious) await store.updateDevice(rollout.id, device.deviceId, { previous: entry ?? null });
    const others = current.models.filter((m) => m.name !== rollout.model);
    return { write: [...others, { ...model, rolloutId: rollout.id }], result: (generation) => ({ generation, published: true }) };
  });
}

/** Restores the device's previous entry for the model; returns the new generation, or undefined when nothing changed. */
export async function revertDevice(desired: DesiredStatePort, rollout: RolloutRow, device: DeviceRow): Promise<number | undefined> {
  const previous = device.previous;
  if (previous === undefined) return undefined;
  return await readModifyWrite<number | undefined>(desired, device.deviceId, async (current) => {
    const entry = current.models.find((m) => m.name === rollout.model);
    if (!entry || entry.rolloutId !== rollout.id) return { done: undefined };
    const others = current.models.filter((m) => m.name !== rollout.model);
    return { write: previous ? [...others, previous] : others, result: (generation) => generation };
  });
}
