/**
 * The slice of the control plane's REST API (/api/v1) the demo drives, with every reply parsed by
 * the shared zod schemas: the demo uses only public surfaces, as an operator's script would.
 */
import {
  type CreateRolloutRequest,
  deviceDetailSchema,
  deviceListSchema,
  type DeviceDetail,
  type Device,
  modelVersionRecordSchema,
  type ModelVersionRecord,
  provisionedDevicesSchema,
  type ProvisionedDevice,
  rolloutViewSchema,
  type RolloutView,
} from '@edgefleet/shared';
import type { z } from 'zod';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiClient {
  health(): Promise<boolean>;
  provisionDevices(ids: string[], tags?: Record<string, string>): Promise<ProvisionedDevice[]>;
  listDevices(): Promise<Device[]>;
  device(id: string): Promise<DeviceDetail>;
  pushModel(name: string, version: string, bytes: Uint8Array, notes: string): Promise<ModelVersionRecord>;
  createRollout(request: CreateRolloutRequest): Promise<RolloutView>;
  /** With `withDevices`, the view lists each device's state and error (heavier: used once at the end). */
  rollout(id: string, withDevices?: boolean): Promise<RolloutView>;
}

export function createApiClient(options: { baseUrl: string; token: string; timeoutMs?: number }): ApiClient {
  const { baseUrl, token, timeoutMs = 15_000 } = options;

  async function call<S extends z.ZodType>(schema: S, method: string, path: string, body?: { json: unknown } | { bytes: Uint8Array }): Promise<z.output<S>> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    let payload: string | Uint8Array | undefined;
    if (body && 'json' in body) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    } else if (body) {
      headers['content-type'] = 'application/octet-stream';
      payload = body.bytes;
    }
    const response = await fetch(`${baseUrl}/api/v1${path}`, { method, headers, body: payload, signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    if (!response.ok) {
      let message = text;
      try {
        const parsed = JSON.parse(text) as { error?: unknown; message?: unknown; code?: unknown };
        message = [parsed.code, parsed.message ?? parsed.error].filter((p) => typeof p === 'string').join(': ') || text;
      } catch {
        // not JSON: keep the raw text
      }
      throw new ApiError(`${method} ${path} → HTTP ${response.status}: ${message}`, response.status);
    }
    const result = schema.safeParse(text ? JSON.parse(text) : undefined);
    if (!result.success) throw new ApiError(`${method} ${path}: unexpected reply: ${result.error.message}`, response.status);
    return result.data;
  }

  return {
    async health() {
      try {
        const response = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
        return response.ok;
      } catch {
        return false;
      }
    },
    async provisionDevices(ids, tags = {}) {
      const reply = await call(provisionedDevicesSchema, 'POST', '/devices/bulk', { json: { devices: ids.map((id) => ({ id, tags })) } });
      return reply.devices;
    },
    async listDevices() {
      return (await call(deviceListSchema, 'GET', '/devices')).devices;
    },
    async device(id) {
      return call(deviceDetailSchema, 'GET', `/devices/${encodeURIComponent(id)}`);
    },
    async pushModel(name, version, bytes, notes) {
      const query = new URLSearchParams({ notes, source: 'edgefleet demo (test/demo)' });
      return call(modelVersionRecordSchema, 'POST', `/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}?${query.toString()}`, { bytes });
    },
    async createRollout(request) {
      return call(rolloutViewSchema, 'POST', '/rollouts', { json: request });
    },
    async rollout(id, withDevices = false) {
      return call(rolloutViewSchema, 'GET', `/rollouts/${encodeURIComponent(id)}${withDevices ? '?devices=true' : ''}`);
    },
  };
}
