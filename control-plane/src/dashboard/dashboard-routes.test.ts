import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DASHBOARD_CSP, dashboardRoutes } from './dashboard-routes.js';

describe('dashboardRoutes', () => {
  let dir: string;
  let app: FastifyInstance;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgefleet-dashboard-'));
    app = Fastify();
  });
  afterEach(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the page shell with a strict CSP that loads only same-origin assets', async () => {
    await writeFile(join(dir, 'app.js'), 'console.log(1)');
    await app.register(dashboardRoutes, { publicDir: dir });
    const res = await app.inject({ method: 'GET', url: '/dashboard/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.body).toContain('<script type="module" src="/dashboard/assets/app.js">');
    expect(res.body).not.toMatch(/(src|href)="https?:/);
    expect((await app.inject({ method: 'GET', url: '/dashboard' })).statusCode).toBe(200);
  });

  it('serves built assets with their content type and answers 304 to a matching ETag', async () => {
    await writeFile(join(dir, 'app.js'), 'export const x = 1;');
    await writeFile(join(dir, 'app.css'), 'body{}');
    await app.register(dashboardRoutes, { publicDir: dir });
    const js = await app.inject({ method: 'GET', url: '/dashboard/assets/app.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body).toBe('export const x = 1;');
    const etag = js.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]{22}"$/);
    const again = await app.inject({ method: 'GET', url: '/dashboard/assets/app.js', headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    const css = await app.inject({ method: 'GET', url: '/dashboard/assets/app.css' });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('serves only the bundle files, never an arbitrary path', async () => {
    await writeFile(join(dir, 'app.js'), '1');
    await writeFile(join(dir, 'secret.txt'), 'nope');
    await app.register(dashboardRoutes, { publicDir: dir });
    for (const url of ['/dashboard/assets/secret.txt', '/dashboard/assets/..%2Fpackage.json', '/dashboard/assets/%2E%2E%2Fapp.js']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json()).toMatchObject({ code: 'NOT_FOUND' });
    }
  });

  it('says the bundle is missing instead of serving a blank page', async () => {
    await app.register(dashboardRoutes, { publicDir: dir });
    const page = await app.inject({ method: 'GET', url: '/dashboard/' });
    expect(page.statusCode).toBe(503);
    expect(page.body).toContain('pnpm build');
    const asset = await app.inject({ method: 'GET', url: '/dashboard/assets/app.js' });
    expect(asset.statusCode).toBe(404);
    expect(asset.json().error).toContain('not built');
  });

  it('redirects / to the dashboard unless something else serves /', async () => {
    await app.register(dashboardRoutes, { publicDir: dir });
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('/dashboard/');

    const other = Fastify();
    other.get('/', async () => ({ hello: 'world' }));
    await other.register(dashboardRoutes, { publicDir: dir });
    expect((await other.inject({ method: 'GET', url: '/' })).json()).toEqual({ hello: 'world' });
    await other.close();
  });

  it('mounts under another prefix', async () => {
    await writeFile(join(dir, 'app.js'), '1');
    await app.register(dashboardRoutes, { publicDir: dir, mountPath: '/ui/' });
    const res = await app.inject({ method: 'GET', url: '/ui/' });
    expect(res.body).toContain('src="/ui/assets/app.js"');
    expect((await app.inject({ method: 'GET', url: '/ui/assets/app.js' })).statusCode).toBe(200);
  });
});
