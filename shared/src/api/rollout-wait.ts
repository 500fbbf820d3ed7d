import { z } from 'zod';
import { rolloutHaltSchema, rolloutStateSchema, waveStateSchema } from './rollouts.js';

/**
 * How `edgefleet rollouts create --wait` ended, and the process exit code a pipeline step gets for
 * it. The codes are a contract with CI jobs: never renumber one.
 */
export const ROLLOUT_WAIT_EXIT_CODES = {
  succeeded: 0,
  refused: 3,
  halted: 4,
  'rolled-back': 5,
  aborted: 6,
  'timed-out': 7,
} as const;
export const rolloutWaitOutcomeSchema = z.enum(['succeeded', 'refused', 'halted', 'rolled-back', 'aborted', 'timed-out']);
export type RolloutWaitOutcome = z.infer<typeof rolloutWaitOutcomeSchema>;

/** What `--wait --json` prints on stdout when it ends. */
export const rolloutWaitSummarySchema = z.object({
  outcome: rolloutWaitOutcomeSchema,
  exitCode: z.number().int().nonnegative(),
  /** Absent when the server refused the rollout. */
  rolloutId: z.string().optional(),
  model: z.string(),
  version: z.string(),
  /** The rollout's state when the wait ended (for timed-out: still running on the server). */
  state: rolloutStateSchema.optional(),
  waitedMs: z.number().int().nonnegative(),
  counts: z.record(z.string(), z.number().int().nonnegative()).optional(),
  waves: z.array(z.object({ index: z.number().int().nonnegative(), state: waveStateSchema, size: z.number().int().nonnegative() })).optional(),
  halt: rolloutHaltSchema.optional(),
  /** The refusal (outcome refused): the server's error code and message. */
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type RolloutWaitSummary = z.infer<typeof rolloutWaitSummarySchema>;
