import { execFile } from 'node:child_process';
import { NVIDIA_SMI_ARGS, parseNvidiaSmiCsv, type NvidiaGpuReading } from '../../hardware/index.js';

/**
 * Discrete NVIDIA GPUs through nvidia-smi (x86), using the hardware profile's query and parser
 * (agent/src/hardware/nvidia-smi.ts): the profile asks once at start, telemetry every cycle.
 * On Tegra nvidia-smi is missing (JetPack 5) or all N/A (JetPack 6): sysfs is read instead.
 */
export type { NvidiaGpuReading };

/** Runs nvidia-smi with a deadline; undefined when it is missing, fails or hangs (a wedged driver does). */
export async function queryNvidiaSmi(binary = 'nvidia-smi', timeoutMs = 2_000): Promise<NvidiaGpuReading[] | undefined> {
  return await new Promise((resolve) => {
    execFile(binary, NVIDIA_SMI_ARGS, { timeout: timeoutMs }, (err, stdout) => {
      resolve(err ? undefined : parseNvidiaSmiCsv(stdout));
    });
  });
}
