import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateDeviceKeyPair, mintDeviceToken, signEnrolmentProof, signKeyRotation, type DeviceKeyPair, type EnrolRequest, type RotateKeyRequest } from '@edgefleet/shared';
import type { Clock } from '../clock.js';
import { createDeviceRegistry, type DeviceRegistry } from '../registry/device-registry.js';
import { createSqliteDatabase } from '../store/sqlite-database.js';
import { createStoreFromDatabase, type Store } from '../store/store.js';
import { claimsDeviceToken, createProvisioningService, type ProvisioningService } from './provisioning-service.js';
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
  // As the plugin wires it, so device passwords are checked the way the broker checks them.
  devices.addCredentialScheme({ claims: claimsDeviceToken, verify: (id, t) => service.verifyDeviceToken(id, t) });
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

function rotation(deviceId: string, old: DeviceKeyPair, next: DeviceKeyPair, over: Partial<RotateKeyRequest> = {}): RotateKeyRequest {
  const claim = { deviceId, newPublicKey: next.publicKeyPem, at: new Date(now).toISOString(), nonce: randomBytes(16).toString('base64url'), ...over };
  const { deviceId: _inUrl, ...fields } = claim;
  return { ...fields, ...signKeyRotation(claim, { oldPrivateKeyPem: old.privateKeyPem, oldPublicKeyPem: old.publicKeyPem, newPrivateKeyPem: next.privateKeyPem }), ...over };
}

