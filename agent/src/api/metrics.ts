import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { InferenceRuntime } from '../inference/runtime-port.js';
import type { RuntimeEvent } from '../inference/runtime.js';

/**
 * Prometheus metrics for the local API: Triton's names (reference.md §1) with the execution
 * provider as an extra label, plus histograms, model load time, EP fallbacks and Node's default
 * process metrics (event-loop lag included). A registry per server: no global state between tests.
 */
export interface InferenceMetrics {
  registry: Registry;
  /** Feed one runtime event (the server subscribes this to the runtime). */
  observe(event: RuntimeEvent): void;
  /** A request rejected before it reached a model version (bad input, unknown model...). */
  rejected(model: string, reason: string): void;
}

const US = 1000;

export function createInferenceMetrics(runtime: InferenceRuntime, options: { defaultMetrics?: boolean } = {}): InferenceMetrics {
  const registry = new Registry();
  const labels = ['model', 'version', 'ep'] as const;
  const success = new Counter({ name: 'nv_inference_request_success', help: 'Successful inference requests', labelNames: labels, registers: [registry] });
  const failure = new Counter({ name: 'nv_inference_request_failure', help: 'Failed inference requests by reason (error code)', labelNames: [...labels, 'reason'], registers: [registry] });
  const count = new Counter({ name: 'nv_inference_count', help: 'Inferences performed (a batch of n counts n)', labelNames: labels, registers: [registry] });
  const execCount = new Counter({ name: 'nv_inference_exec_count', help: 'Model executions (session.run calls)', labelNames: labels, registers: [registry] });
  const requestUs = new Counter({ name: 'nv_inference_request_duration_us', help: 'Cumulative end-to-end inference time (queue + compute), microseconds', labelNames: labels, registers: [registry] });
  const queueUs = new Counter({ name: 'nv_inference_queue_duration_us', help: 'Cumulative time requests waited in the queue, microseconds', labelNames: labels, registers: [registry] });
  const computeUs = new Counter({ name: 'nv_inference_compute_infer_duration_us', help: 'Cumulative session.run time, microseconds', labelNames: labels, registers: [registry] });
  const buckets = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];
  const queueHist = new Histogram({ name: 'edgefleet_inference_queue_duration_seconds', help: 'Time requests waited in the queue', labelNames: labels, buckets, registers: [registry] });
  const computeHist = new Histogram({ name: 'edgefleet_inference_compute_duration_seconds', help: 'session.run time', labelNames: labels, buckets, registers: [registry] });
  const loadHist = new Histogram({
    name: 'edgefleet_model_load_duration_seconds',
    help: 'Model version load time (EP probing, benchmark and warm-up included)',
    labelNames: ['model', 'ep'],
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  });
  const fallbacks = new Counter({ name: 'edgefleet_ep_fallbacks_total', help: 'Execution providers that failed to start before one did', labelNames: ['model', 'ep'], registers: [registry] });
  new Gauge({
    name: 'nv_inference_pending_request_count',
    help: 'Requests queued or running',
    labelNames: labels,
    registers: [registry],
    collect() {
      this.reset();
      for (const model of runtime.models()) {
        for (const s of runtime.status(model)) if (s.ep) this.set({ model, version: s.version, ep: s.ep }, s.pending ?? 0);
      }
    },
  });
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });

  const metrics: InferenceMetrics = {
    registry,
    observe(event) {
      switch (event.type) {
        case 'request': {
          const l = { model: event.model, version: event.version, ep: event.ep };
          if (!event.ok) {
            failure.inc({ ...l, reason: event.reason ?? 'INFERENCE_FAILED' });
            return;
          }
          success.inc(l);
          execCount.inc(l);
          count.inc(l, event.batch ?? 1);
          requestUs.inc(l, (event.queueMs + event.computeMs) * US);
          queueUs.inc(l, event.queueMs * US);
          computeUs.inc(l, event.computeMs * US);
          queueHist.observe(l, event.queueMs / 1000);
          computeHist.observe(l, event.computeMs / 1000);
          return;
        }
        case 'load':
          loadHist.observe({ model: event.model, ep: event.ep }, event.loadMs / 1000);
          if (event.fallbacks > 0) fallbacks.inc({ model: event.model, ep: event.ep }, event.fallbacks);
          return;
        default:
          return;
      }
    },
    rejected(model, reason) {
      failure.inc({ model, version: '', ep: '', reason });
    },
  };
  // Versions loaded before this registry existed (the daemon may start the API after loading).
  for (const model of runtime.models()) {
    for (const s of runtime.status(model)) {
      const loaded = runtime.describe(model, s.version);
      if (!loaded) continue;
      const fallbacks = loaded.epCandidates.findIndex((c) => c.status === 'selected');
      const failedBefore = loaded.epCandidates.slice(0, Math.max(0, fallbacks)).filter((c) => c.status === 'failed').length;
      metrics.observe({ type: 'load', model, version: s.version, ep: loaded.ep, loadMs: loaded.loadMs, fallbacks: failedBefore, candidates: loaded.epCandidates, cached: false });
    }
  }
  return metrics;
}
