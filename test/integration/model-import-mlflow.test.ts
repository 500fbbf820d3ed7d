/**
 * `edgefleet models import DIR`: an MLflow model directory as `mlflow artifacts download` leaves it
 * (an MLmodel file in MLflow's YAML layout, the onnx flavor's model.onnx) becomes name@version with
 * the run as lineage. No MLflow server runs here; the directory layout is MLflow's documented one.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelVersionRecord } from '@edgefleet/shared';
import { identityModel, cliRunner, startControlPlane, type TestControlPlane } from '../helpers/index.js';

const MLMODEL = `artifact_path: model
flavors:
  onnx:
    code: null
    data: model.onnx
    onnx_version: 1.16.1
    providers:
    - CPUExecutionProvider
  python_function:
    data: model.onnx
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.onnx
    python_version: 3.11.9
mlflow_version: 2.17.2
model_size_bytes: 123
model_uuid: 4b1f0c2e8d5a4c6e9f1a2b3c4d5e6f70
run_id: 9d8c7b6a5f4e3d2c1b0a998877665544
saved_input_example_info:
  artifact_path: input_example.json
  type: ndarray
  format: tf-serving
signature:
  inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}, "name": "x"}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}, "name": "y"}]'
  params: null
utc_time_created: '2026-11-30 09:12:44.123456'
`;
const EXAMPLE = JSON.stringify({ inputs: { x: [[0.5, 1.5, 2.5, 3.5]] } });

describe('models import from an MLflow model directory', () => {
  let h: TestControlPlane;
  const cli = (...argv: string[]) => cliRunner(h)(...argv);
  const modelDir = async (name: string, mlmodel: string, files: Record<string, Uint8Array | string> = { 'model.onnx': identityModel(), 'input_example.json': EXAMPLE }): Promise<string> => {
    const dir = join(h.dataDir, name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'MLmodel'), mlmodel);
    for (const [f, bytes] of Object.entries(files)) await writeFile(join(dir, f), bytes);
    return dir;
  };

  beforeAll(async () => {
    h = await startControlPlane();
  });
  afterAll(async () => h?.close());

  it('imports the onnx flavor with the run as lineage and the input example as the golden input, and again as a no-op', async () => {
    const dir = await modelDir('mlflow-model', MLMODEL);
    const first = await cli('models', 'import', dir, '--name', 'text-cls', '--version', '3', '--json');
    expect(first.code, first.err).toBe(0);
    const record = JSON.parse(first.out) as ModelVersionRecord & { alreadyPresent: boolean };
    expect(record).toMatchObject({ name: 'text-cls', version: '3', source: 'mlflow:runs/9d8c7b6a5f4e3d2c1b0a998877665544/model', alreadyPresent: false });
    expect(record.notes).toBe('MLflow model 4b1f0c2e8d5a4c6e9f1a2b3c4d5e6f70, created 2026-11-30 09:12:44.123456, mlflow 2.17.2');
    expect(record.inspection.format).toBe('onnx');
    // The golden input is the example as a KServe v2 request, with the model's input name and datatype.
    const golden = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [0.5, 1.5, 2.5, 3.5] }] };
    expect(record.golden?.sha256).toBe(createHash('sha256').update(JSON.stringify(golden)).digest('hex'));
    const again = await cli('models', 'import', dir, '--name', 'text-cls', '--version', '3');
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/already present: text-cls@3/);
  });

  it.each([
    ['no MLmodel file', async () => join(h.dataDir, 'empty-dir'), /not an MLflow model directory/],
    ['a flavor edgefleet cannot serve', async () => modelDir('sk', 'flavors:\n  sklearn:\n    pickled_model: model.pkl\n  python_function: {}\nrun_id: r1\n', {}), /flavors sklearn, python_function; edgefleet imports the onnx flavor/],
    ['a data path outside the directory', async () => modelDir('escape', 'flavors:\n  onnx:\n    data: ../../etc/passwd\n'), /leaves the model directory/],
    ['a missing model file', async () => modelDir('missing', 'flavors:\n  onnx:\n    data: other.onnx\n'), /names other\.onnx, which is not in/],
    ['a signature that does not describe the model', async () => modelDir('sig', MLMODEL.replace('"dtype": "float32", "shape": [-1, 4]}, "name": "x"', '"dtype": "float64", "shape": [-1, 4]}, "name": "x"')), /signature's input x is FP64\[-1,4\] but the model's is x FP32\[1,4\]/],
    ['a signature naming an input the model lacks', async () => modelDir('sig2', MLMODEL.replace('"name": "x"', '"name": "pixels"')), /names input pixels, which the model does not have/],
    ['an input example without the model’s input', async () => modelDir('ex', MLMODEL, { 'model.onnx': identityModel(), 'input_example.json': JSON.stringify({ inputs: { z: [[1]] } }) }), /no value for the model's input x/],
    ['an MLmodel that is not YAML', async () => modelDir('yaml', 'flavors: [unclosed\n'), /is not YAML/],
  ])('refuses %s with BAD_REQUEST, pushing nothing', async (_name, make, message) => {
    await mkdir(join(h.dataDir, 'empty-dir'), { recursive: true });
    const r = await cli('models', 'import', await make(), '--name', 'refused', '--version', '1');
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('BAD_REQUEST');
    expect(r.err).toMatch(message);
    expect((await h.api('GET', '/models/refused')).status).toBe(404);
  });
});
