import { sign, verify, type KeyObject } from 'node:crypto';
import { EdgefleetError } from '../errors/edgefleet-error.js';
import { ed25519Key, generateEd25519KeyPair, type Ed25519KeyPair } from './ed25519-keys.js';
import { canonicalManifest, type ArtifactManifest } from './manifest.js';

/** The fleet's signing key pair: the public half goes into every agent's config. */
export type SigningKeyPair = Ed25519KeyPair;

export const generateSigningKeyPair = (): SigningKeyPair => generateEd25519KeyPair();

const privateKey = (pem: string): KeyObject => ed25519Key('private', pem, { code: 'SIGNING_KEY_INVALID', message: 'the fleet signing key is not an Ed25519 private key (PKCS#8 PEM)' });
const publicKey = (pem: string): KeyObject => ed25519Key('public', pem, { code: 'SIGNING_KEY_INVALID', message: 'the fleet public key is not an Ed25519 public key (SPKI PEM)' });

/** Signs the canonical manifest; returns the signature in base64. */
export function signManifest(manifest: ArtifactManifest, privateKeyPem: string): string {
  return sign(null, canonicalManifest(manifest), privateKey(privateKeyPem)).toString('base64');
}

/** True only when `signatureB64` is a valid signature of exactly this manifest by the key's owner. */
export function verifyManifest(manifest: ArtifactManifest, signatureB64: string, publicKeyPem: string): boolean {
  const key = publicKey(publicKeyPem);
  const signature = Buffer.from(signatureB64, 'base64');
  if (signature.length !== 64) return false;
  return verify(null, canonicalManifest(manifest), key, signature);
}

/** Throws ARTIFACT_SIGNATURE_INVALID unless the signature verifies. */
export function assertManifestSignature(manifest: ArtifactManifest, signatureB64: string, publicKeyPem: string): void {
  if (!verifyManifest(manifest, signatureB64, publicKeyPem)) {
    throw new EdgefleetError('ARTIFACT_SIGNATURE_INVALID', `signature of ${manifest.name}@${manifest.version} does not verify against the fleet public key`, {
      details: { name: manifest.name, version: manifest.version, sha256: manifest.sha256 },
    });
  }
}
