import { hardwareProfileSchema } from '@edgefleet/shared';
import { describe, expect, it } from 'vitest';
import { orinNano, plainX86, raspberryPi5, recordedPort, x86Nvidia, xavierNx } from './__fixtures__/devices.js';
import { detectHardware } from './detect-hardware.js';
import { createNodeHardwarePort } from './node-hardware-port.js';
import { parseNvidiaSmiCsv } from './nvidia-smi.js';
import { parseTegraRelease } from './tegra-release.js';

describe('detectHardware on recorded devices', () => {
  it('Jetson Orin Nano: L4T/JetPack from nv_tegra_release, SoC and GPU arch from the device tree, no nvidia-smi', async () => {
    const port = recordedPort(orinNano);
    const profile = await detectHardware(port);
    expect(profile.hardwareClass).toBe('jetson-orin');
    expect(profile.jetson).toEqual({
      l4t: '36.4.7',
      jetpack: '6.2.1',
      model: 'NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super',
      soc: 'tegra234',
      gpuArch: 'ampere (sm_87)',
    });
    expect(profile.nvidiaGpus).toEqual([]);
    expect(port.commandsRun).not.toContain('nvidia-smi');
    expect(profile.vulkan).toBe(true);
    expect(profile.onnxruntime.backends.map((b) => b.name)).toEqual(['cpu', 'cuda', 'tensorrt']);
  });

  it('Jetson Xavier NX (JetPack 5)', async () => {
    const profile = await detectHardware(recordedPort(xavierNx));
    expect(profile.hardwareClass).toBe('jetson-xavier');
    expect(profile.jetson).toMatchObject({ l4t: '35.6.0', jetpack: '5.1.4', soc: 'tegra194', gpuArch: 'volta (sm_72)' });
    expect(profile.vulkan).toBe(false);
  });

  it('x86 with an NVIDIA GPU: nvidia-smi CSV and Vulkan found through ldconfig', async () => {
    const profile = await detectHardware(recordedPort(x86Nvidia));
    expect(profile.hardwareClass).toBe('x86-nvidia');
    expect(profile.nvidiaGpus).toEqual([{ name: 'NVIDIA H100 80GB HBM3', driver: '570.124.06', memoryMiB: 81559 }]);
    expect(profile.jetson).toBeUndefined();
    expect(profile.vulkan).toBe(true);
    expect(profile.cpu).toEqual({ model: 'Intel Xeon Platinum 8480+', arch: 'x64', cores: 16, physicalCores: 16 });
  });

  it('Raspberry Pi 5: device-tree model but no Tegra SoC', async () => {
    const profile = await detectHardware(recordedPort(raspberryPi5));
    expect(profile.hardwareClass).toBe('raspberry-pi');
    expect(profile.jetson).toBeUndefined();
    expect(profile.vulkan).toBe(true);
  });

  it('plain x86', async () => {
    const profile = await detectHardware(recordedPort(plainX86));
    expect(profile.hardwareClass).toBe('x86');
    expect(profile.vulkan).toBe(false);
    expect(profile.nvidiaGpus).toEqual([]);
  });

  it('this machine, through the real port, yields a valid profile', async () => {
    const profile = await detectHardware(createNodeHardwarePort());
    expect(hardwareProfileSchema.safeParse(profile).success).toBe(true);
    expect(profile.cpu.cores).toBeGreaterThan(0);
    expect(profile.onnxruntime.version).toBe('1.30.0');
    expect(profile.onnxruntime.backends.map((b) => b.name)).toContain('cpu');
  });
});

describe('parsers', () => {
  it('nv_tegra_release without a known JetPack keeps the L4T version', () => {
    expect(parseTegraRelease('# R99 (release), REVISION: 1.2, GCID: 1, BOARD: x, EABI: aarch64')).toEqual({ l4t: '99.1.2', board: 'x' });
    expect(parseTegraRelease('garbage')).toBeUndefined();
  });

  it('nvidia-smi N/A fields (Jetson JetPack 6, some boards) become undefined, not NaN', () => {
    const readings = parseNvidiaSmiCsv('Orin (nvgpu), N/A, N/A, N/A, N/A, N/A, N/A\nNVIDIA A2, 550.54.15, 15356, 421, 37, 44, [N/A]\nnot,a,row\n');
    expect(readings).toEqual([
      { name: 'Orin (nvgpu)' },
      { name: 'NVIDIA A2', driver: '550.54.15', memoryTotalMiB: 15356, memoryUsedMiB: 421, utilizationPercent: 37, temperatureC: 44 },
    ]);
  });
});
