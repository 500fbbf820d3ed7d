import type { FastifyInstance } from 'fastify';
import { EdgefleetError } from '@edgefleet/shared';
import { runInference } from './infer-path.js';
import { countRejection, type RouteContext } from './route-context.js';
import { parseTfPath, parseTfPredict, tfMetadata, tfPredictResponse, tfStatus } from './tf-serving.js';

/** `/v1/models/{name}[/versions/{v}|/labels/{l}][/metadata|:predict]`, parsed by hand: fastify's router treats `:` as a parameter. */
export function registerTfServingRoutes(app: FastifyInstance, context: RouteContext): void {
  const { runtime } = context;
  const pathOf = (rest: string | undefined, method: string) => {
    const path = parseTfPath(rest ?? '');
    if (!path) throw new EdgefleetError('NOT_FOUND', `not a TensorFlow Serving path: /v1/models/${rest ?? ''}`);
    if ((method === 'POST') !== (path.action === 'predict')) throw new EdgefleetError('NOT_FOUND', `${method} is not served on /v1/models/${rest ?? ''}`);
    return path;
  };

  app.get<{ Params: { '*': string } }>('/v1/models/*', async (request) => {
    const path = pathOf(request.params['*'], 'GET');
    return path.action === 'metadata' ? tfMetadata(runtime, path) : tfStatus(runtime, path);
  });

  app.post<{ Params: { '*': string } }>('/v1/models/*', async (request) => {
    const path = pathOf(request.params['*'], 'POST');
    try {
      const address = path.version !== undefined ? { version: path.version } : path.label !== undefined ? { label: path.label } : {};
      const { reply } = await runInference(context, {
        model: path.model,
        address,
        decode: (described) => parseTfPredict(request.body, described.inputs),
        encode: (result, predict) => tfPredictResponse(predict.format, result),
      });
      return reply;
    } catch (error) {
      return countRejection(context, path.model, error);
    }
  });
}
