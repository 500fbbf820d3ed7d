/**
 * The agent's local serving API (TF Serving REST, KServe v2 with binary tensors, Prometheus).
 *
 * @example
 *   const api = createApiServer({ runtime, logger, host: config.api.host, port: config.api.port, maxBodyBytes: config.api.maxBodyBytes });
 *   await api.listen();
 *   api.setReady(true);
 */
export { createApiServer, type ApiServer, type CreateApiServerOptions } from './server.js';
export { createInferenceMetrics, type InferenceMetrics } from './metrics.js';
export { kserveInfer, splitBinaryBody, type KserveInferOptions, type KserveInferReply } from './kserve-infer.js';
