import type { PendingEnrolment } from '@edgefleet/shared';
import type { FleetApi } from '../api/fleet.js';
import { confirmAction } from '../components/confirm-dialog.js';
import { badge, card, errorNotice, table } from '../components/widgets.js';
import { h } from '../lib/dom.js';
import { formatAgo } from '../lib/format.js';
import { liveSection, type LiveSection, type ViewContext } from '../view.js';

/**
 * Devices that enrolled with a provisioning key that requires approval (docs/operations.md,
 * "Provisioning a fleet"), with Approve and Reject. Empty (nothing rendered) when none wait.
 */
export function pendingEnrolmentsPanel(ctx: ViewContext, fleet: FleetApi, onApproved: () => void): LiveSection {
  const output = h('div', { attrs: { 'aria-live': 'polite' } });
  const act = (e: PendingEnrolment, approve: boolean): void => {
    void confirmAction({
      title: `${approve ? 'Approve' : 'Reject'} ${e.deviceId}?`,
      message: approve
        ? `${e.deviceId} (key ${e.keyFingerprint.slice(0, 16)}…, from ${e.source ?? 'unknown'}) joins the fleet with tags ${Object.entries(e.tags).map(([k, v]) => `${k}=${v}`).join(', ') || 'none'}.`
        : `${e.deviceId} will be told its enrolment was rejected and stays out of the fleet.`,
      confirmLabel: approve ? 'Approve' : 'Reject',
      danger: !approve,
    }).then(async (confirmed) => {
      if (confirmed === null) return;
      try {
        await (approve ? fleet.approveEnrolment(e.deviceId) : fleet.rejectEnrolment(e.deviceId));
        output.replaceChildren(h('p', { class: 'notice ok', attrs: { role: 'status' } }, `${approve ? 'Approved' : 'Rejected'} ${e.deviceId}.`));
        ctx.announce(`${approve ? 'Approved' : 'Rejected'} ${e.deviceId}`);
        void section.refresh();
        if (approve) onApproved();
      } catch (error) {
        output.replaceChildren(errorNotice(error));
      }
    });
  };
  const button = (label: string, e: PendingEnrolment, approve: boolean): HTMLButtonElement => {
    const b = h('button', { class: approve ? 'primary' : 'danger', attrs: { type: 'button', 'aria-label': `${label} ${e.deviceId}` } }, label);
    b.addEventListener('click', () => act(e, approve));
    return b;
  };
  const section = liveSection(ctx, {
    load: () => fleet.pendingEnrolments(),
    render: (enrolments) =>
      enrolments.length === 0
        ? h('div', {})
        : card(
            'Waiting for approval',
            table('Enrolments waiting for approval', [
              { label: 'Device', cell: (e: PendingEnrolment) => e.deviceId },
              { label: 'Status', cell: (e) => badge(e.status) },
              { label: 'Asked', cell: (e) => formatAgo(e.lastSeenAt) },
              { label: 'Source', cell: (e) => e.source ?? '—', secondary: true },
              { label: 'Key', cell: (e) => `${e.keyFingerprint.slice(0, 16)}…`, secondary: true },
              { label: 'Tags', cell: (e) => Object.entries(e.tags).map(([k, v]) => `${k}=${v}`).join(', ') || '—', secondary: true },
              { label: 'Action', cell: (e) => (e.status === 'pending' ? h('div', { class: 'action-row' }, button('Approve', e, true), button('Reject', e, false)) : '—') },
            ], enrolments),
          ),
    intervalMs: 5000,
  });
  // The outcome stays on screen after the approved device left the list (and the panel with it).
  return { ...section, el: h('div', {}, section.el, output) };
}
