import { describe, expect, it } from 'vitest';
import { parseWaveSpecs } from '@edgefleet/shared';
import { dryRun, notifySpanMs, planWaveSizes, planWaves, selectTargets } from './planner.js';
import type { FleetDevice } from './ports.js';

const fleet = (n: number, tags: Record<string, string> = {}): FleetDevice[] =>
  Array.from({ length: n }, (_, i) => ({ id: `dev-${String(i).padStart(3, '0')}`, tags, online: true }));

describe('planWaveSizes', () => {
  it.each([
    ['1,10%,100%', 100, [1, 9, 90]],
    ['1,10%,100%', 10, [1, 1, 8]],
    ['1,10%,100%', 1, [1]],
    ['1,10%,100%', 0, []],
    ['1,10%,50%,100%', 5, [1, 1, 1, 2]],
    ['5,5', 20, [5, 15]],
    ['10%,20%', 7, [1, 6]],
    ['2', 3, [3]],
    ['50%,50%,100%', 4, [2, 1, 1]],
  ])('%s of %i devices → %j', (spec, total, sizes) => {
    expect(planWaveSizes(parseWaveSpecs(spec), total)).toEqual(sizes);
  });

  it('always covers every device exactly once', () => {
    for (const total of [1, 2, 3, 17, 100, 1001]) {
      const sizes = planWaveSizes(parseWaveSpecs('1,10%,50%,100%'), total);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(total);
      expect(sizes.every((s) => s > 0)).toBe(true);
    }
  });
});

describe('parseWaveSpecs', () => {
  it('rejects bad entries with the entry named', () => {
    expect(() => parseWaveSpecs('1,abc')).toThrow(/"abc"/);
    expect(() => parseWaveSpecs('0')).toThrow(/"0"/);
    expect(() => parseWaveSpecs('150%')).toThrow(/"150%"/);
  });
});

describe('selectTargets', () => {
  const devices: FleetDevice[] = [
    { id: 'b', tags: { site: 'berlin', hw: 'orin' }, online: true },
    { id: 'a', tags: { site: 'berlin', hw: 'x86' }, online: true },
    { id: 'c', tags: { site: 'paris', hw: 'orin' }, online: false },
  ];
  it('selects by ids, by every tag, or all, sorted by id', () => {
    expect(selectTargets({ kind: 'devices', deviceIds: ['c', 'a'] }, devices).map((d) => d.id)).toEqual(['a', 'c']);
    expect(selectTargets({ kind: 'tags', tags: { site: 'berlin', hw: 'orin' } }, devices).map((d) => d.id)).toEqual(['b']);
    expect(selectTargets({ kind: 'tags', tags: { hw: 'orin' } }, devices).map((d) => d.id)).toEqual(['b', 'c']);
    expect(selectTargets({ kind: 'all' }, devices).map((d) => d.id)).toEqual(['a', 'b', 'c']);
  });
});

describe('planWaves and dryRun', () => {
  it('skips incompatible devices with the reason and splits the rest', () => {
    const devices = fleet(4);
    devices[1] = {
      ...devices[1]!,
      reported: { deviceId: 'dev-001', observedGeneration: 0, appliedGeneration: 0, agentVersion: '1', reportedAt: new Date(0).toISOString(), executionProviders: ['cpu'], models: [] },
    };
    const plan = planWaves({ kind: 'all' }, parseWaveSpecs('1,100%'), devices, { requiredEps: ['tensorrt'] });
    expect(plan.skipped).toEqual([{ deviceId: 'dev-001', reason: 'incompatible', detail: expect.stringMatching(/tensorrt/) }]);
    expect(plan.waves).toEqual([['dev-000'], ['dev-002', 'dev-003']]);
  });

  it('skips a device whose agent has no LiteRT for a TFLite model, and passes one with no hardware report yet', () => {
    const devices = fleet(3);
    const hardware = { arch: 'x64', platform: 'linux', cpuModel: 'x', cores: 2, memoryBytes: 1e9, hardwareClass: 'x86_64-cpu', nvidiaGpus: [], vulkan: false, onnxruntime: { version: '1.23.0', backends: [] } };
    const reported = (id: string, hw?: object) => ({ deviceId: id, observedGeneration: 0, appliedGeneration: 0, agentVersion: '0.1.0', reportedAt: new Date(0).toISOString(), executionProviders: ['cpu' as const], models: [], ...(hw ? { hardware: hw } : {}) });
    devices[0] = { ...devices[0]!, reported: reported('dev-000', hardware) as never };
    devices[1] = { ...devices[1]!, reported: reported('dev-001', { ...hardware, litert: { version: '2.0.0' } }) as never };
    const plan = planWaves({ kind: 'all' }, parseWaveSpecs('100%'), devices, { format: 'tflite' });
    expect(plan.skipped).toEqual([{ deviceId: 'dev-000', reason: 'incompatible', detail: 'model is TFLite; agent 0.1.0 reports no LiteRT runtime' }]);
    expect(plan.waves).toEqual([['dev-001', 'dev-002']]);
  });

  it('paces waves by the rate limit and the bake time', () => {
    const plan = planWaves({ kind: 'all' }, parseWaveSpecs('1,100%'), fleet(11), {});
    const result = dryRun({ model: 'm', version: '2', plan, startsAtMs: 0, bakeMs: 60_000, ratePerMinute: 10, jitterMs: 0 });
    expect(result.waves.map((w) => w.deviceIds.length)).toEqual([1, 10]);
    expect(result.waves[0]).toMatchObject({ notifyFrom: new Date(0).toISOString(), notifyUntil: new Date(0).toISOString() });
    // Wave 1 starts after wave 0's bake and needs 9 intervals of 6 s for 10 devices.
    expect(result.waves[1]).toMatchObject({ notifyFrom: new Date(60_000).toISOString(), notifyUntil: new Date(60_000 + 54_000).toISOString() });
    expect(notifySpanMs(1000, 0)).toBe(0);
  });
});
