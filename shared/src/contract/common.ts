import { z } from 'zod';
import { DEVICE_ID_PATTERN } from './topics.js';
import { errorCodes } from '../errors/codes.js';

export const deviceIdSchema = z.string().regex(DEVICE_ID_PATTERN, 'device id: 1-128 of A-Z a-z 0-9 . _ -, starting with a letter or digit');
/** Model names are path segments on the device (models/<name>/<version>/) and in URLs. */
export const modelNameSchema = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'model name: 1-64 of a-z 0-9 . _ -, starting with a letter or digit');
export const modelVersionSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/, 'version: 1-64 of A-Z a-z 0-9 . _ + -');
export const sha256Schema = z.string().regex(/^[a-f0-9]{64}$/, 'sha256: 64 lowercase hex characters');
export const isoTimeSchema = z.string().datetime({ offset: true });
export const generationSchema = z.number().int().nonnegative();
export const correlationIdSchema = z.string().min(1).max(128);

export const executionProviderSchema = z.enum(['tensorrt', 'cuda', 'webgpu', 'cpu']);
export type ExecutionProvider = z.infer<typeof executionProviderSchema>;

export const errorInfoSchema = z.object({
  code: z.enum(errorCodes as [string, ...string[]]),
  message: z.string().max(4096),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** Model-facing tensor description, as read from the ONNX graph. A variable dimension is -1. */
export const tensorSpecSchema = z.object({
  name: z.string(),
  datatype: z.string(),
  shape: z.array(z.number().int()),
});
export type TensorSpec = z.infer<typeof tensorSpecSchema>;
