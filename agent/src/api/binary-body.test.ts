import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readBinaryBody } from './binary-body.js';

/** Streams `parts` as a request body would arrive, in separate chunks. */
function bodyOf(...parts: Buffer[]): PassThrough {
  const stream = new PassThrough();
  setImmediate(() => {
    for (const p of parts) stream.write(p);
    stream.end();
  });
  return stream;
}

const header = Buffer.from('{"inputs":[1]}'); // 14 bytes: the tensors would start unaligned in a plain copy
const tensor = Buffer.from(Float64Array.from([1.5, -2, 3]).buffer);
const whole = Buffer.concat([header, tensor]);

describe('readBinaryBody', () => {
  it.each([
    ['with a Content-Length', whole.length],
    ['chunked (no Content-Length)', undefined],
  ])('%s: returns the body with the tensor section 8-byte aligned, in a buffer of its own', async (_name, contentLength) => {
    const body = await readBinaryBody(bodyOf(whole.subarray(0, 5), whole.subarray(5, 20), whole.subarray(20)), { contentLength, headerLength: header.length, maxBytes: 1024 });
    expect(body.equals(whole)).toBe(true);
    expect((body.byteOffset + header.length) % 8).toBe(0);
    // Not a slice of Buffer's shared pool: the inference worker may take the whole ArrayBuffer.
    expect(body.buffer.byteLength).toBe(body.byteOffset + whole.length);
    expect(Array.from(new Float64Array(body.buffer, body.byteOffset + header.length, 3))).toEqual([1.5, -2, 3]);
  });

  it('a raw tensor body (no header) starts aligned', async () => {
    const body = await readBinaryBody(bodyOf(tensor), { contentLength: tensor.length, headerLength: 0, maxBytes: 1024 });
    expect(body.byteOffset % 8).toBe(0);
    expect(body.equals(tensor)).toBe(true);
  });

  it('a Content-Length over the limit is PAYLOAD_TOO_LARGE before any byte is read', async () => {
    const stream = new PassThrough();
    await expect(readBinaryBody(stream, { contentLength: 2048, headerLength: 0, maxBytes: 1024 })).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(stream.listenerCount('data')).toBe(0);
  });

  it('a chunked body that grows past the limit is PAYLOAD_TOO_LARGE, and the reader lets go of the stream', async () => {
    const stream = bodyOf(Buffer.alloc(600), Buffer.alloc(600));
    await expect(readBinaryBody(stream, { contentLength: undefined, headerLength: 0, maxBytes: 1024 })).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(stream.listenerCount('data')).toBe(0);
  });

  it('a body shorter than its Content-Length is BAD_REQUEST', async () => {
    await expect(readBinaryBody(bodyOf(whole), { contentLength: whole.length + 4, headerLength: header.length, maxBytes: 1024 })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/38 bytes, Content-Length says 42/),
    });
  });

  it('a stream error is BAD_REQUEST with the cause kept', async () => {
    const stream = new PassThrough();
    const cause = new Error('aborted');
    setImmediate(() => stream.destroy(cause));
    await expect(readBinaryBody(stream, { contentLength: 10, headerLength: 0, maxBytes: 1024 })).rejects.toMatchObject({ code: 'BAD_REQUEST', cause });
  });
});
