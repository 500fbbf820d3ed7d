import type { AgentConfig, ExecutionProvider, HardwareProfile } from '@edgefleet/shared';
import type { SessionOptionsSpec } from './session-port.js';

const SMALL_MEMORY_BYTES = 2 * 1024 ** 3;

/**
 * Session options chosen per device, overridable in config (agent config `inference`): intra-op
 * threads from physical cores (hyper-threads slow onnxruntime's CPU kernels down) unless fewer were
 * measured faster for the model, the CPU memory arena off under 2 GiB (it holds peak memory for the
 * session's life), the configured graph optimisation level, and no busy-waiting pool threads.
 */
export function sessionOptionsFor(
  profile: Pick<HardwareProfile, 'cpu' | 'memoryBytes'>,
  config: Partial<Pick<AgentConfig['inference'], 'intraOpThreads' | 'cpuMemArena' | 'graphOptimizationLevel' | 'allowSpinning'>>,
  ep: ExecutionProvider,
  /** A thread count measured faster for this model (threadCountsToTry); config still wins. */
  measuredThreads?: number,
): SessionOptionsSpec {
  return {
    intraOpNumThreads: config.intraOpThreads ?? measuredThreads ?? defaultThreads(profile, ep),
    interOpNumThreads: 1,
    enableCpuMemArena: config.cpuMemArena ?? profile.memoryBytes >= SMALL_MEMORY_BYTES,
    graphOptimizationLevel: config.graphOptimizationLevel ?? 'all',
    executionMode: 'sequential',
    // Warnings only: onnxruntime's info logs go to stderr and would drown the agent's own logs.
    logSeverityLevel: 3,
    // onnxruntime's pool threads spin between and after parallel sections by default. That buys
    // a direct run a lot (2 cores, PP-OCR detector: 54 vs 67 ms) but through the local API much
    // less (79 vs 82 ms): the spinning threads take the core the event loop needs to read the next
    // body, and every other process on the device pays for the burnt CPU. Opt-in (allowSpinning).
    ...(config.allowSpinning === true ? {} : { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } }),
  };
}

function physicalCores(profile: Pick<HardwareProfile, 'cpu'>): number {
  return Math.max(1, profile.cpu.physicalCores || profile.cpu.cores || 1);
}

function defaultThreads(profile: Pick<HardwareProfile, 'cpu'>, ep: ExecutionProvider): number {
  // On GPU EPs the CPU threads only run the ops the GPU does not take: fewer are enough.
  return ep === 'cpu' ? physicalCores(profile) : Math.min(physicalCores(profile), 2);
}

/**
 * Other intra-op thread counts worth timing against the default for one model, on the CPU EP.
 * Small models lose more to waking pool threads than they gain from them: on 2 cores the PP-OCR
 * classifier (1×3×48×192) ran in 0.86 ms on 1 thread and 1.22 ms on 2, while the detector
 * (640×640) needed both (89 vs 61 ms). So one thread and, on bigger CPUs, half the cores are
 * measured beside all of them. Nothing to try when config pins the count or on GPU EPs.
 */
export function threadCountsToTry(
  profile: Pick<HardwareProfile, 'cpu'>,
  config: Partial<Pick<AgentConfig['inference'], 'intraOpThreads'>>,
  ep: ExecutionProvider,
): number[] {
  if (config.intraOpThreads !== undefined || ep !== 'cpu') return [];
  const all = physicalCores(profile);
  const half = Math.floor(all / 2);
  return [...new Set([1, ...(half > 1 ? [half] : [])])].filter((n) => n !== all);
}
