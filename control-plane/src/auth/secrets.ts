import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/*
 * Device secrets and API tokens are 256-bit random values the control plane generates itself, never
 * passwords a person chose. Key stretching protects low-entropy secrets from guessing after a
 * database leak; against 2^256 possibilities it adds nothing but cost — and that cost was the
 * fleet's bottleneck (scrypt N=2^14 capped bulk provisioning and the connect storm of a restarted
 * fleet at ~15 devices/s on a 2-core server). So secrets are stored as salted SHA-256. Hashes
 * written by earlier versions (`scrypt$...`) still verify.
 */
const KEY_BYTES = 32;

function scryptAsync(secret: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(secret, salt, KEY_BYTES, { ...options, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))));
}

function sha256(salt: Buffer, secret: string): Buffer {
  return createHash('sha256').update(salt).update(secret).digest();
}

/** A new random secret (256 bits, base64url): shown once, stored only as its hash. */
export function generateSecret(prefix = ''): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** `sha256$salt$hash` (base64url parts), self-describing so the scheme can change later. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  return ['sha256', salt.toString('base64url'), sha256(salt, secret).toString('base64url')].join('$');
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  let expected: Buffer;
  let actual: Buffer;
  if (parts[0] === 'sha256' && parts.length === 3) {
    const [, salt, key] = parts as [string, string, string];
    expected = Buffer.from(key, 'base64url');
    actual = sha256(Buffer.from(salt, 'base64url'), secret);
  } else if (parts[0] === 'scrypt' && parts.length === 6) {
    const [, n, r, p, salt, key] = parts as [string, string, string, string, string, string];
    expected = Buffer.from(key, 'base64url');
    actual = await scryptAsync(secret, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  } else {
    return false;
  }
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** API tokens are 256-bit random, so a fast hash is enough to make a stolen database useless. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
