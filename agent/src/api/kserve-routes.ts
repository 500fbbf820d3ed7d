import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EdgefleetError } from '@edgefleet/shared';
import { isKserveDatatype } from '../inference/datatypes.js';
import { INFERENCE_HEADER_LENGTH } from './binary-body.js';
import type { BodyPool } from './body-pool.js';
import { kserveInfer, splitBinaryBody, type KserveInferReply } from './kserve-infer.js';
import { isModelReady, modelMetadata, serverMetadata } from './model-views.js';
import { countRejection, type RouteContext } from './route-context.js';

interface ModelParams {
  model: string;
  version?: string;
}

/** KServe Open Inference Protocol v2 (what Triton speaks), with the binary tensor extension. */
export function registerKserveRoutes(app: FastifyInstance, context: RouteContext): void {
  const { runtime } = context;

  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async (_request, reply) => reply.code(context.isReady() ? 200 : 503).send({ ready: context.isReady() }));
  app.get('/v2', async () => serverMetadata(context));

  const metadata = async (request: FastifyRequest<{ Params: ModelParams }>) => modelMetadata(runtime, request.params.model, request.params.version);
  app.get('/v2/models/:model', metadata);
  app.get('/v2/models/:model/versions/:version', metadata);

  const modelReady = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const { model, version } = request.params;
    const ready = isModelReady(runtime, model, version);
    return reply.code(ready ? 200 : 503).send({ name: model, ...(version !== undefined ? { version } : {}), ready });
  };
  app.get('/v2/models/:model/ready', modelReady);
  app.get('/v2/models/:model/versions/:version/ready', modelReady);

  const infer = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const { model, version } = request.params;
    try {
      const reply_ = await inferFromBody(context, model, version, request);
      recycleBody(context.bodyPool, request.body, reply_.result.inputBuffers);
      if (reply_.binary.length === 0) return reply.type('application/json').send(reply_.header);
      const header = Buffer.from(JSON.stringify(reply_.header), 'utf8');
      // One buffer, one write. Writing the detector's 1.6 MB output map from its parts instead
      // (a stream, or a corked writev on the raw socket) measured no faster, side by side.
      return reply
        .header('Inference-Header-Content-Length', String(header.length))
        .type('application/octet-stream')
        .send(Buffer.concat([header, ...reply_.binary]));
    } catch (error) {
      return countRejection(context, model, error);
    }
  };
  app.post('/v2/models/:model/infer', infer);
  app.post('/v2/models/:model/versions/:version/infer', infer);
}

/**
 * After a successful run nothing refers to the request's body any more: its memory (moved back
 * from the inference worker, or never moved) goes to the pool for the next body of that size.
 */
function recycleBody(pool: BodyPool, body: unknown, inputBuffers: readonly ArrayBuffer[] | undefined): void {
  for (const buffer of inputBuffers ?? []) pool.release(buffer);
  if (Buffer.isBuffer(body) && body.buffer instanceof ArrayBuffer && body.buffer.byteLength > 0) pool.release(body.buffer);
}

async function inferFromBody(context: RouteContext, model: string, version: string | undefined, request: FastifyRequest): Promise<KserveInferReply> {
  const base = { runtime: context.runtime, stats: context.stats, model, ...(version !== undefined ? { version } : {}) };
  const body = request.body;
  if (!Buffer.isBuffer(body)) return kserveInfer({ ...base, body });
  const headerLength = request.headers[INFERENCE_HEADER_LENGTH];
  if (headerLength !== undefined) {
    const { header, binary } = splitBinaryBody(body, Number(headerLength));
    return kserveInfer({ ...base, body: header, binary });
  }
  // Raw octet-stream: the whole body is the only input, shaped as the model declares it.
  return kserveInfer({ ...base, body: rawBodyRequest(context, model, version, body), binary: body });
}

function rawBodyRequest(context: RouteContext, model: string, version: string | undefined, body: Buffer): unknown {
  const described = context.runtime.describe(model, version);
  if (!described) throw new EdgefleetError(context.runtime.status(model).length === 0 ? 'MODEL_NOT_FOUND' : 'MODEL_NOT_READY', `model ${model} is not ready`);
  const [input, ...others] = described.inputs;
  if (!input || others.length > 0) throw new EdgefleetError('BAD_REQUEST', 'a raw octet-stream body needs a single-input model; use the binary tensor extension (Inference-Header-Content-Length)');
  if (input.shape.some((d) => d < 0)) throw new EdgefleetError('BAD_REQUEST', `input ${input.name} has variable dimensions [${input.shape.join(',')}]: use the binary tensor extension to give a shape`);
  if (!isKserveDatatype(input.datatype)) throw new EdgefleetError('BAD_REQUEST', `input ${input.name} has unsupported datatype ${input.datatype}`);
  return { inputs: [{ name: input.name, datatype: input.datatype, shape: input.shape, parameters: { binary_data_size: body.length } }], parameters: { binary_data_output: true } };
}
