/**
 * The agent's local serving API: TF Serving REST, KServe v2 with binary tensors and Triton's HTTP
 * extensions, Prometheus. The gRPC listener (KServe v2 / Triton and TF Serving services, in front of
 * the same inference path) is its own entry, ./grpc/index.js, not re-exported here: @grpc/grpc-js and
 * protobufjs cost the idle agent ~4 MB, so main.ts imports it only when inference.grpcPort is not 0.
 *
 * @example
 *   const api = createApiServer({ runtime, logger, host: config.api.host, port: config.api.port, maxBodyBytes: config.api.maxBodyBytes });
 *   await api.listen();
 *   const { createGrpcServer } = await import('./grpc/index.js');
 *   const grpc = createGrpcServer({ context: api.context, host: config.api.host, port: config.inference.grpcPort });
 *   await grpc.listen();
 *   api.setReady(true);
 */
export { createApiServer, type ApiServer, type CreateApiServerOptions } from './server.js';
export { createInferenceMetrics, type InferenceMetrics } from './metrics.js';
export { kserveInfer, splitBinaryBody, type KserveInferOptions, type KserveInferReply } from './kserve-infer.js';
export type { ServingContext } from './route-context.js';
export { createModelStats, type ModelStats, type ModelStatistics } from './model-stats.js';
