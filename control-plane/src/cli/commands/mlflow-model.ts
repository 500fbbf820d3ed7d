import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, normalize, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { EdgefleetError, type KserveInferRequest, type TensorSpec } from '@edgefleet/shared';
import { archiveKind, extractArchive } from '../../artifacts/extract-archive.js';
import { inspectModel } from '../../artifacts/inspect-model.js';

/**
 * The parts of an MLflow model directory's `MLmodel` file (YAML) an import needs. `mlflow.onnx`
 * writes flavor `onnx` with `data: model.onnx`; the signature's inputs/outputs are JSON strings of
 * tensor specs; `saved_input_example_info` names the input example file; run id, model uuid,
 * creation time and MLflow version become lineage.
 */
const mlmodelSchema = z.object({
  flavors: z.record(z.string(), z.record(z.string(), z.unknown()).nullable()),
  run_id: z.string().optional(),
  model_uuid: z.string().optional(),
  utc_time_created: z.string().optional(),
  mlflow_version: z.string().optional(),
  artifact_path: z.string().optional(),
  signature: z.object({ inputs: z.string().nullish(), outputs: z.string().nullish() }).nullish(),
  saved_input_example_info: z.object({ artifact_path: z.string() }).passthrough().nullish(),
});

const signatureTensorSchema = z.object({
  type: z.string(),
  name: z.string().optional(),
  'tensor-spec': z.object({ dtype: z.string(), shape: z.array(z.number().int()) }).optional(),
});

/** numpy dtype names in MLflow tensor specs → KServe v2 datatypes (what the inspection reports). */
const NUMPY_TO_KSERVE: Record<string, string> = {
  float32: 'FP32', float64: 'FP64', float16: 'FP16', int8: 'INT8', int16: 'INT16', int32: 'INT32', int64: 'INT64',
  uint8: 'UINT8', uint16: 'UINT16', uint32: 'UINT32', uint64: 'UINT64', bool: 'BOOL', object: 'BYTES', str: 'BYTES',
};

export interface MlflowModel {
  /** The model file inside the directory. */
  file: string;
  runId?: string | undefined;
  source?: string | undefined;
  notes: string;
  /** The input example as a KServe v2 infer request (the smoke test's golden input), when the model has one. */
  golden?: KserveInferRequest | undefined;
}

const bad = (message: string): EdgefleetError => new EdgefleetError('BAD_REQUEST', message);

/** A path the MLmodel file names must stay inside its own directory. */
function inside(dir: string, path: string, what: string): string {
  const p = normalize(path);
  if (isAbsolute(p) || relative(dir, join(dir, p)).startsWith('..')) throw bad(`${what} ${JSON.stringify(path)} leaves the model directory`);
  return join(dir, p);
}

const spec = (t: TensorSpec): string => `${t.name} ${t.datatype}[${t.shape.join(',')}]`;

