import type { Session } from './session.js';

/** A failed API call, with the stable code from the server's `{error, code}` body (docs/errors.md). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiClient {
  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  del<T>(path: string): Promise<T>;
  /** The raw fetch with auth attached, for streams. */
  fetchRaw(path: string, init?: RequestInit): Promise<Response>;
}

export interface ApiClientOptions {
  session: Session;
  /** Called on 401 so the shell can send the operator back to the sign-in page. */
  onUnauthorized: () => void;
  base?: string;
  fetchImpl?: typeof fetch;
  /** Per-request deadline; a dashboard left open must never hang on a dead connection. @default 15000 */
  timeoutMs?: number;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const base = options.base ?? '/api/v1';
  const doFetch = options.fetchImpl ?? window.fetch.bind(window);
  const timeoutMs = options.timeoutMs ?? 15_000;

  function authHeaders(): Record<string, string> {
    const token = options.session.token();
    return token ? { authorization: `Bearer ${token}` } : {};
  }

  async function request<T>(method: string, path: string, body?: unknown, query?: Record<string, string | number | undefined>): Promise<T> {
    const url = new URL(base + path, window.location.origin);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json', ...authHeaders() };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await doFetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
    } catch (cause) {
      throw new ApiError(0, 'SERVER_UNREACHABLE', `control plane unreachable: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
    const text = await response.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!response.ok) {
      const err = parsed as { error?: string; message?: string; code?: string } | undefined;
      if (response.status === 401) options.onUnauthorized();
      throw new ApiError(response.status, err?.code ?? 'HTTP_' + response.status, err?.error ?? err?.message ?? response.statusText);
    }
    return parsed as T;
  }

  return {
    get: (path, query) => request('GET', path, undefined, query),
    post: (path, body) => request('POST', path, body ?? {}),
    del: (path) => request('DELETE', path),
    fetchRaw: (path, init = {}) => doFetch(new URL(base + path, window.location.origin), { ...init, headers: { ...authHeaders(), ...(init.headers as Record<string, string> | undefined) } }),
  };
}
