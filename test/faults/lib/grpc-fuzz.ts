/**
 * Malformed gRPC calls for the agent's gRPC listener, reproducible from a seed (prng.ts): frames
 * and protobuf messages a client library would never send, written straight onto HTTP/2 streams
 * (node:http2), so grpc-js's framing and the agent's decoders both see them.
 */
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import protobuf from 'protobufjs';
import { PROTO_DIR } from '@edgefleet/agent';
import type { Prng } from './prng.js';

export const GRPC_FUZZ_KINDS = ['random-bytes', 'wrong-wire-type', 'truncated', 'raw-truncated', 'overflow-shape', 'huge-claim', 'bad-frame', 'mutated', 'bad-types', 'unknown-method'] as const;
export type GrpcFuzzKind = (typeof GRPC_FUZZ_KINDS)[number];

export const GRPC_METHODS = [
  '/inference.GRPCInferenceService/ServerLive',
  '/inference.GRPCInferenceService/ServerReady',
  '/inference.GRPCInferenceService/ModelReady',
  '/inference.GRPCInferenceService/ServerMetadata',
  '/inference.GRPCInferenceService/ModelMetadata',
  '/inference.GRPCInferenceService/ModelInfer',
  '/inference.GRPCInferenceService/ModelConfig',
  '/inference.GRPCInferenceService/ModelStatistics',
  '/inference.GRPCInferenceService/RepositoryIndex',
  '/tensorflow.serving.PredictionService/Predict',
  '/tensorflow.serving.PredictionService/GetModelMetadata',
  '/tensorflow.serving.ModelService/GetModelStatus',
] as const;
const INFER = '/inference.GRPCInferenceService/ModelInfer';
const PREDICT = '/tensorflow.serving.PredictionService/Predict';

export interface GrpcFuzzCase {
  index: number;
  kind: GrpcFuzzKind;
  path: string;
  /** The whole request body: gRPC length-prefixed frame(s). */
  body: Buffer;
  /** Extra request headers (e.g. a grpc-encoding the server does not know). */
  headers?: Record<string, string>;
}

/** A gRPC frame: compressed flag, 4-byte big-endian length, message. */
export function frame(message: Uint8Array, options: { compressed?: boolean; claimedLength?: number } = {}): Buffer {
  const head = Buffer.alloc(5);
  head[0] = options.compressed ? 1 : 0;
  head.writeUInt32BE(options.claimedLength ?? message.byteLength, 1);
  return Buffer.concat([head, message]);
}

function loadTypes(): { infer: protobuf.Type; predict: protobuf.Type } {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : `${PROTO_DIR}${target}`);
  root.loadSync(['grpc_service.proto', 'tensorflow_serving/apis/prediction_service.proto'], { keepCase: true });
  return { infer: root.lookupType('inference.ModelInferRequest'), predict: root.lookupType('tensorflow.serving.PredictRequest') };
}

/** A protobuf varint. */
function varint(value: bigint): Buffer {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}

const DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES', 'BF16', '', 'fp32', 'FP128', '\u0000'];
const HUGE_DIMS = [2n ** 62n, 2n ** 63n - 1n, -1n, -(2n ** 63n), 2n ** 32n, 100_000_000n, 2n ** 53n + 1n];

