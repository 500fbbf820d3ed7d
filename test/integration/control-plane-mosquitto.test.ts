import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { desiredStateSchema, deviceTopic, encodePayload, parsePayload, presenceSchema } from '@edgefleet/shared';
import { freePort, startControlPlane, tmpDataDir, type TestControlPlane, type TmpDir } from '../helpers/index.js';
import { EXPECTED_MATRIX, connect, connectDevice, runAclMatrix, type Creds } from './control-plane-acl-matrix.js';
import { describeNeeding, toolPath } from '../setup/gate.js';

const MOSQUITTO = toolPath('mosquitto');
const PASSWD = toolPath('mosquitto_passwd');
const DEPLOY = join(import.meta.dirname, '../../deploy/mosquitto');
const CP_USER = 'edgefleet-control-plane';

/** Our own Mosquitto with deploy/mosquitto/mosquitto.conf and its ACL file, on a free port. */
async function startMosquitto(dir: string, users: Record<string, string>): Promise<{ url: string; proc: ChildProcess; reload(users: Record<string, string>): Promise<void> }> {
  const port = await freePort();
  const passwd = join(dir, 'edgefleet.passwd');
  const writeUsers = (all: Record<string, string>): void => {
    writeFileSync(passwd, '');
    for (const [user, password] of Object.entries(all)) execFileSync(PASSWD, ['-b', passwd, user, password]);
    // Started as root, Mosquitto drops to the `mosquitto` user, which must still read these files.
    chmodSync(passwd, 0o644);
  };
  chmodSync(dir, 0o755);
  writeUsers(users);
  // A copy beside the password file: the checkout itself may sit in a 0700 directory the `mosquitto` user cannot enter.
  const acl = join(dir, 'acl');
  copyFileSync(join(DEPLOY, 'acl'), acl);
  chmodSync(acl, 0o644);
  const conf = readFileSync(join(DEPLOY, 'mosquitto.conf'), 'utf8')
    .replace(/^password_file .*$/m, `password_file ${passwd}`)
    .replace(/^acl_file .*$/m, `acl_file ${acl}`)
    .replace(/^listener 1883$/m, `listener ${port} 127.0.0.1`)
    .replace(/^persistence true$/m, 'persistence false');
  writeFileSync(join(dir, 'mosquitto.conf'), conf);
  const proc = spawn(MOSQUITTO, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const url = `mqtt://127.0.0.1:${port}`;
  const end = Date.now() + 5000;
  for (;;) {
    try {
      await (await connect(url, { username: CP_USER, password: users[CP_USER], clientId: 'probe' })).endAsync(true);
      break;
    } catch (err) {
      if (Date.now() > end || proc.exitCode !== null) throw new Error(`mosquitto did not start: ${(err as Error).message}\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    proc,
    async reload(all) {
      writeUsers(all);
      proc.kill('SIGHUP');
      await new Promise((r) => setTimeout(r, 300));
    },
  };
}

describeNeeding(['mosquitto', 'mosquitto_passwd'], 'Mosquitto with deploy/mosquitto ACL', () => {
  let dir: TmpDir;
  let broker: Awaited<ReturnType<typeof startMosquitto>>;
  const users: Record<string, string> = { [CP_USER]: 'cp-secret', 'dev-a': 'secret-a', 'dev-b': 'secret-b' };
  let observer: MqttClient;
  let h: TestControlPlane | undefined;

  beforeAll(async () => {
    dir = await tmpDataDir('edgefleet-mosq-');
    broker = await startMosquitto(dir.path, users);
    observer = await connect(broker.url, { username: CP_USER, password: users[CP_USER], clientId: 'observer' });
  });
  afterAll(async () => {
    await observer?.endAsync(true);
    await h?.close();
    broker?.proc.kill('SIGTERM');
    await dir?.cleanup();
  });

  it('enforces the same device ACL matrix as the embedded broker', async () => {
    const a: Creds = { id: 'dev-a', secret: users['dev-a']! };
    const b: Creds = { id: 'dev-b', secret: users['dev-b']! };
    expect(await runAclMatrix(broker.url, a, b, observer)).toEqual(EXPECTED_MATRIX);
  });

  it('runs the control plane against it (--mqtt-url): desired state reaches the device, presence comes back', async () => {
    h = await startControlPlane({ config: { mqtt: { url: broker.url, username: CP_USER, password: users[CP_USER], sharedSubscriptions: false } } });
    const dev = await h.provisionDevice('dev-ext');
    expect(dev.agentConfig.broker.url).toBe(broker.url);
    await broker.reload({ ...users, [dev.id]: dev.secret });
    await h.cp.desired.setDeviceModels(dev.id, []);
    const client = await connectDevice(broker.url, { id: dev.id, secret: dev.secret });
    const desired = new Promise<Buffer>((resolve) => client.on('message', (_t, p) => resolve(p)));
    await client.subscribeAsync(deviceTopic(dev.id, 'desired'), { qos: 1 });
    expect(parsePayload(desiredStateSchema, await desired).generation).toBe(1);
    await client.publishAsync(deviceTopic(dev.id, 'presence'), encodePayload(presenceSchema, { deviceId: dev.id, status: 'online' }), { qos: 1, retain: true });
    const end = Date.now() + 5000;
    while ((await h.cp.devices.get(dev.id)).status !== 'online') {
      if (Date.now() > end) throw new Error('presence never arrived');
      await new Promise((r) => setTimeout(r, 50));
    }
    await client.endAsync(true);
  });
});
