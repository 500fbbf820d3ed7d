/**
 * A KServe v2 client for benchmarks over node:http with a keep-alive agent (what a production
 * client holds), the request bodies (binary tensor extension and JSON) and latency statistics.
 */
import { request, type Agent } from 'node:http';

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export function post(agent: Agent, port: number, path: string, headers: Record<string, string>, body: Buffer): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The request body and headers of a KServe binary-extension infer call: one FP32 input `x`, binary outputs. */
export function kserveBinaryRequest(shape: number[], input: Float32Array): { headers: Record<string, string>; body: Buffer } {
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape, datatype: 'FP32', parameters: { binary_data_size: input.byteLength } }], parameters: { binary_data_output: true } }));
  return {
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    body: Buffer.concat([header, Buffer.from(input.buffer, input.byteOffset, input.byteLength)]),
  };
}

/** The same call as KServe JSON. */
export function kserveJsonRequest(shape: number[], input: Float32Array): { headers: Record<string, string>; body: Buffer } {
  return { headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape, datatype: 'FP32', data: Array.from(input) }] })) };
}

/** A deterministic input of `shape` (no model was tuned on it). */
export function sineInput(shape: number[]): Float32Array<ArrayBuffer> {
  const count = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: count }, (_, i) => Math.sin(i) * 0.5);
}

export interface Stats {
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  throughputPerS: number;
  runs: number;
}

export function statsOf(samples: number[], wallMs: number): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  const round = (v: number): number => Math.round(v * 1000) / 1000;
  return {
    p50Ms: round(at(50)),
    p99Ms: round(at(99)),
    meanMs: round(samples.reduce((a, b) => a + b, 0) / samples.length),
    throughputPerS: Math.round((samples.length / wallMs) * 1000 * 10) / 10,
    runs: samples.length,
  };
}
