import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from './ed25519.js';
import {
  checkDeviceToken,
  deviceKeyFingerprint,
  generateDeviceKeyPair,
  mintDeviceToken,
  normaliseDevicePublicKey,
  signEnrolmentProof,
  signKeyRotation,
  verifyEnrolmentProof,
  verifyKeyRotation,
  type EnrolmentClaim,
} from './device-key.js';

const keys = generateDeviceKeyPair();
const other = generateDeviceKeyPair();
const claim: EnrolmentClaim = { deviceId: 'cam-1', publicKey: keys.publicKeyPem, provisioningKey: 'pk_secret', at: '2026-12-03T10:00:00.000Z', nonce: 'abcdefghijklmnop' };
const now = Date.parse('2026-12-03T10:00:00Z');

describe('enrolment proof', () => {
  it('verifies for the key that signed it and nothing else', () => {
    const proof = signEnrolmentProof(claim, keys.privateKeyPem);
    expect(verifyEnrolmentProof(claim, proof)).toBe(true);
    for (const changed of [{ deviceId: 'cam-2' }, { provisioningKey: 'pk_other' }, { at: '2026-12-03T10:00:01.000Z' }, { nonce: 'abcdefghijklmnoq' }, { publicKey: other.publicKeyPem }]) {
      expect(verifyEnrolmentProof({ ...claim, ...changed }, proof), JSON.stringify(Object.keys(changed))).toBe(false);
    }
    expect(verifyEnrolmentProof(claim, signEnrolmentProof(claim, other.privateKeyPem))).toBe(false);
    expect(verifyEnrolmentProof(claim, 'AAAA')).toBe(false);
  });

  it('refuses a key that is not Ed25519 with DEVICE_KEY_INVALID', () => {
    expect(() => verifyEnrolmentProof({ ...claim, publicKey: 'not a key' }, 'x')).toThrow(expect.objectContaining({ code: 'DEVICE_KEY_INVALID' }));
  });
});

describe('key rotation proof', () => {
  const next = generateDeviceKeyPair();
  const claim = { deviceId: 'cam-1', newPublicKey: next.publicKeyPem, at: '2026-12-03T10:00:00.000Z', nonce: 'n'.repeat(16) };
  const proofs = signKeyRotation(claim, { oldPrivateKeyPem: keys.privateKeyPem, oldPublicKeyPem: keys.publicKeyPem, newPrivateKeyPem: next.privateKeyPem });

  it('verifies only against the old key it names, with both signatures', () => {
    expect(verifyKeyRotation(claim, keys.publicKeyPem, proofs)).toBe(true);
    expect(verifyKeyRotation(claim, other.publicKeyPem, proofs)).toBe(false);
    expect(verifyKeyRotation(claim, keys.publicKeyPem, { ...proofs, newKeyProof: proofs.proof })).toBe(false);
    expect(verifyKeyRotation({ ...claim, deviceId: 'cam-2' }, keys.publicKeyPem, proofs)).toBe(false);
    expect(verifyKeyRotation({ ...claim, newPublicKey: other.publicKeyPem }, keys.publicKeyPem, proofs)).toBe(false);
  });

  it('cannot be passed off as an enrolment proof, or the other way round', () => {
    const enrolment: EnrolmentClaim = { deviceId: 'cam-1', publicKey: keys.publicKeyPem, provisioningKey: 'efp_x', at: claim.at, nonce: claim.nonce };
    expect(verifyEnrolmentProof(enrolment, proofs.proof)).toBe(false);
    const enrolProof = signEnrolmentProof(enrolment, keys.privateKeyPem);
    expect(verifyKeyRotation(claim, keys.publicKeyPem, { proof: enrolProof, newKeyProof: proofs.newKeyProof })).toBe(false);
  });
});

describe('device token', () => {
  const mint = (over: Partial<{ d: string; iat: number; exp: number }> = {}, key = keys.privateKeyPem): string =>
    mintDeviceToken({ d: 'cam-1', iat: now / 1000, exp: now / 1000 + 600, ...over }, key);
  const check = (token: string, nowMs = now) => checkDeviceToken(token, { deviceId: 'cam-1', publicKeyPem: keys.publicKeyPem, nowMs, maxLifetimeS: 3600 });

  it.each([
    ['a fresh token', () => mint(), now, true, ''],
    ['an expired token', () => mint(), now + 601_000, false, 'token expired'],
    ['a token for another device', () => mint({ d: 'cam-2' }), now, false, 'token names another device'],
    ['a token signed by another key', () => mint({}, other.privateKeyPem), now, false, 'signature does not verify'],
    ['a token living too long', () => mint({ exp: now / 1000 + 7200 }), now, false, 'token lifetime over 3600 s'],
    ['a token from the future', () => mint({ iat: now / 1000 + 3600, exp: now / 1000 + 3700 }), now, false, 'token issued in the future'],
    ['a plain secret', () => 'secret', now, false, 'not a device token'],
  ])('%s', (_name, token, at, ok, reason) => {
    const result = check(token(), at);
    expect(result.ok).toBe(ok);
    if (!result.ok) expect(result.reason).toBe(reason);
  });

  it('is refused when its body is altered', () => {
    const token = mint();
    const [prefix, body, sig] = token.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ d: 'cam-1', iat: now / 1000, exp: now / 1000 + 3000 })).toString('base64url');
    expect(check(`${prefix}.${forged}.${sig}`).ok).toBe(false);
    expect(check(`${prefix}.${body}.${sig}`).ok).toBe(true);
  });
});

describe('fingerprints', () => {
  it('are stable across PEM spellings and differ between keys', () => {
    expect(deviceKeyFingerprint(keys.publicKeyPem)).toMatch(/^[0-9a-f]{64}$/);
    expect(deviceKeyFingerprint(`\n${keys.publicKeyPem.replace(/\n/g, '\r\n')}`)).toBe(deviceKeyFingerprint(keys.publicKeyPem));
    expect(normaliseDevicePublicKey(keys.publicKeyPem.trimEnd())).toBe(keys.publicKeyPem);
    expect(deviceKeyFingerprint(other.publicKeyPem)).not.toBe(deviceKeyFingerprint(keys.publicKeyPem));
    // The fleet signing key is Ed25519 too, so it parses; what keeps it out is the enrolment rule.
    expect(deviceKeyFingerprint(generateSigningKeyPair().publicKeyPem)).toMatch(/^[0-9a-f]{64}$/);
  });
});
