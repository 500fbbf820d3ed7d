/**
 * Triton's statistics extension (`GET /v2/models[/{m}[/versions/{v}]]/stats`, gRPC
 * ModelStatistics): cumulative `{count, ns}` per model version since the agent started, recorded
 * by the one inference path every protocol uses (infer-path.ts).
 *
 * - success / fail: whole requests, from the first byte decoded to the reply encoded;
 * - queue, compute_infer: the runtime's own queue wait and session.run time;
 * - compute_input / compute_output: turning the request into tensors and the result into the
 *   protocol's reply (the agent's share of the work outside session.run);
 * - per batch size: the first dimension of the first input (1 for a model without a batch dimension).
 */
export interface DurationStat {
  count: number;
  ns: number;
}

export interface InferStatistics {
  success: DurationStat;
  fail: DurationStat;
  queue: DurationStat;
  compute_input: DurationStat;
  compute_infer: DurationStat;
  compute_output: DurationStat;
  cache_hit: DurationStat;
  cache_miss: DurationStat;
}

export interface BatchStatistics {
  batch_size: number;
  compute_input: DurationStat;
  compute_infer: DurationStat;
  compute_output: DurationStat;
}

export interface ModelStatistics {
  name: string;
  version: string;
  /** Unix ms of the last request, 0 before the first. */
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: InferStatistics;
  batch_stats: BatchStatistics[];
}

export interface SuccessSample {
  model: string;
  version: string;
  batch: number;
  totalNs: number;
  queueNs: number;
  inputNs: number;
  inferNs: number;
  outputNs: number;
}

export interface ModelStats {
  success(sample: SuccessSample): void;
  failure(model: string, version: string, totalNs: number): void;
  /** Every version seen so far of `model` (all models when undefined), sorted by name then version. */
  snapshot(model?: string, version?: string): ModelStatistics[];
}

const zero = (): DurationStat => ({ count: 0, ns: 0 });
const add = (stat: DurationStat, ns: number): void => {
  stat.count += 1;
  stat.ns += Math.max(0, Math.round(ns));
};

/** A version's statistics before its first request. */
export function emptyStatistics(name: string, version: string): ModelStatistics {
  return {
    name,
    version,
    last_inference: 0,
    inference_count: 0,
    execution_count: 0,
    inference_stats: { success: zero(), fail: zero(), queue: zero(), compute_input: zero(), compute_infer: zero(), compute_output: zero(), cache_hit: zero(), cache_miss: zero() },
    batch_stats: [],
  };
}

export function createModelStats(now: () => number = Date.now): ModelStats {
  const table = new Map<string, ModelStatistics>();
  const entry = (model: string, version: string): ModelStatistics => {
    const key = `${model}\u0000${version}`;
    let e = table.get(key);
    if (!e) {
      e = emptyStatistics(model, version);
      table.set(key, e);
    }
    return e;
  };
  return {
    success(s) {
      const e = entry(s.model, s.version);
      e.last_inference = now();
      e.inference_count += s.batch;
      e.execution_count += 1;
      const stats = e.inference_stats;
      add(stats.success, s.totalNs);
      add(stats.queue, s.queueNs);
      add(stats.compute_input, s.inputNs);
      add(stats.compute_infer, s.inferNs);
      add(stats.compute_output, s.outputNs);
      let batch = e.batch_stats.find((b) => b.batch_size === s.batch);
      if (!batch) {
        batch = { batch_size: s.batch, compute_input: zero(), compute_infer: zero(), compute_output: zero() };
        e.batch_stats.push(batch);
        e.batch_stats.sort((a, b) => a.batch_size - b.batch_size);
      }
      add(batch.compute_input, s.inputNs);
      add(batch.compute_infer, s.inferNs);
      add(batch.compute_output, s.outputNs);
    },
    failure(model, version, totalNs) {
      const e = entry(model, version);
      e.last_inference = now();
      add(e.inference_stats.fail, totalNs);
    },
    snapshot(model, version) {
      return [...table.values()]
        .filter((e) => (model === undefined || e.name === model) && (version === undefined || e.version === version))
        .sort((a, b) => (a.name === b.name ? a.version.localeCompare(b.version) : a.name.localeCompare(b.name)))
        .map((e) => structuredClone(e));
    },
  };
}
