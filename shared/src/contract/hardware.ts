import { z } from 'zod';
import { executionProviderSchema } from './common.js';

/** What the agent detects about its device; reported so the control plane can check compatibility. */
export const hardwareProfileSchema = z.object({
  /** A coarse class used for cohorts and EP policy, e.g. `jetson-orin`, `x86-nvidia`, `x86`, `arm64`. */
  hardwareClass: z.string(),
  cpu: z.object({
    model: z.string(),
    arch: z.string(),
    cores: z.number().int().nonnegative(),
    physicalCores: z.number().int().nonnegative(),
  }),
  memoryBytes: z.number().nonnegative(),
  os: z.object({ platform: z.string(), distro: z.string(), release: z.string(), kernel: z.string() }),
  jetson: z
    .object({
      l4t: z.string(),
      jetpack: z.string().optional(),
      model: z.string(),
      soc: z.string(),
      gpuArch: z.string().optional(),
    })
    .optional(),
  nvidiaGpus: z.array(z.object({ name: z.string(), driver: z.string().optional(), memoryMiB: z.number().optional() })).default([]),
  vulkan: z.boolean(),
  onnxruntime: z.object({
    version: z.string(),
    backends: z.array(z.object({ name: z.string(), bundled: z.boolean() })),
  }),
  /** LiteRT (TFLite models), when the agent has it; absent: the device runs ONNX models only. */
  litert: z.object({ version: z.string() }).optional(),
});
export type HardwareProfile = z.infer<typeof hardwareProfileSchema>;

/** One execution-provider candidate as tried at activation. */
export const epCandidateSchema = z.object({
  ep: executionProviderSchema,
  status: z.enum(['selected', 'started', 'skipped', 'failed']),
  /** Why it was skipped or failed (not available, forbidden, timeout, output not finite...). */
  reason: z.string().optional(),
  p50Ms: z.number().nonnegative().optional(),
  p95Ms: z.number().nonnegative().optional(),
  runs: z.number().int().nonnegative().optional(),
  /** onnxruntime intra-op threads of the measured session (the fastest count tried, on the CPU EP). */
  intraOpThreads: z.number().int().positive().optional(),
  /** Thread counts measured side by side on this EP, when more than one was tried (no count: onnxruntime's default). */
  threadTrials: z
    .array(z.object({ intraOpThreads: z.number().int().positive().optional(), p50Ms: z.number().nonnegative(), runs: z.number().int().nonnegative() }))
    .max(8)
    .optional(),
});
export type EpCandidate = z.infer<typeof epCandidateSchema>;
