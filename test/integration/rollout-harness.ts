/**
 * An engine-level harness for rollout tests: the real rollout service on a real SQLite file, with
 * in-memory registry/publisher/telemetry ports and in-process devices that answer each desired-state
 * publish with the deployment events a real agent sends (behaviour chosen per version).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { DeploymentEvent, DesiredModel } from '@edgefleet/shared';
import { createRolloutService, createSqliteDatabase, migrate, type FleetDevice, type RolloutService, type SingletonGate, type SqlDatabase } from '@edgefleet/control-plane';
import { manualClock, memoryAudit, memoryCatalog, memoryDesiredState, memoryDirectory, memoryEvents, memoryHealth, type ManualClock, type PublishRecord } from '@edgefleet/control-plane/testing';

export type VersionBehaviour = 'good' | 'smoke-fail' | 'silent' | { p95LatencyMs: number };

export function desiredModel(name: string, version: string): DesiredModel {
  return {
    name,
    version,
    artifact: { sha256: 'a'.repeat(64), size: 1024, createdAt: '2026-01-01T00:00:00.000Z', signature: 'c2ln' },
  };
}

export interface Harness {
  clock: ManualClock;
  directory: ReturnType<typeof memoryDirectory>;
  desired: ReturnType<typeof memoryDesiredState>;
  health: ReturnType<typeof memoryHealth>;
  audit: ReturnType<typeof memoryAudit>;
  events: ReturnType<typeof memoryEvents>;
  service: RolloutService;
  sql: SqlDatabase;
  /** Behaviour per version; `deviceBehaviour` overrides it per device. */
  behaviour: Map<string, VersionBehaviour>;
  deviceBehaviour: Map<string, VersionBehaviour>;
  /** Runs engine passes until nothing changes (or `max` passes), letting device events land in between. */
  settle(max?: number): Promise<void>;
  /** The version each device's desired state names for the model now. */
  desiredVersions(model: string): Map<string, string | undefined>;
  /** Starts a fresh engine on the same database file (a control-plane restart). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function createHarness(opts: { dir: string; devices: FleetDevice[]; model: string; versions: string[]; initialVersion?: string; lease?: SingletonGate }): Promise<Harness> {
  const clock = manualClock();
  const directory = memoryDirectory(opts.devices);
  const events = memoryEvents();
  const behaviour = new Map<string, VersionBehaviour>();
  const deviceBehaviour = new Map<string, VersionBehaviour>();
  const health = memoryHealth();
  const audit = memoryAudit();
  let seq = 0;

  const emit = (record: PublishRecord, m: DesiredModel, type: DeploymentEvent['type'], extra: Record<string, unknown> = {}): void => {
    events.publish({ deviceId: record.deviceId, eventId: randomUUID(), seq: ++seq, at: new Date(clock.now()).toISOString(), generation: record.generation, model: m.name, version: m.version, ...(m.rolloutId ? { rolloutId: m.rolloutId } : {}), type, ...extra } as DeploymentEvent);
  };
  // The in-process device: answers a desired state as the agent would, and reports health per version.
  const desired = memoryDesiredState((record) => {
    const m = record.models.find((x) => x.name === opts.model);
    if (!m?.rolloutId) return;
    const b = deviceBehaviour.get(record.deviceId) ?? behaviour.get(m.version) ?? 'good';
    if (b === 'silent') return;
    emit(record, m, 'queued');
    emit(record, m, 'downloading', { bytes: 1024, total: 1024 });
    emit(record, m, 'verified');
    emit(record, m, 'loading');
    emit(record, m, 'smoke-testing');
    if (b === 'smoke-fail') {
      // Without rolloutId, as some agent paths send it: the engine must match the event by generation.
      emit({ ...record }, { ...m, rolloutId: undefined }, 'failed', { error: { code: 'SMOKE_TEST_FAILED', message: 'output is NaN' } });
      return;
    }
    emit(record, m, 'active');
    health.set(record.deviceId, m.version, { requests: 100, failures: 0, p95LatencyMs: typeof b === 'object' ? b.p95LatencyMs : 10, availability: 1 });
  });
  for (const d of opts.devices) {
    if (opts.initialVersion) {
      desired.states.set(d.id, { generation: 1, models: [desiredModel(opts.model, opts.initialVersion)] });
      health.set(d.id, opts.initialVersion, { requests: 100, failures: 0, p95LatencyMs: 10, availability: 1 });
    }
  }
  const file = join(opts.dir, 'control-plane.db');
  const catalog = memoryCatalog(opts.versions.map((v) => ({ model: desiredModel(opts.model, v) })));
  let sql = createSqliteDatabase(file);
  const make = (): Promise<RolloutService> =>
    createRolloutService({
      sql,
      migrate: (ns, steps) => migrate(sql, ns, steps),
      ports: { devices: directory, models: catalog, desired, events, health, audit, clock, random: () => 0.5 },
      tickIntervalMs: 3_600_000,
      ...(opts.lease ? { lease: opts.lease } : {}),
      onError: (err) => {
        throw err;
      },
    });
  let service = await make();
  await service.engine.start();

  const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
  const harness: Harness = {
    clock, directory, desired, health, audit, events, behaviour, deviceBehaviour,
    get service() {
      return service;
    },
    get sql() {
      return sql;
    },
    async settle(max = 20) {
      for (let i = 0; i < max; i++) {
        const before = desired.published.length + (await sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM rollout_events'))!.n;
        await service.engine.tick();
        await flush();
        await flush();
        await service.engine.tick();
        const after = desired.published.length + (await sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM rollout_events'))!.n;
        if (after === before) return;
      }
    },
    desiredVersions(model) {
      return new Map([...desired.states].map(([id, s]) => [id, s.models.find((m) => m.name === model)?.version]));
    },
    async restart() {
      await service.engine.stop();
      await sql.close();
      sql = createSqliteDatabase(file);
      service = await make();
      await service.engine.start();
    },
    async close() {
      await service.engine.stop();
      await sql.close();
    },
  };
  return harness;
}

export function fleet(n: number, tags: Record<string, string> = {}): FleetDevice[] {
  return Array.from({ length: n }, (_, i) => ({ id: `dev-${String(i).padStart(3, '0')}`, tags, online: true }));
}
