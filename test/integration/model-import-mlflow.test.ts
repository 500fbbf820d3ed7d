/**
 * `edgefleet models import PATH`: an MLflow model directory as `mlflow artifacts download` leaves it
 * (an MLmodel file in MLflow's YAML layout, the onnx flavor's model.onnx), or a .tar.gz/.zip of one,
 * becomes name@version with the run as lineage. No MLflow server runs here; the directory layout is
 * MLflow's documented one and the archives are built here, entry by entry.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import AdmZip from 'adm-zip';
import tar from 'tar-stream';
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

/** A .tar.gz of name → bytes, written by tar-stream (any name, including ones no tar tool would write). */
async function tarGz(files: Record<string, Uint8Array | string>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((resolve) => pack.on('end', resolve));
  for (const [name, body] of Object.entries(files)) {
    await new Promise<void>((resolve, reject) => pack.entry({ name }, Buffer.from(body), (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await ended;
  return gzipSync(Buffer.concat(chunks));
}

function zip(files: Record<string, Uint8Array | string>): Buffer {
  const z = new AdmZip();
  for (const [name, body] of Object.entries(files)) z.addFile(name, Buffer.from(body));
  return z.toBuffer();
}

const mlflowTmpDirs = async (): Promise<string[]> => (await readdir(tmpdir())).filter((n) => n.startsWith('edgefleet-mlflow-'));

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

  it('imports a .tar.gz of the directory (one top-level folder) and a .zip (files at the root), removing what it extracted', async () => {
    const before = await mlflowTmpDirs();
    const tgz = join(h.dataDir, 'text-cls-4.tar.gz');
    await writeFile(tgz, await tarGz({ 'text-cls-4/MLmodel': MLMODEL, 'text-cls-4/model.onnx': identityModel(), 'text-cls-4/input_example.json': EXAMPLE }));
    const fromTar = await cli('models', 'import', tgz, '--name', 'text-cls', '--version', '4', '--json');
    expect(fromTar.code, fromTar.err).toBe(0);
    const tarRecord = JSON.parse(fromTar.out) as ModelVersionRecord;
    expect(tarRecord).toMatchObject({ version: '4', source: 'mlflow:runs/9d8c7b6a5f4e3d2c1b0a998877665544/model', sha256: createHash('sha256').update(identityModel()).digest('hex') });
    expect(tarRecord.golden?.sha256).toBeDefined();

    const z = join(h.dataDir, 'text-cls-5.zip');
    await writeFile(z, zip({ MLmodel: MLMODEL, 'model.onnx': identityModel(), 'input_example.json': EXAMPLE }));
    const fromZip = await cli('models', 'import', z, '--name', 'text-cls', '--version', '5');
    expect(fromZip.code, fromZip.err).toBe(0);
    expect(fromZip.err).toMatch(/MLflow model: flavor onnx, model\.onnx from .*text-cls-5\.zip, run 9d8c7b6a/);
    const shown = JSON.parse((await cli('models', 'show', 'text-cls@5', '--json')).out) as ModelVersionRecord;
    expect(shown).toMatchObject({ source: tarRecord.source, notes: tarRecord.notes, golden: tarRecord.golden });
    expect(await mlflowTmpDirs()).toEqual(before);
  });

  it.each<[string, string, () => Promise<Buffer>, string[], RegExp]>([
    ['a .tar.gz entry that climbs out with ..', 'climb.tar.gz', () => tarGz({ MLmodel: MLMODEL, '../../outside.onnx': identityModel() }), [], /entry "\.\.\/\.\.\/outside\.onnx" leaves the archive's directory/],
    ['a .tgz past --max-unpacked-bytes', 'big.tgz', () => tarGz({ MLmodel: MLMODEL, 'model.onnx': identityModel(), 'input_example.json': EXAMPLE }), ['--max-unpacked-bytes', '200'], /expands past the limit of 200 bytes/],
    ['a .zip past --max-unpacked-bytes', 'big.zip', async () => zip({ MLmodel: MLMODEL, 'model.onnx': identityModel() }), ['--max-unpacked-bytes', '200'], /expands past the limit of 200 bytes/],
    ['a .zip that is not one', 'broken.zip', async () => Buffer.from('not a zip'), [], /is not a readable \.zip archive/],
  ])('refuses %s with ARCHIVE_REFUSED, extracting nothing outside its temp dir and pushing nothing', async (_what, name, make, flags, message) => {
    const before = await mlflowTmpDirs();
    const dir = join(h.dataDir, 'archives', name.replace(/\W/g, '-'));
    const file = join(dir, name);
    await mkdir(dir, { recursive: true });
    await writeFile(file, await make());
    const r = await cli('models', 'import', file, '--name', 'refused', '--version', '1', ...flags);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('ARCHIVE_REFUSED');
    expect(r.err).toMatch(message);
    // The temp dir sits in tmpdir(); `../../outside.onnx` from it would land at its parent's parent.
    expect(await readdir(dir)).toEqual([name]);
    expect(existsSync(join(tmpdir(), '..', 'outside.onnx'))).toBe(false);
    expect(await mlflowTmpDirs()).toEqual(before);
    expect((await h.api('GET', '/models/refused')).status).toBe(404);
  });

  it('refuses an archive with no MLmodel at its root or in its one folder', async () => {
    const file = join(h.dataDir, 'nomodel.zip');
    await writeFile(file, zip({ 'a/MLmodel': MLMODEL, 'b/model.onnx': identityModel() }));
    const r = await cli('models', 'import', file, '--name', 'refused', '--version', '1');
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('BAD_REQUEST');
    expect(r.err).toMatch(/not an archive of an MLflow model directory: no MLmodel file at its root or in its one top-level folder \(it holds a, b\)/);
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
