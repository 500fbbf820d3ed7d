export { artifactManifestSchema, canonicalManifest, type ArtifactManifest } from './manifest.js';
export { assertManifestSignature, generateSigningKeyPair, signManifest, verifyManifest, type SigningKeyPair } from './ed25519.js';
