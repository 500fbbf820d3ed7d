import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { arch as osArch } from 'node:os';
import * as ort from 'onnxruntime-node';
import si from 'systeminformation';
import type { HardwarePort, OnnxruntimeInfo, SystemInfoSnapshot } from './hardware-port.js';

export interface NodeHardwarePortOptions {
  /** Per-command deadline (nvidia-smi can hang for seconds when the driver is wedged). @default 5000 */
  commandTimeoutMs?: number;
}

/** The real HardwarePort: files, commands, systeminformation and the onnxruntime-node binding. */
export function createNodeHardwarePort(options: NodeHardwarePortOptions = {}): HardwarePort {
  const timeout = options.commandTimeoutMs ?? 5000;
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
      const [cpu, mem, os] = await Promise.all([si.cpu(), si.mem(), si.osInfo()]);
      return {
        cpu: { model: [cpu.manufacturer, cpu.brand].filter(Boolean).join(' ').trim() || 'unknown', cores: cpu.cores, physicalCores: cpu.physicalCores || cpu.cores },
        arch: os.arch || osArch(),
        memoryBytes: mem.total,
        os: { platform: os.platform, distro: os.distro, release: os.release, kernel: os.kernel },
      };
    },
    async onnxruntime(): Promise<OnnxruntimeInfo> {
      return { version: ort.env.versions.common, backends: ort.listSupportedBackends().map((b) => ({ name: b.name, bundled: b.bundled })) };
    },
  };
}
