/**
 * Health gates (pure): decide a wave on how the new version behaves on the wave's devices compared
 * with the control cohort (devices still on the previous version) over the bake window (issue 7).
 * A rate gate reports `insufficient` until it has its minimum sample, so one early failure among
 * many devices cannot trip it; a wave in which every device failed halts whatever its size.
 */
import type { GateConfig, GateResult } from '@edgefleet/shared';
import type { CohortHealth } from './ports.js';

export interface WaveNumbers {
  /** Devices of the wave that were notified (skipped ones excluded). */
  devices: number;
  /** Devices whose install finished: active, failed or rolled back by the agent, or timed out. */
  finished: number;
  /** Finished devices that failed, rolled back on their own or timed out. */
  failed: number;
  /** The wave's updated devices on the new version over the bake window. */
  wave?: CohortHealth;
  /** Devices still on the previous version over the same window. */
  control?: CohortHealth;
}

export interface GateVerdict {
  results: GateResult[];
  /** The first gate that tripped, if any. */
  breach?: GateResult;
}

function rateGate(gate: GateResult['gate'], value: number | undefined, threshold: number, samples: number, minSamples: number, control?: number): GateResult {
  const base = { gate, threshold, samples, minSamples, ...(value !== undefined ? { value } : {}), ...(control !== undefined ? { control } : {}) };
  if (value === undefined || samples < minSamples) return { ...base, status: 'insufficient' };
  return { ...base, status: value > threshold ? 'fail' : 'pass' };
}

export function evaluateGates(config: GateConfig, n: WaveNumbers): GateVerdict {
  const results: GateResult[] = [];

  const wholeWaveFailed = n.devices > 0 && n.finished === n.devices && n.failed === n.devices;
  results.push({ gate: 'whole-wave-failed', status: wholeWaveFailed ? 'fail' : 'pass', value: n.failed, threshold: n.devices, samples: n.finished, minSamples: 1 });

  results.push(rateGate('install-failure-rate', n.finished > 0 ? n.failed / n.finished : undefined, config.maxInstallFailureRate, n.finished, config.minInstallSamples));

  const waveRate = n.wave?.failureRate;
  const controlRate = n.control?.failureRate ?? 0;
  const increase = waveRate === undefined ? undefined : waveRate - controlRate;
  const inference = rateGate('inference-failure-rate', increase, config.maxInferenceFailureRateIncrease, n.wave?.requests ?? 0, config.minInferenceRequests, n.control?.failureRate);
  // Report the wave's own rate; the threshold applies to its rise over the control cohort.
  results.push({ ...inference, ...(waveRate !== undefined ? { value: waveRate } : {}), threshold: controlRate + config.maxInferenceFailureRateIncrease });

  const waveP95 = n.wave?.p95LatencyMs;
  const controlP95 = n.control?.p95LatencyMs;
  const latencySamples = Math.min(n.wave?.latencySamples ?? 0, n.control?.latencySamples ?? 0);
  const ratio = waveP95 !== undefined && controlP95 !== undefined && controlP95 > 0 ? waveP95 / controlP95 : undefined;
  results.push(rateGate('p95-latency-ratio', ratio, config.maxP95LatencyRatio, latencySamples, config.minLatencySamples, controlP95));

  // Availability is judged against the control cohort's (devices that never report telemetry are
  // not "down"): the wave must keep at least minAvailability of the control's share of reporting time.
  const availability = n.wave?.availability;
  const controlAvailability = n.control?.availability;
  const availabilityThreshold = config.minAvailability * (controlAvailability ?? 0);
  const availabilityGate = rateGate(
    'availability',
    availability === undefined || !controlAvailability ? undefined : 1 - availability,
    1 - availabilityThreshold,
    n.wave?.devices ?? 0,
    config.minAvailabilityDevices,
    controlAvailability,
  );
  // Stored as availability (higher is better), compared as unavailability.
  results.push({ ...availabilityGate, ...(availability !== undefined ? { value: availability } : {}), threshold: availabilityThreshold });

  return { results, breach: results.find((r) => r.status === 'fail') };
}
