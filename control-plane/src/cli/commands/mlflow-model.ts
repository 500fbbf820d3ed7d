import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { EdgefleetError } from '@edgefleet/shared';

/**
 * The parts of an MLflow model directory's `MLmodel` file (YAML) an import needs. `mlflow.onnx`
 * writes flavor `onnx` with `data: model.onnx`; the run id and model uuid become lineage.
 */
const mlmodelSchema = z.object({
  flavors: z.record(z.string(), z.record(z.string(), z.unknown()).nullable()),
  run_id: z.string().optional(),
  model_uuid: z.string().optional(),
  utc_time_created: z.string().optional(),
  mlflow_version: z.string().optional(),
  artifact_path: z.string().optional(),
});

export interface MlflowModel {
  /** The ONNX file inside the directory. */
  file: string;
  runId?: string | undefined;
  source?: string | undefined;
  notes: string;
}

const bad = (message: string): EdgefleetError => new EdgefleetError('BAD_REQUEST', message);

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
  // The MLmodel file names a path inside its own directory; anything outside it is refused.
  const inside = normalize(data);
  if (isAbsolute(inside) || relative(dir, join(dir, inside)).startsWith('..')) throw bad(`the onnx flavor's data path ${JSON.stringify(data)} leaves the model directory`);
  const file = join(dir, inside);
  if (!(await stat(file).then((s) => s.isFile(), () => false))) throw bad(`the onnx flavor names ${data}, which is not in ${dir}`);
  const notes = [m.model_uuid && `MLflow model ${m.model_uuid}`, m.utc_time_created && `created ${m.utc_time_created}`, m.mlflow_version && `mlflow ${m.mlflow_version}`].filter(Boolean).join(', ');
  return { file, runId: m.run_id, source: m.run_id ? `mlflow:runs/${m.run_id}${m.artifact_path ? `/${m.artifact_path}` : ''}` : undefined, notes };
}
