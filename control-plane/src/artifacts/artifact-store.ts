import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EdgefleetError, sha256Schema } from '@edgefleet/shared';

/** Content-addressed files under DIR/artifacts/<ab>/<sha256>; a digest names exactly one byte string. */
export interface ArtifactStore {
  /** Streams into a temp file while hashing, then moves it into place. Never holds the file in memory. */
  put(source: Readable, options?: { maxBytes?: number }): Promise<{ sha256: string; size: number }>;
  /** Size in bytes, or undefined when not stored. */
  size(sha256: string): Promise<number | undefined>;
  path(sha256: string): string;
  createReadStream(sha256: string, range?: { start: number; end: number }): ReadStream;
  remove(sha256: string): Promise<void>;
}

export async function createArtifactStore(dataDir: string): Promise<ArtifactStore> {
  const root = join(dataDir, 'artifacts');
  const tmp = join(root, 'tmp');
  await mkdir(tmp, { recursive: true });
  const pathOf = (sha256: string): string => {
    if (!sha256Schema.safeParse(sha256).success) throw new EdgefleetError('ARTIFACT_NOT_FOUND', `not a sha256 digest: ${sha256}`);
    return join(root, sha256.slice(0, 2), sha256);
  };
  return {
    async put(source, options = {}) {
      const maxBytes = options.maxBytes ?? Number.MAX_SAFE_INTEGER;
      const tmpFile = join(tmp, randomUUID());
      const hash = createHash('sha256');
      let size = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          if (size > maxBytes) return done(new EdgefleetError('PAYLOAD_TOO_LARGE', `upload exceeds ${maxBytes} bytes`));
          hash.update(chunk);
          done(null, chunk);
        },
      });
      try {
        await pipeline(source, meter, createWriteStream(tmpFile, { mode: 0o640 }));
        const sha256 = hash.digest('hex');
        const final = pathOf(sha256);
        await mkdir(join(root, sha256.slice(0, 2)), { recursive: true });
        await rename(tmpFile, final);
        return { sha256, size };
      } catch (cause) {
        await rm(tmpFile, { force: true });
        if (cause instanceof EdgefleetError) throw cause;
        throw new EdgefleetError('BAD_REQUEST', `upload failed: ${(cause as Error).message}`, { cause });
      }
    },
    async size(sha256) {
      try {
        return (await stat(pathOf(sha256))).size;
      } catch {
        return undefined;
      }
    },
    path: pathOf,
    createReadStream(sha256, range) {
      return createReadStream(pathOf(sha256), range ? { start: range.start, end: range.end, highWaterMark: 256 * 1024 } : { highWaterMark: 256 * 1024 });
    },
    async remove(sha256) {
      await rm(pathOf(sha256), { force: true });
    },
  };
}
