/**
 * Fleet scale (issue 10, items 1-2): a real control-plane process (`edgefleet server`) and N
 * simulated devices (test/helpers/fleet-sim.ts: real protocol, device credentials) in a second
 * process (fleet/sim-process.ts), on the embedded broker and on Mosquitto, side by side in one run.
 * On this 2-core machine that is the honest layout: one core for the control plane, one for the
 * simulator (and Mosquitto, when used); the simulator's own CPU is reported so a sim-bound run shows.
 * Measures the connect storm (time, connections/s), the control plane's CPU and RSS (from
 * /proc/<pid>) during the storm and at steady state with every device reporting telemetry every
 * 30 s: sustained points/s and end-to-end lag (sample time → committed in the store,
 * fleet/telemetry-lag.ts). The rollout to 100 % in devices/minute is test/bench/rollout.ts.
 * Default 10,000 devices per broker; `--long` runs 1,000, 2,000, 5,000, 10,000, 15,000 and 20,000
 * to find the breaking point. EDGEFLEET_BENCH_FLEET_SIZES=... overrides. The embedded broker checks
 * every device's secret; the CI machine's Mosquitto on 1883 accepts anonymous clients, so its storm
 * does no credential check.
 */
import { randomBytes } from 'node:crypto';
import { tmpDataDir } from '../helpers/index.js';
import type { BenchResult, BenchRow } from './bench-result.js';
import { rssMb } from './footprint.js';
import { benchBrokers, sampled, sleep, startServer, type BrokerKind } from './fleet/server-process.js';
import { startSimProcess, type SimProcess } from './fleet/sim-process.js';
import { UNLIMITED_ENROLMENT_ENV, enrolDevices, type EnrolmentRun } from './fleet/enrol-devices.js';
import { startLagProbe, type LagStats } from './fleet/telemetry-lag.js';

const TELEMETRY_INTERVAL_MS = 30_000;

interface FleetRun {
  broker: BrokerKind;
  devices: number;
  provisionS: number;
  connectS: number;
  connectPerS: number;
  failed: number;
  stormCpuPct: number;
  stormPeakRssMb: number;
  simStormCpuPct: number;
  steadyCpuPct: number;
  steadyRssMb: number;
  simSteadyCpuPct: number;
  telemetryPointsPerS: number;
  lag: LagStats;
  /** Zero-touch enrolment of as many devices again (embedded broker run only: it does not touch the broker). */
  enrolment?: EnrolmentRun;
  firstError?: string;
}

async function runOnce(broker: BrokerKind, devices: number, steadyMs: number): Promise<FleetRun> {
  const dir = await tmpDataDir('bench-fleet-');
  const server = await startServer({ dataDir: dir.path, broker, cpuProfileDir: process.env.EDGEFLEET_BENCH_CPU_PROF, env: UNLIMITED_ENROLMENT_ENV });
  const run = randomBytes(3).toString('hex');
  const ids = Array.from({ length: devices }, (_, i) => `fl-${run}-${String(i).padStart(5, '0')}`);
  let sim: SimProcess | undefined;
  let probe: ReturnType<typeof startLagProbe> | undefined;
  try {
    const t0 = Date.now();
    const { devices: creds } = await server.provision(ids, { bench: run });
    const provisionS = (Date.now() - t0) / 1000;
    const enrolment = broker === 'embedded' ? await enrolDevices(server, ids.map((id) => id.replace(/^fl-/, 'en-'))) : undefined;
    const s = (sim = await startSimProcess({ brokerUrl: server.mqttUrl, devices: creds, connectConcurrency: 100, telemetryIntervalMs: TELEMETRY_INTERVAL_MS }));
    const lagProbe = (probe = startLagProbe(server.dbFile));
    const storm = await sampled(server.pid, () => sampled(s.pid, () => s.connectAll()));
    // One interval for every device's first (randomly phased) batch, then measure a full one.
    await sleep(Math.min(TELEMETRY_INTERVAL_MS, steadyMs));
    const points0 = (await s.counters()).telemetryPoints;
    lagProbe.reset();
    const steady = await sampled(server.pid, () => sampled(s.pid, () => sleep(steadyMs)));
    const points = (await s.counters()).telemetryPoints - points0;
    const connect = storm.value.value;
    return {
      broker,
      devices,
      provisionS,
      connectS: connect.ms / 1000,
      connectPerS: connect.perSecond,
      failed: connect.failed,
      stormCpuPct: storm.cpuPct,
      stormPeakRssMb: storm.peakRssMb,
      simStormCpuPct: storm.value.cpuPct,
      steadyCpuPct: steady.cpuPct,
      steadyRssMb: rssMb(server.pid),
      simSteadyCpuPct: steady.value.cpuPct,
      telemetryPointsPerS: points / (steady.wallMs / 1000),
      lag: lagProbe.stats(),
      ...(enrolment ? { enrolment } : {}),
      ...(connect.firstError ? { firstError: connect.firstError } : {}),
    };
  } finally {
    probe?.stop();
    await sim?.close();
    await server.stop();
    await dir.cleanup();
  }
}

export async function run(options: { long?: boolean } = {}): Promise<BenchResult> {
  const sizes = (process.env.EDGEFLEET_BENCH_FLEET_SIZES ?? (options.long ? '1000,2000,5000,10000,15000,20000' : '10000')).split(',').map(Number);
  const steadyMs = options.long ? 2 * TELEMETRY_INTERVAL_MS : TELEMETRY_INTERVAL_MS;
  const runs: FleetRun[] = [];
  const errors: string[] = [];
  for (const devices of sizes) {
    for (const broker of benchBrokers()) {
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
      { metric: `control plane during the storm, ${r.devices}, ${r.broker}`, value: r.stormCpuPct, unit: '% CPU', note: `peak RSS ${r.stormPeakRssMb.toFixed(0)} MB; simulator process ${r.simStormCpuPct.toFixed(0)} % CPU` },
      { metric: `control plane steady, ${r.devices} devices reporting every 30 s, ${r.broker}`, value: r.steadyCpuPct, unit: '% CPU', note: `RSS ${r.steadyRssMb.toFixed(0)} MB; ${r.telemetryPointsPerS.toFixed(1)} telemetry points/s sustained; simulator ${r.simSteadyCpuPct.toFixed(0)} % CPU` },
      { metric: `telemetry lag p99, ${r.devices} devices, ${r.broker}`, value: r.lag.p99Ms, unit: 'ms', note: `sample time → committed in the store; p50 ${r.lag.p50Ms.toFixed(0)} ms, max ${r.lag.maxMs.toFixed(0)} ms over ${r.lag.batches} batches (±${r.lag.pollMs} ms poll)` },
      { metric: `bulk provisioning, ${r.devices} devices, ${r.broker}`, value: r.provisionS, unit: 's', note: `${(r.devices / r.provisionS).toFixed(0)} devices/s (salted SHA-256 secrets)` },
    );
    if (r.enrolment) {
      const e = r.enrolment;
      summary.push({
        metric: `zero-touch enrolment, ${e.devices} devices, one provisioning key`,
        value: e.perSecond,
        unit: 'enrolments/s',
        note: `${e.seconds.toFixed(1)} s, 32 in flight; ${(e.perSecond / (r.devices / r.provisionS)).toFixed(2)}× bulk provisioning's devices/s; ${e.refused} refused${e.firstError ? `; first: ${e.firstError.slice(0, 120)}` : ''}`,
      });
    }
  }
  return { summary, runs, errors, telemetryIntervalMs: TELEMETRY_INTERVAL_MS };
}
