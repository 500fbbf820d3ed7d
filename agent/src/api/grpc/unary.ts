import type { handleUnaryCall, sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { EdgefleetError, toEdgefleetError } from '@edgefleet/shared';
import { toGrpcError } from './grpc-status.js';
import type { Decoded } from './service-definition.js';

export interface CallInfo {
  /** Aborted when the client cancels or its deadline passes. */
  signal: AbortSignal;
  /** The request's bytes are its own buffer (see service-definition.ts). */
  exclusive: boolean;
}

// Each handler names its own request type; the service definition decodes to it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type UnaryHandler = (request: any, call: CallInfo) => object | Promise<object>;
export type UnaryHandlers = Record<string, UnaryHandler>;

export interface UnaryLogger {
  error(obj: object, msg?: string): void;
}

/**
 * grpc-js implementations of unary handlers: a malformed message is INVALID_ARGUMENT, an error
 * becomes its gRPC status (grpc-status.ts), an unexpected one is logged; nothing throws into grpc-js.
 */
export function implement(handlers: UnaryHandlers, logger?: UnaryLogger): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(handlers)) {
    const call: handleUnaryCall<Decoded<unknown>, object> = (call: ServerUnaryCall<Decoded<unknown>, object>, callback: sendUnaryData<object>) => {
      const decoded = call.request;
      if (!decoded.ok) {
        callback(toGrpcError(new EdgefleetError('PAYLOAD_INVALID', `not a valid ${decoded.type} message: ${decoded.error.message}`, { cause: decoded.error })));
        return;
      }
      const controller = new AbortController();
      call.on('cancelled', () => controller.abort());
      Promise.resolve()
        .then(() => handler(decoded.message, { signal: controller.signal, exclusive: decoded.exclusive }))
        .then(
          (reply) => callback(null, reply),
          (error: unknown) => {
            const e = toEdgefleetError(error);
            if (e.status >= 500 && e.code !== 'MODEL_NOT_READY' && e.code !== 'INFERENCE_TIMEOUT') logger?.error({ err: error, rpc: name }, 'gRPC request failed');
            callback(toGrpcError(e));
          },
        );
    };
    out[name] = call;
  }
  return out;
}
