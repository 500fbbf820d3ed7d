/**
 * Hardware detection for the agent.
 *
 * @example
 *   const profile = await detectHardware(createNodeHardwarePort());
 *   const gpus = parseNvidiaSmiCsv(await run('nvidia-smi', NVIDIA_SMI_ARGS)); // telemetry
 */
export { detectHardware, hardwareClass, VULKAN_LOADER_PATHS } from './detect-hardware.js';
export type { HardwarePort, OnnxruntimeInfo, SystemInfoSnapshot } from './hardware-port.js';
export { createNodeHardwarePort, type NodeHardwarePortOptions } from './node-hardware-port.js';
export { NVIDIA_SMI_ARGS, NVIDIA_SMI_FIELDS, parseNvidiaSmiCsv, type NvidiaGpuReading } from './nvidia-smi.js';
export { parseTegraRelease, type TegraRelease } from './tegra-release.js';
export { parseDeviceTreeCompatible, parseDeviceTreeModel, tegraSocFromCompatible, type TegraSoc } from './device-tree.js';
