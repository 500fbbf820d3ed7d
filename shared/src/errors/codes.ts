/**
 * The error catalogue: every stable code edgefleet reports, with the HTTP status a REST
 * surface maps it to. docs/errors.md lists the same codes; `codes.test.ts` fails when they drift.
 * Codes are part of the public contract (devices report them, scripts match on them): never rename one.
 */
export const ERROR_CODES = {
  // configuration and input
  CONFIG_INVALID: { status: 400, description: 'A configuration file, environment variable or flag failed validation; every bad field is named.' },
  CONFIG_FILE_UNREADABLE: { status: 400, description: 'The configuration file could not be read or parsed as YAML/JSON.' },
  PAYLOAD_INVALID: { status: 400, description: 'An MQTT payload or HTTP body did not match its schema.' },
  PAYLOAD_TOO_LARGE: { status: 413, description: 'A payload or body exceeded its size limit.' },
  TOPIC_INVALID: { status: 400, description: 'A topic is not part of the edgefleet/v1 contract or names another device.' },
  BAD_REQUEST: { status: 400, description: 'A request is malformed in a way no more specific code covers.' },
  INPUT_INVALID: { status: 400, description: 'An inference input has the wrong name, shape or datatype.' },

  // artifacts and delivery
  ARTIFACT_NOT_FOUND: { status: 404, description: 'No artifact with that digest is stored.' },
  ARTIFACT_FORBIDDEN: { status: 403, description: "The requesting device's desired state does not contain that artifact." },
  ARTIFACT_DIGEST_MISMATCH: { status: 422, description: 'The downloaded file does not have the sha256 the desired state promised.' },
  ARTIFACT_SIZE_MISMATCH: { status: 422, description: 'The downloaded file does not have the size the desired state promised.' },
  ARTIFACT_SIGNATURE_INVALID: { status: 422, description: "The manifest's Ed25519 signature does not verify against the fleet public key." },
  ARTIFACT_DOWNLOAD_FAILED: { status: 502, description: 'A chunk or HTTP download failed after its retries.' },
  ARTIFACT_RANGE_INVALID: { status: 416, description: 'A chunk request or HTTP Range lies outside the artifact.' },
  DISK_SPACE_INSUFFICIENT: { status: 507, description: 'Not enough free disk (with the safety margin) to download or store the model.' },
  ARCHIVE_REFUSED: { status: 422, description: 'A model archive (.tar.gz, .tgz, .zip) was not extracted: an entry has an absolute path or leaves the archive (`..`), is a link or special file, appears twice, or the archive expands past its size limit, or the file is not such an archive; the message names the entry.' },
  SIGNING_KEY_INVALID: { status: 500, description: 'A signing or verification key could not be parsed.' },

  // models and inference
  MODEL_INVALID: { status: 422, description: 'The file is not a valid ONNX model or TFLite flatbuffer; the message says what is wrong.' },
  MODEL_OP_UNSUPPORTED: { status: 422, description: 'The model uses an operator the device runtime has no kernel for (a custom TFLite op LiteRT lacks, TensorFlow Select ops); the message names each.' },
  MODEL_NOT_FOUND: { status: 404, description: 'No model with that name is known.' },
  MODEL_VERSION_NOT_FOUND: { status: 404, description: 'The model exists but not that version or label.' },
  MODEL_VERSION_EXISTS: { status: 409, description: 'That name@version is already registered; versions are immutable.' },
  MODEL_LOAD_FAILED: { status: 500, description: 'onnxruntime could not create a session for the model on any allowed execution provider.' },
  MODEL_NOT_READY: { status: 503, description: 'The model is known but has no loaded version to serve.' },
  SMOKE_TEST_FAILED: { status: 422, description: 'The model loaded but its smoke-test inference failed or produced non-finite outputs.' },
  PROBATION_FAILED: { status: 422, description: 'After activation the model breached its probation thresholds (failure rate or latency).' },
  ROLLBACK_UNAVAILABLE: { status: 409, description: 'There is no previous version to roll back to.' },
  EP_UNAVAILABLE: { status: 503, description: 'An execution provider could not start on this device.' },
  INFERENCE_FAILED: { status: 500, description: 'onnxruntime raised an error while running the model.' },
  INFERENCE_QUEUE_FULL: { status: 429, description: "The model's bounded request queue is full; retry later." },
  INFERENCE_TIMEOUT: { status: 504, description: 'An inference did not finish within its deadline.' },
  DEPLOYMENT_SUPERSEDED: { status: 409, description: 'A newer desired-state generation replaced an in-flight deployment before activation.' },
  ROLLED_BACK_BY_OPERATOR: { status: 409, description: 'An operator rolled the model back on the device; the version stays off until a newer desired generation.' },
  QUANTIZE_UNSUPPORTED: { status: 422, description: 'The model cannot be rewritten in that mode (nothing to quantize, control flow, a custom-domain operator, external weights); the message names the op and node.' },
  QUANTIZE_ALREADY_QUANTIZED: { status: 422, description: 'The model is already quantized or half precision; the message names the node or weight. Start from the float32 original.' },
  QUANTIZE_OPSET_UNSUPPORTED: { status: 422, description: 'The model\'s opset is too old to quantize, or an operator in it has no upgrade rule to opset 13; the message names the op and node.' },

  // devices, commands, fleet
  DEVICE_NOT_FOUND: { status: 404, description: 'No device with that id is registered.' },
  DEVICE_EXISTS: { status: 409, description: 'A device with that id is already registered.' },
  DEVICE_INCOMPATIBLE: { status: 422, description: "The device's hardware or runtime cannot run the model." },
  COMMAND_UNKNOWN: { status: 400, description: 'The command type is not one the agent knows.' },
  COMMAND_FAILED: { status: 500, description: 'The command was understood but failed on the device.' },
  COMMAND_TIMEOUT: { status: 504, description: 'The device did not answer the command in time.' },
  DEVICE_OFFLINE: { status: 503, description: 'The device is offline.' },

  // provisioning and device keys
  DEVICE_KEY_INVALID: { status: 400, description: 'A device public or private key is not an Ed25519 key in PEM form.' },
  PROVISIONING_KEY_INVALID: { status: 401, description: 'The provisioning key is unknown or wrong.' },
  PROVISIONING_KEY_NOT_FOUND: { status: 404, description: 'No provisioning key with that id exists.' },
  PROVISIONING_KEY_EXHAUSTED: { status: 403, description: 'The provisioning key has enrolled as many devices as its --max-uses allows.' },
  PROVISIONING_KEY_EXPIRED: { status: 403, description: 'The provisioning key is past its expiry time.' },
  PROVISIONING_KEY_REVOKED: { status: 403, description: 'The provisioning key was revoked.' },
  ENROLMENT_PROOF_INVALID: { status: 401, description: 'The enrolment was not signed by the key it presents, or its time is outside the accepted window, or its nonce was used before.' },
  ENROLMENT_REJECTED: { status: 403, description: 'An operator rejected this device\'s enrolment.' },
  DEVICE_ID_TAKEN: { status: 409, description: 'The device id is already enrolled with a different key (or provisioned with a secret); the attempt is logged.' },
  DEVICE_KEY_BOUND: { status: 409, description: 'The device signs in with its own key, not a secret: it rotates the key itself, or an operator revokes it (`devices rotate ID --revoke-key`).' },
  DEVICE_KEY_NOT_FOUND: { status: 404, description: 'The device has no registered key (it uses a secret, or its key was revoked).' },
  KEY_ROTATION_PROOF_INVALID: { status: 401, description: 'The key rotation was not signed by both the registered key and the new one, or its time is outside the accepted window, or its nonce was used before.' },
  RATE_LIMITED: { status: 429, description: 'Too many requests from this source or for this key; retry after the time the reply names.' },

  // rollouts
  ROLLOUT_NOT_FOUND: { status: 404, description: 'No rollout with that id exists.' },
  ROLLOUT_INVALID_STATE: { status: 409, description: 'The operation is not allowed in the rollout\'s current state.' },
  ROLLOUT_NO_TARGETS: { status: 422, description: 'The rollout target selects no devices.' },
  ROLLOUT_DEVICE_TIMEOUT: { status: 504, description: 'A device in a rollout stopped progressing before its per-state deadline.' },
  SCHEDULE_INVALID: { status: 400, description: 'A cron expression, time or maintenance window is invalid.' },

  // auth and API
  AUTH_REQUIRED: { status: 401, description: 'No credentials were given.' },
  AUTH_INVALID: { status: 401, description: 'The token, password or device secret is wrong or revoked.' },
  FORBIDDEN: { status: 403, description: 'The credentials are valid but their role may not do this.' },
  NOT_FOUND: { status: 404, description: 'The resource does not exist.' },
  CONFLICT: { status: 409, description: 'The request conflicts with the current state of the resource.' },
  TOKEN_NOT_FOUND: { status: 404, description: 'No API token with that id exists.' },

  // runtime and infrastructure
  BROKER_UNREACHABLE: { status: 503, description: 'The MQTT broker could not be reached.' },
  SERVER_UNREACHABLE: { status: 503, description: 'The control-plane server could not be reached (CLI).' },
  STORE_FAILED: { status: 500, description: 'The database failed or a migration could not be applied.' },
  LEASE_LOST: { status: 503, description: 'This replica no longer holds the singleton lease (it expired or another replica took it over); it stands down.' },
  STORE_CONFLICT: { status: 409, description: 'A compare-and-set write kept losing to concurrent writers and gave up after its retries.' },
  LIFECYCLE_INVALID_STATE: { status: 409, description: 'A lifecycle operation was called in a state that does not allow it.' },
  DRAIN_TIMEOUT: { status: 500, description: 'Shutdown did not drain within its deadline; remaining work was abandoned.' },
  INTERNAL: { status: 500, description: 'An unexpected failure; the cause carries the details.' },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const errorCodes = Object.keys(ERROR_CODES) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
