/**
 * Fault case: SIGKILL real agent processes at random points of model updates (download, verify,
 * load, smoke test, activation, reporting), restart them, and check after every restart and at
 * the end: the active version really is the one reported (an `infer` command answers with that
 * version's addend: no partial activation), every deployment event the agent logged as enqueued
 * reaches the broker (no lost events), and every device converges to the final version.
 * Kills: 100 by default (EDGEFLEET_FAULTS_KILLS), 1,000 with EDGEFLEET_FAULTS_LONG=1.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DesiredModel } from '@edgefleet/shared';
import { ensureAgentBuilt, spawnAgent, type AgentProcess, type LogEntry } from '../helpers/agent-process.js';
import { tmpDataDir, type TmpDir } from '../helpers/tmp-dir.js';
import { startAgentRig, type AgentRig } from './lib/agent-rig.js';
import { createPrng } from './lib/prng.js';
import { faultsLong, recordFaultCase } from './lib/results.js';

const KILLS = Number(process.env.EDGEFLEET_FAULTS_KILLS ?? (faultsLong() ? 1000 : 100));
const AGENTS = 4;
const MODEL = 'adder';

let rig: AgentRig;
const dirs: TmpDir[] = [];
/** Agents alive right now, so a timed-out run leaves no process behind. */
const live = new Set<AgentProcess>();

beforeAll(async () => {
  await ensureAgentBuilt();
  rig = await startAgentRig();
  // A slow link: each chunk reply waits, so kills land inside downloads too.
  rig.responder.delayMs = 15;
});

afterAll(async () => {
  await Promise.all([...live].map((a) => a.kill('SIGKILL')));
  await rig?.close();
  await Promise.all(dirs.map((d) => d.cleanup()));
});

interface Tally {
  kills: number;
  restartChecks: number;
  partialActivations: number;
  wrongVersionAnswers: number;
  loggedEvents: number;
  lostEvents: number;
  duplicateEvents: number;
  converged: number;
  notConverged: number;
  tornFiles: number;
  killPhases: Record<string, number>;
  failures: string[];
}

/** The agent's phase when it was killed, from its last deployment log line. */
function phaseOf(logs: readonly LogEntry[]): string {
  const last = [...logs].reverse().find((l) => typeof l.msg === 'string' && l.msg.startsWith('deployment '));
  return last ? String(last.msg).slice('deployment '.length) : 'before-any-event';
}

async function campaign(index: number, kills: number, versions: DesiredModel[], addends: Map<string, number>, tally: Tally): Promise<void> {
  const deviceId = `kill-${index}`;
  const dir = await tmpDataDir(`fault-kill-${index}-`);
  dirs.push(dir);
  const rng = createPrng(1000 + index);
  const loggedSeqs = new Set<number>();
  const spawn = async (): Promise<AgentProcess> => {
    const a = await spawnAgent({ deviceId, brokerUrl: rig.broker.url, fleetPublicKey: rig.keys.publicKeyPem, dataDir: dir.path, config: { delivery: { chunkBytes: 128 * 1024, window: 2 } } });
    live.add(a);
    void a.exited.then(() => live.delete(a));
    return a;
  };
  const collect = (agent: AgentProcess): void => {
    for (const l of agent.logs) {
      const seq = (l as { event?: { seq?: number } }).event?.seq;
      if (typeof l.msg === 'string' && l.msg.startsWith('deployment ') && typeof seq === 'number') loggedSeqs.add(seq);
    }
  };
  let agent = await spawn();
  for (let k = 0; k < kills; k += 1) {
    const version = rng.pick(versions);
    // Kill points are measured from the desired state, not from process start.
    await agent.waitForLog((l) => l.msg === 'connected to the broker', 60_000).catch(() => undefined);
    await rig.desire(deviceId, [version]);
    await new Promise((r) => setTimeout(r, rng.int(0, 2500)));
    await agent.kill('SIGKILL');
    collect(agent);
    tally.kills += 1;
    const phase = phaseOf(agent.logs);
    tally.killPhases[phase] = (tally.killPhases[phase] ?? 0) + 1;
    const restartedAt = new Date().toISOString();
    agent = await spawn();
    // After the restart, whatever the agent reports active must be what answers.
    try {
      const report = await rig.waitReport(deviceId, (r) => r.reportedAt >= restartedAt && r.models.some((m) => m.name === MODEL && m.state === 'active'), 30_000);
      const active = report.models.find((m) => m.name === MODEL)?.active;
      const answer = await rig.inferAddend(deviceId, MODEL, 10_000);
      tally.restartChecks += 1;
      if (active !== undefined && answer.addend !== undefined && answer.addend !== addends.get(active)) {
        tally.partialActivations += 1;
        tally.failures.push(`${deviceId} kill ${k}: reports ${active} (addend ${addends.get(active)}) but answers addend ${answer.addend}`);
      } else if (answer.error && !/NOT_FOUND|NOT_READY|UNAVAILABLE|LOADING/.test(answer.error)) {
        tally.wrongVersionAnswers += 1;
        tally.failures.push(`${deviceId} kill ${k}: infer failed: ${answer.error}`);
      }
    } catch {
      // No active model yet (killed before the first activation ever): nothing to check.
    }
  }
  // Final: one more version, no kill; the device must converge to it.
  const final = versions[versions.length - 1] as DesiredModel;
  const g = await rig.desire(deviceId, [final]);
  try {
    await rig.waitReport(deviceId, (r) => r.appliedGeneration >= g && r.models.some((m) => m.name === MODEL && m.active === final.version && m.state === 'active'), 60_000);
    const answer = await rig.inferAddend(deviceId, MODEL);
    if (answer.addend === addends.get(final.version)) tally.converged += 1;
    else {
      tally.notConverged += 1;
      tally.failures.push(`${deviceId}: converged report but infer answered ${JSON.stringify(answer)}`);
    }
  } catch (err) {
    tally.notConverged += 1;
    tally.failures.push(String(err).slice(0, 400));
  }
  // Let the outbox drain, then compare what the agent logged as enqueued with what arrived.
  await new Promise((r) => setTimeout(r, 2000));
  await agent.stop();
  collect(agent);
  const received = new Map<number, number>();
  for (const e of rig.device(deviceId).events) received.set(e.seq, (received.get(e.seq) ?? 0) + 1);
  tally.loggedEvents += loggedSeqs.size;
  for (const seq of loggedSeqs) if (!received.has(seq)) tally.lostEvents += 1;
  for (const n of received.values()) tally.duplicateEvents += n - 1;
  // Every installed version on disk must be byte-exact (no torn file survives a kill).
  const modelDir = join(dir.path, 'models', MODEL);
  if (existsSync(modelDir)) {
    for (const v of readdirSync(modelDir, { withFileTypes: true }).filter((d) => d.isDirectory())) {
      const file = join(modelDir, v.name, 'model.onnx');
      const expected = versions.find((x) => x.version === v.name)?.artifact.sha256;
      if (!existsSync(file) || createHash('sha256').update(readFileSync(file)).digest('hex') !== expected) {
        tally.tornFiles += 1;
        tally.failures.push(`${deviceId}: ${v.name} on disk does not match its sha256`);
      }
    }
  }
}

