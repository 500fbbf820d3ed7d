/**
 * The MediaPipe face detector on LiteRT (issue 21): the same file, the same synthetic input, on
 * LiteRT's single-threaded build (what plain Node 20 runs) in this process, and on its threaded
 * build (Node 20 needs --experimental-wasm-relaxed-simd) in a child process with 1 and 2 threads.
 * Each run of the child is this module again, entered with `--litert-child THREADS`.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createLiteRtSessionFactory } from '@edgefleet/agent';
import { tfliteModelPath } from '../../helpers/index.js';
import { sineInput, statsOf, type Stats } from './kserve-http.js';

const SHAPE = [1, 128, 128, 3];

export async function measureFaceDetector(threads: number, runs: number): Promise<Stats & { build: string }> {
  const factory = createLiteRtSessionFactory();
  const session = await factory.create({ modelPath: tfliteModelPath('face'), ep: 'cpu', options: { intraOpNumThreads: threads } });
  const input = sineInput(SHAPE);
  for (let i = 0; i < 5; i++) await session.run([{ name: 'input', datatype: 'FP32', shape: SHAPE, data: input }]);
  const samples: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) samples.push((await session.run([{ name: 'input', datatype: 'FP32', shape: SHAPE, data: input }])).computeMs);
  const stats = statsOf(samples, performance.now() - t0);
  await session.release();
  return { ...stats, build: await factory.build() };
}

export async function measureThreadedChild(threads: number, runs: number): Promise<Stats & { build: string }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--experimental-wasm-relaxed-simd', fileURLToPath(import.meta.url), '--litert-child', String(threads), String(runs)], { timeout: 120_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Stats & { build: string };
}

if (process.argv[2] === '--litert-child') {
  const result = await measureFaceDetector(Number(process.argv[3]), Number(process.argv[4]));
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
