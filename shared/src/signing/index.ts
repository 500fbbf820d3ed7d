export { artifactManifestSchema, canonicalManifest, type ArtifactManifest } from './manifest.js';
export { assertManifestSignature, generateSigningKeyPair, signManifest, verifyManifest, type SigningKeyPair } from './ed25519.js';
export {
  DEVICE_TOKEN_PREFIX,
  checkDeviceToken,
  deviceKeyFingerprint,
  enrolmentProofMessage,
  generateDeviceKeyPair,
  mintDeviceToken,
  normaliseDevicePublicKey,
  signEnrolmentProof,
  verifyEnrolmentProof,
  type DeviceKeyPair,
  type DeviceTokenCheck,
  type DeviceTokenClaims,
  type EnrolmentClaim,
} from './device-key.js';
