import uPlot from 'uplot';
import { h } from '../lib/dom.js';

export interface ChartSeries {
  label: string;
  /** CSS colour. */
  color: string;
  /** Drawn dashed and without points: a threshold to compare the measured series against. */
  threshold?: boolean;
}

export interface TimeChart {
  el: HTMLElement;
  /**
   * `times` in Unix ms; one array of values per series, `null` for a gap. `range` (Unix ms) pins
   * the x axis to the period asked for, so a sparse or empty series still reads as "this hour".
   */
  setData(times: number[], values: (number | null)[][], range?: [number, number]): void;
  destroy(): void;
}

export interface TimeChartOptions {
  title: string;
  unit: string;
  series: ChartSeries[];
  height?: number;
  /** Fixed y range (e.g. 0-100 for percentages); otherwise uPlot fits the data. */
  yRange?: [number, number];
}

/**
 * A uPlot line chart that follows its container's width (ResizeObserver), so the same chart works
 * at 1280 px and at phone width. The figure carries a text summary of the latest values for screen
 * readers, since a canvas says nothing on its own.
 */
export function createTimeChart(options: TimeChartOptions): TimeChart {
  const height = options.height ?? 180;
  const host = h('div', { class: 'chart-host' });
  const summary = h('p', { class: 'visually-hidden', attrs: { 'aria-live': 'off' } });
  const empty = h('p', { class: 'chart-empty muted' }, 'No data yet');
  const el = h(
    'figure',
    { class: 'chart', attrs: { 'data-chart': options.title } },
    h('figcaption', {}, `${options.title} (${options.unit})`),
    host,
    empty,
    summary,
  );
  let xRange: [number, number] | undefined;
  const opts: uPlot.Options = {
    width: 600,
    height,
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true, range: (_u, min, max) => xRange ?? [min, max] }, y: options.yRange ? { range: options.yRange } : { auto: true } },
    // Canvas text cannot read CSS variables, so axis colours are literal (the --muted tone).
    axes: [{ stroke: '#5b6673' }, { stroke: '#5b6673', size: 56 }],
    series: [
      {},
      ...options.series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: s.threshold ? 1 : 2,
        dash: s.threshold ? [6, 4] : undefined,
        points: { show: false },
        spanGaps: false,
      })),
    ],
  };
  const plot = new uPlot(opts, [[], ...options.series.map(() => [])], host);
  const resize = new ResizeObserver((entries) => {
    const width = Math.floor(entries[0]?.contentRect.width ?? 0);
    if (width > 0 && Math.abs(width - plot.width) > 1) plot.setSize({ width, height });
  });
  resize.observe(host);

  return {
    el,
    setData(times, values, range) {
      xRange = range ? [range[0] / 1000, range[1] / 1000] : undefined;
      empty.hidden = times.length > 0;
      el.dataset.points = String(times.length);
      plot.setData([times.map((t) => t / 1000), ...values] as uPlot.AlignedData);
      const latest = options.series
        .map((s, i) => {
          const v = values[i]?.[times.length - 1];
          return `${s.label} ${v === null || v === undefined ? 'no value' : `${Number(v.toFixed(2))} ${options.unit}`}`;
        })
        .join(', ');
      summary.textContent = times.length ? `${options.title}, latest: ${latest}` : `${options.title}: no data`;
      host.setAttribute('role', 'img');
      host.setAttribute('aria-label', summary.textContent);
    },
    destroy() {
      resize.disconnect();
      plot.destroy();
    },
  };
}
