import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  EdgefleetError,
  modelNameSchema,
  modelVersionSchema,
  signManifest,
  type Blob,
  type DesiredModel,
  type ModelSummary,
  type ModelVersionRecord,
  type PushModelReply,
} from '@edgefleet/shared';
import type { Logger } from 'pino';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { inspectModel } from '../artifacts/inspect-model.js';
import type { Clock } from '../clock.js';
import type { Store } from '../store/store.js';

export interface PushModelInput {
  name: string;
  version: string;
  /** The .onnx bytes, streamed (an HTTP body, a file stream). */
  content: Readable;
  labels?: readonly string[] | undefined;
  notes?: string | undefined;
  source?: string | undefined;
  /** Digest of a golden input already stored with putBlob. */
  goldenSha256?: string | undefined;
  /** Lineage: the actor that pushed it (`token:<id>:<name>`). */
  pushedBy: string;
}

export interface ModelRegistry {
  /**
   * Stores, inspects, signs and registers name@version. The same file (and golden input) pushed again
   * as the same version is answered with the registered record and `alreadyPresent` (idempotent);
   * different content is MODEL_VERSION_EXISTS. Also MODEL_INVALID / PAYLOAD_TOO_LARGE.
   */
  push(input: PushModelInput): Promise<PushModelReply>;
  /** Stores a golden input (a KServe v2 infer request as JSON, ≤ 16 MiB). */
  putGolden(content: Readable): Promise<Blob>;
  list(): Promise<ModelSummary[]>;
  /** MODEL_NOT_FOUND when the name is unknown. */
  versions(name: string): Promise<ModelVersionRecord[]>;
  /** By exact version or by label. MODEL_NOT_FOUND / MODEL_VERSION_NOT_FOUND. */
  get(name: string, versionOrLabel: string): Promise<ModelVersionRecord>;
  /** The desired-state entry for name@version (artifact ref with signature, golden), for the rollout engine. */
  desiredModel(name: string, versionOrLabel: string, extras?: Pick<DesiredModel, 'rolloutId' | 'probation' | 'ep'>): Promise<DesiredModel>;
  /** True when any registered version (or golden input) has this digest. */
  hasArtifact(sha256: string): Promise<boolean>;
}

const GOLDEN_MAX_BYTES = 16 * 1024 * 1024;

