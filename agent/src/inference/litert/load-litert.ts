import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { EdgefleetError } from '@edgefleet/shared';
import { installEmscriptenShims } from './emscripten-shims.js';

import type * as LiteRtCore from '@litertjs/core';

type LiteRtModule = typeof LiteRtCore;

/**
 * Which wasm build runs: `threaded` (XNNPACK with pthreads; needs relaxed SIMD, i.e. Node 20 started
 * with --experimental-wasm-relaxed-simd, or Node 22+), `simd` (single thread, relaxed SIMD), `compat`
 * (single thread, plain SIMD: what Node 20 runs without flags).
 */
export type LiteRtBuild = 'threaded' | 'simd' | 'compat';

export interface LiteRtRuntime {
  readonly lib: LiteRtModule;
  readonly build: LiteRtBuild;
  readonly version: string;
  /**
   * Runs `task` (a model compile) alone and returns what the runtime logged meanwhile: LiteRT
   * explains a refused model only there, and even compiles a model with an unresolved custom op
   * without throwing, leaving ERROR lines as the only sign. Serialised so that lines are not mixed.
   */
  logged<T>(task: () => Promise<T>): Promise<{ result: PromiseSettledResult<T>; log: string[] }>;
  /**
   * Why the wasm runtime aborted, once it has: every later call into it fails, whatever the model,
   * so callers report the runtime (EP_UNAVAILABLE) rather than blame the model they were given.
   */
  abortReason(): string | undefined;
}

export interface LoadLiteRtOptions {
  /** Use the threaded build where this Node can run it. @default true */
  threads?: boolean;
}

const require = createRequire(import.meta.url);

function packageDir(): string {
  return dirname(require.resolve('@litertjs/core/package.json'));
}

/** The LiteRT version this agent ships (the @litertjs/core package version), for the hardware report. */
export function liteRtInfo(): { version: string } {
  const pkg = JSON.parse(readFileSync(join(packageDir(), 'package.json'), 'utf8')) as { version: string };
  return { version: pkg.version };
}

// LiteRT keeps its wasm instance in a module-level global of @litertjs/core and refuses a second
// loadLiteRt(), so one load per process is the package's rule; this promise only shares it.
let loading: Promise<LiteRtRuntime> | undefined;

/** Loads the LiteRT wasm from the package directory on first use; later calls get the same runtime. */
export function loadLiteRt(options: LoadLiteRtOptions = {}): Promise<LiteRtRuntime> {
  loading ??= load(options.threads ?? true).catch((error: unknown) => {
    loading = undefined;
    throw new EdgefleetError('EP_UNAVAILABLE', `LiteRT wasm did not load: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  });
  return loading;
}

async function load(threads: boolean): Promise<LiteRtRuntime> {
  let log: string[] = [];
  const lib = await import('@litertjs/core');
  const relaxedSimd = await lib.supportsFeature('relaxedSimd');
  const threaded = threads && relaxedSimd && (await lib.supportsFeature('threads'));
  let aborted: string | undefined;
  const removeShims = installEmscriptenShims({ onRuntimeLog: (line) => log.push(line), onAbort: (what) => (aborted = String(what)) });
  try {
    await quietWebGpuProbe(() => lib.loadLiteRt(`${join(packageDir(), 'wasm')}/`, { threads: threaded }));
  } finally {
    removeShims();
  }
  let turn: Promise<unknown> = Promise.resolve();
  return {
    lib,
    build: threaded ? 'threaded' : relaxedSimd ? 'simd' : 'compat',
    version: liteRtInfo().version,
    abortReason: () => aborted,
    logged<T>(task: () => Promise<T>) {
      const run = turn.then(async () => {
        log = [];
        const [result] = await Promise.allSettled([task()]);
        const lines = log;
        log = [];
        return { result, log: lines };
      });
      turn = run;
      return run;
    },
  };
}

/**
 * loadLiteRt() always probes `navigator.gpu` for a WebGPU device and console.warns when there is
 * none, which on Node is always; the CPU path never uses it. Only that one warning is held back.
 */
async function quietWebGpuProbe<T>(load: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('Failed to create default WebGPU device')) return;
    warn(...args);
  };
  try {
    return await load();
  } finally {
    console.warn = warn;
  }
}
