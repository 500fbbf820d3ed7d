/**
 * Fleet scale (issue 10, items 1-2): a real control-plane process (`edgefleet server`) and N
 * simulated devices (test/helpers/fleet-sim.ts: real protocol, device credentials) on the embedded
 * broker and on Mosquitto, side by side in one run. Measures the connect storm (time, connections/s),
 * the control plane's CPU and RSS during the storm and at steady state with every device reporting
 * telemetry every 30 s (sustained points/s), from /proc/<pid> of the server process. The rollout to
 * 100 % in devices/minute is test/bench/rollout.ts (it uses the same simulator).
 * Default 1,000 devices per broker; `--long` runs 1,000, 2,000, 5,000 and 10,000 to find the breaking
 * point. EDGEFLEET_BENCH_FLEET_SIZES=... overrides. The embedded broker checks every device's secret;
 * the CI machine's Mosquitto on 1883 accepts anonymous clients, so its storm does no credential check.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { provisionedDevicesSchema } from '@edgefleet/shared';
import { createFleetSim } from '../helpers/fleet-sim.js';
import { MOSQUITTO_URL, freePort, tmpDataDir } from '../helpers/index.js';
import type { BenchResult, BenchRow } from './bench-result.js';
import { cpuMs, rssMb } from './footprint.js';

const TELEMETRY_INTERVAL_MS = 30_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) dir = dirname(dir);
  return dir;
}

interface ServerProcess {
  child: ChildProcess;
  httpUrl: string;
  mqttUrl: string;
  adminToken: string;
  stop(): Promise<void>;
}

async function startServer(dataDir: string, broker: 'embedded' | 'mosquitto'): Promise<ServerProcess> {
  const httpPort = await freePort();
  const mqttPort = await freePort();
  const args = [join(repoRoot(), 'control-plane/bin/edgefleet.js'), 'server', '--data-dir', dataDir, '--http-host', '127.0.0.1', '--http-port', String(httpPort), '--log-level', 'warn'];
  args.push(...(broker === 'embedded' ? ['--mqtt-host', '127.0.0.1', '--mqtt-port', String(mqttPort)] : ['--mqtt-url', MOSQUITTO_URL]));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`edgefleet server exited: ${stderr.slice(-500)}`);
    const ok = await fetch(`${httpUrl}/api/v1/openapi.json`).then((r) => r.ok).catch(() => false);
    if (ok && existsSync(join(dataDir, 'admin.token'))) break;
    if (Date.now() > deadline) throw new Error(`edgefleet server did not start: ${stderr.slice(-500)}`);
    await sleep(200);
  }
  return {
    child,
    httpUrl,
    mqttUrl: broker === 'embedded' ? `mqtt://127.0.0.1:${mqttPort}` : MOSQUITTO_URL,
    adminToken: readFileSync(join(dataDir, 'admin.token'), 'utf8').trim(),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** Samples a process's CPU and RSS while `work` runs. */
async function sampled<T>(pid: number, work: () => Promise<T>): Promise<{ value: T; cpuMs: number; peakRssMb: number; wallMs: number }> {
  const cpu0 = cpuMs(pid);
  const t0 = Date.now();
  let peak = rssMb(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 250);
  try {
    const value = await work();
    return { value, cpuMs: cpuMs(pid) - cpu0, peakRssMb: Math.max(peak, rssMb(pid)), wallMs: Date.now() - t0 };
  } finally {
    clearInterval(timer);
  }
}

interface FleetRun {
  broker: 'embedded' | 'mosquitto';
  devices: number;
  provisionS: number;
  connectS: number;
  connectPerS: number;
  failed: number;
  stormCpuPct: number;
  stormPeakRssMb: number;
  steadyCpuPct: number;
  steadyRssMb: number;
  telemetryPointsPerS: number;
  firstError?: string;
}

