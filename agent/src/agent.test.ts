import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { agentConfigSchema, EdgefleetError, type HardwareProfile } from '@edgefleet/shared';
import { createAgent, type AgentApi, type CreateAgentOptions } from './agent.js';
import { createFakeSessionFactory } from './inference/fake-session-factory.js';
import { createInferenceRuntime } from './inference/runtime.js';
import type { InferenceRuntime } from './inference/runtime-port.js';
import { createLogger } from './log/index.js';

const hardware: HardwareProfile = {
  hardwareClass: 'x86-cpu',
  cpu: { model: 'test', arch: 'x64', cores: 2, physicalCores: 2 },
  memoryBytes: 4 * 1024 ** 3,
  os: { platform: 'linux', distro: 'test', release: '1', kernel: '6' },
  nvidiaGpus: [],
  vulkan: false,
  onnxruntime: { version: '1.30.0', backends: [{ name: 'cpu', bundled: true }] },
};

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** An agent on a fresh data dir, pointed at a broker port nothing listens on, with its warnings recorded. */
function rig(overrides: Partial<CreateAgentOptions> = {}, config: Record<string, unknown> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'agent-lifecycle-'));
  dirs.push(dataDir);
  const lines: { level: number; msg: string; part?: string }[] = [];
  const log = createLogger({ level: 'warn', write: (line) => void lines.push(JSON.parse(line) as never) });
  const agent = createAgent({
    config: agentConfigSchema.parse({
      deviceId: 'agent-unit',
      dataDir,
      broker: { url: 'mqtt://127.0.0.1:1', reconnectMinMs: 60_000, reconnectMaxMs: 60_000 },
      fleetPublicKey: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----',
      ...config,
    }),
    log,
    hardware,
    runtime: () => createInferenceRuntime({ hardware, sessionFactory: createFakeSessionFactory() }),
    ...overrides,
  });
  const walFiles = (): boolean => existsSync(join(dataDir, 'state.db-wal')) || existsSync(join(dataDir, 'state.db-shm'));
  return { agent, lines, walFiles };
}

describe('agent lifecycle', () => {
  it('starts and stops cleanly, closing the database', async () => {
    const r = rig();
    await r.agent.start();
    const { db } = r.agent.parts;
    expect(r.agent.lifecycle.state).toBe('running');
    expect(await r.agent.stop()).toEqual({ drained: true });
    expect(r.agent.lifecycle.state).toBe('stopped');
    expect(db.open).toBe(false);
    expect(r.walFiles()).toBe(false);
  });

  it('closes the database when start fails after it was opened (the runtime cannot start)', async () => {
    let walWhileStarting = false;
    const r = rig({
      runtime: async () => {
        walWhileStarting = r.walFiles();
        throw new EdgefleetError('INTERNAL', 'no runtime today');
      },
    });
    await expect(r.agent.start()).rejects.toThrow('no runtime today');
    expect(walWhileStarting).toBe(true);
    // SQLite removes the WAL and shared-memory files when the last connection closes.
    expect(r.walFiles()).toBe(false);
    expect(r.agent.lifecycle.state).toBe('stopped');
  });

  it('releases everything when start fails at its last step (the local API cannot listen)', async () => {
    let db: { open: boolean } | undefined;
    const r = rig({
      api: async (agent) => {
        db = agent.parts.db;
        throw new EdgefleetError('INTERNAL', 'port in use');
      },
    });
    await expect(r.agent.start()).rejects.toThrow('port in use');
    expect(db?.open).toBe(false);
    expect(r.agent.lifecycle.state).toBe('stopped');
  });

  it('stop() never throws: failing parts are logged, the rest still stop, and drained is false', async () => {
    let db: { open: boolean } | undefined;
    const failingApi: AgentApi = {
      close: () => {
        throw new Error('api close exploded');
      },
    };
    const r = rig({
      runtime: async () => {
        const real = await createInferenceRuntime({ hardware, sessionFactory: createFakeSessionFactory() });
        const runtime: InferenceRuntime = { ...real, close: async () => Promise.reject(new Error('runtime close exploded')) };
        return runtime;
      },
      api: async (agent) => {
        db = agent.parts.db;
        return failingApi;
      },
    });
    await r.agent.start();
    expect(await r.agent.stop()).toEqual({ drained: false });
    const failed = r.lines.filter((l) => l.msg === 'stopping a part failed').map((l) => l.part);
    expect(failed).toEqual(['local API', 'inference runtime']);
    expect(db?.open).toBe(false);
    expect(r.agent.lifecycle.state).toBe('stopped');
  });

  it('bounds every drain by the deadline: a part that never stops does not hold stop()', async () => {
    const r = rig({ api: async () => ({ close: () => new Promise<void>(() => undefined) }) }, { drainDeadlineMs: 300 });
    await r.agent.start();
    const { db } = r.agent.parts;
    const started = performance.now();
    expect(await r.agent.stop()).toEqual({ drained: false });
    expect(performance.now() - started).toBeLessThan(5000);
    expect(r.lines.some((l) => l.msg === 'part did not stop within its drain deadline' && l.part === 'local API')).toBe(true);
    expect(db.open).toBe(false);
  });

  it('a second stop() while draining shares the first one', async () => {
    const r = rig();
    await r.agent.start();
    const [a, b] = await Promise.all([r.agent.stop(), r.agent.stop()]);
    expect(a).toBe(b);
    expect(await r.agent.stop()).toEqual({ drained: true });
  });
});
