/**
 * REST bodies shared by the control plane's server, its CLI and its dashboard, and the agent's
 * local serving API (kserve.ts). Each resource gets its own file here (devices.ts, models.ts,
 * tokens.ts, rollouts.ts, rollout-wait.ts, telemetry.ts, kserve.ts).
 */
export {};
export * from './rollouts.js';
export * from './common.js';
export * from './devices.js';
export * from './models.js';
export * from './tokens.js';
export * from './telemetry.js';
export * from './kserve.js';
export * from './rollout-wait.js';
export * from './variants.js';
export * from './provisioning.js';
