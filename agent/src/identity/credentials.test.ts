import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDeviceToken, generateDeviceKeyPair } from '@edgefleet/shared';
import { createDeviceCredentials } from './credentials.js';

describe('device credentials', () => {
  it('are the configured secret in simple mode', () => {
    const c = createDeviceCredentials({ deviceId: 'cam-1', broker: { url: 'mqtt://x', password: 's3cret', keepaliveSec: 30, reconnectMinMs: 1, reconnectMaxMs: 2 } });
    expect([c.username, c.password()]).toEqual(['cam-1', 's3cret']);
  });

  it('are a fresh token per call, signed by the device key, when enrolled', () => {
    const keys = generateDeviceKeyPair();
    const keyFile = join(mkdtempSync(join(tmpdir(), 'ef-cred-')), 'device-key.pem');
    writeFileSync(keyFile, keys.privateKeyPem, { mode: 0o600 });
    let t = Date.parse('2026-12-03T10:00:00Z');
    const c = createDeviceCredentials({ deviceId: 'cam-1', broker: { url: 'mqtt://x', keepaliveSec: 30, reconnectMinMs: 1, reconnectMaxMs: 2 }, identity: { keyFile, tokenLifetimeS: 600 } }, () => t);
    const first = c.password()!;
    t += 700_000;
    const second = c.password()!;
    const check = (token: string) => checkDeviceToken(token, { deviceId: 'cam-1', publicKeyPem: keys.publicKeyPem, nowMs: t, maxLifetimeS: 3600 });
    expect(check(first)).toEqual({ ok: false, reason: 'token expired' });
    expect(check(second).ok).toBe(true);
  });
});
