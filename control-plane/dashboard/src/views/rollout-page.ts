import type { DeviceRolloutState, GateResult, RolloutDeviceView, RolloutEvent, RolloutView, WaveView } from '@edgefleet/shared';
import { fleetApi, type RolloutAction } from '../api/fleet.js';
import { confirmAction } from '../components/confirm-dialog.js';
import { createTimeChart, type TimeChart } from '../components/time-chart.js';
import { badge, card, errorNotice, link, stat, table } from '../components/widgets.js';
import { h, replaceChildren } from '../lib/dom.js';
import { GateHistory } from '../lib/gate-history.js';
import { formatMs, formatTime, orDash } from '../lib/format.js';
import { deviceHref, modelHref } from '../router.js';
import { openEventStream } from '../api/event-stream.js';
import { rolloutEventOf } from '../live.js';
import type { View, ViewContext } from '../view.js';
import { describeTarget } from './rollouts-list.js';

type Action = RolloutAction;

const LIVE_STATES = ['scheduled', 'running', 'paused'];

// Allowed states mirror the rollout engine's operations (control-plane/src/rollout/rollout-operations.ts).
const ACTIONS: { action: Action; label: string; allowed: (r: RolloutView) => boolean; danger?: boolean; message: string }[] = [
  {
    action: 'approve',
    label: 'Approve next wave',
    allowed: (r) => r.strategy.manualApproval && LIVE_STATES.includes(r.state) && r.waves.some((w) => w.state === 'awaiting-approval' || w.state === 'pending'),
    message: 'The next wave will start notifying its devices.',
  },
  { action: 'pause', label: 'Pause', allowed: (r) => r.state === 'running' || r.state === 'scheduled', message: 'No further devices will be notified until you resume. Devices already updating finish.' },
  { action: 'resume', label: 'Resume', allowed: (r) => r.state === 'paused' || r.state === 'halted', message: 'The rollout continues. Resuming a halted rollout overrides the gate: the failed wave counts as passed.' },
  { action: 'retry', label: 'Retry failed devices', allowed: (r) => (r.state === 'running' || r.state === 'paused') && ((r.counts.failed ?? 0) + (r.counts['rolled-back'] ?? 0) > 0), message: 'Failed and rolled-back devices of the current wave are notified again.' },
  { action: 'abort', label: 'Abort', danger: true, allowed: (r) => ['scheduled', 'running', 'paused', 'halted'].includes(r.state), message: 'The rollout stops for good. Devices keep what they run now.' },
  {
    action: 'rollback',
    label: 'Roll back',
    danger: true,
    allowed: (r) => ['scheduled', 'running', 'paused', 'halted', 'succeeded', 'aborted'].includes(r.state),
    message: 'Every device this rollout updated goes back to its previous version.',
  },
];

// The order device states are printed in (typed against the shared enum; the bundle cannot import its runtime).
const STATE_ORDER: readonly string[] = ['pending', 'notified', 'downloading', 'installing', 'baking', 'succeeded', 'failed', 'rolled-back', 'skipped'] satisfies DeviceRolloutState[];

function countsBar(counts: Record<string, number>): HTMLElement {
  const keys = Object.keys(counts).sort((a, b) => STATE_ORDER.indexOf(a) - STATE_ORDER.indexOf(b));
  return h('div', { class: 'stats', attrs: { role: 'group', 'aria-label': 'Devices per state' } }, ...keys.map((k) => stat(k, counts[k] ?? 0, { 'data-count': k })));
}

/** Gate values are rates, except the latency ratio (×) and whole-wave-failed (device counts). */
function gateUnit(gate: string): 'ratio' | '×' | 'devices' {
  return gate === 'p95-latency-ratio' ? '×' : gate === 'whole-wave-failed' ? 'devices' : 'ratio';
}

function formatGateValue(gate: string, v: number | undefined): string | undefined {
  if (v === undefined) return undefined;
  const unit = gateUnit(gate);
  return unit === '×' ? `${v.toFixed(2)}×` : unit === 'devices' ? `${v}` : `${(v * 100).toFixed(1)} %`;
}

function gateCell(g: GateResult): string {
  const value = formatGateValue(g.gate, g.value);
  const threshold = formatGateValue(g.gate, g.threshold);
  return `${g.gate}: ${g.status}${value ? ` (${value} vs ${orDash(threshold)}, ${g.samples}/${g.minSamples} samples)` : ''}`;
}

