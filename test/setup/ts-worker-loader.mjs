/**
 * Lets worker threads started by code under test run TypeScript, as vitest runs the code itself.
 * vitest transforms the modules of a test, but a `new Worker(url)` is plain Node (20: no TypeScript),
 * so the agent's inference worker (agent/src/inference/worker/session-worker.ts) would not load from
 * source. vitest.config.ts passes this file in `execArgv`; worker threads inherit it.
 */
import { register } from 'node:module';

register('./ts-worker-hooks.mjs', import.meta.url);
