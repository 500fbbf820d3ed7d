import { describe, expect, it } from 'vitest';
import { detectHardware } from '../hardware/detect-hardware.js';
import { orinNano, plainX86, raspberryPi5, recordedPort, x86Nvidia, xavierNx } from '../hardware/__fixtures__/devices.js';
import { planExecutionProviders } from './ep-policy.js';

const profileOf = async (rec: Parameters<typeof recordedPort>[0]) => detectHardware(recordedPort(rec));

describe('planExecutionProviders (hardware fixtures)', () => {
  it.each([
    ['Jetson Orin with a CUDA/TensorRT build', orinNano, ['tensorrt', 'cuda', 'cpu'], []],
    ['Jetson Xavier with the CPU-only npm build', xavierNx, ['cpu'], ['tensorrt', 'cuda']],
    ['x86 with an NVIDIA GPU', x86Nvidia, ['tensorrt', 'cuda', 'webgpu', 'cpu'], []],
    ['Raspberry Pi with a Vulkan loader', raspberryPi5, ['cpu'], ['webgpu']],
    ['plain x86', plainX86, ['cpu'], []],
  ] as const)('%s', async (_name, recording, candidates, skipped) => {
    const plan = planExecutionProviders(await profileOf(recording));
    expect(plan.candidates).toEqual(candidates);
    expect(plan.skipped.map((s) => s.ep)).toEqual(skipped);
    for (const s of plan.skipped) expect(s.reason).toMatch(/not built with/);
  });

  it('forbids from the desired state and the device config both apply', async () => {
    const plan = planExecutionProviders(await profileOf(x86Nvidia), { forbid: ['tensorrt'] }, ['webgpu']);
    expect(plan.candidates).toEqual(['cuda', 'cpu']);
    expect(plan.skipped).toEqual([
      { ep: 'tensorrt', status: 'skipped', reason: 'forbidden by policy' },
      { ep: 'webgpu', status: 'skipped', reason: 'forbidden by policy' },
    ]);
  });

  it('a pin tries exactly that EP, even one the hardware order would not', async () => {
    expect(planExecutionProviders(await profileOf(plainX86), { pin: 'webgpu' }).candidates).toEqual(['webgpu']);
    const conflict = planExecutionProviders(await profileOf(plainX86), { pin: 'cpu', forbid: ['cpu'] });
    expect(conflict.candidates).toEqual([]);
    expect(conflict.skipped[0]?.reason).toMatch(/forbidden/);
  });
});
