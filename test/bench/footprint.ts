/**
 * Agent footprint (issues 10 and 17): real `edgefleet-agent` processes against a plain broker with the
 * test artifact responder. Measures VmRSS (split into anonymous memory: V8 heaps and malloc, and
 * file-backed: the node binary and native libraries) from /proc/<pid>/status idle, with one real
 * model (PP-OCR classifier) and with three (classifier, detector, recogniser); inference p50 through
 * the agent's local API; CPU per telemetry cycle from /proc/<pid>/stat; start and serving times.
 *
 * Three launches run side by side in the same run, so their numbers compare:
 * - `unit`: as the systemd unit runs it on a device (deploy/systemd/edgefleet-agent.service): the
 *   single-file esbuild bundle (deploy/bundle/single-file.sh; the wrapper bundle.sh installs runs it),
 *   and the unit's `Environment=` (NODE_OPTIONS, MALLOC_ARENA_MAX);
 * - `before`: as the unit ran it before issue 17: agent/dist/main.js, NODE_OPTIONS=--max-semi-space-size=4,
 *   MALLOC_ARENA_MAX=2; the "today" the latency target is relative to;
 * - `bundled`: the bundle with `before`'s settings, so the bundle's share and the flags' share are told apart.
 * A bare `node` process idle is the floor no Node.js agent goes below.
 */
import { execFileSync, spawn as spawnProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent as HttpAgent } from 'node:http';
import mqtt from 'mqtt';
import { deviceTopic, desiredStateSchema, encodePayload, generateSigningKeyPair, reportedStateSchema, type DesiredModel, type ReportedState } from '@edgefleet/shared';
import { startAedesBroker } from '../helpers/aedes-broker.js';
import { AGENT_ENTRY, ensureAgentBuilt, spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { signedArtifact, startArtifactResponder } from '../helpers/artifact-responder.js';
import { ocrModelPath } from '../helpers/onnx-models.js';
import { freePort } from '../helpers/ports.js';
import { tmpDataDir, type TmpDir } from '../helpers/tmp-dir.js';
import type { BenchResult, BenchRow } from './bench-result.js';
import { kserveBinaryRequest, kserveJsonRequest, post, sineInput, statsOf } from './lib/kserve-http.js';

const BALENA_MIN_MB = 45;
const BALENA_MAX_MB = 85;
/** Issue 17's targets, as the unit runs the agent: idle, and with the PP-OCR classifier loaded; p50 within 5% of `before`. */
const IDLE_TARGET_MB = 60;
const ONE_MODEL_TARGET_MB = 95;
const P50_TARGET_RATIO = 1.05;
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLOCK_TICKS_PER_S = 100;
const UNIT_FILE = join(REPO, 'deploy', 'systemd', 'edgefleet-agent.service');

export function rssMb(pid: number): number {
  return memoryMb(pid).rss;
}

/** VmRSS and its anonymous (V8 heaps, malloc) and file-backed (binary, shared libraries) parts, in MB. */
export function memoryMb(pid: number): { rss: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const m = new RegExp(`${name}:\\s+(\\d+) kB`).exec(status);
    if (!m) throw new Error(`no ${name} for pid ${pid}`);
    return Number(m[1]) / 1024;
  };
  return { rss: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile') };
}

/** Where a process's RSS lives, in MB, from /proc/<pid>/smaps: which file a mapping holds, or none. */
export function rssByMapping(pid: number): { anonymous: number; nodeBinary: number; onnxruntime: number; otherFiles: number } {
  const out = { anonymous: 0, nodeBinary: 0, onnxruntime: 0, otherFiles: 0 };
  let bucket: keyof typeof out = 'anonymous';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping) {
      const path = mapping[1] ?? '';
      bucket = !path.startsWith('/') ? 'anonymous' : path === process.execPath ? 'nodeBinary' : /onnxruntime/.test(path) ? 'onnxruntime' : 'otherFiles';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out[bucket] += Number(rss[1]) / 1024;
  }
  return out;
}

/** utime + stime of a process in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S) * 1000;
}

/**
 * The `Environment=` assignments of a systemd unit (`KEY=VALUE`, several per line, double quotes
 * around one assignment with spaces), so the bench runs the agent as the unit does.
 */
export function unitEnvironment(unitText: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of unitText.split('\n')) {
    const m = /^\s*Environment=(.*)$/.exec(line);
    if (!m?.[1]) continue;
    for (const [, quoted, bare] of m[1].matchAll(/"([^"]*)"|(\S+)/g)) {
      const assignment = quoted ?? bare ?? '';
      const eq = assignment.indexOf('=');
      if (eq > 0) env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
    }
  }
  return env;
}

