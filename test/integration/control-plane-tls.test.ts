import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startControlPlane, tmpDataDir, type TestControlPlane, type TmpDir } from '../helpers/index.js';
import { describeNeeding } from '../setup/gate.js';

describeNeeding(['openssl'], 'embedded broker TLS listener', () => {
  let dir: TmpDir;
  let h: TestControlPlane;
  let cert: string;

  beforeAll(async () => {
    dir = await tmpDataDir('edgefleet-tls-');
    const certFile = join(dir.path, 'server.crt');
    const keyFile = join(dir.path, 'server.key');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
    cert = readFileSync(certFile, 'utf8');
    h = await startControlPlane({ config: { mqtt: { tls: { port: 0, certFile, keyFile } } } });
  });
  afterAll(async () => {
    await h?.close();
    await dir?.cleanup();
  });

  it('authenticates devices over mqtts with the same credentials and refuses a wrong secret', async () => {
    expect(h.cp.urls.mqttTls).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const dev = await h.provisionDevice('tls-dev');
    const client = await mqtt.connectAsync(h.cp.urls.mqttTls!, { username: dev.id, password: dev.secret, clientId: dev.id, ca: cert, reconnectPeriod: 0 });
    expect(client.connected).toBe(true);
    await client.endAsync(true);
    await expect(mqtt.connectAsync(h.cp.urls.mqttTls!, { username: dev.id, password: 'wrong', clientId: dev.id, ca: cert, reconnectPeriod: 0 })).rejects.toThrow();
    // An untrusted certificate is refused by a client that checks it.
    await expect(mqtt.connectAsync(h.cp.urls.mqttTls!, { username: dev.id, password: dev.secret, clientId: dev.id, reconnectPeriod: 0, connectTimeout: 3000 })).rejects.toThrow();
  });
});
