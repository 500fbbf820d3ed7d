import { z } from 'zod';
import { deviceIdSchema, errorInfoSchema, modelNameSchema, modelVersionSchema } from '../contract/common.js';

/**
 * REST bodies of `/api/v1/rollouts` (issue 7), shared by the server, the CLI and the dashboard.
 * Durations carry their unit in the name; times are ISO strings on the wire.
 */

/** Which devices a rollout takes; devices that match later join its next wave. */
export const rolloutTargetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('devices'), deviceIds: z.array(deviceIdSchema).min(1).max(100_000) }),
  /** Every tag must match (`site=berlin,hw=orin`). */
  z.object({ kind: z.literal('tags'), tags: z.record(z.string().min(1), z.string()).refine((t) => Object.keys(t).length > 0, 'at least one tag') }),
  z.object({ kind: z.literal('all') }),
]);
export type RolloutTarget = z.infer<typeof rolloutTargetSchema>;

/**
 * One wave: `count` adds that many devices; `percent` grows the rollout to that share of the
 * target (cumulative, as hawkBit groups and Argo steps are). The last wave always takes the rest.
 */
export const waveSpecSchema = z.union([
  z.object({ count: z.number().int().positive() }).strict(),
  z.object({ percent: z.number().gt(0).max(100) }).strict(),
]);
export type WaveSpec = z.infer<typeof waveSpecSchema>;

/** Parses the CLI form `1,10%,100%`. Throws a TypeError naming the bad entry. */
export function parseWaveSpecs(text: string): WaveSpec[] {
  return text.split(',').map((raw) => {
    const part = raw.trim();
    const percent = /^(\d+(?:\.\d+)?)%$/.exec(part);
    if (percent) {
      const value = Number(percent[1]);
      if (value <= 0 || value > 100) throw new TypeError(`wave ${JSON.stringify(part)}: a percentage must be in (0, 100]`);
      return { percent: value };
    }
    if (/^\d+$/.test(part) && Number(part) > 0) return { count: Number(part) };
    throw new TypeError(`wave ${JSON.stringify(part)}: expected a device count (5) or a percentage (10%)`);
  });
}

/** Parses `90s`, `10m`, `2h`, `1d` or plain milliseconds. */
export function parseDurationMs(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) throw new TypeError(`duration ${JSON.stringify(text)}: expected e.g. 500ms, 30s, 10m, 2h, 1d`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 'ms']!;
  return Math.round(Number(match[1]) * unit);
}

/** Health gates; each rate gate only trips once it has its minimum sample. */
export const gateConfigSchema = z
  .object({
    /** (failed + rolled back + timed out) / finished devices of the wave. @default 0.2 */
    maxInstallFailureRate: z.number().min(0).max(1).default(0.2),
    /** @default 5 */
    minInstallSamples: z.number().int().positive().default(5),
    /** Allowed rise of the wave's inference failure rate over the control cohort's. @default 0.05 */
    maxInferenceFailureRateIncrease: z.number().min(0).max(1).default(0.05),
    /** @default 50 */
    minInferenceRequests: z.number().int().positive().default(50),
    /** Wave p95 / control p95. @default 2 */
    maxP95LatencyRatio: z.number().gt(1).default(2),
    /** Requests needed on each side before the latency ratio may trip. @default 20 */
    minLatencySamples: z.number().int().positive().default(20),
    /** Minimum share of time the wave's updated devices kept reporting. @default 0.8 */
    minAvailability: z.number().min(0).max(1).default(0.8),
    /** @default 3 */
    minAvailabilityDevices: z.number().int().positive().default(3),
  })
  .strict();
export type GateConfig = z.output<typeof gateConfigSchema>;
export const GATE_NAMES = ['install-failure-rate', 'inference-failure-rate', 'p95-latency-ratio', 'availability', 'whole-wave-failed'] as const;
export type GateName = (typeof GATE_NAMES)[number];

/** A recurring window outside which no device is notified (cron start + duration, time-zone aware). */
export const maintenanceWindowSchema = z
  .object({
    cron: z.string().min(1),
    /** 1–1430 minutes, as AWS IoT Jobs allows. */
    durationMinutes: z.number().int().min(1).max(1430),
    /** IANA zone. @default 'UTC' */
    timezone: z.string().default('UTC'),
  })
  .strict();
export type MaintenanceWindow = z.output<typeof maintenanceWindowSchema>;

export const rolloutScheduleSchema = z
  .object({
    /** Start no earlier than this time. */
    startAt: z.string().datetime({ offset: true }).optional(),
    /** Start at the next time this cron expression matches. */
    cron: z.string().min(1).optional(),
    timezone: z.string().default('UTC'),
    window: maintenanceWindowSchema.optional(),
  })
  .strict();
export type RolloutSchedule = z.output<typeof rolloutScheduleSchema>;

export const rolloutStrategySchema = z
  .object({
    waves: z.array(waveSpecSchema).min(1).max(50).default([{ count: 1 }, { percent: 10 }, { percent: 100 }]),
    /** Time each wave runs on its devices before its gates decide. @default 600000 */
    bakeMs: z.number().int().nonnegative().default(600_000),
    /** Wait for `approve` before each wave after the first. */
    manualApproval: z.boolean().default(false),
    /** Devices notified per minute; 0 = unlimited. @default 1000 */
    ratePerMinute: z.number().int().nonnegative().default(1000),
    /** Random extra delay per notification, against thundering herds. @default 0 */
    jitterMs: z.number().int().nonnegative().default(0),
    /** On a gate breach: roll the wave back (default) or only halt. */
    onBreach: z.enum(['rollback', 'halt']).default('rollback'),
    /** A device that does not move on from a state within this time is timed out. @default 900000 */
    deviceDeadlineMs: z.number().int().positive().default(900_000),
  })
  .strict();
