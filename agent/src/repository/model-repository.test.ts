import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type Database from 'better-sqlite3';
import { openDatabase } from '../store/database.js';
import { createStateStore, type StateStore } from '../store/state-store.js';
import { createModelRepository, type ModelRepository } from './model-repository.js';

let dir: string;
let db: Database.Database;
let store: StateStore;
let repo: ModelRepository;
const artifact = (v: string) => ({ sha256: v.padEnd(64, '0'), size: 3, createdAt: 'now', signature: 'sig' });

async function install(version: string): Promise<void> {
  const staged = repo.stagingPath(artifact(version).sha256);
  writeFileSync(staged, `v${version}`);
  await repo.install('m', version, artifact(version), staged);
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agent-repo-'));
  db = openDatabase(join(dir, 'state.db'));
  store = createStateStore(db);
  repo = createModelRepository({ dataDir: dir, store });
  await repo.init();
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('model repository (real files, real SQLite)', () => {
  it('installs models/<name>/<version>/ with its manifest and moves the staging file', async () => {
    await install('1');
    expect(readFileSync(repo.modelPath('m', '1'), 'utf8')).toBe('v1');
    expect(JSON.parse(readFileSync(join(dir, 'models/m/1/manifest.json'), 'utf8'))).toMatchObject({ name: 'm', version: '1', signature: 'sig' });
    expect(existsSync(repo.stagingPath(artifact('1').sha256))).toBe(false);
    expect(repo.installed('m', '1')?.sha256).toBe(artifact('1').sha256);
  });

  it('activates atomically, keeps the previous for rollback, and rolls back once', async () => {
    await install('1');
    await install('2');
    await repo.activate('m', '1');
    expect(await repo.activate('m', '2')).toEqual({ active: '2', previous: '1' });
    expect(JSON.parse(readFileSync(join(dir, 'models/m/active.json'), 'utf8'))).toMatchObject({ active: '2', previous: '1' });
    expect(await repo.rollback('m')).toEqual({ active: '1' });
    await expect(repo.rollback('m')).rejects.toMatchObject({ code: 'ROLLBACK_UNAVAILABLE' });
  });

  it('prunes everything but the kept versions, oldest first, honouring extras', async () => {
    for (const v of ['1', '2', '3', '4']) await install(v);
    expect(await repo.prune('m', new Set(['4', '3']), 1)).toEqual(['1']);
    expect(await repo.prune('m', new Set(['4', '3']), 0)).toEqual(['2']);
    expect(store.listInstalled('m').map((v) => v.version).sort()).toEqual(['3', '4']);
    expect(existsSync(join(dir, 'models/m/1'))).toBe(false);
  });

  it('never removes the active or previous version individually', async () => {
    await install('1');
    await repo.activate('m', '1');
    await repo.removeVersion('m', '1');
    expect(repo.installed('m', '1')).toBeDefined();
  });

  it('clears, at start, the folders a kill left behind and keeps every recorded version intact', async () => {
    await install('1');
    await install('2');
    await repo.activate('m', '2');
    // A removal cut off after its record went (a half-deleted folder), an unfinished install, an unrecorded one.
    store.removeInstalled('m', '1');
    rmSync(join(dir, 'models/m/1/model.onnx'));
    for (const d of ['.3.installing', '4']) mkdirSync(join(dir, 'models/m', d));
    const restarted = createModelRepository({ dataDir: dir, store });
    await restarted.init();
    expect(readdirSync(join(dir, 'models/m')).sort()).toEqual(['2', 'active.json']);
    expect(readFileSync(restarted.modelPath('m', '2'), 'utf8')).toBe('v2');
  });

  it('cleans staging files no download record knows', async () => {
    writeFileSync(join(repo.stagingDir, 'orphan.part'), 'x');
    store.startDownload({ sha256: 'a'.repeat(64), model: 'm', version: '9', size: 1, chunkBytes: 1, path: repo.stagingPath('a'.repeat(64)) });
    writeFileSync(repo.stagingPath('a'.repeat(64)), 'y');
    await repo.cleanStaging();
    expect(existsSync(join(repo.stagingDir, 'orphan.part'))).toBe(false);
    expect(existsSync(repo.stagingPath('a'.repeat(64)))).toBe(true);
  });
});
