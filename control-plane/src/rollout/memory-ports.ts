/**
 * In-memory versions of the rollout engine's ports, for engine tests (with a real SQLite store) and
 * the simulated fleet of the benchmark. They keep the contract of the real ones: generations rise by
 * one per set, events are delivered asynchronously, cohort health answers for exactly the devices asked.
 */
import { EdgefleetError, type DeploymentEvent, type DesiredModel, type ReportedState } from '@edgefleet/shared';
import type { RolloutAuditEntry, RolloutAuditLog, RolloutClock, CohortHealth, CohortHealthQuery, CohortHealthSource, DeploymentEventSource, DesiredStatePort, DeviceDirectory, FleetDevice, ModelCatalog, ModelRequirements } from './ports.js';

export interface ManualClock extends RolloutClock {
  set(ms: number): void;
  advance(ms: number): void;
}

export function manualClock(start = Date.parse('2026-01-01T00:00:00Z')): ManualClock {
  let now = start;
  return { now: () => now, set: (ms) => void (now = ms), advance: (ms) => void (now += ms) };
}

export function memoryDirectory(devices: FleetDevice[] = []): DeviceDirectory & { devices: Map<string, FleetDevice>; upsert(d: FleetDevice): void; report(id: string, reported: ReportedState): void } {
  const map = new Map(devices.map((d) => [d.id, d]));
  return {
    devices: map,
    upsert: (d) => void map.set(d.id, d),
    report(id, reported) {
      const d = map.get(id);
      if (d) map.set(id, { ...d, reported });
    },
    listDevices: async () => [...map.values()],
    getDevice: async (id) => map.get(id),
  };
}

export function memoryCatalog(models: Array<{ model: DesiredModel; requirements?: ModelRequirements }>): ModelCatalog {
  const key = (n: string, v: string): string => `${n}@${v}`;
  const map = new Map(models.map((m) => [key(m.model.name, m.model.version), m]));
  return {
    desiredModel: async (n, v) => map.get(key(n, v))?.model,
    requirements: async (n, v) => map.get(key(n, v))?.requirements ?? {},
  };
}

export interface PublishRecord {
  deviceId: string;
  generation: number;
  models: DesiredModel[];
}

/** Desired states kept in memory; every set is recorded so tests can assert "never twice per generation". */
export function memoryDesiredState(onSet?: (record: PublishRecord) => void): DesiredStatePort & { published: PublishRecord[]; states: Map<string, { generation: number; models: DesiredModel[] }> } {
  const states = new Map<string, { generation: number; models: DesiredModel[] }>();
  const published: PublishRecord[] = [];
  return {
    states,
    published,
    getDesiredModels: async (id) => states.get(id) ?? { generation: 0, models: [] },
    async setDeviceModels(id, models, expectedGeneration) {
      const current = states.get(id)?.generation ?? 0;
      if (expectedGeneration !== undefined && expectedGeneration !== current) {
        throw new EdgefleetError('STORE_CONFLICT', `desired state of ${id} is at generation ${current}, not ${expectedGeneration}`);
      }
      const generation = current + 1;
      states.set(id, { generation, models });
      const record = { deviceId: id, generation, models };
      published.push(record);
      onSet?.(record);
      return { generation };
    },
  };
}

export function memoryEvents(): DeploymentEventSource & { publish(e: DeploymentEvent): void } {
  const handlers = new Set<(e: DeploymentEvent) => void | Promise<void>>();
  return {
    onDeploymentEvent(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    // The engine reports a failed event itself; nothing here acknowledges events.
    publish: (e) => queueMicrotask(() => handlers.forEach((h) => void Promise.resolve(h(e)).catch(() => undefined))),
  };
}

export interface DeviceBehaviour {
  requests: number;
  failures: number;
  p95LatencyMs: number;
  availability: number;
}

/** Cohort health from per-(device, version) numbers the test sets; merged as the telemetry service merges. */
export function memoryHealth(): CohortHealthSource & { set(deviceId: string, version: string, b: DeviceBehaviour): void; queries: CohortHealthQuery[] } {
  const table = new Map<string, DeviceBehaviour>();
  const queries: CohortHealthQuery[] = [];
  return {
    queries,
    set: (id, v, b) => void table.set(`${id}@${v}`, b),
    async cohortHealth(q): Promise<CohortHealth> {
      queries.push(q);
      const rows = q.deviceIds.map((id) => table.get(`${id}@${q.version}`)).filter((b): b is DeviceBehaviour => b !== undefined);
      const requests = rows.reduce((a, b) => a + b.requests, 0);
      const failures = rows.reduce((a, b) => a + b.failures, 0);
      // p95 of a merged cohort: the request-weighted mean of device p95s is a fair stand-in for equal devices.
      const p95 = requests ? rows.reduce((a, b) => a + b.p95LatencyMs * b.requests, 0) / requests : undefined;
      const availability = q.deviceIds.length ? q.deviceIds.reduce((a, id) => a + (table.get(`${id}@${q.version}`)?.availability ?? 0), 0) / q.deviceIds.length : undefined;
      return {
        model: q.model, version: q.version, from: q.from, to: q.to, requests, failures,
        failureRate: requests ? failures / requests : undefined, failuresByReason: failures ? { INFERENCE_FAILED: failures } : {},
        p95LatencyMs: p95, meanLatencyMs: p95, latencySamples: requests, samples: rows.length, devicesReporting: rows.length,
        devices: q.deviceIds.length, availability, availabilitySlots: { seen: 0, expected: 0 },
      };
    },
  };
}

export function memoryAudit(): RolloutAuditLog & { entries: RolloutAuditEntry[] } {
  const entries: RolloutAuditEntry[] = [];
  return { entries, record: (e) => void entries.push(e) };
}
