import { EdgefleetError, type TensorSpec } from '@edgefleet/shared';
import { TF_DTYPES, toJsonValues } from '../inference/datatypes.js';
import type { InferenceRuntime, InferResult, Tensor, VersionStatus } from '../inference/runtime-port.js';

/**
 * TensorFlow Serving REST semantics (reference.md §1): the path grammar, model status and
 * metadata shapes, and `:predict` in row (`instances`) and columnar (`inputs`) form.
 */
export interface TfPath {
  model: string;
  version?: string;
  label?: string;
  action: 'status' | 'metadata' | 'predict';
}

const PATH = /^([^/:]+)(?:\/versions\/([^/:]+)|\/labels\/([^/:]+))?(?::(predict)|\/(metadata))?$/;

/** Parses what follows `/v1/models/`; undefined when it is not a TF Serving path. */
export function parseTfPath(rest: string): TfPath | undefined {
  const m = PATH.exec(rest);
  if (!m) return undefined;
  return {
    model: decodeURIComponent(m[1]!),
    ...(m[2] !== undefined ? { version: decodeURIComponent(m[2]) } : {}),
    ...(m[3] !== undefined ? { label: decodeURIComponent(m[3]) } : {}),
    action: m[4] ? 'predict' : m[5] ? 'metadata' : 'status',
  };
}

const TF_STATE: Record<VersionStatus['state'], string> = { LOADING: 'LOADING', AVAILABLE: 'AVAILABLE', UNLOADING: 'UNLOADING', END: 'END' };

export function tfStatus(runtime: InferenceRuntime, path: TfPath): { model_version_status: { version: string; state: string; status: { error_code: string; error_message: string } }[] } {
  const all = runtime.status(path.model);
  if (all.length === 0) throw new EdgefleetError('MODEL_NOT_FOUND', `Could not find any versions of model ${path.model}`);
  let selected = all;
  if (path.version !== undefined) selected = all.filter((s) => s.version === path.version);
  if (path.label !== undefined) selected = all.filter((s) => s.labels.includes(path.label!));
  if (selected.length === 0) {
    throw new EdgefleetError('MODEL_VERSION_NOT_FOUND', `Could not find ${path.version !== undefined ? `version ${path.version}` : `label ${path.label}`} of model ${path.model}`);
  }
  return { model_version_status: selected.map((s) => ({ version: s.version, state: TF_STATE[s.state], status: { error_code: 'OK', error_message: '' } })) };
}

function tfTensorInfo(spec: TensorSpec): object {
  return { dtype: TF_DTYPES[spec.datatype] ?? 'DT_INVALID', tensor_shape: { dim: spec.shape.map((d) => ({ size: String(d), name: '' })), unknown_rank: false }, name: spec.name };
}

export function tfMetadata(runtime: InferenceRuntime, path: TfPath): object {
  const described = runtime.describe(path.model, path.version ?? path.label);
  if (!described) {
    if (runtime.status(path.model).length === 0) throw new EdgefleetError('MODEL_NOT_FOUND', `Could not find model ${path.model}`);
    throw new EdgefleetError('MODEL_VERSION_NOT_FOUND', `Could not find ${path.version ?? path.label ?? 'an active version'} of model ${path.model}`);
  }
  return {
    model_spec: { name: path.model, signature_name: '', version: described.version },
    metadata: {
      signature_def: {
        signature_def: {
          serving_default: {
            inputs: Object.fromEntries(described.inputs.map((s) => [s.name, tfTensorInfo(s)])),
            outputs: Object.fromEntries(described.outputs.map((s) => [s.name, tfTensorInfo(s)])),
            method_name: 'tensorflow/serving/predict',
          },
        },
      },
    },
  };
}

/** Shape and flat elements of a nested JSON array; throws INPUT_INVALID on ragged rows. */
export function shapeAndData(value: unknown, name: string): { shape: number[]; data: unknown[] } {
  const shape: number[] = [];
  let probe = value;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const data: unknown[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (Array.isArray(v)) throw new EdgefleetError('INPUT_INVALID', `input ${name}: ragged nested array`);
      data.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) throw new EdgefleetError('INPUT_INVALID', `input ${name}: ragged nested array`);
    for (const x of v) walk(x, depth + 1);
  };
  walk(value, 0);
  return { shape, data };
}

