import { hardwareProfileSchema, type HardwareProfile } from '@edgefleet/shared';
import { parseDeviceTreeCompatible, parseDeviceTreeModel, tegraSocFromCompatible } from './device-tree.js';
import type { HardwarePort } from './hardware-port.js';
import { NVIDIA_SMI_ARGS, parseNvidiaSmiCsv } from './nvidia-smi.js';
import { parseTegraRelease } from './tegra-release.js';

/** Where the Vulkan loader lives on the distributions we ship to (Debian/Ubuntu multiarch, Fedora, Alpine). */
export const VULKAN_LOADER_PATHS = [
  '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
  '/usr/lib/aarch64-linux-gnu/libvulkan.so.1',
  '/usr/lib/arm-linux-gnueabihf/libvulkan.so.1',
  '/usr/lib64/libvulkan.so.1',
  '/usr/lib/libvulkan.so.1',
  '/usr/local/lib/libvulkan.so.1',
];

/**
 * Builds the device's hardware profile (shared hardwareProfileSchema). systeminformation covers the
 * generic parts; Jetson facts come from /etc/nv_tegra_release and the device tree, discrete GPUs
 * from nvidia-smi (skipped on Tegra, where it is missing or reports N/A).
 */
export async function detectHardware(port: HardwarePort): Promise<HardwareProfile> {
  const [sys, ort, litert, tegraText, modelText, compatibleText] = await Promise.all([
    port.systemInfo(),
    port.onnxruntime(),
    port.litert?.(),
    port.readFile('/etc/nv_tegra_release'),
    port.readFile('/proc/device-tree/model'),
    port.readFile('/proc/device-tree/compatible'),
  ]);

  const boardModel = modelText === undefined ? undefined : parseDeviceTreeModel(modelText);
  const soc = compatibleText === undefined ? undefined : tegraSocFromCompatible(parseDeviceTreeCompatible(compatibleText));
  const tegra = tegraText === undefined ? undefined : parseTegraRelease(tegraText);

  let jetson: HardwareProfile['jetson'];
  if (soc || tegra) {
    jetson = {
      l4t: tegra?.l4t ?? 'unknown',
      ...(tegra?.jetpack ? { jetpack: tegra.jetpack } : {}),
      model: boardModel ?? 'NVIDIA Jetson',
      soc: soc?.soc ?? 'unknown',
      ...(soc?.gpuArch ? { gpuArch: soc.gpuArch } : {}),
    };
  }

  const nvidiaGpus: HardwareProfile['nvidiaGpus'] = [];
  if (!jetson) {
    const smi = await port.runCommand('nvidia-smi', NVIDIA_SMI_ARGS);
    for (const gpu of smi === undefined ? [] : parseNvidiaSmiCsv(smi)) {
      nvidiaGpus.push({
        name: gpu.name,
        ...(gpu.driver ? { driver: gpu.driver } : {}),
        ...(gpu.memoryTotalMiB !== undefined ? { memoryMiB: gpu.memoryTotalMiB } : {}),
      });
    }
  }

  const vulkan = (await port.existing(VULKAN_LOADER_PATHS)).length > 0 || (await ldconfigHasVulkan(port));

  return hardwareProfileSchema.parse({
    hardwareClass: hardwareClass({ arch: sys.arch, jetsonFamily: soc?.family, jetson: jetson !== undefined, nvidia: nvidiaGpus.length > 0, boardModel }),
    cpu: { model: sys.cpu.model, arch: sys.arch, cores: sys.cpu.cores, physicalCores: sys.cpu.physicalCores },
    memoryBytes: sys.memoryBytes,
    os: sys.os,
    ...(jetson ? { jetson } : {}),
    nvidiaGpus,
    vulkan,
    onnxruntime: ort,
    ...(litert ? { litert } : {}),
  });
}

async function ldconfigHasVulkan(port: HardwarePort): Promise<boolean> {
  const out = await port.runCommand('ldconfig', ['-p']);
  return out !== undefined && /libvulkan\.so\.1\b/.test(out);
}

/**
 * A coarse class for cohorts, the EP policy and the EP-choice cache key:
 * `jetson-<family>`, `<arch>-nvidia`, `raspberry-pi`, or the CPU architecture.
 */
export function hardwareClass(facts: { arch: string; jetson: boolean; jetsonFamily: string | undefined; nvidia: boolean; boardModel: string | undefined }): string {
  if (facts.jetson) return `jetson-${facts.jetsonFamily ?? 'unknown'}`;
  const arch = normalizeArch(facts.arch);
  if (facts.nvidia) return `${arch}-nvidia`;
  if (facts.boardModel && /raspberry pi/i.test(facts.boardModel)) return 'raspberry-pi';
  return arch;
}

function normalizeArch(arch: string): string {
  if (arch === 'x64' || arch === 'x86_64' || arch === 'amd64') return 'x86';
  if (arch === 'aarch64') return 'arm64';
  return arch;
}
