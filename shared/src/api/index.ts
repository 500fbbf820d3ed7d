/**
 * REST bodies shared by the control plane's server, its CLI and its dashboard.
 * Each resource gets its own file here (devices.ts, models.ts, tokens.ts, rollouts.ts, telemetry.ts).
 */
export {};
export * from './rollouts.js';
export * from './telemetry.js';