export function createModelRegistry(deps: {
  store: Store;
  artifacts: ArtifactStore;
  clock: Clock;
  logger: Logger;
  signingKeyPem: string;
  maxModelBytes?: number;
}): ModelRegistry {
  const { store, artifacts, clock, logger } = deps;
  const maxModelBytes = deps.maxModelBytes ?? 4 * 1024 * 1024 * 1024;

  const referenced = async (sha256: string): Promise<boolean> =>
    (await store.sql.get('SELECT 1 AS x FROM model_versions WHERE sha256 = ? OR golden_sha256 = ?', [sha256, sha256])) !== undefined;

  /** Versions are immutable: a second push of name@version succeeds only if it carries what the first did. */
  const samePushAgain = async (existing: ModelVersionRecord, input: PushModelInput): Promise<PushModelReply> => {
    const { sha256 } = await artifacts.put(input.content, { maxBytes: maxModelBytes });
    const sameGolden = input.goldenSha256 === undefined || input.goldenSha256 === existing.golden?.sha256;
    if (sha256 === existing.sha256 && sameGolden) {
      logger.info({ name: existing.name, version: existing.version, sha256, pushedBy: input.pushedBy }, 'model version already present; push is a no-op');
      return { ...existing, alreadyPresent: true };
    }
    if (!(await referenced(sha256))) await artifacts.remove(sha256);
    const what = sha256 !== existing.sha256 ? `a different file (sha256 ${sha256}, registered ${existing.sha256})` : 'a different golden input';
    throw new EdgefleetError('MODEL_VERSION_EXISTS', `${existing.name}@${existing.version} is already registered with ${what}; versions are immutable — push a new version`);
  };

  const registry: ModelRegistry = {
    async push(input) {
      const name = modelNameSchema.parse(input.name);
      const version = modelVersionSchema.parse(input.version);
      const existing = await store.models.get(name, version);
      if (existing) return await samePushAgain(existing, input);
      if (input.goldenSha256 && (await artifacts.size(input.goldenSha256)) === undefined) {
        input.content.resume();
        throw new EdgefleetError('ARTIFACT_NOT_FOUND', `golden input ${input.goldenSha256} is not uploaded`);
      }
      const { sha256, size } = await artifacts.put(input.content, { maxBytes: maxModelBytes });
      let inspection;
      try {
        if (size === 0) throw new EdgefleetError('MODEL_INVALID', 'the model file is empty');
        inspection = inspectModel(await readFile(artifacts.path(sha256)));
      } catch (err) {
        if (!(await referenced(sha256))) await artifacts.remove(sha256);
        throw err;
      }
      const createdAt = clock.now().toISOString();
      const labels = [...new Set(input.labels ?? [])];
      const record: ModelVersionRecord = {
        name,
        version,
        sha256,
        size,
        createdAt,
        signature: signManifest({ name, version, sha256, size, createdAt }, deps.signingKeyPem),
        labels,
        notes: input.notes,
        source: input.source,
        pushedBy: input.pushedBy,
        inspection,
        golden: input.goldenSha256 ? { sha256: input.goldenSha256, size: (await artifacts.size(input.goldenSha256))! } : undefined,
      };
      // One unit of work on both drivers: the repositories below join it through the async context.
      await store.transaction(async () => {
        if (!(await store.models.insert(record))) throw new EdgefleetError('MODEL_VERSION_EXISTS', `${name}@${version} is already registered`);
        // A label names one version per model: moving it here takes it off the others.
        if (labels.length) {
          for (const other of await store.models.versions(name)) {
            if (other.version === version) continue;
            const kept = other.labels.filter((l) => !labels.includes(l));
            if (kept.length !== other.labels.length) await store.models.setLabels(name, other.version, kept);
          }
        }
      });
      logger.info({ name, version, sha256, size, pushedBy: input.pushedBy }, 'model version registered');
      return { ...record, alreadyPresent: false };
    },

    async putGolden(content) {
      const blob = await artifacts.put(content, { maxBytes: GOLDEN_MAX_BYTES });
      try {
        JSON.parse((await readFile(artifacts.path(blob.sha256))).toString('utf8'));
      } catch (cause) {
        if (!(await referenced(blob.sha256))) await artifacts.remove(blob.sha256);
        throw new EdgefleetError('PAYLOAD_INVALID', 'a golden input must be a JSON inference request', { cause });
      }
      return blob;
    },

    async list() {
      const byName = new Map<string, ModelVersionRecord[]>();
      for (const m of await store.models.all()) byName.set(m.name, [...(byName.get(m.name) ?? []), m]);
      return [...byName.entries()].map(([name, versions]) => {
        const latest = versions[versions.length - 1]!;
        return { name, versions: versions.map((v) => v.version), latest: latest.version, updatedAt: latest.createdAt };
      });
    },

    async versions(name) {
      const versions = await store.models.versions(name);
      if (!versions.length) throw new EdgefleetError('MODEL_NOT_FOUND', `no model named ${name}`);
      return versions;
    },

    async get(name, versionOrLabel) {
      const exact = await store.models.get(name, versionOrLabel);
      if (exact) return exact;
      const versions = await registry.versions(name);
      const labelled = versions.find((v) => v.labels.includes(versionOrLabel));
      if (!labelled) throw new EdgefleetError('MODEL_VERSION_NOT_FOUND', `${name} has no version or label ${versionOrLabel}`);
      return labelled;
    },

    async desiredModel(name, versionOrLabel, extras = {}) {
      const m = await registry.get(name, versionOrLabel);
      return {
        name: m.name,
        version: m.version,
        artifact: { sha256: m.sha256, size: m.size, createdAt: m.createdAt, signature: m.signature },
        ...(m.golden ? { golden: m.golden } : {}),
        ...extras,
      };
    },

    hasArtifact: referenced,
  };
  return registry;
}
