import { EdgefleetError } from '@edgefleet/shared';
import type { ControlPlanePlugin } from '../plugin.js';
import { ROLLOUT_COHORTS, TELEMETRY_SERVICE } from '../plugin-services.js';
import type { CohortHealthSource } from './cohort-health.js';
import { TELEMETRY_MIGRATIONS } from './migrations.js';
import { telemetryRoutes, type DeviceResolver } from './telemetry-routes.js';
import { createTelemetryService, type TelemetryService, type TelemetryServiceOptions } from './telemetry-service.js';

export interface TelemetryPluginOptions extends Pick<TelemetryServiceOptions, 'retention' | 'retentionIntervalMs' | 'flushIntervalMs' | 'maxBatchesPerTransaction' | 'availabilitySlotMs'> {
  /** Devices of a rollout, for `?rolloutId=` queries. @default the rollout plugin's ROLLOUT_COHORTS service */
  rolloutCohort?: DeviceResolver['rolloutCohort'];
  /** Called once the service runs (tests, benchmarks); other plugins use ctx.services instead. */
  onReady?: (telemetry: TelemetryService & CohortHealthSource) => void;
}

/**
 * Telemetry as a control-plane plugin (add `telemetryPlugin()` to builtinPlugins in plugins.ts):
 * its own tables in the `telemetry` namespace, ingestion from `bus.on('telemetry')`, gauges on the
 * control plane's registry, and the /api/v1/telemetry routes. Publishes its TelemetryService as
 * TELEMETRY_SERVICE (the rollout plugin gates waves on its cohort health); rollout cohorts come
 * from the rollout plugin's ROLLOUT_COHORTS service, looked up per query, never from its tables.
 */
export function telemetryPlugin(options: TelemetryPluginOptions = {}): ControlPlanePlugin {
  return {
    name: 'telemetry',
    async start(ctx) {
      const sql = await ctx.store.tables('telemetry', TELEMETRY_MIGRATIONS);
      const telemetry = createTelemetryService({
        ...options,
        // Migrated above; the service's own migrate (for callers without a control plane) is then a no-op.
        store: { sql, migrate: async (namespace, steps) => void (await ctx.store.tables(namespace, steps)) },
        bus: ctx.bus,
        registry: ctx.metrics.registry,
        logger: ctx.logger,
        now: () => ctx.clock.now().getTime(),
        singleton: ctx.lease,
      });
      await telemetry.start();
      ctx.services.provide(TELEMETRY_SERVICE, telemetry, 'telemetry');
      const resolver: DeviceResolver = {
        listDevices: async () => (await ctx.devices.list()).map((d) => ({ id: d.id, tags: d.tags })),
        rolloutCohort:
          options.rolloutCohort ??
          (async (rolloutId, wave) => {
            // Resolved per query: the rollout plugin starts after this one (and may not run at all).
            const cohorts = ctx.services.find(ROLLOUT_COHORTS);
            if (!cohorts) throw new EdgefleetError('BAD_REQUEST', 'rollout cohorts are not available on this server (no rollout engine)');
            return await cohorts.cohort(rolloutId, wave);
          }),
      };
      for (const route of telemetryRoutes({ telemetry, resolver, now: () => ctx.clock.now().getTime() })) ctx.api.route(route);
      options.onReady?.(telemetry);
      return { stop: () => telemetry.stop() };
    },
  };
}
