/**
 * Deterministic HTTP request fuzzing against a route table: garbage path parameters, unknown
 * routes, wrong methods, broken and mistyped JSON bodies, wrong content types, oversize bodies,
 * hostile query strings and bad credentials. Every generated request is invalid by construction,
 * so the only acceptable answer is a clear 4xx error (a JSON body with an `error` message).
 */
import { request as httpRequest, Agent } from 'node:http';
import { createPrng, type Prng } from './prng.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRoute {
  method: HttpMethod;
  /** Path template with `:param` segments, e.g. `/api/v1/devices/:id`. */
  path: string;
  /** A valid JSON body, mutated into invalid ones. */
  body?: Record<string, unknown>;
  /** Values that make each path parameter valid; fuzzed values replace them. */
  params?: Record<string, string>;
}

export interface FuzzedRequest {
  index: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  mutation: string;
}

export interface HttpFuzzOptions {
  seed: number;
  count: number;
  routes: readonly HttpRoute[];
  /** `Authorization` header of a valid caller, so requests get past authentication to validation. */
  authorization?: string;
  /** Largest body to send for the oversize mutation (a little above the server's limit). */
  oversizeBytes?: number;
  /** Mutation kinds to draw from; an API without authentication or query parameters leaves those out. */
  kinds?: readonly HttpFuzzKind[];
  /** A GET route whose `limit` query parameter is validated (for bad-query). */
  queryRoute?: string;
}

export const HTTP_FUZZ_KINDS = ['unknown-route', 'wrong-method', 'bad-param', 'broken-json', 'mutated-body', 'wrong-content-type', 'bad-query', 'bad-auth', 'oversize'] as const;
export type HttpFuzzKind = (typeof HTTP_FUZZ_KINDS)[number];
/** Relative weights: body and parameter mutations reach the most validation code. */
const WEIGHTS: Record<HttpFuzzKind, number> = { 'unknown-route': 1, 'wrong-method': 1, 'bad-param': 2, 'broken-json': 1, 'mutated-body': 3, 'wrong-content-type': 1, 'bad-query': 1, 'bad-auth': 1, oversize: 1 };

const BAD_PARAMS = [
  '..%2F..%2F..%2Fetc%2Fpasswd',
  '%2E%2E',
  'a'.repeat(300),
  '%00',
  '%ZZ',
  '*',
  '%2B',
  '%23',
  '-leading-dash',
  '%E2%80%AE',
  '%F0%9F%98%80',
  'UPPER%20SPACE',
  '%7B%22%24gt%22%3A%22%22%7D',
  "1'%20OR%20'1'%3D'1",
];

function fillPath(route: HttpRoute, rng: Prng, fuzzParam: boolean): string {
  return route.path.replace(/:([A-Za-z]+)/g, (_, name: string) => (fuzzParam ? rng.pick(BAD_PARAMS) : (route.params?.[name] ?? rng.pick(BAD_PARAMS))));
}

function wrongValue(rng: Prng): unknown {
  return rng.pick<() => unknown>([
    () => null,
    () => -1,
    () => 1e308,
    () => true,
    () => [],
    () => ({ $gt: '' }),
    () => 'x'.repeat(rng.pick([5000, 70_000])),
    () => rng.string(rng.int(1, 20)),
    () => [[[[[]]]]],
  ])();
}

function mutateBody(rng: Prng, body: Record<string, unknown>): { body: Buffer; mutation: string } {
  const keys = Object.keys(body);
  const kind = rng.pick(['body-wrong-type', 'body-drop-field', 'body-not-object', 'body-proto'] as const);
  switch (kind) {
    case 'body-wrong-type': {
      const key = keys.length ? rng.pick(keys) : 'x';
      let value = wrongValue(rng);
      // A string where a string is expected can still be valid: make it invalid for sure.
      if (typeof value === 'string' && typeof body[key] === 'string') value = { not: 'a string' };
      return { body: Buffer.from(JSON.stringify({ ...body, [key]: value })), mutation: kind };
    }
    case 'body-drop-field': {
      // Dropping every field: a body with nothing required present.
      return { body: Buffer.from(JSON.stringify(keys.length > 1 ? { [rng.string(6)]: 1 } : {})), mutation: kind };
    }
    case 'body-not-object':
      return { body: Buffer.from(rng.pick(['null', '[]', '42', '"s"', 'true'])), mutation: kind };
    case 'body-proto':
      return { body: Buffer.from(`{"__proto__":{"role":"admin"},"constructor":{"prototype":{"isAdmin":true}}}`), mutation: kind };
  }
}

