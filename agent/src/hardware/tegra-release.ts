/**
 * Parser for /etc/nv_tegra_release (reference.md §3), e.g.
 * `# R36 (release), REVISION: 4.7, GCID: 42132812, BOARD: generic, EABI: aarch64, DATE: ...` → L4T 36.4.7.
 */
export interface TegraRelease {
  /** L4T version, e.g. `36.4.7`. */
  l4t: string;
  /** JetPack version when the L4T release maps to a known one. */
  jetpack?: string;
  board?: string;
}

// L4T → JetPack (NVIDIA's release notes). Exact L4T first, then major.minor.
const JETPACK_BY_L4T: Record<string, string> = {
  '32.7.1': '4.6.1',
  '32.7.2': '4.6.2',
  '32.7.3': '4.6.3',
  '32.7.4': '4.6.4',
  '32.7.5': '4.6.5',
  '32.7.6': '4.6.6',
  '35.1.0': '5.0.2',
  '35.2.1': '5.1',
  '35.3.1': '5.1.1',
  '35.4.1': '5.1.2',
  '35.5.0': '5.1.3',
  '35.6.0': '5.1.4',
  '35.6.1': '5.1.5',
  '36.2.0': '6.0 DP',
  '36.3.0': '6.0',
  '36.3': '6.0',
  '36.4.0': '6.1',
  '36.4.3': '6.2',
  '36.4.4': '6.2.1',
  '36.4.7': '6.2.1',
};

export function parseTegraRelease(text: string): TegraRelease | undefined {
  const firstLine = text.split('\n')[0] ?? '';
  const major = /#\s*R(\d+)/.exec(firstLine)?.[1];
  const revision = /REVISION:\s*([\d.]+)/.exec(firstLine)?.[1];
  if (!major || !revision) return undefined;
  const parts = revision.split('.');
  const l4t = [major, parts[0] ?? '0', parts[1] ?? '0'].join('.');
  const jetpack = JETPACK_BY_L4T[l4t] ?? JETPACK_BY_L4T[`${major}.${parts[0] ?? '0'}`];
  const board = /BOARD:\s*([^,\s]+)/.exec(firstLine)?.[1];
  return { l4t, ...(jetpack ? { jetpack } : {}), ...(board ? { board } : {}) };
}
