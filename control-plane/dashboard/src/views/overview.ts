import type { DeviceDetail, Device, RolloutView } from '@edgefleet/shared';
import { fleetApi, mapLimit } from '../api/fleet.js';
import { badge, card, link, stat, table } from '../components/widgets.js';
import { h } from '../lib/dom.js';
import { formatAgo } from '../lib/format.js';
import { deviceHref, href, rolloutHref } from '../router.js';
import { rolloutEventOf } from '../live.js';
import { liveSection, type View, type ViewContext } from '../view.js';

/** Device details fetched for the EP / hardware / attention breakdowns; bigger fleets show a note. */
const DETAIL_LIMIT = 200;

interface Attention {
  device: Device;
  why: string;
}

interface FleetSummary {
  devices: Device[];
  details: DeviceDetail[];
  rollouts: RolloutView[];
}

function countBy(values: string[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

function needsAttention(summary: FleetSummary): Attention[] {
  const detailById = new Map(summary.details.map((d) => [d.id, d]));
  const out: Attention[] = [];
  for (const device of summary.devices) {
    if (device.status === 'offline') out.push({ device, why: `offline since ${formatAgo(device.lastSeen)}` });
    else if (device.status === 'never-seen') out.push({ device, why: 'provisioned but never connected' });
    for (const m of detailById.get(device.id)?.reported?.models ?? []) {
      if (m.state === 'failed' || m.state === 'rolled-back') out.push({ device, why: `${m.name}: ${m.state}${m.lastError ? ` (${m.lastError.code})` : ''}` });
    }
  }
  return out;
}

function breakdown(title: string, rows: [string, number][], linkFor?: (key: string) => string): HTMLElement {
  return card(
    title,
    rows.length === 0
      ? h('p', { class: 'muted' }, 'None reported.')
      : h('ul', { class: 'breakdown' }, ...rows.map(([key, n]) => h('li', {}, linkFor ? link(linkFor(key), key) : h('span', {}, key), h('span', { class: 'count' }, n)))),
  );
}

export function overviewView(ctx: ViewContext): View {
  ctx.title('Fleet overview');
  const fleet = fleetApi(ctx.api);
  const section = liveSection<FleetSummary>(ctx, {
    load: async () => {
      const [devices, rollouts] = await Promise.all([fleet.devices(), fleet.rollouts().catch(() => [])]);
      const details = await mapLimit(devices.slice(0, DETAIL_LIMIT), 6, (d) => fleet.device(d.id));
      return { devices, details, rollouts };
    },
    // Rollout state and wave changes move the overview's counts; per-device chatter does not.
    matches: (e) => ['rollout-state', 'wave', 'gate-breach'].includes(rolloutEventOf(e)?.type ?? ''),
    render: (summary) => {
      const online = summary.devices.filter((d) => d.status === 'online').length;
      const offline = summary.devices.length - online;
      const versions = countBy(summary.devices.flatMap((d) => Object.entries(d.models).map(([name, version]) => `${name}@${version}`)));
      const eps = countBy(summary.details.flatMap((d) => (d.reported?.models ?? []).flatMap((m) => (m.ep ? [`${m.ep}`] : []))));
      const hardware = countBy(summary.details.map((d) => d.reported?.hardware?.hardwareClass ?? 'unknown'));
      const attention = needsAttention(summary);
      const active = summary.rollouts.filter((r) => r.state === 'running' || r.state === 'paused' || r.state === 'scheduled');
      return [
        h(
          'div',
          { class: 'stats', attrs: { role: 'group', 'aria-label': 'Fleet counts' } },
          stat('Devices', summary.devices.length, { 'data-stat': 'devices' }),
          stat('Online', h('a', { attrs: { href: href('devices', { status: 'online' }) } }, online), { 'data-stat': 'online' }),
          stat('Offline', h('a', { attrs: { href: href('devices', { status: 'offline' }) } }, offline), { 'data-stat': 'offline' }),
          stat('Need attention', attention.length, { 'data-stat': 'attention' }),
          stat('Active rollouts', active.length, { 'data-stat': 'rollouts' }),
        ),
        summary.devices.length > DETAIL_LIMIT ? h('p', { class: 'muted' }, `Execution providers and hardware classes are counted over the first ${DETAIL_LIMIT} devices.`) : null,
        h(
          'div',
          { class: 'grid' },
          breakdown('Model versions in use', versions, (key) => href('devices', { model: key })),
          breakdown('Execution providers in use', eps),
          breakdown('Hardware classes', hardware),
        ),
        card(
          'Devices needing attention',
          table('Devices needing attention', [
            { label: 'Device', cell: (a: Attention) => link(deviceHref(a.device.id), a.device.id) },
            { label: 'Status', cell: (a) => badge(a.device.status) },
            { label: 'Why', cell: (a) => a.why },
          ], attention, 'Every device is online and healthy.'),
        ),
        card(
          'Active rollouts',
          table('Active rollouts', [
            { label: 'Rollout', cell: (r: RolloutView) => link(rolloutHref(r.id), `${r.model}@${r.version}`) },
            { label: 'State', cell: (r) => badge(r.state) },
            { label: 'Wave', cell: (r) => (r.currentWave === undefined ? '—' : `${r.currentWave + 1} of ${r.waves.length}`) },
          ], active, 'No rollout is running.'),
        ),
      ];
    },
  });
  ctx.root.append(section.el);
  return section;
}
