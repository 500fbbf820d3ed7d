import { z } from 'zod';
import { modelNameSchema, modelVersionSchema, sha256Schema } from '../contract/common.js';

/** The signed facts about one model artifact. */
export const artifactManifestSchema = z.object({
  name: modelNameSchema,
  version: modelVersionSchema,
  sha256: sha256Schema,
  size: z.number().int().positive(),
  createdAt: z.string().min(1),
});
export type ArtifactManifest = z.infer<typeof artifactManifestSchema>;

/**
 * Canonical bytes of a manifest: JSON with keys in a fixed (sorted) order and no whitespace, so the
 * signer and every verifier hash exactly the same bytes whatever order a peer serialised fields in.
 */
export function canonicalManifest(manifest: ArtifactManifest): Buffer {
  const m = artifactManifestSchema.parse(manifest);
  const ordered = { createdAt: m.createdAt, name: m.name, sha256: m.sha256, size: m.size, version: m.version };
  return Buffer.from(JSON.stringify(ordered), 'utf8');
}
