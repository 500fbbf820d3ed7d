/**
 * What the rollout engine needs from the rest of the control plane, as small ports (issue 7).
 * The server wires the real registry, publisher, broker subscription, telemetry and audit log in
 * (see wire.ts); the engine's tests use the in-memory versions in memory-ports.ts with a real SQLite file.
 */
import type { DeploymentEvent, DesiredModel, ExecutionProvider, ReportedState } from '@edgefleet/shared';
import type { CohortHealthSource } from '../telemetry/cohort-health.js';

export type { CohortHealth, CohortHealthQuery, CohortHealthSource } from '../telemetry/cohort-health.js';

/** A device as the engine sees it: enough to select, check compatibility and tell offline from stuck. */
export interface FleetDevice {
  id: string;
  tags: Record<string, string>;
  online: boolean;
  /** The retained reported state, when the device has sent one. */
  reported?: ReportedState;
}

export interface DeviceDirectory {
  listDevices(): Promise<FleetDevice[]>;
  getDevice(id: string): Promise<FleetDevice | undefined>;
}

/** What a model version needs from a device; every field optional (unknown = no check). */
export interface ModelRequirements {
  /** Highest ai.onnx opset the graph imports. */
  opset?: number;
  /** Execution providers the model cannot run without (e.g. a TensorRT-only graph). */
  requiredEps?: ExecutionProvider[];
  minMemoryBytes?: number;
  /** Artifact size; the device needs this much free disk plus a margin. */
  sizeBytes?: number;
  /** `tflite` needs an agent that reports a LiteRT runtime. */
  format?: 'onnx' | 'tflite';
}

export interface ModelCatalog {
  /** The desired-state entry for name@version (artifact ref, golden input, probation), or undefined when unknown. */
  desiredModel(name: string, version: string): Promise<DesiredModel | undefined>;
  requirements(name: string, version: string): Promise<ModelRequirements>;
}

/**
 * Desired-state publishing. Each set bumps the device's generation and publishes it retained;
 * `getDesiredModels` reads the last desired state, which makes notifying idempotent across restarts.
 * With `expectedGeneration` the set is a compare-and-set: STORE_CONFLICT when the device's
 * generation is no longer that one (0: no desired state yet), and nothing is written or published.
 */
export interface DesiredStatePort {
  getDesiredModels(deviceId: string): Promise<{ generation: number; models: DesiredModel[] }>;
  setDeviceModels(deviceId: string, models: DesiredModel[], expectedGeneration?: number): Promise<{ generation: number }>;
}

export interface DeploymentEventSource {
  /**
   * Calls `handler` for every parsed deployment event; returns the unsubscribe function. The
   * handler's promise settles when the event is stored (the source may acknowledge it then).
   * `applies`, read right after each handler call, says whether this process applied the event at
   * all: a replica that does not lead hears it too but leaves the acknowledgement to the leader.
   */
  onDeploymentEvent(handler: (event: DeploymentEvent) => void | Promise<void>, options?: { applies?: () => boolean }): () => void;
}

export interface RolloutAuditEntry {
  actor: string;
  action: string;
  subject: string;
  details?: Record<string, unknown>;
}

export interface RolloutAuditLog {
  record(entry: RolloutAuditEntry): void | Promise<void>;
}

export interface RolloutClock {
  now(): number;
}

export const systemRolloutClock: RolloutClock = { now: () => Date.now() };

export interface RolloutPorts {
  devices: DeviceDirectory;
  models: ModelCatalog;
  desired: DesiredStatePort;
  events: DeploymentEventSource;
  health: CohortHealthSource;
  audit: RolloutAuditLog;
  clock: RolloutClock;
  /** [0, 1); injected so jitter is reproducible in tests. */
  random?: () => number;
}
