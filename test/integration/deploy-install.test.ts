/**
 * The device install path end to end, without systemd: build the real agent bundle
 * (deploy/bundle/bundle.sh, after `pnpm build`), install it into a scratch root with
 * deploy/agent/install.sh --root, and check what a device would get: user, directories, modes,
 * owners, config, the enabled unit (verified by systemd-analyze against the installed binary),
 * an agent that starts from the installed release, idempotence, upgrade and refusal of a bad config.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, rmSync, readFileSync, readdirSync, readlinkSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { agentBootstrapConfigSchema, generateSigningKeyPair, loadConfig } from '@edgefleet/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ocrModelPath, tmpDataDir, type TmpDir } from '../helpers/index.js';
import { verifyUnit } from './deploy-systemd.js';

const repo = join(import.meta.dirname, '../..');
const installScript = join(repo, 'deploy/agent/install.sh');
const isRoot = process.getuid?.() === 0;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], timeoutMs = 90_000): Run {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: timeoutMs, cwd: repo });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function install(root: string, ...args: string[]): Run {
  return run('bash', [installScript, '--root', root, ...args]);
}

function mode(path: string): string {
  return (statSync(path).mode & 0o7777).toString(8).padStart(4, '0');
}

/** Every path under `dir` with its type, mode, owner and mtime: a fingerprint of an install. */
function snapshot(dir: string, skip = /\/app\//): string[] {
  const out: string[] = [];
  const walk = (path: string): void => {
    const st = lstatSync(path);
    out.push(`${path.slice(dir.length)} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs}${st.isSymbolicLink() ? ` -> ${readlinkSync(path)}` : ''}`);
    if (st.isDirectory() && !skip.test(`${path}/`)) for (const name of readdirSync(path).sort()) walk(join(path, name));
  };
  walk(dir);
  return out;
}