/** How an agent process is started: the entry script and the environment. */
export interface Launch {
  entry: string;
  env: Record<string, string>;
}

const BEFORE_ENV = { NODE_ENV: 'production', NODE_OPTIONS: '--max-semi-space-size=4', MALLOC_ARENA_MAX: '2' };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Median (by RSS) of a few samples a second apart: one sample can land mid-GC. */
async function steadyMemory(pid: number, samples = 5): Promise<{ rss: number; anon: number; file: number }> {
  const values: { rss: number; anon: number; file: number }[] = [];
  for (let i = 0; i < samples; i += 1) {
    values.push(memoryMb(pid));
    await sleep(1000);
  }
  return values.sort((a, b) => a.rss - b.rss)[Math.floor(values.length / 2)] as { rss: number; anon: number; file: number };
}

/** A bare Node.js process that only keeps its event loop alive: the floor under any Node.js agent. */
async function bareNodeMemory(env: Record<string, string>, settleMs: number): Promise<{ rss: number; anon: number; file: number }> {
  const child = spawnProcess(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { env: { ...process.env, ...env }, stdio: 'ignore' });
  try {
    await sleep(settleMs);
    return await steadyMemory(child.pid ?? -1);
  } finally {
    child.kill();
  }
}

const mb = (n: number): string => n.toFixed(1);

/** "onnxruntime libraries +a, anonymous +b, ..." between two rssByMapping() readings. */
function growth(from: ReturnType<typeof rssByMapping>, to: ReturnType<typeof rssByMapping>): string {
  const names = { onnxruntime: 'onnxruntime libraries', anonymous: 'anonymous (V8 heaps of the workers, onnxruntime and malloc)', nodeBinary: 'node binary', otherFiles: 'other files' } as const;
  return (Object.keys(names) as (keyof typeof names)[]).map((k) => `${names[k]} ${to[k] - from[k] >= 0 ? '+' : ''}${mb(to[k] - from[k])}`).join(', ');
}

type LaunchName = 'unit' | 'before' | 'bundled';
type Memory = { rss: number; anon: number; file: number };

/** One agent under measurement: its process, device id, API port and desired-state generation. */
interface Device {
  name: LaunchName;
  id: string;
  apiPort: number;
  dir: TmpDir;
  launch: Launch;
  agent?: AgentProcess;
  generation: number;
  reports: ReportedState[];
}

/** Samples the devices' memory at the same moments (median of 5, a second apart), so load lands on all alike. */
async function steadyMemoryOf(devices: Device[]): Promise<Record<string, Memory>> {
  const samples = await Promise.all(devices.map((d) => steadyMemory(d.agent?.pid ?? -1)));
  return Object.fromEntries(devices.map((d, i) => [d.name, samples[i] as Memory]));
}

interface Latency {
  clsBinary: number[];
  detBinary: number[];
  clsJson: number[];
}

const CLS_SHAPE = [1, 3, 48, 192];
const DET_SHAPE = [1, 3, 640, 640];

/** Rounds of KServe requests, interleaved request by request across the devices: the p50s' samples. */
async function measureLatency(devices: Device[], rounds: number): Promise<Record<string, Latency>> {
  const clsInput = sineInput(CLS_SHAPE);
  const detInput = sineInput(DET_SHAPE);
  const requests = { clsBinary: kserveBinaryRequest(CLS_SHAPE, clsInput), detBinary: kserveBinaryRequest(DET_SHAPE, detInput), clsJson: kserveJsonRequest(CLS_SHAPE, clsInput) };
  const plan: Record<keyof Latency, { path: string; perRound: number }> = {
    clsBinary: { path: '/v2/models/ocr-cls/infer', perRound: 30 },
    detBinary: { path: '/v2/models/ocr-det/infer', perRound: 3 },
    clsJson: { path: '/v2/models/ocr-cls/infer', perRound: 15 },
  };
  const out: Record<string, Latency> = Object.fromEntries(devices.map((d) => [d.name, { clsBinary: [], detBinary: [], clsJson: [] }]));
  const agents = new Map(devices.map((d) => [d.name, new HttpAgent({ keepAlive: true, maxSockets: 1 })]));
  try {
    for (const d of devices) {
      // Warm-up: first requests pay lazy compilation and buffer growth.
      for (const kind of Object.keys(plan) as (keyof Latency)[]) {
        const res = await post(agents.get(d.name)!, d.apiPort, plan[kind].path, requests[kind].headers, requests[kind].body);
        if (res.status !== 200) throw new Error(`${d.name}: ${kind} answered ${res.status}: ${res.body.toString().slice(0, 200)}`);
      }
    }
    for (let round = 0; round < rounds; round += 1) {
      for (const kind of Object.keys(plan) as (keyof Latency)[]) {
        for (let i = 0; i < plan[kind].perRound; i += 1) {
          // Request by request, in an order that rotates: a noisy second lands on every launch alike.
          const shift = (round + i) % devices.length;
          for (const d of [...devices.slice(shift), ...devices.slice(0, shift)]) {
            const t0 = performance.now();
            const res = await post(agents.get(d.name)!, d.apiPort, plan[kind].path, requests[kind].headers, requests[kind].body);
            const ms = performance.now() - t0;
            if (res.status !== 200) throw new Error(`${d.name}: ${kind} answered ${res.status}`);
            out[d.name]![kind].push(ms);
          }
        }
      }
    }
  } finally {
    for (const a of agents.values()) a.destroy();
  }
  return out;
}

