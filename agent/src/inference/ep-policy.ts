import type { EpCandidate, EpPolicy, ExecutionProvider, HardwareProfile } from '@edgefleet/shared';

export interface EpPlan {
  /** EPs to try, best-first by hardware; the prober measures them. */
  candidates: ExecutionProvider[];
  /** EPs ruled out before trying, with the reason (reported beside the measured ones). */
  skipped: EpCandidate[];
}

/**
 * Hardware → ordered EP candidates (issue 4): Jetson: tensorrt, cuda, cpu; a machine with an
 * NVIDIA GPU: tensorrt, cuda, webgpu, cpu; another Vulkan GPU: webgpu, cpu; otherwise cpu.
 * EPs the onnxruntime binding was not compiled for, and those forbidden by the desired state or
 * the device config, are skipped. A pin tries exactly that EP, whatever the hardware says.
 */
export function planExecutionProviders(profile: Pick<HardwareProfile, 'jetson' | 'nvidiaGpus' | 'vulkan' | 'onnxruntime'>, policy: Partial<EpPolicy> = {}, deviceForbid: readonly ExecutionProvider[] = []): EpPlan {
  const forbidden = new Set<ExecutionProvider>([...(policy.forbid ?? []), ...deviceForbid]);
  const skipped: EpCandidate[] = [];

  if (policy.pin) {
    if (forbidden.has(policy.pin)) return { candidates: [], skipped: [{ ep: policy.pin, status: 'skipped', reason: 'pinned but also forbidden' }] };
    return { candidates: [policy.pin], skipped: [] };
  }

  const order: ExecutionProvider[] = profile.jetson
    ? ['tensorrt', 'cuda', 'cpu']
    : profile.nvidiaGpus.length > 0
      ? ['tensorrt', 'cuda', 'webgpu', 'cpu']
      : profile.vulkan
        ? ['webgpu', 'cpu']
        : ['cpu'];
  const compiled = new Set(profile.onnxruntime.backends.map((b) => b.name));

  const candidates: ExecutionProvider[] = [];
  for (const ep of order) {
    if (forbidden.has(ep)) skipped.push({ ep, status: 'skipped', reason: 'forbidden by policy' });
    else if (ep !== 'cpu' && !compiled.has(ep)) skipped.push({ ep, status: 'skipped', reason: `onnxruntime-node ${profile.onnxruntime.version} was not built with ${ep}` });
    else candidates.push(ep);
  }
  return { candidates, skipped };
}
