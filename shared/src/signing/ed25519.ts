import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { EdgefleetError } from '../errors/edgefleet-error.js';
import { canonicalManifest, type ArtifactManifest } from './manifest.js';

export interface SigningKeyPair {
  /** PKCS#8 PEM; keep it mode 0600. */
  privateKeyPem: string;
  /** SPKI PEM; goes into every agent's config as the fleet public key. */
  publicKeyPem: string;
}

export function generateSigningKeyPair(): SigningKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function privateKey(pem: string): KeyObject {
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`key type is ${key.asymmetricKeyType ?? 'unknown'}, not ed25519`);
    return key;
  } catch (cause) {
    throw new EdgefleetError('SIGNING_KEY_INVALID', 'the fleet signing key is not an Ed25519 private key (PKCS#8 PEM)', { cause });
  }
}

function publicKey(pem: string): KeyObject {
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`key type is ${key.asymmetricKeyType ?? 'unknown'}, not ed25519`);
    return key;
  } catch (cause) {
    throw new EdgefleetError('SIGNING_KEY_INVALID', 'the fleet public key is not an Ed25519 public key (SPKI PEM)', { cause });
  }
}

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
