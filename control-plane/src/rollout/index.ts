/** The rollout engine (issue 7): planning, gates, per-device states, schedules, engine, operations. */
export * from './ports.js';
export * from './planner.js';
export * from './gates.js';
export * from './device-state.js';
export * from './schedule.js';
export * from './compatibility.js';
export * from './steps.js';
export * from './rollout-store.js';
export * from './engine.js';
export * from './rollout-operations.js';
export * from './rollout-service.js';
export * from './views.js';
export * from './routes.js';
export * from './rollout-plugin.js';
export * from './rollout-cli.js';
export * from './wire.js';
export * from './rollout-wait.js';
