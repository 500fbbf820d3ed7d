import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { EdgefleetError, blobSchema, variantListSchema, type VariantRecord } from '@edgefleet/shared';
import type { CliContext, CliExtension } from '../cli/cli-extension.js';
import { formatBytes, json, table } from '../cli/output.js';

const fixed = (v: number | undefined, digits: number): string => (v === undefined ? '-' : v.toFixed(digits));

/** One row per variant: what `models quantize` prints and `models show NAME@VERSION` lists. */
export function formatVariants(variants: readonly VariantRecord[]): string {
  if (!variants.length) return 'variants     -';
  return table(
    ['VARIANT', 'STATUS', 'SIZE', 'SIZE RATIO', 'COSINE', 'TOP-1', 'MAX ABS ERR', 'CPU P50 RATIO', 'SHA256', 'WHY REJECTED'],
    variants.map((v) => [
      v.kind,
      v.status,
      formatBytes(v.size),
      `${(1 / v.accuracy.sizeRatio).toFixed(2)}x smaller`,
      fixed(v.accuracy.cosine, 4),
      fixed(v.accuracy.top1Agreement, 3),
      v.accuracy.maxAbsError.toPrecision(3),
      `${v.accuracy.latencyRatio.toFixed(2)} (${v.accuracy.variantP50Ms.toFixed(2)} / ${v.accuracy.fp32P50Ms.toFixed(2)} ms)`,
      v.sha256.slice(0, 12),
      v.rejectedBecause.join('; ') || '-',
    ]),
  );
}

/** A calibration file, or every *.json in a folder (sorted), each a KServe v2 infer request. */
async function calibrationFiles(path: string): Promise<string[]> {
  let s;
  try {
    s = await stat(path);
  } catch (cause) {
    throw new EdgefleetError('BAD_REQUEST', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  if (s.isFile()) return [path];
  const files = (await readdir(path)).filter((f) => f.endsWith('.json')).sort().map((f) => join(path, f));
  if (!files.length) throw new EdgefleetError('BAD_REQUEST', `${path} holds no .json calibration samples`);
  return files;
}

export const variantCliExtension: CliExtension = (program: Command, ctx: CliContext) => {
  const models = program.commands.find((c) => c.name() === 'models') ?? program.command('models');
  models
    .command('quantize')
    .description('make INT8 and/or FP16 variants of NAME@VERSION, checked against float32 on the golden input and calibration set')
    .argument('<ref>', 'name@version (or name@label)')
    .option('--int8 <mode>', 'dynamic (MatMul/Gemm weights, activations at run time) or static (QDQ, calibrated)')
    .option('--fp16', 'half-precision weights and activations, float32 inputs and outputs')
    .option('--calibration <file-or-dir>', 'KServe v2 infer request JSON file, or a folder of them (default: the golden input and jittered copies)')
    .option('--calibration-method <method>', 'percentile (99.9) or minmax', 'percentile')
    .option('--min-cosine <n>', 'reject a variant whose output cosine vs float32 is below this (default 0.99)', Number)
    .option('--min-top1 <n>', 'reject a variant whose top-1 agreement on class-score outputs is below this (default 0.98)', Number)
    .option('--json', 'print JSON')
    .action(async (ref: string, opts: { int8?: string; fp16?: boolean; calibration?: string; calibrationMethod: string; minCosine?: number; minTop1?: number }, command: Command) => {
      const [name, version] = ref.split('@') as [string, string | undefined];
      if (!version) throw new EdgefleetError('BAD_REQUEST', 'give the version to quantize as NAME@VERSION');
      if (opts.int8 !== undefined && opts.int8 !== 'dynamic' && opts.int8 !== 'static') throw new EdgefleetError('BAD_REQUEST', `--int8 takes dynamic or static, not ${opts.int8}`);
      const client = ctx.client();
      const calibration: string[] = [];
      for (const file of opts.calibration ? await calibrationFiles(opts.calibration) : []) {
        const { size } = await stat(file);
        calibration.push((await client.upload('/blobs', blobSchema, createReadStream(file), { size })).sha256);
      }
      const body = {
        ...(opts.int8 ? { int8: opts.int8 } : {}),
        fp16: Boolean(opts.fp16),
        ...(calibration.length ? { calibration } : {}),
        calibrationMethod: opts.calibrationMethod,
        ...(opts.minCosine !== undefined ? { minCosine: opts.minCosine } : {}),
        ...(opts.minTop1 !== undefined ? { minTop1: opts.minTop1 } : {}),
      };
      const made = await client.send('POST', `/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}/variants`, variantListSchema, body);
      ctx.io.out(ctx.wantsJson(command) ? json(made) : formatVariants(made.variants));
    });
};
