import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createArtifactStore, type ArtifactStore } from './artifact-store.js';
import { createOpenArtifacts } from './open-artifacts.js';

let dir: string;
let store: ArtifactStore;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cp-open-artifacts-'));
  store = await createArtifactStore(dir);
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

describe('open artifacts (real files)', () => {
  it('reads any range through one kept-open handle, short at the end of the file', async () => {
    const { sha256 } = await store.put(Readable.from([bytes]));
    const files = createOpenArtifacts(store);
    try {
      expect(await files.size(sha256)).toBe(1000);
      const target = Buffer.alloc(300);
      expect(await files.readInto(sha256, target, 100)).toBe(300);
      expect(target).toEqual(bytes.subarray(100, 400));
      expect(await files.readInto(sha256, target, 900)).toBe(100);
      expect(target.subarray(0, 100)).toEqual(bytes.subarray(900));
    } finally {
      await files.close();
    }
  });

  it('does not remember a missing file: it is found once pushed', async () => {
    const files = createOpenArtifacts(store);
    const sha = '0123456789abcdef'.repeat(4);
    try {
      expect(await files.size(sha)).toBeUndefined();
      expect(await files.readInto(sha, Buffer.alloc(4), 0)).toBe(0);
      const { sha256 } = await store.put(Readable.from([bytes]));
      expect(await files.size(sha256)).toBe(1000);
    } finally {
      await files.close();
    }
  });

  it('keeps at most maxOpen files open and still reads an evicted one again', async () => {
    const shas = await Promise.all([1, 2, 3].map(async (n) => (await store.put(Readable.from([Buffer.alloc(10, n)]))).sha256));
    const files = createOpenArtifacts(store, { maxOpen: 2 });
    try {
      for (const [i, sha] of shas.entries()) {
        const target = Buffer.alloc(10);
        expect(await files.readInto(sha, target, 0)).toBe(10);
        expect(target).toEqual(Buffer.alloc(10, i + 1));
      }
      const again = Buffer.alloc(10);
      expect(await files.readInto(shas[0]!, again, 0)).toBe(10);
      expect(again).toEqual(Buffer.alloc(10, 1));
    } finally {
      await files.close();
    }
  });
});
