/** Helpers shared by integration, end-to-end, fault tests and benchmarks. */
export { freePort } from './ports.js';
export { tmpDataDir, type TmpDir } from './tmp-dir.js';
/** The external broker every CI machine runs (.ci/run starts it when it is down). */
export const MOSQUITTO_URL = process.env.EDGEFLEET_TEST_MOSQUITTO_URL ?? 'mqtt://127.0.0.1:1883';
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
  slowModel,
  sumDiffModel,
  writeModelFile,
  type Dim,
  type NonFiniteOp,
  type OnnxElementType,
} from './onnx-models.js';
export { textLineInput, textPageInput, inferRequest } from './ocr-inputs.js';
export { startControlPlane, type StartControlPlaneOptions, type TestControlPlane, type ProvisionedTestDevice } from './control-plane.js';
