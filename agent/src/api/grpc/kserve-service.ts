import type protobuf from 'protobufjs';
import { runInference } from '../infer-path.js';
import { isModelReady, modelMetadata, modelStatistics, repositoryIndex, serverMetadata, tritonModelConfig } from '../model-views.js';
import { countFailure, type ServingContext } from '../route-context.js';
import { decodeGrpcInputs, encodeGrpcOutputs, wantsRawOutputs, type GrpcInputTensor } from './kserve-tensors.js';
import type { UnaryHandlers } from './unary.js';

/** ModelInferRequest as protobufjs decodes it (repeated fields are arrays, strings '' when unset). */
interface ModelInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  inputs: GrpcInputTensor[];
  outputs: { name: string }[];
  raw_input_contents: Uint8Array[];
}

interface NameVersion {
  name: string;
  version: string;
}

const versionOf = (v: string): string | undefined => (v === '' ? undefined : v);

/**
 * `inference.GRPCInferenceService` (KServe v2 with Triton's ModelConfig, ModelStatistics and
 * RepositoryIndex): the same views and the same inference path as the HTTP routes.
 */
export function kserveHandlers(context: ServingContext, root: protobuf.Root): UnaryHandlers {
  const { runtime } = context;
  const configResponse = root.lookupType('inference.ModelConfigResponse');
  return {
    ServerLive: () => ({ live: true }),
    ServerReady: () => ({ ready: context.isReady() }),
    ModelReady: (r: NameVersion) => ({ ready: isModelReady(runtime, r.name, versionOf(r.version)) }),
    ServerMetadata: () => serverMetadata(context),
    ModelMetadata: (r: NameVersion) => {
      const m = modelMetadata(runtime, r.name, versionOf(r.version));
      return { name: m.name, versions: m.versions, platform: m.platform, inputs: m.inputs, outputs: m.outputs };
    },
    // The JSON view through the type's own converter: enum names (TYPE_FP32, KIND_CPU) become their numbers.
    ModelConfig: (r: NameVersion) => configResponse.fromObject({ config: tritonModelConfig(runtime, r.name, versionOf(r.version)) }),
    ModelStatistics: (r: NameVersion) => ({ model_stats: modelStatistics(context, versionOf(r.name), versionOf(r.version)) }),
    RepositoryIndex: (r: { ready: boolean }) => ({ models: repositoryIndex(runtime, r.ready) }),
    ModelInfer: async (r: ModelInferRequest, { signal, exclusive }) => {
      const rawRequest = r.raw_input_contents.length > 0;
      try {
        const { reply } = await runInference(context, {
          model: r.model_name,
          address: r.model_version === '' ? {} : { version: r.model_version },
          decode: () => ({
            inputs: decodeGrpcInputs(r.inputs, r.raw_input_contents, context.maxBodyBytes, exclusive),
            ...(r.outputs.length > 0 ? { outputs: r.outputs.map((o) => o.name) } : {}),
          }),
          encode: (result) => ({
            model_name: r.model_name,
            model_version: result.version,
            id: r.id,
            parameters: { execution_provider: { string_param: result.ep } },
            ...encodeGrpcOutputs(result.outputs, wantsRawOutputs(rawRequest, result.outputs)),
          }),
          signal,
        });
        return reply;
      } catch (error) {
        countFailure(context, r.model_name, error);
        throw error;
      }
    },
  };
}
