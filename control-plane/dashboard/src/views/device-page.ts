import type { DeviceDetail, EpCandidate, ReportedModel, RolloutView } from '@edgefleet/shared';
import { fleetApi, mapLimit, type FleetApi } from '../api/fleet.js';
import { confirmAction } from '../components/confirm-dialog.js';
import { badge, card, errorNotice, table } from '../components/widgets.js';
import { field, h, select, type Child } from '../lib/dom.js';
import { formatAgo, formatBytes, formatMs, formatTime, orDash } from '../lib/format.js';
import { modelHref, rolloutHref } from '../router.js';
import { liveSection, type View, type ViewContext } from '../view.js';
import { deviceTelemetryPanel } from './device-telemetry.js';

function dl(rows: [string, Child][]): HTMLDListElement {
  return h('dl', { class: 'facts' }, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function summary(device: DeviceDetail): HTMLElement {
  const r = device.reported;
  const hw = r?.hardware;
  return card(
    'Reported state',
    dl([
      ['Status', badge(device.status)],
      ['Last seen', formatAgo(device.lastSeen)],
      ['Agent', orDash(r?.agentVersion ?? device.agentVersion)],
      ['Hardware class', orDash(hw?.hardwareClass)],
      ['CPU', hw ? `${hw.cpu.model} (${hw.cpu.arch}, ${hw.cpu.cores} cores)` : '—'],
      ['Memory', formatBytes(hw?.memoryBytes)],
      ['OS', hw ? `${hw.os.distro} ${hw.os.release} (${hw.os.kernel})` : '—'],
      ['Jetson', hw?.jetson ? `${hw.jetson.model}, L4T ${hw.jetson.l4t}${hw.jetson.jetpack ? `, JetPack ${hw.jetson.jetpack}` : ''}` : '—'],
      ['GPUs', hw?.nvidiaGpus.map((g) => g.name).join(', ') || '—'],
      ['onnxruntime', hw ? `${hw.onnxruntime.version} (${hw.onnxruntime.backends.map((b) => b.name).join(', ')})` : '—'],
      ['Execution providers', r?.executionProviders.join(', ') || '—'],
      ['Free disk', formatBytes(r?.freeDiskBytes)],
      ['Generation', `observed ${orDash(r?.observedGeneration)}, applied ${orDash(r?.appliedGeneration)}, desired ${orDash(device.desiredGeneration)}`],
      ['Tags', Object.entries(device.tags).map(([k, v]) => `${k}=${v}`).join(', ') || '—'],
      ['Reported', formatTime(r?.reportedAt)],
    ]),
  );
}

function modelsCard(models: ReportedModel[]): HTMLElement {
  return card(
    'Models',
    table('Models on this device', [
      { label: 'Model', cell: (m: ReportedModel) => h('a', { attrs: { href: modelHref(m.name) } }, m.name) },
      { label: 'State', cell: (m) => badge(m.state) },
      { label: 'Active', cell: (m) => orDash(m.active) },
      { label: 'Previous', cell: (m) => orDash(m.previous) },
      { label: 'Installed', cell: (m) => m.installed.join(', ') || '—' },
      { label: 'Target', cell: (m) => orDash(m.target), secondary: true },
      { label: 'EP', cell: (m) => orDash(m.ep) },
      { label: 'Last error', cell: (m) => (m.lastError ? `${m.lastError.code}: ${m.lastError.message}` : '—'), secondary: true },
    ], models, 'This device reports no models.'),
  );
}

function epCard(models: ReportedModel[]): HTMLElement {
  const withCandidates = models.filter((m) => m.epCandidates?.length);
  return card(
    'Execution provider choice',
    withCandidates.length === 0
      ? h('p', { class: 'muted' }, 'No EP measurements reported yet.')
      : withCandidates.map((m) =>
          h(
            'div',
            { class: 'ep-model' },
            h('h3', {}, `${m.name}@${orDash(m.active)}: `, h('strong', { attrs: { 'data-chosen-ep': m.ep ?? '' } }, orDash(m.ep))),
            table(`Execution provider candidates for ${m.name}`, [
              { label: 'EP', cell: (c: EpCandidate) => c.ep },
              { label: 'Result', cell: (c) => badge(c.status) },
              { label: 'p50', cell: (c) => formatMs(c.p50Ms) },
              { label: 'p95', cell: (c) => formatMs(c.p95Ms) },
              { label: 'Runs', cell: (c) => orDash(c.runs) },
              { label: 'Reason', cell: (c) => orDash(c.reason) },
            ], m.epCandidates ?? []),
          ),
        ),
  );
}

/** One step of this device in a rollout (the engine records every device move as a rollout event). */
interface HistoryEntry {
  at: string;
  rollout: RolloutView;
  from: string;
  to: string;
  detail: string;
}

/** How many recent rollouts the history reads events from. */
const HISTORY_ROLLOUTS = 20;

async function deviceHistory(fleet: FleetApi, deviceId: string): Promise<HistoryEntry[]> {
  const rollouts = (await fleet.rollouts()).sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, HISTORY_ROLLOUTS);
  const perRollout = await mapLimit(rollouts, 4, async (rollout) => {
    const events = await fleet.rolloutEvents(rollout.id);
    return events
      .filter((e) => e.type === 'device' && e.data.deviceId === deviceId)
      .map((e) => ({
        at: e.at,
        rollout,
        from: typeof e.data.from === 'string' ? e.data.from : '',
        to: typeof e.data.to === 'string' ? e.data.to : '',
        detail: [e.data.code, e.data.reason, e.data.cause].filter((x) => typeof x === 'string' && x).join(' · '),
      }));
  });
  return perRollout.flat().sort((a, b) => b.at.localeCompare(a.at));
}

function historyCard(entries: HistoryEntry[]): HTMLElement {
  return card(
    'Deployment history',
    table('Deployment history', [
      { label: 'Time', cell: (e: HistoryEntry) => formatTime(e.at) },
      { label: 'Version', cell: (e) => `${e.rollout.model}@${e.rollout.version}` },
      { label: 'State', cell: (e) => h('span', {}, e.from ? `${e.from} → ` : '', badge(e.to)) },
      { label: 'Detail', cell: (e) => orDash(e.detail) },
      { label: 'Rollout', cell: (e) => h('a', { attrs: { href: rolloutHref(e.rollout.id) } }, e.rollout.id), secondary: true },
    ], entries.slice(0, 100), 'No deployment through a rollout yet.'),
  );
}

/** Device actions, each confirmed in a dialog: roll a model back locally, collect diagnostics. */
function actionsCard(ctx: ViewContext, deviceId: string, models: () => ReportedModel[]): { el: HTMLElement; refreshModels: () => void } {
  const fleet = fleetApi(ctx.api);
  const modelSelect = select([]);
  modelSelect.name = 'rollback-model';
  const output = h('div', { attrs: { 'aria-live': 'polite', id: 'device-action-result' } });
  const refreshModels = (): void => {
    const current = modelSelect.value;
    const names = models().filter((m) => m.previous).map((m) => m.name);
    modelSelect.replaceChildren(...(names.length ? names.map((n) => h('option', { attrs: { value: n } }, n)) : [h('option', { attrs: { value: '' } }, 'No model has a previous version')]));
    if (names.includes(current)) modelSelect.value = current;
    rollbackButton.disabled = names.length === 0;
  };
  const rollbackButton = h('button', { class: 'danger', attrs: { type: 'button' } }, 'Roll back model…');
  const diagnosticsButton = h('button', { attrs: { type: 'button' } }, 'Collect diagnostics…');
  rollbackButton.addEventListener('click', () => {
    const model = modelSelect.value;
    if (!model) return;
    void confirmAction({ title: `Roll back ${model}?`, message: `${deviceId} will switch ${model} back to its previous version at once.`, confirmLabel: 'Roll back', danger: true, reason: true }).then(async (reason) => {
      if (reason === null) return;
      try {
        await fleet.command(deviceId, { type: 'rollback', model, ...(reason ? { reason } : {}) });
        output.replaceChildren(h('p', { class: 'notice ok', attrs: { role: 'status' } }, `Rolled back ${model} on ${deviceId}.`));
        ctx.announce(`Rolled back ${model}`);
      } catch (error) {
        output.replaceChildren(errorNotice(error));
      }
    });
  });
  diagnosticsButton.addEventListener('click', () => {
    void confirmAction({ title: 'Collect diagnostics?', message: `${deviceId} will send its recent log lines and state.`, confirmLabel: 'Collect' }).then(async (reason) => {
      if (reason === null) return;
      output.replaceChildren(h('p', { class: 'muted' }, 'Waiting for the device…'));
      try {
        const result = await fleet.command(deviceId, { type: 'collect-diagnostics' });
        output.replaceChildren(h('pre', { class: 'diagnostics', attrs: { tabindex: 0, 'aria-label': 'Diagnostics' } }, JSON.stringify(result.result, null, 2)));
      } catch (error) {
        output.replaceChildren(errorNotice(error));
      }
    });
  });
  const el = card('Actions', h('div', { class: 'action-row' }, field('Model to roll back', modelSelect), rollbackButton, diagnosticsButton), output);
  refreshModels();
  return { el, refreshModels };
}

export function deviceView(ctx: ViewContext): View {
  const id = ctx.route.params.id ?? '';
  ctx.title(`Device ${id}`);
  const fleet = fleetApi(ctx.api);
  let models: ReportedModel[] = [];
  const actions = actionsCard(ctx, id, () => models);
  const state = liveSection<{ device: DeviceDetail; history: HistoryEntry[] }>(ctx, {
    load: async () => {
      const [device, history] = await Promise.all([fleet.device(id), deviceHistory(fleet, id).catch(() => [] as HistoryEntry[])]);
      return { device, history };
    },
    render: ({ device, history }) => {
      models = device.reported?.models ?? [];
      actions.refreshModels();
      return [h('div', { class: 'grid two' }, summary(device), modelsCard(models)), epCard(models), historyCard(history)];
    },
    matches: (e) => e.data.includes(`"${id}"`),
    intervalMs: 5000,
  });
  const telemetry = deviceTelemetryPanel(ctx.api, id);
  ctx.root.append(state.el, actions.el, h('section', { class: 'card', attrs: { 'aria-labelledby': 'telemetry-title' } }, h('h2', { attrs: { id: 'telemetry-title' } }, 'Telemetry'), telemetry.el));
  return {
    dispose() {
      state.dispose();
      telemetry.dispose();
    },
  };
}
