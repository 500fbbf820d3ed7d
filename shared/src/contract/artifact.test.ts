import { describe, expect, it } from 'vitest';
import { allocArtifactChunkFrame, decodeArtifactChunk, encodeArtifactChunk, MAX_CHUNK_BYTES } from './artifact.js';

const sha = 'c'.repeat(64);

describe('artifact chunk frames', () => {
  it('round-trips header and raw bytes', () => {
    const data = Buffer.from([0, 1, 2, 255]);
    const frame = encodeArtifactChunk({ requestId: 'r1', sha256: sha, offset: 4096, total: 8192 }, data);
    const decoded = decodeArtifactChunk(frame);
    expect(decoded.header).toEqual({ requestId: 'r1', sha256: sha, offset: 4096, total: 8192 });
    expect(decoded.data.equals(data)).toBe(true);
  });

  it('lets the data be filled in place and decodes like an encoded frame', () => {
    const header = { requestId: 'r3', sha256: sha, offset: 8, total: 12 };
    const { frame, data } = allocArtifactChunkFrame(header, 4);
    data.set([9, 8, 7, 6]);
    expect(frame.equals(encodeArtifactChunk(header, Buffer.from([9, 8, 7, 6])))).toBe(true);
    expect(decodeArtifactChunk(frame).data).toEqual(Buffer.from([9, 8, 7, 6]));
  });

  it('carries an error without data', () => {
    const frame = encodeArtifactChunk({ requestId: 'r2', sha256: sha, offset: 0, total: 0, error: { code: 'ARTIFACT_FORBIDDEN', message: 'not yours' } });
    const decoded = decodeArtifactChunk(frame);
    expect(decoded.header.error?.code).toBe('ARTIFACT_FORBIDDEN');
    expect(decoded.data.length).toBe(0);
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['short', Buffer.from([0, 0])],
    ['header length beyond frame', Buffer.from([0, 0, 0, 50, 123])],
    ['huge header length', Buffer.from([0xff, 0xff, 0xff, 0xff])],
    ['header not JSON', Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{{{')])],
    ['header wrong shape', encodeArtifactChunk({ requestId: 'x', sha256: sha, offset: 0, total: 0 }).fill(0x20, 4)],
  ])('rejects a %s frame with PAYLOAD_INVALID', (_name, frame) => {
    expect(() => decodeArtifactChunk(frame)).toThrow(expect.objectContaining({ code: 'PAYLOAD_INVALID' }));
  });

  it('rejects oversize data', () => {
    const frame = encodeArtifactChunk({ requestId: 'r', sha256: sha, offset: 0, total: 1 }, Buffer.alloc(MAX_CHUNK_BYTES + 1));
    expect(() => decodeArtifactChunk(frame)).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
  });
});
