/**
 * The edgefleet dashboard (issue 8): a hash-routed single page, bundled by esbuild into
 * dashboard/public/ and served by the control plane beside its REST API. It talks only to
 * /api/v1 with the operator's bearer token.
 */
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { createApiClient } from './api/client.js';
import { createSession } from './api/session.js';
import { h, replaceChildren } from './lib/dom.js';
import { createLiveBus, type LiveBus } from './live.js';
import { parseHash } from './router.js';
import { createShell } from './shell.js';
import type { View, ViewContext, ViewFactory } from './view.js';
import { deviceView } from './views/device-page.js';
import { devicesView } from './views/devices-list.js';
import { modelView, modelsView } from './views/models.js';
import { overviewView } from './views/overview.js';
import { rolloutCreateView } from './views/rollout-create.js';
import { rolloutView } from './views/rollout-page.js';
import { rolloutsView } from './views/rollouts-list.js';
import { renderSignIn } from './views/sign-in.js';

const VIEWS: Record<string, { section: string; factory: ViewFactory }> = {
  overview: { section: 'overview', factory: overviewView },
  devices: { section: 'devices', factory: devicesView },
  device: { section: 'devices', factory: deviceView },
  models: { section: 'models', factory: modelsView },
  model: { section: 'models', factory: modelView },
  rollouts: { section: 'rollouts', factory: rolloutsView },
  'rollout-create': { section: 'rollouts', factory: rolloutCreateView },
  rollout: { section: 'rollouts', factory: rolloutView },
};

function start(root: HTMLElement): void {
  const session = createSession();
  let current: View | undefined;
  let live: LiveBus | undefined;
  let returnTo = '#/';
  // While the sign-in page shows, a 401 is its own answer ("token not accepted"), not a redirect.
  let onSignInPage = false;

  const api = createApiClient({
    session,
    onUnauthorized: () => {
      if (onSignInPage) return;
      session.signOut();
      if (!window.location.hash.startsWith('#/sign-in')) window.location.hash = '#/sign-in';
    },
  });
  const shell = createShell(root, () => {
    session.signOut();
    window.location.hash = '#/sign-in';
  });

  function route(): void {
    current?.dispose();
    current = undefined;
    const r = parseHash(window.location.hash);
    onSignInPage = !session.token() || r.name === 'sign-in';
    if (onSignInPage) {
      if (r.name !== 'sign-in') returnTo = window.location.hash || '#/';
      live?.close();
      live = undefined;
      shell.setSignedIn(false);
      renderSignIn({
        root: shell.main,
        session,
        verify: () => api.get('/devices'),
        onSignedIn: () => {
          const target = returnTo.startsWith('#/sign-in') ? '#/' : returnTo;
          if (window.location.hash === target) route();
          else window.location.hash = target;
        },
      });
      return;
    }
    shell.setSignedIn(true);
    if (!live) {
      live = createLiveBus(api);
      live.onState((state) => shell.setLive(state));
    }
    const def = VIEWS[r.name];
    shell.setActive(def?.section ?? '');
    const heading = h('h1', { attrs: { tabindex: -1 } });
    const body = h('div', { class: 'view' });
    replaceChildren(shell.main, heading, body);
    if (!def) {
      heading.textContent = 'Not found';
      body.append(h('p', {}, 'There is no page at this address. ', h('a', { attrs: { href: '#/' } }, 'Go to the overview')));
      return;
    }
    const ctx: ViewContext = {
      api,
      live,
      route: r,
      root: body,
      navigate: (hash) => {
        window.location.hash = hash;
      },
      announce: (message) => shell.announce(message),
      title: (text) => {
        heading.textContent = text;
        document.title = `${text} · edgefleet`;
      },
    };
    current = def.factory(ctx);
    // Move focus to the new page's heading so keyboard and screen-reader users land on it.
    if (document.activeElement && document.activeElement !== document.body && !shell.main.contains(document.activeElement)) heading.focus();
  }

  window.addEventListener('hashchange', route);
  route();
}

const root = document.getElementById('app');
if (root) start(root);
