import type { CommandResult, DeviceDetail, Device, PendingEnrolment, ModelSummary, ModelVersionRecord, RolloutView, DryRunPlan, CreateRolloutRequest, RolloutEvent } from '@edgefleet/shared';
import { ApiError, type ApiClient } from './client.js';

/**
 * Typed calls the dashboard makes, one place to adjust when a route changes. Shapes are the
 * shared zod types (z.infer) the server parses and serialises with; the browser bundle imports
 * them as types only, because the shared package's runtime also carries Node-only code.
 */
export type RolloutAction = 'pause' | 'resume' | 'approve' | 'retry' | 'abort' | 'rollback';

export interface FleetApi {
  devices(query?: { status?: string; model?: string; tag?: string }): Promise<Device[]>;
  device(id: string): Promise<DeviceDetail>;
  models(): Promise<ModelSummary[]>;
  modelVersions(name: string): Promise<ModelVersionRecord[]>;
  rollouts(): Promise<RolloutView[]>;
  rollout(id: string): Promise<RolloutView>;
  /** A rollout's recorded events (every device and wave move), oldest first. */
  rolloutEvents(id: string): Promise<RolloutEvent[]>;
  dryRun(request: CreateRolloutRequest): Promise<DryRunPlan>;
  createRollout(request: CreateRolloutRequest): Promise<RolloutView>;
  rolloutAction(id: string, action: RolloutAction, body?: Record<string, unknown>): Promise<RolloutView>;
  /** Enrolments waiting for approval (provisioning keys with --require-approval). */
  pendingEnrolments(): Promise<PendingEnrolment[]>;
  approveEnrolment(deviceId: string): Promise<Device>;
  rejectEnrolment(deviceId: string): Promise<PendingEnrolment>;
  /** Sends a device command and waits for the device's answer; rejects with the device's error when it says no. */
  command(deviceId: string, command: Record<string, unknown>): Promise<CommandResult>;
}

export function fleetApi(api: ApiClient): FleetApi {
  return {
    devices: async (query: { status?: string; model?: string; tag?: string } = {}) => (await api.get<{ devices: Device[] }>('/devices', query)).devices,
    device: (id: string) => api.get<DeviceDetail>(`/devices/${encodeURIComponent(id)}`),
    models: async () => (await api.get<{ models: ModelSummary[] }>('/models')).models,
    modelVersions: async (name: string) => (await api.get<{ name: string; versions: ModelVersionRecord[] }>(`/models/${encodeURIComponent(name)}`)).versions,
    rollouts: async () => listOf<RolloutView>(await api.get<unknown>('/rollouts'), 'rollouts'),
    rollout: (id: string) => api.get<RolloutView>(`/rollouts/${encodeURIComponent(id)}`),
    rolloutEvents: async (id) => (await api.get<{ events: RolloutEvent[] }>(`/rollouts/${encodeURIComponent(id)}/events`, { limit: 5000 })).events,
    dryRun: (request: CreateRolloutRequest) => api.post<DryRunPlan>('/rollouts', { ...request, dryRun: true }),
    createRollout: (request: CreateRolloutRequest) => api.post<RolloutView>('/rollouts', { ...request, dryRun: false }),
    rolloutAction: (id, action, body = {}) =>
      api.post<RolloutView>(`/rollouts/${encodeURIComponent(id)}/${action}`, body),
    pendingEnrolments: async () => (await api.get<{ enrolments: PendingEnrolment[] }>('/enrolments')).enrolments,
    approveEnrolment: (deviceId) => api.post<Device>(`/devices/${encodeURIComponent(deviceId)}/approve`),
    rejectEnrolment: (deviceId) => api.post<PendingEnrolment>(`/devices/${encodeURIComponent(deviceId)}/reject`),
    command: async (deviceId, command) => {
      const result = await api.post<CommandResult>(`/devices/${encodeURIComponent(deviceId)}/commands`, { command });
      if (!result.ok) throw new ApiError(200, result.error?.code ?? 'COMMAND_FAILED', result.error?.message ?? `${String(command.type)} failed on ${deviceId}`);
      return result;
    },
  };
}

/** Accepts `{ key: [...] }` or a bare array, so a list route's envelope is not a breaking change. */
function listOf<T>(body: unknown, key: string): T[] {
  if (Array.isArray(body)) return body as T[];
  const inner = (body as Record<string, unknown> | null)?.[key];
  return Array.isArray(inner) ? (inner as T[]) : [];
}

/** Runs `fn` over `items` with at most `limit` in flight (the overview fetches device details). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
