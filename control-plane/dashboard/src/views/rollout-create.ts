import type { CreateRolloutRequest, DryRunPlan, ModelSummary, ModelVersionRecord, WaveSpec } from '@edgefleet/shared';
import { fleetApi } from '../api/fleet.js';
import { card, errorNotice, link, table } from '../components/widgets.js';
import { field, h, replaceChildren, select } from '../lib/dom.js';
import { formatTime } from '../lib/format.js';
import { deviceHref, rolloutHref } from '../router.js';
import type { View, ViewContext } from '../view.js';

function numberInput(name: string, value: number, attrs: Record<string, string | number> = {}): HTMLInputElement {
  return h('input', { attrs: { type: 'number', name, value, inputmode: 'decimal', ...attrs } });
}

interface WaveRow {
  el: HTMLElement;
  spec(): WaveSpec;
}

function waveRow(index: number, initial: WaveSpec, onRemove: (row: WaveRow) => void): WaveRow {
  const amount = numberInput(`wave-${index}-amount`, 'count' in initial ? initial.count : initial.percent, { min: 1, step: 'any', required: 'true' });
  const unit = select([
    { value: 'count', label: 'devices' },
    { value: 'percent', label: '% of target' },
  ], 'count' in initial ? 'count' : 'percent');
  const remove = h('button', { class: 'link-button', attrs: { type: 'button', 'aria-label': `Remove wave ${index + 1}` } }, 'Remove');
  const el = h('fieldset', { class: 'wave-row' }, h('legend', {}, `Wave ${index + 1}`), field(`Wave ${index + 1} size`, amount), field(`Wave ${index + 1} unit`, unit), remove);
  const row: WaveRow = { el, spec: () => (unit.value === 'count' ? { count: Math.round(Number(amount.value)) } : { percent: Number(amount.value) }) };
  remove.addEventListener('click', () => onRemove(row));
  return row;
}

/**
 * The rollout form. "Preview" sends the same request with dryRun: true and shows the server's plan
 * (waves, devices, skipped devices and why); "Create" is enabled only for the previewed request, so
 * what starts is what was looked at.
 */
