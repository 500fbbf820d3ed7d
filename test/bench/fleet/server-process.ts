/**
 * A real control-plane process (`edgefleet server`) for the fleet and rollout benchmarks, with the
 * admin REST calls they need and /proc sampling of its CPU and RSS. The simulated devices run in
 * another process (sim-process.ts) so they never share the control plane's event loop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { provisionedDevicesSchema } from '@edgefleet/shared';
import { MOSQUITTO_URL, freePort } from '../../helpers/index.js';
import { cpuMs, rssMb } from '../footprint.js';

export type BrokerKind = 'embedded' | 'mosquitto';

/** EDGEFLEET_BENCH_BROKERS=embedded (or mosquitto) runs one broker only, e.g. while profiling. */
export function benchBrokers(): BrokerKind[] {
  const only = process.env.EDGEFLEET_BENCH_BROKERS?.split(',');
  return (['embedded', 'mosquitto'] as const).filter((b) => !only || only.includes(b));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) dir = dirname(dir);
  return dir;
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly httpUrl: string;
  readonly mqttUrl: string;
  readonly dbFile: string;
  /** The server's last stderr lines (warnings and errors at --log-level warn). */
  stderrTail(): string;
  /** How many stderr lines contained `text` so far. */
  logCount(text: string): number;
  /** Admin REST call; throws on a status other than `expect`. */
  api<T = unknown>(method: string, path: string, body?: unknown, expect?: number): Promise<T>;
  /** Provisions devices in bulk (1,000 per request); the secret is kept only for the embedded broker. */
  provision(ids: readonly string[], tags: Record<string, string>): Promise<{ devices: { deviceId: string; password?: string }[]; fleetPublicKey: string }>;
  stop(): Promise<void>;
}

export interface StartServerOptions {
  dataDir: string;
  broker: BrokerKind;
  /** Writes a V8 CPU profile of the server into this directory when it exits (node --cpu-prof). */
  cpuProfileDir?: string | undefined;
  /** Extra environment (EDGEFLEET_CP_* settings). */
  env?: Record<string, string>;
  /**
   * One replica of several on this PostgreSQL database (issue 16): shared subscriptions on the
   * external broker, the singleton lease, the data dir shared with the other replicas.
   */
  replica?: { postgresUrl: string; id: string } | undefined;
}

export async function startServer(options: StartServerOptions): Promise<ServerProcess> {
  const { dataDir, broker } = options;
  const httpPort = await freePort();
  const mqttPort = await freePort();
  const node = options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir] : [];
  const args = [...node, join(repoRoot(), 'control-plane/bin/edgefleet.js'), 'server', '--data-dir', dataDir, '--http-host', '127.0.0.1', '--http-port', String(httpPort), '--log-level', 'warn'];
  args.push(...(broker === 'embedded' ? ['--mqtt-host', '127.0.0.1', '--mqtt-port', String(mqttPort)] : ['--mqtt-url', MOSQUITTO_URL]));
  if (options.replica) args.push('--store', 'postgres', '--store-url', options.replica.postgresUrl, '--shared-subscriptions', '--replica-id', options.replica.id);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...options.env } });
  let stderr = '';
  const counts = new Map<string, number>();
  child.stderr?.on('data', (c: Buffer) => {
    const text = c.toString();
    stderr = (stderr + text).slice(-4000);
    for (const line of text.split('\n')) {
      const msg = /"msg":"([^"]*)"/.exec(line)?.[1];
      if (msg) counts.set(msg, (counts.get(msg) ?? 0) + 1);
    }
  });
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`edgefleet server exited: ${stderr.slice(-500)}`);
    const ok = await fetch(`${httpUrl}/api/v1/openapi.json`).then((r) => r.ok).catch(() => false);
    if (ok && existsSync(join(dataDir, 'admin.token'))) break;
    if (Date.now() > deadline) throw new Error(`edgefleet server did not start: ${stderr.slice(-500)}`);
    await sleep(200);
  }
  const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  const api = async <T>(method: string, path: string, body?: unknown, expect = 200): Promise<T> => {
    const binary = Buffer.isBuffer(body);
    const res = await fetch(`${httpUrl}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': binary ? 'application/octet-stream' : 'application/json' }) },
      ...(body === undefined ? {} : { body: binary ? body : JSON.stringify(body) }),
    });
    if (res.status !== expect) throw new Error(`${method} ${path}: ${res.status} ${(await res.text()).slice(0, 300)}`);
    return (await res.json()) as T;
  };
  return {
    child,
    pid: child.pid as number,
    httpUrl,
    mqttUrl: broker === 'embedded' ? `mqtt://127.0.0.1:${mqttPort}` : MOSQUITTO_URL,
    dbFile: join(dataDir, 'control-plane.db'),
    stderrTail: () => stderr,
    logCount: (text) => [...counts].filter(([msg]) => msg.includes(text)).reduce((n, [, c]) => n + c, 0),
    api,
    async provision(ids, tags) {
      const devices: { deviceId: string; password?: string }[] = [];
      let fleetPublicKey = '';
      for (let i = 0; i < ids.length; i += 1000) {
        const body = await api('POST', '/devices/bulk', { devices: ids.slice(i, i + 1000).map((id) => ({ id, tags })) }, 201);
        for (const p of provisionedDevicesSchema.parse(body).devices) {
          devices.push({ deviceId: p.device.id, ...(broker === 'embedded' ? { password: p.secret } : {}) });
          fleetPublicKey = p.agentConfig.fleetPublicKey;
        }
      }
      return { devices, fleetPublicKey };
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface Sampled<T> {
  value: T;
  cpuMs: number;
  /** CPU time over wall time, in % of one core. */
  cpuPct: number;
  peakRssMb: number;
  wallMs: number;
}

/** Samples a process's CPU time and peak RSS (from /proc) while `work` runs. */
export async function sampled<T>(pid: number, work: () => Promise<T>): Promise<Sampled<T>> {
  const cpu0 = cpuMs(pid);
  const t0 = Date.now();
  let peak = rssMb(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 250);
  try {
    const value = await work();
    const used = cpuMs(pid) - cpu0;
    const wallMs = Date.now() - t0;
    return { value, cpuMs: used, cpuPct: (used / Math.max(wallMs, 1)) * 100, peakRssMb: Math.max(peak, rssMb(pid)), wallMs };
  } finally {
    clearInterval(timer);
  }
}
