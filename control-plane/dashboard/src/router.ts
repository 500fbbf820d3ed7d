/**
 * Hash routing (`#/devices/cam-1?status=offline`): the server serves one HTML shell and never
 * needs to know the dashboard's routes, and a reload or a bookmarked link lands on the same page.
 */
export interface Route {
  name: string;
  params: Record<string, string>;
  query: URLSearchParams;
}

interface RouteDef {
  name: string;
  pattern: string;
}

const ROUTES: RouteDef[] = [
  { name: 'overview', pattern: '' },
  { name: 'sign-in', pattern: 'sign-in' },
  { name: 'devices', pattern: 'devices' },
  { name: 'device', pattern: 'devices/:id' },
  { name: 'models', pattern: 'models' },
  { name: 'model', pattern: 'models/:name' },
  { name: 'rollouts', pattern: 'rollouts' },
  { name: 'rollout-create', pattern: 'rollouts/new' },
  { name: 'rollout', pattern: 'rollouts/:id' },
];

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const [path = '', search = ''] = raw.split('?', 2);
  const parts = path.split('/').filter(Boolean);
  for (const def of ROUTES) {
    const pattern = def.pattern.split('/').filter(Boolean);
    if (pattern.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const ok = pattern.every((seg, i) => {
      const part = parts[i] ?? '';
      if (seg.startsWith(':')) {
        params[seg.slice(1)] = decodeURIComponent(part);
        return true;
      }
      return seg === part;
    });
    if (ok) return { name: def.name, params, query: new URLSearchParams(search) };
  }
  return { name: 'not-found', params: { path }, query: new URLSearchParams(search) };
}

/** Builds a hash link; `href('device', {id})` → `#/devices/cam-1`. */
export function href(path: string, query?: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v) q.set(k, v);
  const qs = q.toString();
  return `#/${path}${qs ? `?${qs}` : ''}`;
}

export function deviceHref(id: string): string {
  return href(`devices/${encodeURIComponent(id)}`);
}
export function modelHref(name: string): string {
  return href(`models/${encodeURIComponent(name)}`);
}
export function rolloutHref(id: string): string {
  return href(`rollouts/${encodeURIComponent(id)}`);
}
