import { createRequire } from 'node:module';
import { arch } from 'node:os';
import type * as Ort from 'onnxruntime-node';
import type * as Si from 'systeminformation';
import { describe, expect, it } from 'vitest';
import { createNodeHardwarePort } from './node-hardware-port.js';
import { runHardwareProbe } from './probe-process.js';

/**
 * The probe process replaces calling onnxruntime-node and systeminformation in the agent's own
 * process; this proves it answers exactly what those calls answer here, against the real binding.
 */
const require = createRequire(import.meta.url);

describe('hardware probe process (contract with the in-process calls)', () => {
  it('reports the binding version and listSupportedBackends() exactly as the binding does', async () => {
    const ort = require('onnxruntime-node') as typeof Ort;
    const probed = await runHardwareProbe({ timeoutMs: 30_000 });
    expect(probed.onnxruntime).toEqual({
      version: ort.env.versions.common,
      backends: ort.listSupportedBackends().map((b) => ({ name: b.name, bundled: b.bundled })),
    });
    expect(probed.onnxruntime.backends.map((b) => b.name)).toContain('cpu');
  });

  it('reports what systeminformation reports in process', async () => {
    const si = require('systeminformation') as typeof Si;
    const [cpu, mem, os] = await Promise.all([si.cpu(), si.mem(), si.osInfo()]);
    const port = createNodeHardwarePort();
    expect(await port.systemInfo()).toEqual({
      cpu: { model: [cpu.manufacturer, cpu.brand].filter(Boolean).join(' ').trim() || 'unknown', cores: cpu.cores, physicalCores: cpu.physicalCores || cpu.cores },
      arch: os.arch || arch(),
      memoryBytes: mem.total,
      os: { platform: os.platform, distro: os.distro, release: os.release, kernel: os.kernel },
    });
  });

  it('rejects with INTERNAL when the probe cannot finish in time, instead of hanging start', async () => {
    await expect(runHardwareProbe({ timeoutMs: 1 })).rejects.toMatchObject({ code: 'INTERNAL' });
  });
});
