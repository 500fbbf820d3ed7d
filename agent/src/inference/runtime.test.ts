import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HardwareProfile } from '@edgefleet/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEpChoiceCache } from './ep-cache.js';
import { createFakeSessionFactory, type FakeSessionFactoryOptions } from './fake-session-factory.js';
import { createInferenceRuntime, type RuntimeEvent } from './runtime.js';
import type { Tensor } from './runtime-port.js';

const hardware: HardwareProfile = {
  hardwareClass: 'x86-nvidia',
  cpu: { model: 'test', arch: 'x64', cores: 4, physicalCores: 4 },
  memoryBytes: 8 * 1024 ** 3,
  os: { platform: 'linux', distro: 'test', release: '1', kernel: '6' },
  nvidiaGpus: [{ name: 'GPU' }],
  vulkan: true,
  onnxruntime: { version: '1.30.0', backends: [{ name: 'cpu', bundled: true }, { name: 'webgpu', bundled: true }, { name: 'cuda', bundled: false }, { name: 'tensorrt', bundled: false }] },
};

let dir: string;
let path: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'runtime-'));
  path = join(dir, 'm.onnx');
  await writeFile(path, 'fake');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const x = (values: number[]): Tensor[] => [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: values }];
const sha256 = 'b'.repeat(64);

async function runtimeWith(fake: FakeSessionFactoryOptions, config = {}) {
  const factory = createFakeSessionFactory(fake);
  const runtime = await createInferenceRuntime({ hardware, sessionFactory: factory, config: { epBenchmarkBudgetMs: 100, ...config } });
  return { factory, runtime };
}

