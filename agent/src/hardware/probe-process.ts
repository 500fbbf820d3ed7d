import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { EdgefleetError, hardwareProfileSchema } from '@edgefleet/shared';
import { z } from 'zod';
import type { OnnxruntimeInfo, SystemInfoSnapshot } from './hardware-port.js';

/**
 * The facts only onnxruntime-node and systeminformation can tell, read once at start in a
 * short-lived child process so neither library is ever loaded into the agent's own process.
 *
 * Why a process and not a worker_thread: measured on x64 (docs/operations.md, "Memory"), loading
 * the binding in a worker that then exits gave back 1.5 of its 15.8 MB (the dlopen'd
 * libonnxruntime stays mapped and glibc keeps the worker's arenas); a child process gives back all
 * of it for ~80 ms of start time. The inference workers load the binding themselves when a model
 * is activated, so an agent with no model never maps it.
 */
const PROBE_SOURCE = String.raw`
'use strict';
const [ortPath, siPath] = JSON.parse(process.argv[1]);
async function main() {
  const ort = require(ortPath);
  const si = require(siPath);
  const [cpu, mem, os] = await Promise.all([si.cpu(), si.mem(), si.osInfo()]);
  const result = {
    onnxruntime: { version: ort.env.versions.common, backends: ort.listSupportedBackends().map((b) => ({ name: b.name, bundled: b.bundled })) },
    systemInfo: {
      cpu: { model: [cpu.manufacturer, cpu.brand].filter(Boolean).join(' ').trim() || 'unknown', cores: cpu.cores, physicalCores: cpu.physicalCores || cpu.cores },
      arch: os.arch || require('node:os').arch(),
      memoryBytes: mem.total,
      os: { platform: os.platform, distro: os.distro, release: os.release, kernel: os.kernel },
    },
  };
  process.stdout.write('\n' + JSON.stringify(result) + '\n');
}
main().catch((e) => {
  process.stderr.write(String((e && e.stack) || e));
  process.exitCode = 1;
});
`;

const probeResultSchema = z.object({
  onnxruntime: hardwareProfileSchema.shape.onnxruntime,
  systemInfo: z.object({
    cpu: hardwareProfileSchema.shape.cpu.omit({ arch: true }),
    arch: z.string(),
    memoryBytes: hardwareProfileSchema.shape.memoryBytes,
    os: hardwareProfileSchema.shape.os,
  }),
});

export interface ProbeResult {
  onnxruntime: OnnxruntimeInfo;
  systemInfo: SystemInfoSnapshot;
}

/**
 * Runs the probe in `node -e` (the same Node binary as the agent) and parses its last stdout line.
 * Rejects with EdgefleetError INTERNAL carrying the child's stderr when it fails or times out.
 */
export function runHardwareProbe(options: { timeoutMs: number }): Promise<ProbeResult> {
  const require = createRequire(import.meta.url);
  const paths = JSON.stringify([require.resolve('onnxruntime-node'), require.resolve('systeminformation')]);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', PROBE_SOURCE, paths], { timeout: options.timeoutMs, encoding: 'utf8', maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(new EdgefleetError('INTERNAL', `hardware probe process failed: ${stderr.trim().split('\n').at(-1) || error.message}`, { cause: error }));
        return;
      }
      try {
        const lastLine = stdout.trim().split('\n').at(-1) ?? '';
        resolve(probeResultSchema.parse(JSON.parse(lastLine)));
      } catch (err) {
        reject(new EdgefleetError('INTERNAL', 'hardware probe process printed no valid result', { cause: err }));
      }
    });
  });
}
