import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { ed25519Key, generateEd25519KeyPair, type Ed25519KeyPair } from './ed25519-keys.js';

/*
 * A device's own Ed25519 key pair (zero-touch provisioning). The private key is made on the device
 * and never leaves it; the control plane stores only the public key, so nothing in its store lets
 * anyone speak as the device. Three messages are signed with it, all defined here so agent and
 * control plane cannot drift: the enrolment proof (possession of the key, bound to the
 * provisioning key and a time), the key-rotation proof (the old key authorising its successor) and the broker password (a short-lived token).
 */

/** The device's own pair: the private half never leaves the device, the public one is sent at enrolment. */
export type DeviceKeyPair = Ed25519KeyPair;

export const generateDeviceKeyPair = (): DeviceKeyPair => generateEd25519KeyPair();

const devicePublicKey = (pem: string): KeyObject => ed25519Key('public', pem, { code: 'DEVICE_KEY_INVALID', message: 'the device public key is not an Ed25519 SPKI PEM key' });
const devicePrivateKey = (pem: string): KeyObject => ed25519Key('private', pem, { code: 'DEVICE_KEY_INVALID', message: 'the device private key is not an Ed25519 PKCS#8 PEM key' });

/** sha256 of the key's DER SPKI, hex: how logs, the audit trail and the CLI name a device key. */
export function deviceKeyFingerprint(publicKeyPem: string): string {
  return createHash('sha256').update(devicePublicKey(publicKeyPem).export({ type: 'spki', format: 'der' })).digest('hex');
}

/** Canonical public key text (re-exported PEM), so the same key written differently compares equal. */
export function normaliseDevicePublicKey(publicKeyPem: string): string {
  return devicePublicKey(publicKeyPem).export({ type: 'spki', format: 'pem' }).toString();
}

export interface EnrolmentClaim {
  deviceId: string;
  publicKey: string;
  provisioningKey: string;
  /** ISO time of signing: the control plane accepts a proof only within a short window of its clock. */
  at: string;
  nonce: string;
}

/**
 * Every proof a device signs is lines of text under a purpose tag, so a signature made for one
 * purpose (enrolment, key rotation) can never be presented as another.
 */
const proofMessage = (purpose: string, fields: readonly string[]): Buffer => Buffer.from([purpose, ...fields].join('\n'));

const signProof = (message: Buffer, privateKeyPem: string): string => sign(null, message, devicePrivateKey(privateKeyPem)).toString('base64');

/** False for a wrong signature; throws DEVICE_KEY_INVALID when the key is not an Ed25519 key. */
function verifyProof(message: Buffer, publicKeyPem: string, proofB64: string): boolean {
  const key = devicePublicKey(publicKeyPem);
  const signature = Buffer.from(proofB64, 'base64');
  if (signature.length !== 64) return false;
  return verify(null, message, key, signature);
}

/**
 * The bytes an enrolment proof signs. The provisioning key enters as its digest, so a proof names
 * the key it was made for without the signature revealing it.
 */
export function enrolmentProofMessage(claim: EnrolmentClaim): Buffer {
  const keyDigest = createHash('sha256').update(claim.provisioningKey).digest('hex');
  return proofMessage('edgefleet-enrol-v1', [claim.deviceId, deviceKeyFingerprint(claim.publicKey), keyDigest, claim.at, claim.nonce]);
}

export const signEnrolmentProof = (claim: EnrolmentClaim, privateKeyPem: string): string => signProof(enrolmentProofMessage(claim), privateKeyPem);

/** False for a wrong signature; throws DEVICE_KEY_INVALID when the presented key is not an Ed25519 key. */
export const verifyEnrolmentProof = (claim: EnrolmentClaim, proofB64: string): boolean => verifyProof(enrolmentProofMessage(claim), claim.publicKey, proofB64);

export interface KeyRotationClaim {
  deviceId: string;
  /** The key that replaces the registered one (SPKI PEM). */
  newPublicKey: string;
  at: string;
  nonce: string;
}

/**
 * The bytes a key-rotation proof signs: the registered (old) key signs it to authorise the change,
 * the new key signs the same bytes to show the device holds it. The old key's fingerprint is in
 * the message, so a proof is bound to the one key it replaces.
 */
