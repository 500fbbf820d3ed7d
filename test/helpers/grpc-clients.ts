import { credentials, loadPackageDefinition, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { PROTO_DIR, PROTO_FILES } from '@edgefleet/agent';

/**
 * gRPC clients generated (by @grpc/proto-loader, independently of the agent's own protobufjs
 * codec) from the agent's .proto files: what a tritonclient / tensorflow-serving-api user's stubs
 * do on the wire. Longs come back as strings, enums as names, bytes as Buffers.
 *
 * @example
 *   const clients = grpcClients('127.0.0.1:8500');
 *   const reply = await clients.call(clients.kserve, 'ModelInfer', { model_name: 'm', inputs: [...] });
 */
type Callable = Record<string, (request: object, metadata: Metadata, options: object, callback: (error: ServiceError | null, reply: unknown) => void) => void>;

export interface GrpcClients {
  kserve: Client;
  prediction: Client;
  model: Client;
  call<T = Json>(client: Client, method: string, request: object, deadlineMs?: number): Promise<T>;
  close(): void;
}

/** Replies: the assertions check their shape. */
export type Json = ReturnType<typeof JSON.parse>;

export function grpcClients(address: string): GrpcClients {
  const definition = loadSync([...PROTO_FILES], { includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = loadPackageDefinition(definition) as unknown as {
    inference: { GRPCInferenceService: new (address: string, creds: ReturnType<typeof credentials.createInsecure>, options?: object) => Client };
    tensorflow: { serving: Record<'PredictionService' | 'ModelService', new (address: string, creds: ReturnType<typeof credentials.createInsecure>, options?: object) => Client> };
  };
  const options = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };
  const kserve = new pkg.inference.GRPCInferenceService(address, credentials.createInsecure(), options);
  const prediction = new pkg.tensorflow.serving.PredictionService(address, credentials.createInsecure(), options);
  const model = new pkg.tensorflow.serving.ModelService(address, credentials.createInsecure(), options);
  return {
    kserve,
    prediction,
    model,
    call: <T>(client: Client, method: string, request: object, deadlineMs = 20_000) =>
      new Promise<T>((resolve, reject) => {
        (client as unknown as Callable)[method]!(request, new Metadata(), { deadline: Date.now() + deadlineMs }, (error, reply) => (error ? reject(error) : resolve(reply as T)));
      }),
    close: () => {
      kserve.close();
      prediction.close();
      model.close();
    },
  };
}
