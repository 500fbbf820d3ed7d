import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import type { HardwarePort, OnnxruntimeInfo, SystemInfoSnapshot } from './hardware-port.js';
import { runHardwareProbe, type ProbeResult } from './probe-process.js';

export interface NodeHardwarePortOptions {
  /** Per-command deadline (nvidia-smi can hang for seconds when the driver is wedged). @default 5000 */
  commandTimeoutMs?: number;
  /** Deadline of the one-off probe process (loading the onnxruntime binding from an SD card is slow). @default 30000 */
  probeTimeoutMs?: number;
}

/**
 * The real HardwarePort: files, commands, and what systeminformation and the onnxruntime-node
 * binding report, read by one probe process shared by systemInfo() and onnxruntime() so neither
 * library is loaded into the agent (probe-process.ts says why).
 */
export function createNodeHardwarePort(options: NodeHardwarePortOptions = {}): HardwarePort {
  const timeout = options.commandTimeoutMs ?? 5000;
  let probe: Promise<ProbeResult> | undefined;
  const probed = (): Promise<ProbeResult> => (probe ??= runHardwareProbe({ timeoutMs: options.probeTimeoutMs ?? 30_000 }));
  return {
    async readFile(path) {
      try {
        return await readFile(path, 'utf8');
      } catch {
        return undefined;
      }
    },
    runCommand(command, args) {
      return new Promise((resolve) => {
        execFile(command, args, { timeout, encoding: 'utf8', maxBuffer: 4 * 1024 * 1024 }, (error, stdout) => {
          resolve(error ? undefined : stdout);
        });
      });
    },
    async existing(paths) {
      const found = await Promise.all(paths.map(async (p) => (await access(p).then(() => true, () => false)) ? p : undefined));
      return found.filter((p): p is string => p !== undefined);
    },
    async systemInfo(): Promise<SystemInfoSnapshot> {
      return (await probed()).systemInfo;
    },
    async onnxruntime(): Promise<OnnxruntimeInfo> {
      return (await probed()).onnxruntime;
    },
    async litert() {
      // The package's version only (its package.json); the wasm loads when a .tflite model does.
      const { liteRtInfo } = await import('../inference/litert/load-litert.js');
      try {
        return liteRtInfo();
      } catch {
        return undefined;
      }
    },
  };
}