function wavesTable(r: RolloutView): HTMLElement {
  return table('Waves', [
    { label: 'Wave', cell: (w: WaveView) => `${w.index + 1}` },
    { label: 'State', cell: (w) => badge(w.state) },
    { label: 'Devices', cell: (w) => w.size },
    { label: 'Per state', cell: (w) => Object.entries(w.counts).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || '—' },
    { label: 'Gates', cell: (w) => (w.gates.length ? h('ul', { class: 'gate-list' }, ...w.gates.map((g) => h('li', { attrs: { 'data-gate': g.gate, 'data-status': g.status } }, gateCell(g)))) : '—') },
    { label: 'Started', cell: (w) => formatTime(w.startedAt), secondary: true },
    { label: 'Bake until', cell: (w) => formatTime(w.bakeUntil), secondary: true },
  ], r.waves);
}

function facts(r: RolloutView): HTMLElement {
  const s = r.strategy;
  const rows: [string, string | HTMLElement][] = [
    ['State', badge(r.state)],
    ['Model', link(modelHref(r.model), `${r.model}@${r.version}`)],
    ['Target', describeTarget(r.target)],
    ['Waves', s.waves.map((w) => ('count' in w ? `${w.count}` : `${w.percent}%`)).join(', ')],
    ['Bake time', formatMs(s.bakeMs)],
    ['Manual approval', s.manualApproval ? 'yes' : 'no'],
    ['On breach', s.onBreach],
    ['Created', formatTime(r.createdAt)],
    ['Started', formatTime(r.startedAt)],
    ['Finished', formatTime(r.finishedAt)],
  ];
  return card('Rollout', h('dl', { class: 'facts' }, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
}

export function rolloutView(ctx: ViewContext): View {
  const id = ctx.route.params.id ?? '';
  ctx.title(`Rollout ${id}`);
  const fleet = fleetApi(ctx.api);
  const history = new GateHistory();
  const charts = new Map<string, TimeChart>();
  const events: RolloutEvent[] = [];
  let rollout: RolloutView | undefined;
  let disposed = false;

  const haltEl = h('div', {});
  const actionsEl = h('div', { class: 'action-row', attrs: { role: 'group', 'aria-label': 'Rollout actions' } });
  const actionStatus = h('div', { attrs: { 'aria-live': 'polite' } });
  const body = h('div', { attrs: { 'aria-busy': 'true' } }, h('p', { class: 'muted' }, 'Loading…'));
  const chartGrid = h('div', { class: 'chart-grid' });
  const eventList = h('ol', { class: 'event-log', attrs: { 'aria-label': 'Live rollout events' } });
  const status = h('div', {});
  const streamState = h('span', { class: 'live-indicator', attrs: { 'data-live': 'connecting', id: 'rollout-live' } }, 'Connecting…');

  function renderCharts(): void {
    for (const gate of history.gates()) {
      let chart = charts.get(gate);
      if (!chart) {
        chart = createTimeChart({ title: `Gate ${gate}`, unit: gateUnit(gate), series: [{ label: 'value', color: '#2563eb' }, { label: 'threshold', color: '#dc2626', threshold: true }] });
        charts.set(gate, chart);
        chartGrid.append(chart.el);
      }
      const points = history.series(gate);
      chart.setData(points.map((p) => p.t), [points.map((p) => p.value), points.map((p) => p.threshold)]);
    }
    if (charts.size === 0) chartGrid.replaceChildren(h('p', { class: 'muted' }, 'No gate has been evaluated yet.'));
    else chartGrid.querySelector(':scope > p')?.remove();
  }

  function renderEvents(): void {
    const recent = events.slice(-30).reverse();
    eventList.replaceChildren(...recent.map((e) => h('li', {}, h('time', { attrs: { datetime: e.at } }, formatTime(e.at)), ' ', h('strong', {}, e.type), ' ', summarise(e))));
  }

  function render(r: RolloutView): void {
    rollout = r;
    history.addSnapshot(r);
    body.setAttribute('aria-busy', 'false');
    body.dataset.state = r.state;
    replaceChildren(
      haltEl,
      r.halt ? h('div', { class: 'notice error', attrs: { role: 'alert', 'data-halt-gate': r.halt.gate ?? '' } }, h('strong', {}, `Halted${r.halt.gate ? ` by gate ${r.halt.gate}` : ''}: `), r.halt.reason, r.halt.wave === undefined ? '' : ` (wave ${r.halt.wave + 1})`) : null,
    );
    replaceChildren(
      actionsEl,
      ...ACTIONS.map((a) => {
        const button = h('button', { class: a.danger ? 'danger' : '', attrs: { type: 'button', 'data-action': a.action } }, a.label);
        button.disabled = !a.allowed(r);
        button.addEventListener('click', () => void runAction(a.action, a.label, a.message, a.danger));
        return button;
      }),
    );
    replaceChildren(
      body,
      h('div', { class: 'grid two' }, facts(r), card('Devices per state', countsBar(r.counts))),
      card('Waves', wavesTable(r)),
      r.devices?.length
        ? card('Devices', table('Devices in this rollout', [
            { label: 'Device', cell: (d: RolloutDeviceView) => link(deviceHref(d.deviceId), d.deviceId) },
            { label: 'Wave', cell: (d) => d.wave + 1 },
            { label: 'State', cell: (d) => badge(d.state) },
            { label: 'Reason', cell: (d) => orDash(d.error ? `${d.error.code}: ${d.error.message}` : d.reason) },
            { label: 'Updated', cell: (d) => formatTime(d.updatedAt), secondary: true },
          ], r.devices))
        : null,
    );
    renderCharts();
  }

  async function load(): Promise<void> {
    try {
      const r = await fleet.rollout(id);
      if (!disposed) {
        render(r);
        status.replaceChildren();
      }
    } catch (error) {
      if (disposed) return;
      if (!rollout) replaceChildren(body, errorNotice(error));
      else status.replaceChildren(errorNotice(error));
    }
  }

  async function runAction(action: Action, label: string, message: string, danger?: boolean): Promise<void> {
    let extra: Record<string, unknown> = {};
    if (action === 'abort') {
      const reason = await confirmAction({ title: `Abort rollout ${id}?`, message, confirmLabel: 'Abort rollout', danger: true });
      if (reason === null) return;
      extra = { mode: 'keep' };
    } else {
      const reason = await confirmAction({ title: `${label}: rollout ${id}?`, message, confirmLabel: label, danger });
      if (reason === null) return;
    }
    try {
      const r = await fleet.rolloutAction(id, action, extra);
      if (r && typeof r === 'object' && 'waves' in r) render(r);
      else await load();
      actionStatus.replaceChildren(h('p', { class: 'notice ok' }, `${label}: done.`));
      ctx.announce(`${label}: done`);
    } catch (error) {
      actionStatus.replaceChildren(errorNotice(error));
    }
  }

  // This rollout's own stream replays its recorded events first, then follows live ones.
  let debounce: number | undefined;
  const seen = new Set<number>();
  const stream = openEventStream({
    api: ctx.api,
    path: `/rollouts/${encodeURIComponent(id)}/stream`,
    onEvent: (e) => {
      const event = rolloutEventOf(e);
      if (!event || event.rolloutId !== id || seen.has(event.id)) return;
      seen.add(event.id);
      events.push(event);
      history.addEvent(event);
      window.clearTimeout(debounce);
      debounce = window.setTimeout(() => {
        renderEvents();
        void load();
      }, 200);
    },
    onState: (state) => {
      streamState.dataset.live = state;
      streamState.textContent = state === 'open' ? 'Live' : 'Reconnecting…';
    },
  });
  const timer = window.setInterval(() => void load(), 10_000);
  void load();

  ctx.root.append(
    haltEl,
    actionsEl,
    actionStatus,
    status,
    body,
    h('section', { class: 'card', attrs: { 'aria-labelledby': 'gates-title' } }, h('h2', { attrs: { id: 'gates-title' } }, 'Gate values against thresholds'), chartGrid),
    h('section', { class: 'card', attrs: { 'aria-labelledby': 'events-title' } }, h('h2', { attrs: { id: 'events-title' } }, 'Events ', streamState), eventList),
  );
  return {
    dispose() {
      disposed = true;
      stream.close();
      window.clearInterval(timer);
      window.clearTimeout(debounce);
      charts.forEach((c) => c.destroy());
    },
  };
}

function summarise(e: RolloutEvent): string {
  const d = e.data;
  const parts: string[] = [];
  if (typeof d.wave === 'number') parts.push(`wave ${d.wave + 1}`);
  if (typeof d.deviceId === 'string') parts.push(d.deviceId);
  if (typeof d.from === 'string' && typeof d.to === 'string') parts.push(`${d.from} → ${d.to}`);
  else if (typeof d.to === 'string') parts.push(d.to);
  if (typeof d.state === 'string') parts.push(d.state);
  if (typeof d.gate === 'string') parts.push(`${d.gate} ${typeof d.value === 'number' ? d.value.toFixed(3) : ''} vs ${typeof d.threshold === 'number' ? d.threshold : '—'}`);
  if (typeof d.reason === 'string') parts.push(d.reason);
  return parts.join(' · ');
}