export type RolloutStrategy = z.output<typeof rolloutStrategySchema>;

export const createRolloutRequestSchema = z
  .object({
    model: modelNameSchema,
    version: modelVersionSchema,
    target: rolloutTargetSchema,
    strategy: rolloutStrategySchema.prefault({}),
    gates: gateConfigSchema.prefault({}),
    schedule: rolloutScheduleSchema.optional(),
    dryRun: z.boolean().default(false),
  })
  .strict();
export type CreateRolloutRequest = z.input<typeof createRolloutRequestSchema>;
export type RolloutSpec = z.output<typeof createRolloutRequestSchema>;

export const ROLLOUT_STATES = ['scheduled', 'running', 'paused', 'succeeded', 'halted', 'rolled-back', 'aborted'] as const;
export const rolloutStateSchema = z.enum(ROLLOUT_STATES);
export type RolloutState = z.infer<typeof rolloutStateSchema>;

export const WAVE_STATES = ['pending', 'awaiting-approval', 'notifying', 'baking', 'passed', 'failed'] as const;
export const waveStateSchema = z.enum(WAVE_STATES);
export type WaveState = z.infer<typeof waveStateSchema>;

export const DEVICE_ROLLOUT_STATES = ['pending', 'notified', 'downloading', 'installing', 'baking', 'succeeded', 'failed', 'rolled-back', 'skipped'] as const;
export const deviceRolloutStateSchema = z.enum(DEVICE_ROLLOUT_STATES);
export type DeviceRolloutState = z.infer<typeof deviceRolloutStateSchema>;
export const SKIP_REASONS = ['offline', 'incompatible', 'superseded'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export const gateResultSchema = z.object({
  gate: z.enum(GATE_NAMES),
  status: z.enum(['pass', 'fail', 'insufficient']),
  value: z.number().optional(),
  threshold: z.number().optional(),
  /** Samples behind `value` and the minimum before the gate may trip. */
  samples: z.number().int().nonnegative(),
  minSamples: z.number().int().nonnegative(),
  /** The control cohort's value, where the gate compares against it. */
  control: z.number().optional(),
});
export type GateResult = z.infer<typeof gateResultSchema>;

export const waveViewSchema = z.object({
  index: z.number().int().nonnegative(),
  state: waveStateSchema,
  size: z.number().int().nonnegative(),
  startedAt: z.string().optional(),
  bakeUntil: z.string().optional(),
  finishedAt: z.string().optional(),
  gates: z.array(gateResultSchema).default([]),
  counts: z.record(z.string(), z.number().int().nonnegative()),
});
export type WaveView = z.infer<typeof waveViewSchema>;

export const rolloutHaltSchema = z.object({
  gate: z.enum(GATE_NAMES).optional(),
  wave: z.number().int().nonnegative().optional(),
  reason: z.string(),
  results: z.array(gateResultSchema).default([]),
  at: z.string(),
});
export type RolloutHalt = z.infer<typeof rolloutHaltSchema>;

export const rolloutDeviceViewSchema = z.object({
  deviceId: deviceIdSchema,
  wave: z.number().int().nonnegative(),
  state: deviceRolloutStateSchema,
  reason: z.string().optional(),
  error: errorInfoSchema.optional(),
  generation: z.number().int().nonnegative().optional(),
  previousVersion: modelVersionSchema.optional(),
  updatedAt: z.string(),
});
export type RolloutDeviceView = z.infer<typeof rolloutDeviceViewSchema>;

export const rolloutViewSchema = z.object({
  id: z.string(),
  model: modelNameSchema,
  version: modelVersionSchema,
  state: rolloutStateSchema,
  target: rolloutTargetSchema,
  strategy: rolloutStrategySchema,
  gates: gateConfigSchema,
  schedule: rolloutScheduleSchema.optional(),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  currentWave: z.number().int().nonnegative().optional(),
  waves: z.array(waveViewSchema),
  counts: z.record(z.string(), z.number().int().nonnegative()),
  halt: rolloutHaltSchema.optional(),
  devices: z.array(rolloutDeviceViewSchema).optional(),
});
export type RolloutView = z.infer<typeof rolloutViewSchema>;

export const dryRunPlanSchema = z.object({
  model: modelNameSchema,
  version: modelVersionSchema,
  /** Earliest time the first wave may start (schedule and maintenance window applied). */
  startsAt: z.string(),
  waves: z.array(z.object({ index: z.number().int().nonnegative(), deviceIds: z.array(deviceIdSchema), notifyFrom: z.string(), notifyUntil: z.string() })),
  skipped: z.array(z.object({ deviceId: deviceIdSchema, reason: z.enum(SKIP_REASONS), detail: z.string() })),
});
export type DryRunPlan = z.infer<typeof dryRunPlanSchema>;

export const abortRolloutRequestSchema = z.object({ mode: z.enum(['keep', 'revert']).default('keep') }).strict();

/** One entry of the rollout event stream (SSE `GET /api/v1/rollouts/events`). */
export const rolloutEventSchema = z.object({
  id: z.number().int().positive(),
  rolloutId: z.string(),
  at: z.string(),
  type: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type RolloutEvent = z.infer<typeof rolloutEventSchema>;
