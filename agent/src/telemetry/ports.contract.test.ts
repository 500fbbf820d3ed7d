import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import si from 'systeminformation';
import { afterAll, describe, expect, it } from 'vitest';
import { deviceSampleSchema, isEdgefleetError } from '@edgefleet/shared';
import { createFakeMetricsSource, createSystemMetricsSource, type MetricsSource } from './metrics-source.js';
import { createCronScheduler, createManualScheduler, type Scheduler } from './scheduler.js';

/**
 * Contract tests: each fake (manual scheduler, fixed metrics) must behave like the real thing
 * (node-cron, /proc + /sys) in everything the collector relies on.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'edgefleet-metrics-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const metricSources: [string, () => MetricsSource][] = [
  ['system (/proc, /sys, nvidia-smi)', () => createSystemMetricsSource({ diskPath: dataDir })],
  ['fake', () => createFakeMetricsSource({ cpu: 12, memUsed: 1e9, memTotal: 4e9, diskFree: 1e10, diskTotal: 3e10, uptimeS: 100, netUp: true })],
];

describe.each(metricSources)('MetricsSource contract: %s', (_name, make) => {
  it('reads values that fit the telemetry sample schema, including memory and disk', async () => {
    const source = make();
    await source.read();
    // CPU load is a difference between reads: give /proc/stat a few jiffies to move.
    await new Promise((r) => setTimeout(r, 250));
    const reading = await source.read();
    expect(() => deviceSampleSchema.parse({ t: Date.now(), ...reading })).not.toThrow();
    expect(reading.memTotal).toBeGreaterThan(0);
    expect(reading.memUsed).toBeGreaterThan(0);
    expect(reading.diskTotal).toBeGreaterThan(0);
    expect(reading.cpu).toBeGreaterThanOrEqual(0);
  });
});

describe('system MetricsSource with a discrete GPU', () => {
  it('runs nvidia-smi with the hardware profile\'s query and reports the busiest GPU, per-GPU temperatures and power', async () => {
    const fake = join(import.meta.dirname, 'sources/__fixtures__/fake-nvidia-smi.sh');
    const reading = await createSystemMetricsSource({ diskPath: dataDir, nvidiaSmiBinary: fake, sysRoot: join(dataDir, 'no-sys') }).read();
    expect(reading.gpu).toBe(37);
    expect(reading.temps).toMatchObject({ gpu0: 61, gpu1: 38 });
    expect(reading.power).toEqual({ gpu0: 212470 });
  });

  it('stops asking after nvidia-smi is missing once', async () => {
    const source = createSystemMetricsSource({ diskPath: dataDir, nvidiaSmiBinary: join(dataDir, 'no-such-nvidia-smi') });
    expect((await source.read()).power).toBeUndefined();
    expect((await source.read()).gpu).toBeUndefined();
  });
});

describe('system MetricsSource agrees with systeminformation on this machine', () => {
  it('memory total, disk total and uptime', async () => {
    const source = createSystemMetricsSource({ diskPath: dataDir, nvidiaSmi: false });
    const [mine, mem, time] = await Promise.all([source.read(), si.mem(), Promise.resolve(si.time())]);
    expect(mine.memTotal).toBe(mem.total);
    expect(Math.abs(mine.uptimeS! - time.uptime)).toBeLessThan(5);
    const fs = await si.fsSize();
    expect(fs.some((f) => Math.abs(f.size - mine.diskTotal!) / f.size < 0.01)).toBe(true);
  });
});

const schedulers: [string, () => Scheduler, (s: Scheduler) => Promise<void>][] = [
  ['node-cron', createCronScheduler, () => new Promise((r) => setTimeout(r, 2_200))],
  ['manual', createManualScheduler, async (s) => {
    await (s as ReturnType<typeof createManualScheduler>).fire();
    await (s as ReturnType<typeof createManualScheduler>).fire();
  }],
];

describe.each(schedulers)('Scheduler contract: %s', (_name, make, advance) => {
  it('runs a task on its schedule and not after stop()', async () => {
    const scheduler = make();
    let runs = 0;
    const job = scheduler.schedule('* * * * * *', async () => void runs++);
    await advance(scheduler);
    expect(runs).toBeGreaterThanOrEqual(1);
    await job.stop();
    const after = runs;
    await advance(scheduler);
    expect(runs).toBe(after);
  });

  it('rejects an invalid expression with SCHEDULE_INVALID', () => {
    expect(() => make().schedule('every thirty seconds', async () => undefined)).toThrow(expect.objectContaining({ code: 'SCHEDULE_INVALID' }));
    let caught: unknown;
    try {
      make().schedule('61 * * * *', async () => undefined);
    } catch (err) {
      caught = err;
    }
    expect(isEdgefleetError(caught, 'SCHEDULE_INVALID')).toBe(true);
  });
});
