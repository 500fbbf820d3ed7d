import type { RolloutView } from '@edgefleet/shared';
import { fleetApi } from '../api/fleet.js';
import { badge, link, table } from '../components/widgets.js';
import { h } from '../lib/dom.js';
import { formatTime } from '../lib/format.js';
import { href, modelHref, rolloutHref } from '../router.js';
import { rolloutEventOf } from '../live.js';
import { liveSection, type View, type ViewContext } from '../view.js';

export function describeTarget(target: RolloutView['target']): string {
  if (target.kind === 'all') return 'all devices';
  if (target.kind === 'tags') return Object.entries(target.tags).map(([k, v]) => `${k}=${v}`).join(', ');
  return `${target.deviceIds.length} listed device${target.deviceIds.length === 1 ? '' : 's'}`;
}

export function rolloutsView(ctx: ViewContext): View {
  ctx.title('Rollouts');
  const fleet = fleetApi(ctx.api);
  const section = liveSection(ctx, {
    load: () => fleet.rollouts(),
    render: (rollouts) =>
      table('Rollouts', [
        { label: 'Rollout', cell: (r: RolloutView) => link(rolloutHref(r.id), r.id) },
        { label: 'Model', cell: (r) => link(modelHref(r.model), `${r.model}@${r.version}`) },
        { label: 'State', cell: (r) => badge(r.state) },
        { label: 'Wave', cell: (r) => (r.currentWave === undefined ? '—' : `${r.currentWave + 1} of ${r.waves.length}`) },
        { label: 'Succeeded', cell: (r) => r.counts.succeeded ?? 0 },
        { label: 'Failed', cell: (r) => (r.counts.failed ?? 0) + (r.counts['rolled-back'] ?? 0) },
        { label: 'Target', cell: (r) => describeTarget(r.target), secondary: true },
        { label: 'Created', cell: (r) => formatTime(r.createdAt), secondary: true },
      ], [...rollouts].sort((a, b) => b.createdAt.localeCompare(a.createdAt)), 'No rollouts yet.'),
    matches: (e) => rolloutEventOf(e) !== null,
    intervalMs: 10_000,
  });
  ctx.root.append(h('p', {}, h('a', { class: 'button primary', attrs: { href: href('rollouts/new') } }, 'New rollout')), section.el);
  return section;
}
