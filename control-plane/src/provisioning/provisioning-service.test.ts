import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateDeviceKeyPair, mintDeviceToken, signEnrolmentProof, type DeviceKeyPair, type EnrolRequest } from '@edgefleet/shared';
import type { Clock } from '../clock.js';
import { createDeviceRegistry, type DeviceRegistry } from '../registry/device-registry.js';
import { createSqliteDatabase } from '../store/sqlite-database.js';
import { createStoreFromDatabase, type Store } from '../store/store.js';
import { createProvisioningService, type ProvisioningService } from './provisioning-service.js';
import { PROVISIONING_MIGRATIONS, createProvisioningStore } from './provisioning-store.js';

let now = Date.parse('2026-12-03T10:00:00Z');
const clock: Clock = { now: () => new Date(now) };
let store: Store;
let devices: DeviceRegistry;
let service: ProvisioningService;

beforeEach(async () => {
  now = Date.parse('2026-12-03T10:00:00Z');
  store = await createStoreFromDatabase(createSqliteDatabase(':memory:'));
  const tables = await store.tables('provisioning', PROVISIONING_MIGRATIONS);
  devices = createDeviceRegistry({ store, clock, fleetPublicKeyPem: generateDeviceKeyPair().publicKeyPem, brokerUrl: () => 'mqtt://cp.example:1883' });
  service = createProvisioningService({ store, provisioning: createProvisioningStore(tables), devices, clock, logger: pino({ level: 'silent' }) });
});
afterEach(async () => store.close());

function request(deviceId: string, provisioningKey: string, keys: DeviceKeyPair, over: Partial<EnrolRequest> = {}): EnrolRequest {
  const claim = { deviceId, publicKey: keys.publicKeyPem, provisioningKey, at: new Date(now).toISOString(), nonce: randomBytes(16).toString('base64url'), ...over };
  return { ...claim, proof: signEnrolmentProof(claim, keys.privateKeyPem), ...over };
}

const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code);

