import type { TelemetryInferenceResponse, TelemetrySamplesResponse } from '@edgefleet/shared';
import type { ApiClient } from '../api/client.js';
import { createTimeChart, type TimeChart } from '../components/time-chart.js';
import { errorNotice } from '../components/widgets.js';
import { field, h, select } from '../lib/dom.js';
import { toDeviceSeries } from '../lib/telemetry-series.js';

const RANGES = [
  { value: '900000', label: 'Last 15 minutes' },
  { value: '3600000', label: 'Last hour' },
  { value: '21600000', label: 'Last 6 hours' },
  { value: '86400000', label: 'Last 24 hours' },
];

export interface TelemetryPanel {
  el: HTMLElement;
  refresh(): Promise<void>;
  dispose(): void;
}

/**
 * The device's telemetry charts. The charts are created once and only get new data on each
 * refresh, so zoom state and the canvas survive the page being left open.
 */
export function deviceTelemetryPanel(api: ApiClient, deviceId: string, intervalMs = 10_000): TelemetryPanel {
  const range = select(RANGES, RANGES[0]?.value);
  const charts = {
    cpu: createTimeChart({ title: 'CPU', unit: '%', series: [{ label: 'CPU', color: '#2563eb' }], yRange: [0, 100] }),
    memory: createTimeChart({ title: 'Memory', unit: '%', series: [{ label: 'Memory used', color: '#7c3aed' }], yRange: [0, 100] }),
    temperature: createTimeChart({ title: 'Temperature', unit: '°C', series: [{ label: 'Hottest sensor', color: '#dc2626' }] }),
    rate: createTimeChart({ title: 'Inference rate', unit: 'req/s', series: [{ label: 'Requests', color: '#059669' }] }),
    latency: createTimeChart({
      title: 'Inference latency',
      unit: 'ms',
      series: [
        { label: 'p50', color: '#0891b2' },
        { label: 'mean', color: '#65a30d' },
        { label: 'p95', color: '#ea580c' },
      ],
    }),
    failures: createTimeChart({ title: 'Inference failures', unit: '/min', series: [{ label: 'Failures', color: '#b91c1c' }] }),
  } satisfies Record<string, TimeChart>;
  const status = h('div', { attrs: { 'aria-live': 'polite' } });
  const el = h(
    'div',
    { class: 'telemetry' },
    h('div', { class: 'filters' }, field('Time range', range)),
    status,
    h('div', { class: 'chart-grid' }, ...Object.values(charts).map((c) => c.el)),
  );
  let disposed = false;

  async function refresh(): Promise<void> {
    const to = Date.now();
    const from = to - Number(range.value);
    try {
      const query = { deviceIds: deviceId, from, to };
      const [samples, inference] = await Promise.all([
        api.get<TelemetrySamplesResponse>('/telemetry/samples', query),
        api.get<TelemetryInferenceResponse>('/telemetry/inference', query),
      ]);
      if (disposed) return;
      const points = samples.series.find((x) => x.deviceId === deviceId)?.points ?? [];
      const s = toDeviceSeries(points, inference.points, inference.resolution);
      // Shared x range: the period asked for, trimmed to where data begins (a device that joined
      // five minutes ago should not be squeezed into the right edge of a 24-hour axis).
      const firsts = [s.sampleTimes[0], s.windowTimes[0]].filter((t): t is number => t !== undefined);
      const xRange: [number, number] = [firsts.length ? Math.max(from, Math.min(...firsts) - 30_000) : from, to];
      charts.cpu.setData(s.sampleTimes, [s.cpu], xRange);
      charts.memory.setData(s.sampleTimes, [s.memoryPercent], xRange);
      charts.temperature.setData(s.sampleTimes, [s.temperature], xRange);
      charts.rate.setData(s.windowTimes, [s.requestsPerS], xRange);
      charts.latency.setData(s.windowTimes, [s.p50Ms, s.meanMs, s.p95Ms], xRange);
      charts.failures.setData(s.windowTimes, [s.failuresPerMin], xRange);
      el.dataset.loadedAt = String(Date.now());
      status.replaceChildren();
    } catch (error) {
      if (!disposed) status.replaceChildren(errorNotice(error));
    }
  }
  range.addEventListener('change', () => void refresh());
  const timer = window.setInterval(() => void refresh(), intervalMs);
  void refresh();
  return {
    el,
    refresh,
    dispose() {
      disposed = true;
      window.clearInterval(timer);
      Object.values(charts).forEach((c) => c.destroy());
    },
  };
}