/** Yields `count` invalid requests drawn over the route table. */
export function* httpFuzzRequests(opts: HttpFuzzOptions): Generator<FuzzedRequest> {
  const rng = createPrng(opts.seed);
  const auth: Record<string, string> = opts.authorization ? { authorization: opts.authorization } : {};
  const bodyRoutes = opts.routes.filter((r) => r.body);
  const paramRoutes = opts.routes.filter((r) => r.path.includes(':'));
  const methods: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
  const pool = (opts.kinds ?? HTTP_FUZZ_KINDS).flatMap((k) => new Array<HttpFuzzKind>(WEIGHTS[k]).fill(k));
  for (let index = 0; index < opts.count; index += 1) {
    const kind = rng.pick(pool);
    const route = rng.pick(opts.routes);
    switch (kind) {
      case 'unknown-route': {
        const segs = Array.from({ length: rng.int(1, 5) }, () => encodeURIComponent(rng.string(rng.int(1, 12))));
        yield { index, method: rng.pick(methods), path: `${rng.pick(['/api/v1/', '/v1/', '/v2/', '/', '/api/v2/'])}${segs.join('/')}`, headers: { ...auth }, mutation: kind };
        break;
      }
      case 'wrong-method': {
        const taken = new Set(opts.routes.filter((r) => r.path === route.path).map((r) => r.method));
        const free = methods.filter((m) => !taken.has(m));
        if (free.length === 0) {
          index -= 1;
          continue;
        }
        yield { index, method: rng.pick(free), path: fillPath(route, rng, false), headers: { ...auth }, mutation: kind };
        break;
      }
      case 'bad-param': {
        const r = paramRoutes.length ? rng.pick(paramRoutes) : route;
        const body = r.body ? Buffer.from(JSON.stringify(r.body)) : undefined;
        yield { index, method: r.method, path: fillPath(r, rng, true), headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) }, body, mutation: kind };
        break;
      }
      case 'broken-json': {
        const r = bodyRoutes.length ? rng.pick(bodyRoutes) : route;
        const full = JSON.stringify(r.body ?? { a: 1 });
        const broken = rng.pick([full.slice(0, rng.int(1, Math.max(1, full.length - 1))), `${full},`, full.replace(/"/g, "'"), '{"a":', '\u0000\u0001', '{]']);
        yield { index, method: r.method, path: fillPath(r, rng, false), headers: { ...auth, 'content-type': 'application/json' }, body: Buffer.from(broken), mutation: kind };
        break;
      }
      case 'mutated-body': {
        const r = bodyRoutes.length ? rng.pick(bodyRoutes) : route;
        const m = mutateBody(rng, r.body ?? {});
        yield { index, method: r.method, path: fillPath(r, rng, false), headers: { ...auth, 'content-type': 'application/json' }, body: m.body, mutation: m.mutation };
        break;
      }
      case 'wrong-content-type': {
        const r = bodyRoutes.length ? rng.pick(bodyRoutes) : route;
        yield {
          index,
          method: r.method,
          path: fillPath(r, rng, false),
          headers: { ...auth, 'content-type': rng.pick(['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded']) },
          body: Buffer.from(rng.pick(['<a/>', 'a=1&b=2', 'plain text', '--x\r\n\r\n--x--'])),
          mutation: kind,
        };
        break;
      }
      case 'bad-query': {
        // Only values that are wrong for a parameter the route reads: unknown keys are ignored by design.
        const q = rng.pick(['limit=-1', 'limit=abc', 'limit=1e309', 'limit=0', 'limit=100000', 'limit=', 'limit=1.5', `limit=${'9'.repeat(400)}`]);
        const r = opts.routes.find((x) => x.path === opts.queryRoute) ?? route;
        yield { index, method: 'GET', path: `${fillPath(r, rng, true)}?${q}&__proto__[admin]=1`, headers: { ...auth }, mutation: kind };
        break;
      }
      case 'bad-auth': {
        const authorization = rng.pick(['Bearer ', 'Bearer x', 'Basic YWRtaW46YWRtaW4=', `Bearer ${'A'.repeat(4000)}`, 'Bearer efp_forged.token', 'bearer', 'Token abc']);
        const body = route.body ? Buffer.from(JSON.stringify(route.body)) : undefined;
        yield { index, method: route.method, path: fillPath(route, rng, false), headers: { authorization, ...(body ? { 'content-type': 'application/json' } : {}) }, body, mutation: kind };
        break;
      }
      case 'oversize': {
        const r = bodyRoutes.length ? rng.pick(bodyRoutes) : route;
        const size = opts.oversizeBytes ?? 2 * 1024 * 1024;
        const body = Buffer.from(`{"x":"${'y'.repeat(size)}"}`);
        yield { index, method: r.method, path: fillPath(r, rng, false), headers: { ...auth, 'content-type': 'application/json' }, body, mutation: kind };
        break;
      }
    }
  }
}

export interface HttpReply {
  status: number;
  body: string;
  contentType: string;
}

export type ReplyClass = 'clear-4xx' | 'bare-4xx' | '2xx' | '3xx' | '5xx' | 'no-reply';

/** `clear-4xx`: a 4xx whose body is JSON with a non-empty `error` message (and a `code` when the API has one). */
export function classifyReply(reply: HttpReply | undefined): ReplyClass {
  if (!reply) return 'no-reply';
  const s = reply.status;
  if (s >= 500) return '5xx';
  if (s >= 300 && s < 400) return '3xx';
  if (s < 300) return '2xx';
  try {
    const body = JSON.parse(reply.body) as { error?: unknown };
    return typeof body.error === 'string' && body.error.length > 0 ? 'clear-4xx' : 'bare-4xx';
  } catch {
    return 'bare-4xx';
  }
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 8 });

/** Sends one request; resolves undefined when the connection fails or times out (a crash or a hang). */
export async function sendRequest(baseUrl: string, req: Pick<FuzzedRequest, 'method' | 'path' | 'headers' | 'body'>, timeoutMs = 10_000): Promise<HttpReply | undefined> {
  const url = new URL(baseUrl);
  return await new Promise((resolve) => {
    const r = httpRequest(
      {
        agent: keepAlive,
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.path,
        headers: { ...req.headers, ...(req.body ? { 'content-length': String(req.body.length) } : {}) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), contentType: String(res.headers['content-type'] ?? '') }));
        res.on('error', () => resolve(undefined));
      },
    );
    r.on('timeout', () => r.destroy(new Error('timeout')));
    // A server may answer 413 and close before reading an oversize body: the reply event may still come.
    r.on('error', () => resolve(undefined));
    if (req.body) r.end(req.body);
    else r.end();
  });
}
