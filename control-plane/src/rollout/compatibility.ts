/**
 * Pre-flight compatibility (issue 7): a device that cannot run the model is skipped with the
 * reason instead of failing on the device. Unknown facts (no reported state yet) pass: the agent's
 * own pre-flight checks still guard the device.
 */
import type { FleetDevice, ModelRequirements } from './ports.js';

/** Highest ai.onnx opset each onnxruntime minor supports (onnxruntime docs/Versioning.md). */
const ORT_MAX_OPSET: ReadonlyArray<readonly [minor: number, opset: number]> = [
  [14, 15],
  [15, 17],
  [17, 19],
  [18, 20],
  [20, 21],
  [21, 22],
  [23, 23],
];

export function maxOpsetFor(ortVersion: string): number | undefined {
  const match = /^1\.(\d+)/.exec(ortVersion);
  if (!match) return undefined;
  const minor = Number(match[1]);
  let best: number | undefined;
  for (const [m, opset] of ORT_MAX_OPSET) if (minor >= m) best = opset;
  return best;
}

/** Free disk the device must keep beyond the artifact (the agent also keeps the previous version). */
export const DISK_MARGIN_BYTES = 64 * 1024 * 1024;

/** Undefined when compatible, otherwise a sentence saying why not. */
export function incompatibility(device: FleetDevice, req: ModelRequirements): string | undefined {
  const reported = device.reported;
  if (!reported) return undefined;
  // A TFLite model needs LiteRT on the device; an agent that reports hardware without it has none.
  if (req.format === 'tflite' && reported.hardware && !reported.hardware.litert) return `model is TFLite; agent ${reported.agentVersion} reports no LiteRT runtime`;
  const ort = reported.hardware?.onnxruntime.version;
  if (req.opset !== undefined && ort) {
    const max = maxOpsetFor(ort);
    if (max !== undefined && req.opset > max) return `model needs opset ${req.opset}; onnxruntime ${ort} supports up to ${max}`;
  }
  for (const ep of req.requiredEps ?? []) {
    if (!reported.executionProviders.includes(ep)) return `model requires execution provider ${ep}; device has ${reported.executionProviders.join(', ') || 'none'}`;
  }
  const memory = reported.hardware?.memoryBytes;
  if (req.minMemoryBytes !== undefined && memory !== undefined && memory < req.minMemoryBytes) {
    return `model needs ${req.minMemoryBytes} bytes of memory; device has ${memory}`;
  }
  if (req.sizeBytes !== undefined && reported.freeDiskBytes !== undefined && reported.freeDiskBytes < req.sizeBytes + DISK_MARGIN_BYTES) {
    return `model needs ${req.sizeBytes} bytes of disk plus a ${DISK_MARGIN_BYTES}-byte margin; device has ${reported.freeDiskBytes} free`;
  }
  return undefined;
}
