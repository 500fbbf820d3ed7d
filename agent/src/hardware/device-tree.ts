/**
 * Parsers for /proc/device-tree/{model,compatible}: NUL-terminated strings (compatible is a
 * NUL-separated list). systeminformation reads neither, and the Jetson iGPU is not on PCI.
 */
export function parseDeviceTreeModel(text: string): string | undefined {
  const model = text.split('\0')[0]?.trim();
  return model ? model : undefined;
}

export function parseDeviceTreeCompatible(text: string): string[] {
  return text
    .split('\0')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export interface TegraSoc {
  /** e.g. `tegra234`. */
  soc: string;
  /** Family used in the hardware class, e.g. `orin`. */
  family: string;
  /** GPU architecture with its CUDA compute capability. */
  gpuArch: string;
}

const TEGRA_SOCS: Record<string, Omit<TegraSoc, 'soc'>> = {
  tegra264: { family: 'thor', gpuArch: 'blackwell (sm_110)' },
  tegra234: { family: 'orin', gpuArch: 'ampere (sm_87)' },
  tegra194: { family: 'xavier', gpuArch: 'volta (sm_72)' },
  tegra186: { family: 'tx2', gpuArch: 'pascal (sm_62)' },
  tegra210: { family: 'nano', gpuArch: 'maxwell (sm_53)' },
};

/** The Tegra SoC named by a compatible list (`nvidia,tegra234` ...), if any. */
export function tegraSocFromCompatible(compatible: string[]): TegraSoc | undefined {
  for (const entry of compatible) {
    const soc = /^nvidia,(tegra\d+)$/.exec(entry)?.[1];
    const known = soc ? TEGRA_SOCS[soc] : undefined;
    if (soc && known) return { soc, ...known };
  }
  return undefined;
}
