/**
 * REST under /api/v1/rollouts and the live event stream (SSE) the dashboard and `rollouts watch`
 * follow. Bodies are the shared zod schemas (shared/src/api/rollouts.ts).
 */
import { z } from 'zod';
import { abortRolloutRequestSchema, dryRunPlanSchema, rolloutEventSchema, rolloutViewSchema, type RolloutEvent } from '@edgefleet/shared';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { defineRoute, type AnyRouteSpec } from '../api/route-registry.js';
import type { RolloutService } from './rollout-service.js';

const idParams = z.object({ id: z.string().min(1).max(64) });
const viewQuery = z.object({ devices: z.enum(['true', 'false']).default('false') });
const eventsQuery = z.object({ after: z.coerce.number().int().nonnegative().default(0), limit: z.coerce.number().int().positive().max(5000).default(500) });
/** The create body is parsed by the operations (one place for its rules); here only its envelope. */
const createBody = z.record(z.string(), z.unknown());
const emptyBody = z.object({}).passthrough().optional();

const SSE_HEARTBEAT_MS = 15_000;

/** Open event streams, ended before the HTTP server closes (it would otherwise wait for them). */
export interface SseStreams {
  readonly open: Set<() => void>;
  closeAll(): void;
}

export function createSseStreams(): SseStreams {
  const open = new Set<() => void>();
  return { open, closeAll: () => [...open].forEach((end) => end()) };
}

/**
 * Streams rollout events as SSE: first what the store holds after Last-Event-ID (or `?after=`),
 * then live ones, so a reconnecting client misses nothing.
 */
async function streamEvents(service: RolloutService, streams: SseStreams, request: FastifyRequest, reply: FastifyReply, rolloutId: string | undefined, after: number): Promise<void> {
  const lastEventId = Number(request.headers['last-event-id']);
  let cursor = Number.isFinite(lastEventId) && lastEventId > 0 ? lastEventId : after;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  const send = (e: RolloutEvent): void => {
    if (e.id <= cursor || (rolloutId && e.rolloutId !== rolloutId)) return;
    cursor = e.id;
    res.write(`id: ${e.id}\nevent: rollout\ndata: ${JSON.stringify(e)}\n\n`);
  };
  const buffered: RolloutEvent[] = [];
  let replaying = true;
  const unsubscribe = service.engine.onEvent((e) => (replaying ? buffered.push(e) : send(e)));
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
  heartbeat.unref();
  const end = (): void => {
    clearInterval(heartbeat);
    unsubscribe();
    streams.open.delete(end);
    if (!res.writableEnded) res.end();
  };
  streams.open.add(end);
  request.raw.on('close', end);
  res.write(': connected\n\n');
  for (;;) {
    const page = await service.engine.store.eventsAfter(cursor, rolloutId, 1000);
    page.forEach(send);
    if (page.length < 1000) break;
  }
  replaying = false;
  buffered.forEach(send);
}

export function rolloutRoutes(service: RolloutService, streams: SseStreams = createSseStreams()): AnyRouteSpec[] {
  const ops = service.operations;
  const target = (p: { id: string }): string => `rollout:${p.id}`;
  const action = (name: 'pause' | 'resume' | 'rollback' | 'retry' | 'approve', summary: string): AnyRouteSpec =>
    defineRoute({
      method: 'POST', url: `/rollouts/:id/${name}`, summary, tags: ['rollouts'], access: 'operator', params: idParams, body: emptyBody, response: rolloutViewSchema, auditTarget: target,
      handler: async ({ params, principal }) => await ops[name](params.id, principal.actor),
    });
  return [
    defineRoute({
      method: 'GET', url: '/rollouts', summary: 'List rollouts, newest first', tags: ['rollouts'], access: 'viewer',
      response: z.object({ rollouts: z.array(rolloutViewSchema) }),
      handler: async () => ({ rollouts: await ops.list() }),
    }),
    defineRoute({
      method: 'POST', url: '/rollouts', summary: 'Create a rollout, or with dryRun: true show which devices fall into which wave, and when', tags: ['rollouts'], access: 'operator',
      body: createBody, response: z.union([rolloutViewSchema, dryRunPlanSchema]),
      handler: async ({ body, principal, request, reply }) => {
        if (body.dryRun === true) return await ops.dryRun(body);
        const view = await ops.create(body, principal.actor);
        request.auditTarget = `rollout:${view.id}`;
        reply.code(201);
        return view;
      },
    }),
    defineRoute({
      method: 'GET', url: '/rollouts/events', summary: 'Live rollout events (server-sent events; resumes from Last-Event-ID)', tags: ['rollouts'], access: 'viewer',
      query: eventsQuery,
      handler: async ({ query, request, reply }) => await streamEvents(service, streams, request, reply, undefined, query.after),
    }),
    defineRoute({
      method: 'GET', url: '/rollouts/:id', summary: 'A rollout: state, waves, per-state device counts, gate values', tags: ['rollouts'], access: 'viewer',
      params: idParams, query: viewQuery, response: rolloutViewSchema,
      handler: async ({ params, query }) => await ops.view(params.id, query.devices === 'true'),
    }),
    defineRoute({
      method: 'GET', url: '/rollouts/:id/events', summary: "A rollout's recorded transitions (every device and wave move)", tags: ['rollouts'], access: 'viewer',
      params: idParams, query: eventsQuery, response: z.object({ events: z.array(rolloutEventSchema) }),
      handler: async ({ params, query }) => {
        await ops.view(params.id);
        return { events: await service.engine.store.eventsAfter(query.after, params.id, query.limit) };
      },
    }),
    defineRoute({
      method: 'GET', url: '/rollouts/:id/stream', summary: "One rollout's live events (server-sent events)", tags: ['rollouts'], access: 'viewer',
      params: idParams, query: eventsQuery,
      handler: async ({ params, query, request, reply }) => {
        await ops.view(params.id);
        await streamEvents(service, streams, request, reply, params.id, query.after);
      },
    }),
    action('pause', 'Pause: no further notifications or wave changes'),
    action('resume', 'Resume a paused rollout (or override a halt: the halted wave counts as passed)'),
    action('approve', 'Approve the next wave (manual approval)'),
    action('retry', 'Notify failed, rolled-back and offline-skipped devices again'),
    action('rollback', 'Put every touched device back on its previous version'),
    defineRoute({
      method: 'POST', url: '/rollouts/:id/abort', summary: 'Abort: keep what is installed, or revert touched devices', tags: ['rollouts'], access: 'operator',
      params: idParams, body: abortRolloutRequestSchema.optional(), response: rolloutViewSchema, auditTarget: target,
      handler: async ({ params, body, principal }) => await ops.abort(params.id, body?.mode ?? 'keep', principal.actor),
    }),
  ];
}
