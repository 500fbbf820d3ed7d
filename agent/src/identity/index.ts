/**
 * The device's own identity for zero-touch provisioning: its key pair, its id, enrolment, and the
 * credentials it logs in with.
 */
export { createDeviceCredentials, type DeviceCredentials } from './credentials.js';
export { createNodeDeviceIdSources, deviceIdFromTemplate, type DeviceIdSources } from './device-id.js';
export { enrolDevice, type EnrolOptions } from './enrol.js';
export { identityFiles, readIdentity, type DeviceIdentity } from './identity-store.js';
export { rotateDeviceKey, type RotateKeyOptions } from './rotate-key.js';
export { resolveProvisionedIdentity, type BootstrapConfig, type ResolvedIdentity } from './resolve-identity.js';