export function rolloutCreateView(ctx: ViewContext): View {
  ctx.title('New rollout');
  const fleet = fleetApi(ctx.api);
  const modelSelect = select([{ value: '', label: 'Loading models…' }]);
  modelSelect.name = 'model';
  modelSelect.required = true;
  const versionSelect = select([{ value: '', label: 'Choose a model first' }]);
  versionSelect.name = 'version';
  versionSelect.required = true;
  const targetKind = select([
    { value: 'all', label: 'All devices' },
    { value: 'tags', label: 'Devices with tags' },
    { value: 'devices', label: 'Listed devices' },
  ], 'all');
  targetKind.name = 'target';
  const tags = h('input', { attrs: { type: 'text', name: 'tags', placeholder: 'site=berlin,hw=orin' } });
  const deviceIds = h('textarea', { attrs: { name: 'deviceIds', rows: 2, placeholder: 'cam-1 cam-2' } });
  const tagsField = field('Tags (key=value, comma separated)', tags);
  const devicesField = field('Device ids (space or comma separated)', deviceIds);
  const bakeSeconds = numberInput('bakeSeconds', 600, { min: 0 });
  const rate = numberInput('ratePerMinute', 1000, { min: 0 });
  const deadlineSeconds = numberInput('deviceDeadlineSeconds', 900, { min: 1 });
  const approval = h('input', { attrs: { type: 'checkbox', name: 'manualApproval', id: 'manual-approval' } });
  const onBreach = select([
    { value: 'rollback', label: 'Roll the wave back' },
    { value: 'halt', label: 'Halt only' },
  ], 'rollback');
  const maxInstallFailure = numberInput('maxInstallFailureRate', 20, { min: 0, max: 100, step: 'any' });
  const maxInferenceIncrease = numberInput('maxInferenceFailureRateIncrease', 5, { min: 0, max: 100, step: 'any' });
  const maxP95Ratio = numberInput('maxP95LatencyRatio', 2, { min: 1.01, step: 'any' });
  const minAvailability = numberInput('minAvailability', 80, { min: 0, max: 100, step: 'any' });

  const wavesEl = h('div', { class: 'waves' });
  let waves: WaveRow[] = [];
  const removeWave = (row: WaveRow): void => {
    if (waves.length <= 1) return;
    setWaves(waves.filter((w) => w !== row).map((w) => w.spec()));
  };
  function setWaves(specs: WaveSpec[]): void {
    waves = specs.map((s, i) => waveRow(i, s, removeWave));
    wavesEl.replaceChildren(...waves.map((w) => w.el));
  }
  setWaves([{ count: 1 }, { percent: 50 }, { percent: 100 }]);
  const addWave = h('button', { attrs: { type: 'button' } }, 'Add wave');
  addWave.addEventListener('click', () => setWaves([...waves.map((w) => w.spec()), { percent: 100 }]));

  const preview = h('button', { attrs: { type: 'submit' } }, 'Preview (dry run)');
  const create = h('button', { class: 'primary', attrs: { type: 'button', disabled: true } }, 'Create rollout');
  const planEl = h('div', { attrs: { 'aria-live': 'polite', id: 'dry-run-plan' } });

  function request(): CreateRolloutRequest {
    const kind = targetKind.value;
    const target: CreateRolloutRequest['target'] =
      kind === 'tags'
        ? { kind: 'tags', tags: Object.fromEntries(tags.value.split(',').map((p) => p.trim()).filter(Boolean).map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)])) }
        : kind === 'devices'
          ? { kind: 'devices', deviceIds: deviceIds.value.split(/[\s,]+/).filter(Boolean) }
          : { kind: 'all' };
    return {
      model: modelSelect.value,
      version: versionSelect.value,
      target,
      strategy: {
        waves: waves.map((w) => w.spec()),
        bakeMs: Math.round(Number(bakeSeconds.value) * 1000),
        manualApproval: approval.checked,
        ratePerMinute: Math.round(Number(rate.value)),
        onBreach: onBreach.value as 'rollback' | 'halt',
        deviceDeadlineMs: Math.round(Number(deadlineSeconds.value) * 1000),
      },
      gates: {
        maxInstallFailureRate: Number(maxInstallFailure.value) / 100,
        maxInferenceFailureRateIncrease: Number(maxInferenceIncrease.value) / 100,
        maxP95LatencyRatio: Number(maxP95Ratio.value),
        minAvailability: Number(minAvailability.value) / 100,
      },
    };
  }

  let previewed: string | undefined;
  const invalidate = (): void => {
    previewed = undefined;
    create.disabled = true;
  };

  function renderPlan(plan: DryRunPlan): void {
    replaceChildren(
      planEl,
      card(
        'Dry-run plan',
        h('p', {}, `${plan.model}@${plan.version}, starting ${formatTime(plan.startsAt)}: ${plan.waves.reduce((n, w) => n + w.deviceIds.length, 0)} devices in ${plan.waves.length} waves, ${plan.skipped.length} skipped.`),
        table('Planned waves', [
          { label: 'Wave', cell: (w: DryRunPlan['waves'][number]) => w.index + 1 },
          { label: 'Devices', cell: (w) => w.deviceIds.length },
          { label: 'Device ids', cell: (w) => w.deviceIds.slice(0, 20).join(', ') + (w.deviceIds.length > 20 ? ` … (+${w.deviceIds.length - 20})` : '') },
          { label: 'Notify from', cell: (w) => formatTime(w.notifyFrom), secondary: true },
        ], plan.waves),
        plan.skipped.length
          ? table('Skipped devices', [
              { label: 'Device', cell: (s: DryRunPlan['skipped'][number]) => link(deviceHref(s.deviceId), s.deviceId) },
              { label: 'Reason', cell: (s) => s.reason },
              { label: 'Detail', cell: (s) => s.detail },
            ], plan.skipped)
          : null,
      ),
    );
  }

  const form = h(
    'form',
    { class: 'rollout-form', attrs: { 'aria-label': 'New rollout' } },
    card('What', h('div', { class: 'form-grid' }, field('Model', modelSelect), field('Version', versionSelect))),
    card('Where', h('div', { class: 'form-grid' }, field('Target', targetKind), tagsField, devicesField)),
    card('How', wavesEl, h('p', {}, addWave), h('div', { class: 'form-grid' }, field('Bake time per wave (seconds)', bakeSeconds), field('Notifications per minute (0 = unlimited)', rate), field('Device deadline per step (seconds)', deadlineSeconds, 'A device stuck longer in one state counts as failed.'), field('On a gate breach', onBreach), h('div', { class: 'field checkbox' }, approval, h('label', { attrs: { for: 'manual-approval' } }, 'Wait for approval before each wave after the first')))),
    card(
      'Health gates',
      h(
        'div',
        { class: 'form-grid' },
        field('Max install failure rate (%)', maxInstallFailure),
        field('Max inference failure rate increase (%)', maxInferenceIncrease),
        field('Max p95 latency ratio (wave / control)', maxP95Ratio),
        field('Min availability (%)', minAvailability),
      ),
    ),
    h('div', { class: 'actions' }, preview, create),
    planEl,
  );
  form.addEventListener('input', invalidate);
  form.addEventListener('change', invalidate);
  const syncTarget = (): void => {
    tagsField.hidden = targetKind.value !== 'tags';
    devicesField.hidden = targetKind.value !== 'devices';
  };
  targetKind.addEventListener('change', syncTarget);
  syncTarget();

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = request();
    preview.disabled = true;
    fleet.dryRun(body).then(
      (plan) => {
        preview.disabled = false;
        previewed = JSON.stringify(body);
        create.disabled = false;
        renderPlan(plan);
        ctx.announce('Dry-run plan ready');
      },
      (error: unknown) => {
        preview.disabled = false;
        replaceChildren(planEl, errorNotice(error));
      },
    );
  });
  create.addEventListener('click', () => {
    const body = request();
    if (previewed !== JSON.stringify(body)) return invalidate();
    create.disabled = true;
    fleet.createRollout(body).then(
      (rollout) => ctx.navigate(rolloutHref(rollout.id)),
      (error: unknown) => {
        create.disabled = false;
        replaceChildren(planEl, errorNotice(error));
      },
    );
  });

  async function loadVersions(name: string): Promise<void> {
    if (!name) return;
    const versions: ModelVersionRecord[] = await fleet.modelVersions(name);
    const sorted = [...versions].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    versionSelect.replaceChildren(...sorted.map((v) => h('option', { attrs: { value: v.version } }, `${v.version}${v.labels.length ? ` (${v.labels.join(', ')})` : ''}`)));
    const wanted = ctx.route.query.get('version');
    if (wanted && sorted.some((v) => v.version === wanted)) versionSelect.value = wanted;
  }
  modelSelect.addEventListener('change', () => void loadVersions(modelSelect.value).catch((error: unknown) => replaceChildren(planEl, errorNotice(error))));
  fleet.models().then(
    async (models: ModelSummary[]) => {
      modelSelect.replaceChildren(h('option', { attrs: { value: '' } }, 'Choose a model'), ...models.map((m) => h('option', { attrs: { value: m.name } }, m.name)));
      const wanted = ctx.route.query.get('model');
      if (wanted && models.some((m) => m.name === wanted)) {
        modelSelect.value = wanted;
        await loadVersions(wanted);
      }
    },
    (error: unknown) => replaceChildren(planEl, errorNotice(error)),
  );

  ctx.root.append(form);
  return { dispose: () => undefined };
}
