/**
 * The control plane is SIGKILLed in the middle of a wave and restarted on the same data directory
 * (issue 7): the rollout resumes from the store and completes, with real agent processes, and no
 * device is notified twice (one desired-state generation per device carries the rollout).
 * The control plane runs as a child process from control-plane/dist (built here if needed).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rolloutEventSchema, rolloutViewSchema, type RolloutView } from '@edgefleet/shared';
import { ensureAgentBuilt, spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { freePort, tmpDataDir, type TmpDir } from '../helpers/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEVICES = 3;

/** The child: a control plane with the rollout plugin; with SETUP it also pushes two model versions and provisions devices. */
const CHILD = `
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { controlPlaneConfigSchema } from '@edgefleet/shared';
import { createControlPlane, rolloutPlugin, telemetryPlugin } from '@edgefleet/control-plane';
const [config, setup] = [JSON.parse(process.env.CP_CONFIG), process.env.CP_SETUP ? JSON.parse(process.env.CP_SETUP) : undefined];
const cp = createControlPlane({ config: controlPlaneConfigSchema.parse(config), plugins: [telemetryPlugin(), rolloutPlugin({ tickIntervalMs: 200 })] });
await cp.start();
if (setup) {
  for (const [version, file] of setup.models) await cp.models.push({ name: 'adder', version, content: Readable.from([Buffer.from(file, 'base64')]), pushedBy: 'e2e' });
  const devices = await cp.devices.add(setup.devices.map((id) => ({ id, tags: { site: 'lab' } })));
  writeFileSync(join(config.dataDir, 'devices.json'), JSON.stringify(devices.map((d) => ({ id: d.device.id, secret: d.secret }))));
}
process.stdout.write('ready\\n');
process.on('SIGTERM', () => void cp.stop().then(() => process.exit(0)));
`;

describe('control plane SIGKILLed mid-wave', () => {
  let dir: TmpDir;
  let child: ChildProcess | undefined;
  const agents: AgentProcess[] = [];
  let config: Record<string, unknown>;
  let http = '';
  let token = '';

  async function startControlPlane(setup?: unknown): Promise<ChildProcess> {
    const proc = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      cwd: join(ROOT, 'test'),
      env: { ...process.env, CP_CONFIG: JSON.stringify(config), ...(setup ? { CP_SETUP: JSON.stringify(setup) } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      proc.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      proc.on('exit', (code) => reject(new Error(`control plane exited ${code}: ${stderr.slice(-2000)}`)));
    });
    return proc;
  }

  async function api(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${http}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return await response.json();
  }

  async function waitView(id: string, done: (v: RolloutView) => boolean, timeoutMs = 60_000): Promise<RolloutView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = rolloutViewSchema.parse(await api('GET', `/rollouts/${id}?devices=true`));
      if (done(view) || Date.now() > deadline) return view;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  beforeAll(async () => {
    await ensureAgentBuilt();
    await promisify(execFile)('npx', ['tsc', '-b', 'control-plane/tsconfig.json'], { cwd: ROOT });
    dir = await tmpDataDir('edgefleet-rollout-restart-');
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    config = { dataDir: join(dir.path, 'cp'), http: { host: '127.0.0.1', port: httpPort }, mqtt: { host: '127.0.0.1', port: mqttPort }, logLevel: 'warn' };
    mkdirSync(config.dataDir as string, { recursive: true });
    http = `http://127.0.0.1:${httpPort}`;
    const { addModel } = await import('../helpers/onnx-models.js');
    const ids = Array.from({ length: DEVICES }, (_, i) => `kill-${i}`);
    child = await startControlPlane({ models: [['1.0.0', addModel({ addend: 1 }).toString('base64')], ['2.0.0', addModel({ addend: 2 }).toString('base64')]], devices: ids });
    token = readFileSync(join(config.dataDir as string, 'admin.token'), 'utf8').trim();
    const devices = JSON.parse(readFileSync(join(config.dataDir as string, 'devices.json'), 'utf8')) as Array<{ id: string; secret: string }>;
    const publicKey = readFileSync(join(config.dataDir as string, 'fleet-signing.pub'), 'utf8');
    for (const d of devices) {
      agents.push(await spawnAgent({ deviceId: d.id, brokerUrl: `mqtt://127.0.0.1:${mqttPort}`, fleetPublicKey: publicKey, dataDir: join(dir.path, d.id), config: { broker: { url: `mqtt://127.0.0.1:${mqttPort}`, username: d.id, password: d.secret, reconnectMinMs: 200, reconnectMaxMs: 1000 } } }));
    }
  }, 180_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop().catch(() => a.kill())));
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await dir?.cleanup();
  });

  it('resumes the rollout after a restart and completes it with one notification per device', async () => {
    const created = rolloutViewSchema.parse(
      await api('POST', '/rollouts', { model: 'adder', version: '2.0.0', target: { kind: 'all' }, strategy: { waves: [{ count: 1 }, { percent: 100 }], bakeMs: 4000, ratePerMinute: 0, deviceDeadlineMs: 60_000 } }),
    );
    const baking = await waitView(created.id, (v) => v.waves[0]?.state === 'baking');
    expect(baking.waves[0]?.state).toBe('baking');

    child!.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    child = await startControlPlane();

    const view = await waitView(created.id, (v) => ['succeeded', 'halted', 'rolled-back', 'aborted'].includes(v.state), 90_000);
    expect(view.state).toBe('succeeded');
    expect(view.counts.succeeded).toBe(DEVICES);
    const { events } = (await api('GET', `/rollouts/${created.id}/events?limit=5000`)) as { events: unknown[] };
    const notified = events.map((e) => rolloutEventSchema.parse(e)).filter((e) => e.type === 'device' && e.data.to === 'notified');
    expect(notified.map((e) => e.data.deviceId).sort()).toEqual(['kill-0', 'kill-1', 'kill-2']);
    expect(notified.every((e) => e.data.published === true)).toBe(true);
    // Every agent applied exactly one generation carrying 2.0.0.
    for (const agent of agents) {
      const applied = agent.logs.filter((l) => l.msg === 'deployment active' && (l.event as { version?: string } | undefined)?.version === '2.0.0');
      expect(applied).toHaveLength(1);
    }
  }, 180_000);
});
