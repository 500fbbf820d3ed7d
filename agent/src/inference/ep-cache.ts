import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { epCandidateSchema, executionProviderSchema, type EpCandidate, type ExecutionProvider } from '@edgefleet/shared';

/** What identifies a measured EP choice: the same model on the same runtime and hardware class. */
export interface EpChoiceKey {
  sha256: string;
  ortVersion: string;
  hardwareClass: string;
}

export interface EpChoice {
  ep: ExecutionProvider;
  candidates: EpCandidate[];
  /** Intra-op threads measured faster than the default for this model, if any. */
  intraOpThreads?: number;
  /** ISO time of the measurement. */
  measuredAt: string;
}

export interface EpChoiceCache {
  get(key: EpChoiceKey): EpChoice | undefined;
  set(key: EpChoiceKey, choice: EpChoice): Promise<void>;
  delete(key: EpChoiceKey): Promise<void>;
}

const fileSchema = z.object({
  version: z.literal(1),
  entries: z.record(z.string(), z.object({ ep: executionProviderSchema, candidates: z.array(epCandidateSchema), intraOpThreads: z.number().int().positive().optional(), measuredAt: z.string() })),
});

const MAX_ENTRIES = 256;

function keyString(key: EpChoiceKey): string {
  return `${key.sha256}|${key.ortVersion}|${key.hardwareClass}`;
}

/**
 * EP choices measured at activation, kept so a restart or a reload does not re-benchmark (a
 * TensorRT probe can take minutes). Persisted as a small JSON file (atomic rename) when a path is
 * given; an unreadable or invalid file starts an empty cache rather than failing the agent.
 */
export async function createEpChoiceCache(options: { path?: string } = {}): Promise<EpChoiceCache> {
  const entries = new Map<string, EpChoice>();
  if (options.path) {
    try {
      const parsed = fileSchema.safeParse(JSON.parse(await readFile(options.path, 'utf8')));
      if (parsed.success) for (const [k, v] of Object.entries(parsed.data.entries)) entries.set(k, v);
    } catch {
      // Missing or corrupt: the next measurement rewrites it.
    }
  }
  let writing: Promise<void> = Promise.resolve();
  const persist = async (): Promise<void> => {
    if (!options.path) return;
    const path = options.path;
    const body = JSON.stringify({ version: 1, entries: Object.fromEntries(entries) }, null, 2);
    // Serialize writes so an older snapshot never lands after a newer one.
    writing = writing.catch(() => undefined).then(async () => {
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, body);
      await rename(tmp, path);
    });
    await writing;
  };
  return {
    get: (key) => entries.get(keyString(key)),
    async set(key, choice) {
      const k = keyString(key);
      entries.delete(k);
      entries.set(k, choice);
      while (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!);
      await persist();
    },
    async delete(key) {
      if (entries.delete(keyString(key))) await persist();
    },
  };
}
