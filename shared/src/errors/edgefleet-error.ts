import { ERROR_CODES, isErrorCode, type ErrorCode } from './codes.js';

export interface EdgefleetErrorOptions {
  cause?: unknown;
  /** Structured facts for logs and API replies (measured values, limits, ids). */
  details?: Record<string, unknown>;
}

/**
 * The one error type edgefleet throws across package boundaries. Match on `code`, never on the message.
 *
 * @example
 *   throw new EdgefleetError('ARTIFACT_DIGEST_MISMATCH', `sha256 ${got} != ${want}`, { cause: err });
 */
export class EdgefleetError extends Error {
  override readonly name = 'EdgefleetError';
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: EdgefleetErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }

  /** The HTTP status a REST surface answers this error with. */
  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  toJSON(): ErrorInfo {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export function isEdgefleetError(value: unknown, code?: ErrorCode): value is EdgefleetError {
  return value instanceof EdgefleetError && (code === undefined || value.code === code);
}

/** Wraps anything thrown into an EdgefleetError, keeping the original as the cause. */
export function toEdgefleetError(value: unknown, fallback: ErrorCode = 'INTERNAL', message?: string): EdgefleetError {
  if (value instanceof EdgefleetError) return value;
  const text = message ?? (value instanceof Error ? value.message : String(value));
  const code = typeof value === 'object' && value !== null && isErrorCode((value as { code?: unknown }).code)
    ? ((value as { code: ErrorCode }).code)
    : fallback;
  return new EdgefleetError(code, text, { cause: value });
}
