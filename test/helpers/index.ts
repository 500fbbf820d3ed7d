/** Helpers shared by integration, end-to-end, fault tests and benchmarks. */
export { freePort } from './ports.js';
export { tmpDataDir, type TmpDir } from './tmp-dir.js';
import { serviceUrl } from '../setup/requirements.mjs';
/** The external broker every CI machine runs (EDGEFLEET_TEST_MOSQUITTO_URL; test/setup/requirements.mjs). */
export const MOSQUITTO_URL = serviceUrl('mosquitto-broker');
/** The PostgreSQL server the store tests use (EDGEFLEET_TEST_POSTGRES_URL; test/setup/requirements.mjs). */
export const POSTGRES_URL = serviceUrl('postgres');
export {
  addModel,
  encodeModel,
  identityModel,
  ballastModel,
  modelSha256,
  nanModel,
  nonFiniteModel,
  notOnnxBytes,
  ocrModelPath,
  tfliteModelPath,
  slowModel,
  sumDiffModel,
  writeModelFile,
  type Dim,
  type NonFiniteOp,
  type OnnxElementType,
} from './onnx-models.js';
export { textLineInput, textPageInput, inferRequest } from './ocr-inputs.js';
export { startControlPlane, type StartControlPlaneOptions, type TestControlPlane, type ProvisionedTestDevice } from './control-plane.js';
export { grpcClients, type GrpcClients } from './grpc-clients.js';
export { freshPostgresDatabase, type TestPostgresDatabase } from './postgres.js';
export { cliRunner, type CliRun } from './cli.js';
