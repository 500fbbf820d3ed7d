import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { ServingContext } from '../route-context.js';
import { kserveHandlers } from './kserve-service.js';
import { loadProtoRoot } from './proto-root.js';
import { serviceDefinition } from './service-definition.js';
import { tfServingHandlers } from './tf-serving-service.js';
import { implement, type UnaryLogger } from './unary.js';

export interface CreateGrpcServerOptions {
  /** The HTTP API server's context (`api.context`): the same runtime, metrics, statistics and readiness. */
  context: ServingContext;
  /** @default 127.0.0.1 */
  host?: string;
  /** 0 picks a free port. @default 8500 */
  port?: number;
  logger?: UnaryLogger;
}

export interface GrpcServer {
  /** Binds and serves; resolves with the bound address. */
  listen(): Promise<{ host: string; port: number; address: string }>;
  /** Stops accepting, lets in-flight calls finish for at most `deadlineMs`, then cancels the rest. */
  close(deadlineMs?: number): Promise<void>;
}

/**
 * The agent's gRPC listener: KServe v2 `inference.GRPCInferenceService` (with Triton's
 * ModelConfig, ModelStatistics, RepositoryIndex) and TF Serving's `tensorflow.serving.PredictionService`
 * and `ModelService`, in front of the same inference path as the HTTP API. Messages over the API's
 * body limit are RESOURCE_EXHAUSTED (grpc-js checks the length prefix before reading the message).
 *
 * @example
 *   const grpc = createGrpcServer({ context: api.context, port: config.inference.grpcPort });
 *   await grpc.listen();
 *   // on shutdown: await grpc.close(deadlineMs);
 */
export function createGrpcServer(options: CreateGrpcServerOptions): GrpcServer {
  const { context } = options;
  const root = loadProtoRoot();
  const server = new Server({
    'grpc.max_receive_message_length': context.maxBodyBytes,
    'grpc.max_send_message_length': -1,
  });
  const tf = tfServingHandlers(context, root);
  server.addService(serviceDefinition(root.lookupService('inference.GRPCInferenceService')), implement(kserveHandlers(context, root), options.logger));
  server.addService(serviceDefinition(root.lookupService('tensorflow.serving.PredictionService')), implement(tf.prediction, options.logger));
  server.addService(serviceDefinition(root.lookupService('tensorflow.serving.ModelService')), implement(tf.model, options.logger));
  const host = options.host ?? '127.0.0.1';

  return {
    listen: () =>
      new Promise((resolve, reject) => {
        const address = `${host.includes(':') ? `[${host}]` : host}:${options.port ?? 8500}`;
        server.bindAsync(address, ServerCredentials.createInsecure(), (error, port) => {
          if (error) reject(error);
          else resolve({ host, port, address: `${host.includes(':') ? `[${host}]` : host}:${port}` });
        });
      }),
    close: (deadlineMs = 5000) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, deadlineMs);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
