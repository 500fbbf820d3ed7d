import { z } from 'zod';
import { modelNameSchema, modelVersionSchema, sha256Schema, tensorSpecSchema } from '../contract/common.js';

/** What the registry read from the model file at push time (an ONNX graph or a TFLite flatbuffer). */
export const modelInspectionSchema = z.object({
  /** Which runtime the device needs: onnxruntime for `onnx`, LiteRT for `tflite`. */
  format: z.enum(['onnx', 'tflite']).default('onnx'),
  /** ONNX IR version, or the TFLite schema version (3). */
  irVersion: z.number().int(),
  opsets: z.array(z.object({ domain: z.string(), version: z.number().int() })),
  producer: z.object({ name: z.string(), version: z.string() }),
  inputs: z.array(tensorSpecSchema),
  outputs: z.array(tensorSpecSchema),
  opTypes: z.array(z.string()),
  /** Custom operators (TFLite) the runtime must provide beside its builtins. */
  customOps: z.array(z.string()).default([]),
  nodeCount: z.number().int().nonnegative(),
  initializerCount: z.number().int().nonnegative(),
  metadata: z.record(z.string(), z.string()).default({}),
});
export type ModelInspection = z.infer<typeof modelInspectionSchema>;

export const modelLabelSchema = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'label: 1-32 of a-z 0-9 -, starting with a letter');

/** One immutable name@version in the registry. */
export const modelVersionRecordSchema = z.object({
  name: modelNameSchema,
  version: modelVersionSchema,
  sha256: sha256Schema,
  size: z.number().int().positive(),
  createdAt: z.string(),
  signature: z.string(),
  labels: z.array(modelLabelSchema),
  /** Lineage: where it came from (an MLflow run, a pipeline step), free notes, and who pushed it. */
  source: z.string().optional(),
  notes: z.string().optional(),
  pushedBy: z.string(),
  inspection: modelInspectionSchema,
  golden: z.object({ sha256: sha256Schema, size: z.number().int().positive() }).optional(),
});
export type ModelVersionRecord = z.infer<typeof modelVersionRecordSchema>;

/**
 * The reply to a push. `alreadyPresent`: this name@version was registered before with the same file
 * (and golden input), so nothing changed — a retried pipeline step succeeds (HTTP 200, not 201).
 */
export const pushModelReplySchema = modelVersionRecordSchema.extend({ alreadyPresent: z.boolean() });
export type PushModelReply = z.infer<typeof pushModelReplySchema>;

export const modelSummarySchema = z.object({
  name: modelNameSchema,
  versions: z.array(modelVersionSchema),
  latest: modelVersionSchema,
  updatedAt: z.string(),
});
export type ModelSummary = z.infer<typeof modelSummarySchema>;

export const modelListSchema = z.object({ models: z.array(modelSummarySchema) });
export const modelVersionListSchema = z.object({ name: modelNameSchema, versions: z.array(modelVersionRecordSchema) });

/**
 * Query of the streaming upload `POST /models/:name/versions/:version` (body: the raw .onnx bytes,
 * application/octet-stream). A golden input is uploaded first with `POST /blobs` and named by digest.
 */
export const pushModelQuerySchema = z.object({
  label: z.union([modelLabelSchema, z.array(modelLabelSchema)]).optional(),
  notes: z.string().max(4096).optional(),
  source: z.string().max(2048).optional(),
  goldenSha256: sha256Schema.optional(),
});
export type PushModelQuery = z.infer<typeof pushModelQuerySchema>;

export const blobSchema = z.object({ sha256: sha256Schema, size: z.number().int().nonnegative() });
export type Blob = z.infer<typeof blobSchema>;
