/**
 * `edgefleet rollouts create --wait` as a pipeline step runs it: the real CLI entry (runCli, exit
 * codes and all) against a real control plane with simulated devices. Devices tagged `site=good`
 * verify artifacts with the fleet's key; `site=bad` devices hold another key, so every activation
 * fails and the failure gate decides.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneConfigSchema, rolloutWaitSummarySchema, type RolloutWaitSummary } from '@edgefleet/shared';
import { builtinCliExtensions, createControlPlane, formatCliError, readAdminToken, rolloutPlugin, runCli, telemetryPlugin, type ControlPlane } from '@edgefleet/control-plane';
import { createFleetSim, type FleetSim } from '../helpers/fleet-sim.js';
import { freePort, identityModel, tmpDataDir, type TmpDir } from '../helpers/index.js';

describe('rollouts create --wait', () => {
  let dir: TmpDir;
  let cp: ControlPlane;
  let token: string;
  const fleets: FleetSim[] = [];

  beforeAll(async () => {
    dir = await tmpDataDir('edgefleet-rollout-wait-');
    const config = controlPlaneConfigSchema.parse({
      dataDir: join(dir.path, 'cp'),
      http: { host: '127.0.0.1', port: await freePort() },
      mqtt: { host: '127.0.0.1', port: await freePort() },
      logLevel: 'warn',
    });
    mkdirSync(config.dataDir, { recursive: true });
    cp = createControlPlane({ config, plugins: [telemetryPlugin({ flushIntervalMs: 20 }), rolloutPlugin({ tickIntervalMs: 50 })] });
    await cp.start();
    token = await readAdminToken(config.dataDir);
    for (const version of ['1.0.0', '2.0.0', '3.0.0', '4.0.0']) {
      await cp.models.push({ name: 'cls', version, content: Readable.from([identityModel()]), pushedBy: 'test' });
    }
    const v1 = await cp.models.desiredModel('cls', '1.0.0');
    const otherKey = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    for (const [site, key] of [['good', cp.fleetPublicKeyPem], ['bad', otherKey]] as const) {
      const ids = [0, 1, 2].map((i) => `${site}-${i}`);
      const provisioned = await cp.devices.add(ids.map((id) => ({ id, tags: { site } })));
      for (const id of ids) await cp.desired.setDeviceModels(id, [v1]);
      const fleet = createFleetSim({ brokerUrl: cp.urls.mqtt, devices: provisioned.map((p) => ({ deviceId: p.device.id, password: p.secret })), fleetPublicKey: key, telemetryIntervalMs: 200 });
      fleets.push(fleet);
      await fleet.connectAll();
    }
    // v1 was signed with the fleet key: only the good devices can run it; the bad ones still report in.
    await fleets[0]!.waitForActive('cls', '1.0.0', { timeoutMs: 20_000 });
  });

  afterAll(async () => {
    await Promise.all(fleets.map((f) => f.close()));
    await cp?.stop();
    await dir?.cleanup();
  });

  async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(
      ['--server', cp.urls.http, '--token', token, ...args],
      { io: { out: (t) => void out.push(t), err: (t) => void err.push(t), interactive: false }, extensions: builtinCliExtensions },
      formatCliError,
    );
    return { code, out: out.join('\n'), err: err.join('\n') };
  }
  const summary = (out: string): RolloutWaitSummary => rolloutWaitSummarySchema.parse(JSON.parse(out));

  it('exits 0 with a JSON summary once the rollout succeeds', async () => {
    const r = await cli('rollouts', 'create', '--model', 'cls@2.0.0', '--tags', 'site=good', '--waves', '1,100%', '--bake', '300ms', '--rate', '0', '--wait', '--interval', '100ms', '--json');
    expect(r.code).toBe(0);
    const s = summary(r.out);
    expect(s).toMatchObject({ outcome: 'succeeded', exitCode: 0, model: 'cls', version: '2.0.0', state: 'succeeded', counts: { succeeded: 3 } });
    expect(r.err).toMatch(/created .* waiting up to 30m/);
  });

  it('exits 4 when a gate halts the rollout, naming the reason', async () => {
    const r = await cli('rollouts', 'create', '--model', 'cls@3.0.0', '--tags', 'site=bad', '--waves', '1,100%', '--bake', '300ms', '--rate', '0', '--on-breach', 'halt', '--wait', '--interval', '100ms', '--json');
    expect(r.code).toBe(4);
    const s = summary(r.out);
    expect(s).toMatchObject({ outcome: 'halted', exitCode: 4, state: 'halted' });
    expect(s.halt?.reason).toBeTruthy();
  });

  it('exits 5 when the breach rolls the rollout back, and prints a line for people without --json', async () => {
    const r = await cli('rollouts', 'create', '--model', 'cls@4.0.0', '--tags', 'site=bad', '--waves', '1,100%', '--bake', '300ms', '--rate', '0', '--on-breach', 'rollback', '--wait', '--interval', '100ms');
    expect(r.code).toBe(5);
    expect(r.out).toMatch(/^rollout cls@4\.0\.0 \(\S+\) rolled-back: .+ \(exit 5\)$/m);
  });

  it('exits 7 when the timeout passes first and leaves the rollout running', async () => {
    const r = await cli('rollouts', 'create', '--model', 'cls@2.0.0', '--tags', 'site=good', '--waves', '1,100%', '--bake', '1h', '--wait', '--timeout', '1s', '--interval', '100ms', '--json');
    expect(r.code).toBe(7);
    const s = summary(r.out);
    expect(s).toMatchObject({ outcome: 'timed-out', exitCode: 7 });
    expect(s.waitedMs).toBeGreaterThanOrEqual(1000);
    const shown = await cli('rollouts', 'show', s.rolloutId!, '--json');
    expect(JSON.parse(shown.out).state).toBe('running');
    expect((await cli('rollouts', 'abort', s.rolloutId!)).code).toBe(0);
  });

  it('exits 3 when the server refuses the rollout, and 1 when it cannot be reached', async () => {
    const refused = await cli('rollouts', 'create', '--model', 'cls@9.9.9', '--all', '--wait', '--json');
    expect(refused.code).toBe(3);
    expect(summary(refused.out)).toMatchObject({ outcome: 'refused', exitCode: 3, error: { code: 'MODEL_VERSION_NOT_FOUND' } });
    const badFlags = await cli('rollouts', 'create', '--model', 'cls', '--all', '--wait', '--json');
    expect(summary(badFlags.out)).toMatchObject({ outcome: 'refused', error: { code: 'BAD_REQUEST' } });
    const out: string[] = [];
    const unreachable = await runCli(['--server', `http://127.0.0.1:${await freePort()}`, '--token', token, 'rollouts', 'create', '--model', 'cls@2.0.0', '--all', '--wait'], { io: { out: (t) => void out.push(t), err: (t) => void out.push(t), interactive: false }, extensions: builtinCliExtensions }, formatCliError);
    expect(unreachable).toBe(1);
    expect(out.join('\n')).toMatch(/SERVER_UNREACHABLE|cannot reach/);
  });
});