describe('credential rotation', () => {
  const token = (id: string, k: DeviceKeyPair) => mintDeviceToken({ d: id, iat: now / 1000, exp: now / 1000 + 60 }, k.privateKeyPem);

  it('replaces an enrolled key when the old key signs for the new one; old tokens are refused after', async () => {
    const { key } = await service.createKey({ tags: { site: 'lab' } }, 'test');
    const old = generateDeviceKeyPair();
    await service.enrol(request('k-1', key, old), 's');
    expect(await devices.verifyCredentials('k-1', token('k-1', old))).toBe(true);
    const next = generateDeviceKeyPair();
    const change = await service.rotateKey('k-1', rotation('k-1', old, next), 's');
    expect(change.fingerprint).not.toBe(change.previousFingerprint);
    expect(await devices.verifyCredentials('k-1', token('k-1', next))).toBe(true);
    expect(await devices.verifyCredentials('k-1', token('k-1', old))).toBe(false);
    // The old key can no longer authorise anything, not even a rotation back.
    expect(await code(service.rotateKey('k-1', rotation('k-1', old, generateDeviceKeyPair()), 's'))).toBe('KEY_ROTATION_PROOF_INVALID');
    // Enrolling again with the new key is still idempotent; with the old one it is squatting.
    expect((await service.enrol(request('k-1', key, next), 's')).status).toBe('enrolled');
    expect(await code(service.enrol(request('k-1', key, old), 's'))).toBe('DEVICE_ID_TAKEN');
  });

  it.each([
    ['signed only by the new key', (old: DeviceKeyPair, next: DeviceKeyPair) => rotation('k-2', next, next), 'KEY_ROTATION_PROOF_INVALID'],
    ['without proof of the new key', (old: DeviceKeyPair, next: DeviceKeyPair) => ({ ...rotation('k-2', old, next), newPublicKey: generateDeviceKeyPair().publicKeyPem }), 'KEY_ROTATION_PROOF_INVALID'],
    ['made for another device', (old: DeviceKeyPair, next: DeviceKeyPair) => rotation('k-3', old, next), 'KEY_ROTATION_PROOF_INVALID'],
    ['11 minutes old', (old: DeviceKeyPair, next: DeviceKeyPair) => rotation('k-2', old, next, { at: new Date(now - 11 * 60_000).toISOString() }), 'KEY_ROTATION_PROOF_INVALID'],
    ['with a new key that is not Ed25519', (old: DeviceKeyPair, next: DeviceKeyPair) => ({ ...rotation('k-2', old, next), newPublicKey: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' }), 'DEVICE_KEY_INVALID'],
  ])('refuses a rotation %s and keeps the registered key', async (_name, make, expected) => {
    const { key } = await service.createKey({}, 'test');
    const old = generateDeviceKeyPair();
    await service.enrol(request('k-2', key, old), 's');
    await service.enrol(request('k-3', key, generateDeviceKeyPair()), 's');
    expect(await code(service.rotateKey('k-2', make(old, generateDeviceKeyPair()), 's'))).toBe(expected);
    expect(await service.verifyDeviceToken('k-2', token('k-2', old))).toBe(true);
  });

  it('refuses a replayed rotation, and one for a device with no key', async () => {
    const { key } = await service.createKey({}, 'test');
    const old = generateDeviceKeyPair();
    await service.enrol(request('k-4', key, old), 's');
    const req = rotation('k-4', old, generateDeviceKeyPair());
    await service.rotateKey('k-4', req, 's');
    expect(await code(service.rotateKey('k-4', req, 'attacker'))).toBe('KEY_ROTATION_PROOF_INVALID');
    await devices.add([{ id: 'sec-1' }]);
    expect(await code(service.rotateKey('sec-1', rotation('sec-1', old, generateDeviceKeyPair()), 's'))).toBe('DEVICE_KEY_NOT_FOUND');
  });

  it('sees a key rotated on another replica once its memory of the key is old', async () => {
    const { key } = await service.createKey({}, 'test');
    const tables = await store.tables('provisioning', PROVISIONING_MIGRATIONS);
    const other = createProvisioningService({ store, provisioning: createProvisioningStore(tables), devices, clock, logger: pino({ level: 'silent' }) });
    const old = generateDeviceKeyPair();
    await service.enrol(request('k-5', key, old), 's');
    expect(await other.verifyDeviceToken('k-5', token('k-5', old))).toBe(true);
    await service.rotateKey('k-5', rotation('k-5', old, generateDeviceKeyPair()), 's');
    now += 11_000;
    expect(await other.verifyDeviceToken('k-5', token('k-5', old))).toBe(false);
  });

  it('revokes a key: its tokens are refused at once and the device enrols again keeping its id and tags', async () => {
    const { key } = await service.createKey({ tags: { site: 'lab' } }, 'test');
    const old = generateDeviceKeyPair();
    await service.enrol(request('k-6', key, old), 's');
    expect(await devices.verifyCredentials('k-6', token('k-6', old))).toBe(true);
    expect((await service.revokeDeviceKey('k-6')).fingerprint).toBeUndefined();
    expect(await devices.verifyCredentials('k-6', token('k-6', old))).toBe(false);
    expect(await code(service.revokeDeviceKey('k-6'))).toBe('DEVICE_KEY_NOT_FOUND');
    expect(await code(service.rotateKey('k-6', rotation('k-6', old, generateDeviceKeyPair()), 's'))).toBe('DEVICE_KEY_NOT_FOUND');
    const fresh = generateDeviceKeyPair();
    expect(await service.enrol(request('k-6', key, fresh), 's')).toMatchObject({ status: 'enrolled', tags: { site: 'lab' } });
    expect(await devices.verifyCredentials('k-6', token('k-6', fresh))).toBe(true);
    expect(await devices.verifyCredentials('k-6', token('k-6', old))).toBe(false);
    expect(await devices.list()).toHaveLength(1);
    expect((await service.listKeys())[0]!.uses).toBe(2);
    expect(await code(service.revokeDeviceKey('nope'))).toBe('DEVICE_NOT_FOUND');
  });

  it('sends a revoked device through approval again when its provisioning key requires it', async () => {
    const { key } = await service.createKey({ requireApproval: true }, 'test');
    const old = generateDeviceKeyPair();
    await service.enrol(request('k-7', key, old), 's');
    await service.approve('k-7');
    await service.revokeDeviceKey('k-7');
    const fresh = generateDeviceKeyPair();
    expect((await service.enrol(request('k-7', key, fresh), 's')).status).toBe('pending');
    expect(await devices.verifyCredentials('k-7', token('k-7', fresh))).toBe(false);
    await service.approve('k-7');
    expect(await devices.verifyCredentials('k-7', token('k-7', fresh))).toBe(true);
  });

  it('does not let a device with a secret be revoked by key, nor an enrolled one be given a secret', async () => {
    const { key } = await service.createKey({}, 'test');
    await service.enrol(request('k-8', key, generateDeviceKeyPair()), 's');
    expect(await code(devices.rotateSecret('k-8'))).toBe('DEVICE_KEY_BOUND');
    await devices.add([{ id: 'sec-2' }]);
    expect(await code(service.revokeDeviceKey('sec-2'))).toBe('DEVICE_KEY_NOT_FOUND');
  });
});