export function* grpcFuzzCases(prng: Prng, count: number, model: string): Generator<GrpcFuzzCase> {
  const { infer, predict } = loadTypes();
  const validInfer = (): Record<string, unknown> => ({ model_name: model, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [Buffer.from(Float32Array.from([1, 2, 3, 4]).buffer)] });
  const enc = (type: protobuf.Type, value: object): Buffer => Buffer.from(type.encode(value).finish());
  for (let index = 0; index < count; index++) {
    const kind = GRPC_FUZZ_KINDS[index % GRPC_FUZZ_KINDS.length]!;
    const path = prng.pick(GRPC_METHODS);
    switch (kind) {
      case 'random-bytes':
        yield { index, kind, path, body: frame(prng.bytes(prng.int(0, 600))) };
        break;
      case 'wrong-wire-type': {
        // Fields of the right numbers with the wrong wire types (a varint where a message is due, a fixed64 for a string...).
        const parts: Buffer[] = [];
        for (let i = prng.int(1, 6); i > 0; i--) {
          const field = prng.int(1, 8);
          const wire = prng.pick([0, 1, 2, 5, 3, 4, 6, 7]);
          parts.push(varint(BigInt((field << 3) | wire)));
          if (wire === 0) parts.push(varint(BigInt(prng.int(0, 2 ** 31))));
          else if (wire === 1) parts.push(prng.bytes(8));
          else if (wire === 5) parts.push(prng.bytes(4));
          else if (wire === 2) {
            const payload = prng.bytes(prng.int(0, 40));
            parts.push(varint(BigInt(payload.length)), payload);
          }
        }
        yield { index, kind, path: prng.bool(0.5) ? INFER : path, body: frame(Buffer.concat(parts)) };
        break;
      }
      case 'truncated': {
        const whole = enc(infer, validInfer());
        yield { index, kind, path: INFER, body: frame(whole.subarray(0, prng.int(1, whole.length - 1))) };
        break;
      }
      case 'raw-truncated': {
        const bytes = prng.int(0, 15);
        yield { index, kind, path: INFER, body: frame(enc(infer, { ...validInfer(), raw_input_contents: [prng.bytes(bytes === 16 ? 15 : bytes)] })) };
        break;
      }
      case 'overflow-shape': {
        const shape = Array.from({ length: prng.int(1, 5) }, () => prng.pick(HUGE_DIMS).toString());
        const typed = prng.bool();
        if (prng.bool(0.7)) {
          yield {
            index,
            kind,
            path: INFER,
            body: frame(enc(infer, { model_name: model, inputs: [{ name: 'x', datatype: prng.pick(['FP32', 'BYTES', 'INT64', 'BOOL']), shape, ...(typed ? { contents: { fp32_contents: [1, 2, 3, 4] } } : {}) }], ...(typed ? {} : { raw_input_contents: [prng.bytes(16)] }) })),
          };
        } else {
          yield { index, kind, path: PREDICT, body: frame(enc(predict, { model_spec: { name: model }, inputs: { x: { dtype: prng.pick([1, 7, 9, 19]), tensor_shape: { dim: shape.map((size) => ({ size })) }, float_val: [1] } } })) };
        }
        break;
      }
      case 'huge-claim': {
        const hundredMb = 100 * 1024 * 1024;
        if (prng.bool()) {
          // The frame claims 100 MB and brings a few bytes.
          yield { index, kind, path, body: frame(prng.bytes(prng.int(0, 64)), { claimedLength: hundredMb + prng.int(0, 1000) }) };
        } else {
          // A field inside a small message claims 100 MB of raw contents.
          const head = enc(infer, { model_name: model, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }] });
          yield { index, kind, path: INFER, body: frame(Buffer.concat([head, varint(BigInt((7 << 3) | 2)), varint(BigInt(hundredMb)), prng.bytes(prng.int(0, 32))])) };
        }
        break;
      }
      case 'bad-frame': {
        const message = enc(infer, validInfer());
        const variant = prng.int(0, 4);
        if (variant === 0) yield { index, kind, path, body: frame(message, { compressed: true }) };
        else if (variant === 1) yield { index, kind, path, body: frame(message, { claimedLength: message.length + prng.int(1, 50) }) };
        else if (variant === 2) yield { index, kind, path, body: Buffer.concat([frame(message), frame(message)]) };
        else if (variant === 3) yield { index, kind, path, body: frame(message).subarray(0, prng.int(0, 4)) };
        else yield { index, kind, path, body: frame(message, { compressed: true }), headers: { 'grpc-encoding': prng.pick(['gzip', 'zstd', 'nonsense']) } };
        break;
      }
      case 'mutated': {
        const message = enc(infer, { ...validInfer(), id: 'x'.repeat(prng.int(0, 20)), outputs: [{ name: 'y' }] });
        for (let flips = prng.int(1, 8); flips > 0; flips--) message[prng.int(0, message.length - 1)]! ^= 1 << prng.int(0, 7);
        yield { index, kind, path: INFER, body: frame(message) };
        break;
      }
      case 'bad-types': {
        const datatype = prng.pick(DATATYPES);
        const contents = prng.pick([{ fp32_contents: [1, 2, 3, 4] }, { int64_contents: [1, 2, 3, 4] }, { bytes_contents: [prng.bytes(3)] }, { bool_contents: [true] }, { uint_contents: [300, 70000, 1, 2] }, { int_contents: [-200, 5, 6, 7] }]);
        const raw = prng.bool(0.4);
        yield {
          index,
          kind,
          path: INFER,
          body: frame(
            enc(infer, {
              model_name: prng.pick([model, '', 'nope', prng.string(8)]),
              model_version: prng.pick(['', '1', prng.string(4)]),
              inputs: [{ name: prng.pick(['x', 'y', '']), datatype, shape: [1, 4], ...(raw ? {} : { contents }) }],
              ...(raw ? { raw_input_contents: [prng.bytes(prng.pick([4, 8, 16, 32]))] } : {}),
            }),
          ),
        };
        break;
      }
      case 'unknown-method':
        yield { index, kind, path: prng.pick(['/inference.GRPCInferenceService/ModelStreamInfer', '/tensorflow.serving.PredictionService/Classify', `/${encodeURIComponent(prng.string(6))}/${encodeURIComponent(prng.string(6))}`, '/inference.GRPCInferenceService/']), body: frame(prng.bytes(prng.int(0, 40))) };
        break;
    }
  }
}

