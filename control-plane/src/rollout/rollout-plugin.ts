/**
 * Joins the rollout engine to the control plane (issue 7): its own tables (namespace `rollout`,
 * rollout-store.ts), the engine loop, REST + SSE routes. Cohort health comes from the telemetry
 * plugin's published TelemetryService (list `telemetryPlugin()` before this one; starting without
 * it fails with CONFIG_INVALID), or from `health` (tests). It publishes ROLLOUT_COHORTS, which
 * the telemetry plugin's `?rolloutId=` queries use; nobody else reads the rollout tables.
 */
import type { ControlPlanePlugin, PluginContext } from '../plugin.js';
import { ROLLOUT_COHORTS, TELEMETRY_SERVICE } from '../plugin-services.js';
import type { CohortHealthSource } from '../telemetry/cohort-health.js';
import { createSseStreams, rolloutRoutes } from './routes.js';
import { createRolloutService, type RolloutService } from './rollout-service.js';
import { ROLLOUT_MIGRATIONS } from './rollout-store.js';
import { rolloutPortsFrom } from './wire.js';

export interface RolloutPluginOptions {
  health?: (ctx: PluginContext) => CohortHealthSource;
  /** @default 1000 */
  tickIntervalMs?: number;
  /** Called with the running service (tests and the benchmark reach the engine through it). */
  onStarted?: (service: RolloutService) => void;
}

export function rolloutPlugin(options: RolloutPluginOptions = {}): ControlPlanePlugin {
  return {
    name: 'rollouts',
    async start(ctx) {
      const health = options.health?.(ctx) ?? ctx.services.need(TELEMETRY_SERVICE, 'rollouts');
      const service = await createRolloutService({
        sql: await ctx.store.tables('rollout', ROLLOUT_MIGRATIONS),
        migrate: async (namespace, steps) => void (await ctx.store.tables(namespace, steps)),
        ports: rolloutPortsFrom({ store: ctx.store, bus: ctx.bus, desired: ctx.desired, models: ctx.models, health, clock: ctx.clock }),
        tickIntervalMs: options.tickIntervalMs ?? 1000,
        onError: (err) => ctx.logger.error({ err }, 'rollout reconcile failed'),
        lease: ctx.lease,
      });
      const rollouts = service.engine.store;
      ctx.services.provide(
        ROLLOUT_COHORTS,
        {
          async cohort(rolloutId, wave) {
            if (!(await rollouts.getRollout(rolloutId))) return undefined;
            return (await rollouts.getDevices(rolloutId)).filter((d) => wave === undefined || d.wave === wave).map((d) => d.deviceId);
          },
        },
        'rollouts',
      );
      const streams = createSseStreams();
      for (const route of rolloutRoutes(service, streams)) ctx.api.route(route);
      // Live streams never finish on their own: end them before fastify waits for open connections.
      ctx.api.app.addHook('preClose', (done) => {
        streams.closeAll();
        done();
      });
      await service.engine.start();
      options.onStarted?.(service);
      return { stop: () => service.engine.stop() };
    },
  };
}
