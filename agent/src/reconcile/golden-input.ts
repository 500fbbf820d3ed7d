import { readFile, rm } from 'node:fs/promises';
import { z } from 'zod';
import { EdgefleetError, formatIssues, type DesiredModel } from '@edgefleet/shared';
import type { ArtifactFetcher } from '../delivery/fetcher.js';
import { sha256File } from '../delivery/verify.js';
import type { Tensor } from '../inference/runtime-port.js';

/** A KServe v2 infer request body, as the registry stores a model's golden input. */
const goldenSchema = z.object({
  inputs: z
    .array(
      z.object({
        name: z.string().min(1),
        shape: z.array(z.number().int().nonnegative()),
        datatype: z.string().min(1),
        data: z.array(z.unknown()),
      }),
    )
    .min(1),
});

function flatten(data: unknown[]): (number | boolean | string)[] {
  return data.flat(Infinity as 1) as (number | boolean | string)[];
}

/**
 * Fetches the golden input named by the desired state (same delivery path as the model, by
 * sha256), checks its digest and parses it into tensors for the smoke test.
 */
export async function fetchGoldenInput(
  golden: NonNullable<DesiredModel['golden']>,
  path: string,
  fetcher: ArtifactFetcher,
  forget: () => void,
  model: string,
  version: string,
  signal: AbortSignal,
): Promise<Tensor[]> {
  try {
    await fetcher.fetch({
      model,
      version,
      // The golden file rides the artifact channel; its signature is not checked (the digest is, and it never runs code).
      artifact: { sha256: golden.sha256, size: golden.size, createdAt: 'golden', signature: 'unsigned' },
      path,
      signal,
    });
    const digest = await sha256File(path);
    if (digest !== golden.sha256) throw new EdgefleetError('ARTIFACT_DIGEST_MISMATCH', `golden input of ${model}@${version}: sha256 ${digest} != ${golden.sha256}`);
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(path, 'utf8'));
    } catch (cause) {
      throw new EdgefleetError('INPUT_INVALID', `golden input of ${model}@${version} is not JSON`, { cause });
    }
    const parsed = goldenSchema.safeParse(raw);
    if (!parsed.success) throw new EdgefleetError('INPUT_INVALID', `golden input of ${model}@${version}: ${formatIssues(parsed.error.issues)}`);
    return parsed.data.inputs.map((i) => ({ name: i.name, shape: i.shape, datatype: i.datatype, data: flatten(i.data) as Tensor['data'] }));
  } finally {
    // Fetched per activation, never kept: the next attempt fetches it afresh.
    forget();
    await rm(path, { force: true });
  }
}
