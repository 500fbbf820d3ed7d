import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import {
  EdgefleetError,
  apiErrorSchema,
  deviceKeyChangeSchema,
  generateDeviceKeyPair,
  isErrorCode,
  signKeyRotation,
  type DeviceKeyChange,
  type DeviceKeyPair,
  type RotateKeyRequest,
} from '@edgefleet/shared';
import { fsyncDir, writeFileAtomic } from '../repository/fs-atomic.js';
import { identityFiles, loadOrCreateDeviceKey, readIdentity, readDeviceKey } from './identity-store.js';

export interface RotateKeyOptions {
  dataDir: string;
  logger: Logger;
  fetch?: typeof fetch;
  now?: () => Date;
}

const nextKeyFile = (keyFile: string): string => `${keyFile}.next`;

async function postRotation(url: URL, deviceId: string, old: DeviceKeyPair, next: DeviceKeyPair, o: RotateKeyOptions): Promise<{ ok: true; change: DeviceKeyChange } | { ok: false; status: number; code?: string; message: string }> {
  const claim = { deviceId, newPublicKey: next.publicKeyPem, at: (o.now ?? (() => new Date()))().toISOString(), nonce: randomBytes(18).toString('base64url') };
  const proofs = signKeyRotation(claim, { oldPrivateKeyPem: old.privateKeyPem, oldPublicKeyPem: old.publicKeyPem, newPrivateKeyPem: next.privateKeyPem });
  const body: RotateKeyRequest = { newPublicKey: claim.newPublicKey, at: claim.at, nonce: claim.nonce, ...proofs };
  const res = await (o.fetch ?? fetch)(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status === 200) return { ok: true, change: deviceKeyChangeSchema.parse(JSON.parse(text)) };
  const parsed = apiErrorSchema.safeParse(JSON.parse(text || '{}'));
  return { ok: false, status: res.status, ...(parsed.success && isErrorCode(parsed.data.code) ? { code: parsed.data.code } : {}), message: parsed.success ? parsed.data.error : `HTTP ${res.status}` };
}

/**
 * Replaces an enrolled device's key: a new pair is made and kept beside the current one
 * (`device-key.pem.next`, 0600) before the control plane is asked, and moves over the current key
 * only once the control plane took it. A crash in between leaves the next key on disk; the next
 * call first asks whether the control plane already holds it (a rotation from that key to itself
 * is accepted only then), so the device is never left holding a key the control plane refuses.
 * A running agent picks up the new key at its next connect (its credentials watch the file).
 */
export async function rotateDeviceKey(options: RotateKeyOptions): Promise<DeviceKeyChange> {
  const files = identityFiles(options.dataDir);
  const identity = await readIdentity(files);
  if (!identity) throw new EdgefleetError('CONFIG_INVALID', `no enrolled identity in ${files.dir}: a device rotates its key only after it enrolled`);
  const url = new URL(`/api/v1/devices/${encodeURIComponent(identity.deviceId)}/rotate-key`, identity.serverUrl);
  const log = options.logger.child({ part: 'rotate-key', deviceId: identity.deviceId });
  const pendingFile = nextKeyFile(files.keyFile);
  const promote = async (): Promise<void> => {
    await rename(pendingFile, files.keyFile);
    await fsyncDir(files.dir);
  };

  const leftOver = await readDeviceKey(pendingFile);
  if (leftOver) {
    const held = await postRotation(url, identity.deviceId, leftOver, leftOver, options);
    if (held.ok) {
      await promote();
      log.info({ fingerprint: held.change.fingerprint }, 'device key rotation finished (the control plane had taken it before a restart)');
      return held.change;
    }
    await rm(pendingFile, { force: true });
  }

  const current = await loadOrCreateDeviceKey(files);
  const next = generateDeviceKeyPair();
  await writeFileAtomic(pendingFile, next.privateKeyPem, { mode: 0o600 });
  const result = await postRotation(url, identity.deviceId, current, next, options);
  if (!result.ok) {
    await rm(pendingFile, { force: true });
    throw new EdgefleetError(result.code && isErrorCode(result.code) ? result.code : 'INTERNAL', `key rotation refused: ${result.message}`);
  }
  await promote();
  log.info({ fingerprint: result.change.fingerprint, previousFingerprint: result.change.previousFingerprint }, 'device key rotated');
  return result.change;
}
