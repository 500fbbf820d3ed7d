/**
 * Rollouts end to end with real agent processes (real onnxruntime, real smoke tests), a real
 * control plane (embedded broker with device auth, SQLite) and the rollout engine (issue 7):
 * a good version goes canary → 10% → 100% and the executed waves equal the dry-run; a version that
 * fails the smoke test halts at the canary and the canary ends on the previous version.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneConfigSchema, type CreateRolloutRequest, type RolloutView } from '@edgefleet/shared';
import { createControlPlane, rolloutPlugin, telemetryPlugin, type ControlPlane, type RolloutService } from '@edgefleet/control-plane';
import { ensureAgentBuilt, spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { freePort, tmpDataDir, type TmpDir } from '../helpers/index.js';
import { addModel, nonFiniteModel } from '../helpers/onnx-models.js';

const DEVICES = 3;
// 'halted' is only a stop on the way to 'rolled-back' when the breach policy is rollback (the default).
const TERMINAL = ['succeeded', 'rolled-back', 'aborted'];

describe('rollouts with real agents', () => {
  let dir: TmpDir;
  let cp: ControlPlane;
  let rollouts: RolloutService;
  const agents: AgentProcess[] = [];
  const ids = Array.from({ length: DEVICES }, (_, i) => `edge-${i}`);

  beforeAll(async () => {
    await ensureAgentBuilt();
    dir = await tmpDataDir('edgefleet-rollout-e2e-');
    const config = controlPlaneConfigSchema.parse({
      dataDir: join(dir.path, 'cp'),
      http: { host: '127.0.0.1', port: await freePort() },
      mqtt: { host: '127.0.0.1', port: await freePort() },
      logLevel: 'warn',
    });
    mkdirSync(config.dataDir, { recursive: true });
    cp = createControlPlane({ config, plugins: [telemetryPlugin(), rolloutPlugin({ tickIntervalMs: 200, onStarted: (s) => (rollouts = s) })] });
    await cp.start();
    await cp.models.push({ name: 'adder', version: '1.0.0', content: Readable.from([addModel({ addend: 1 })]), pushedBy: 'e2e' });
    await cp.models.push({ name: 'adder', version: '2.0.0', content: Readable.from([addModel({ addend: 2 })]), pushedBy: 'e2e' });
    await cp.models.push({ name: 'adder', version: '3.0.0', content: Readable.from([nonFiniteModel({ shape: [1, 4] })]), pushedBy: 'e2e' });
    const provisioned = await cp.devices.add(ids.map((id) => ({ id, tags: { site: 'lab' } })));
    for (const p of provisioned) {
      agents.push(
        await spawnAgent({
          deviceId: p.device.id,
          brokerUrl: cp.urls.mqtt,
          fleetPublicKey: cp.fleetPublicKeyPem,
          dataDir: join(dir.path, p.device.id),
          config: { broker: { url: cp.urls.mqtt, username: p.device.id, password: p.secret, reconnectMinMs: 200, reconnectMaxMs: 2000 } },
        }),
      );
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop().catch(() => a.kill())));
    await cp?.stop();
    await dir?.cleanup();
  });

  async function settle(id: string, timeoutMs = 60_000): Promise<RolloutView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = await rollouts.operations.view(id, true);
      if (TERMINAL.includes(view.state) || Date.now() > deadline) return view;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async function activeVersions(): Promise<Record<string, string | undefined>> {
    const rows = await cp.store.devices.list();
    return Object.fromEntries(rows.map((r) => [r.id, r.reported?.models.find((m) => m.name === 'adder')?.active]));
  }

  async function waitActive(version: string, timeoutMs = 30_000): Promise<Record<string, string | undefined>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const active = await activeVersions();
      if (ids.every((id) => active[id] === version) || Date.now() > deadline) return active;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  const request = (version: string, waves: CreateRolloutRequest['strategy']): CreateRolloutRequest => ({
    model: 'adder',
    version,
    target: { kind: 'tags', tags: { site: 'lab' } },
    strategy: { bakeMs: 1000, ratePerMinute: 0, deviceDeadlineMs: 30_000, ...waves },
  });

  it('installs v1, then takes v2 canary → 10% → 100%; the executed waves equal the dry-run', async () => {
    const first = await rollouts.operations.create(request('1.0.0', { waves: [{ percent: 100 }], bakeMs: 0 }), 'e2e');
    const firstView = await settle(first.id);
    expect(firstView.state).toBe('succeeded');
    expect(await waitActive('1.0.0')).toEqual(Object.fromEntries(ids.map((id) => [id, '1.0.0'])));

    const req = request('2.0.0', { waves: [{ count: 1 }, { percent: 10 }, { percent: 100 }] });
    const plan = await rollouts.operations.dryRun(req);
    expect(plan.waves.map((w) => w.deviceIds)).toEqual([['edge-0'], ['edge-1'], ['edge-2']]);
    const created = await rollouts.operations.create(req, 'e2e');
    const view = await settle(created.id);
    expect(view.state).toBe('succeeded');
    expect(view.waves.map((w) => view.devices!.filter((d) => d.wave === w.index).map((d) => d.deviceId))).toEqual(plan.waves.map((w) => w.deviceIds));
    expect(view.counts.succeeded).toBe(DEVICES);
    expect(await waitActive('2.0.0')).toEqual(Object.fromEntries(ids.map((id) => [id, '2.0.0'])));
  }, 120_000);

  it('halts a version that fails the smoke test at the canary; every touched device ends on the previous version', async () => {
    const created = await rollouts.operations.create(request('3.0.0', { waves: [{ count: 1 }, { percent: 100 }] }), 'e2e');
    const view = await settle(created.id);
    expect(view.state).toBe('rolled-back');
    expect(view.halt).toMatchObject({ gate: 'whole-wave-failed', wave: 0 });
    const canary = view.devices!.find((d) => d.wave === 0)!;
    expect(canary.state).toMatch(/failed|rolled-back/);
    expect(canary.error?.code ?? canary.reason).toMatch(/SMOKE_TEST_FAILED|gate breach/);
    expect(view.devices!.filter((d) => d.wave === 1).every((d) => d.state === 'pending')).toBe(true);
    // The canary never left 2.0.0 (the agent refuses a model that fails its smoke test); the others were never touched.
    expect(await waitActive('2.0.0', 10_000)).toEqual(Object.fromEntries(ids.map((id) => [id, '2.0.0'])));
    const desired = await cp.desired.get('edge-0');
    expect(desired?.models.find((m) => m.name === 'adder')?.version).toBe('2.0.0');
  }, 120_000);
});
