/**
 * Adapters from the control plane's real parts (device store, model registry, desired-state
 * publisher, device bus, telemetry, audit log) to the rollout engine's ports.
 */
import { EdgefleetError, executionProviderSchema, type ExecutionProvider } from '@edgefleet/shared';
import type { DeviceBus } from '../broker/device-bus.js';
import type { Clock } from '../clock.js';
import type { DesiredStatePublisher } from '../devices/desired-state-publisher.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { Store } from '../store/store.js';
import type { CohortHealthSource } from '../telemetry/cohort-health.js';
import type { FleetDevice, ModelRequirements, RolloutPorts } from './ports.js';

/** Model metadata keys (ONNX metadata_props) a publisher sets to declare what the model needs. */
export const REQUIREMENT_METADATA = { requiredEps: 'edgefleet.required_eps', minMemoryBytes: 'edgefleet.min_memory_bytes' } as const;

export interface RealRolloutDeps {
  store: Pick<Store, 'devices' | 'models' | 'audit'>;
  bus: DeviceBus;
  desired: DesiredStatePublisher;
  models: ModelRegistry;
  health: CohortHealthSource;
  clock: Clock;
  random?: () => number;
}

const notFound = (err: unknown): boolean => err instanceof EdgefleetError && (err.code === 'MODEL_NOT_FOUND' || err.code === 'MODEL_VERSION_NOT_FOUND');

/** The engine's desired-state port over the control plane's publisher. */
export function desiredStatePortFrom(publisher: DesiredStatePublisher): RolloutPorts['desired'] {
  return {
    async getDesiredModels(id) {
      const state = await publisher.get(id);
      return { generation: state?.generation ?? 0, models: state?.models ?? [] };
    },
    async setDeviceModels(id, models, expectedGeneration) {
      return { generation: (await publisher.setDeviceModels(id, models, expectedGeneration === undefined ? {} : { expectedGeneration })).generation };
    },
  };
}

export function rolloutPortsFrom(deps: RealRolloutDeps): RolloutPorts {
  const toFleet = (row: Awaited<ReturnType<Store['devices']['list']>>[number]): FleetDevice => ({
    id: row.id,
    tags: row.tags,
    online: row.status === 'online',
    ...(row.reported ? { reported: row.reported } : {}),
  });
  return {
    devices: {
      listDevices: async () => (await deps.store.devices.list()).map(toFleet),
      getDevice: async (id) => {
        const row = await deps.store.devices.get(id);
        return row ? toFleet(row) : undefined;
      },
    },
    models: {
      async desiredModel(name, version) {
        try {
          return await deps.models.desiredModel(name, version);
        } catch (err) {
          if (notFound(err)) return undefined;
          throw err;
        }
      },
      async requirements(name, version): Promise<ModelRequirements> {
        const record = await deps.store.models.get(name, version);
        if (!record) return {};
        const opsets = record.inspection.opsets.filter((o) => o.domain === '' || o.domain === 'ai.onnx').map((o) => o.version);
        const eps = record.inspection.metadata[REQUIREMENT_METADATA.requiredEps];
        const memory = Number(record.inspection.metadata[REQUIREMENT_METADATA.minMemoryBytes]);
        return {
          sizeBytes: record.size,
          format: record.inspection.format,
          ...(opsets.length ? { opset: Math.max(...opsets) } : {}),
          ...(eps ? { requiredEps: eps.split(',').map((e) => e.trim()).filter((e): e is ExecutionProvider => executionProviderSchema.safeParse(e).success) } : {}),
          ...(Number.isFinite(memory) && memory > 0 ? { minMemoryBytes: memory } : {}),
        };
      },
    },
    desired: desiredStatePortFrom(deps.desired),
    // `stores`: the engine's handler resolves once the event is stored, so the bus acks it to the agent then.
    events: { onDeploymentEvent: (handler, options) => deps.bus.on('events', (m) => handler(m.payload), { stores: options?.applies ?? true }) },
    health: deps.health,
    audit: {
      record: async (e) => {
        await deps.store.audit.append({ at: deps.clock.now().toISOString(), actor: e.actor, action: e.action, target: e.subject, status: 200, outcome: 'ok', ...(e.details ? { details: e.details } : {}) });
      },
    },
    clock: { now: () => deps.clock.now().getTime() },
    ...(deps.random ? { random: deps.random } : {}),
  };
}
