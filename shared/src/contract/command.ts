import { z } from 'zod';
import { kserveInferRequestSchema } from '../api/kserve.js';
import { correlationIdSchema, deviceIdSchema, errorInfoSchema, isoTimeSchema, modelNameSchema, modelVersionSchema } from './common.js';

const commandBase = {
  /** Correlation id, echoed in the result (MQTT 3.1.1 has no correlation property). */
  id: correlationIdSchema,
  issuedAt: isoTimeSchema.optional(),
  /** The agent drops a command that arrives after this time (it was queued while offline). */
  expiresAt: isoTimeSchema.optional(),
};

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export const logLevelSchema = z.enum(LOG_LEVELS);

export const commandRequestSchema = z.discriminatedUnion('type', [
  z.object({ ...commandBase, type: z.literal('ping') }),
  z.object({ ...commandBase, type: z.literal('get-state') }),
  z.object({ ...commandBase, type: z.literal('rollback'), model: modelNameSchema, reason: z.string().max(1024).optional() }),
  z.object({ ...commandBase, type: z.literal('reload') }),
  z.object({ ...commandBase, type: z.literal('collect-diagnostics'), logLines: z.number().int().positive().max(5000).default(200) }),
  z.object({ ...commandBase, type: z.literal('set-log-level'), level: logLevelSchema }),
  /** A small test inference (KServe v2 request body), answered with the v2 response. */
  z.object({ ...commandBase, type: z.literal('infer'), model: modelNameSchema, version: modelVersionSchema.optional(), request: kserveInferRequestSchema }),
]);
export type CommandRequest = z.infer<typeof commandRequestSchema>;
export type CommandType = CommandRequest['type'];
export const COMMAND_TYPES: CommandType[] = commandRequestSchema.options.map((o) => o.shape.type.value);

export const commandResultSchema = z.object({
  id: correlationIdSchema,
  deviceId: deviceIdSchema,
  type: z.string().max(64).optional(),
  ok: z.boolean(),
  at: isoTimeSchema,
  result: z.unknown().optional(),
  error: errorInfoSchema.optional(),
});
export type CommandResult = z.infer<typeof commandResultSchema>;
