/**
 * What hardware detection reads from the device, behind a port so recorded fixtures (Orin,
 * Xavier, x86 + NVIDIA, Raspberry Pi, plain x86) drive the same code the device runs.
 * The real implementation is node-hardware-port.ts; fixtures are in __fixtures__/.
 */
export interface SystemInfoSnapshot {
  cpu: { model: string; cores: number; physicalCores: number };
  arch: string;
  memoryBytes: number;
  os: { platform: string; distro: string; release: string; kernel: string };
}

export interface OnnxruntimeInfo {
  version: string;
  /** `listSupportedBackends()`: what the binding was compiled for, not what will start. */
  backends: { name: string; bundled: boolean }[];
}

export interface HardwarePort {
  /** File contents as text, or undefined when missing or unreadable (absence is an answer, not an error). */
  readFile(path: string): Promise<string | undefined>;
  /** stdout of a command, or undefined when it is missing, fails or times out. */
  runCommand(command: string, args: string[]): Promise<string | undefined>;
  /** Paths that exist among those given (library probing). */
  existing(paths: string[]): Promise<string[]>;
  systemInfo(): Promise<SystemInfoSnapshot>;
  onnxruntime(): Promise<OnnxruntimeInfo>;
  /** The LiteRT runtime the agent ships for .tflite models; undefined (or absent) when it has none. */
  litert?(): Promise<{ version: string } | undefined>;
}
