import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { EdgefleetError, type ArtifactRef } from '@edgefleet/shared';
import type { InstalledVersion, Pointers, StateStore } from '../store/state-store.js';
import { fsyncDir, fsyncFile, writeFileAtomic } from './fs-atomic.js';
import { manifestOf } from '../delivery/verify.js';

export const MODEL_FILE = 'model.onnx';

export interface ModelRepository {
  readonly modelsDir: string;
  readonly stagingDir: string;
  init(): Promise<void>;
  stagingPath(sha256: string): string;
  modelPath(model: string, version: string): string;
  /** Moves a VERIFIED staging file to models/<name>/<version>/ with its manifest, durably. */
  install(model: string, version: string, artifact: ArtifactRef, stagingFile: string): Promise<InstalledVersion>;
  installed(model: string, version: string): InstalledVersion | undefined;
  pointers(model: string): Pointers;
  /** active ← version, previous ← the old active; pointer file and database both updated. */
  activate(model: string, version: string): Promise<Pointers>;
  /** active ← previous; the version rolled away from is no longer a rollback target. */
  rollback(model: string): Promise<Pointers>;
  /** Removes versions outside `keep`, oldest first, leaving `keepExtra` more. */
  prune(model: string, keep: ReadonlySet<string>, keepExtra: number): Promise<string[]>;
  /** Removes one version that is neither active nor previous (it failed to load or smoke-test). */
  removeVersion(model: string, version: string): Promise<void>;
  /** Removes a model entirely (it left the desired state). */
  remove(model: string): Promise<void>;
  /** Deletes staging files with no download record (left by a crash between steps). */
  cleanStaging(): Promise<void>;
}

export function createModelRepository({ dataDir, store }: { dataDir: string; store: StateStore }): ModelRepository {
  const modelsDir = join(dataDir, 'models');
  const stagingDir = join(dataDir, 'staging');
  const modelPath = (model: string, version: string): string => join(modelsDir, model, version, MODEL_FILE);

  async function writePointerFile(model: string, p: Pointers): Promise<void> {
    await writeFileAtomic(join(modelsDir, model, 'active.json'), JSON.stringify({ model, ...p, updatedAt: new Date().toISOString() }));
  }

  return {
    modelsDir,
    stagingDir,
    async init() {
      await mkdir(modelsDir, { recursive: true });
      await mkdir(stagingDir, { recursive: true });
      // A kill can leave folders no record points at: an install's `.<v>.installing`, a version whose
      // install had not been recorded yet, or one whose removal (record first, then the folder) was cut
      // off halfway. None is ever served; clear them before anything reads the folder.
      for (const model of await readdir(modelsDir, { withFileTypes: true })) {
        if (!model.isDirectory()) continue;
        const known = new Set(store.listInstalled(model.name).map((v) => v.version));
        for (const entry of await readdir(join(modelsDir, model.name), { withFileTypes: true })) {
          if (entry.isDirectory() && (entry.name.startsWith('.') || !known.has(entry.name))) await rm(join(modelsDir, model.name, entry.name), { recursive: true, force: true });
        }
      }
    },
    stagingPath: (sha256) => join(stagingDir, `${sha256}.part`),
    modelPath,

    async install(model, version, artifact, stagingFile) {
      const dir = join(modelsDir, model, version);
      const tmp = join(modelsDir, model, `.${version}.installing`);
      await rm(tmp, { recursive: true, force: true });
      await mkdir(tmp, { recursive: true });
      await rename(stagingFile, join(tmp, MODEL_FILE));
      await writeFileAtomic(join(tmp, 'manifest.json'), JSON.stringify({ ...manifestOf(model, version, artifact), signature: artifact.signature }, null, 2));
      await fsyncFile(join(tmp, MODEL_FILE));
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
      await fsyncDir(join(modelsDir, model));
      const v: InstalledVersion = { model, version, sha256: artifact.sha256, size: artifact.size, path: join(dir, MODEL_FILE), installedAt: new Date().toISOString() };
      store.addInstalled(v, manifestOf(model, version, artifact));
      return v;
    },
    installed: (model, version) => store.listInstalled(model).find((v) => v.version === version),
    pointers: (model) => store.pointers(model),

    async activate(model, version) {
      const current = store.pointers(model);
      const next: Pointers = current.active === version ? current : { active: version, ...(current.active ? { previous: current.active } : {}) };
      await writePointerFile(model, next);
      store.setPointers(model, next);
      return next;
    },
    async rollback(model) {
      const current = store.pointers(model);
      if (!current.previous) throw new EdgefleetError('ROLLBACK_UNAVAILABLE', `${model} has no previous version to roll back to`);
      const next: Pointers = { active: current.previous };
      await writePointerFile(model, next);
      store.setPointers(model, next);
      return next;
    },
    async prune(model, keep, keepExtra) {
      const candidates = store.listInstalled(model).filter((v) => !keep.has(v.version));
      const removed = candidates.slice(0, Math.max(0, candidates.length - keepExtra));
      for (const v of removed) {
        store.removeInstalled(model, v.version);
        await rm(join(modelsDir, model, v.version), { recursive: true, force: true });
      }
      return removed.map((v) => v.version);
    },
    async removeVersion(model, version) {
      const p = store.pointers(model);
      if (p.active === version || p.previous === version) return;
      store.removeInstalled(model, version);
      await rm(join(modelsDir, model, version), { recursive: true, force: true });
    },
    async remove(model) {
      for (const v of store.listInstalled(model)) store.removeInstalled(model, v.version);
      store.deletePointers(model);
      await rm(join(modelsDir, model), { recursive: true, force: true });
    },
    async cleanStaging() {
      const known = new Set(store.listDownloads().map((d) => d.path));
      for (const name of await readdir(stagingDir)) {
        const path = join(stagingDir, name);
        if (!known.has(path) && (await stat(path)).isFile()) await rm(path, { force: true });
      }
    },
  };
}
