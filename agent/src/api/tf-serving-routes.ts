import type { FastifyInstance } from 'fastify';
import { EdgefleetError } from '@edgefleet/shared';
import { countRejection, type RouteContext } from './server.js';
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
      const described = runtime.describe(path.model, path.version ?? path.label);
      if (!described) {
        // Let the runtime name the precise problem (unknown model, version, label, not active).
        await runtime.infer(path.model, [], { ...(path.version !== undefined ? { version: path.version } : {}), ...(path.label !== undefined ? { label: path.label } : {}) });
        throw new EdgefleetError('MODEL_NOT_READY', `model ${path.model} is not ready`);
      }
      const predict = parseTfPredict(request.body, described.inputs);
      // No version in the path: the `active` label is resolved at enqueue time, so a swap between
      // describe() and infer() cannot send this request to a version being unloaded.
      const address = path.version !== undefined ? { version: path.version } : path.label !== undefined ? { label: path.label } : {};
      const result = await runtime.infer(path.model, predict.inputs, address);
      return tfPredictResponse(predict.format, result);
    } catch (error) {
      return countRejection(context, path.model, error);
    }
  });
}
