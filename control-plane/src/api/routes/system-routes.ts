import { healthSchema, type Health } from '@edgefleet/shared';
import type { ApiServer } from '../api-server.js';
import type { ControlPlaneMetrics } from '../metrics.js';

/** /healthz and /metrics live at the root, where probes and Prometheus expect them, without auth. */
export function systemRoutes(api: ApiServer, deps: { metrics: ControlPlaneMetrics; health: () => Health }): void {
  api.app.get('/healthz', async (_request, reply) => {
    const health = healthSchema.parse(deps.health());
    return reply.code(health.status === 'ok' && health.broker.connected ? 200 : 503).send(health);
  });
  api.app.get('/metrics', async (_request, reply) => {
    for (const refresh of deps.metrics.beforeScrape) await refresh();
    return reply.header('content-type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  api.app.addHook('onResponse', async (request, reply) => {
    deps.metrics.httpRequests.inc({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) });
  });
}
