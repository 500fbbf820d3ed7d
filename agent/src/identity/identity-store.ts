import { createPublicKey } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { EdgefleetError, deviceIdSchema, generateDeviceKeyPair, type DeviceKeyPair } from '@edgefleet/shared';
import { writeFileAtomic } from '../repository/fs-atomic.js';

/** What enrolment leaves in the data dir; with it the agent never uses the provisioning key again. */
export const deviceIdentitySchema = z.object({
  deviceId: deviceIdSchema,
  brokerUrl: z.string(),
  username: z.string(),
  tokenLifetimeS: z.number().int().positive(),
  enrolledAt: z.string(),
  serverUrl: z.string(),
});
export type DeviceIdentity = z.infer<typeof deviceIdentitySchema>;

export interface IdentityFiles {
  dir: string;
  keyFile: string;
  identityFile: string;
}

export const identityFiles = (dataDir: string): IdentityFiles => {
  const dir = join(dataDir, 'identity');
  return { dir, keyFile: join(dir, 'device-key.pem'), identityFile: join(dir, 'identity.json') };
};

const missing = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

export async function readIdentity(files: IdentityFiles): Promise<DeviceIdentity | undefined> {
  let text: string;
  try {
    text = await readFile(files.identityFile, 'utf8');
  } catch (err) {
    if (missing(err)) return undefined;
    throw new EdgefleetError('CONFIG_FILE_UNREADABLE', `cannot read ${files.identityFile}`, { cause: err });
  }
  const parsed = deviceIdentitySchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new EdgefleetError('CONFIG_INVALID', `${files.identityFile} is not an identity this agent wrote: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}

/**
 * The device's key pair: made once, on the device, before the first enrolment attempt, and kept
 * (mode 0600) so a retried or repeated enrolment presents the same key and is idempotent.
 */
export async function loadOrCreateDeviceKey(files: IdentityFiles): Promise<DeviceKeyPair> {
  await mkdir(files.dir, { recursive: true, mode: 0o700 });
  const existing = await readDeviceKey(files.keyFile);
  if (existing) return existing;
  const keys = generateDeviceKeyPair();
  await writeFileAtomic(files.keyFile, keys.privateKeyPem, { mode: 0o600 });
  return keys;
}

/** The key pair in a PEM private-key file; undefined when there is no such file. */
export async function readDeviceKey(file: string): Promise<DeviceKeyPair | undefined> {
  try {
    const privateKeyPem = await readFile(file, 'utf8');
    return { privateKeyPem, publicKeyPem: createPublicKey(privateKeyPem).export({ type: 'spki', format: 'pem' }).toString() };
  } catch (err) {
    if (missing(err)) return undefined;
    throw new EdgefleetError('DEVICE_KEY_INVALID', `cannot read the device key ${file}`, { cause: err });
  }
}

export async function writeIdentity(files: IdentityFiles, identity: DeviceIdentity): Promise<void> {
  await writeFileAtomic(files.identityFile, `${JSON.stringify(deviceIdentitySchema.parse(identity), null, 2)}\n`, { mode: 0o600 });
}
