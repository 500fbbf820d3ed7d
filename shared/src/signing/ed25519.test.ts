import { describe, expect, it } from 'vitest';
import { assertManifestSignature, generateSigningKeyPair, signManifest, verifyManifest } from './ed25519.js';
import { canonicalManifest, type ArtifactManifest } from './manifest.js';
import { isEdgefleetError } from '../errors/edgefleet-error.js';

const manifest: ArtifactManifest = {
  name: 'text-cls',
  version: '1.0.0',
  sha256: 'a'.repeat(64),
  size: 1234,
  createdAt: '2026-11-26T00:00:00.000Z',
};

describe('Ed25519 manifest signing', () => {
  const keys = generateSigningKeyPair();
  const signature = signManifest(manifest, keys.privateKeyPem);

  it('verifies a signature made by the matching key', () => {
    expect(verifyManifest(manifest, signature, keys.publicKeyPem)).toBe(true);
    expect(() => assertManifestSignature(manifest, signature, keys.publicKeyPem)).not.toThrow();
  });

  it('is independent of field order', () => {
    const reordered = { size: 1234, createdAt: manifest.createdAt, version: '1.0.0', sha256: manifest.sha256, name: 'text-cls' };
    expect(canonicalManifest(reordered).equals(canonicalManifest(manifest))).toBe(true);
    expect(verifyManifest(reordered, signature, keys.publicKeyPem)).toBe(true);
  });

  it.each([
    ['name', { ...manifest, name: 'other' }],
    ['version', { ...manifest, version: '1.0.1' }],
    ['sha256', { ...manifest, sha256: 'b'.repeat(64) }],
    ['size', { ...manifest, size: 1235 }],
    ['createdAt', { ...manifest, createdAt: '2026-11-27T00:00:00.000Z' }],
  ])('fails when %s changes', (_field, changed) => {
    expect(verifyManifest(changed, signature, keys.publicKeyPem)).toBe(false);
  });

  it('fails on a flipped signature byte', () => {
    const bytes = Buffer.from(signature, 'base64');
    bytes[10] = (bytes[10] ?? 0) ^ 0x01;
    expect(verifyManifest(manifest, bytes.toString('base64'), keys.publicKeyPem)).toBe(false);
  });

  it('fails with another key and reports ARTIFACT_SIGNATURE_INVALID', () => {
    const other = generateSigningKeyPair();
    expect(verifyManifest(manifest, signature, other.publicKeyPem)).toBe(false);
    try {
      assertManifestSignature(manifest, signature, other.publicKeyPem);
      expect.unreachable();
    } catch (err) {
      expect(isEdgefleetError(err, 'ARTIFACT_SIGNATURE_INVALID')).toBe(true);
    }
  });

  it('fails on a truncated or empty signature without throwing', () => {
    expect(verifyManifest(manifest, signature.slice(0, 20), keys.publicKeyPem)).toBe(false);
    expect(verifyManifest(manifest, '', keys.publicKeyPem)).toBe(false);
  });

  it('rejects a key that is not Ed25519 with SIGNING_KEY_INVALID', () => {
    expect(() => verifyManifest(manifest, signature, 'not a key')).toThrow(expect.objectContaining({ code: 'SIGNING_KEY_INVALID' }));
    expect(() => signManifest(manifest, keys.publicKeyPem)).toThrow(expect.objectContaining({ code: 'SIGNING_KEY_INVALID' }));
  });

  it('refuses to sign an invalid manifest', () => {
    expect(() => signManifest({ ...manifest, sha256: 'xyz' }, keys.privateKeyPem)).toThrow();
  });
});
