/**
 * The dashboard's pure logic (it runs in the browser bundle; these functions touch no DOM, so they
 * are tested here in Node). The views themselves are covered by the browser tests in test/e2e/.
 */
import type { InferenceWindow, RolloutEvent, RolloutView } from '@edgefleet/shared';
import { LATENCY_BUCKETS_MS } from '@edgefleet/shared';
import { describe, expect, it } from 'vitest';
import { formatAgo, formatBytes, formatMs } from '../../dashboard/src/lib/format.js';
import { GateHistory } from '../../dashboard/src/lib/gate-history.js';
import { createSseParser, parseBlock, type StreamEvent } from '../../dashboard/src/lib/sse-parse.js';
import { histogramQuantile, toDeviceSeries } from '../../dashboard/src/lib/telemetry-series.js';
import { href, parseHash } from '../../dashboard/src/router.js';

describe('telemetry series', () => {
  it('uses the same latency buckets as the shared contract', () => {
    // The bundle cannot import shared's runtime, so the bucket list is copied; this keeps the copy honest.
    const counts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
    counts[LATENCY_BUCKETS_MS.length - 1] = 1;
    expect(histogramQuantile(counts, 1)).toBe(LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]);
  });

  it('interpolates quantiles inside a bucket as histogram_quantile does', () => {
    // 100 requests: 50 in (5, 10] ms, 50 in (10, 20] ms.
    const counts = [0, 0, 0, 50, 50, 0, 0, 0, 0, 0, 0, 0, 0];
    expect(histogramQuantile(counts, 0.5)).toBeCloseTo(10);
    expect(histogramQuantile(counts, 0.95)).toBeCloseTo(19);
    expect(histogramQuantile(counts, 0.25)).toBeCloseTo(7.5);
    expect(histogramQuantile(new Array<number>(13).fill(0), 0.5)).toBeNull();
    // Everything in +Inf answers with the last finite bound.
    expect(histogramQuantile([...new Array<number>(12).fill(0), 4], 0.5)).toBe(5000);
  });

  it('merges windows of several models ending together into rates per second and per minute', () => {
    const base = { version: '1', ep: 'cpu' as const, from: 0, to: 10_000, latencySumMs: 0, queueSumMs: 0 };
    const latency = [0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const windows: InferenceWindow[] = [
      { ...base, model: 'a', requests: 10, failures: { INFERENCE_FAILED: 1 }, latency },
      { ...base, model: 'b', requests: 10, failures: { INFERENCE_TIMEOUT: 1 }, latency },
    ];
    const s = toDeviceSeries([{ t: 2, cpu: 50, memUsed: 1, memTotal: 4, temps: { a: 40, b: 55 } }, { t: 1, cpu: 10 }], windows);
    expect(s.sampleTimes).toEqual([1, 2]);
    expect(s.cpu).toEqual([10, 50]);
    expect(s.memoryPercent).toEqual([null, 25]);
    expect(s.temperature).toEqual([null, 55]);
    expect(s.windowTimes).toEqual([10_000]);
    expect(s.requestsPerS).toEqual([2]);
    expect(s.failuresPerMin).toEqual([12]);
    expect(s.p50Ms[0]).toBeCloseTo(7.5);
  });
});

describe('server-sent events', () => {
  it('parses event, id and multi-line data and skips keep-alive comments', () => {
    expect(parseBlock('id: 7\nevent: rollout\ndata: {"a":1}\ndata: x')).toEqual({ event: 'rollout', id: '7', data: '{"a":1}\nx' });
    expect(parseBlock(': keep-alive')).toBeNull();
  });

  it('reassembles events split across chunks and CRLF line endings', () => {
    const out: StreamEvent[] = [];
    const parser = createSseParser((e) => out.push(e));
    parser.push('id: 1\r\ndata: {"rolloutId":');
    expect(out).toEqual([]);
    parser.push('"r1"}\r\n\r\n: ping\n\nid: 2\ndata: b\n');
    parser.push('\n');
    expect(out).toEqual([
      { event: 'message', id: '1', data: '{"rolloutId":"r1"}' },
      { event: 'message', id: '2', data: 'b' },
    ]);
  });
});

describe('router', () => {
  it('matches routes with params and query, and round-trips links', () => {
    expect(parseHash('#/devices/cam%201?x=1')).toMatchObject({ name: 'device', params: { id: 'cam 1' } });
    expect(parseHash('#/rollouts/new').name).toBe('rollout-create');
    expect(parseHash('#/rollouts/r-1').params).toEqual({ id: 'r-1' });
    expect(parseHash('').name).toBe('overview');
    expect(parseHash('#/nope/deeper').name).toBe('not-found');
    const route = parseHash(href('devices', { status: 'offline', q: 'berlin cam', model: undefined }));
    expect(route.name).toBe('devices');
    expect(route.query.get('status')).toBe('offline');
    expect(route.query.get('q')).toBe('berlin cam');
    expect(route.query.has('model')).toBe(false);
  });
});

describe('gate history', () => {
  const gate = (value: number) => ({ gate: 'install-failure-rate' as const, status: 'pass' as const, value, threshold: 0.2, samples: 5, minSamples: 5 });

  it('keeps one point per gate and time, from snapshots and breach events, in time order', () => {
    const history = new GateHistory();
    const view = { waves: [{ index: 0, state: 'baking', size: 1, gates: [gate(0.1)], counts: {} }], currentWave: 0 } as unknown as RolloutView;
    history.addSnapshot(view, 2000);
    history.addSnapshot(view, 2000);
    history.addSnapshot(view, 1000);
    const breach: RolloutEvent = { id: 3, rolloutId: 'r', at: new Date(3000).toISOString(), type: 'gate-breach', data: { wave: 0, gate: 'install-failure-rate', value: 1, threshold: 0.2, samples: 1 } };
    history.addEvent(breach);
    expect(history.gates()).toEqual(['install-failure-rate']);
    expect(history.series('install-failure-rate').map((p) => [p.t, p.value, p.status])).toEqual([
      [1000, 0.1, 'pass'],
      [2000, 0.1, 'pass'],
      [3000, 1, 'fail'],
    ]);
  });
});

describe('format', () => {
  it('formats sizes, durations and ages, with a dash for missing values', () => {
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(undefined)).toBe('—');
    expect(formatMs(4.123)).toBe('4.12 ms');
    expect(formatMs(2500)).toBe('2.50 s');
    expect(formatAgo(new Date(10_000).toISOString(), 70_000)).toBe('1 min ago');
  });
});
