import type { ApiClient } from './api/client.js';
import type { StreamEvent } from './api/event-stream.js';
import { errorNotice } from './components/widgets.js';
import { h, replaceChildren, type Child } from './lib/dom.js';
import type { LiveBus } from './live.js';
import type { Route } from './router.js';

export interface ViewContext {
  api: ApiClient;
  live: LiveBus;
  route: Route;
  /** The <main> element the view renders into. */
  root: HTMLElement;
  navigate(hash: string): void;
  /** A short status message in the shell's polite live region. */
  announce(message: string): void;
  /** Sets the page title and <h1>. */
  title(text: string): void;
}

export interface View {
  dispose(): void;
}

export type ViewFactory = (ctx: ViewContext) => View;

export interface LiveSectionOptions<T> {
  load: () => Promise<T>;
  render: (data: T) => Child;
  /** Periodic refresh; the page is meant to stay open all day. @default 10000 */
  intervalMs?: number;
  /** Refresh (debounced) when a live event matches. */
  matches?: (event: StreamEvent) => boolean;
}

export interface LiveSection {
  el: HTMLElement;
  refresh(): Promise<void>;
  dispose(): void;
}

/**
 * A region that loads, renders, and re-renders on a timer and on matching live events, keeping
 * the last good render on screen when a refresh fails (a blip should not blank the page).
 */
export function liveSection<T>(ctx: ViewContext, options: LiveSectionOptions<T>): LiveSection {
  const el = h('div', { class: 'live-section', attrs: { 'aria-busy': 'true' } }, h('p', { class: 'muted' }, 'Loading…'));
  const status = h('div', { class: 'section-status' });
  let disposed = false;
  let rendered = false;
  let inFlight: Promise<void> | undefined;
  let debounce: number | undefined;

  async function refresh(): Promise<void> {
    if (inFlight) return inFlight;
    inFlight = (async () => {
      try {
        const data = await options.load();
        if (disposed) return;
        const focusedId = document.activeElement?.id;
        replaceChildren(el, options.render(data));
        if (focusedId) document.getElementById(focusedId)?.focus();
        rendered = true;
        el.setAttribute('aria-busy', 'false');
        el.dataset.loadedAt = String(Date.now());
        status.replaceChildren();
      } catch (error) {
        if (disposed) return;
        if (!rendered) replaceChildren(el, errorNotice(error));
        else replaceChildren(status, errorNotice(error));
        el.setAttribute('aria-busy', 'false');
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  }

  const timer = window.setInterval(() => void refresh(), options.intervalMs ?? 10_000);
  const off = options.matches
    ? ctx.live.on((event) => {
        if (!options.matches?.(event)) return;
        window.clearTimeout(debounce);
        debounce = window.setTimeout(() => void refresh(), 250);
      })
    : () => undefined;
  void refresh();
  return {
    el: h('div', {}, status, el),
    refresh,
    dispose() {
      disposed = true;
      window.clearInterval(timer);
      window.clearTimeout(debounce);
      off();
    },
  };
}
