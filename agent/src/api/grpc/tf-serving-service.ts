import type protobuf from 'protobufjs';
import { EdgefleetError } from '@edgefleet/shared';
import { runInference, type ModelAddress } from '../infer-path.js';
import { countFailure, type ServingContext } from '../route-context.js';
import { tfMetadata, tfStatus, type TfPath } from '../tf-serving.js';
import { toBigInt, type Int64 } from './proto-root.js';
import { tensorFromProto, tensorToProto, type TfTensorProto } from './tf-tensors.js';
import type { UnaryHandlers } from './unary.js';

/** tensorflow.serving.ModelSpec as decoded: `version` (an Int64Value) and `version_label` are a oneof. */
interface ModelSpec {
  name: string;
  version?: { value: Int64 } | null;
  version_label?: string;
  signature_name: string;
}

/** The REST path a ModelSpec stands for: /v1/models/{name}[/versions/{v} | /labels/{l}], so both resolve alike. */
function pathOf(spec: ModelSpec | null | undefined, action: TfPath['action']): TfPath {
  if (!spec || spec.name === '') throw new EdgefleetError('INPUT_INVALID', 'model_spec.name is required');
  if (spec.version) return { model: spec.name, version: toBigInt(spec.version.value).toString(), action };
  if (spec.version_label) return { model: spec.name, label: spec.version_label, action };
  return { model: spec.name, action };
}

const addressOf = (path: TfPath): ModelAddress => (path.version !== undefined ? { version: path.version } : path.label !== undefined ? { label: path.label } : {});

/** TF Serving versions are int64 on the wire: a version string that is not an integer is left out (0). */
const wireVersion = (version: string): string => (/^\d{1,18}$/.test(version) ? version : '0');

function replySpec(model: string, version: string): object {
  return { name: model, version: { value: wireVersion(version) }, signature_name: 'serving_default' };
}

/**
 * TF Serving's PredictionService (Predict, GetModelMetadata) and ModelService (GetModelStatus):
 * the REST dialect's views (tf-serving.ts) and the shared inference path, in protobuf.
 */
export function tfServingHandlers(context: ServingContext, root: protobuf.Root): { prediction: UnaryHandlers; model: UnaryHandlers } {
  const { runtime } = context;
  const signatureDefMap = root.lookupType('tensorflow.serving.SignatureDefMap');
  const statusResponse = root.lookupType('tensorflow.serving.GetModelStatusResponse');
  return {
    prediction: {
      Predict: async (r: { model_spec?: ModelSpec | null; inputs: Record<string, TfTensorProto>; output_filter: string[] }, { signal }) => {
        const path = pathOf(r.model_spec, 'predict');
        try {
          const { reply } = await runInference(context, {
            model: path.model,
            address: addressOf(path),
            decode: () => ({
              inputs: Object.entries(r.inputs).map(([name, tensor]) => tensorFromProto(name, tensor, context.maxBodyBytes)),
              ...(r.output_filter.length > 0 ? { outputs: r.output_filter } : {}),
            }),
            encode: (result) => ({ model_spec: replySpec(path.model, result.version), outputs: Object.fromEntries(result.outputs.map((t) => [t.name, tensorToProto(t)])) }),
            signal,
          });
          return reply;
        } catch (error) {
          countFailure(context, path.model, error);
          throw error;
        }
      },
      GetModelMetadata: (r: { model_spec?: ModelSpec | null; metadata_field: string[] }) => {
        const path = pathOf(r.model_spec, 'metadata');
        const unknown = r.metadata_field.filter((f) => f !== 'signature_def');
        if (r.metadata_field.length === 0 || unknown.length > 0) throw new EdgefleetError('INPUT_INVALID', `metadata_field must be ["signature_def"]${unknown.length > 0 ? `; unknown: ${unknown.join(', ')}` : ''}`);
        // The REST view, converted by the message type itself (dtype names, string sizes).
        const view = tfMetadata(runtime, path) as { model_spec: { version: string }; metadata: { signature_def: object } };
        const value = signatureDefMap.encode(signatureDefMap.fromObject(view.metadata.signature_def)).finish();
        return {
          model_spec: replySpec(path.model, view.model_spec.version),
          metadata: { signature_def: { type_url: 'type.googleapis.com/tensorflow.serving.SignatureDefMap', value } },
        };
      },
    },
    model: {
      GetModelStatus: (r: { model_spec?: ModelSpec | null }) => {
        const view = tfStatus(runtime, pathOf(r.model_spec, 'status'));
        return statusResponse.fromObject({ model_version_status: view.model_version_status.map((s) => ({ ...s, version: wireVersion(s.version) })) });
      },
    },
  };
}
