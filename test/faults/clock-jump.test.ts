/**
 * Fault case: the device's wall clock jumps (NTP step, RTC reset). A real agent process runs under
 * libfaketime with its offset read from a file on every call, so the test moves the agent's
 * CLOCK_REALTIME +2 h in the middle of a model update and then 3 h backwards (to 1 h behind real
 * time) in the middle of the next one; the monotonic clock is left alone, as in a real step.
 * The control plane (in this process, embedded broker) keeps the true time. Telemetry runs every
 * 2 s (node-cron, which schedules by wall clock). Goals: the agent does not crash, both
 * deployments complete, telemetry batches keep arriving after each jump (no timer hangs), and
 * their sequence numbers at the control plane are monotonic with no duplicate and no gap (the
 * agent's outbox numbers telemetry and deployment events from one sequence, so both are counted).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureAgentBuilt, spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { startControlPlane, type TestControlPlane } from '../helpers/control-plane.js';
import { tmpDataDir, type TmpDir } from '../helpers/index.js';
import { addModel } from '../helpers/onnx-models.js';
import { recordFaultCase } from './lib/results.js';
import { describeNeeding, toolPath } from '../setup/gate.js';

const LIBFAKETIME = toolPath('libfaketime');
const DEVICE = 'clock-0';
/** Telemetry batches expected within this long after a jump (the schedule is every 2 s). */
const AFTER_JUMP_MS = 12_000;

