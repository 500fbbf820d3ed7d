import { defineConfig } from 'vitest/config';

// Workspace packages export "source" (TypeScript) for tests and "default" (dist) for production.
const conditions = ['source', 'node'];
// Worker threads started by code under test inherit this: it lets them load TypeScript from source (the agent's inference worker).
const tsWorkerLoader = new URL('./test/setup/ts-worker-loader.mjs', import.meta.url).href;

export default defineConfig({
  resolve: { conditions },
  // Only 'source' for externalised deps: adding 'import' there makes require('pg-pool') return an ES module namespace.
  ssr: { resolve: { conditions, externalConditions: ['source'] } },
  test: {
    // Probes the programs and services the suite needs: under CI a missing one fails the run, elsewhere its tests skip loudly.
    globalSetup: ['test/setup/global-setup.ts'],
    execArgv: ['--import', tsWorkerLoader],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // 2-core CI machine: integration tests start brokers, agents and onnxruntime sessions.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['shared/src/**/*.test.ts', 'agent/src/**/*.test.ts', 'control-plane/src/**/*.test.ts', 'eslint/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          fileParallelism: false,
        },
      },
    ],
  },
});
