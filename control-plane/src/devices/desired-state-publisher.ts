import { EdgefleetError, encodePayload, desiredStateSchema, type DesiredModel, type DesiredState } from '@edgefleet/shared';
import type { Logger } from 'pino';
import type { DeviceBus } from '../broker/device-bus.js';
import type { Clock } from '../clock.js';
import type { Store } from '../store/store.js';

/**
 * The only writer of desired state. Each change gets generation = previous + 1, is persisted first
 * and then published retained, so a device that connects later (or after a broker restart, via
 * republishAll) always receives the newest generation.
 */
export interface DesiredStatePublisher {
  /**
   * Replaces the device's model set. Throws DEVICE_NOT_FOUND for an unknown device. With
   * `expectedGeneration` it is a compare-and-set: STORE_CONFLICT, nothing written or published,
   * when the stored generation is another one (0: none stored) — the caller decides again on the
   * fresh state (read-modify-write callers such as the rollout engine).
   */
  setDeviceModels(deviceId: string, models: readonly DesiredModel[], options?: { expectedGeneration?: number }): Promise<DesiredState>;
  /** Changes one model entry (add/replace by name, or remove with `undefined`), keeping the others. */
  updateDeviceModel(deviceId: string, name: string, model: DesiredModel | undefined): Promise<DesiredState>;
  get(deviceId: string): Promise<DesiredState | undefined>;
  /** Re-publishes every stored desired state (after a broker (re)connect). Returns how many. */
  republishAll(): Promise<number>;
  /** Subscribes to every new generation (the rollout engine and dashboard listen here). */
  onPublished(listener: (state: DesiredState) => void): () => void;
}

export function createDesiredStatePublisher({ store, bus, clock, logger }: { store: Store; bus: DeviceBus; clock: Clock; logger: Logger }): DesiredStatePublisher {
  // Per-device chains: generation N must reach the broker before N+1, or the retained message
  // could end up older than the database.
  const chains = new Map<string, Promise<unknown>>();
  const listeners = new Set<(state: DesiredState) => void>();
  const serialise = <T>(deviceId: string, fn: () => Promise<T>): Promise<T> => {
    const next = (chains.get(deviceId) ?? Promise.resolve()).then(fn, fn);
    const tail = next.catch(() => undefined);
    chains.set(deviceId, tail);
    void tail.then(() => {
      if (chains.get(deviceId) === tail) chains.delete(deviceId);
    });
    return next;
  };

  const publish = async (state: DesiredState): Promise<void> => {
    try {
      await bus.publish(state.deviceId, 'desired', encodePayload(desiredStateSchema, state), { retain: true });
    } catch (err) {
      // Persisted already: republishAll on reconnect delivers it.
      logger.warn({ err, deviceId: state.deviceId, generation: state.generation }, 'desired state stored but not yet published');
    }
  };

  const stateOf = (deviceId: string, generation: number, models: DesiredModel[]): DesiredState => ({ deviceId, generation, issuedAt: clock.now().toISOString(), models });

  const change = (deviceId: string, build: (previous: readonly DesiredModel[]) => DesiredModel[], expectedGeneration?: number): Promise<DesiredState> =>
    serialise(deviceId, async () => {
      if (!(await store.devices.get(deviceId))) throw new EdgefleetError('DEVICE_NOT_FOUND', `no device with id ${deviceId}`);
      let state: DesiredState | undefined;
      if (expectedGeneration === undefined) {
        state = await store.desired.next(deviceId, (previous, generation) => stateOf(deviceId, generation, build(previous?.models ?? [])));
      } else {
        // The caller built the models from what it read at expectedGeneration; build ignores `previous`.
        state = await store.desired.compareAndSet(deviceId, expectedGeneration, (generation) => stateOf(deviceId, generation, build([])));
        if (!state) throw new EdgefleetError('STORE_CONFLICT', `the desired state of ${deviceId} changed since generation ${expectedGeneration}`, { details: { deviceId, expectedGeneration } });
      }
      await publish(state);
      logger.info({ deviceId, generation: state.generation, models: state.models.map((m) => `${m.name}@${m.version}`) }, 'desired state published');
      for (const listener of listeners) listener(state);
      return state;
    });

  return {
    setDeviceModels: (deviceId, models, options = {}) => change(deviceId, () => [...models], options.expectedGeneration),
    updateDeviceModel: (deviceId, name, model) =>
      change(deviceId, (previous) => {
        const others = previous.filter((m) => m.name !== name);
        return model ? [...others, model] : others;
      }),
    get: (deviceId) => store.desired.get(deviceId),
    async republishAll() {
      const states = await store.desired.all();
      await Promise.all(states.map((s) => serialise(s.deviceId, () => publish(s))));
      return states.length;
    },
    onPublished(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
