import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { compileFunction } from 'node:vm';
import type * as WorkerThreads from 'node:worker_threads';

/**
 * @litertjs/core is written for browsers and workers: its loader calls `importScripts(url)` (or
 * appends a <script>) to evaluate the emscripten glue, then reads `self.ModuleFactory`. On Node we
 * give it exactly those two globals; the glue itself detects Node and reads its .wasm with node:fs,
 * so nothing is fetched. The glue is CommonJS inside a `"type": "module"` package, hence the
 * evaluation with our own require/module instead of `require()`.
 */
export interface EmscriptenShimOptions {
  /** Lines the wasm runtime prints (its stdout and stderr); dropped when absent. */
  onRuntimeLog?: (line: string) => void;
  /** The wasm runtime aborted (a trap in a kernel): it is unusable from then on, in this process. */
  onAbort?: (what: unknown) => void;
}

type GlueScope = typeof globalThis & {
  self?: unknown;
  importScripts?: (url: string | URL) => void;
  ModuleFactory?: unknown;
  Module?: unknown;
};

/**
 * Installs `self` and `importScripts` for one load of the package; the returned function removes
 * them again, so that no library in the process later takes Node for a web worker.
 */
export function installEmscriptenShims(options: EmscriptenShimOptions = {}): () => void {
  const scope = globalThis as GlueScope;
  const hadSelf = 'self' in scope;
  scope.self ??= globalThis;
  const log = options.onRuntimeLog ?? (() => {});
  scope.importScripts = (url) => {
    const file = url instanceof URL || String(url).startsWith('file:') ? new URL(url).pathname : String(url);
    scope.ModuleFactory = evaluateGlue(file);
    // The loader passes `self.Module` to the factory as its module arguments (then clears it).
    scope.Module = { print: log, printErr: log, onAbort: options.onAbort, mainScriptUrlOrBlob: pthreadEntryUrl(file) };
  };
  return () => {
    delete scope.importScripts;
    delete scope.ModuleFactory;
    delete scope.Module;
    if (!hadSelf) delete scope.self;
  };
}

/**
 * Evaluates an emscripten glue file as CommonJS and returns what it exports (its ModuleFactory).
 * The threaded glue sizes its pthread pool from `navigator.hardwareConcurrency`, which Node 20 has
 * no global for: the glue gets its own `navigator` binding rather than a global that would tell
 * other libraries in the process that they run in a browser.
 */
function evaluateGlue(file: string): unknown {
  const module = { exports: {} as unknown };
  const run = compileFunction(readFileSync(file, 'utf8'), ['require', '__filename', '__dirname', 'module', 'exports', 'navigator'], { filename: file });
  run(glueRequire(file), file, dirname(file), module, module.exports, { hardwareConcurrency: availableParallelism() });
  return module.exports;
}

/**
 * The glue starts each pthread as `new Worker(mainScriptUrlOrBlob)`; Node takes a data: URL only as
 * a URL object, so the worker_threads the glue sees wraps the string.
 */
function glueRequire(file: string): (id: string) => unknown {
  const require = createRequire(file);
  return (id) => {
    if (id !== 'node:worker_threads' && id !== 'worker_threads') return require(id);
    const threads = require('node:worker_threads') as typeof WorkerThreads;
    class PthreadWorker extends threads.Worker {
      constructor(script: string | URL, options?: WorkerThreads.WorkerOptions) {
        super(typeof script === 'string' && script.startsWith('data:') ? new URL(script) : script, options);
      }
    }
    return { ...threads, Worker: PthreadWorker };
  };
}

/**
 * The pthread worker's entry: the same glue, evaluated the same way (the glue starts itself when
 * workerData is 'em-pthread'). A data: URL so that no extra file has to ship beside the build.
 */
function pthreadEntryUrl(glueFile: string): string {
  const source = `
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { compileFunction } from 'node:vm';
import * as threads from 'node:worker_threads';
const file = ${JSON.stringify(glueFile)};
globalThis.self ??= globalThis;
const require = createRequire(file);
const module = { exports: {} };
compileFunction(readFileSync(file, 'utf8'), ['require', '__filename', '__dirname', 'module', 'exports', 'navigator'], { filename: file })(
  (id) => (id === 'node:worker_threads' || id === 'worker_threads' ? threads : require(id)), file, dirname(file), module, module.exports,
  { hardwareConcurrency: availableParallelism() });
`;
  return `data:text/javascript,${encodeURIComponent(source)}`;
}
