import type { ControlPlaneContext } from './control-plane.js';

/**
 * How other concerns (telemetry, rollouts, dashboard) join the control plane. `start` runs after the
 * store, broker connection, registries and desired-state publisher are up and before HTTP listens:
 * add routes with `ctx.api.route(defineRoute({...}))` or `ctx.api.app`, listen to devices with
 * `ctx.bus.on(channel, handler)`, add tables with `ctx.store.migrate(namespace, steps)`.
 * Plugins stop in reverse order, before the core closes.
 */
export interface ControlPlanePlugin {
  name: string;
  start(ctx: ControlPlaneContext): Promise<PluginHandle | void>;
}

export interface PluginHandle {
  stop(): Promise<void>;
}
