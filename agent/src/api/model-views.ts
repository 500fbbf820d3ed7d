import { EdgefleetError, type TensorSpec } from '@edgefleet/shared';
import type { InferenceRuntime, LoadedVersion } from '../inference/runtime-port.js';
import { emptyStatistics, type ModelStatistics } from './model-stats.js';
import type { ServingContext } from './route-context.js';

/**
 * What the KServe v2 / Triton surfaces say about models, protocol-neutral: the HTTP routes send
 * these objects as JSON, the gRPC services as the same-named protobuf messages.
 */

/** Triton extensions the agent serves, on both HTTP and gRPC (`GET /v2`, ServerMetadata). */
export const SERVED_EXTENSIONS = ['binary_tensor_data', 'model_configuration', 'statistics', 'model_repository'] as const;

export function serverMetadata(context: ServingContext): { name: string; version: string; extensions: string[] } {
  return { name: 'edgefleet-agent', version: context.version, extensions: [...SERVED_EXTENSIONS] };
}

/** The loaded version a metadata/config request names, or NOT_FOUND / MODEL_NOT_READY. */
export function describeOrThrow(runtime: InferenceRuntime, model: string, version: string | undefined): LoadedVersion {
  const described = runtime.describe(model, version);
  if (described) return described;
  if (runtime.status(model).length === 0) throw new EdgefleetError('MODEL_NOT_FOUND', `unknown model ${model}`);
  if (version !== undefined) throw new EdgefleetError('MODEL_VERSION_NOT_FOUND', `model ${model} has no loaded version ${version}`);
  throw new EdgefleetError('MODEL_NOT_READY', `model ${model} has no active version`);
}

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  parameters: { version: string; execution_provider: string };
}

export function modelMetadata(runtime: InferenceRuntime, model: string, version: string | undefined): ModelMetadata {
  const described = describeOrThrow(runtime, model, version);
  return {
    name: model,
    versions: runtime.status(model).filter((s) => s.state === 'AVAILABLE').map((s) => s.version),
    platform: 'onnxruntime_onnx',
    inputs: described.inputs,
    outputs: described.outputs,
    parameters: { version: described.version, execution_provider: described.ep },
  };
}

/** Model readiness: the `active` version (or the named one) is loaded and serving. Throws MODEL_NOT_FOUND for an unknown model. */
export function isModelReady(runtime: InferenceRuntime, model: string, version: string | undefined): boolean {
  const statuses = runtime.status(model);
  if (statuses.length === 0) throw new EdgefleetError('MODEL_NOT_FOUND', `unknown model ${model}`);
  return version === undefined ? statuses.some((s) => s.labels.includes('active') && s.state === 'AVAILABLE') : statuses.some((s) => s.version === version && s.state === 'AVAILABLE');
}

/**
 * The batch size Triton's ONNX Runtime backend reports when it completes a config whose every
 * input and output has a variable first dimension (its `default-max-batch-size`). The agent does
 * not batch requests together; a client may send any first dimension the model accepts.
 */
export const AUTOCOMPLETE_MAX_BATCH_SIZE = 4;

export interface TritonTensorConfig {
  name: string;
  data_type: string;
  dims: number[];
}

export interface TritonModelConfig {
  name: string;
  platform: 'onnxruntime_onnx';
  backend: 'onnxruntime';
  max_batch_size: number;
  input: TritonTensorConfig[];
  output: TritonTensorConfig[];
  instance_group: { name: string; kind: 'KIND_CPU' | 'KIND_GPU'; count: number }[];
  parameters: Record<string, { string_value: string }>;
}

/** Triton's config data_type for a KServe datatype (BYTES is TYPE_STRING). */
export function tritonDataType(datatype: string): string {
  return datatype === 'BYTES' ? 'TYPE_STRING' : `TYPE_${datatype}`;
}

/**
 * Triton's model configuration as its ONNX Runtime backend auto-completes it: when every input and
 * output has a variable first dimension the model batches, `max_batch_size` > 0 and `dims` leave
 * the batch dimension out; otherwise `max_batch_size` is 0 and `dims` are the full shapes.
 */
export function tritonModelConfig(runtime: InferenceRuntime, model: string, version: string | undefined): TritonModelConfig {
  const described = describeOrThrow(runtime, model, version);
  const all = [...described.inputs, ...described.outputs];
  const batches = all.length > 0 && all.every((s) => s.shape.length > 0 && s.shape[0]! < 0);
  const tensor = (s: TensorSpec): TritonTensorConfig => ({ name: s.name, data_type: tritonDataType(s.datatype), dims: batches ? s.shape.slice(1) : [...s.shape] });
  return {
    name: model,
    platform: 'onnxruntime_onnx',
    backend: 'onnxruntime',
    max_batch_size: batches ? AUTOCOMPLETE_MAX_BATCH_SIZE : 0,
    input: described.inputs.map(tensor),
    output: described.outputs.map(tensor),
    instance_group: [{ name: `${model}_0`, kind: described.ep === 'cpu' ? 'KIND_CPU' : 'KIND_GPU', count: 1 }],
    parameters: { execution_provider: { string_value: described.ep }, version: { string_value: described.version } },
  };
}

export interface RepositoryIndexEntry {
  name: string;
  version: string;
  state: string;
  reason: string;
}

const TRITON_STATE = { LOADING: 'LOADING', AVAILABLE: 'READY', UNLOADING: 'UNLOADING', END: 'UNAVAILABLE' } as const;

/** Triton's repository index: every version the runtime knows, with Triton's state names. `ready` keeps only READY ones. */
export function repositoryIndex(runtime: InferenceRuntime, ready = false): RepositoryIndexEntry[] {
  return runtime
    .models()
    .sort()
    .flatMap((name) => runtime.status(name).map((s) => ({ name, version: s.version, state: TRITON_STATE[s.state], reason: '' })))
    .filter((e) => !ready || e.state === 'READY');
}

/**
 * Triton's statistics for every loaded version (zeros before its first request), narrowed to a
 * model and a version when given; an unknown model or version is NOT_FOUND.
 */
export function modelStatistics(context: ServingContext, model?: string, version?: string): ModelStatistics[] {
  const { runtime, stats } = context;
  const names = model === undefined ? runtime.models().sort() : [model];
  const out: ModelStatistics[] = [];
  for (const name of names) {
    const versions = runtime.status(name).map((s) => s.version);
    if (model !== undefined && versions.length === 0) throw new EdgefleetError('MODEL_NOT_FOUND', `unknown model ${name}`);
    const wanted = version === undefined ? versions : versions.filter((v) => v === version);
    if (version !== undefined && wanted.length === 0) throw new EdgefleetError('MODEL_VERSION_NOT_FOUND', `model ${name} has no version ${version}`);
    const seen = stats.snapshot(name);
    for (const v of [...wanted].sort()) out.push(seen.find((s) => s.version === v) ?? emptyStatistics(name, v));
  }
  return out;
}