describe('agent SIGKILL at random points of updates', () => {
  // About 10-15 s per kill and restart per agent on a 2-core machine, four agents at once.
  it(`${KILLS} kills: 0 partial activations, 0 lost events, every device converges`, { timeout: Math.max(600_000, KILLS * 6_000) }, async () => {
    const started = Date.now();
    const versions: DesiredModel[] = [];
    const addends = new Map<string, number>();
    for (let i = 1; i <= 6; i += 1) {
      // ~1.5 MB each: 12 chunks of 128 KiB at 2 in flight, so downloads span several hundred ms.
      const v = rig.addModelVersion(MODEL, `1.0.${i}`, i * 10, 1_500_000);
      versions.push(v);
      addends.set(v.version, i * 10);
    }
    const tally: Tally = { kills: 0, restartChecks: 0, partialActivations: 0, wrongVersionAnswers: 0, loggedEvents: 0, lostEvents: 0, duplicateEvents: 0, converged: 0, notConverged: 0, tornFiles: 0, killPhases: {}, failures: [] };
    const per = Math.ceil(KILLS / AGENTS);
    await Promise.all(Array.from({ length: AGENTS }, (_, i) => campaign(i, Math.min(per, KILLS - i * per), versions, addends, tally)));
    recordFaultCase(
      'agent-sigkill',
      {
        title: `${tally.kills} agent SIGKILLs at random points of model updates`,
        counts: {
          kills: tally.kills,
          agents: AGENTS,
          'checks after restart (infer answers the reported version)': tally.restartChecks,
          'deployment events logged as enqueued': tally.loggedEvents,
          'duplicate events delivered (QoS 1, de-duplicated by eventId)': tally.duplicateEvents,
          ...Object.fromEntries(Object.entries(tally.killPhases).map(([k, v]) => [`killed after "${k}"`, v])),
        },
        goals: [
          { name: 'partial activations (reported ≠ served, torn files)', value: tally.partialActivations + tally.tornFiles, target: '= 0', met: tally.partialActivations + tally.tornFiles === 0 },
          { name: 'lost deployment events', value: tally.lostEvents, target: '= 0', met: tally.lostEvents === 0 },
          { name: 'devices converged to the final version', value: tally.converged, target: `= ${AGENTS}`, met: tally.converged === AGENTS },
          { name: 'failed inference after restart', value: tally.wrongVersionAnswers, target: '= 0', met: tally.wrongVersionAnswers === 0 },
        ],
        notes: tally.failures.length ? [`Failures (first 10): ${tally.failures.slice(0, 10).join(' | ')}`] : [],
      },
      started,
    );
    expect(tally.failures).toEqual([]);
    expect(tally.kills).toBe(KILLS);
    expect(tally.partialActivations + tally.tornFiles).toBe(0);
    expect(tally.lostEvents).toBe(0);
    expect(tally.converged).toBe(AGENTS);
    expect(tally.restartChecks).toBeGreaterThan(KILLS / 2);
  });
});
