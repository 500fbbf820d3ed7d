/**
 * Zero-touch provisioning end to end: one provisioning config for a whole batch, each device its
 * own data dir and machine id. 48 devices enrol through the agent's own enrolment code in this
 * process and join the fleet as simulated devices logging in with their device-key tokens; two
 * real agent processes enrol themselves from the same config, take the rollout and serve it.
 */
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { execFile } from 'node:child_process';
import { createPublicKey, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { generateDeviceKeyPair, mintDeviceToken, rolloutViewSchema, signKeyRotation, type CreatedProvisioningKey, type Device, type DeviceKeyChange, type ProvisionedDevice } from '@edgefleet/shared';
import { builtinPlugins, provisioningPlugin } from '@edgefleet/control-plane';
import { createDeviceCredentials, loadAgentConfigWithIdentity, rotateDeviceKey, type DeviceIdSources } from '@edgefleet/agent';
import { AGENT_ENTRY, ensureAgentBuilt, spawnAgentWithConfig, type AgentProcess } from '../helpers/agent-process.js';
import { createFleetSim, type FleetSim } from '../helpers/fleet-sim.js';
import { cliRunner } from '../helpers/cli.js';
import { identityModel, startControlPlane, tmpDataDir, type TestControlPlane, type TmpDir } from '../helpers/index.js';

const quiet = pino({ level: 'silent' });
const machine = (i: number): DeviceIdSources => ({
  machineId: async () => `${i.toString(16).padStart(8, '0')}aa${'0'.repeat(22)}`,
  serial: async () => undefined,
  hostname: () => `host-${i}`,
});

describe('zero-touch provisioning', () => {
  let h: TestControlPlane;
  let tmp: TmpDir;
  let fleet: FleetSim | undefined;
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    await ensureAgentBuilt();
    // Pending devices ask again every second here (15 s by default).
    h = await startControlPlane({ plugins: [...builtinPlugins.filter((p) => p.name !== 'provisioning'), provisioningPlugin({ pendingRetryS: 1 })] });
    tmp = await tmpDataDir('edgefleet-prov-');
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await fleet?.close();
    await h?.close();
    await tmp?.cleanup();
  });

  async function brokerLogin(id: string, password: string): Promise<string> {
    const client = mqtt.connect(h.mqttUrl, { clientId: `${id}-probe`, username: id, password, reconnectPeriod: 0, connectTimeout: 5000 });
    const outcome = await new Promise<string>((resolve) => {
      client.once('connect', () => resolve('connected'));
      client.once('error', (err) => resolve((err as { code?: number }).code === 4 || (err as { code?: number }).code === 5 ? 'refused' : err.message));
    });
    client.end(true);
    return outcome;
  }

  const createKey = async (body: Record<string, unknown>): Promise<CreatedProvisioningKey> => {
    const res = await h.api<CreatedProvisioningKey>('POST', '/provisioning-keys', { body });
    expect(res.status).toBe(201);
    return res.body;
  };

  async function imageConfig(created: CreatedProvisioningKey, name: string): Promise<string> {
    const file = join(tmp.path, `${name}.json`);
    await writeFile(file, JSON.stringify({ ...created.agentConfig, provisioning: { ...created.agentConfig.provisioning, deviceIdTemplate: 'cam-{machine-id:10}' }, logLevel: 'warn' }));
    return file;
  }

  it('enrols 50 devices from one config with the key tags; they take a rollout and serve; the 51st is refused', async () => {
    const created = await createKey({ tags: { site: 'berlin', class: 'orin' }, maxUses: 50 });
    expect(created.agentConfig).toEqual({ provisioning: { serverUrl: h.httpUrl, key: created.key }, fleetPublicKey: h.fleetPublicKeyPem });
    const file = await imageConfig(created, 'image');

    const configs = await Promise.all(
      Array.from({ length: 48 }, (_, i) => loadAgentConfigWithIdentity({ file, dataDir: join(tmp.path, `dev-${i}`), env: {} }, { logger: quiet, sources: machine(i) })),
    );
    expect(new Set(configs.map((c) => c.deviceId)).size).toBe(48);
    expect(configs[3]!.deviceId).toBe('cam-00000003aa');
    const keyStat = await stat(configs[0]!.identity!.keyFile);
    expect(keyStat.mode & 0o777).toBe(0o600);
    expect(configs[0]!.broker).toMatchObject({ url: h.mqttUrl, username: configs[0]!.deviceId });
    expect(configs[0]!.broker.password).toBeUndefined();

    // A second start reads the identity; a crash after the key was made but before the identity was
    // written re-enrols with the same key, which the control plane answers as already enrolled.
    const again = await loadAgentConfigWithIdentity({ file, dataDir: join(tmp.path, 'dev-0'), env: {} }, { logger: quiet, sources: machine(999) });
    expect(again.deviceId).toBe(configs[0]!.deviceId);
    await rm(join(tmp.path, 'dev-1', 'identity', 'identity.json'));
    expect((await loadAgentConfigWithIdentity({ file, dataDir: join(tmp.path, 'dev-1'), env: {} }, { logger: quiet, sources: machine(1) })).deviceId).toBe(configs[1]!.deviceId);

    // Two real agents enrol themselves from the same file (their ids by --device-id and by the environment).
    const spawnFromImage = async (name: string, idVia: { args?: string[]; env?: Record<string, string> }) => {
      const image = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      const agent = await spawnAgentWithConfig({ ...image, logLevel: 'info', api: { port: 0 }, inference: { grpcPort: 0 } }, { dataDir: join(tmp.path, name), ...idVia });
      agents.push(agent);
      return agent;
    };
    await spawnFromImage('real-a', { args: ['--device-id', 'real-a'] });
    await spawnFromImage('real-b', { env: { EDGEFLEET_AGENT_DEVICE_ID: 'real-b' } });
    await Promise.all(agents.map((a) => a.waitForLog((l) => l.msg === 'enrolled', 30_000)));

    const listed = (await h.api<{ devices: Device[] }>('GET', '/devices?tag=site=berlin')).body.devices;
    expect(listed).toHaveLength(50);
    expect(listed.every((d) => d.tags.class === 'orin')).toBe(true);

    const fiftyFirst = loadAgentConfigWithIdentity({ file, dataDir: join(tmp.path, 'dev-51'), env: {} }, { logger: quiet, sources: machine(51) });
    await expect(fiftyFirst).rejects.toMatchObject({ code: 'PROVISIONING_KEY_EXHAUSTED' });
    expect((await h.api<{ devices: Device[] }>('GET', '/devices')).body.devices).toHaveLength(50);

    // The simulated 48 log in with tokens signed by their own keys: no secret exists for them.
    const keyPems = await Promise.all(configs.map((c) => readFile(c.identity!.keyFile, 'utf8')));
    const now = Math.floor(Date.now() / 1000);
    fleet = createFleetSim({
      brokerUrl: h.mqttUrl,
      fleetPublicKey: h.fleetPublicKeyPem,
      devices: configs.map((c, i) => ({ deviceId: c.deviceId, password: mintDeviceToken({ d: c.deviceId, iat: now, exp: now + 600 }, keyPems[i]!) })),
    });
    expect((await fleet.connectAll()).connected).toBe(48);

    await h.pushModel({ name: 'ident', version: '1', bytes: identityModel() });
    const rollout = await h.api<{ id: string }>('POST', '/rollouts', { body: { model: 'ident', version: '1', target: { kind: 'tags', tags: { site: 'berlin' } }, strategy: { waves: [{ count: 2 }, { percent: 100 }], bakeMs: 200, ratePerMinute: 0 } } });
    expect(rollout.status).toBe(201);
    const deadline = Date.now() + 90_000;
    let view = rolloutViewSchema.parse((await h.api('GET', `/rollouts/${rollout.body.id}`)).body);
    while (!['succeeded', 'halted', 'rolled-back', 'aborted'].includes(view.state) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      view = rolloutViewSchema.parse((await h.api('GET', `/rollouts/${rollout.body.id}`)).body);
    }
    expect(view.state).toBe('succeeded');
    expect(view.counts.succeeded).toBe(50);

    for (const agent of agents) {
      const { url } = (await agent.waitForLog((l) => l.msg === 'local API listening')) as unknown as { url: string };
      const res = await fetch(`${url}/v2/models/ident/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }) });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { outputs: { data: number[] }[] }).outputs[0]!.data).toEqual([1, 2, 3, 4]);
    }
  }, 180_000);

  it('holds devices in pending until an operator approves them', async () => {
    const created = await createKey({ tags: { site: 'lab' }, requireApproval: true });
    const file = await imageConfig(created, 'approval');
    const starting = loadAgentConfigWithIdentity({ file, dataDir: join(tmp.path, 'pending-0'), env: {} }, { logger: quiet, sources: machine(700) });
    const id = 'cam-000002bcaa';
    const deadline = Date.now() + 10_000;
    while (!(await h.api<{ enrolments: unknown[] }>('GET', '/enrolments')).body.enrolments.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect((await h.api<{ enrolments: { deviceId: string; status: string }[] }>('GET', '/enrolments')).body.enrolments).toEqual([expect.objectContaining({ deviceId: id, status: 'pending' })]);
    expect((await h.api('GET', `/devices/${id}`)).status).toBe(404);
    const operator = await h.token('operator');
    expect((await h.api('POST', `/devices/${id}/approve`, { token: operator })).status).toBe(200);
    expect((await starting).deviceId).toBe(id);
    expect((await h.api<Device>('GET', `/devices/${id}`)).body.tags).toEqual({ site: 'lab' });
  }, 40_000);

  it('refuses bad enrolments with 4xx and changes nothing, and records them in the audit log', async () => {
    const before = (await h.api<{ devices: Device[] }>('GET', '/devices')).body.devices.length;
    const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => fetch(`${h.httpUrl}/api/v1/enrol`, { method: 'POST', headers, body });
    expect((await post('{not json')).status).toBe(400);
    expect((await post(JSON.stringify({ deviceId: 'x' }))).status).toBe(400);
    expect((await post(JSON.stringify({ junk: 'x'.repeat(64 * 1024) }))).status).toBe(413);
    const bad = await post(JSON.stringify({ deviceId: '../etc', publicKey: 'k', provisioningKey: 'efp_x', at: new Date().toISOString(), nonce: 'a'.repeat(16), proof: 'x' }));
    expect(bad.status).toBe(400);
    const unknownKey = await post(JSON.stringify({ deviceId: 'ok-1', publicKey: 'k', provisioningKey: 'efp_nope', at: new Date().toISOString(), nonce: 'a'.repeat(16), proof: 'x' }));
    expect(unknownKey.status).toBe(401);
    expect((await h.api<{ devices: Device[] }>('GET', '/devices')).body.devices).toHaveLength(before);
    const audit = (await h.api<{ entries: { action: string; outcome: string; target?: string }[] }>('GET', '/audit?limit=50')).body.entries;
    expect(audit.filter((e) => e.action === 'POST /api/v1/enrol' && e.outcome !== 'ok').length).toBeGreaterThanOrEqual(2);
  });

  it('refuses a broker login with a token signed by another key, or a plain password, for an enrolled device', async () => {
    const id = (await h.api<{ devices: Device[] }>('GET', '/devices?tag=site=berlin')).body.devices[0]!.id;
    const now = Math.floor(Date.now() / 1000);
    for (const password of [mintDeviceToken({ d: id, iat: now, exp: now + 60 }, generateDeviceKeyPair().privateKeyPem), 'guess']) {
      expect(await brokerLogin(id, password)).toBe('refused');
    }
  });

  it('rotates credentials: a new secret for a secret device, a new key for an enrolled one, a revoked key; old ones refused at the broker', async () => {
    const operator = await h.token('operator');
    const token = (id: string, pem: string) => mintDeviceToken({ d: id, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60 }, pem);

    // Simple mode: `devices rotate ID` issues a new secret; the old one stops working.
    const added = (await h.api<ProvisionedDevice>('POST', '/devices', { body: { id: 'sec-rot' }, token: operator })).body;
    expect(await brokerLogin('sec-rot', added.secret)).toBe('connected');
    const rotated = await h.api<ProvisionedDevice>('POST', '/devices/sec-rot/rotate', { token: operator });
    expect(rotated.status).toBe(200);
    expect(rotated.body.agentConfig.broker.password).toBe(rotated.body.secret);
    expect(await brokerLogin('sec-rot', added.secret)).toBe('refused');
    expect(await brokerLogin('sec-rot', rotated.body.secret)).toBe('connected');
    expect((await h.api('POST', '/devices/sec-rot/rotate', { token: await h.token('viewer') })).status).toBe(403);

    // An enrolled device: the agent's key signs for its successor.
    const created = await createKey({ tags: { site: 'rot' } });
    const config = await loadAgentConfigWithIdentity({ file: await imageConfig(created, 'rotate'), dataDir: join(tmp.path, 'rot-0'), env: {} }, { logger: quiet, sources: machine(900) });
    const id = config.deviceId;
    const keyFile = config.identity!.keyFile;
    const firstPem = await readFile(keyFile, 'utf8');
    expect(await brokerLogin(id, token(id, firstPem))).toBe('connected');
    expect((await h.api('POST', `/devices/${id}/rotate`, { token: operator })).body).toMatchObject({ code: 'DEVICE_KEY_BOUND' });

    // The agent's own rotation: the running agent's credentials sign with the new key at the next connect.
    const credentials = createDeviceCredentials(config);
    const rotatedByAgent = await rotateDeviceKey({ dataDir: join(tmp.path, 'rot-0'), logger: quiet });
    expect(rotatedByAgent.fingerprint).not.toBe(rotatedByAgent.previousFingerprint);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(await brokerLogin(id, token(id, firstPem))).toBe('refused');
    expect(await brokerLogin(id, credentials.password()!)).toBe('connected');

    // By hand through the REST endpoint, from the key the agent now holds.
    const oldPem = await readFile(keyFile, 'utf8');
    const oldPublic = createPublicKey(oldPem).export({ type: 'spki', format: 'pem' }).toString();
    const next = generateDeviceKeyPair();
    const claim = { deviceId: id, newPublicKey: next.publicKeyPem, at: new Date().toISOString(), nonce: randomBytes(16).toString('base64url') };
    const { deviceId: _inUrl, ...fields } = claim;
    const body = { ...fields, ...signKeyRotation(claim, { oldPrivateKeyPem: oldPem, oldPublicKeyPem: oldPublic, newPrivateKeyPem: next.privateKeyPem }) };
    const change = await h.api<DeviceKeyChange>('POST', `/devices/${id}/rotate-key`, { body, token: null });
    expect(change.status).toBe(200);
    expect(change.body.fingerprint).not.toBe(change.body.previousFingerprint);
    expect(await brokerLogin(id, token(id, oldPem))).toBe('refused');
    expect(await brokerLogin(id, token(id, next.privateKeyPem))).toBe('connected');
    expect((await h.api('POST', `/devices/${id}/rotate-key`, { body, token: null })).status).toBe(401);

    // An agent that crashed after the control plane took its next key, before it moved the key into place,
    // finishes the rotation on its next try instead of locking itself out.
    await writeFile(`${keyFile}.next`, next.privateKeyPem, { mode: 0o600 });
    expect((await rotateDeviceKey({ dataDir: join(tmp.path, 'rot-0'), logger: quiet })).fingerprint).toBe(change.body.fingerprint);
    expect(await readFile(keyFile, 'utf8')).toBe(next.privateKeyPem);
    expect(await brokerLogin(id, credentials.password()!)).toBe('connected');

    // The same from the device's shell: `edgefleet-agent --config FILE --rotate-key`.
    const cli = await promisify(execFile)(process.execPath, [AGENT_ENTRY, '--config', await imageConfig(created, 'rotate'), '--data-dir', join(tmp.path, 'rot-0'), '--rotate-key']);
    expect(cli.stdout).toContain(`rotated the key of ${id}`);
    expect(await brokerLogin(id, token(id, next.privateKeyPem))).toBe('refused');
    expect(await brokerLogin(id, credentials.password()!)).toBe('connected');

    // The operator revokes the key: the device is refused until it enrols again.
    const revoked = await h.api<DeviceKeyChange>('POST', `/devices/${id}/revoke-key`, { token: operator });
    expect(revoked.status).toBe(200);
    expect(await brokerLogin(id, token(id, next.privateKeyPem))).toBe('refused');

    const audit = (await h.api<{ entries: { action: string; outcome: string; target?: string }[] }>('GET', '/audit?limit=100')).body.entries;
    const actions = (target: string) => audit.filter((e) => e.target === target).map((e) => `${e.action} ${e.outcome}`);
    expect(actions('device:sec-rot')).toEqual(expect.arrayContaining(['POST /api/v1/devices/:id/rotate ok', 'POST /api/v1/devices/:id/rotate refused']));
    expect(actions(`device:${id}`)).toEqual(expect.arrayContaining(['POST /api/v1/devices/:id/rotate-key ok', 'POST /api/v1/devices/:id/rotate-key refused', 'POST /api/v1/devices/:id/revoke-key ok']));
  });

  it('devices rotate from the CLI: a new secret printed once and written with --agent-config; --revoke-key for an enrolled device', async () => {
    const cli = cliRunner(h);
    const added = (await h.api<ProvisionedDevice>('POST', '/devices', { body: { id: 'cli-rot' } })).body;
    const file = join(tmp.path, 'cli-rot.json');
    const run = await cli('devices', 'rotate', 'cli-rot', '--agent-config', file);
    expect(run.code).toBe(0);
    const written = JSON.parse(await readFile(file, 'utf8')) as { broker: { password: string } };
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(run.out).toContain(written.broker.password);
    expect(written.broker.password).not.toBe(added.secret);
    expect(await brokerLogin('cli-rot', added.secret)).toBe('refused');
    expect(await brokerLogin('cli-rot', written.broker.password)).toBe('connected');

    const created = await createKey({});
    const config = await loadAgentConfigWithIdentity({ file: await imageConfig(created, 'cli-rot'), dataDir: join(tmp.path, 'cli-rot-0'), env: {} }, { logger: quiet, sources: machine(901) });
    expect(await cli('devices', 'rotate', config.deviceId)).toMatchObject({ code: 1, err: expect.stringContaining('DEVICE_KEY_BOUND') });
    const revoked = await cli('devices', 'rotate', config.deviceId, '--revoke-key', '--json');
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.out)).toMatchObject({ deviceId: config.deviceId, previousFingerprint: expect.any(String) });
    expect(await brokerLogin(config.deviceId, createDeviceCredentials(config).password()!)).toBe('refused');
    expect(await cli('devices', 'rotate', config.deviceId, '--revoke-key')).toMatchObject({ code: 1, err: expect.stringContaining('DEVICE_KEY_NOT_FOUND') });
  });
});
