import type { z } from 'zod';
import { EdgefleetError } from '../errors/edgefleet-error.js';

/** Largest JSON payload any edgefleet peer accepts (telemetry batches after a long offline period are the biggest). */
export const MAX_JSON_PAYLOAD_BYTES = 4 * 1024 * 1024;

/** Formats zod issues as `path: message` lines, every issue named. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

/**
 * Parses an MQTT payload (or any JSON bytes) against a schema at the edge. Unknown object
 * fields are stripped, not rejected (see docs/protocol.md, "Compatibility").
 * Throws PAYLOAD_TOO_LARGE or PAYLOAD_INVALID, never a bare SyntaxError.
 */
export function parsePayload<S extends z.ZodType>(schema: S, payload: Buffer | string, what = 'payload', maxBytes = MAX_JSON_PAYLOAD_BYTES): z.output<S> {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  if (size > maxBytes) throw new EdgefleetError('PAYLOAD_TOO_LARGE', `${what} of ${size} bytes exceeds ${maxBytes}`);
  let raw: unknown;
  try {
    raw = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch (cause) {
    throw new EdgefleetError('PAYLOAD_INVALID', `${what} is not valid JSON`, { cause });
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw new EdgefleetError('PAYLOAD_INVALID', `${what} is invalid: ${formatIssues(result.error.issues)}`, { cause: result.error });
  return result.data;
}

/** Serialises a message after checking it against its schema, so a peer never sends what it would reject. */
export function encodePayload<S extends z.ZodType>(schema: S, value: z.input<S>): Buffer {
  return Buffer.from(JSON.stringify(schema.parse(value)), 'utf8');
}
