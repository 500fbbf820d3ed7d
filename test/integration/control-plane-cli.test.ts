import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentConfigSchema, readConfigFile } from '@edgefleet/shared';
import { formatCliError, runCli } from '@edgefleet/control-plane';
import { addModel, notOnnxBytes, ocrModelPath, startControlPlane, type TestControlPlane } from '../helpers/index.js';

interface Run {
  code: number;
  out: string;
  err: string;
}

describe('edgefleet CLI against a running server', () => {
  let h: TestControlPlane;
  let cli: (argv: string[], env?: Record<string, string>) => Promise<Run>;

  beforeAll(async () => {
    h = await startControlPlane();
    cli = async (argv, env = {}) => {
      let out = '';
      let err = '';
      const io = { out: (s: string) => void (out += s.endsWith('\n') ? s : `${s}\n`), err: (s: string) => void (err += s.endsWith('\n') ? s : `${s}\n`), interactive: false };
      const code = await runCli(argv, { io, env: { EDGEFLEET_SERVER: h.httpUrl, EDGEFLEET_TOKEN: h.adminToken, ...env } }, formatCliError);
      return { code, out, err };
    };
  });
  afterAll(async () => h?.close());

  it('adds a device and writes a ready agent config (0600)', async () => {
    const file = join(h.dataDir, 'cam-01.yaml');
    const r = await cli(['devices', 'add', 'cam-01', '--tags', 'site=berlin,line=2', '--agent-config', file]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/cam-01\s+\S{40,}/);
    const config = agentConfigSchema.parse(readConfigFile(file));
    expect(config.broker.url).toBe(h.mqttUrl);
    expect(config.fleetPublicKey).toBe(h.fleetPublicKeyPem);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('adds in bulk from a file and lists as a table and as JSON', async () => {
    const list = join(h.dataDir, 'devices.txt');
    await writeFile(list, '# id,tags\ncam-02,site=paris\ncam-03\n');
    expect((await cli(['devices', 'add', '--from-file', list, '--agent-config', join(h.dataDir, 'configs')])).code).toBe(0);
    expect(readConfigFile(join(h.dataDir, 'configs', 'cam-03.yaml'))).toMatchObject({ deviceId: 'cam-03' });
    const table = await cli(['devices', 'ls']);
    expect(table.out.split('\n')[0]).toMatch(/^DEVICE\s+STATUS/);
    const json = await cli(['devices', 'ls', '--tag', 'site=paris', '--json']);
    expect((JSON.parse(json.out) as { devices: { id: string }[] }).devices.map((d) => d.id)).toEqual(['cam-02']);
    expect((await cli(['devices', 'show', 'cam-02', '--json'])).out).toContain('"site": "paris"');
  });

  it('pushes, lists and shows a model; refuses an invalid file and a duplicate', async () => {
    const push = await cli(['models', 'push', ocrModelPath('cls'), '--name', 'text-cls', '--version', '1.0.0', '--label', 'stable', '--source', 'mlflow:runs/7', '--json']);
    expect(push.code).toBe(0);
    expect(JSON.parse(push.out)).toMatchObject({ name: 'text-cls', version: '1.0.0', source: 'mlflow:runs/7' });
    expect((await cli(['models', 'ls'])).out).toMatch(/text-cls\s+1\.0\.0/);
    expect((await cli(['models', 'show', 'text-cls@stable'])).out).toMatch(/inputs\s+x FP32\[\?,3,\?,\?\]/);
    // A retried pipeline step: the same file as the same version succeeds and changes nothing.
    const again = await cli(['models', 'push', ocrModelPath('cls'), '--name', 'text-cls', '--version', '1.0.0']);
    expect(again).toMatchObject({ code: 0, out: expect.stringMatching(/^already present: text-cls@1\.0\.0 sha256 [0-9a-f]{64} .*unchanged\s*$/) });
    const againJson = JSON.parse((await cli(['models', 'push', ocrModelPath('cls'), '--name', 'text-cls', '--version', '1.0.0', '--json'])).out);
    expect(againJson).toMatchObject({ alreadyPresent: true, sha256: JSON.parse(push.out).sha256, createdAt: JSON.parse(push.out).createdAt });
    const other = join(h.dataDir, 'other.onnx');
    await writeFile(other, addModel());
    const dup = await cli(['models', 'push', other, '--name', 'text-cls', '--version', '1.0.0']);
    expect(dup).toMatchObject({ code: 1, err: expect.stringContaining('error [MODEL_VERSION_EXISTS]') });
    expect(dup.err).toMatch(/different file/);
    const junk = join(h.dataDir, 'junk.onnx');
    await writeFile(junk, notOnnxBytes(2048));
    expect(await cli(['models', 'push', junk, '--name', 'junk', '--version', '1'])).toMatchObject({ code: 1, err: expect.stringContaining('error [MODEL_INVALID]') });
    expect(await cli(['models', 'push', join(h.dataDir, 'missing.onnx'), '--name', 'x', '--version', '1'])).toMatchObject({ code: 1, err: expect.stringContaining('cannot read') });
  });

  it('creates, lists and revokes tokens', async () => {
    const created = await cli(['tokens', 'create', '--role', 'viewer', '--name', 'grafana', '--json']);
    const { token, secret } = JSON.parse(created.out) as { token: { id: string }; secret: string };
    expect((await cli(['devices', 'ls'], { EDGEFLEET_TOKEN: secret })).code).toBe(0);
    expect(await cli(['devices', 'rm', 'cam-01'], { EDGEFLEET_TOKEN: secret })).toMatchObject({ code: 1, err: expect.stringContaining('error [FORBIDDEN]') });
    expect((await cli(['tokens', 'ls'])).out).toMatch(/grafana\s+viewer/);
    expect((await cli(['tokens', 'revoke', token.id])).code).toBe(0);
    expect(await cli(['devices', 'ls'], { EDGEFLEET_TOKEN: secret })).toMatchObject({ code: 1, err: expect.stringContaining('error [AUTH_INVALID]') });
    expect(await cli(['tokens', 'create', '--role', 'root'])).toMatchObject({ code: 1, err: expect.stringContaining('--role') });
  });

  it('fails clearly: unreachable server, no token, unknown device, usage error', async () => {
    expect(await cli(['devices', 'ls', '--server', 'http://127.0.0.1:9'])).toMatchObject({ code: 1, err: expect.stringContaining('error [SERVER_UNREACHABLE]') });
    expect(await cli(['devices', 'ls'], { EDGEFLEET_TOKEN: '' })).toMatchObject({ code: 1, err: expect.stringContaining('error [AUTH_REQUIRED]') });
    expect(await cli(['devices', 'show', 'nope'])).toMatchObject({ code: 1, err: expect.stringContaining('error [DEVICE_NOT_FOUND]') });
    expect(await cli(['devices', 'rm', 'nope'])).toMatchObject({ code: 1, err: expect.stringContaining('DEVICE_NOT_FOUND') });
    const usage = await cli(['models', 'push']);
    expect(usage.code).not.toBe(0);
    expect(usage.err).toContain("required option '--name <name>' not specified");
  });
});