export interface GrpcFuzzReply {
  /** The grpc-status the server ended the call with; undefined when it never did (reset, timeout). */
  status?: number;
  message?: string;
  /** How the stream ended without a status (an RST_STREAM code, 'timeout', a session error). */
  reset?: string;
}

/** One HTTP/2 connection that reconnects when the server closes it. */
export function grpcConnection(address: string): { send(c: GrpcFuzzCase, timeoutMs?: number): Promise<GrpcFuzzReply>; close(): void } {
  let session: ClientHttp2Session | undefined;
  const current = (): ClientHttp2Session => {
    if (!session || session.closed || session.destroyed) {
      session = connect(`http://${address}`);
      session.on('error', () => undefined);
    }
    return session;
  };
  return {
    send: (c, timeoutMs = 10_000) =>
      new Promise((resolve) => {
        let done = false;
        const finish = (reply: GrpcFuzzReply): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve(reply);
        };
        const timer = setTimeout(() => {
          stream.close(constants.NGHTTP2_CANCEL);
          finish({ reset: 'timeout' });
        }, timeoutMs);
        const stream = current().request({ ':method': 'POST', ':path': c.path, 'content-type': 'application/grpc', te: 'trailers', ...c.headers });
        const fromHeaders = (headers: Record<string, string | string[] | number | undefined>): void => {
          const value = headers['grpc-status'];
          if (value === undefined) return;
          const raw = headers['grpc-message'];
          let message = Array.isArray(raw) ? raw.join(',') : String(raw ?? '');
          try {
            message = decodeURIComponent(message);
          } catch {
            // Left percent-encoded.
          }
          finish({ status: Number(value), message });
        };
        stream.on('response', fromHeaders);
        stream.on('trailers', fromHeaders);
        stream.on('data', () => undefined);
        stream.on('error', (error: Error) => finish({ reset: error.message }));
        stream.on('close', () => finish({ reset: `closed (rst ${stream.rstCode})` }));
        stream.end(c.body);
      }),
    close: () => session?.close(),
  };
}
