export { artifactManifestSchema, canonicalManifest, type ArtifactManifest } from './manifest.js';
export { assertManifestSignature, generateSigningKeyPair, signManifest, verifyManifest, type SigningKeyPair } from './ed25519.js';
export {
  DEVICE_TOKEN_PREFIX,
  checkDeviceToken,
  deviceKeyFingerprint,
  enrolmentProofMessage,
  generateDeviceKeyPair,
  keyRotationProofMessage,
  mintDeviceToken,
  normaliseDevicePublicKey,
  signEnrolmentProof,
  signKeyRotation,
  verifyEnrolmentProof,
  verifyKeyRotation,
  type DeviceKeyPair,
  type DeviceTokenCheck,
  type DeviceTokenClaims,
  type EnrolmentClaim,
  type KeyRotationClaim,
} from './device-key.js';
