import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { type z } from 'zod';
import { EdgefleetError, formatIssues, roleAllows, toEdgefleetError, type ErrorCode } from '@edgefleet/shared';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Store } from '../store/store.js';
import { ANONYMOUS, tokenActor, type Principal } from './principal.js';
import { openApiDocument, type AnyRouteSpec } from './route-registry.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
    auditTarget: string | undefined;
  }
}

export interface ApiServerDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  version: string;
  verifyToken(secret: string): Promise<{ id: string; name: string; role: 'viewer' | 'operator' | 'admin' } | undefined>;
  verifyDevice(id: string, secret: string): Promise<boolean>;
  /** Largest JSON body. @default 1 MiB */
  bodyLimitBytes?: number;
}

export interface ApiServer {
  /** The fastify instance: add hooks or non-API routes before start. */
  readonly app: FastifyInstance;
  /** Registers a route under /api/v1 (auth, zod validation, audit, OpenAPI included). Call before listen. */
  route(spec: AnyRouteSpec): void;
  readonly routes: readonly AnyRouteSpec[];
  listen(host: string, port: number): Promise<number>;
  close(): Promise<void>;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function sendError(reply: FastifyReply, err: EdgefleetError): FastifyReply {
  return reply.code(err.status).send({ error: err.message, code: err.code, ...(err.details ? { details: err.details } : {}) });
}

function parse<S extends z.ZodType>(schema: S | undefined, value: unknown, what: string): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw new EdgefleetError('PAYLOAD_INVALID', `invalid ${what}: ${formatIssues(result.error.issues)}`, { cause: result.error });
  return result.data;
}

/**
 * fastify with edgefleet's conventions: every error is `{error, code}` with the catalogue's status,
 * every request names its principal, every mutating call is written to the audit log.
 */
export function createApiServer(deps: ApiServerDeps): ApiServer {
  const { store, clock, logger } = deps;
  const app: FastifyInstance = Fastify({ loggerInstance: logger.child({ component: 'http' }) as unknown as FastifyBaseLogger, bodyLimit: deps.bodyLimitBytes ?? 1024 * 1024, forceCloseConnections: true });
  const routes: AnyRouteSpec[] = [];
  app.decorateRequest('principal', null as never);
  app.decorateRequest('auditTarget', undefined);
  // Uploads (models, golden inputs) are streamed to disk by the route, never buffered by fastify.
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));

  app.setErrorHandler((error: Error, _request, reply) => {
    const fastifyCode = (error as { code?: string }).code;
    let mapped: EdgefleetError;
    if (error instanceof EdgefleetError) mapped = error;
    else if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE') mapped = new EdgefleetError('PAYLOAD_TOO_LARGE', error.message, { cause: error });
    else if (fastifyCode?.startsWith('FST_ERR_CTP') || (error as { statusCode?: number }).statusCode === 400) mapped = new EdgefleetError('BAD_REQUEST', error.message, { cause: error });
    else mapped = toEdgefleetError(error);
    if (mapped.status >= 500) logger.error({ err: error }, 'request failed');
    return sendError(reply, mapped);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, new EdgefleetError('NOT_FOUND', `no route ${request.method} ${request.url}`)));

  app.addHook('onRequest', async (request) => {
    request.principal = ANONYMOUS;
  });

  app.addHook('onResponse', async (request, reply) => {
    if (!MUTATING.has(request.method) || !request.url.startsWith('/api/v1/')) return;
    const status = reply.statusCode;
    try {
      await store.audit.append({
        at: clock.now().toISOString(),
        actor: request.principal.actor,
        action: `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`,
        target: request.auditTarget,
        status,
        outcome: status < 400 ? 'ok' : status === 401 || status === 403 ? 'refused' : 'failed',
      });
    } catch (err) {
      logger.error({ err }, 'could not write the audit log');
    }
  });

  const authenticate = async (request: FastifyRequest): Promise<Principal> => {
    const header = request.headers.authorization;
    if (!header) return ANONYMOUS;
    const [scheme, value = ''] = header.split(' ', 2) as [string, string | undefined];
    if (scheme.toLowerCase() === 'bearer') {
      const token = await deps.verifyToken(value.trim());
      if (!token) throw new EdgefleetError('AUTH_INVALID', 'the API token is wrong or revoked');
      return { kind: 'token', tokenId: token.id, name: token.name, role: token.role, actor: tokenActor(token.id, token.name) };
    }
    if (scheme.toLowerCase() === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const id = decoded.slice(0, Math.max(colon, 0));
      if (colon > 0 && (await deps.verifyDevice(id, decoded.slice(colon + 1)))) return { kind: 'device', deviceId: id, actor: `device:${id}` };
      throw new EdgefleetError('AUTH_INVALID', 'the device id or secret is wrong');
    }
    throw new EdgefleetError('AUTH_INVALID', `unsupported authorization scheme ${scheme}`);
  };

  const authorise = (spec: AnyRouteSpec, principal: Principal): void => {
    if (spec.access === 'public') return;
    if (principal.kind === 'anonymous') throw new EdgefleetError('AUTH_REQUIRED', 'this endpoint needs an API token (Authorization: Bearer …)');
    if (spec.access === 'device') {
      if (principal.kind === 'device' || roleAllows(principal.role, 'viewer')) return;
    } else if (principal.kind === 'token' && roleAllows(principal.role, spec.access)) {
      return;
    }
    const forbidden: ErrorCode = 'FORBIDDEN';
    throw new EdgefleetError(forbidden, `${principal.kind === 'token' ? `role ${principal.role}` : principal.actor} may not ${spec.method} ${spec.url}; needs ${spec.access}`);
  };

  const server: ApiServer = {
    app,
    routes,
    route(spec) {
      routes.push(spec);
      app.route({
        ...(spec.bodyLimitBytes ? { bodyLimit: spec.bodyLimitBytes } : {}),
        method: spec.method,
        url: `/api/v1${spec.url}`,
        handler: async (request, reply) => {
          // The audit target is named before auth, so refused calls record what they aimed at too.
          const early = spec.params?.safeParse(request.params);
          if (spec.auditTarget && early?.success) request.auditTarget = spec.auditTarget(early.data);
          request.principal = await authenticate(request);
          authorise(spec, request.principal);
          const params = parse(spec.params, request.params, 'path parameters');
          const query = parse(spec.query, request.query, 'query');
          const body = spec.body ? parse(spec.body, request.body, 'body') : spec.streamBody ? request.body : undefined;
          if (spec.streamBody && !request.headers['content-type']?.startsWith(spec.streamBody.contentType)) {
            throw new EdgefleetError('BAD_REQUEST', `send the body as ${spec.streamBody.contentType}`);
          }
          // The default success status first, so a handler that answers differently (201 on create) wins.
          reply.code(spec.status ?? 200);
          const result = await spec.handler({ params, query, body, principal: request.principal, request, reply });
          if (reply.sent) return reply;
          return result ?? null;
        },
      });
    },
    async listen(host, port) {
      await app.listen({ host, port });
      const address = app.server.address();
      return typeof address === 'object' && address ? address.port : port;
    },
    async close() {
      await app.close();
    },
  };
  server.route({
    method: 'GET',
    url: '/openapi.json',
    summary: 'This OpenAPI document',
    tags: ['system'],
    access: 'public',
    handler: async () => openApiDocument(routes, deps.version),
  });
  return server;
}
