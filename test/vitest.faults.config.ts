import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// `pnpm test:faults`: the fault campaign (test/faults/). Each case starts real processes, brokers and
// disks, so files run one at a time; EDGEFLEET_FAULTS_LONG=1 selects the long variants.
const conditions = ['source', 'node'];
const long = process.env.EDGEFLEET_FAULTS_LONG === '1';

export default defineConfig({
  root: dirname(dirname(fileURLToPath(import.meta.url))),
  resolve: { conditions },
  // Only 'source' for externalised deps (as in vitest.config.ts): with 'import' there, require('pg-pool') returns an ES module namespace and pg cannot load.
  ssr: { resolve: { conditions, externalConditions: ['source'] } },
  test: {
    name: 'faults',
    include: ['test/faults/**/*.test.ts'],
    globalSetup: ['test/setup/global-setup.ts'],
    // Worker threads started in-process load TypeScript from source (see vitest.config.ts).
    execArgv: ['--import', new URL('./setup/ts-worker-loader.mjs', import.meta.url).href],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: long ? 1_800_000 : 240_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
