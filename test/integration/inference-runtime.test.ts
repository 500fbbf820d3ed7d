import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createApiServer, createInferenceRuntime, createNodeHardwarePort, detectHardware, type InferenceRuntimeWithEvents } from '@edgefleet/agent';
import type { HardwareProfile } from '@edgefleet/shared';
import * as ort from 'onnxruntime-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addModel, nanModel, notOnnxBytes, slowModel, tmpDataDir, writeModelFile, type TmpDir } from '../helpers/index.js';

/** The real runtime: worker_threads over onnxruntime-node, on generated models. */
let tmp: TmpDir;
let hardware: HardwareProfile;
let runtime: InferenceRuntimeWithEvents | undefined;

beforeAll(async () => {
  tmp = await tmpDataDir();
  hardware = await detectHardware(createNodeHardwarePort());
});
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});
afterAll(() => tmp.cleanup());

// ~3 GFLOP per run: tens of ms on one core, so a run on the main thread visibly blocks it.
const SLOW = { size: 384, depth: 24 };

async function lagDuring(work: () => Promise<void>): Promise<{ p99Ms: number; maxMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  await work();
  histogram.disable();
  return { p99Ms: histogram.percentile(99) / 1e6, maxMs: histogram.max / 1e6 };
}

describe('inference runtime with worker threads', () => {
  it('keeps the event loop responsive while inference saturates the workers (and in-thread runs would not)', async () => {
    const file = await writeModelFile(join(tmp.path, 'slow.onnx'), slowModel(SLOW));
    runtime = await createInferenceRuntime({ hardware, config: { epBenchmarkBudgetMs: 100, intraOpThreads: 1 } });
    await runtime.load({ model: 'slow', version: '1', path: file.path, sha256: file.sha256 });
    runtime.setLabel('slow', 'active', '1');
    const x = [{ name: 'x', datatype: 'FP32', shape: [SLOW.size, SLOW.size], data: new Float32Array(SLOW.size * SLOW.size).fill(1) }];
    const rt = runtime;

    let runs = 0;
    const inWorkers = await lagDuring(async () => {
      const until = performance.now() + 1500;
      // Four clients keep the queue non-empty the whole time.
      await Promise.all(
        [0, 1, 2, 3].map(async () => {
          while (performance.now() < until) {
            await rt.infer('slow', x);
            runs++;
          }
        }),
      );
    });

    // The same model run on the main thread, for contrast: session.run blocks the loop.
    const session = await ort.InferenceSession.create(file.path, { intraOpNumThreads: 1 });
    const feeds = { x: new ort.Tensor('float32', new Float32Array(SLOW.size * SLOW.size).fill(1), [SLOW.size, SLOW.size]) };
    // One run's duration on this machine: whatever the load, an in-thread run blocks the loop that long.
    const singleRuns: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await session.run(feeds);
      singleRuns.push(performance.now() - t0);
    }
    const runMs = singleRuns.sort((a, b) => a - b)[1]!;
    const inThread = await lagDuring(async () => {
      const until = performance.now() + 800;
      while (performance.now() < until) {
        await session.run(feeds);
        await new Promise((r) => setImmediate(r));
      }
    });
    await session.release();

    console.log(`event-loop lag p99/max: workers ${inWorkers.p99Ms.toFixed(1)}/${inWorkers.maxMs.toFixed(1)} ms over ${runs} runs; in-thread ${inThread.p99Ms.toFixed(1)}/${inThread.maxMs.toFixed(1)} ms (one run ${runMs.toFixed(1)} ms)`);
    expect(runs).toBeGreaterThan(4);
    // The contrast proves the measurement sees a blocked loop (relative to this machine's speed, not a
    // fixed number of ms); the absolute bound is what the agent needs (MQTT keep-alives, commands)
    // on a 2-core machine shared with other processes.
    // (Half a run: the delay histogram samples on a ~10 ms timer, so it sees less than the whole block.)
    expect(inThread.maxMs).toBeGreaterThan(0.5 * runMs);
    expect(inWorkers.p99Ms).toBeLessThan(inThread.maxMs);
    expect(inWorkers.p99Ms).toBeLessThan(50);
  });

  it('hot swap through the local API under continuous load: zero failed requests, each answer from the version it started on', async () => {
    const v1 = await writeModelFile(join(tmp.path, 'add1.onnx'), addModel({ addend: 1 }));
    const v2 = await writeModelFile(join(tmp.path, 'add2.onnx'), addModel({ addend: 2 }));
    runtime = await createInferenceRuntime({ hardware, config: { epBenchmarkBudgetMs: 100, intraOpThreads: 1 } });
    await runtime.load({ model: 'add', version: '1', path: v1.path, sha256: v1.sha256 });
    runtime.setLabel('add', 'active', '1');
    const api = createApiServer({ runtime, port: 0, ready: true, defaultMetrics: false });
    const { url } = await api.listen();
    const body = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });
    const answers: { status: number; version?: string; y?: number[] }[] = [];
    let stop = false;
    const clients = [0, 1, 2, 3].map(async () => {
      while (!stop) {
        const res = await fetch(`${url}/v2/models/add/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const json = (await res.json()) as { model_version?: string; outputs?: { data: number[] }[] };
        answers.push({ status: res.status, version: json.model_version, y: json.outputs?.[0]?.data });
      }
    });
    try {
      await new Promise((r) => setTimeout(r, 300));
      await runtime.load({ model: 'add', version: '2', path: v2.path, sha256: v2.sha256 });
      await runtime.smokeTest('add', '2');
      runtime.setLabel('add', 'active', '2');
      await runtime.unload('add', '1', 5000);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      stop = true;
      await Promise.all(clients);
      await api.close();
    }
    const failed = answers.filter((a) => a.status !== 200);
    expect(failed).toEqual([]);
    const byVersion = { '1': answers.filter((a) => a.version === '1'), '2': answers.filter((a) => a.version === '2') };
    expect(byVersion['1'].length).toBeGreaterThan(0);
    expect(byVersion['2'].length).toBeGreaterThan(0);
    for (const a of byVersion['1']) expect(a.y).toEqual([2, 3, 4, 5]);
    for (const a of byVersion['2']) expect(a.y).toEqual([3, 4, 5, 6]);
    expect(answers.at(-1)?.version).toBe('2');
    expect(runtime.status('add').map((s) => s.version)).toEqual(['2']);
  });

  it('smoke test rejects a model that outputs NaN; a file that is not ONNX is MODEL_INVALID', async () => {
    const nan = await writeModelFile(join(tmp.path, 'nan.onnx'), nanModel('log-negative'));
    const junk = await writeModelFile(join(tmp.path, 'junk.onnx'), notOnnxBytes());
    runtime = await createInferenceRuntime({ hardware, config: { epBenchmarkBudgetMs: 50 } });
    const loaded = await runtime.load({ model: 'nan', version: '1', path: nan.path, sha256: nan.sha256 });
    expect(loaded.epCandidates.find((c) => c.status === 'selected')?.reason).toMatch(/not finite/);
    await expect(runtime.smokeTest('nan', '1')).rejects.toMatchObject({ code: 'SMOKE_TEST_FAILED' });
    await expect(runtime.load({ model: 'junk', version: '1', path: junk.path, sha256: junk.sha256 })).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    expect(runtime.models()).toEqual(['nan']);
  });

  it('EP choice is persisted: a new runtime with the same cache file starts the cached EP without benchmarking', async () => {
    const file = await writeModelFile(join(tmp.path, 'add-cache.onnx'), addModel({ addend: 3 }));
    const epCache = join(tmp.path, 'ep-choices.json');
    runtime = await createInferenceRuntime({ hardware, epCache, config: { epBenchmarkBudgetMs: 100 } });
    const events: string[] = [];
    runtime.subscribe((e) => e.type === 'load' && events.push(`${e.ep}:${e.cached}`));
    await runtime.load({ model: 'a', version: '1', path: file.path, sha256: file.sha256 });
    await runtime.close();
    runtime = await createInferenceRuntime({ hardware, epCache, config: { epBenchmarkBudgetMs: 100 } });
    runtime.subscribe((e) => e.type === 'load' && events.push(`${e.ep}:${e.cached}`));
    const again = await runtime.load({ model: 'a', version: '1', path: file.path, sha256: file.sha256 });
    expect(events).toEqual(['cpu:false', 'cpu:true']);
    expect(again.epCandidates.find((c) => c.ep === 'cpu')?.status).toBe('selected');
  });
});
