// @ts-check
/**
 * What the test suite needs from outside npm, in one table: the programs some tests run and the
 * services they talk to. `pnpm test` checks (and on Debian as root, installs) them before anything
 * else (prepare.mjs); vitest's global set-up probes them again so a missing one fails under CI and
 * is a loud, counted skip elsewhere (global-setup.ts, gate.ts). Plain JavaScript: it runs before the
 * build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';

/**
 * @typedef {'chromium' | 'libfaketime' | 'systemd-analyze' | 'mosquitto' | 'mosquitto_passwd' | 'openssl'} ToolId
 * @typedef {'mosquitto-broker' | 'postgres'} ServiceId
 * @typedef {ToolId | ServiceId} RequirementId
 * @typedef {{ id: ToolId, name: string, path: string, apt: string, usedBy: string, override?: string }} Tool
 *   `apt`: the Debian package that provides it; `override`: a variable that points the suite at another copy.
 * @typedef {{ id: ServiceId, name: string, env: string, url: string, start: string }} Service
 *   `env`: the one variable the whole suite reads for this service's URL; `start`: how this kind of machine starts it.
 * @typedef {{ kind: 'tool' | 'service', id: RequirementId, line: string }} Missing
 *   `line`: what is missing and the command that fixes it.
 */

/** @type {Record<string, string>} */
const DEBIAN_MULTIARCH = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };
const MULTIARCH = DEBIAN_MULTIARCH[process.arch] ?? `${process.arch}-linux-gnu`;

/** @type {readonly Tool[]} */
export const TOOLS = [
  { id: 'chromium', name: 'Chromium', path: process.env.EDGEFLEET_TEST_CHROMIUM ?? '/usr/bin/chromium', apt: 'chromium', usedBy: 'the dashboard browser tests', override: 'EDGEFLEET_TEST_CHROMIUM' },
  { id: 'libfaketime', name: 'libfaketime', path: `/usr/lib/${MULTIARCH}/faketime/libfaketimeMT.so.1`, apt: 'faketime', usedBy: 'the clock-jump fault case' },
  { id: 'systemd-analyze', name: 'systemd-analyze', path: '/usr/bin/systemd-analyze', apt: 'systemd', usedBy: 'the unit-file checks of deploy/' },
  { id: 'mosquitto', name: 'the mosquitto program', path: '/usr/sbin/mosquitto', apt: 'mosquitto', usedBy: 'tests that run a private Mosquitto' },
  { id: 'mosquitto_passwd', name: 'mosquitto_passwd', path: '/usr/bin/mosquitto_passwd', apt: 'mosquitto', usedBy: 'the deploy/mosquitto ACL test' },
  { id: 'openssl', name: 'openssl', path: '/usr/bin/openssl', apt: 'openssl', usedBy: 'the broker TLS tests' },
];

/** @type {readonly Service[]} */
export const SERVICES = [
  {
    id: 'mosquitto-broker',
    name: 'Mosquitto',
    env: 'EDGEFLEET_TEST_MOSQUITTO_URL',
    url: process.env.EDGEFLEET_TEST_MOSQUITTO_URL ?? 'mqtt://127.0.0.1:1883',
    start: 'mosquitto -d -c /etc/mosquitto/mosquitto.conf',
  },
  {
    id: 'postgres',
    name: 'PostgreSQL',
    env: 'EDGEFLEET_TEST_POSTGRES_URL',
    url: process.env.EDGEFLEET_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    start: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
  },
];

/** CI machines set CI=true; there a missing requirement fails the run instead of skipping. */
export function isCi(env = process.env) {
  return env.CI === 'true' || env.CI === '1';
}

/** @param {string} url @param {number} timeoutMs @returns {Promise<string | undefined>} why it is unreachable, or undefined */
function tcpProbe(url, timeoutMs) {
  const u = new URL(url);
  const port = Number(u.port || (u.protocol === 'postgres:' || u.protocol === 'postgresql:' ? 5432 : 1883));
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname || '127.0.0.1', port });
    const done = (/** @type {string | undefined} */ why) => {
      socket.destroy();
      resolve(why);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (err) => done(err.message));
  });
}

/** @returns {Promise<Missing[]>} */
export async function findMissing() {
  /** @type {Missing[]} */
  const missing = [];
  for (const t of TOOLS) {
    if (!existsSync(t.path)) missing.push({ kind: 'tool', id: t.id, line: `${t.name} is missing (${t.path}), needed by ${t.usedBy}: install it with \`sudo apt-get install -y ${t.apt}\`${t.override ? ` or point ${t.override} at one` : ''}` });
  }
  const probes = await Promise.all(SERVICES.map((s) => tcpProbe(s.url, 2000)));
  SERVICES.forEach((s, i) => {
    const why = probes[i];
    if (why) missing.push({ kind: 'service', id: s.id, line: `${s.name} is not reachable at ${s.url} (${why}): start it with \`${s.start}\` or set ${s.env}` });
  });
  return missing;
}

/** Debian or Ubuntu, running as root, with apt-get: the one place the set-up installs by itself. */
export function canInstallWithApt() {
  return process.platform === 'linux' && process.getuid?.() === 0 && existsSync('/etc/debian_version') && existsSync('/usr/bin/apt-get');
}

/** @param {readonly string[]} packages @returns {string | undefined} the failure, or undefined */
export function aptInstall(packages) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', ...packages]]) {
    const r = spawnSync('apt-get', args, { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) return `apt-get ${args[0]} failed (${r.status ?? r.signal}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`;
  }
  return undefined;
}

/** @param {ToolId} id @returns {string} */
export function toolPath(id) {
  const t = TOOLS.find((x) => x.id === id);
  if (!t) throw new Error(`unknown test requirement ${id}`);
  return t.path;
}

/** @param {ServiceId} id @returns {string} */
export function serviceUrl(id) {
  const s = SERVICES.find((x) => x.id === id);
  if (!s) throw new Error(`unknown test service ${id}`);
  return s.url;
}
