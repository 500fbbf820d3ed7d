/** Failures that retrying the same artifact in the same generation cannot fix. */
export const TERMINAL_CODES = new Set([
  'ARTIFACT_DIGEST_MISMATCH',
  'ARTIFACT_SIZE_MISMATCH',
  'ARTIFACT_SIGNATURE_INVALID',
  'ARTIFACT_NOT_FOUND',
  'ARTIFACT_FORBIDDEN',
  'MODEL_INVALID',
  'MODEL_LOAD_FAILED',
  'SMOKE_TEST_FAILED',
  'PROBATION_FAILED',
  'EP_UNAVAILABLE',
  'DEVICE_INCOMPATIBLE',
  'INPUT_INVALID',
  'ROLLED_BACK_BY_OPERATOR',
  // The disk filled up (pre-flight or mid-download, staging file then removed): retrying would
  // only fill it again. A new generation retries, once someone has freed space.
  'DISK_SPACE_INSUFFICIENT',
]);

