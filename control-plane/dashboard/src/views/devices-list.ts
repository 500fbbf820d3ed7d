import type { Device } from '@edgefleet/shared';
import { fleetApi } from '../api/fleet.js';
import { badge, link, table } from '../components/widgets.js';
import { field, h, select } from '../lib/dom.js';
import { formatAgo, orDash } from '../lib/format.js';
import { deviceHref, href } from '../router.js';
import { liveSection, type View, type ViewContext } from '../view.js';
import { pendingEnrolmentsPanel } from './pending-enrolments.js';

/** Text search over id, tags, models and agent version (client side: the list is already loaded). */
export function matchesSearch(device: Device, text: string): boolean {
  const needle = text.trim().toLowerCase();
  if (!needle) return true;
  const haystack = [device.id, device.agentVersion ?? '', ...Object.entries(device.tags).map(([k, v]) => `${k}=${v}`), ...Object.entries(device.models).map(([k, v]) => `${k}@${v}`)]
    .join(' ')
    .toLowerCase();
  return needle.split(/\s+/).every((word) => haystack.includes(word));
}

/**
 * The device list. Filters live in the URL (`#/devices?status=offline&model=det`), so a filtered
 * view can be bookmarked and survives a reload; status, model and tag go to the server, the search
 * box filters locally as you type.
 */
export function devicesView(ctx: ViewContext): View {
  ctx.title('Devices');
  const fleet = fleetApi(ctx.api);
  const q = ctx.route.query;
  const search = h('input', { attrs: { type: 'search', name: 'q', placeholder: 'id, tag, model…', value: q.get('q') ?? '' } });
  const status = select(
    [
      { value: '', label: 'Any status' },
      { value: 'online', label: 'Online' },
      { value: 'offline', label: 'Offline' },
      { value: 'never-seen', label: 'Never seen' },
    ],
    q.get('status') ?? '',
  );
  status.name = 'status';
  const model = h('input', { attrs: { type: 'text', name: 'model', placeholder: 'name or name@version', value: q.get('model') ?? '' } });
  const tag = h('input', { attrs: { type: 'text', name: 'tag', placeholder: 'site=berlin', value: q.get('tag') ?? '' } });
  const count = h('p', { class: 'muted', attrs: { 'aria-live': 'polite', id: 'device-count' } });

  let lastDevices: Device[] = [];
  const results = h('div', {});
  function renderRows(): void {
    const rows = lastDevices.filter((d) => matchesSearch(d, search.value));
    count.textContent = `${rows.length} of ${lastDevices.length} devices`;
    results.replaceChildren(
      table('Devices', [
        { label: 'Device', cell: (d: Device) => link(deviceHref(d.id), d.id) },
        { label: 'Status', cell: (d) => badge(d.status) },
        { label: 'Models', cell: (d) => Object.entries(d.models).map(([n, v]) => `${n}@${v}`).join(', ') || '—' },
        { label: 'Last seen', cell: (d) => formatAgo(d.lastSeen) },
        { label: 'Agent', cell: (d) => orDash(d.agentVersion), secondary: true },
        { label: 'Tags', cell: (d) => Object.entries(d.tags).map(([k, v]) => `${k}=${v}`).join(', ') || '—', secondary: true },
        { label: 'Generation', cell: (d) => `${orDash(d.appliedGeneration)} / ${orDash(d.desiredGeneration)}`, secondary: true },
      ], rows, 'No device matches these filters.'),
    );
  }

  const section = liveSection(ctx, {
    load: () => fleet.devices({ status: status.value || undefined, model: model.value.trim() || undefined, tag: tag.value.trim() || undefined }),
    render: (devices) => {
      lastDevices = devices;
      renderRows();
      return results;
    },
    intervalMs: 5000,
  });

  function applyFilters(): void {
    // Keep the URL in step without re-running the router (which would rebuild the form under the cursor).
    history.replaceState(null, '', href('devices', { q: search.value, status: status.value, model: model.value.trim(), tag: tag.value.trim() }));
    void section.refresh();
  }
  search.addEventListener('input', () => {
    history.replaceState(null, '', href('devices', { q: search.value, status: status.value, model: model.value.trim(), tag: tag.value.trim() }));
    renderRows();
  });
  status.addEventListener('change', applyFilters);
  const form = h(
    'form',
    { class: 'filters', attrs: { role: 'search', 'aria-label': 'Filter devices' } },
    field('Search', search),
    field('Status', status),
    field('Model', model),
    field('Tag', tag),
    h('div', { class: 'field' }, h('span', { class: 'label-spacer', attrs: { 'aria-hidden': 'true' } }, '\u00a0'), h('button', { attrs: { type: 'submit' } }, 'Apply filters')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    applyFilters();
  });
  const pending = pendingEnrolmentsPanel(ctx, fleet, () => void section.refresh());
  ctx.root.append(pending.el, form, count, section.el);
  return {
    dispose() {
      pending.dispose();
      section.dispose();
    },
  };
}
