/**
 * Agent footprint (issue 10, item 4): a real `edgefleet-agent` process (agent/dist/main.js) against
 * a plain broker with the test artifact responder. Measures VmRSS from /proc/<pid>/status idle,
 * with one real model (PP-OCR classifier) and with three (classifier, detector, recogniser); CPU
 * per telemetry cycle from /proc/<pid>/stat; start-to-running and start-to-serving times. The
 * reference is the 45–85 MB baseline RSS reported for the balena supervisor (Node.js).
 */
import { readFileSync } from 'node:fs';
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
const CLOCK_TICKS_PER_S = 100;

export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

/** utime + stime of a process in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S) * 1000;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Median of a few samples a second apart: one sample can land mid-GC. */
async function steadyRss(pid: number, samples = 5): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    values.push(rssMb(pid));
    await sleep(1000);
  }
  return values.sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
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
  const spawn = (): Promise<AgentProcess> =>
    spawnAgent({ deviceId, brokerUrl: broker.url, fleetPublicKey: keys.publicKeyPem, dataDir: dir.path, config: { logLevel: 'warn', telemetry: { schedule: `*/${telemetryEveryS} * * * * *` } } });
  const idleSettleMs = options.long ? 30_000 : 8_000;
  const rows: BenchRow[] = [];
  const detail: Record<string, number | string> = {};
  let agent: AgentProcess | undefined;
  try {
    // 1. Cold start of an empty device, then idle.
    let t0 = Date.now();
    agent = await spawn();
    await waitReport(() => true, 30_000);
    const startToReportedMs = Date.now() - t0;
    await sleep(idleSettleMs);
    const idleMb = await steadyRss(agent.pid);

    // 2. One model, then three.
    t0 = Date.now();
    let g = await desire([models.cls]);
    await waitReport((r) => r.appliedGeneration >= g && r.models.some((m) => m.name === 'ocr-cls' && m.active === '1.0.0'), 120_000);
    const firstModelActiveMs = Date.now() - t0;
    await sleep(idleSettleMs / 2);
    const oneModelMb = await steadyRss(agent.pid);
    g = await desire([models.cls, models.det, models.rec]);
    await waitReport((r) => r.appliedGeneration >= g && r.models.filter((m) => m.state === 'active').length === 3, 180_000);
    await sleep(idleSettleMs / 2);
    const threeModelsMb = await steadyRss(agent.pid);

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

    rows.push(
      { metric: 'agent RSS idle (no model)', value: idleMb, unit: 'MB', note: `vs balena supervisor ${BALENA_MIN_MB}–${BALENA_MAX_MB} MB: ${(idleMb / BALENA_MIN_MB).toFixed(2)}× its low end; goal < 45 MB ${idleMb < 45 ? 'met' : `missed by ${(idleMb - 45).toFixed(1)} MB`}` },
      { metric: 'agent RSS, 1 model (PP-OCR cls, 0.6 MB)', value: oneModelMb, unit: 'MB', note: `+${(oneModelMb - idleMb).toFixed(1)} MB over idle` },
      { metric: 'agent RSS, 3 models (cls+det+rec, 16 MB)', value: threeModelsMb, unit: 'MB', note: `+${(threeModelsMb - idleMb).toFixed(1)} MB over idle; vs balena high end ${BALENA_MAX_MB} MB: ${(threeModelsMb / BALENA_MAX_MB).toFixed(2)}×` },
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
    Object.assign(detail, { idleMb, oneModelMb, threeModelsMb, startToReportedMs, firstModelActiveMs, restartToServingMs, cpuWindowMs, cycles, windowMs });
  } finally {
    await agent?.stop().catch(() => undefined);
    await observer.endAsync(true);
    await responder.close();
    await broker.close();
    await dir.cleanup();
  }
  return { summary: rows, detail };
}
