import type { ControlPlanePlugin } from '../plugin.js';
import { createRolloutStore } from '../rollout/rollout-store.js';
import type { SqlDatabase } from '../store/sql-database.js';
import type { CohortHealthSource } from './cohort-health.js';
import { telemetryRoutes, type DeviceResolver } from './telemetry-routes.js';
import { createTelemetryService, type TelemetryService, type TelemetryServiceOptions } from './telemetry-service.js';

export interface TelemetryPluginOptions extends Pick<TelemetryServiceOptions, 'retention' | 'retentionIntervalMs' | 'flushIntervalMs' | 'maxBatchesPerTransaction' | 'availabilitySlotMs'> {
  /** Devices of a rollout, for `?rolloutId=` queries. @default read from the rollout engine's tables */
  rolloutCohort?: DeviceResolver['rolloutCohort'];
  /** Called once the service runs, e.g. to hand it to the rollout engine as its CohortHealthSource. */
  onReady?: (telemetry: TelemetryService & CohortHealthSource) => void;
}

/**
 * Telemetry as a control-plane plugin (add `telemetryPlugin()` to builtinPlugins in plugins.ts):
 * tables in the `telemetry` namespace, ingestion from `bus.on('telemetry')`, gauges on the
 * control plane's registry, and the /api/v1/telemetry routes.
 */
export function telemetryPlugin(options: TelemetryPluginOptions = {}): ControlPlanePlugin {
  return {
    name: 'telemetry',
    async start(ctx) {
      const telemetry = createTelemetryService({
        ...options,
        store: ctx.store,
        bus: ctx.bus,
        registry: ctx.metrics.registry,
        logger: ctx.logger,
        now: () => ctx.clock.now().getTime(),
        singleton: ctx.lease,
      });
      await telemetry.start();
      const resolver: DeviceResolver = {
        listDevices: async () => (await ctx.devices.list()).map((d) => ({ id: d.id, tags: d.tags })),
        rolloutCohort: options.rolloutCohort ?? rolloutTablesCohort(ctx.store.sql),
      };
      for (const route of telemetryRoutes({ telemetry, resolver, now: () => ctx.clock.now().getTime() })) ctx.api.route(route);
      options.onReady?.(telemetry);
      return { stop: () => telemetry.stop() };
    },
  };
}

/** A rollout's devices (one wave, or all) from the rollout engine's tables; undefined when unknown or when no rollout engine runs. */
function rolloutTablesCohort(sql: SqlDatabase): NonNullable<DeviceResolver['rolloutCohort']> {
  const rollouts = createRolloutStore(sql);
  return async (rolloutId, wave) => {
    try {
      if (!(await rollouts.getRollout(rolloutId))) return undefined;
      return (await rollouts.getDevices(rolloutId)).filter((d) => wave === undefined || d.wave === wave).map((d) => d.deviceId);
    } catch {
      // No rollout tables: this server runs without the rollout plugin.
      return undefined;
    }
  };
}
