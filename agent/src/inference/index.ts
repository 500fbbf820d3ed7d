/**
 * The agent's inference runtime: EP selection by measurement, sessions in worker threads, versions,
 * labels and hot swap.
 *
 * @example
 *   const hardware = await detectHardware(createNodeHardwarePort());
 *   const runtime = await createInferenceRuntime({ hardware, config: config.inference, epCache: join(config.dataDir, 'ep-choices.json'), logger });
 *   const loaded = await runtime.load({ model, version, path, sha256, ep: desired.ep });
 *   await runtime.smokeTest(model, version);
 *   runtime.setLabel(model, 'active', version);
 */
export type { InferenceRuntime, InferOptions, InferResult, LoadedVersion, LoadRequest, Tensor, VersionStatus } from './runtime-port.js';
export { createInferenceRuntime, type CreateInferenceRuntimeOptions, type InferenceRuntimeWithEvents, type RuntimeEvent, type RuntimeLogger } from './runtime.js';
export type { ModelSession, SessionFactory, SessionOptionsSpec, SessionRunResult, SessionSpec } from './session-port.js';
export { createWorkerSessionFactory, type WorkerSessionFactoryOptions } from './worker-session-factory.js';
export { planExecutionProviders, type EpPlan } from './ep-policy.js';
export { probeExecutionProviders, type ProbeRequest, type ProbeResult } from './ep-prober.js';
export { createEpChoiceCache, type EpChoice, type EpChoiceCache, type EpChoiceKey } from './ep-cache.js';
export { sessionOptionsFor, threadCountsToTry } from './session-options.js';
export { nonFiniteOutputs, sampleInputs } from './sample-inputs.js';
export { validateInputs } from './validate-inputs.js';
export {
  KSERVE_TO_ORT,
  TF_DTYPES,
  elementCount,
  elementSize,
  float32ToHalfBits,
  fromRawBytes,
  halfBitsToFloat32,
  isKserveDatatype,
  kserveFromOrt,
  toJsonValues,
  toRawBytes,
  toTypedData,
  type KserveDatatype,
} from './datatypes.js';
