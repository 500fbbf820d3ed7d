import type { FastifyInstance, FastifyRequest } from 'fastify';
import { EdgefleetError, tritonRepositoryIndexRequestSchema } from '@edgefleet/shared';
import { modelStatistics, repositoryIndex, tritonModelConfig } from './model-views.js';
import type { RouteContext } from './route-context.js';

interface ModelParams {
  model?: string;
  version?: string;
}

/**
 * Triton's HTTP extensions beside the KServe v2 routes (reference.md §7): model configuration
 * (perf_analyzer will not start without it), statistics and the repository index. Models are
 * loaded by the control plane's desired state, so the repository's load/unload are not served.
 */
export function registerTritonRoutes(app: FastifyInstance, context: RouteContext): void {
  const { runtime } = context;

  const config = async (request: FastifyRequest<{ Params: ModelParams }>) => tritonModelConfig(runtime, request.params.model!, request.params.version);
  app.get('/v2/models/:model/config', config);
  app.get('/v2/models/:model/versions/:version/config', config);

  const stats = async (request: FastifyRequest<{ Params: ModelParams }>) => ({ model_stats: modelStatistics(context, request.params.model, request.params.version) });
  app.get('/v2/models/stats', stats);
  app.get('/v2/models/:model/stats', stats);
  app.get('/v2/models/:model/versions/:version/stats', stats);

  app.post('/v2/repository/index', async (request) => {
    const parsed = tritonRepositoryIndexRequestSchema.safeParse(request.body ?? {});
    if (!parsed.success) throw new EdgefleetError('PAYLOAD_INVALID', `repository index request: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return repositoryIndex(runtime, parsed.data.ready === true);
  });
}