async function runOnce(broker: 'embedded' | 'mosquitto', devices: number, steadyMs: number): Promise<FleetRun> {
  const dir = await tmpDataDir('bench-fleet-');
  const server = await startServer(dir.path, broker);
  const pid = server.child.pid as number;
  const run = randomBytes(3).toString('hex');
  const ids = Array.from({ length: devices }, (_, i) => `fl-${run}-${String(i).padStart(5, '0')}`);
  const creds: { deviceId: string; password?: string }[] = [];
  let fleet: ReturnType<typeof createFleetSim> | undefined;
  try {
    const t0 = Date.now();
    for (let i = 0; i < ids.length; i += 1000) {
      const res = await fetch(`${server.httpUrl}/api/v1/devices/bulk`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ devices: ids.slice(i, i + 1000).map((id) => ({ id, tags: { bench: run } })) }),
      });
      if (res.status !== 201) throw new Error(`bulk provisioning: ${res.status} ${await res.text()}`);
      for (const p of provisionedDevicesSchema.parse(await res.json()).devices) creds.push({ deviceId: p.device.id, ...(broker === 'embedded' ? { password: p.secret } : {}) });
    }
    const provisionS = (Date.now() - t0) / 1000;
    fleet = createFleetSim({ brokerUrl: server.mqttUrl, devices: creds, connectConcurrency: 100, telemetryIntervalMs: TELEMETRY_INTERVAL_MS });
    const f = fleet;
    const storm = await sampled(pid, () => f.connectAll());
    const batches0 = f.counters.telemetryPoints;
    const steady = await sampled(pid, () => sleep(steadyMs));
    const points = f.counters.telemetryPoints - batches0;
    return {
      broker,
      devices,
      provisionS,
      connectS: storm.value.ms / 1000,
      connectPerS: storm.value.perSecond,
      failed: storm.value.failed,
      stormCpuPct: (storm.cpuMs / storm.wallMs) * 100,
      stormPeakRssMb: storm.peakRssMb,
      steadyCpuPct: (steady.cpuMs / steady.wallMs) * 100,
      steadyRssMb: rssMb(pid),
      telemetryPointsPerS: points / (steady.wallMs / 1000),
      ...(storm.value.firstError ? { firstError: storm.value.firstError } : {}),
    };
  } finally {
    await fleet?.close();
    await server.stop();
    await dir.cleanup();
  }
}

export async function run(options: { long?: boolean } = {}): Promise<BenchResult> {
  const sizes = (process.env.EDGEFLEET_BENCH_FLEET_SIZES ?? (options.long ? '1000,2000,5000,10000' : '1000')).split(',').map(Number);
  const steadyMs = options.long ? 2 * TELEMETRY_INTERVAL_MS : TELEMETRY_INTERVAL_MS;
  const runs: FleetRun[] = [];
  const errors: string[] = [];
  for (const devices of sizes) {
    for (const broker of ['embedded', 'mosquitto'] as const) {
      try {
        runs.push(await runOnce(broker, devices, steadyMs));
      } catch (err) {
        errors.push(`${broker} ${devices}: ${(err as Error).message}`);
      }
    }
  }
  const summary: BenchRow[] = [];
  for (const r of runs) {
    const other = runs.find((x) => x.devices === r.devices && x.broker !== r.broker);
    summary.push(
      { metric: `connect storm, ${r.devices} devices, ${r.broker}`, value: r.connectS, unit: 's', note: `${r.connectPerS.toFixed(0)} connections/s; ${r.failed} failed${other ? `; ${(r.connectS / other.connectS).toFixed(2)}× ${other.broker}` : ''}${r.firstError ? `; first error: ${r.firstError.slice(0, 120)}` : ''}` },
      { metric: `control plane during the storm, ${r.devices}, ${r.broker}`, value: r.stormCpuPct, unit: '% CPU', note: `peak RSS ${r.stormPeakRssMb.toFixed(0)} MB` },
      { metric: `control plane steady, ${r.devices} devices reporting every 30 s, ${r.broker}`, value: r.steadyCpuPct, unit: '% CPU', note: `RSS ${r.steadyRssMb.toFixed(0)} MB; ${r.telemetryPointsPerS.toFixed(1)} telemetry points/s sustained` },
      { metric: `bulk provisioning, ${r.devices} devices, ${r.broker}`, value: r.provisionS, unit: 's', note: `${(r.devices / r.provisionS).toFixed(0)} devices/s (salted SHA-256 secrets)` },
    );
  }
  return { summary, runs, errors, telemetryIntervalMs: TELEMETRY_INTERVAL_MS };
}
