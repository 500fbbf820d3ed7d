import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, signManifest, type ArtifactRef } from '@edgefleet/shared';
import { assertDiskSpace, freeDiskBytes } from './disk-check.js';
import { verifyArtifactFile } from './verify.js';

const dir = mkdtempSync(join(tmpdir(), 'agent-verify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const keys = generateSigningKeyPair();
const bytes = Buffer.from('model bytes '.repeat(100));
const file = join(dir, 'staged.part');
writeFileSync(file, bytes);
const ref = (over: Partial<ArtifactRef> = {}, key = keys.privateKeyPem): ArtifactRef => {
  const base = { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, createdAt: '2026-01-01T00:00:00Z', ...over };
  return { ...base, signature: over.signature ?? signManifest({ name: 'm', version: '1', ...base }, key) };
};

describe('artifact verification', () => {
  it('accepts the promised, signed file', async () => {
    await expect(verifyArtifactFile(file, 'm', '1', ref(), keys.publicKeyPem)).resolves.toBeUndefined();
  });

  it.each([
    ['a size the file does not have', { size: bytes.length + 1 }, undefined, 'ARTIFACT_SIZE_MISMATCH'],
    ['a digest the file does not have', { sha256: 'f'.repeat(64) }, undefined, 'ARTIFACT_DIGEST_MISMATCH'],
    ['a signature by another key', {}, generateSigningKeyPair().privateKeyPem, 'ARTIFACT_SIGNATURE_INVALID'],
    ['a garbage signature', { signature: 'AAAA' }, undefined, 'ARTIFACT_SIGNATURE_INVALID'],
  ])('rejects %s', async (_what, over, key, code) => {
    await expect(verifyArtifactFile(file, 'm', '1', ref(over, key), keys.publicKeyPem)).rejects.toMatchObject({ code });
  });

  it('refuses a download that would eat into the disk margin', async () => {
    const free = await freeDiskBytes(dir);
    await expect(assertDiskSpace(dir, 1, 0)).resolves.toBeUndefined();
    await expect(assertDiskSpace(dir, free, 1024 * 1024 * 1024)).rejects.toMatchObject({ code: 'DISK_SPACE_INSUFFICIENT', details: { dir } });
  });
});
