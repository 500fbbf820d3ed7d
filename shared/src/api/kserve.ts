import { z } from 'zod';

/**
 * KServe Open Inference Protocol v2 `infer` bodies, as the agent's local API and its MQTT `infer`
 * command take and give them (../shared/guide/reference.md §1). With Triton's binary tensor
 * extension the request body is this JSON header followed by the raw bytes of each input that
 * carries `parameters.binary_data_size`, in input order.
 */
const parametersSchema = z.record(z.string(), z.unknown()).optional();

export const kserveInputTensorSchema = z.object({
  name: z.string().min(1),
  shape: z.array(z.number().int().nonnegative()),
  /** BOOL, UINT8…64, INT8…64, FP16, FP32, FP64, BYTES (BF16 is refused: onnxruntime-node has no such tensor type). */
  datatype: z.string().min(1),
  parameters: parametersSchema,
  /**
   * Row-major elements, flat or nested. Not checked element by element here: the agent checks
   * them against the datatype in the single pass that converts them to a typed array, and a
   * second pass here (z.array(z.number())) would cost ~24 ms on a 1.2 M-element image.
   */
  data: z.unknown().optional(),
});

export const kserveInferRequestSchema = z.object({
  id: z.string().optional(),
  parameters: parametersSchema,
  inputs: z.array(kserveInputTensorSchema).min(1),
  outputs: z.array(z.object({ name: z.string().min(1), parameters: parametersSchema })).optional(),
});
export type KserveInferRequest = z.infer<typeof kserveInferRequestSchema>;

export const kserveOutputTensorSchema = z.object({
  name: z.string(),
  datatype: z.string(),
  shape: z.array(z.number().int()),
  /** Absent for a binary output: its bytes follow the JSON header. */
  data: z.array(z.unknown()).optional(),
  parameters: z.object({ binary_data_size: z.number().int().nonnegative() }).optional(),
});
export type KserveOutputTensor = z.infer<typeof kserveOutputTensorSchema>;

export const kserveInferResponseSchema = z.object({
  model_name: z.string(),
  model_version: z.string(),
  id: z.string().optional(),
  outputs: z.array(kserveOutputTensorSchema),
});
export type KserveInferResponse = z.infer<typeof kserveInferResponseSchema>;

/** Triton's `POST /v2/repository/index` body (may be empty): `ready` keeps only models ready to serve. */
export const tritonRepositoryIndexRequestSchema = z
  .object({
    repository_name: z.string().optional(),
    ready: z.boolean().optional(),
  })
  .strict();
export type TritonRepositoryIndexRequest = z.infer<typeof tritonRepositoryIndexRequestSchema>;
