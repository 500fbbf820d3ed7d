/**
 * Agent footprint (issue 10, item 4): a real `edgefleet-agent` process (agent/dist/main.js) against
 * a plain broker with the test artifact responder. Measures VmRSS (split into anonymous memory: V8
 * heaps and malloc, and file-backed: the node binary and native libraries) from /proc/<pid>/status
 * idle, with one real model (PP-OCR classifier) and with three (classifier, detector, recogniser);
 * CPU per telemetry cycle from /proc/<pid>/stat; start-to-running and start-to-serving times.
 *
 * The agent runs with the environment its systemd unit sets (deploy/systemd/edgefleet-agent.service,
 * e.g. NODE_OPTIONS, MALLOC_ARENA_MAX), as on a device; the same run also measures it idle without
 * that environment, and a bare `node` process idle (the floor no Node.js agent can go below), so
 * the comparison with the 45–85 MB baseline reported for the balena supervisor (Node.js) is honest.
 */
import { spawn as spawnProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { deviceTopic, desiredStateSchema, encodePayload, generateSigningKeyPair, reportedStateSchema, type DesiredModel, type ReportedState } from '@edgefleet/shared';
import { startAedesBroker } from '../helpers/aedes-broker.js';
import { ensureAgentBuilt, spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { signedArtifact, startArtifactResponder } from '../helpers/artifact-responder.js';
import { ocrModelPath } from '../helpers/onnx-models.js';
import { tmpDataDir } from '../helpers/tmp-dir.js';
import type { BenchResult, BenchRow } from './bench-result.js';

const BALENA_MIN_MB = 45;
const BALENA_MAX_MB = 85;
const GOAL_MB = 45;
const CLOCK_TICKS_PER_S = 100;
const UNIT_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'deploy', 'systemd', 'edgefleet-agent.service');

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

export async function run(options: { long?: boolean } = {}): Promise<BenchResult> {
  await ensureAgentBuilt();
  const keys = generateSigningKeyPair();
  const broker = await startAedesBroker();
  const responder = await startArtifactResponder(broker.url);
  const dir = await tmpDataDir('bench-footprint-');
  const deviceId = 'footprint-1';
  const reports: ReportedState[] = [];
  let telemetryBatches = 0;
  const observer = await mqtt.connectAsync(broker.url, { clientId: 'footprint-observer' });
  observer.on('message', (topic, payload) => {
    if (topic.endsWith('/telemetry')) telemetryBatches += 1;
    else if (payload.length) reports.push(reportedStateSchema.parse(JSON.parse(payload.toString())));
  });
  await observer.subscribeAsync([deviceTopic(deviceId, 'reported'), deviceTopic(deviceId, 'telemetry')], { qos: 1 });
  const waitReport = async (pred: (r: ReportedState) => boolean, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!reports.some(pred)) {
      if (Date.now() > deadline) throw new Error(`agent did not report the expected state; last: ${JSON.stringify(reports.at(-1)?.models)}`);
      await sleep(100);
    }
  };
  const models: Record<'cls' | 'det' | 'rec', DesiredModel> = {} as never;
  for (const which of ['cls', 'det', 'rec'] as const) {
    const file = await responder.addFile(ocrModelPath(which));
    models[which] = { name: `ocr-${which}`, version: '1.0.0', artifact: signedArtifact(`ocr-${which}`, '1.0.0', file, keys.privateKeyPem) };
  }
  let generation = 0;
  const desire = async (list: DesiredModel[]): Promise<number> => {
    generation += 1;
    await observer.publishAsync(deviceTopic(deviceId, 'desired'), encodePayload(desiredStateSchema, { deviceId, generation, issuedAt: new Date().toISOString(), models: list }), { qos: 1, retain: true });
    return generation;
  };
  const telemetryEveryS = 2;
  const unitEnv = unitEnvironment(readFileSync(UNIT_FILE, 'utf8'));
  const spawn = (env: Record<string, string> = unitEnv, id = deviceId, dataDir = dir.path): Promise<AgentProcess> =>
    spawnAgent({ deviceId: id, brokerUrl: broker.url, fleetPublicKey: keys.publicKeyPem, dataDir, env, config: { logLevel: 'warn', telemetry: { schedule: `*/${telemetryEveryS} * * * * *` } } });
  const idleSettleMs = options.long ? 30_000 : 8_000;
  const rows: BenchRow[] = [];
  const detail: Record<string, number | string> = {};
  let agent: AgentProcess | undefined;
  try {
    // 0. The floor (bare node, same environment) and the agent idle without the unit's environment.
    const floor = await bareNodeMemory(unitEnv, idleSettleMs / 4);
    const plainDir = await tmpDataDir('bench-footprint-plain-');
    let plainIdle: { rss: number; anon: number; file: number };
    try {
      // NODE_OPTIONS from this shell would leak into the "no unit environment" run.
      const plain = await spawn({ NODE_OPTIONS: '' }, `${deviceId}-plain`, plainDir.path);
      await sleep(idleSettleMs + 2000);
      plainIdle = await steadyMemory(plain.pid);
      await plain.stop();
    } finally {
      await plainDir.cleanup();
    }

    // 1. Cold start of an empty device, then idle.
    let t0 = Date.now();
    agent = await spawn();
    await waitReport(() => true, 30_000);
    const startToReportedMs = Date.now() - t0;
    await sleep(idleSettleMs);
    const idle = await steadyMemory(agent.pid);
    const idleMb = idle.rss;
    const idleMappings = rssByMapping(agent.pid);

    // 2. One model, then three.
    t0 = Date.now();
    let g = await desire([models.cls]);
    await waitReport((r) => r.appliedGeneration >= g && r.models.some((m) => m.name === 'ocr-cls' && m.active === '1.0.0'), 120_000);
    const firstModelActiveMs = Date.now() - t0;
    await sleep(idleSettleMs / 2);
    const oneModelMb = (await steadyMemory(agent.pid)).rss;
    const oneModelMappings = rssByMapping(agent.pid);
    g = await desire([models.cls, models.det, models.rec]);
    await waitReport((r) => r.appliedGeneration >= g && r.models.filter((m) => m.state === 'active').length === 3, 180_000);
    await sleep(idleSettleMs / 2);
    const threeModelsMb = (await steadyMemory(agent.pid)).rss;
    const threeModelsMappings = rssByMapping(agent.pid);

    // 3. CPU per telemetry cycle, three models loaded, no inference traffic.
    const windowMs = options.long ? 60_000 : 20_000;
    const cpu0 = cpuMs(agent.pid);
    const batches0 = telemetryBatches;
    await sleep(windowMs);
    const cpuWindowMs = cpuMs(agent.pid) - cpu0;
    const cycles = telemetryBatches - batches0;

    // 4. Restart with the models on disk: start to serving every model again.
    await agent.stop();
    reports.length = 0;
    t0 = Date.now();
    agent = await spawn();
    await waitReport((r) => r.models.filter((m) => m.state === 'active').length === 3, 120_000);
    const restartToServingMs = Date.now() - t0;

    const unitSettings = Object.entries(unitEnv).filter(([k]) => k !== 'NODE_ENV').map(([k, v]) => `${k}=${v}`).join(' ') || 'none';
    rows.push(
      { metric: 'bare Node.js process idle (the floor)', value: floor.rss, unit: 'MB', note: `node -e 'setInterval(...)' with the unit's environment, same run; anon ${mb(floor.anon)} + file ${mb(floor.file)} MB` },
      {
        metric: 'agent RSS idle (no model), as the systemd unit runs it',
        value: idleMb,
        unit: 'MB',
        note: `+${mb(idleMb - floor.rss)} MB over the floor (anon ${mb(idle.anon - floor.anon)}, file ${mb(idle.file - floor.file)}); vs balena supervisor ${BALENA_MIN_MB}–${BALENA_MAX_MB} MB: ${(idleMb / BALENA_MIN_MB).toFixed(2)}× its low end; goal < ${GOAL_MB} MB ${idleMb < GOAL_MB ? 'met' : `missed by ${mb(idleMb - GOAL_MB)} MB`}`,
      },
      { metric: 'agent RSS idle (no model), plain node', value: plainIdle.rss, unit: 'MB', note: `without the unit's ${unitSettings}: the unit saves ${mb(plainIdle.rss - idleMb)} MB (anon ${mb(plainIdle.anon)}, file ${mb(plainIdle.file)})` },
      { metric: 'agent RSS, 1 model (PP-OCR cls, 0.6 MB)', value: oneModelMb, unit: 'MB', note: `+${mb(oneModelMb - idleMb)} MB over idle: ${growth(idleMappings, oneModelMappings)}` },
      { metric: 'agent RSS, 3 models (cls+det+rec, 16 MB)', value: threeModelsMb, unit: 'MB', note: `+${mb(threeModelsMb - idleMb)} MB over idle (${growth(idleMappings, threeModelsMappings)}); vs balena high end ${BALENA_MAX_MB} MB: ${(threeModelsMb / BALENA_MAX_MB).toFixed(2)}×` },
      { metric: 'start to first reported state (empty device)', value: startToReportedMs, unit: 'ms', note: 'spawn → reported on the broker' },
      { metric: 'first model: desired → active', value: firstModelActiveMs, unit: 'ms', note: 'download over MQTT chunks, verify, load, smoke test' },
      { metric: 'restart to serving 3 models', value: restartToServingMs, unit: 'ms', note: 'spawn → all 3 reported active from disk' },
    );
    if (cycles > 0) {
      rows.push({ metric: 'CPU per telemetry cycle (3 models loaded, idle)', value: cpuWindowMs / cycles, unit: 'ms', note: `${cycles} cycles in ${windowMs / 1000} s; all agent CPU in the window divided by cycles (upper bound)` });
    } else {
      detail.telemetry = 'the agent published no telemetry in the window: CPU per telemetry cycle not measured';
      rows.push({ metric: 'agent CPU idle, 3 models loaded', value: (cpuWindowMs / windowMs) * 100, unit: '% of a core', note: 'no telemetry cycle was published by the agent in the window' });
    }
    Object.assign(detail, { floor, idle, plainIdle, unitEnv, idleMappings, oneModelMappings, threeModelsMappings, idleMb, oneModelMb, threeModelsMb, startToReportedMs, firstModelActiveMs, restartToServingMs, cpuWindowMs, cycles, windowMs });
  } finally {
    await agent?.stop().catch(() => undefined);
    await observer.endAsync(true);
    await responder.close();
    await broker.close();
    await dir.cleanup();
  }
  return { summary: rows, detail };
}
