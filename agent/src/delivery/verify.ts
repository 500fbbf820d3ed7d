import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { EdgefleetError, assertManifestSignature, type ArtifactManifest, type ArtifactRef } from '@edgefleet/shared';

export function manifestOf(model: string, version: string, artifact: ArtifactRef): ArtifactManifest {
  return { name: model, version, sha256: artifact.sha256, size: artifact.size, createdAt: artifact.createdAt };
}

/** Checks the signature of what the desired state promises, before a byte is fetched. */
export function verifySignature(model: string, version: string, artifact: ArtifactRef, fleetPublicKeyPem: string): void {
  assertManifestSignature(manifestOf(model, version, artifact), artifact.signature, fleetPublicKeyPem);
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Everything a file must pass before the repository or the runtime sees it: the signed manifest,
 * then its size, then its sha256. Throws ARTIFACT_SIGNATURE_INVALID / _SIZE_MISMATCH / _DIGEST_MISMATCH.
 */
export async function verifyArtifactFile(path: string, model: string, version: string, artifact: ArtifactRef, fleetPublicKeyPem: string): Promise<void> {
  verifySignature(model, version, artifact, fleetPublicKeyPem);
  const { size } = await stat(path);
  if (size !== artifact.size) {
    throw new EdgefleetError('ARTIFACT_SIZE_MISMATCH', `${model}@${version}: file has ${size} bytes, manifest says ${artifact.size}`, {
      details: { expected: artifact.size, actual: size },
    });
  }
  const digest = await sha256File(path);
  if (digest !== artifact.sha256) {
    throw new EdgefleetError('ARTIFACT_DIGEST_MISMATCH', `${model}@${version}: sha256 ${digest} != ${artifact.sha256}`, {
      details: { expected: artifact.sha256, actual: digest },
    });
  }
}