function nest(data: unknown[], shape: readonly number[]): unknown {
  if (shape.length === 0) return data[0];
  const [first, ...rest] = shape;
  const stride = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: first! }, (_, i) => nest(data.slice(i * stride, (i + 1) * stride), rest));
}

function tensorFrom(spec: TensorSpec, value: unknown): Tensor {
  const { shape, data } = shapeAndData(value, spec.name);
  return { name: spec.name, datatype: spec.datatype, shape, data: data as Tensor['data'] };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface TfPredictRequest {
  format: 'row' | 'columnar';
  inputs: Tensor[];
}

/** Turns a `:predict` body into request tensors using the model's declared inputs. */
export function parseTfPredict(body: unknown, inputs: readonly TensorSpec[]): TfPredictRequest {
  if (!isPlainObject(body)) throw new EdgefleetError('PAYLOAD_INVALID', 'the body must be a JSON object with "instances" or "inputs"');
  const hasInstances = body.instances !== undefined;
  const hasInputs = body.inputs !== undefined;
  if (hasInstances === hasInputs) throw new EdgefleetError('PAYLOAD_INVALID', 'give exactly one of "instances" (row format) or "inputs" (columnar format)');
  if (hasInstances) {
    const instances = body.instances;
    if (!Array.isArray(instances) || instances.length === 0) throw new EdgefleetError('PAYLOAD_INVALID', '"instances" must be a non-empty list');
    if (inputs.length === 1 && !instances.every(isPlainObject)) return { format: 'row', inputs: [tensorFrom(inputs[0]!, instances)] };
    // Several inputs (or named ones): each instance is an object keyed by input name.
    return {
      format: 'row',
      inputs: inputs.map((spec) =>
        tensorFrom(
          spec,
          instances.map((instance, i) => {
            if (!isPlainObject(instance) || !(spec.name in instance)) throw new EdgefleetError('INPUT_INVALID', `instance ${i} has no input "${spec.name}"`);
            return instance[spec.name];
          }),
        ),
      ),
    };
  }
  const given = body.inputs;
  if (inputs.length === 1 && !isPlainObject(given)) return { format: 'columnar', inputs: [tensorFrom(inputs[0]!, given)] };
  if (!isPlainObject(given)) throw new EdgefleetError('INPUT_INVALID', `the model has ${inputs.length} inputs: "inputs" must be an object keyed by input name`);
  const unknown = Object.keys(given).filter((k) => !inputs.some((s) => s.name === k));
  if (unknown.length > 0) throw new EdgefleetError('INPUT_INVALID', `unknown input(s) ${unknown.join(', ')}`);
  return {
    format: 'columnar',
    inputs: inputs.map((spec) => {
      if (!(spec.name in given)) throw new EdgefleetError('INPUT_INVALID', `missing input "${spec.name}"`);
      return tensorFrom(spec, given[spec.name]);
    }),
  };
}

/** `{"predictions": ...}` for row requests, `{"outputs": ...}` for columnar ones. */
export function tfPredictResponse(format: TfPredictRequest['format'], result: InferResult): object {
  const nested = result.outputs.map((t) => ({ name: t.name, shape: t.shape, value: nest(toJsonValues(t.datatype, t.data as ArrayLike<unknown>), t.shape) }));
  if (format === 'columnar') {
    return { outputs: nested.length === 1 ? nested[0]!.value : Object.fromEntries(nested.map((n) => [n.name, n.value])) };
  }
  if (nested.length === 1) {
    const only = nested[0]!;
    return { predictions: only.shape.length === 0 ? [only.value] : only.value };
  }
  const rows = nested[0]?.shape[0] ?? 0;
  return {
    predictions: Array.from({ length: rows }, (_, i) => Object.fromEntries(nested.map((n) => [n.name, Array.isArray(n.value) ? (n.value as unknown[])[i] : n.value]))),
  };
}
