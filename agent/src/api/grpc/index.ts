export { createGrpcServer, type CreateGrpcServerOptions, type GrpcServer } from './grpc-server.js';
export { PROTO_DIR, PROTO_FILES } from './proto-root.js';