describe('enrolment', () => {
  it('creates the device with the key tags, with no secret that verifies, and logs in with device tokens', async () => {
    const { key } = await service.createKey({ tags: { site: 'berlin', class: 'orin' } }, 'test');
    const keys = generateDeviceKeyPair();
    const reply = await service.enrol(request('cam-1', key, keys), '10.0.0.1');
    expect(reply).toEqual({ status: 'enrolled', deviceId: 'cam-1', broker: { url: 'mqtt://cp.example:1883', username: 'cam-1' }, tokenLifetimeS: 3600, tags: { site: 'berlin', class: 'orin' } });
    expect((await devices.get('cam-1')).tags).toEqual({ site: 'berlin', class: 'orin' });
    const token = mintDeviceToken({ d: 'cam-1', iat: now / 1000, exp: now / 1000 + 600 }, keys.privateKeyPem);
    expect(await service.verifyDeviceToken('cam-1', token)).toBe(true);
    expect(await service.verifyDeviceToken('cam-1', mintDeviceToken({ d: 'cam-1', iat: now / 1000, exp: now / 1000 + 600 }, generateDeviceKeyPair().privateKeyPem))).toBe(false);
    // No stored secret to steal or replay: the row's hash matches no password.
    for (const guess of ['', 'none', 'device-key', 'none$device-key']) expect(await devices.verifyCredentials('cam-1', guess)).toBe(false);
    expect((await service.listKeys())[0]).toMatchObject({ uses: 1, status: 'active' });
  });

  it('is idempotent for the same device and key, and refuses the id with another key (squatting)', async () => {
    const { key } = await service.createKey({ maxUses: 5 }, 'test');
    const keys = generateDeviceKeyPair();
    await service.enrol(request('cam-1', key, keys), 's');
    expect((await service.enrol(request('cam-1', key, keys), 's')).status).toBe('enrolled');
    expect((await service.listKeys())[0]!.uses).toBe(1);
    expect(await code(service.enrol(request('cam-1', key, generateDeviceKeyPair()), 's'))).toBe('DEVICE_ID_TAKEN');
  });

  it('refuses an id provisioned by hand with a secret', async () => {
    const { key } = await service.createKey({}, 'test');
    await devices.add([{ id: 'cam-9' }]);
    expect(await code(service.enrol(request('cam-9', key, generateDeviceKeyPair()), 's'))).toBe('DEVICE_ID_TAKEN');
  });

  it.each([
    ['an unknown key', async (k: string) => request('cam-2', `${k}x`, generateDeviceKeyPair()), 'PROVISIONING_KEY_INVALID'],
    ['a proof signed by another key', async (k: string) => ({ ...request('cam-2', k, generateDeviceKeyPair()), publicKey: generateDeviceKeyPair().publicKeyPem }), 'ENROLMENT_PROOF_INVALID'],
    ['a proof 11 minutes old', async (k: string) => request('cam-2', k, generateDeviceKeyPair(), { at: new Date(now - 11 * 60_000).toISOString() }), 'ENROLMENT_PROOF_INVALID'],
    ['a key that is not Ed25519', async (k: string) => ({ ...request('cam-2', k, generateDeviceKeyPair()), publicKey: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' }), 'DEVICE_KEY_INVALID'],
  ])('refuses %s and writes nothing', async (_name, make, expected) => {
    const { key } = await service.createKey({}, 'test');
    expect(await code(service.enrol(await make(key), 's'))).toBe(expected);
    expect(await devices.list()).toEqual([]);
    expect((await service.listKeys())[0]!.uses).toBe(0);
  });

  it('refuses a replayed enrolment (same nonce) even from the device itself', async () => {
    const { key } = await service.createKey({}, 'test');
    const req = request('cam-1', key, generateDeviceKeyPair());
    await service.enrol(req, 's');
    expect(await code(service.enrol(req, 'attacker'))).toBe('ENROLMENT_PROOF_INVALID');
  });

  it('refuses revoked, expired and exhausted keys', async () => {
    const revoked = await service.createKey({}, 'test');
    await service.revokeKey(revoked.provisioningKey.id);
    expect(await code(service.enrol(request('a-1', revoked.key, generateDeviceKeyPair()), 's'))).toBe('PROVISIONING_KEY_REVOKED');
    const expiring = await service.createKey({ expiresInS: 60 }, 'test');
    now += 61_000;
    expect(await code(service.enrol(request('a-2', expiring.key, generateDeviceKeyPair()), 's'))).toBe('PROVISIONING_KEY_EXPIRED');
    const two = await service.createKey({ maxUses: 2 }, 'test');
    await service.enrol(request('b-1', two.key, generateDeviceKeyPair()), 's');
    await service.enrol(request('b-2', two.key, generateDeviceKeyPair()), 's');
    expect(await code(service.enrol(request('b-3', two.key, generateDeviceKeyPair()), 's'))).toBe('PROVISIONING_KEY_EXHAUSTED');
    const status = new Map((await service.listKeys()).map((k) => [k.id, k.status]));
    expect([revoked, expiring, two].map((k) => status.get(k.provisioningKey.id))).toEqual(['revoked', 'expired', 'exhausted']);
    expect(await code(service.revokeKey('nope'))).toBe('PROVISIONING_KEY_NOT_FOUND');
  });

  it('never enrols more devices than --max-uses, however many ask at once', async () => {
    const { key } = await service.createKey({ maxUses: 5 }, 'test');
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => code(service.enrol(request(`c-${i}`, key, generateDeviceKeyPair()), 's'))));
    expect(results.filter((r) => r === 'ok')).toHaveLength(5);
    expect(results.filter((r) => r === 'PROVISIONING_KEY_EXHAUSTED')).toHaveLength(7);
    expect(await devices.list()).toHaveLength(5);
  });

  it('holds devices in pending until approved, and keeps a rejected one out', async () => {
    const { key } = await service.createKey({ requireApproval: true, tags: { site: 'lab' } }, 'test');
    const keys = generateDeviceKeyPair();
    expect(await service.enrol(request('p-1', key, keys), '10.0.0.9')).toEqual({ status: 'pending', deviceId: 'p-1', retryAfterS: 15 });
    expect((await service.enrol(request('p-1', key, keys), '10.0.0.9')).status).toBe('pending');
    expect(await code(service.enrol(request('p-1', key, generateDeviceKeyPair()), 's'))).toBe('DEVICE_ID_TAKEN');
    expect(await service.pending()).toEqual([expect.objectContaining({ deviceId: 'p-1', status: 'pending', source: '10.0.0.9', tags: { site: 'lab' } })]);
    expect(await devices.list()).toEqual([]);
    expect((await service.approve('p-1')).tags).toEqual({ site: 'lab' });
    expect(await service.enrol(request('p-1', key, keys), 's')).toMatchObject({ status: 'enrolled', tags: { site: 'lab' } });
    expect(await service.pending()).toEqual([]);
    expect((await service.listKeys())[0]!.uses).toBe(1);

    await service.enrol(request('p-2', key, generateDeviceKeyPair()), 's');
    await service.reject('p-2');
    expect(await code(service.enrol(request('p-2', key, generateDeviceKeyPair()), 's'))).toBe('DEVICE_ID_TAKEN');
    expect(await code(service.approve('p-3'))).toBe('DEVICE_NOT_FOUND');
  });

  it('lets a removed device enrol again, with a new key', async () => {
    const { key } = await service.createKey({}, 'test');
    const first = generateDeviceKeyPair();
    await service.enrol(request('r-1', key, first), 's');
    await devices.remove('r-1');
    const second = generateDeviceKeyPair();
    expect((await service.enrol(request('r-1', key, second), 's')).status).toBe('enrolled');
    const token = (k: DeviceKeyPair) => mintDeviceToken({ d: 'r-1', iat: now / 1000, exp: now / 1000 + 60 }, k.privateKeyPem);
    expect(await service.verifyDeviceToken('r-1', token(second))).toBe(true);
    expect(await service.verifyDeviceToken('r-1', token(first))).toBe(false);
  });
});
