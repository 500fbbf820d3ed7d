import type { ControlPlaneContext } from './control-plane.js';
import type { Store } from './store/store.js';

/**
 * How other concerns (telemetry, rollouts, dashboard) join the control plane. `start` runs after the
 * store, broker connection, registries and desired-state publisher are up and before HTTP listens:
 * add routes with `ctx.api.route(defineRoute({...}))` or `ctx.api.app`, listen to devices with
 * `ctx.bus.on(channel, handler)`. Plugins stop in reverse order, before the core closes.
 *
 * Tables (issue 16): a plugin owns its tables — `ctx.store.tables(namespace, migrations)` applies
 * its migrations in its own namespace and hands back the database for the typed repository module
 * that only it uses (plugins get no other raw SQL handle). It never reads or migrates another plugin's tables: it uses the service that
 * plugin publishes in `ctx.services` (plugin-services.ts). A plugin needing another's service at
 * start looks it up with `ctx.services.need(key, name)`, which fails with a clear error when that
 * plugin is absent or listed after it (e.g. rollouts need telemetry's cohort health); one that
 * uses it only now and then resolves it at use time with `find` (telemetry's `?rolloutId=`
 * queries, answered while the rollout plugin runs). Every repository joins `ctx.store.transaction`.
 */
/** The store as plugins see it: the core repositories, the unit of work, and their own tables. */
export type PluginStore = Omit<Store, 'sql' | 'migrate'>;

/** What a plugin's start receives: the control plane, with the store narrowed to PluginStore. */
export type PluginContext = Omit<ControlPlaneContext, 'store'> & { readonly store: PluginStore };

export interface ControlPlanePlugin {
  name: string;
  start(ctx: PluginContext): Promise<PluginHandle | void>;
}

export interface PluginHandle {
  stop(): Promise<void>;
}
