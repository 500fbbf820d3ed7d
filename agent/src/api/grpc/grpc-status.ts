import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { toEdgefleetError, type ErrorCode } from '@edgefleet/shared';

/** edgefleet error codes → gRPC status codes (what a gRPC client matches on). */
const STATUS_OF: Partial<Record<ErrorCode, status>> = {
  MODEL_NOT_FOUND: status.NOT_FOUND,
  MODEL_VERSION_NOT_FOUND: status.NOT_FOUND,
  NOT_FOUND: status.NOT_FOUND,
  INPUT_INVALID: status.INVALID_ARGUMENT,
  PAYLOAD_INVALID: status.INVALID_ARGUMENT,
  BAD_REQUEST: status.INVALID_ARGUMENT,
  MODEL_NOT_READY: status.UNAVAILABLE,
  EP_UNAVAILABLE: status.UNAVAILABLE,
  PAYLOAD_TOO_LARGE: status.RESOURCE_EXHAUSTED,
  INFERENCE_QUEUE_FULL: status.RESOURCE_EXHAUSTED,
  INFERENCE_TIMEOUT: status.DEADLINE_EXCEEDED,
  INFERENCE_FAILED: status.INTERNAL,
  INTERNAL: status.INTERNAL,
};

/** A gRPC error for any failure: the status code, the message, and the stable edgefleet code in `edgefleet-error-code` trailing metadata. */
export function toGrpcError(error: unknown): Partial<ServiceError> {
  const e = toEdgefleetError(error);
  const metadata = new Metadata();
  metadata.set('edgefleet-error-code', e.code);
  const code = STATUS_OF[e.code] ?? (e.status >= 500 ? status.INTERNAL : status.FAILED_PRECONDITION);
  return { code, details: e.message, metadata };
}
