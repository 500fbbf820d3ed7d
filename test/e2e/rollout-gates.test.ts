/**
 * Rollout health gates and maintenance windows end to end (issue 7, "done when" 3 and 5), with real
 * agent processes (real onnxruntime, telemetry every second), a real control plane in-process
 * (embedded broker, SQLite, telemetry + rollout plugins):
 * - a version that loads but is ≥ 3× slower trips the p95-latency-ratio gate against the control
 *   cohort (devices still on the previous version, serving the same traffic) and is rolled back;
 * - a maintenance window (cron start + duration in a non-UTC zone) holds every notification until
 *   the injected clock enters it, and the agents install the version once it does.
 */
import * as ort from 'onnxruntime-node';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '@edgefleet/control-plane';
import { addModel, slowModel } from '../helpers/onnx-models.js';
import { startGateFleet, type GateFleet } from './rollout-gates-fleet.js';

const SIZE = 128;
const FAST = { size: SIZE, depth: 1 };
// Deep enough that a run lands several latency buckets above the fast one's (≈20 ms against well under 1 ms here; on the agents the fast one still lands in the 2–5 ms bucket under load).
const SLOW = { size: SIZE, depth: 320 };

/** Median run time of a model with onnxruntime directly (one thread, after a warm-up). */
async function medianRunMs(bytes: Uint8Array, runs = 25): Promise<number> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const x = new ort.Tensor('float32', new Float32Array(SIZE * SIZE).fill(0.5), [SIZE, SIZE]);
    await session.run({ x });
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      await session.run({ x });
      times.push(performance.now() - start);
    }
    return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
  } finally {
    await session.release();
  }
}

