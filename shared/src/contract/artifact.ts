import { z } from 'zod';
import { errorInfoSchema, sha256Schema } from './common.js';
import { EdgefleetError } from '../errors/edgefleet-error.js';

/** Chunks stay under the 1 MB default packet limit of common brokers (EMQX) with room for the header. */
export const MAX_CHUNK_BYTES = 256 * 1024;

/** Device → control plane: send me `length` bytes of artifact `sha256` from `offset`. */
export const artifactChunkRequestSchema = z.object({
  requestId: z.string().min(1).max(64),
  sha256: sha256Schema,
  offset: z.number().int().nonnegative(),
  length: z.number().int().positive().max(MAX_CHUNK_BYTES),
});
export type ArtifactChunkRequest = z.infer<typeof artifactChunkRequestSchema>;

export const artifactChunkHeaderSchema = z.object({
  requestId: z.string().min(1).max(64),
  sha256: sha256Schema,
  offset: z.number().int().nonnegative(),
  /** Total artifact size, so a device can sanity-check what it was promised. */
  total: z.number().int().nonnegative(),
  error: errorInfoSchema.optional(),
});
export type ArtifactChunkHeader = z.infer<typeof artifactChunkHeaderSchema>;

export interface ArtifactChunk {
  header: ArtifactChunkHeader;
  data: Buffer;
}

/**
 * Binary chunk frame: 4-byte big-endian header length, the JSON header, then raw bytes.
 * Raw bytes avoid base64's 33 % overhead on the biggest thing we send.
 */
export function encodeArtifactChunk(header: ArtifactChunkHeader, data: Buffer = Buffer.alloc(0)): Buffer {
  const { frame, data: slot } = allocArtifactChunkFrame(header, data.length);
  data.copy(slot);
  return frame;
}

/**
 * A frame whose header is written and whose `data` (a view into `frame`) is left for the caller
 * to fill, e.g. by reading the file straight into it: the control plane then never copies a
 * chunk's bytes between reading them and handing them to the socket.
 */
export function allocArtifactChunkFrame(header: ArtifactChunkHeader, dataLength: number): { frame: Buffer; data: Buffer } {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const frame = Buffer.allocUnsafe(4 + json.length + dataLength);
  frame.writeUInt32BE(json.length, 0);
  json.copy(frame, 4);
  return { frame, data: frame.subarray(4 + json.length) };
}

const MAX_HEADER_BYTES = 4096;

export function decodeArtifactChunk(frame: Buffer): ArtifactChunk {
  if (frame.length < 4) throw new EdgefleetError('PAYLOAD_INVALID', 'artifact chunk frame shorter than its 4-byte header length');
  const headerLength = frame.readUInt32BE(0);
  if (headerLength > MAX_HEADER_BYTES || 4 + headerLength > frame.length) {
    throw new EdgefleetError('PAYLOAD_INVALID', `artifact chunk header length ${headerLength} is out of range`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(frame.subarray(4, 4 + headerLength).toString('utf8'));
  } catch (cause) {
    throw new EdgefleetError('PAYLOAD_INVALID', 'artifact chunk header is not JSON', { cause });
  }
  const parsed = artifactChunkHeaderSchema.safeParse(raw);
  if (!parsed.success) throw new EdgefleetError('PAYLOAD_INVALID', `artifact chunk header: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const data = frame.subarray(4 + headerLength);
  if (data.length > MAX_CHUNK_BYTES) throw new EdgefleetError('PAYLOAD_TOO_LARGE', `artifact chunk of ${data.length} bytes exceeds ${MAX_CHUNK_BYTES}`);
  return { header: parsed.data, data };
}
