import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  cohortHealthQuerySchema,
  EdgefleetError,
  formatIssues,
  parseTagList,
  telemetryInferenceQuerySchema,
  telemetrySamplesQuerySchema,
  type DeviceTags,
} from '@edgefleet/shared';
import type { z } from 'zod';
import type { TelemetryService } from './telemetry-service.js';

/**
 * GET /api/v1/telemetry/{samples,inference,cohort-health,devices}. Device selection by ids, a tag
 * selector or a rollout cohort is resolved through ports the server wires (device registry, rollout
 * engine); authentication is the server's (these routes register inside its authenticated scope).
 */
export interface DeviceResolver {
  /** Devices and their tags (the device registry). */
  listDevices(): Promise<readonly { id: string; tags: DeviceTags }[]>;
  /** Devices of a rollout (optionally one wave); undefined when the rollout is unknown. */
  rolloutCohort?(rolloutId: string, wave?: number): Promise<readonly string[] | undefined>;
}

interface Selection {
  deviceIds?: string[] | undefined;
  selector?: string | undefined;
  rolloutId?: string | undefined;
  wave?: number | undefined;
}

function parse<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  const result = schema.safeParse(query);
  if (!result.success) throw new EdgefleetError('BAD_REQUEST', `invalid query: ${formatIssues(result.error.issues)}`);
  return result.data;
}

/** Intersects every selection given; undefined when none was (= the whole fleet). */
export async function resolveSelection(sel: Selection, resolver: DeviceResolver): Promise<string[] | undefined> {
  let ids: Set<string> | undefined = sel.deviceIds ? new Set(sel.deviceIds) : undefined;
  const narrow = (next: readonly string[]): void => {
    ids = ids ? new Set(next.filter((id) => ids!.has(id))) : new Set(next);
  };
  if (sel.selector !== undefined) {
    let wanted: DeviceTags;
    try {
      wanted = parseTagList(sel.selector);
    } catch (cause) {
      throw new EdgefleetError('BAD_REQUEST', `invalid tag selector ${JSON.stringify(sel.selector)}: expected k=v[,k2=v2]`, { cause });
    }
    const devices = await resolver.listDevices();
    narrow(devices.filter((d) => Object.entries(wanted).every(([k, v]) => d.tags[k] === v)).map((d) => d.id));
  }
  if (sel.rolloutId !== undefined) {
    const cohort = await resolver.rolloutCohort?.(sel.rolloutId, sel.wave);
    if (!cohort) throw new EdgefleetError('ROLLOUT_NOT_FOUND', `no rollout ${sel.rolloutId}`);
    narrow(cohort);
  }
  return ids ? [...ids] : undefined;
}

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof EdgefleetError) return reply.code(err.status).send({ error: err.message, code: err.code, ...(err.details ? { details: err.details } : {}) });
  throw err;
}

export function registerTelemetryRoutes(app: FastifyInstance, deps: { telemetry: TelemetryService; resolver: DeviceResolver; now?: () => number; prefix?: string }): void {
  const prefix = deps.prefix ?? '/api/v1/telemetry';
  const now = deps.now ?? (() => Date.now());
  const all = async (): Promise<string[]> => (await deps.resolver.listDevices()).map((d) => d.id);

  app.get(`${prefix}/samples`, async (request, reply) => {
    try {
      const q = parse(telemetrySamplesQuerySchema, request.query);
      const to = q.to ?? now();
      const deviceIds = (await resolveSelection(q, deps.resolver)) ?? (await all());
      const { resolution, series } = await deps.telemetry.samples({ deviceIds, from: q.from, to, resolution: q.resolution });
      return { resolution, from: q.from, to, series };
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.get(`${prefix}/inference`, async (request, reply) => {
    try {
      const q = parse(telemetryInferenceQuerySchema, request.query);
      const to = q.to ?? now();
      const deviceIds = await resolveSelection(q, deps.resolver);
      const { resolution, points } = await deps.telemetry.inference({ deviceIds, model: q.model, version: q.version, from: q.from, to, resolution: q.resolution, perDevice: q.perDevice });
      return { resolution, from: q.from, to, points };
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.get(`${prefix}/cohort-health`, async (request, reply) => {
    try {
      const q = parse(cohortHealthQuerySchema, request.query);
      const deviceIds = (await resolveSelection(q, deps.resolver)) ?? (await all());
      return await deps.telemetry.cohortHealth({ model: q.model, version: q.version, deviceIds, from: q.from, to: q.to ?? now() });
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.get(`${prefix}/devices`, async () => ({ devices: await deps.telemetry.devices() }));
}
