import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import type protobuf from 'protobufjs';

/**
 * A decoded request, or why it could not be decoded. The deserializer never throws: a malformed
 * message becomes INVALID_ARGUMENT in the handler instead of grpc-js's generic INTERNAL.
 */
export type Decoded<T> = { ok: true; message: T; exclusive: boolean; type: string } | { ok: false; error: Error; type: string };

/**
 * grpc-js method definitions for a service of the agent's .proto files, coded with protobufjs:
 * requests decode to protobufjs messages (field names as in the .proto), replies are plain
 * objects of the response type, encoded as they are.
 */
export function serviceDefinition(service: protobuf.Service): ServiceDefinition {
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const request = method.resolvedRequestType!;
    const response = method.resolvedResponseType!;
    definition[method.name] = {
      path: `/${service.fullName.slice(1)}/${method.name}`,
      requestStream: false,
      responseStream: false,
      originalName: method.name,
      requestSerialize: (value: unknown) => Buffer.from(request.encode(value as object).finish()),
      requestDeserialize: (bytes: Buffer): Decoded<unknown> => {
        try {
          // A buffer holding this message alone (grpc-js assembles a large message into one):
          // views over its bytes may be handed to the inference worker without a copy.
          const exclusive = bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength;
          return { ok: true, message: request.decode(bytes), exclusive, type: request.name };
        } catch (error) {
          return { ok: false, error: error instanceof Error ? error : new Error(String(error)), type: request.name };
        }
      },
      responseSerialize: (value: unknown) => {
        const bytes = response.encode(value as object).finish();
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      },
      responseDeserialize: (bytes: Buffer) => response.decode(bytes),
    };
  }
  return definition;
}