function passwdEntry(root: string, user: string): string[] | undefined {
  const line = readFileSync(join(root, 'etc/passwd'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  return line?.split(':');
}

let work: TmpDir;
let tarball: string;
let provision: string;
let release: string;
/** The scratch root of the first install, done once in beforeAll. */
let root: string;
let firstInstall: Run;

beforeAll(async () => {
  work = await tmpDataDir('edgefleet-deploy-');
  const built = run('bash', [join(repo, 'deploy/bundle/bundle.sh'), 'agent', '--skip-build', '--out', join(work.path, 'out')], 120_000);
  expect(built.stderr + built.stdout, 'bundle.sh failed (run `pnpm build` first)').toMatch(/\.tar\.gz\s*$/);
  expect(built.status).toBe(0);
  tarball = built.stdout.trim().split('\n').pop() ?? '';
  release = (JSON.parse(spawnSync('tar', ['-xzOf', tarball, '--wildcards', '--no-wildcards-match-slash', '*/bundle.json'], { encoding: 'utf8' }).stdout) as { release: string }).release;

  // What `edgefleet devices add ID --agent-config FILE` hands an installer; JSON is valid YAML.
  provision = join(work.path, 'device-7.yaml');
  writeFileSync(
    provision,
    JSON.stringify({
      deviceId: 'device-7',
      broker: { url: 'mqtt://fleet.example:1883', username: 'device-7', password: 'device-secret-7' },
      fleetPublicKey: generateSigningKeyPair().publicKeyPem,
    }),
  );
  root = join(work.path, 'root');
  firstInstall = install(root, '--bundle', tarball, '--provision', provision);
}, 200_000);

afterAll(async () => {
  await work?.cleanup();
});

describe('deploy/agent/install.sh --root', () => {
  it('installs user, release, config, data dir and the enabled unit with the expected modes and owners', () => {
    expect(firstInstall.stderr).toBe('');
    expect(firstInstall.status).toBe(0);

    const user = passwdEntry(root, 'edgefleet');
    expect(user, 'edgefleet user in the staged /etc/passwd').toBeDefined();
    expect(user?.[5]).toBe('/var/lib/edgefleet-agent');
    expect(user?.[6]).toBe('/usr/sbin/nologin');
    const [uid, gid] = [Number(user?.[2]), Number(user?.[3])];

    const conf = join(root, 'etc/edgefleet-agent');
    expect(readFileSync(join(conf, 'config.yaml'), 'utf8')).toBe(readFileSync(provision, 'utf8'));
    expect(mode(conf)).toBe('0750');
    expect(mode(join(conf, 'config.yaml'))).toBe('0640');
    const data = join(root, 'var/lib/edgefleet-agent');
    expect(mode(data)).toBe('0750');
    if (isRoot) {
      // The config holds the broker secret: root owns it, the service group may only read it.
      expect([statSync(conf).uid, statSync(conf).gid]).toEqual([0, gid]);
      expect([statSync(join(conf, 'config.yaml')).uid, statSync(join(conf, 'config.yaml')).gid]).toEqual([0, gid]);
      expect([statSync(data).uid, statSync(data).gid]).toEqual([uid, gid]);
      expect(statSync(join(root, 'opt/edgefleet-agent/current/app')).uid).toBe(0);
    }

    const prefix = join(root, 'opt/edgefleet-agent');
    expect(readlinkSync(join(prefix, 'current'))).toBe(`releases/${release}`);
    expect(realpathSync(join(prefix, 'bin/edgefleet-agent'))).toBe(realpathSync(join(prefix, 'releases', release, 'bin/edgefleet-agent')));
    expect(mode(join(prefix, 'releases', release, 'bin/edgefleet-agent'))).toBe('0755');
    // The unit's Documentation= link.
    expect(readFileSync(join(prefix, 'current/README.md'), 'utf8')).toMatch(/docs\/operations\.md/);

    const unit = join(root, 'etc/systemd/system/edgefleet-agent.service');
    expect(readFileSync(unit, 'utf8')).toBe(readFileSync(join(repo, 'deploy/systemd/edgefleet-agent.service'), 'utf8'));
    expect(mode(unit)).toBe('0644');
    expect(readlinkSync(join(root, 'etc/systemd/system/multi-user.target.wants/edgefleet-agent.service'))).toBe('/etc/systemd/system/edgefleet-agent.service');
  });

  it('the installed unit verifies against the installed binary', () => {
    // No stand-in: /opt/edgefleet-agent/bin/edgefleet-agent exists in the root, so verify checks the real one.
    const result = verifyUnit(join(root, 'etc/systemd/system/edgefleet-agent.service'), root);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it('the installed release runs: the agent loads all its modules from the bundle and prints its usage', () => {
    const result = run(join(root, 'opt/edgefleet-agent/bin/edgefleet-agent'), ['--help'], 30_000);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/--config/);
    expect(result.status).toBe(0);
  });

  it("the bundle's pruned native modules work: better-sqlite3 writes a database, onnxruntime-node runs a real model", () => {
    const app = join(root, 'opt/edgefleet-agent/current/app');
    const script = `
      import Database from 'better-sqlite3';
      import * as ort from 'onnxruntime-node';
      const db = new Database(':memory:');
      db.exec('CREATE TABLE t (x INTEGER)');
      db.prepare('INSERT INTO t VALUES (?)').run(42);
      const session = await ort.InferenceSession.create(process.argv[1]);
      const x = new ort.Tensor('float32', new Float32Array(3 * 48 * 192).fill(0.5), [1, 3, 48, 192]);
      const out = await session.run({ [session.inputNames[0]]: x });
      const y = out[session.outputNames[0]];
      console.log(JSON.stringify({ row: db.prepare('SELECT x FROM t').get().x, dims: y.dims }));
    `;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script, ocrModelPath('cls')], { cwd: app, encoding: 'utf8', timeout: 60_000 });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ row: 42, dims: [1, 2] });
  }, 60_000);

  // One sequence (it changes the shared root): a re-run first, then an upgrade.
  it("the bundle's inference worker (a separate compiled entry) starts and runs a real model", () => {
    const app = join(root, 'opt/edgefleet-agent/current/app');
    // A file, not --eval: worker threads inherit the parent's execArgv, and --input-type is refused for a file entry.
    const script = join(work.path, 'worker-check.mjs');
    writeFileSync(
      script,
      `
      import { createWorkerSessionFactory } from ${JSON.stringify(pathToFileURL(join(app, 'dist/inference/worker-session-factory.js')).href)};
      const session = await createWorkerSessionFactory().create({ modelPath: process.argv[2], ep: 'cpu', options: {} });
      const input = session.inputs[0];
      const out = await session.run([{ name: input.name, datatype: 'FP32', shape: [1, 3, 48, 192], data: new Float32Array(3 * 48 * 192).fill(0.5) }]);
      await session.release();
      console.log(JSON.stringify({ dims: out.outputs[0].shape }));
    `,
    );
    const result = spawnSync(process.execPath, [script, ocrModelPath('cls')], { cwd: app, encoding: 'utf8', timeout: 60_000 });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ dims: [1, 2] });
  }, 60_000);

  it('is idempotent with the same bundle, then upgrades to a new release keeping config, data and the previous release', () => {
    const before = snapshot(root);
    const result = install(root, '--bundle', tarball, '--provision', provision);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/release .* already installed/);
    expect(result.stdout).toMatch(/config unchanged/);
    expect(snapshot(root)).toEqual(before);

    // A second bundle: the installed release with another release id (the script copies a directory bundle).
    const next = join(work.path, 'next-bundle');
    // Hard links: a second 70 MB copy would only measure the disk.
    expect(run('cp', ['-al', join(root, 'opt/edgefleet-agent/releases', release), next]).status).toBe(0);
    const manifest = JSON.parse(readFileSync(join(next, 'bundle.json'), 'utf8')) as Record<string, string>;
    rmSync(join(next, 'bundle.json'));
    writeFileSync(join(next, 'bundle.json'), JSON.stringify({ ...manifest, release: `${release}.next` }, null, 2));
    const marker = join(root, 'var/lib/edgefleet-agent/state.db');
    writeFileSync(marker, 'device state');
    const configBefore = statSync(join(root, 'etc/edgefleet-agent/config.yaml')).mtimeMs;

    const upgrade = install(root, '--bundle', next);
    expect(upgrade.status).toBe(0);
    const prefix = join(root, 'opt/edgefleet-agent');
    expect(readlinkSync(join(prefix, 'current'))).toBe(`releases/${release}.next`);
    expect(readlinkSync(join(prefix, 'previous'))).toBe(`releases/${release}`);
    expect(existsSync(join(prefix, 'releases', release, 'app'))).toBe(true);
    expect(readFileSync(marker, 'utf8')).toBe('device state');
    expect(statSync(join(root, 'etc/edgefleet-agent/config.yaml')).mtimeMs).toBe(configBefore);
  }, 90_000);

  it('refuses an invalid provisioning file before touching the root', () => {
    const bad = join(work.path, 'bad.yaml');
    writeFileSync(bad, JSON.stringify({ deviceId: 'device-8', brokr: { url: 'mqtt://x:1883' }, fleetPublicKey: 'nope' }));
    const fresh = join(work.path, 'fresh-root');
    // The installed release is a bundle directory too; it spares unpacking the tarball again.
    const result = install(fresh, '--bundle', join(root, 'opt/edgefleet-agent/releases', release), '--provision', bad);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/CONFIG_INVALID|invalid configuration/);
    expect(result.stderr).toMatch(/brokr|broker/);
    expect(readdirSync(fresh)).toEqual([]);
  }, 60_000);

  it('installs a zero-touch config from --provisioning-key/--server/--fleet-key: no device identity, the agent enrols on first start', () => {
    const fleetKey = join(work.path, 'fleet.pub');
    const publicKeyPem = generateSigningKeyPair().publicKeyPem;
    writeFileSync(fleetKey, publicKeyPem);
    const image = join(work.path, 'image-root');
    const bundle = join(root, 'opt/edgefleet-agent/releases', release);
    const args = ['--bundle', bundle, '--provisioning-key', 'efp_abc-DEF_123', '--server', 'https://fleet.example:8080', '--fleet-key', fleetKey, '--device-id-template', 'cam-{machine-id:8}', '--no-start'];
    const result = install(image, ...args);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/enrols at https:\/\/fleet\.example:8080 on first start \(device id from cam-\{machine-id:8\}\)/);
    const config = join(image, 'etc/edgefleet-agent/config.yaml');
    expect(mode(config)).toBe('0640');
    const parsed = loadConfig({ schema: agentBootstrapConfigSchema, file: config, env: {} });
    expect(parsed.provisioning).toEqual({ serverUrl: 'https://fleet.example:8080', key: 'efp_abc-DEF_123', deviceIdTemplate: 'cam-{machine-id:8}' });
    expect(parsed.fleetPublicKey).toBe(publicKeyPem);
    expect(parsed.deviceId).toBeUndefined();
    // Idempotent like --provision.
    expect(install(image, ...args).stdout).toMatch(/config unchanged/);

    const partial = install(join(work.path, 'partial-root'), '--bundle', bundle, '--provisioning-key', 'efp_x', '--fleet-key', fleetKey);
    expect(partial.status).not.toBe(0);
    expect(partial.stderr).toMatch(/needs all of --provisioning-key, --server and --fleet-key/);
  }, 60_000);

  it('refuses something that is not a bundle', () => {
    const notBundle = join(work.path, 'not-a-bundle');
    expect(run('mkdir', ['-p', notBundle]).status).toBe(0);
    const result = install(join(work.path, 'other-root'), '--bundle', notBundle);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/not an edgefleet agent bundle/);
  });
});
