/**
 * Joins the rollout engine to the control plane (issue 7): tables, engine loop, REST + SSE routes.
 * Cohort health comes from the telemetry tables; pass `health` to use another source (tests).
 */
import type { ControlPlaneContext } from '../control-plane.js';
import type { ControlPlanePlugin } from '../plugin.js';
import type { CohortHealthSource } from '../telemetry/cohort-health.js';
import { TELEMETRY_MIGRATIONS } from '../telemetry/migrations.js';
import { createTelemetryService } from '../telemetry/telemetry-service.js';
import { createSseStreams, rolloutRoutes } from './routes.js';
import { createRolloutService, type RolloutService } from './rollout-service.js';
import { rolloutPortsFrom } from './wire.js';

export interface RolloutPluginOptions {
  health?: (ctx: ControlPlaneContext) => CohortHealthSource;
  /** @default 1000 */
  tickIntervalMs?: number;
  /** Called with the running service (tests and the benchmark reach the engine through it). */
  onStarted?: (service: RolloutService) => void;
}

export function rolloutPlugin(options: RolloutPluginOptions = {}): ControlPlanePlugin {
  return {
    name: 'rollouts',
    async start(ctx) {
      // Read-only use of the telemetry tables: the telemetry plugin ingests, this answers cohort queries.
      let health = options.health?.(ctx);
      if (!health) {
        // Idempotent: whichever plugin starts first creates the telemetry tables.
        await ctx.store.migrate('telemetry', TELEMETRY_MIGRATIONS);
        health = createTelemetryService({ store: ctx.store, logger: ctx.logger, now: () => ctx.clock.now().getTime() });
      }
      const service = await createRolloutService({
        sql: ctx.store.sql,
        migrate: (ns, steps) => ctx.store.migrate(ns, steps),
        ports: rolloutPortsFrom({ store: ctx.store, bus: ctx.bus, desired: ctx.desired, models: ctx.models, health, clock: ctx.clock }),
        tickIntervalMs: options.tickIntervalMs ?? 1000,
        onError: (err) => ctx.logger.error({ err }, 'rollout reconcile failed'),
        lease: ctx.lease,
      });
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
