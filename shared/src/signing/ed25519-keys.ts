import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { EdgefleetError } from '../errors/edgefleet-error.js';
import type { ErrorCode } from '../errors/codes.js';

/** An Ed25519 key pair as PEM text: PKCS#8 private (keep it 0600), SPKI public. */
export interface Ed25519KeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

export function generateEd25519KeyPair(): Ed25519KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/**
 * Parses a PEM key and insists on Ed25519: the fleet signing key and device keys are both, and a
 * key of another type must fail loudly with the caller's code, not verify nothing.
 */
export function ed25519Key(kind: 'private' | 'public', pem: string, failure: { code: ErrorCode; message: string }): KeyObject {
  try {
    const key = kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`key type is ${key.asymmetricKeyType ?? 'unknown'}, not ed25519`);
    return key;
  } catch (cause) {
    throw new EdgefleetError(failure.code, failure.message, { cause });
  }
}
