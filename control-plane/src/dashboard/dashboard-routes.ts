/**
 * Serves the operator dashboard (issue 8) from the control plane's own HTTP port.
 *
 * The page shell and its bundle are public — they hold no data; everything the dashboard shows
 * comes from /api/v1 with the operator's bearer token, so it sits behind exactly the same auth
 * as the CLI. Register with one line: `await app.register(dashboardRoutes)`.
 */
import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

export interface DashboardRoutesOptions {
  /** Folder holding the esbuild output (app.js, app.css). @default control-plane/dashboard/public */
  publicDir?: string;
  /** URL path the dashboard is served under (not fastify's `prefix`, which would also move the `/` redirect). @default '/dashboard' */
  mountPath?: string;
  /** Redirect `GET /` to the dashboard when nothing else serves it. @default true */
  redirectRoot?: boolean;
}

/** src/dashboard/ and dist/dashboard/ both sit two levels below the package root. */
export const DEFAULT_PUBLIC_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dashboard', 'public');

/** Only these files are served, so no request path ever reaches the file system. */
const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'app.js.map': 'application/json; charset=utf-8',
  'app.css.map': 'application/json; charset=utf-8',
};

/**
 * Strict CSP: scripts and styles only from this origin, API calls only to this origin (the
 * dashboard fetches nothing from the network at run time). uPlot sizes its canvas with inline
 * style attributes, hence 'unsafe-inline' for styles only.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function dashboardHtml(prefix: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>edgefleet</title>
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%231d4ed8'/%3E%3C/svg%3E">
<link rel="stylesheet" href="${prefix}/assets/app.css">
<script type="module" src="${prefix}/assets/app.js"></script>
</head>
<body>
<div id="app"><noscript>The edgefleet dashboard needs JavaScript.</noscript></div>
</body>
</html>
`;
}

const BUILD_HINT = 'run `pnpm build` (or `pnpm --filter @edgefleet/control-plane build:assets`)';
const notBuiltHtml = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>edgefleet</title></head><body><h1>Dashboard not built</h1><p>The dashboard bundle is missing: ${BUILD_HINT.replace(/`/g, '')}.</p></body></html>`;

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', DASHBOARD_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY');
}

export const dashboardRoutes: FastifyPluginAsync<DashboardRoutesOptions> = async (app, options) => {
  const prefix = (options.mountPath ?? '/dashboard').replace(/\/$/, '');
  const publicDir = options.publicDir ?? DEFAULT_PUBLIC_DIR;
  const html = dashboardHtml(prefix);

  const servePage = async (_request: unknown, reply: FastifyReply): Promise<FastifyReply> => {
    securityHeaders(reply).header('cache-control', 'no-cache').type('text/html; charset=utf-8');
    // A blank page is the worst way to learn the bundle was never built: say so instead.
    const built = await access(join(publicDir, 'app.js')).then(() => true, () => false);
    return built ? reply.send(html) : reply.code(503).send(notBuiltHtml);
  };
  app.get(prefix, servePage);
  app.get(`${prefix}/`, servePage);

  app.get<{ Params: { file: string } }>(`${prefix}/assets/:file`, async (request, reply) => {
    const type = ASSETS[request.params.file];
    if (!type) return reply.code(404).send({ error: `no dashboard asset ${request.params.file}`, code: 'NOT_FOUND' });
    let body: Buffer;
    try {
      // Read per request (files are small and the OS caches them) so a rebuild shows without a restart.
      body = await readFile(join(publicDir, request.params.file));
    } catch {
      return reply.code(404).send({ error: `dashboard asset ${request.params.file} is not built; ${BUILD_HINT}`, code: 'NOT_FOUND' });
    }
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    securityHeaders(reply).header('etag', etag).header('cache-control', 'no-cache');
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type(type).send(body);
  });

  if (options.redirectRoot ?? true) {
    app.after(() => {
      if (!app.hasRoute({ method: 'GET', url: '/' })) app.get('/', async (_request, reply) => reply.redirect(`${prefix}/`));
    });
  }
};