describe('inference runtime (fake sessions)', () => {
  it('loads on the measured-fastest EP, serves through labels and reports status', async () => {
    const { runtime } = await runtimeWith({ eps: { webgpu: { runMs: 15 }, cpu: {} } });
    const loaded = await runtime.load({ model: 'm', version: '1', path, sha256 });
    expect(loaded.ep).toBe('cpu');
    expect(loaded.epCandidates.map((c) => [c.ep, c.status])).toEqual([
      ['tensorrt', 'failed'],
      ['cuda', 'failed'],
      ['webgpu', 'started'],
      ['cpu', 'selected'],
    ]);
    await expect(runtime.infer('m', x([1, 2, 3, 4]))).rejects.toMatchObject({ code: 'MODEL_NOT_READY' });
    runtime.setLabel('m', 'active', '1');
    const result = await runtime.infer('m', x([1, 2, 3, 4]));
    expect(Array.from(result.outputs[0]!.data as Float32Array)).toEqual([1, 2, 3, 4]);
    expect(result).toMatchObject({ model: 'm', version: '1', ep: 'cpu' });
    expect(runtime.status('m')).toEqual([{ version: '1', state: 'AVAILABLE', labels: ['active'], ep: 'cpu', pending: 0 }]);
    await runtime.close();
  });

  it('answers bad addresses and bad inputs with coded errors', async () => {
    const { runtime } = await runtimeWith({});
    await runtime.load({ model: 'm', version: '1', path, sha256 });
    runtime.setLabel('m', 'active', '1');
    await expect(runtime.infer('nope', x([1, 2, 3, 4]))).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(runtime.infer('m', x([1, 2, 3, 4]), { version: '9' })).rejects.toMatchObject({ code: 'MODEL_VERSION_NOT_FOUND' });
    await expect(runtime.infer('m', x([1, 2, 3, 4]), { label: 'canary' })).rejects.toMatchObject({ code: 'MODEL_VERSION_NOT_FOUND' });
    await expect(runtime.infer('m', x([1, 2, 3]))).rejects.toMatchObject({ code: 'INPUT_INVALID', message: expect.stringMatching(/shape|elements/) });
    await expect(runtime.infer('m', [{ name: 'x', datatype: 'INT32', shape: [1, 4], data: [1, 2, 3, 4] }])).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await expect(runtime.infer('m', [{ name: 'z', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }])).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    expect(() => runtime.setLabel('m', 'stable', '2')).toThrow(expect.objectContaining({ code: 'MODEL_VERSION_NOT_FOUND' }));
    await runtime.close();
  });

  it('rejects beyond the bounded queue with INFERENCE_QUEUE_FULL and times out slow requests', async () => {
    const { runtime } = await runtimeWith({ eps: { cpu: { runMs: 40 } } }, { queueDepth: 2, requestTimeoutMs: 100 });
    await runtime.load({ model: 'm', version: '1', path, sha256 });
    runtime.setLabel('m', 'active', '1');
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => runtime.infer('m', x([1, 2, 3, 4]))));
    // 1 running + 2 queued; the 4th is refused at once. The 3rd waits 80 ms + runs 40 > 100 ms deadline.
    expect(results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code: string }).code))).toEqual(['ok', 'ok', 'INFERENCE_TIMEOUT', 'INFERENCE_QUEUE_FULL']);
    const [window] = runtime.takeWindows();
    expect(window).toMatchObject({ model: 'm', version: '1', ep: 'cpu', requests: 4, failures: { INFERENCE_QUEUE_FULL: 1, INFERENCE_TIMEOUT: 1 } });
    expect(window!.latency.reduce((a, b) => a + b, 0)).toBe(2);
    expect(runtime.takeWindows()).toEqual([]);
    await runtime.close();
  });

  it('smokeTest rejects non-finite outputs with SMOKE_TEST_FAILED', async () => {
    const { runtime } = await runtimeWith({ eps: { cpu: { nan: true } } });
    await runtime.load({ model: 'm', version: '1', path, sha256 });
    await expect(runtime.smokeTest('m', '1')).rejects.toMatchObject({ code: 'SMOKE_TEST_FAILED' });
    await runtime.close();
  });

  it('hot swap under continuous load: zero failures, in-flight requests finish on their version, old session released', async () => {
    const { runtime, factory } = await runtimeWith({ eps: { cpu: { runMs: 3 } } });
    const events: RuntimeEvent[] = [];
    runtime.subscribe((e) => events.push(e));
    await runtime.load({ model: 'm', version: '1', path, sha256 });
    runtime.setLabel('m', 'active', '1');
    let stop = false;
    const versions: string[] = [];
    const failures: unknown[] = [];
    const clients = [0, 1, 2].map(async () => {
      while (!stop) await runtime.infer('m', x([1, 2, 3, 4])).then((r) => versions.push(r.version), (e: unknown) => failures.push(e));
    });
    await new Promise((r) => setTimeout(r, 40));
    await runtime.load({ model: 'm', version: '2', path, sha256: 'c'.repeat(64) });
    await runtime.smokeTest('m', '2');
    runtime.setLabel('m', 'active', '2');
    await runtime.unload('m', '1');
    await new Promise((r) => setTimeout(r, 40));
    stop = true;
    await Promise.all(clients);
    expect(failures).toEqual([]);
    expect(versions).toContain('1');
    expect(versions.at(-1)).toBe('2');
    expect(runtime.status('m').map((s) => s.version)).toEqual(['2']);
    expect(factory.live.size).toBe(1);
    expect(events.some((e) => e.type === 'unload' && e.version === '1' && e.abandoned === 0)).toBe(true);
    await runtime.close();
    expect(factory.live.size).toBe(0);
  });

  it('reuses a cached EP choice without re-benchmarking, and honours pins', async () => {
    const factory = createFakeSessionFactory({ eps: { webgpu: { runMs: 1 }, cpu: { runMs: 5 } } });
    const runtime = await createInferenceRuntime({ hardware, sessionFactory: factory, config: { epBenchmarkBudgetMs: 100 } });
    const first = await runtime.load({ model: 'm', version: '1', path, sha256 });
    expect(first.ep).toBe('webgpu');
    const attemptsAfterFirst = factory.attempts.length;
    await runtime.unload('m', '1');
    const again = await runtime.load({ model: 'm', version: '1', path, sha256 });
    expect(again.ep).toBe('webgpu');
    expect(factory.attempts.slice(attemptsAfterFirst).map((a) => a.ep)).toEqual(['webgpu']);
    const pinned = await runtime.load({ model: 'm', version: '2', path, sha256: 'c'.repeat(64), ep: { pin: 'cpu' } });
    expect(pinned.ep).toBe('cpu');
    await expect(runtime.load({ model: 'm', version: '3', path, sha256, ep: { pin: 'cuda' } })).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED' });
    await runtime.close();
  });

  it('measures intra-op thread counts on the CPU EP, caches the faster one and restarts with it; a configured count is not second-guessed', async () => {
    const factory = createFakeSessionFactory({ eps: { cpu: { runMs: 8, runMsByThreads: { 1: 1 } } } });
    const cache = await createEpChoiceCache();
    const runtime = await createInferenceRuntime({ hardware, sessionFactory: factory, epCache: cache, config: { epBenchmarkBudgetMs: 200, forbidEps: ['webgpu'] } });
    const first = await runtime.load({ model: 'm', version: '1', path, sha256 });
    // 4 physical cores: the default (4) against 1 and half the cores (2).
    const onCpu = (attempts: typeof factory.attempts) => attempts.filter((a) => a.ep === 'cpu').map((a) => a.intraOpThreads);
    expect(onCpu(factory.attempts)).toEqual([4, 1, 2]);
    expect(first.epCandidates.find((c) => c.ep === 'cpu')).toMatchObject({ status: 'selected', intraOpThreads: 1 });
    expect(cache.get({ sha256, ortVersion: '1.30.0', hardwareClass: 'x86-nvidia' })?.intraOpThreads).toBe(1);
    await runtime.unload('m', '1');
    const before = factory.attempts.length;
    await runtime.load({ model: 'm', version: '1', path, sha256 });
    expect(onCpu(factory.attempts.slice(before))).toEqual([1]);
    await runtime.close();

    const pinnedFactory = createFakeSessionFactory({ eps: { cpu: { runMs: 8, runMsByThreads: { 1: 1 } } } });
    const pinned = await createInferenceRuntime({ hardware, sessionFactory: pinnedFactory, config: { epBenchmarkBudgetMs: 100, forbidEps: ['webgpu'], intraOpThreads: 3 } });
    await pinned.load({ model: 'm', version: '1', path, sha256 });
    expect(onCpu(pinnedFactory.attempts)).toEqual([3]);
    await pinned.close();
  });
});
