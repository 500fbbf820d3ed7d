import type { HardwarePort, OnnxruntimeInfo, SystemInfoSnapshot } from '../hardware-port.js';

/**
 * Device recordings: the files, command outputs, systeminformation answers and onnxruntime-node
 * backend lists as read on each kind of device (the formats of reference.md §3).
 */
export interface DeviceRecording {
  files: Record<string, string>;
  commands: Record<string, string>;
  existing: string[];
  system: SystemInfoSnapshot;
  onnxruntime: OnnxruntimeInfo;
}

const ORT_X64: OnnxruntimeInfo = {
  version: '1.30.0',
  backends: [
    { name: 'cpu', bundled: true },
    { name: 'webgpu', bundled: true },
    { name: 'cuda', bundled: false },
    { name: 'tensorrt', bundled: false },
  ],
};
// The npm build for linux arm64 is CPU only.
const ORT_ARM64_NPM: OnnxruntimeInfo = { version: '1.30.0', backends: [{ name: 'cpu', bundled: true }] };
// A from-source build with CUDA/TensorRT on the Jetson (same version as the npm package).
const ORT_JETSON_SOURCE: OnnxruntimeInfo = {
  version: '1.30.0',
  backends: [
    { name: 'cpu', bundled: true },
    { name: 'cuda', bundled: true },
    { name: 'tensorrt', bundled: true },
  ],
};

export const orinNano: DeviceRecording = {
  files: {
    '/etc/nv_tegra_release': '# R36 (release), REVISION: 4.7, GCID: 42132812, BOARD: generic, EABI: aarch64, DATE: Thu Sep 18 22:54:44 UTC 2025\n# KERNEL_VARIANT: oot\nTARGET_USERSPACE_LIB_DIR=nvidia\nTARGET_USERSPACE_LIB_DIR_PATH=usr/lib/aarch64-linux-gnu/nvidia\n',
    '/proc/device-tree/model': 'NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super\0',
    '/proc/device-tree/compatible': 'nvidia,p3768-0000+p3767-0005-super\0nvidia,p3767-0005\0nvidia,tegra234\0',
  },
  commands: {},
  existing: ['/usr/lib/aarch64-linux-gnu/libvulkan.so.1'],
  system: {
    cpu: { model: 'ARM Cortex-A78AE', cores: 6, physicalCores: 6 },
    arch: 'arm64',
    memoryBytes: 7_995_465_728,
    os: { platform: 'linux', distro: 'Ubuntu', release: '22.04.5 LTS', kernel: '5.15.148-tegra' },
  },
  onnxruntime: ORT_JETSON_SOURCE,
};

export const xavierNx: DeviceRecording = {
  files: {
    '/etc/nv_tegra_release': '# R35 (release), REVISION: 6.0, GCID: 36923193, BOARD: t186ref, EABI: aarch64, DATE: Fri Jul 19 23:24:25 UTC 2024\n',
    '/proc/device-tree/model': 'NVIDIA Jetson Xavier NX Developer Kit\0',
    '/proc/device-tree/compatible': 'nvidia,p3509-0000+p3668-0001\0nvidia,tegra194\0',
  },
  // JetPack 5 ships no nvidia-smi; a Jetson never gets asked anyway.
  commands: {},
  existing: [],
  system: {
    cpu: { model: 'NVIDIA Carmel (ARMv8.2)', cores: 6, physicalCores: 6 },
    arch: 'arm64',
    memoryBytes: 7_948_120_064,
    os: { platform: 'linux', distro: 'Ubuntu', release: '20.04.6 LTS', kernel: '5.10.216-tegra' },
  },
  onnxruntime: ORT_ARM64_NPM,
};

export const x86Nvidia: DeviceRecording = {
  files: {},
  commands: {
    'nvidia-smi': 'NVIDIA H100 80GB HBM3, 570.124.06, 81559, 0, 0, 31, 69.84\n',
    'ldconfig -p': '\tlibvulkan.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libvulkan.so.1\n',
  },
  existing: [],
  system: {
    cpu: { model: 'Intel Xeon Platinum 8480+', cores: 16, physicalCores: 16 },
    arch: 'x64',
    memoryBytes: 137_438_953_472,
    os: { platform: 'linux', distro: 'Ubuntu', release: '22.04.4 LTS', kernel: '5.15.0-119-generic' },
  },
  onnxruntime: ORT_X64,
};

export const raspberryPi5: DeviceRecording = {
  files: {
    '/proc/device-tree/model': 'Raspberry Pi 5 Model B Rev 1.0\0',
    '/proc/device-tree/compatible': 'raspberrypi,5-model-b\0brcm,bcm2712\0',
  },
  commands: {},
  existing: ['/usr/lib/aarch64-linux-gnu/libvulkan.so.1'],
  system: {
    cpu: { model: 'ARM Cortex-A76', cores: 4, physicalCores: 4 },
    arch: 'arm64',
    memoryBytes: 4_236_247_040,
    os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.6.51+rpt-rpi-2712' },
  },
  onnxruntime: ORT_ARM64_NPM,
};

export const plainX86: DeviceRecording = {
  files: {},
  commands: { 'ldconfig -p': '\tlibc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6\n' },
  existing: [],
  system: {
    cpu: { model: 'AMD EPYC', cores: 2, physicalCores: 2 },
    arch: 'x64',
    memoryBytes: 25_275_961_344,
    os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1.0-26-amd64' },
  },
  onnxruntime: ORT_X64,
};

/** A HardwarePort that answers from a recording; commands are keyed by `cmd` or `cmd arg1 ...` (first match). */
export function recordedPort(recording: DeviceRecording): HardwarePort & { commandsRun: string[] } {
  const commandsRun: string[] = [];
  return {
    commandsRun,
    readFile: async (path) => recording.files[path],
    runCommand: async (command, args) => {
      commandsRun.push(command);
      return recording.commands[[command, ...args].join(' ')] ?? recording.commands[command];
    },
    existing: async (paths) => paths.filter((p) => recording.existing.includes(p)),
    systemInfo: async () => recording.system,
    onnxruntime: async () => recording.onnxruntime,
  };
}
