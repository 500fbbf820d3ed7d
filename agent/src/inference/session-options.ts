import type { AgentConfig, ExecutionProvider, HardwareProfile } from '@edgefleet/shared';
import type { SessionOptionsSpec } from './session-port.js';

const SMALL_MEMORY_BYTES = 2 * 1024 ** 3;

/**
 * Session options chosen per device, overridable in config (agent config `inference`):
 * intra-op threads from physical cores (hyper-threads slow onnxruntime's CPU kernels down), the
 * CPU memory arena off under 2 GiB (it holds peak memory for the session's life), and the
 * configured graph optimisation level.
 */
export function sessionOptionsFor(
  profile: Pick<HardwareProfile, 'cpu' | 'memoryBytes'>,
  config: Partial<Pick<AgentConfig['inference'], 'intraOpThreads' | 'cpuMemArena' | 'graphOptimizationLevel'>>,
  ep: ExecutionProvider,
): SessionOptionsSpec {
  const physical = profile.cpu.physicalCores || profile.cpu.cores || 1;
  return {
    // On GPU EPs the CPU threads only run the ops the GPU does not take: fewer are enough.
    intraOpNumThreads: config.intraOpThreads ?? (ep === 'cpu' ? Math.max(1, physical) : Math.max(1, Math.min(physical, 2))),
    interOpNumThreads: 1,
    enableCpuMemArena: config.cpuMemArena ?? profile.memoryBytes >= SMALL_MEMORY_BYTES,
    graphOptimizationLevel: config.graphOptimizationLevel ?? 'all',
    executionMode: 'sequential',
    // Warnings only: onnxruntime's info logs go to stderr and would drown the agent's own logs.
    logSeverityLevel: 3,
  };
}