const verdict = (value: number, target: number, unit: string): string => (value <= target ? `target ≤ ${target} ${unit} met (${mb(target - value)} to spare)` : `target ≤ ${target} ${unit} missed by ${mb(value - target)} ${unit}`);

export async function run(options: { long?: boolean } = {}): Promise<BenchResult> {
  await ensureAgentBuilt();
  // The bundle the unit runs, from the dist just built (esbuild, ~1 s).
  const bundleEntry = execFileSync('bash', [join(REPO, 'deploy', 'bundle', 'single-file.sh')], { encoding: 'utf8' }).trim().split('\n').at(-1) ?? '';
  const keys = generateSigningKeyPair();
  const broker = await startAedesBroker();
  const responder = await startArtifactResponder(broker.url);
  const unitText = readFileSync(UNIT_FILE, 'utf8');
  const launches: Record<LaunchName, Launch> = {
    unit: { entry: bundleEntry, env: unitEnvironment(unitText) },
    before: { entry: AGENT_ENTRY, env: BEFORE_ENV },
    bundled: { entry: bundleEntry, env: BEFORE_ENV },
  };
  const devices: Device[] = [];
  for (const name of Object.keys(launches) as LaunchName[]) {
    devices.push({ name, id: `footprint-${name}`, apiPort: await freePort(), dir: await tmpDataDir(`bench-footprint-${name}-`), launch: launches[name], generation: 0, reports: [] });
  }
  const byName = (name: LaunchName): Device => devices.find((d) => d.name === name)!;
  const byTopic = new Map(devices.map((d) => [deviceTopic(d.id, 'reported'), d]));
  let telemetryBatches = 0;
  const observer = await mqtt.connectAsync(broker.url, { clientId: 'footprint-observer' });
  observer.on('message', (topic, payload) => {
    if (topic === deviceTopic(byName('unit').id, 'telemetry')) telemetryBatches += 1;
    else if (payload.length) byTopic.get(topic)?.reports.push(reportedStateSchema.parse(JSON.parse(payload.toString())));
  });
  await observer.subscribeAsync([...byTopic.keys(), deviceTopic(byName('unit').id, 'telemetry')], { qos: 1 });
  const waitReport = async (d: Device, pred: (r: ReportedState) => boolean, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!d.reports.some(pred)) {
      if (Date.now() > deadline) throw new Error(`${d.name}: agent did not report the expected state; last: ${JSON.stringify(d.reports.at(-1)?.models)}`);
      await sleep(100);
    }
  };
  const models: Record<'cls' | 'det' | 'rec', DesiredModel> = {} as never;
  for (const which of ['cls', 'det', 'rec'] as const) {
    const file = await responder.addFile(ocrModelPath(which));
    models[which] = { name: `ocr-${which}`, version: '1.0.0', artifact: signedArtifact(`ocr-${which}`, '1.0.0', file, keys.privateKeyPem) };
  }
  const desire = async (d: Device, list: DesiredModel[]): Promise<number> => {
    d.generation += 1;
    await observer.publishAsync(deviceTopic(d.id, 'desired'), encodePayload(desiredStateSchema, { deviceId: d.id, generation: d.generation, issuedAt: new Date().toISOString(), models: list }), { qos: 1, retain: true });
    return d.generation;
  };
  const active = (d: Device, g: number, n: number) => (r: ReportedState) => r.appliedGeneration >= g && r.models.filter((m) => m.state === 'active').length === n;
  const telemetryEveryS = 2;
  const spawn = (d: Device): Promise<AgentProcess> =>
    spawnAgent({
      deviceId: d.id,
      brokerUrl: broker.url,
      fleetPublicKey: keys.publicKeyPem,
      dataDir: d.dir.path,
      apiPort: d.apiPort,
      entry: d.launch.entry,
      // NODE_OPTIONS from this shell would leak into the launches that set none.
      env: { NODE_OPTIONS: '', ...d.launch.env },
      config: { logLevel: 'warn', telemetry: { schedule: `*/${telemetryEveryS} * * * * *` } },
    });
  const idleSettleMs = options.long ? 30_000 : 8_000;
  const rows: BenchRow[] = [];
  const detail: Record<string, unknown> = {};
  const unit = byName('unit');
  const before = byName('before');
  const bundled = byName('bundled');
  try {
    // 0. The floor: bare node with the unit's environment.
    const floor = await bareNodeMemory(launches.unit.env, idleSettleMs / 4);

    // 1. Cold start of each empty device (one at a time: start time is measured), then all idle.
    const startToReportedMs: Record<string, number> = {};
    for (const d of devices) {
      const t0 = Date.now();
      d.agent = await spawn(d);
      await waitReport(d, () => true, 30_000);
      startToReportedMs[d.name] = Date.now() - t0;
    }
    await sleep(idleSettleMs);
    const idle = await steadyMemoryOf(devices);
    const idleMappings = rssByMapping(unit.agent!.pid);

    // 2. The classifier on each.
    let t1 = Date.now();
    await Promise.all(devices.map(async (d) => waitReport(d, active(d, await desire(d, [models.cls]), 1), 120_000)));
    const firstModelActiveMs = Date.now() - t1;
    await sleep(idleSettleMs / 2);
    const oneModel = await steadyMemoryOf(devices);
    const oneModelMappings = rssByMapping(unit.agent!.pid);

    // 3. The unit's agent with three models, before any inference traffic (that grows onnxruntime's arenas).
    const g = await desire(unit, [models.cls, models.det, models.rec]);
    await waitReport(unit, active(unit, g, 3), 180_000);
    await sleep(idleSettleMs / 2);
    const threeModelsMb = (await steadyMemory(unit.agent!.pid)).rss;
    const threeModelsMappings = rssByMapping(unit.agent!.pid);

    // 4. CPU per telemetry cycle, three models loaded, no inference traffic.
    const windowMs = options.long ? 60_000 : 20_000;
    const cpu0 = cpuMs(unit.agent!.pid);
    const batches0 = telemetryBatches;
    await sleep(windowMs);
    const cpuWindowMs = cpuMs(unit.agent!.pid) - cpu0;
    const cycles = telemetryBatches - batches0;

    // 5. Inference p50 of each launch, with the classifier and the detector loaded (the unit's agent has all three).
    await Promise.all([before, bundled].map(async (d) => waitReport(d, active(d, await desire(d, [models.cls, models.det]), 2), 180_000)));
    const latency = await measureLatency(devices, options.long ? 12 : 6);
    for (const d of [before, bundled]) {
      await d.agent!.stop();
      d.agent = undefined;
    }

    // 6. Restart with the models on disk: start to serving every model again.
    await unit.agent!.stop();
    unit.reports.length = 0;
    t1 = Date.now();
    unit.agent = await spawn(unit);
    await waitReport(unit, (r) => r.models.filter((m) => m.state === 'active').length === 3, 120_000);
    const restartToServingMs = Date.now() - t1;

    const settings = (l: Launch): string => Object.entries(l.env).filter(([k]) => k !== 'NODE_ENV').map(([k, v]) => `${k}=${v}`).join(' ') || 'none';
    const u = idle.unit!;
    const b = idle.before!;
    const parts = (m: Memory): string => `anon ${mb(m.anon)} + file ${mb(m.file)}`;
    rows.push(
      { metric: 'bare Node.js process idle (the floor)', value: floor.rss, unit: 'MB', note: `node -e 'setInterval(...)' with the unit's environment, same run; ${parts(floor)} MB` },
      {
        metric: 'agent RSS idle (no model), as the systemd unit runs it',
        value: u.rss,
        unit: 'MB',
        note: `single-file bundle, ${settings(launches.unit)}; +${mb(u.rss - floor.rss)} MB over the floor (anon +${mb(u.anon - floor.anon)}, file +${mb(u.file - floor.file)}); ${verdict(u.rss, IDLE_TARGET_MB, 'MB')}; vs balena supervisor ${BALENA_MIN_MB}–${BALENA_MAX_MB} MB`,
      },
      { metric: 'agent RSS idle (no model), before', value: b.rss, unit: 'MB', note: `agent/dist/main.js, ${settings(launches.before)}: the unit now saves ${mb(b.rss - u.rss)} MB (${parts(b)} MB)` },
      { metric: 'agent RSS idle (no model), bundled, before\'s settings', value: idle.bundled!.rss, unit: 'MB', note: `the bundle alone saves ${mb(b.rss - idle.bundled!.rss)} MB, the unit's flags ${mb(idle.bundled!.rss - u.rss)} MB more (${parts(idle.bundled!)} MB)` },
      {
        metric: 'agent RSS, 1 model (PP-OCR cls, 0.6 MB), as the unit runs it',
        value: oneModel.unit!.rss,
        unit: 'MB',
        note: `+${mb(oneModel.unit!.rss - u.rss)} MB over idle: ${growth(idleMappings, oneModelMappings)}; ${verdict(oneModel.unit!.rss, ONE_MODEL_TARGET_MB, 'MB')}`,
      },
      { metric: 'agent RSS, 1 model (PP-OCR cls), before', value: oneModel.before!.rss, unit: 'MB', note: `bundled with before's settings: ${mb(oneModel.bundled!.rss)} MB` },
      { metric: 'agent RSS, 3 models (cls+det+rec, 16 MB), as the unit runs it', value: threeModelsMb, unit: 'MB', note: `+${mb(threeModelsMb - u.rss)} MB over idle (${growth(idleMappings, threeModelsMappings)}); vs balena high end ${BALENA_MAX_MB} MB: ${(threeModelsMb / BALENA_MAX_MB).toFixed(2)}×` },
    );
    const latencyRows: Record<keyof Latency, string> = { clsBinary: 'PP-OCR cls, KServe binary', detBinary: 'PP-OCRv4 det 640×640, KServe binary', clsJson: 'PP-OCR cls, KServe JSON' };
    const latencyStats: Record<string, unknown> = {};
    for (const kind of Object.keys(latencyRows) as (keyof Latency)[]) {
      const now = statsOf(latency.unit![kind], 1);
      const then = statsOf(latency.before![kind], 1);
      const ratio = now.p50Ms / then.p50Ms;
      const bundledP50 = statsOf(latency.bundled![kind], 1).p50Ms;
      latencyStats[kind] = { unit: now, before: then, bundled: statsOf(latency.bundled![kind], 1), ratio };
      rows.push({
        metric: `inference p50, ${latencyRows[kind]}, as the unit runs it`,
        value: now.p50Ms,
        unit: 'ms',
        note: `before: ${then.p50Ms.toFixed(2)} ms, ${ratio.toFixed(3)}× (target ≤ ${P50_TARGET_RATIO}× ${ratio <= P50_TARGET_RATIO ? 'met' : 'missed'}); bundled with before's settings: ${bundledP50.toFixed(2)} ms, ${(bundledP50 / then.p50Ms).toFixed(3)}×; ${now.runs} requests each, interleaved rounds`,
      });
    }
    rows.push(
      { metric: 'start to first reported state (empty device), as the unit runs it', value: startToReportedMs.unit!, unit: 'ms', note: `spawn → reported on the broker; before: ${startToReportedMs.before} ms, bundled: ${startToReportedMs.bundled} ms` },
      { metric: 'first model: desired → active', value: firstModelActiveMs, unit: 'ms', note: 'download over MQTT chunks, verify, load, smoke test; three agents at once' },
      { metric: 'restart to serving 3 models', value: restartToServingMs, unit: 'ms', note: 'spawn → all 3 reported active from disk, as the unit runs it' },
    );
    if (cycles > 0) {
      rows.push({ metric: 'CPU per telemetry cycle (3 models loaded, idle)', value: cpuWindowMs / cycles, unit: 'ms', note: `${cycles} cycles in ${windowMs / 1000} s; all agent CPU in the window divided by cycles (upper bound)` });
    } else {
      detail.telemetry = 'the agent published no telemetry in the window: CPU per telemetry cycle not measured';
      rows.push({ metric: 'agent CPU idle, 3 models loaded', value: (cpuWindowMs / windowMs) * 100, unit: '% of a core', note: 'no telemetry cycle was published by the agent in the window' });
    }
    Object.assign(detail, { launches, floor, idle, oneModel, idleMappings, oneModelMappings, threeModelsMappings, threeModelsMb, latency: latencyStats, startToReportedMs, firstModelActiveMs, restartToServingMs, cpuWindowMs, cycles, windowMs });
  } finally {
    for (const d of devices) await d.agent?.stop().catch(() => undefined);
    await observer.endAsync(true);
    await responder.close();
    await broker.close();
    for (const d of devices) await d.dir.cleanup();
  }
  return { summary: rows, detail };
}
