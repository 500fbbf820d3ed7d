import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EdgefleetError, generateSigningKeyPair, signManifest, verifyManifest, type SigningKeyPair } from '@edgefleet/shared';
import type { Logger } from 'pino';

export const FLEET_KEY_FILE = 'fleet-signing.key';
export const FLEET_PUBLIC_KEY_FILE = 'fleet-signing.pub';

/**
 * The fleet's Ed25519 key: generated on first start (private key 0600, written exclusively so two
 * servers on one directory can't both create one), loaded afterwards and checked to be a matching pair.
 */
export async function loadOrCreateFleetKey(dataDir: string, logger: Logger): Promise<SigningKeyPair> {
  const privatePath = join(dataDir, FLEET_KEY_FILE);
  const publicPath = join(dataDir, FLEET_PUBLIC_KEY_FILE);
  try {
    const pair = generateSigningKeyPair();
    await writeFile(privatePath, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
    await writeFile(publicPath, pair.publicKeyPem, { mode: 0o644 });
    logger.info({ privateKey: privatePath, publicKey: publicPath }, 'generated the fleet signing key');
    return pair;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new EdgefleetError('SIGNING_KEY_INVALID', `cannot create the fleet signing key at ${privatePath}`, { cause: err });
  }
  const [privateKeyPem, publicKeyPem] = await Promise.all([readFile(privatePath, 'utf8'), readFile(publicPath, 'utf8')]).catch((cause: unknown) => {
    throw new EdgefleetError('SIGNING_KEY_INVALID', `cannot read the fleet signing key pair in ${dataDir}`, { cause });
  });
  if (((await stat(privatePath)).mode & 0o077) !== 0) logger.warn({ privateKey: privatePath }, 'the fleet signing key is readable by group or others; chmod 600 it');
  const probe = { name: 'probe', version: '0', sha256: '0'.repeat(64), size: 1, createdAt: 'probe' };
  if (!verifyManifest(probe, signManifest(probe, privateKeyPem), publicKeyPem)) {
    throw new EdgefleetError('SIGNING_KEY_INVALID', `${privatePath} and ${publicPath} are not a matching Ed25519 key pair`);
  }
  return { privateKeyPem, publicKeyPem };
}
