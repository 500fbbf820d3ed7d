import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type RawRequestDefaultExpression } from 'fastify';
import { EdgefleetError, isEdgefleetError, toEdgefleetError } from '@edgefleet/shared';
import type { InferenceRuntimeWithEvents } from '../inference/runtime.js';
import type { InferenceRuntime } from '../inference/runtime-port.js';
import { INFERENCE_HEADER_LENGTH, readBinaryBody } from './binary-body.js';
import { createBodyPool } from './body-pool.js';
import { registerKserveRoutes } from './kserve-routes.js';
import { createInferenceMetrics, type InferenceMetrics } from './metrics.js';
import { createModelStats, type ModelStats } from './model-stats.js';
import type { ServingContext } from './route-context.js';
import { registerTfServingRoutes } from './tf-serving-routes.js';
import { registerTritonRoutes } from './triton-routes.js';

export interface CreateApiServerOptions {
  runtime: InferenceRuntime | InferenceRuntimeWithEvents;
  /** A pino logger (the agent's); default silent. */
  logger?: FastifyBaseLogger;
  /** @default 127.0.0.1 */
  host?: string;
  /** 0 picks a free port. @default 8501 */
  port?: number;
  /** Largest request body. @default 64 MiB */
  maxBodyBytes?: number;
  /** Initial server readiness (`/v2/health/ready`); the daemon flips it with setReady(). @default false */
  ready?: boolean;
  /** Node's default process metrics in /metrics. @default true */
  defaultMetrics?: boolean;
  /** Reported by `GET /v2`. */
  version?: string;
  /**
   * Triton statistics to count into and serve: the agent's (`agent.parts.stats`), which its MQTT
   * `infer` command counts into too. A fresh table when absent (an API without an agent).
   */
  stats?: ModelStats;
}

export interface ApiServer {
  /** The fastify instance (tests use `app.inject`). */
  readonly app: FastifyInstance;
  readonly metrics: InferenceMetrics;
  /** The runtime, metrics, statistics and readiness every protocol front end shares (hand it to createGrpcServer). */
  readonly context: ServingContext;
  /** Starts listening; resolves with the bound address. */
  listen(): Promise<{ host: string; port: number; url: string }>;
  /** Stops accepting, waits for in-flight requests, closes. */
  close(): Promise<void>;
  /**
   * Server readiness for `/v2/health/ready`: the daemon sets it once it has reconciled (models it
   * expects are active) and clears it when draining. Model readiness comes from the runtime labels.
   */
  setReady(ready: boolean): void;
  isReady(): boolean;
}

/** Oversize bodies up to this many times the limit are read and discarded after their 413 (see the onRequest hook). */
const OVERSIZE_DISCARD_FACTOR = 8;

/** Error body of both dialects: `{"error": "..."}`, plus the stable code for scripts. */
export function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  const e = toEdgefleetError(error);
  return reply.code(e.status).type('application/json').send({ error: e.message, code: e.code });
}

/**
 * The agent's local serving API: TensorFlow Serving REST (`/v1/models/...`), KServe v2
 * (`/v2/...`, JSON and binary tensors) and Prometheus `/metrics`.
 *
 * @example
 *   const api = createApiServer({ runtime, logger: log.logger, host: config.api.host, port: config.api.port, maxBodyBytes: config.api.maxBodyBytes });
 *   await api.listen();
 *   api.setReady(true);
 *   // on shutdown: api.setReady(false); await api.close();
 */
export function createApiServer(options: CreateApiServerOptions): ApiServer {
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024 * 1024;
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: maxBodyBytes,
    // One log line per inference would drown the journal; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // TF Serving paths put a colon after the model name (`/v1/models/m:predict`).
    routerOptions: { ignoreTrailingSlash: true },
  });
  // A body announced over the limit is refused before it is read, on a connection kept open: Node
  // then reads and discards the rest, so the client gets to read its 413. fastify's own check closes
  // the connection while the body is still arriving, and the reset that unread data causes can reach
  // the client before the reply (seen as "no reply" in the HTTP fuzz case). Beyond a few times the
  // limit, discarding costs more than it is worth: those still get fastify's closing 413.
  app.addHook('onRequest', (request, reply, done) => {
    const length = Number(request.headers['content-length']);
    if (Number.isFinite(length) && length > maxBodyBytes && length <= maxBodyBytes * OVERSIZE_DISCARD_FACTOR) {
      void sendError(reply, new EdgefleetError('PAYLOAD_TOO_LARGE', `request body over ${maxBodyBytes} bytes`));
      return;
    }
    done();
  });
  const runtime = options.runtime;
  const metrics = createInferenceMetrics(runtime, { defaultMetrics: options.defaultMetrics ?? true });
  const unsubscribe = 'subscribe' in runtime ? runtime.subscribe((event) => metrics.observe(event)) : () => undefined;
  let ready = options.ready ?? false;
  const bodyPool = createBodyPool();

  app.addContentTypeParser('application/octet-stream', (request: FastifyRequest, payload: RawRequestDefaultExpression) => {
    const length = Number(request.headers['content-length']);
    return readBinaryBody(payload, {
      contentLength: Number.isSafeInteger(length) && length >= 0 ? length : undefined,
      headerLength: Number(request.headers[INFERENCE_HEADER_LENGTH] ?? 0),
      maxBytes: maxBodyBytes,
      allocate: (byteLength) => bodyPool.acquire(byteLength),
    });
  });

  app.setErrorHandler((error: unknown, _request, reply) => {
    if (isEdgefleetError(error)) return sendError(reply, error);
    const fastifyError = error as { statusCode?: number; code?: string; message?: string };
    const status = fastifyError.statusCode ?? 500;
    if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, new EdgefleetError('PAYLOAD_TOO_LARGE', `request body over ${maxBodyBytes} bytes`));
    if (status >= 400 && status < 500) {
      const code = fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'BAD_REQUEST' : 'PAYLOAD_INVALID';
      return reply.code(status).send({ error: fastifyError.message ?? 'bad request', code });
    }
    app.log.error({ err: error }, 'local API request failed');
    return sendError(reply, error);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, new EdgefleetError('NOT_FOUND', `no route ${request.method} ${request.url}`)));

  const context: ServingContext = { runtime, metrics, stats: options.stats ?? createModelStats(), bodyPool, isReady: () => ready, version: options.version ?? '0.0.0', maxBodyBytes };
  registerTfServingRoutes(app, context);
  registerKserveRoutes(app, context);
  registerTritonRoutes(app, context);
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  return {
    app,
    metrics,
    context,
    async listen() {
      const host = options.host ?? '127.0.0.1';
      await app.listen({ host, port: options.port ?? 8501 });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : (options.port ?? 8501);
      return { host, port, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}` };
    },
    async close() {
      ready = false;
      unsubscribe();
      await app.close();
    },
    setReady(value) {
      ready = value;
    },
    isReady: () => ready,
  };
}
