/**
 * Fault case: the real control-plane server (`node control-plane/dist/main.js server`, embedded
 * broker, SQLite, built-in plugins) is SIGKILLed while a rollout wave is in progress and restarted
 * on the same data dir and ports. Three real agents. Goals: the rollout completes, every device
 * converges, and no device is notified twice for the rollout (one desired-state generation each).
 * Same fault as test/e2e/rollout-restart.test.ts, but through the shipped CLI entry point and
 * killed inside a wave rather than during a bake.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceListSchema, rolloutEventSchema, rolloutViewSchema, type RolloutView } from '@edgefleet/shared';
import { ensureAgentBuilt, spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { startControlPlane } from '../helpers/control-plane.js';
import { freePort, tmpDataDir, type TmpDir } from '../helpers/index.js';
import { addModel } from '../helpers/onnx-models.js';
import { recordFaultCase, repoRoot } from './lib/results.js';

const DEVICES = 3;
const TERMINAL = ['succeeded', 'halted', 'rolled-back', 'aborted'];
const ids = Array.from({ length: DEVICES }, (_, i) => `cpk-${i}`);

describe('control plane SIGKILLed mid-wave (real server process)', () => {
  let dir: TmpDir;
  let dataDir = '';
  let httpPort = 0;
  let mqttPort = 0;
  let server: ChildProcess | undefined;
  let token = '';
  const agents: AgentProcess[] = [];

  async function api(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`http://127.0.0.1:${httpPort}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return await response.json();
  }

  async function startServer(): Promise<ChildProcess> {
    const args = ['control-plane/dist/main.js', 'server', '--data-dir', dataDir, '--http-host', '127.0.0.1', '--http-port', String(httpPort), '--mqtt-host', '127.0.0.1', '--mqtt-port', String(mqttPort), '--log-level', 'warn'];
    const proc = spawn(process.execPath, args, { cwd: repoRoot(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`control plane exited ${proc.exitCode}: ${stderr.slice(-2000)}`);
      const ok = await api('GET', '/rollouts').then(() => true, () => false);
      if (ok) return proc;
      if (Date.now() > deadline) throw new Error(`control plane not ready: ${stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function waitView(id: string, done: (v: RolloutView) => boolean, timeoutMs: number): Promise<RolloutView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = rolloutViewSchema.parse(await api('GET', `/rollouts/${id}?devices=true`));
      if (done(view) || Date.now() > deadline) return view;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    await ensureAgentBuilt();
    dir = await tmpDataDir('fault-cp-kill-');
    dataDir = join(dir.path, 'cp');
    mkdirSync(dataDir, { recursive: true });
    [httpPort, mqttPort] = [await freePort(), await freePort()];
    // Registry setup through the library on the same data dir, then the real server takes it over.
    const setup = await startControlPlane({ dataDir });
    await setup.pushModel({ name: 'adder', version: '1.0.0', bytes: addModel({ addend: 1 }) });
    await setup.pushModel({ name: 'adder', version: '2.0.0', bytes: addModel({ addend: 2 }) });
    const devices = await Promise.all(ids.map((id) => setup.provisionDevice(id, { site: 'lab' })));
    const publicKey = setup.fleetPublicKeyPem;
    token = setup.adminToken;
    await setup.close();
    server = await startServer();
    const url = `mqtt://127.0.0.1:${mqttPort}`;
    for (const d of devices) {
      agents.push(await spawnAgent({ deviceId: d.id, brokerUrl: url, fleetPublicKey: publicKey, dataDir: join(dir.path, d.id), config: { broker: { url, username: d.id, password: d.secret, reconnectMinMs: 200, reconnectMaxMs: 1000 } } }));
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop().catch(() => a.kill())));
    if (server && server.exitCode === null) server.kill('SIGKILL');
    await dir?.cleanup();
  });

  it('the rollout completes after the restart, every device converges, none is notified twice', { timeout: 300_000 }, async () => {
    const started = Date.now();
    const strategy = { ratePerMinute: 0, deviceDeadlineMs: 60_000 };
    const target = { kind: 'tags', tags: { site: 'lab' } };
    const first = rolloutViewSchema.parse(await api('POST', '/rollouts', { model: 'adder', version: '1.0.0', target, strategy: { ...strategy, waves: [{ percent: 100 }], bakeMs: 0 } }));
    expect((await waitView(first.id, (v) => TERMINAL.includes(v.state), 60_000)).state).toBe('succeeded');

    const created = rolloutViewSchema.parse(await api('POST', '/rollouts', { model: 'adder', version: '2.0.0', target, strategy: { ...strategy, waves: [{ count: 1 }, { percent: 100 }], bakeMs: 2000 } }));
    // Kill inside wave 1: its devices have been notified and are still updating.
    const atKill = await waitView(created.id, (v) => (v.devices ?? []).some((d) => d.wave === 1 && d.state !== 'pending'), 60_000);
    server!.kill('SIGKILL');
    await new Promise((r) => server!.once('exit', r));
    const wave1AtKill = (atKill.devices ?? []).filter((d) => d.wave === 1).map((d) => d.state);
    server = await startServer();

    const view = await waitView(created.id, (v) => TERMINAL.includes(v.state), 120_000);
    const { events } = (await api('GET', `/rollouts/${created.id}/events?limit=5000`)) as { events: unknown[] };
    const notified = events.map((e) => rolloutEventSchema.parse(e)).filter((e) => e.type === 'device' && e.data.to === 'notified');
    const perDevice = new Map<string, number>();
    for (const e of notified) perDevice.set(String(e.data.deviceId), (perDevice.get(String(e.data.deviceId)) ?? 0) + 1);
    const notifiedTwice = [...perDevice.values()].filter((n) => n > 1).length;
    // Each agent must end with 2.0.0 active, having applied exactly one generation carrying it.
    const activations = agents.map((a) => a.logs.filter((l) => l.msg === 'deployment active' && (l.event as { version?: string } | undefined)?.version === '2.0.0').length);
    const deadline = Date.now() + 30_000;
    let converged = 0;
    for (;;) {
      const { devices } = deviceListSchema.parse(await api('GET', '/devices'));
      converged = devices.filter((d) => ids.includes(d.id) && d.models.adder === '2.0.0').length;
      if (converged === DEVICES || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const appliedTwice = activations.filter((n) => n > 1).length;
    const goals = [
      { name: 'rollout succeeded after the restart', value: view.state === 'succeeded' ? 1 : 0, target: '= 1', met: view.state === 'succeeded' },
      { name: 'devices converged to the new version', value: converged, target: `= ${DEVICES}`, met: converged === DEVICES },
      { name: 'devices notified twice (or activating the version twice)', value: notifiedTwice + appliedTwice, target: '= 0', met: notifiedTwice + appliedTwice === 0 },
    ];
    recordFaultCase(
      'control-plane-kill',
      {
        title: 'Control-plane server SIGKILLed mid-wave and restarted on the same data dir and ports',
        counts: {
          agents: DEVICES,
          'wave-1 devices past pending when killed': wave1AtKill.filter((s) => s !== 'pending').length,
          'device notifications recorded': notified.length,
          'devices that activated 2.0.0 exactly once': activations.filter((n) => n === 1).length,
          'rollout succeeded devices': view.counts.succeeded ?? 0,
        },
        goals,
        notes: [`Wave-1 device states at the kill: ${wave1AtKill.join(', ')}; rollout ended ${view.state}${view.halt ? ` (halt: ${JSON.stringify(view.halt)})` : ''}.`],
      },
      started,
    );
    expect(view.state).toBe('succeeded');
    expect(converged).toBe(DEVICES);
    expect(notifiedTwice).toBe(0);
    expect(activations).toEqual(ids.map(() => 1));
  });
});
