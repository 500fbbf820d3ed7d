import { h, type Child } from '../lib/dom.js';

const TONES: Record<string, string> = {
  online: 'ok',
  active: 'ok',
  succeeded: 'ok',
  completed: 'ok',
  selected: 'ok',
  pass: 'ok',
  offline: 'bad',
  failed: 'bad',
  'rolled-back': 'bad',
  aborted: 'bad',
  'rolling-back': 'bad',
  breach: 'bad',
  paused: 'warn',
  'waiting-for-approval': 'warn',
  probation: 'warn',
  skipped: 'muted',
};

/** A state pill; colour is never the only signal (the state word is always printed). */
export function badge(state: string | undefined): HTMLSpanElement {
  const s = state ?? 'unknown';
  return h('span', { class: `badge ${TONES[s] ?? 'info'}`, attrs: { 'data-state': s } }, s);
}

export function stat(label: string, value: Child, attrs: Record<string, string> = {}): HTMLDivElement {
  return h('div', { class: 'stat', attrs }, h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-label' }, label));
}

export function card(title: string, ...children: Child[]): HTMLElement {
  const id = `card-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h('section', { class: 'card', attrs: { 'aria-labelledby': id } }, h('h2', { attrs: { id } }, title), ...children);
}

export interface Column<T> {
  label: string;
  cell: (row: T) => Child;
  /** Hidden below the phone breakpoint to keep the table readable. */
  secondary?: boolean;
}

/** A table inside a horizontally scrollable, focusable region (keyboard users can scroll it too). */
export function table<T>(caption: string, columns: Column<T>[], rows: T[], emptyText = 'Nothing to show.'): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'muted empty' }, emptyText);
  return h(
    'div',
    { class: 'table-wrap', attrs: { tabindex: 0, role: 'region', 'aria-label': caption } },
    h(
      'table',
      {},
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', { class: c.secondary ? 'secondary' : '', attrs: { scope: 'col' } }, c.label)))),
      h('tbody', {}, ...rows.map((row) => h('tr', {}, ...columns.map((c) => h('td', { class: c.secondary ? 'secondary' : '' }, c.cell(row)))))),
    ),
  );
}

export function errorNotice(error: unknown): HTMLElement {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string } | null)?.code;
  return h('div', { class: 'notice error', attrs: { role: 'alert' } }, code ? h('strong', {}, `${code}: `) : null, message);
}

export function link(hrefValue: string, text: string): HTMLAnchorElement {
  return h('a', { attrs: { href: hrefValue } }, text);
}
