/**
 * @edgefleet/agent/testing — test doubles for the agent's ports, kept out of the package's public
 * face. Each keeps the contract of the real port (the contract tests in test/integration run both).
 *
 * @example
 *   const factory = createFakeSessionFactory({ eps: { cpu: { runMs: 2 }, cuda: { failStart: 'libcudart.so.12: not found' } } });
 *   const scheduler = createManualScheduler(); await scheduler.fire();
 */
export { createFakeSessionFactory, type FakeEpBehaviour, type FakeSessionFactory, type FakeSessionFactoryOptions } from './inference/fake-session-factory.js';
export { createFakeMetricsSource } from './telemetry/metrics-source.js';
export { createManualScheduler, type ManualScheduler } from './telemetry/scheduler.js';
