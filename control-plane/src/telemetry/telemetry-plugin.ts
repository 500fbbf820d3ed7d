import type { ControlPlanePlugin } from '../plugin.js';
import type { CohortHealthSource } from './cohort-health.js';
import { telemetryRoutes, type DeviceResolver } from './telemetry-routes.js';
import { createTelemetryService, type TelemetryService, type TelemetryServiceOptions } from './telemetry-service.js';

export interface TelemetryPluginOptions extends Pick<TelemetryServiceOptions, 'retention' | 'retentionIntervalMs' | 'flushIntervalMs' | 'maxBatchesPerTransaction' | 'availabilitySlotMs'> {
  /** Devices of a rollout, for `?rolloutId=` queries (the rollout plugin supplies it). */
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
      });
      await telemetry.start();
      const resolver: DeviceResolver = {
        listDevices: async () => (await ctx.devices.list()).map((d) => ({ id: d.id, tags: d.tags })),
        ...(options.rolloutCohort ? { rolloutCohort: options.rolloutCohort } : {}),
      };
      for (const route of telemetryRoutes({ telemetry, resolver, now: () => ctx.clock.now().getTime() })) ctx.api.route(route);
      options.onReady?.(telemetry);
      return { stop: () => telemetry.stop() };
    },
  };
}