export function keyRotationProofMessage(claim: KeyRotationClaim, oldPublicKeyPem: string): Buffer {
  return proofMessage('edgefleet-rotate-key-v1', [claim.deviceId, deviceKeyFingerprint(oldPublicKeyPem), deviceKeyFingerprint(claim.newPublicKey), claim.at, claim.nonce]);
}

/** Both signatures of a rotation: `proof` by the old key, `newKeyProof` by the new one. */
export function signKeyRotation(claim: KeyRotationClaim, keys: { oldPrivateKeyPem: string; oldPublicKeyPem: string; newPrivateKeyPem: string }): { proof: string; newKeyProof: string } {
  const message = keyRotationProofMessage(claim, keys.oldPublicKeyPem);
  return { proof: signProof(message, keys.oldPrivateKeyPem), newKeyProof: signProof(message, keys.newPrivateKeyPem) };
}

/** True only when the registered key signed `proof` and the new key signed `newKeyProof`. */
export function verifyKeyRotation(claim: KeyRotationClaim, oldPublicKeyPem: string, proofs: { proof: string; newKeyProof: string }): boolean {
  const message = keyRotationProofMessage(claim, oldPublicKeyPem);
  return verifyProof(message, oldPublicKeyPem, proofs.proof) && verifyProof(message, claim.newPublicKey, proofs.newKeyProof);
}

/** Broker passwords signed by a device key start with this; anything else is a secret (simple mode). */
export const DEVICE_TOKEN_PREFIX = 'edk1.';

export interface DeviceTokenClaims {
  /** Device id. */
  d: string;
  /** Issued and expiry times, seconds since the epoch. */
  iat: number;
  exp: number;
}

/** `edk1.<claims base64url>.<Ed25519 signature base64url>`: what the agent sends as its MQTT/HTTP password. */
export function mintDeviceToken(claims: DeviceTokenClaims, privateKeyPem: string): string {
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signature = sign(null, Buffer.from(`${DEVICE_TOKEN_PREFIX}${body}`), devicePrivateKey(privateKeyPem)).toString('base64url');
  return `${DEVICE_TOKEN_PREFIX}${body}.${signature}`;
}

export type DeviceTokenCheck = { ok: true; claims: DeviceTokenClaims } | { ok: false; reason: string };

/**
 * Checks a device token against the registered public key: signature, device id, and a lifetime
 * no longer than `maxLifetimeS` (so a token copied off the wire is worthless soon after).
 */
export function checkDeviceToken(token: string, options: { deviceId: string; publicKeyPem: string; nowMs: number; maxLifetimeS: number; skewS?: number }): DeviceTokenCheck {
  if (!token.startsWith(DEVICE_TOKEN_PREFIX)) return { ok: false, reason: 'not a device token' };
  const dot = token.lastIndexOf('.');
  if (dot <= DEVICE_TOKEN_PREFIX.length) return { ok: false, reason: 'malformed token' };
  const signed = token.slice(0, dot);
  const signature = Buffer.from(token.slice(dot + 1), 'base64url');
  if (signature.length !== 64 || !verify(null, Buffer.from(signed), devicePublicKey(options.publicKeyPem), signature)) return { ok: false, reason: 'signature does not verify' };
  let claims: DeviceTokenClaims;
  try {
    claims = JSON.parse(Buffer.from(signed.slice(DEVICE_TOKEN_PREFIX.length), 'base64url').toString('utf8')) as DeviceTokenClaims;
  } catch {
    return { ok: false, reason: 'malformed claims' };
  }
  if (claims.d !== options.deviceId) return { ok: false, reason: 'token names another device' };
  if (!Number.isFinite(claims.iat) || !Number.isFinite(claims.exp)) return { ok: false, reason: 'malformed claims' };
  const now = options.nowMs / 1000;
  const skew = options.skewS ?? 300;
  if (claims.exp <= now) return { ok: false, reason: 'token expired' };
  if (claims.iat > now + skew) return { ok: false, reason: 'token issued in the future' };
  if (claims.exp - claims.iat > options.maxLifetimeS) return { ok: false, reason: `token lifetime over ${options.maxLifetimeS} s` };
  return { ok: true, claims };
}
