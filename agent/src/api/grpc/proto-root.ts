import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

export const PROTO_FILES = ['grpc_service.proto', 'tensorflow_serving/apis/prediction_service.proto', 'tensorflow_serving/apis/model_service.proto'] as const;

/**
 * The nearest proto/ folder above this module holding the agent's .proto files: agent/proto/ seen
 * from src/api/grpc/, dist/api/grpc/ and the single-file bundle in dist/bundle/ alike.
 */
function findProtoDir(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'proto', PROTO_FILES[0]))) return join(dir, 'proto') + sep;
    if (dirname(dir) === dir) return join(from, '..', '..', '..', 'proto') + sep;
  }
}

/**
 * The agent's .proto files, loaded once per gRPC server with field names as written
 * (`raw_input_contents`, not camelCase). google/protobuf/* (Any, Int64Value) come bundled with protobufjs.
 */
export const PROTO_DIR = findProtoDir(dirname(fileURLToPath(import.meta.url)));

export function loadProtoRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : `${PROTO_DIR}${target}`);
  root.loadSync([...PROTO_FILES], { keepCase: true });
  root.resolveAll();
  return root;
}

/** An int64/uint64 field as protobufjs decodes it: a Long (the `long` package), or a number. */
export interface LongLike {
  low: number;
  high: number;
  unsigned: boolean;
  toNumber(): number;
  toString(): string;
}

export type Int64 = number | LongLike;

/** The exact value as a bigint. */
export function toBigInt(v: Int64): bigint {
  if (typeof v === 'number') return BigInt(v);
  const bits = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return v.unsigned ? bits : BigInt.asIntN(64, bits);
}

/** The value as a number, or undefined when it is not a safe integer. */
export function toSafeInteger(v: Int64): number | undefined {
  const n = typeof v === 'number' ? v : Number(toBigInt(v));
  return Number.isSafeInteger(n) ? n : undefined;
}
