/**
 * The dashboard's pure logic (it runs in the browser bundle; these functions touch no DOM, so they
 * are tested here in Node). The views themselves are covered by the browser tests in test/e2e/.
 */
import type { RolloutEvent, RolloutView } from '@edgefleet/shared';
import { describe, expect, it } from 'vitest';
import { formatAgo, formatBytes, formatMs } from '../../dashboard/src/lib/format.js';
import { GateHistory } from '../../dashboard/src/lib/gate-history.js';
import { createSseParser, parseBlock, type StreamEvent } from '../../dashboard/src/lib/sse-parse.js';
import { toDeviceSeries } from '../../dashboard/src/lib/telemetry-series.js';
import { href, parseHash } from '../../dashboard/src/router.js';

describe('telemetry series', () => {
  const point = (t: number, model: string, requests: number, failures: number, meanLatencyMs: number, p95LatencyMs: number) => ({ t, model, version: '1', ep: 'cpu' as const, requests, failures, meanLatencyMs, p95LatencyMs });

  it('merges models per time: summed rates, request-weighted mean, worst p95', () => {
    const s = toDeviceSeries(
      [{ t: 2, n: 1, cpu: 50, memUsed: 1, memTotal: 4, tempMax: 55, max: {} }, { t: 1, n: 1, cpu: 10, max: {} }],
      [point(0, 'a', 30, 1, 10, 20), point(0, 'b', 10, 1, 30, 50), point(60_000, 'a', 60, 0, 10, 20)],
      '1m',
    );
    expect(s.sampleTimes).toEqual([1, 2]);
    expect(s.cpu).toEqual([10, 50]);
    expect(s.memoryPercent).toEqual([null, 25]);
    expect(s.temperature).toEqual([null, 55]);
    expect(s.windowTimes).toEqual([0, 60_000]);
    expect(s.requestsPerS).toEqual([40 / 60, 1]);
    expect(s.failuresPerMin).toEqual([2, 0]);
    expect(s.meanMs).toEqual([15, 10]);
    expect(s.p95Ms).toEqual([50, 20]);
    expect(s.p50Ms).toEqual([null, null]);
  });

  it('gives raw points the width of the gap to the next one', () => {
    const s = toDeviceSeries([], [point(0, 'a', 10, 0, 1, 1), point(5000, 'a', 20, 0, 1, 1), point(10_000, 'a', 5, 0, 1, 1)], 'raw');
    expect(s.requestsPerS).toEqual([2, 4, 1]);
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
