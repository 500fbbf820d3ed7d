import {
  cohortHealthQuerySchema,
  cohortHealthResponseSchema,
  EdgefleetError,
  parseTagList,
  telemetryDevicesResponseSchema,
  telemetryInferenceQuerySchema,
  telemetryInferenceResponseSchema,
  telemetrySamplesQuerySchema,
  telemetrySamplesResponseSchema,
  type DeviceTags,
} from '@edgefleet/shared';
import { defineRoute, type AnyRouteSpec } from '../api/route-registry.js';
import type { TelemetryService } from './telemetry-service.js';

/**
 * GET /api/v1/telemetry/{samples,inference,cohort-health,devices} as route specs: the API server
 * adds authentication (viewer role), query validation, the audit log and the OpenAPI entry.
 * Device selection by ids, a tag selector or a rollout cohort is resolved through ports the
 * plugin wires (device registry; rollout engine when present).
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

/** Intersects every selection given; undefined when none was (= the whole fleet). */
export async function resolveSelection(sel: Selection, resolver: DeviceResolver): Promise<string[] | undefined> {
  let ids: Set<string> | undefined = sel.deviceIds ? new Set(sel.deviceIds) : undefined;
  const narrow = (next: readonly string[]): void => {
    const current = ids;
    ids = current ? new Set(next.filter((id) => current.has(id))) : new Set(next);
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
    if (!resolver.rolloutCohort) throw new EdgefleetError('BAD_REQUEST', 'rollout cohorts are not available on this server (no rollout engine)');
    const cohort = await resolver.rolloutCohort(sel.rolloutId, sel.wave);
    if (!cohort) throw new EdgefleetError('ROLLOUT_NOT_FOUND', `no rollout ${sel.rolloutId}`);
    narrow(cohort);
  }
  return ids ? [...ids] : undefined;
}

export function telemetryRoutes(deps: { telemetry: TelemetryService; resolver: DeviceResolver; now?: () => number }): AnyRouteSpec[] {
  const now = deps.now ?? (() => Date.now());
  const everyDevice = async (): Promise<string[]> => (await deps.resolver.listDevices()).map((d) => d.id);
  return [
    defineRoute({
      method: 'GET',
      url: '/telemetry/samples',
      summary: 'Device resource series (CPU, memory, disk, GPU, temperature, power, agent RSS and loop lag) by device, tag selector or rollout cohort',
      tags: ['telemetry'],
      access: 'viewer',
      query: telemetrySamplesQuerySchema,
      response: telemetrySamplesResponseSchema,
      async handler({ query: q }) {
        const to = q.to ?? now();
        const deviceIds = (await resolveSelection(q, deps.resolver)) ?? (await everyDevice());
        const { resolution, series } = await deps.telemetry.samples({ deviceIds, from: q.from, to, resolution: q.resolution });
        return { resolution, from: q.from, to, series };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/telemetry/inference',
      summary: 'Inference requests, failures and latency per model version and execution provider over time',
      tags: ['telemetry'],
      access: 'viewer',
      query: telemetryInferenceQuerySchema,
      response: telemetryInferenceResponseSchema,
      async handler({ query: q }) {
        const to = q.to ?? now();
        const deviceIds = await resolveSelection(q, deps.resolver);
        const { resolution, points } = await deps.telemetry.inference({ deviceIds, model: q.model, version: q.version, from: q.from, to, resolution: q.resolution, perDevice: q.perDevice });
        return { resolution, from: q.from, to, points };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/telemetry/cohort-health',
      summary: 'Failure rate, p95 latency and availability of one model version on a set of devices, with the sample counts',
      tags: ['telemetry'],
      access: 'viewer',
      query: cohortHealthQuerySchema,
      response: cohortHealthResponseSchema,
      async handler({ query: q }) {
        const deviceIds = (await resolveSelection(q, deps.resolver)) ?? (await everyDevice());
        return await deps.telemetry.cohortHealth({ model: q.model, version: q.version, deviceIds, from: q.from, to: q.to ?? now() });
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/telemetry/devices',
      summary: 'Per device: first/last telemetry, batches stored and the outbox drops it reported',
      tags: ['telemetry'],
      access: 'viewer',
      response: telemetryDevicesResponseSchema,
      async handler() {
        return { devices: await deps.telemetry.devices() };
      },
    }),
  ];
}
