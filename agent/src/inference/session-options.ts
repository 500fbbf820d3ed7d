import type { AgentConfig, ExecutionProvider, HardwareProfile } from '@edgefleet/shared';
import type { SessionOptionsSpec } from './session-port.js';

const SMALL_MEMORY_BYTES = 2 * 1024 ** 3;

/**
 * Session options chosen per device, overridable in config (agent config `inference`):
 * intra-op threads from physical cores (hyper-threads slow onnxruntime's CPU kernels down), the
 * CPU memory arena off under 2 GiB (it holds peak memory for the session's life), the configured
 * graph optimisation level, and no busy-waiting pool threads.
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
    // onnxruntime's pool threads spin after each run by default. In a worker that steals the cores
    // the main thread needs for HTTP and MQTT: on 2 cores the local API's binary path measured 3×
    // slower than a direct run with spinning, and within a few ms of it without.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}
