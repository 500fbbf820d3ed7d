import type { Device, ModelSummary, ModelVersionRecord, TensorSpec } from '@edgefleet/shared';
import { fleetApi } from '../api/fleet.js';
import { card, link, table } from '../components/widgets.js';
import { h } from '../lib/dom.js';
import { formatBytes, formatTime, orDash } from '../lib/format.js';
import { deviceHref, href, modelHref } from '../router.js';
import { liveSection, type View, type ViewContext } from '../view.js';

export function modelsView(ctx: ViewContext): View {
  ctx.title('Models');
  const fleet = fleetApi(ctx.api);
  const section = liveSection<{ models: ModelSummary[]; devices: Device[] }>(ctx, {
    load: async () => {
      const [models, devices] = await Promise.all([fleet.models(), fleet.devices()]);
      return { models, devices };
    },
    render: ({ models, devices }) =>
      table('Models', [
        { label: 'Model', cell: (m: ModelSummary) => link(modelHref(m.name), m.name) },
        { label: 'Latest', cell: (m) => m.latest },
        { label: 'Versions', cell: (m) => m.versions.length },
        { label: 'Devices running it', cell: (m) => devices.filter((d) => d.models[m.name] !== undefined).length },
        { label: 'Updated', cell: (m) => formatTime(m.updatedAt), secondary: true },
      ], models, 'No models pushed yet. Push one with `edgefleet models push`.'),
    intervalMs: 15_000,
  });
  ctx.root.append(section.el);
  return section;
}

function tensors(list: TensorSpec[]): string {
  return list.map((t) => `${t.name}: ${t.datatype}[${t.shape.join('×')}]`).join(', ') || '—';
}

function versionCard(record: ModelVersionRecord, devices: Device[]): HTMLElement {
  const running = devices.filter((d) => d.models[record.name] === record.version);
  const facts: [string, string | HTMLElement][] = [
    ['Labels', record.labels.join(', ') || '—'],
    ['Size', formatBytes(record.size)],
    ['sha256', h('code', { class: 'digest' }, record.sha256)],
    ['Signature', h('code', { class: 'digest' }, record.signature)],
    ['Format', record.inspection.format === 'tflite' ? 'TFLite (LiteRT)' : 'ONNX (onnxruntime)'],
    ['Inputs', tensors(record.inspection.inputs)],
    ['Outputs', tensors(record.inspection.outputs)],
    ['Opsets', record.inspection.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ') || '—'],
    ['Producer', `${orDash(record.inspection.producer.name)} ${record.inspection.producer.version}`],
    ['Graph', `${record.inspection.nodeCount} nodes, ${record.inspection.initializerCount} initializers${record.inspection.customOps.length ? `; custom ops ${record.inspection.customOps.join(', ')}` : ''}`],
    ['Source', orDash(record.source)],
    ['Notes', orDash(record.notes)],
    ['Pushed', `${formatTime(record.createdAt)} by ${record.pushedBy}`],
    ['Golden input', record.golden ? `${formatBytes(record.golden.size)} (${record.golden.sha256.slice(0, 12)}…)` : '—'],
  ];
  return card(
    `Version ${record.version}`,
    h('dl', { class: 'facts' }, ...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    h('h3', {}, `Deployed on ${running.length} device${running.length === 1 ? '' : 's'}`),
    running.length
      ? h('ul', { class: 'inline-list' }, ...running.slice(0, 50).map((d) => h('li', {}, link(deviceHref(d.id), d.id))), running.length > 50 ? h('li', {}, link(href('devices', { model: `${record.name}@${record.version}` }), `and ${running.length - 50} more`)) : null)
      : h('p', { class: 'muted' }, 'Not active on any device.'),
  );
}

export function modelView(ctx: ViewContext): View {
  const name = ctx.route.params.name ?? '';
  ctx.title(`Model ${name}`);
  const fleet = fleetApi(ctx.api);
  const section = liveSection<{ versions: ModelVersionRecord[]; devices: Device[] }>(ctx, {
    load: async () => {
      const [versions, devices] = await Promise.all([fleet.modelVersions(name), fleet.devices()]);
      return { versions, devices };
    },
    render: ({ versions, devices }) => [
      h('p', {}, link(href('rollouts/new', { model: name }), `Roll out a version of ${name}`)),
      ...[...versions].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map((v) => versionCard(v, devices)),
    ],
    intervalMs: 15_000,
  });
  ctx.root.append(section.el);
  return section;
}