/** Each signature tensor must be the model's: same name (when named), datatype, rank, fixed dimensions. */
function checkSignature(kind: 'input' | 'output', text: string | null | undefined, actual: readonly TensorSpec[]): void {
  if (!text) return;
  let entries: z.infer<typeof signatureTensorSchema>[];
  try {
    entries = z.array(signatureTensorSchema).parse(JSON.parse(text));
  } catch (cause) {
    throw new EdgefleetError('BAD_REQUEST', `the MLmodel signature's ${kind}s are not MLflow tensor specs: ${(cause as Error).message}`, { cause });
  }
  const tensors = entries.filter((e) => e.type === 'tensor' && e['tensor-spec']);
  if (tensors.length !== entries.length) throw bad(`the MLmodel signature's ${kind}s are column-based (${entries.map((e) => e.type).join(', ')}); an ONNX model's signature has tensor ${kind}s`);
  if (tensors.length !== actual.length) throw bad(`the MLflow signature has ${tensors.length} ${kind}(s) but the model has ${actual.length}: ${actual.map(spec).join(', ')}`);
  tensors.forEach((t, i) => {
    const ts = t['tensor-spec']!;
    const real = (t.name ? actual.find((a) => a.name === t.name) : actual[i]);
    if (!real) throw bad(`the MLflow signature names ${kind} ${t.name}, which the model does not have (it has ${actual.map((a) => a.name).join(', ')})`);
    const datatype = NUMPY_TO_KSERVE[ts.dtype] ?? ts.dtype;
    const shapeOk = ts.shape.length === real.shape.length && ts.shape.every((d, k) => d === -1 || real.shape[k] === -1 || real.shape[k] === d);
    if (datatype !== real.datatype || !shapeOk) {
      throw bad(`the MLflow signature's ${kind} ${t.name ?? `#${i}`} is ${datatype}[${ts.shape.join(',')}] but the model's is ${spec(real)}: the logged signature does not describe this model`);
    }
  });
}

/** The shape of a nested array (rectangular), and its elements flattened row-major. */
function flatten(value: unknown, what: string): { shape: number[]; data: unknown[] } {
  const shape: number[] = [];
  for (let v = value; Array.isArray(v); v = v[0]) shape.push(v.length);
  const data = (value as unknown[]).flat(Infinity);
  if (data.length !== shape.reduce((a, b) => a * b, 1)) throw bad(`the input example's ${what} is not a rectangular array`);
  return { shape, data };
}

/**
 * The input example (MLflow's tf-serving style `{"inputs": …}`: one array, or an object of arrays by
 * input name) as a KServe v2 infer request with the model's input names and datatypes.
 */
function goldenFrom(example: unknown, inputs: readonly TensorSpec[]): KserveInferRequest {
  const body = example && typeof example === 'object' && !Array.isArray(example) && 'inputs' in example ? example.inputs : example;
  const named: [TensorSpec, unknown][] =
    Array.isArray(body)
      ? inputs.length === 1
        ? [[inputs[0]!, body]]
        : (() => {
            throw bad(`the input example is one array but the model has ${inputs.length} inputs`);
          })()
      : inputs.map((i) => {
          const v = (body as Record<string, unknown> | null)?.[i.name];
          if (v === undefined) throw bad(`the input example has no value for the model's input ${i.name}`);
          return [i, v];
        });
  return {
    inputs: named.map(([i, v]) => {
      const { shape, data } = flatten(v, i.name);
      return { name: i.name, datatype: i.datatype, shape, data };
    }),
  };
}

export async function readMlflowModel(dir: string): Promise<MlflowModel> {
  let text: string;
  try {
    text = await readFile(join(dir, 'MLmodel'), 'utf8');
  } catch (cause) {
    throw new EdgefleetError('BAD_REQUEST', `${dir} is not an MLflow model directory: cannot read ${join(dir, 'MLmodel')} (${(cause as Error).message})`, { cause });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (cause) {
    throw new EdgefleetError('BAD_REQUEST', `${join(dir, 'MLmodel')} is not YAML: ${(cause as Error).message}`, { cause });
  }
  const parsed = mlmodelSchema.safeParse(raw);
  if (!parsed.success) throw bad(`${join(dir, 'MLmodel')} has no flavors: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const m = parsed.data;
  const onnx = m.flavors.onnx;
  if (!onnx) {
    throw bad(`the MLflow model has flavors ${Object.keys(m.flavors).join(', ') || 'none'}; edgefleet imports the onnx flavor (log it with mlflow.onnx.log_model, or push a .onnx/.tflite file with models push)`);
  }
  const data = typeof onnx.data === 'string' ? onnx.data : 'model.onnx';
  const file = inside(dir, data, "the onnx flavor's data path");
  if (!(await stat(file).then((s) => s.isFile(), () => false))) throw bad(`the onnx flavor names ${data}, which is not in ${dir}`);

  // Checked here, before anything is uploaded, against what the file really declares.
  const inspection = inspectModel(await readFile(file));
  checkSignature('input', m.signature?.inputs, inspection.inputs);
  checkSignature('output', m.signature?.outputs, inspection.outputs);
  let golden: KserveInferRequest | undefined;
  if (m.saved_input_example_info) {
    const exampleFile = inside(dir, m.saved_input_example_info.artifact_path, 'the input example path');
    let example: unknown;
    try {
      example = JSON.parse(await readFile(exampleFile, 'utf8'));
    } catch (cause) {
      throw new EdgefleetError('BAD_REQUEST', `cannot read the input example ${m.saved_input_example_info.artifact_path}: ${(cause as Error).message}`, { cause });
    }
    golden = goldenFrom(example, inspection.inputs);
  }
  const notes = [m.model_uuid && `MLflow model ${m.model_uuid}`, m.utc_time_created && `created ${m.utc_time_created}`, m.mlflow_version && `mlflow ${m.mlflow_version}`].filter(Boolean).join(', ');
  return { file, runId: m.run_id, source: m.run_id ? `mlflow:runs/${m.run_id}${m.artifact_path ? `/${m.artifact_path}` : ''}` : undefined, notes, golden };
}

/** Default for `--max-unpacked-bytes`: well past any model a device serves, short of filling a disk. */
export const DEFAULT_MAX_UNPACKED_BYTES = 4 * 1024 ** 3;

export interface MlflowSource {
  /** The MLflow model directory: PATH itself, or where its archive was extracted. */
  dir: string;
  /** Removes what an archive was extracted to; nothing for a directory. */
  cleanup(): Promise<void>;
}

/**
 * An MLflow model directory, or a `.tar.gz`/`.tgz`/`.zip` of one (what `mlflow artifacts download`
 * or a CI artifact gives) extracted safely into a temp directory. The MLmodel file may sit at the
 * archive's root or in its single top-level folder (`tar czf m.tgz text-cls-3/`).
 */
export async function openMlflowSource(path: string, opts: { maxUnpackedBytes: number }): Promise<MlflowSource> {
  if (!archiveKind(path)) return { dir: path, cleanup: async () => {} };
  const tmp = await mkdtemp(join(tmpdir(), 'edgefleet-mlflow-'));
  const cleanup = (): Promise<void> => rm(tmp, { recursive: true, force: true });
  try {
    await extractArchive(path, tmp, { maxBytes: opts.maxUnpackedBytes });
    const has = (d: string): Promise<boolean> => stat(join(d, 'MLmodel')).then((s) => s.isFile(), () => false);
    if (await has(tmp)) return { dir: tmp, cleanup };
    const top = await readdir(tmp, { withFileTypes: true });
    const only = top.length === 1 && top[0]!.isDirectory() ? join(tmp, top[0]!.name) : undefined;
    if (only && (await has(only))) return { dir: only, cleanup };
    throw bad(`${path} is not an archive of an MLflow model directory: no MLmodel file at its root or in its one top-level folder (it holds ${top.map((e) => e.name).join(', ') || 'nothing'})`);
  } catch (err) {
    await cleanup();
    throw err;
  }
}