describeNeeding(['libfaketime'], 'agent wall clock jumps ±hours mid-operation', () => {
  let dir: TmpDir;
  let h: TestControlPlane;
  let agent: AgentProcess | undefined;
  let offsetFile = '';
  /** Telemetry seqs in arrival order, with the real arrival time. */
  const telemetry: Array<{ seq: number; at: number }> = [];
  const eventSeqs = new Set<number>();

  beforeAll(async () => {
    await ensureAgentBuilt();
    dir = await tmpDataDir('fault-clock-');
    h = await startControlPlane({ dataDir: join(dir.path, 'cp') });
    // This test is the control plane's store for both streams, so its handlers ack end to end
    // ({stores: true}); an unacked batch would rightly be sent again and count as a duplicate.
    h.cp.bus.on(
      'telemetry',
      (m) => {
        telemetry.push({ seq: m.payload.seq, at: Date.now() });
      },
      { stores: true },
    );
    // Deployment events draw their seq from the same agent outbox, so a gap is a seq in neither.
    h.cp.bus.on(
      'events',
      (m) => {
        eventSeqs.add(m.payload.seq);
      },
      { stores: true },
    );
    for (const [v, addend] of [['1.0.0', 1], ['2.0.0', 2], ['3.0.0', 3]] as const) await h.pushModel({ name: 'adder', version: v, bytes: addModel({ addend }) });
    const dev = await h.provisionDevice(DEVICE);
    offsetFile = join(dir.path, 'faketime');
    writeFileSync(offsetFile, '+0\n');
    agent = await spawnAgent({
      deviceId: DEVICE,
      brokerUrl: h.mqttUrl,
      fleetPublicKey: h.fleetPublicKeyPem,
      dataDir: join(dir.path, DEVICE),
      config: { broker: { url: h.mqttUrl, username: DEVICE, password: dev.secret, reconnectMinMs: 200, reconnectMaxMs: 1000 }, telemetry: { schedule: '*/2 * * * * *' } },
      env: { LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: offsetFile, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' },
    });
  }, 120_000);

  afterAll(async () => {
    await agent?.stop().catch(() => agent?.kill());
    await h?.close();
    await dir?.cleanup();
  });

  /** Sets the desired version and waits (real time) for the device to report it active; returns ms taken or -1. */
  async function deploy(version: string, onStarted: () => void, timeoutMs = 60_000): Promise<number> {
    const started = Date.now();
    await h.cp.desired.setDeviceModels(DEVICE, [await h.desiredModel('adder', version)]);
    onStarted();
    while (Date.now() - started < timeoutMs) {
      const row = await h.cp.store.devices.get(DEVICE);
      const m = row?.reported?.models.find((x) => x.name === 'adder');
      if (m?.active === version && m.state === 'active') return Date.now() - started;
      await new Promise((r) => setTimeout(r, 100));
    }
    return -1;
  }

  it('no crash, deployments complete, telemetry seqs stay monotonic with no duplicate or gap, timers keep firing', { timeout: 240_000 }, async () => {
    const started = Date.now();
    const first = await deploy('1.0.0', () => undefined);
    // Jump forward 2 h while v2 downloads, verifies and activates.
    let forwardAt = 0;
    const forwardMs = await deploy('2.0.0', () => {
      writeFileSync(offsetFile, '+2h\n');
      forwardAt = Date.now();
    });
    await new Promise((r) => setTimeout(r, Math.max(0, forwardAt + AFTER_JUMP_MS - Date.now())));
    const afterForward = telemetry.filter((t) => t.at > forwardAt).length;
    // Jump backward 3 h (to 1 h behind real time) while v3 deploys.
    let backwardAt = 0;
    const backwardMs = await deploy('3.0.0', () => {
      writeFileSync(offsetFile, '-1h\n');
      backwardAt = Date.now();
    });
    await new Promise((r) => setTimeout(r, Math.max(0, backwardAt + AFTER_JUMP_MS - Date.now())));
    const afterBackward = telemetry.filter((t) => t.at > backwardAt).length;
    // Back to true time; telemetry must go on from there too.
    writeFileSync(offsetFile, '+0\n');
    const restoredAt = Date.now();
    await new Promise((r) => setTimeout(r, AFTER_JUMP_MS));
    const afterRestore = telemetry.filter((t) => t.at > restoredAt).length;

    // What the agent did after the backward jump (its own, jumped, timestamps), for the notes when a goal is missed.
    const backIndex = agent!.logs.findIndex((l) => l.msg === 'desired state received' && JSON.stringify(l).includes('3.0.0'));
    const afterBack = agent!.logs.slice(backIndex >= 0 ? backIndex : -25).map((l) => `${String((l as { time?: unknown }).time)} ${String(l.msg)}`);
    const agentActivatedV3 = agent!.logs.some((l) => l.msg === 'deployment active' && (l.event as { version?: string } | undefined)?.version === '3.0.0');
    const alive = agent!.child.exitCode === null && agent!.child.signalCode === null;
    const seqs = telemetry.map((t) => t.seq);
    let nonMonotonic = 0;
    for (let i = 1; i < seqs.length; i += 1) if (seqs[i]! <= seqs[i - 1]!) nonMonotonic += 1;
    const unique = new Set(seqs);
    const duplicates = seqs.length - unique.size;
    const min = Math.min(...seqs);
    const max = Math.max(...seqs);
    let gaps = 0;
    for (let s = min; s <= max; s += 1) if (!unique.has(s) && !eventSeqs.has(s)) gaps += 1;
    const fatal = agent!.logs.filter((l) => (l.level ?? 0) >= 50).map((l) => String(l.msg));
    // A 2 s schedule gives ~6 batches in 12 s; at least 3 proves the scheduler did not stall.
    const minBatches = 3;
    const goals = [
      { name: 'agent crashes (exited or logged fatal/error)', value: (alive ? 0 : 1) + fatal.length, target: '= 0', met: alive && fatal.length === 0 },
      { name: 'deployments completed across jumps', value: [forwardMs, backwardMs].filter((ms) => ms >= 0).length, target: '= 2', met: forwardMs >= 0 && backwardMs >= 0 },
      { name: 'telemetry seqs out of order', value: nonMonotonic, target: '= 0', met: nonMonotonic === 0 },
      { name: 'telemetry batches duplicated', value: duplicates, target: '= 0', met: duplicates === 0 },
      { name: 'telemetry batches missing at the control plane (gaps in seq)', value: gaps, target: '= 0', met: gaps === 0 },
      { name: 'fewest batches in 12 s after a jump (timers keep firing)', value: Math.min(afterForward, afterBackward, afterRestore), target: `≥ ${minBatches}`, met: Math.min(afterForward, afterBackward, afterRestore) >= minBatches },
    ];
    recordFaultCase(
      'clock-jump',
      {
        title: 'Agent wall clock jumps +2 h, then −3 h, in the middle of model updates (libfaketime)',
        counts: {
          'first deployment (ms)': first,
          'deployment across the +2 h jump (ms)': forwardMs,
          'deployment across the −3 h jump (ms)': backwardMs,
          'agent itself logged 3.0.0 active (1 = yes)': agentActivatedV3 ? 1 : 0,
          'telemetry batches received': seqs.length,
          'batches in 12 s after +2 h': afterForward,
          'batches in 12 s after −3 h': afterBackward,
          'batches in 12 s after returning to true time': afterRestore,
        },
        goals,
        notes: [
          "What jumped: the agent process's CLOCK_REALTIME (Date.now, new Date) via libfaketime with FAKETIME_TIMESTAMP_FILE + FAKETIME_NO_CACHE; CLOCK_MONOTONIC untouched (FAKETIME_DONT_FAKE_MONOTONIC=1), as in an NTP step. The control plane keeps true time.",
          ...(fatal.length ? [`Agent error/fatal logs: ${fatal.slice(0, 5).join(' | ')}`] : []),
          `Telemetry seqs in arrival order: ${seqs.join(', ')}.`,
          ...(backwardMs < 0 && agentActivatedV3
            ? ['The agent activated 3.0.0 but the control plane never saw it reported: agent/src/reconcile/state-reporter.ts throttles with `last + minInterval - Date.now()`, so after a backward wall-clock step it waits the size of the step before publishing the reported state (product bug; a monotonic clock such as performance.now() avoids it).']
            : []),
          ...(afterBackward === 0
            ? ['Telemetry stopped after the backward step and did not resume within the case, even after the clock returned to true time: the node-cron schedule (agent/src/telemetry/scheduler.ts) waits for the wall-clock time of its next run, computed before the step (product bug).']
            : []),
          ...(goals.every((g) => g.met) ? [] : [`Agent log from the v3 desired state on (first 25): ${afterBack.slice(0, 25).join(' | ')}`]),
        ],
      },
      started,
    );
    expect(first).toBeGreaterThanOrEqual(0);
    expect(alive).toBe(true);
    expect(fatal).toEqual([]);
    expect(forwardMs).toBeGreaterThanOrEqual(0);
    expect(backwardMs).toBeGreaterThanOrEqual(0);
    expect({ nonMonotonic, duplicates, gaps }).toEqual({ nonMonotonic: 0, duplicates: 0, gaps: 0 });
    expect(Math.min(afterForward, afterBackward, afterRestore)).toBeGreaterThanOrEqual(minBatches);
  });
});
