import { z } from 'zod';
import { modelNameSchema, modelVersionSchema, sha256Schema } from '../contract/common.js';

/**
 * Variants of one model version (issue 19): the same model rewritten to INT8 or FP16 by the control
 * plane, each stored content-addressed and signed, with the accuracy check it was given.
 */
export const variantKindSchema = z.enum(['int8-dynamic', 'int8-static', 'fp16']);
export type VariantKind = z.infer<typeof variantKindSchema>;

export const accuracyThresholdsSchema = z.object({
  /** Smallest cosine similarity of any output with float32's, over every check sample. @default 0.99 */
  minCosine: z.number().min(-1).max(1).default(0.99),
  /** Share of rows of class-score outputs ([N, C]) whose argmax matches float32. @default 0.98 */
  minTop1: z.number().min(0).max(1).default(0.98),
});
export type AccuracyThresholdsBody = z.infer<typeof accuracyThresholdsSchema>;

export const variantAccuracySchema = z.object({
  sizeRatio: z.number(),
  maxAbsError: z.number(),
  cosine: z.number(),
  top1Agreement: z.number().optional(),
  latencyRatio: z.number(),
  fp32P50Ms: z.number(),
  variantP50Ms: z.number(),
  samples: z.number().int(),
});

export const variantRecordSchema = z.object({
  name: modelNameSchema,
  version: modelVersionSchema,
  kind: variantKindSchema,
  sha256: sha256Schema,
  size: z.number().int().positive(),
  createdAt: z.string(),
  /** Ed25519 over the same manifest as a version's ({name, version, sha256, size, createdAt}). */
  signature: z.string(),
  /** `rejected`: below the thresholds; stored, never chosen automatically. */
  status: z.enum(['accepted', 'rejected']),
  rejectedBecause: z.array(z.string()),
  thresholds: z.object({ minCosine: z.number(), minTop1: z.number() }),
  accuracy: variantAccuracySchema,
  /** How the static variant was calibrated (and on how many samples); absent for the others. */
  calibration: z.object({ method: z.string(), samples: z.number().int(), source: z.string() }).optional(),
  /** Nodes rewritten, by op type. */
  rewritten: z.record(z.string(), z.number()),
  createdBy: z.string(),
});
export type VariantRecord = z.infer<typeof variantRecordSchema>;

export const variantListSchema = z.object({ name: modelNameSchema, version: modelVersionSchema, variants: z.array(variantRecordSchema) });

/**
 * `POST /models/:name/versions/:version/variants`. Calibration and check samples are golden-style
 * KServe v2 infer requests uploaded with `POST /blobs`; without them the version's golden input and
 * copies of it with brightness/contrast jitter and noise are used (docs/quantization.md).
 */
export const quantizeRequestSchema = z
  .object({
    int8: z.enum(['dynamic', 'static']).optional(),
    fp16: z.boolean().default(false),
    calibration: z.array(sha256Schema).max(256).optional(),
    /** Static INT8 ranges: onnxruntime's Percentile calibrator at 99.9 by default, or MinMax. */
    calibrationMethod: z.enum(['percentile', 'minmax']).default('percentile'),
    minCosine: z.number().min(-1).max(1).optional(),
    minTop1: z.number().min(0).max(1).optional(),
  })
  .refine((b) => b.int8 !== undefined || b.fp16, { message: 'ask for at least one variant: int8 (dynamic|static) and/or fp16' });
export type QuantizeRequest = z.infer<typeof quantizeRequestSchema>;
