import { randomBytes, scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSecret, hashSecret, verifySecret } from './secrets.js';

describe('device secrets', () => {
  it('verifies the secret it hashed and nothing else', async () => {
    const secret = generateSecret();
    const stored = await hashSecret(secret);
    expect(stored).toMatch(/^sha256\$[\w-]+\$[\w-]+$/);
    expect(stored).not.toContain(secret);
    expect(await verifySecret(secret, stored)).toBe(true);
    expect(await verifySecret(generateSecret(), stored)).toBe(false);
    expect(await verifySecret(`${secret}x`, stored)).toBe(false);
    expect(await verifySecret('', stored)).toBe(false);
  });

  it('salts every hash, so equal secrets do not give equal hashes', async () => {
    expect(await hashSecret('same')).not.toBe(await hashSecret('same'));
  });

  it('generates 256-bit secrets', () => {
    expect(Buffer.from(generateSecret(), 'base64url')).toHaveLength(32);
    expect(generateSecret('eft_')).toMatch(/^eft_/);
  });

  it('still verifies scrypt hashes written by earlier versions', async () => {
    const salt = randomBytes(16);
    const key = scryptSync('legacy-secret', salt, 32, { N: 1024, r: 8, p: 1 });
    const stored = ['scrypt', 1024, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$');
    expect(await verifySecret('legacy-secret', stored)).toBe(true);
    expect(await verifySecret('other', stored)).toBe(false);
  });

  it.each(['', 'sha256', 'sha256$onlysalt', 'md5$a$b', 'scrypt$1$2$3', 'sha256$$'])('rejects a malformed stored hash %j', async (stored) => {
    expect(await verifySecret('x', stored)).toBe(false);
  });
});
