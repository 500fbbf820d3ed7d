import type { ControlPlaneContext } from './control-plane.js';

/**
 * How other concerns (telemetry, rollouts, dashboard) join the control plane. `start` runs after the
 * store, broker connection, registries and desired-state publisher are up and before HTTP listens:
 * add routes with `ctx.api.route(defineRoute({...}))` or `ctx.api.app`, listen to devices with
 * `ctx.bus.on(channel, handler)`. Plugins stop in reverse order, before the core closes.
 *
 * Tables (issue 16): a plugin owns its tables — its migrations in its own namespace
 * (`ctx.store.migrate(namespace, steps)`) and a typed repository module over `ctx.store.sql` that
 * only it uses. It never reads or migrates another plugin's tables: it uses the service that
 * plugin publishes in `ctx.services` (plugin-services.ts). A plugin needing another's service at
 * start looks it up with `ctx.services.need(key, name)`, which fails with a clear error when that
 * plugin is absent or listed after it (e.g. rollouts need telemetry's cohort health); one that
 * uses it only now and then resolves it at use time with `find` (telemetry's `?rolloutId=`
 * queries, answered while the rollout plugin runs). Every repository joins `ctx.store.transaction`.
 */
export interface ControlPlanePlugin {
  name: string;
  start(ctx: ControlPlaneContext): Promise<PluginHandle | void>;
}

export interface PluginHandle {
  stop(): Promise<void>;
}
