import { h } from './lib/dom.js';
import type { LiveState } from './live.js';

export interface Shell {
  main: HTMLElement;
  setActive(section: string): void;
  setLive(state: LiveState): void;
  announce(message: string): void;
  /** Shows or hides the navigation (hidden on the sign-in page). */
  setSignedIn(signedIn: boolean): void;
}

const NAV = [
  { section: 'overview', label: 'Overview', href: '#/' },
  { section: 'devices', label: 'Devices', href: '#/devices' },
  { section: 'models', label: 'Models', href: '#/models' },
  { section: 'rollouts', label: 'Rollouts', href: '#/rollouts' },
];

/** The persistent frame: skip link, header with navigation and live indicator, <main>, and a polite announcer. */
export function createShell(root: HTMLElement, onSignOut: () => void): Shell {
  const links = NAV.map((n) => h('a', { attrs: { href: n.href, 'data-section': n.section } }, n.label));
  const liveDot = h('span', { class: 'live-indicator', attrs: { role: 'status', 'data-live': 'connecting' } }, 'Connecting…');
  const signOut = h('button', { class: 'link-button', attrs: { type: 'button' }, onclick: onSignOut }, 'Sign out');
  const nav = h('nav', { attrs: { 'aria-label': 'Main' } }, h('ul', {}, ...links.map((a) => h('li', {}, a))));
  const tools = h('div', { class: 'header-tools' }, liveDot, signOut);
  const header = h('header', { class: 'app-header' }, h('a', { class: 'brand', attrs: { href: '#/' } }, 'edgefleet'), nav, tools);
  const main = h('main', { attrs: { id: 'main', tabindex: -1 } });
  const announcer = h('div', { class: 'visually-hidden', attrs: { 'aria-live': 'polite', role: 'status', id: 'announcer' } });
  root.replaceChildren(h('a', { class: 'skip-link', attrs: { href: '#main' } }, 'Skip to content'), header, main, announcer);
  // The skip link must move focus without changing the hash route.
  root.querySelector('.skip-link')?.addEventListener('click', (event) => {
    event.preventDefault();
    main.focus();
  });

  return {
    main,
    setActive(section) {
      for (const a of links) {
        if (a.dataset.section === section) a.setAttribute('aria-current', 'page');
        else a.removeAttribute('aria-current');
      }
    },
    setLive(state) {
      liveDot.dataset.live = state;
      liveDot.textContent = state === 'open' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Reconnecting…';
    },
    announce(message) {
      announcer.textContent = message;
    },
    setSignedIn(signedIn) {
      nav.hidden = !signedIn;
      tools.hidden = !signedIn;
    },
  };
}
