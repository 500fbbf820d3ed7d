import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEpChoiceCache } from './ep-cache.js';
import { probeExecutionProviders, type ProbeRequest } from './ep-prober.js';
import { createFakeSessionFactory } from './fake-session-factory.js';

let dir: string;
let modelPath: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ep-prober-'));
  modelPath = join(dir, 'm.onnx');
  await writeFile(modelPath, 'fake model');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const base = (factory: ProbeRequest['factory'], candidates: ProbeRequest['candidates']): ProbeRequest => ({
  factory,
  modelPath,
  candidates,
  sessionOptions: () => ({}),
  startTimeoutMs: 1000,
  budgetMs: 400,
  maxRuns: 5,
});

describe('probeExecutionProviders with fake EPs', () => {
  it('falls back when an EP fails to start, and records why', async () => {
    const factory = createFakeSessionFactory({ eps: { cpu: {} } });
    const result = await probeExecutionProviders(base(factory, ['tensorrt', 'cuda', 'cpu']));
    expect(result.ep).toBe('cpu');
    expect(result.fallbacks).toBe(2);
    expect(result.candidates.map((c) => [c.ep, c.status])).toEqual([
      ['tensorrt', 'failed'],
      ['cuda', 'failed'],
      ['cpu', 'selected'],
    ]);
    expect(result.candidates[0]?.reason).toMatch(/Failed to load shared library/);
    await result.session.release();
  });

  it('measured selection picks the faster EP even when the hardware order prefers the other', async () => {
    const factory = createFakeSessionFactory({ eps: { webgpu: { runMs: 25 }, cpu: { runMs: 2 } } });
    const result = await probeExecutionProviders(base(factory, ['webgpu', 'cpu']));
    expect(result.ep).toBe('cpu');
    const [gpu, cpu] = result.candidates;
    expect(gpu).toMatchObject({ ep: 'webgpu', status: 'started' });
    expect(cpu).toMatchObject({ ep: 'cpu', status: 'selected' });
    expect(gpu!.p50Ms!).toBeGreaterThan(cpu!.p50Ms!);
    expect(cpu!.runs).toBeGreaterThanOrEqual(1);
    // The loser's session was released; only the chosen one is alive.
    expect(factory.live.size).toBe(1);
    await result.session.release();
    expect(factory.live.size).toBe(0);
  });

  it('keeps only the leader so far loaded: each slower candidate is released once measured', async () => {
    const factory = createFakeSessionFactory({ eps: { tensorrt: { runMs: 30 }, cuda: { runMs: 5 }, cpu: { runMs: 15 } } });
    let peak = 0;
    const counting = { create: async (...args: Parameters<typeof factory.create>) => { const s = await factory.create(...args); peak = Math.max(peak, factory.live.size); return s; } };
    const result = await probeExecutionProviders(base(counting, ['tensorrt', 'cuda', 'cpu']));
    expect(result.ep).toBe('cuda');
    expect(result.candidates.map((c) => c.status)).toEqual(['started', 'selected', 'started']);
    expect(peak).toBe(2);
    expect(factory.live.size).toBe(1);
    await result.session.release();
  });

  it('a start that hangs times out and the next candidate is used', async () => {
    const factory = createFakeSessionFactory({ eps: { cuda: { hang: true }, cpu: {} } });
    const result = await probeExecutionProviders({ ...base(factory, ['cuda', 'cpu']), startTimeoutMs: 50 });
    expect(result.ep).toBe('cpu');
    expect(result.candidates[0]).toMatchObject({ ep: 'cuda', status: 'failed' });
    expect(result.candidates[0]?.reason).toMatch(/no answer within 50 ms/);
    expect(factory.attempts[0]?.outcome).toBe('aborted');
    await result.session.release();
  });

  it('an EP whose outputs are not finite loses to one whose outputs are, however fast', async () => {
    const factory = createFakeSessionFactory({ eps: { tensorrt: { nan: true }, cpu: { runMs: 5 } } });
    const result = await probeExecutionProviders(base(factory, ['tensorrt', 'cpu']));
    expect(result.ep).toBe('cpu');
    expect(result.candidates[0]).toMatchObject({ ep: 'tensorrt', status: 'failed', reason: 'outputs not finite: y' });
    await result.session.release();
  });

  it('when every EP gives non-finite outputs the model is at fault: it still loads (the smoke test rejects it)', async () => {
    const factory = createFakeSessionFactory({ eps: { cpu: { nan: true } } });
    const result = await probeExecutionProviders(base(factory, ['cpu']));
    expect(result.candidates[0]).toMatchObject({ status: 'selected', reason: 'outputs not finite: y' });
    await result.session.release();
  });

  it('no EP starts: MODEL_LOAD_FAILED listing every reason', async () => {
    const factory = createFakeSessionFactory({ eps: {} });
    await expect(probeExecutionProviders(base(factory, ['cuda', 'cpu']))).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED', message: expect.stringMatching(/cuda: .*cpu: /) });
  });

  it('a missing model file is MODEL_INVALID and stops the probe', async () => {
    const factory = createFakeSessionFactory();
    await expect(probeExecutionProviders({ ...base(factory, ['cuda', 'cpu']), modelPath: join(dir, 'nope.onnx') })).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    expect(factory.attempts).toHaveLength(1);
  });

  it('times other thread counts against the best so far and keeps the fastest session (small models lose to pool wake-ups)', async () => {
    const factory = createFakeSessionFactory({ eps: { cpu: { runMs: 12, runMsByThreads: { 1: 2 } } } });
    // Never more than two sessions of the model at once, however many counts are tried.
    let peak = 0;
    const counting = { create: async (...args: Parameters<typeof factory.create>) => { const s = await factory.create(...args); peak = Math.max(peak, factory.live.size); return s; } };
    const result = await probeExecutionProviders({ ...base(counting, ['cpu']), sessionOptions: (_ep, threads) => ({ intraOpNumThreads: threads ?? 4 }), threadCounts: () => [1, 2] });
    expect(peak).toBe(2);
    expect(result.intraOpThreads).toBe(1);
    expect(result.candidates[0]).toMatchObject({ ep: 'cpu', status: 'selected', intraOpThreads: 1 });
    const trials = result.candidates[0]!.threadTrials!;
    expect(trials.map((t) => t.intraOpThreads)).toEqual([4, 1, 2]);
    // Round-robin: each count was timed as often as the one it was pitted against.
    expect(new Set(trials.map((t) => t.runs)).size).toBe(1);
    expect(trials[1]!.p50Ms).toBeLessThan(trials[0]!.p50Ms);
    expect(factory.attempts.map((a) => a.intraOpThreads)).toEqual([4, 1, 2]);
    expect(factory.live.size).toBe(1);
    await result.session.release();
  });

  it('tries no other thread count on a generated input for variable-size inputs (it would not look like real requests)', async () => {
    const factory = createFakeSessionFactory({ eps: { cpu: { runMs: 12, runMsByThreads: { 1: 2 } } }, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, -1, -1] }] });
    const request = { ...base(factory, ['cpu']), sessionOptions: (_ep: string, threads?: number) => ({ intraOpNumThreads: threads ?? 4 }), threadCounts: () => [1] };
    const sampled = await probeExecutionProviders(request);
    expect(sampled.intraOpThreads).toBeUndefined();
    expect(sampled.candidates[0]?.threadTrials).toBeUndefined();
    expect(factory.attempts.map((a) => a.intraOpThreads)).toEqual([4]);
    await sampled.session.release();
    // With the caller's own (representative) input, they are measured.
    const given = await probeExecutionProviders({ ...request, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 8, 8], data: new Float32Array(192) }] });
    expect(given.intraOpThreads).toBe(1);
    await given.session.release();
  });

  it('given inputs the model rejects (a wrong golden input) fall back to generated ones: the model still loads', async () => {
    const factory = createFakeSessionFactory({ eps: { cpu: {} } });
    const result = await probeExecutionProviders({ ...base(factory, ['cpu']), inputs: [{ name: 'nope', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) }] });
    expect(result.candidates[0]).toMatchObject({ ep: 'cpu', status: 'selected' });
    expect(result.candidates[0]?.runs).toBeGreaterThanOrEqual(1);
    await result.session.release();
  });

  it('another thread count must beat the default clearly: a near tie keeps the default', async () => {
    const factory = createFakeSessionFactory({ eps: { cpu: { runMs: 40, runMsByThreads: { 1: 39 } } } });
    const result = await probeExecutionProviders({ ...base(factory, ['cpu']), sessionOptions: (_ep, threads) => ({ intraOpNumThreads: threads ?? 2 }), threadCounts: () => [1] });
    expect(result.intraOpThreads).toBeUndefined();
    expect(result.candidates[0]).toMatchObject({ status: 'selected', intraOpThreads: 2 });
    await result.session.release();
  });

  it('keeps the default thread count when it is the fastest, and tries none on an EP without thread counts', async () => {
    const factory = createFakeSessionFactory({ eps: { webgpu: { runMs: 1 }, cpu: { runMs: 20, runMsByThreads: { 1: 40 } } } });
    const result = await probeExecutionProviders({
      ...base(factory, ['webgpu', 'cpu']),
      sessionOptions: (_ep, threads) => ({ intraOpNumThreads: threads ?? 4 }),
      threadCounts: (ep) => (ep === 'cpu' ? [1] : []),
    });
    expect(result.ep).toBe('webgpu');
    expect(result.intraOpThreads).toBeUndefined();
    const [gpu, cpu] = result.candidates;
    expect(gpu!.threadTrials).toBeUndefined();
    expect(cpu).toMatchObject({ status: 'started', intraOpThreads: 4 });
    expect(cpu!.threadTrials!.map((t) => t.intraOpThreads)).toEqual([4, 1]);
    expect(factory.live.size).toBe(1);
    await result.session.release();
  });

  it('the benchmark budget bounds the time spent; later candidates are skipped once it is spent', async () => {
    const factory = createFakeSessionFactory({ eps: { tensorrt: { runMs: 30 }, cuda: { runMs: 30 }, cpu: {} } });
    const t0 = performance.now();
    const result = await probeExecutionProviders({ ...base(factory, ['tensorrt', 'cuda', 'cpu']), budgetMs: 50, maxRuns: 100 });
    expect(performance.now() - t0).toBeLessThan(400);
    expect(result.candidates.some((c) => c.status === 'skipped' && c.reason === 'benchmark budget exhausted')).toBe(true);
    await result.session.release();
  });
});

describe('EP choice cache', () => {
  it('persists choices per (sha256, runtime version, hardware class) across instances', async () => {
    const path = join(dir, 'cache', 'ep-choices.json');
    const key = { sha256: 'a'.repeat(64), ortVersion: '1.30.0', hardwareClass: 'x86' };
    const first = await createEpChoiceCache({ path });
    await first.set(key, { ep: 'cpu', candidates: [{ ep: 'cpu', status: 'selected', p50Ms: 1 }], measuredAt: new Date(0).toISOString() });
    const second = await createEpChoiceCache({ path });
    expect(second.get(key)?.ep).toBe('cpu');
    expect(second.get({ ...key, hardwareClass: 'x86-nvidia' })).toBeUndefined();
    expect(second.get({ ...key, ortVersion: '1.31.0' })).toBeUndefined();
    await writeFile(path, '{corrupt');
    expect((await createEpChoiceCache({ path })).get(key)).toBeUndefined();
  });
});