/** Keeps KServe v2 infer requests flowing to every agent until stopped; counts the answers. */
function startTraffic(fleet: GateFleet, model: string): { stop(): Promise<Record<string, number>> } {
  let running = true;
  const ok: Record<string, number> = {};
  const body = JSON.stringify({ inputs: [{ name: 'x', shape: [SIZE, SIZE], datatype: 'FP32', data: new Array<number>(SIZE * SIZE).fill(0.5) }] });
  const loops = fleet.agents.map(async (agent) => {
    ok[agent.id] = 0;
    while (running) {
      try {
        const response = await fetch(`${agent.apiUrl}/v2/models/${model}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        await response.arrayBuffer();
        if (response.ok) ok[agent.id]! += 1;
      } catch {
        // A request during a model swap may fail; the gate under test reads latency, not failures.
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return ok;
    },
  };
}

describe('rollout gates and windows with real agents', () => {
  let fleet: GateFleet | undefined;

  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it('rolls back a version ≥ 3× slower: the p95 latency gate trips against the control cohort', async () => {
    const fast = slowModel(FAST);
    const slow = slowModel(SLOW);
    const [fastMs, slowMs] = [await medianRunMs(fast), await medianRunMs(slow)];
    // The case is only meaningful when the new version really is ≥ 3× slower on this machine.
    expect(slowMs / fastMs).toBeGreaterThanOrEqual(3);

    const ids = ['lat-0', 'lat-1', 'lat-2'];
    fleet = await startGateFleet({ ids });
    const f = fleet;
    await f.h.pushModel({ name: 'matmul', version: '1.0.0', bytes: fast });
    await f.h.pushModel({ name: 'matmul', version: '2.0.0', bytes: slow });
    const strategy = { ratePerMinute: 0, deviceDeadlineMs: 30_000 };
    const first = await f.rollouts.operations.create({ model: 'matmul', version: '1.0.0', target: { kind: 'all' }, strategy: { ...strategy, waves: [{ percent: 100 }], bakeMs: 0 } }, 'e2e');
    expect((await f.settle(first.id)).state).toBe('succeeded');
    await f.waitFor('1.0.0 active everywhere', async () => ((v) => (ids.every((id) => v[id] === '1.0.0') ? v : undefined))(await f.activeVersions('matmul')));

    const traffic = startTraffic(f, 'matmul');
    let served: Record<string, number>;
    let view;
    try {
      const created = await f.rollouts.operations.create(
        {
          model: 'matmul',
          version: '2.0.0',
          target: { kind: 'all' },
          // One canary, then the rest: while the canary bakes, the other two are the control cohort.
          strategy: { ...strategy, waves: [{ count: 1 }, { percent: 100 }], bakeMs: 30_000 },
          // Only the latency gate may decide here: the other rate gates need more samples than this run has.
          gates: { maxP95LatencyRatio: 2, minLatencySamples: 10, minInferenceRequests: 1_000_000, minInstallSamples: 100 },
        },
        'e2e',
      );
      view = await f.settle(created.id, 45_000);
    } finally {
      served = await traffic.stop();
    }
    expect(view.state).toBe('rolled-back');
    expect(view.halt?.gate).toBe('p95-latency-ratio');
    expect(view.halt?.wave).toBe(0);
    const gate = view.halt?.results.find((r) => r.gate === 'p95-latency-ratio');
    expect(gate).toMatchObject({ status: 'fail', threshold: 2 });
    expect(gate!.value!).toBeGreaterThanOrEqual(gate!.threshold!);
    expect(gate!.samples).toBeGreaterThanOrEqual(gate!.minSamples ?? 1);
    expect(gate!.control).toBeGreaterThan(0);

    const canary = view.devices!.find((d) => d.wave === 0)!;
    expect(canary.state).toBe('rolled-back');
    expect(view.devices!.filter((d) => d.wave === 1).every((d) => d.state === 'pending')).toBe(true);
    // The canary really ran 2.0.0 before the gate tripped, and its reported state is back on 1.0.0.
    const canaryAgent = f.agents.find((a) => a.id === canary.deviceId)!;
    expect(canaryAgent.process.logs.some((l) => l.msg === 'deployment active' && (l.event as { version?: string } | undefined)?.version === '2.0.0')).toBe(true);
    const after = await f.waitFor('the canary back on 1.0.0', async () => ((v) => (ids.every((id) => v[id] === '1.0.0') ? v : undefined))(await f.activeVersions('matmul')));
    expect(after).toEqual(Object.fromEntries(ids.map((id) => [id, '1.0.0'])));
    expect(Object.values(served).every((n) => n > 0)).toBe(true);
    process.stderr.write(
      `[rollout-gates] onnxruntime median fast ${fastMs.toFixed(3)} ms, slow ${slowMs.toFixed(3)} ms, ratio ${(slowMs / fastMs).toFixed(1)}; ` +
        `gate p95 wave/control ${gate!.value!.toFixed(2)} (control p95 ${gate!.control!.toFixed(2)} ms) vs threshold ${gate!.threshold}, samples ${gate!.samples}; served ${JSON.stringify(served)}\n`,
    );
  }, 90_000);

  it('holds every notification until the maintenance window opens (injected clock)', async () => {
    let offsetMs = 0;
    const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
    const timezone = 'Asia/Kolkata'; // UTC+05:30: a window written in local time, half an hour off any UTC hour.
    const opensAt = Math.ceil((Date.now() + 3 * 60_000) / 60_000) * 60_000;
    const local = Object.fromEntries(
      new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hour: 'numeric', minute: 'numeric', hourCycle: 'h23' }).formatToParts(new Date(opensAt)).map((p) => [p.type, p.value]),
    );
    const window = { cron: `${Number(local.minute)} ${Number(local.hour)} * * *`, durationMinutes: 30, timezone };

    const ids = ['win-0', 'win-1'];
    fleet = await startGateFleet({ ids, clock });
    const f = fleet;
    await f.h.pushModel({ name: 'adder', version: '1.0.0', bytes: addModel({ addend: 1 }) });
    const request = { model: 'adder', version: '1.0.0', target: { kind: 'all' as const }, strategy: { waves: [{ percent: 100 }], bakeMs: 0, ratePerMinute: 0, deviceDeadlineMs: 30_000 }, schedule: { window } };
    const plan = await f.rollouts.operations.dryRun(request);
    expect(plan.startsAt).toBe(new Date(opensAt).toISOString());

    const before = await Promise.all(ids.map(async (id) => (await f.h.cp.desired.get(id))?.generation ?? 0));
    const reportedBefore = Object.fromEntries((await f.h.cp.store.devices.list()).map((r) => [r.id, r.reported?.observedGeneration]));
    const created = await f.rollouts.operations.create(request, 'e2e');
    // Several engine ticks (200 ms each) with the window closed: nobody may be told anything.
    await new Promise((r) => setTimeout(r, 3000));
    const held = await f.rollouts.operations.view(created.id, true);
    expect(held.devices!.map((d) => d.state)).toEqual(['pending', 'pending']);
    expect(await Promise.all(ids.map(async (id) => (await f.h.cp.desired.get(id))?.generation ?? 0))).toEqual(before);
    expect(Object.fromEntries((await f.h.cp.store.devices.list()).map((r) => [r.id, r.reported?.observedGeneration]))).toEqual(reportedBefore);
    expect(await f.activeVersions('adder')).toEqual({ 'win-0': undefined, 'win-1': undefined });
    const events = await f.h.api<{ events: Array<{ type: string }> }>('GET', `/rollouts/${created.id}/events?limit=1000`);
    expect(events.body.events.some((e) => e.type === 'window-closed')).toBe(true);
    expect(events.body.events.some((e) => e.type === 'device')).toBe(false);

    // Into the window: the clock jumps to just after its opening.
    offsetMs = opensAt - Date.now() + 1000;
    const view = await f.settle(created.id, 45_000);
    expect(view.state).toBe('succeeded');
    expect(view.counts.succeeded).toBe(ids.length);
    const active = await f.waitFor('1.0.0 active on both agents', async () => ((v) => (ids.every((id) => v[id] === '1.0.0') ? v : undefined))(await f.activeVersions('adder')));
    expect(active).toEqual({ 'win-0': '1.0.0', 'win-1': '1.0.0' });
    // Every notification happened inside the window, on the control plane's (injected) clock.
    const all = await f.h.api<{ events: Array<{ type: string; at: string; data: Record<string, unknown> }> }>('GET', `/rollouts/${created.id}/events?limit=1000`);
    const notified = all.body.events.filter((e) => e.type === 'device' && e.data.to === 'notified');
    expect(notified.map((e) => e.data.deviceId).sort()).toEqual(ids);
    expect(notified.every((e) => Date.parse(e.at) >= opensAt)).toBe(true);
  }, 90_000);
});
