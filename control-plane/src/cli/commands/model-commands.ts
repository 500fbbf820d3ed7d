import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { stat } from 'node:fs/promises';
import { relative } from 'node:path';
import type { Command } from 'commander';
import { EdgefleetError, blobSchema, modelListSchema, modelVersionListSchema, modelVersionRecordSchema, pushModelReplySchema, variantListSchema, type KserveInferRequest, type ModelVersionRecord } from '@edgefleet/shared';
import { formatVariants } from '../../registry/variant-cli.js';
import { DEFAULT_MAX_UNPACKED_BYTES, openMlflowSource, readMlflowModel } from './mlflow-model.js';
import type { CliContext } from '../cli-extension.js';
import { formatBytes, json, progressBar, table } from '../output.js';

async function fileSize(file: string): Promise<number> {
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new Error('not a regular file');
    return s.size;
  } catch (cause) {
    throw new EdgefleetError('BAD_REQUEST', `cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
}

function parseByteCount(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new EdgefleetError('CONFIG_INVALID', `--max-unpacked-bytes must be a positive whole number of bytes, not ${JSON.stringify(value)}`);
  return n;
}

interface PushOptions {
  name: string;
  version: string;
  label?: string[];
  golden?: string;
  notes?: string | undefined;
  source?: string | undefined;
  /** A golden input made here (an MLflow input example), used when no --golden file is given. */
  goldenRequest?: KserveInferRequest | undefined;
}

/** One upload path for `models push` and `models import`: golden input first, then the model, streamed. */
async function pushFile(ctx: CliContext, command: Command, file: string, opts: PushOptions): Promise<void> {
  const client = ctx.client();
  const size = await fileSize(file);
  let goldenSha256: string | undefined;
  if (opts.golden) {
    const goldenSize = await fileSize(opts.golden);
    goldenSha256 = (await client.upload('/blobs', blobSchema, createReadStream(opts.golden), { size: goldenSize })).sha256;
  } else if (opts.goldenRequest) {
    const bytes = Buffer.from(JSON.stringify(opts.goldenRequest));
    goldenSha256 = (await client.upload('/blobs', blobSchema, Readable.from([bytes]), { size: bytes.length })).sha256;
  }
  const record = await client.upload(`/models/${encodeURIComponent(opts.name)}/versions/${encodeURIComponent(opts.version)}`, pushModelReplySchema, createReadStream(file), {
    size,
    query: { label: opts.label, notes: opts.notes, source: opts.source, goldenSha256 },
    onProgress: ctx.wantsJson(command) ? undefined : progressBar(ctx.io, `uploading ${opts.name}@${opts.version}`),
  });
  if (ctx.wantsJson(command)) return ctx.io.out(json(record));
  // A retried pipeline step: the same file as the same version changes nothing and succeeds.
  ctx.io.out(record.alreadyPresent
    ? `already present: ${record.name}@${record.version} sha256 ${record.sha256} (${formatBytes(record.size)}), unchanged`
    : `pushed ${record.name}@${record.version} sha256 ${record.sha256} (${formatBytes(record.size)}), signed`);
}

const shape = (dims: readonly number[]): string => `[${dims.map((d) => (d < 0 ? '?' : String(d))).join(',')}]`;

function describe(m: ModelVersionRecord): string {
  const i = m.inspection;
  return [
    `model        ${m.name}@${m.version}${m.labels.length ? ` (${m.labels.join(', ')})` : ''}`,
    `sha256       ${m.sha256}`,
    `size         ${formatBytes(m.size)}`,
    `created      ${m.createdAt} by ${m.pushedBy}`,
    `source       ${m.source ?? '-'}`,
    `notes        ${m.notes ?? '-'}`,
    i.format === 'tflite'
      ? `format       TFLite (schema ${i.irVersion}; runs on LiteRT)${i.producer.name ? `, ${i.producer.name}` : ''}`
      : `producer     ${i.producer.name} ${i.producer.version} (IR ${i.irVersion}, opset ${i.opsets.map((o) => `${o.domain}:${o.version}`).join(' ')})`,
    `graph        ${i.nodeCount} ${i.format === 'tflite' ? 'operators' : 'nodes'}, ${i.initializerCount} ${i.format === 'tflite' ? 'weight tensors' : 'initializers'}; ops ${i.opTypes.join(' ')}`,
    ...(i.customOps.length ? [`custom ops   ${i.customOps.join(' ')}`] : []),
    `inputs       ${i.inputs.map((t) => `${t.name} ${t.datatype}${shape(t.shape)}`).join(', ')}`,
    `outputs      ${i.outputs.map((t) => `${t.name} ${t.datatype}${shape(t.shape)}`).join(', ')}`,
    `golden       ${m.golden ? `${m.golden.sha256} (${formatBytes(m.golden.size)})` : '-'}`,
    `signature    ${m.signature}`,
  ].join('\n');
}

export function registerModelCommands(program: Command, ctx: CliContext): void {
  const models = program.command('models').description('push and inspect models');

  models
    .command('push')
    .description('upload an ONNX or TFLite model as name@version (inspected, signed, immutable; the same file again is a no-op)')
    .argument('<file>', '.onnx or .tflite file')
    .requiredOption('--name <name>', 'model name')
    .requiredOption('--version <version>', 'model version')
    .option('--label <label...>', 'labels to move onto this version (e.g. canary)')
    .option('--golden <file>', 'golden input (a KServe v2 infer request as JSON) for the smoke test')
    .option('--notes <text>', 'free notes (lineage)')
    .option('--source <uri>', 'where it came from: an MLflow run, a pipeline step (lineage)')
    .option('--json', 'print JSON')
    .action(async (file: string, opts: PushOptions, command: Command) => {
      await pushFile(ctx, command, file, opts);
    });

  models
    .command('import')
    .description('import an MLflow model directory or its archive (MLmodel, onnx flavor) as name@version: signature checked against the model, input example as the golden input, the run as lineage')
    .argument('<path>', 'an MLflow model directory, e.g. from `mlflow artifacts download --artifact-uri models:/NAME/VERSION`, or a .tar.gz/.tgz/.zip of one')
    .requiredOption('--name <name>', 'model name')
    .requiredOption('--version <version>', 'model version (e.g. the MLflow registry version)')
    .option('--label <label...>', 'labels to move onto this version (e.g. canary)')
    .option('--golden <file>', 'golden input (a KServe v2 infer request as JSON) for the smoke test')
    .option('--notes <text>', 'free notes (lineage; default: the MLflow model uuid and creation time)')
    .option('--source <uri>', 'lineage (default: mlflow:runs/<run_id> from the MLmodel file)')
    .option('--max-unpacked-bytes <n>', `most bytes an archive may expand to (default ${DEFAULT_MAX_UNPACKED_BYTES})`)
    .option('--json', 'print JSON')
    .action(async (path: string, opts: PushOptions & { maxUnpackedBytes?: string }, command: Command) => {
      const source = await openMlflowSource(path, { maxUnpackedBytes: opts.maxUnpackedBytes === undefined ? DEFAULT_MAX_UNPACKED_BYTES : parseByteCount(opts.maxUnpackedBytes) });
      try {
        const model = await readMlflowModel(source.dir);
        if (!ctx.wantsJson(command)) ctx.io.err(`MLflow model: flavor onnx, ${source.dir === path ? model.file : `${relative(source.dir, model.file)} from ${path}`}${model.runId ? `, run ${model.runId}` : ''}${model.golden ? ', input example as the golden input' : ''}`);
        await pushFile(ctx, command, model.file, { ...opts, source: opts.source ?? model.source, notes: opts.notes ?? model.notes, goldenRequest: model.golden });
      } finally {
        await source.cleanup();
      }
    });

  models
    .command('ls')
    .description('list models')
    .option('--json', 'print JSON')
    .action(async (_opts: unknown, command: Command) => {
      const { models: list } = await ctx.client().get('/models', modelListSchema);
      if (ctx.wantsJson(command)) return ctx.io.out(json({ models: list }));
      ctx.io.out(table(['MODEL', 'LATEST', 'VERSIONS', 'UPDATED'], list.map((m) => [m.name, m.latest, m.versions.join(' '), m.updatedAt])));
    });

  models
    .command('show')
    .description('a model (all versions) or one version/label: name[@version]')
    .argument('<ref>', 'name or name@version')
    .option('--json', 'print JSON')
    .action(async (ref: string, _opts: unknown, command: Command) => {
      const [name, version] = ref.split('@') as [string, string | undefined];
      const client = ctx.client();
      if (version) {
        const m = await client.get(`/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`, modelVersionRecordSchema);
        // A server without the variants plugin has no such route (NOT_FOUND): show the version alone.
        const variants = await client
          .get(`/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(m.version)}/variants`, variantListSchema)
          .then((l) => l.variants)
          .catch((err: unknown) => {
            if (err instanceof EdgefleetError && err.code === 'NOT_FOUND') return undefined;
            throw err;
          });
        if (ctx.wantsJson(command)) return ctx.io.out(json(variants ? { ...m, variants } : m));
        return ctx.io.out(variants ? `${describe(m)}\n${formatVariants(variants)}` : describe(m));
      }
      const list = await client.get(`/models/${encodeURIComponent(name)}`, modelVersionListSchema);
      if (ctx.wantsJson(command)) return ctx.io.out(json(list));
      ctx.io.out(
        table(
          ['VERSION', 'LABELS', 'SIZE', 'SHA256', 'CREATED', 'PUSHED BY', 'SOURCE'],
          list.versions.map((m) => [m.version, m.labels.join(',') || '-', formatBytes(m.size), m.sha256.slice(0, 12), m.createdAt, m.pushedBy, m.source ?? '-']),
        ),
      );
    });
}
