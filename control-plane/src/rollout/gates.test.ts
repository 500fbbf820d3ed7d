import { describe, expect, it } from 'vitest';
import { gateConfigSchema } from '@edgefleet/shared';
import { evaluateGates } from './gates.js';
import type { CohortHealth } from './ports.js';

const config = gateConfigSchema.parse({});

function health(over: Partial<CohortHealth>): CohortHealth {
  return {
    model: 'm', version: 'v', from: 0, to: 1, requests: 0, failures: 0, failureRate: undefined, failuresByReason: {},
    p95LatencyMs: undefined, meanLatencyMs: undefined, latencySamples: 0, samples: 0, devicesReporting: 0, devices: 0,
    availability: undefined, availabilitySlots: { seen: 0, expected: 0 }, ...over,
  };
}

const gate = (name: string, v: ReturnType<typeof evaluateGates>) => v.results.find((r) => r.gate === name)!;

describe('evaluateGates', () => {
  it('halts a single canary that failed its smoke test (the whole wave failed)', () => {
    const v = evaluateGates(config, { devices: 1, finished: 1, failed: 1 });
    expect(v.breach?.gate).toBe('whole-wave-failed');
    // The install rate alone could not have tripped: one sample is below the minimum of 5.
    expect(gate('install-failure-rate', v).status).toBe('insufficient');
  });

  it('does not trip on one early failure among many devices', () => {
    const v = evaluateGates(config, { devices: 100, finished: 1, failed: 1 });
    expect(v.breach).toBeUndefined();
  });

  it('trips the install failure rate once it has its sample', () => {
    const v = evaluateGates(config, { devices: 100, finished: 10, failed: 3 });
    expect(v.breach).toMatchObject({ gate: 'install-failure-rate', value: 0.3, threshold: 0.2, samples: 10, minSamples: 5 });
  });

  it('compares inference failures with the control cohort', () => {
    const base = { devices: 10, finished: 10, failed: 0 };
    const fleetWide = evaluateGates(config, { ...base, wave: health({ requests: 100, failures: 10, failureRate: 0.1 }), control: health({ requests: 1000, failures: 80, failureRate: 0.08 }) });
    expect(gate('inference-failure-rate', fleetWide).status).toBe('pass');
    const regression = evaluateGates(config, { ...base, wave: health({ requests: 100, failures: 20, failureRate: 0.2 }), control: health({ requests: 1000, failures: 10, failureRate: 0.01 }) });
    expect(regression.breach).toMatchObject({ gate: 'inference-failure-rate', value: 0.2, control: 0.01 });
    const few = evaluateGates(config, { ...base, wave: health({ requests: 10, failures: 10, failureRate: 1 }) });
    expect(gate('inference-failure-rate', few).status).toBe('insufficient');
  });

  it('trips the p95 latency ratio against the control cohort only with samples on both sides', () => {
    const base = { devices: 3, finished: 3, failed: 0 };
    const slow = evaluateGates(config, { ...base, wave: health({ requests: 100, p95LatencyMs: 30, latencySamples: 100 }), control: health({ requests: 100, p95LatencyMs: 10, latencySamples: 100 }) });
    expect(slow.breach).toMatchObject({ gate: 'p95-latency-ratio', value: 3, threshold: 2, control: 10 });
    const ok = evaluateGates(config, { ...base, wave: health({ requests: 100, p95LatencyMs: 12, latencySamples: 100 }), control: health({ requests: 100, p95LatencyMs: 10, latencySamples: 100 }) });
    expect(ok.breach).toBeUndefined();
    const noControl = evaluateGates(config, { ...base, wave: health({ requests: 100, p95LatencyMs: 30, latencySamples: 100 }) });
    expect(gate('p95-latency-ratio', noControl).status).toBe('insufficient');
  });

  it('trips availability when updated devices stop reporting, relative to the control cohort', () => {
    const control = health({ devices: 10, availability: 1 });
    const v = evaluateGates(config, { devices: 4, finished: 4, failed: 0, wave: health({ devices: 4, availability: 0.5 }), control });
    expect(v.breach).toMatchObject({ gate: 'availability', value: 0.5, threshold: 0.8, control: 1 });
    const few = evaluateGates(config, { devices: 2, finished: 2, failed: 0, wave: health({ devices: 2, availability: 0 }), control });
    expect(few.breach).toBeUndefined();
    // A fleet that sends no telemetry at all gives no availability verdict.
    const silent = evaluateGates(config, { devices: 4, finished: 4, failed: 0, wave: health({ devices: 4, availability: 0 }), control: health({ devices: 4, availability: 0 }) });
    expect(silent.results.find((r) => r.gate === 'availability')?.status).toBe('insufficient');
  });
});
