import { EdgefleetError } from '@edgefleet/shared';
import type { InferenceRuntime, InferResult, LoadedVersion, Tensor } from '../inference/runtime-port.js';
import type { ModelStats } from './model-stats.js';

/**
 * The one inference path behind every protocol (KServe v2 REST and gRPC, TF Serving REST and
 * gRPC, the MQTT `infer` command): a codec turns its request into tensors and the result into its
 * reply; model resolution (version, label, `active`), input validation, admission (the runtime's
 * bounded queue and deadline), the EP and the run itself are the runtime's, the same for all.
 */

/** How a request names the version: a version, a label, or neither (the `active` label). */
export interface ModelAddress {
  version?: string;
  label?: string;
}

export interface DecodedRequest {
  inputs: Tensor[];
  /** Outputs asked for; all when absent. */
  outputs?: string[];
}

export interface InferCall<T, D extends DecodedRequest = DecodedRequest> {
  model: string;
  address: ModelAddress;
  /** The protocol's request as tensors; `described` is the addressed version (TF Serving needs its input names). */
  decode(described: LoadedVersion): D;
  /** The protocol's reply. */
  encode(result: InferResult, request: D): T;
  signal?: AbortSignal;
}

export interface InferPathDeps {
  runtime: InferenceRuntime;
  /**
   * Triton statistics: required, so no protocol's requests (the MQTT `infer` command's included)
   * can go uncounted; the agent hands the same table to its local API and its command handler.
   */
  stats: ModelStats;
}

const nsSince = (start: bigint): number => Number(process.hrtime.bigint() - start);

/**
 * The addressed version's specs, or the precise error: unknown model, version or label, still
 * loading, no active version (the runtime's own resolution names it).
 */
export async function describeAddressed(runtime: InferenceRuntime, model: string, address: ModelAddress): Promise<LoadedVersion> {
  const described = runtime.describe(model, address.version ?? address.label);
  if (described) return described;
  await runtime.infer(model, [], address);
  throw new EdgefleetError('MODEL_NOT_READY', `model ${model} is not ready`);
}

/** Triton counts a request's batch as the first dimension where the model's first dimension is variable. */
function batchOf(described: LoadedVersion, inputs: readonly Tensor[]): number {
  const first = inputs[0];
  const spec = described.inputs.find((s) => s.name === first?.name);
  return first && spec && (spec.shape[0] ?? 0) < 0 && first.shape.length > 0 ? first.shape[0]! : 1;
}

export async function runInference<T, D extends DecodedRequest = DecodedRequest>(deps: InferPathDeps, call: InferCall<T, D>): Promise<{ reply: T; result: InferResult }> {
  const started = process.hrtime.bigint();
  const { runtime, stats } = deps;
  let described: LoadedVersion | undefined;
  try {
    described = await describeAddressed(runtime, call.model, call.address);
    const request = call.decode(described);
    const inputNs = nsSince(started);
    // The address, not described.version: an `active` label is resolved again at enqueue time, so
    // a swap between describe() and infer() cannot send this request to a version being unloaded.
    const result = await runtime.infer(call.model, request.inputs, {
      ...(call.address.version !== undefined ? { version: call.address.version } : {}),
      ...(call.address.label !== undefined ? { label: call.address.label } : {}),
      ...(request.outputs ? { outputs: request.outputs } : {}),
      ...(call.signal ? { signal: call.signal } : {}),
    });
    const encodeStart = process.hrtime.bigint();
    const reply = call.encode(result, request);
    stats.success({
      model: call.model,
      version: result.version,
      batch: batchOf(described, request.inputs),
      totalNs: nsSince(started),
      queueNs: result.queueMs * 1e6,
      inputNs,
      inferNs: result.computeMs * 1e6,
      outputNs: nsSince(encodeStart),
    });
    return { reply, result };
  } catch (error) {
    if (described) stats.failure(call.model, described.version, nsSince(started));
    throw error;
  }
}
