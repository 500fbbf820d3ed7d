import { z } from 'zod';
import { apiErrorSchema, type ApiRole } from '@edgefleet/shared';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from './principal.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Who may call a route: a minimum token role, `device` (a device's HTTP basic credentials or any
 * viewer token), or `public` (health, metrics, the OpenAPI document).
 */
export type RouteAccess = ApiRole | 'device' | 'public';

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  request: FastifyRequest;
  reply: FastifyReply;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteSpec<P extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined> {
  method: HttpMethod;
  /** Relative to /api/v1, fastify syntax: `/devices/:id`. */
  url: string;
  summary: string;
  tags?: string[];
  access: RouteAccess;
  params?: P;
  query?: Q;
  /** A JSON body schema; leave out with `streamBody` for raw uploads (request.body is the stream). */
  body?: B;
  streamBody?: { contentType: string; description: string };
  response?: z.ZodType;
  /** A smaller body limit than the server's, for public endpoints. */
  bodyLimitBytes?: number;
  /** Success status. @default 200 */
  status?: number;
  /** What the audit log records as the target, from the parsed params. */
  auditTarget?: (params: Out<P>) => string;
  /** A stream (`body as Readable`) when streamBody is set. */
  handler(ctx: RouteContext<Out<P>, Out<Q>, B extends z.ZodType ? z.output<B> : unknown>): Promise<unknown>;
}

/** Routes as data: registered with fastify by the server and rendered into the OpenAPI document. */
export type AnyRouteSpec = RouteSpec<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>;

export function defineRoute<P extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined>(
  spec: RouteSpec<P, Q, B>,
): AnyRouteSpec {
  return spec;
}

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'openapi-3.0' });

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): unknown[] {
  if (!schema) return [];
  const js = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: s }));
}

/** OpenAPI 3.0 for every registered route, generated from the same zod schemas that validate requests. */
export function openApiDocument(routes: readonly AnyRouteSpec[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const error = { description: 'error', content: { 'application/json': { schema: jsonSchema(apiErrorSchema, 'output') } } };
  for (const r of routes) {
    const path = `/api/v1${r.url}`.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const op: Record<string, unknown> = {
      summary: r.summary,
      tags: r.tags ?? [],
      parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
      responses: {
        [String(r.status ?? 200)]: { description: 'success', ...(r.response ? { content: { 'application/json': { schema: jsonSchema(r.response, 'output') } } } : {}) },
        ...(r.access === 'public' ? {} : { '401': error, '403': error }),
        default: error,
      },
      ...(r.access === 'public' ? { security: [] } : {}),
      'x-edgefleet-access': r.access,
    };
    if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(r.body, 'input') } } };
    if (r.streamBody) op.requestBody = { required: true, description: r.streamBody.description, content: { [r.streamBody.contentType]: { schema: { type: 'string', format: 'binary' } } } };
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.0.3',
    info: { title: 'edgefleet control plane', version },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'API token (edgefleet tokens create)' },
        deviceBasic: { type: 'http', scheme: 'basic', description: 'device id and secret (artifact download)' },
      },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
