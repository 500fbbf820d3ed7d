import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import type { z } from 'zod';
import { EdgefleetError, apiErrorSchema, formatIssues, isErrorCode } from '@edgefleet/shared';

export interface ApiClientOptions {
  /** e.g. http://127.0.0.1:8080 */
  server: string;
  token?: string | undefined;
}

export interface UploadOptions {
  query?: Record<string, string | string[] | undefined>;
  size: number;
  onProgress?: (sent: number, total: number) => void;
}

/** The CLI's (and any script's) way to the REST API: typed replies, every failure an EdgefleetError. */
export interface ApiClient {
  readonly server: string;
  get<S extends z.ZodType>(path: string, schema: S, query?: Record<string, string | undefined>): Promise<z.output<S>>;
  send<S extends z.ZodType>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, schema: S | undefined, body?: unknown): Promise<z.output<S>>;
  /** Streams `content` as application/octet-stream with progress callbacks. */
  upload<S extends z.ZodType>(path: string, schema: S, content: Readable, options: UploadOptions): Promise<z.output<S>>;
}

function url(server: string, path: string, query: Record<string, string | string[] | undefined> = {}): URL {
  const u = new URL(`/api/v1${path}`, server.endsWith('/') ? server : `${server}/`);
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    for (const item of Array.isArray(v) ? v : [v]) u.searchParams.append(k, item);
  }
  return u;
}

function replyError(status: number, text: string, what: string): EdgefleetError {
  try {
    const body = apiErrorSchema.parse(JSON.parse(text));
    return new EdgefleetError(isErrorCode(body.code) ? body.code : 'INTERNAL', body.error, { details: { status, ...(body.details ?? {}) } });
  } catch {
    return new EdgefleetError(status === 401 ? 'AUTH_INVALID' : status === 403 ? 'FORBIDDEN' : status === 404 ? 'NOT_FOUND' : 'INTERNAL', `${what}: HTTP ${status} ${text.slice(0, 200)}`);
  }
}

function parseReply<S extends z.ZodType>(schema: S | undefined, text: string, what: string): z.output<S> {
  if (!schema) return undefined as z.output<S>;
  let raw: unknown;
  try {
    raw = text === '' ? null : JSON.parse(text);
  } catch (cause) {
    throw new EdgefleetError('INTERNAL', `${what}: the server did not answer with JSON`, { cause });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new EdgefleetError('INTERNAL', `${what}: unexpected reply: ${formatIssues(parsed.error.issues)}`);
  return parsed.data;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const headers = (): Record<string, string> => (options.token ? { authorization: `Bearer ${options.token}` } : {});
  const unreachable = (cause: unknown): EdgefleetError =>
    new EdgefleetError('SERVER_UNREACHABLE', `cannot reach the edgefleet server at ${options.server} (${(cause as Error).message}); set --server or EDGEFLEET_SERVER`, { cause });

  const call = async (method: string, u: URL, body?: unknown): Promise<{ status: number; text: string }> => {
    let response: Response;
    try {
      response = await fetch(u, {
        method,
        headers: { ...headers(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (cause) {
      throw unreachable(cause);
    }
    return { status: response.status, text: await response.text() };
  };

  return {
    server: options.server,
    async get(path, schema, query) {
      const { status, text } = await call('GET', url(options.server, path, query));
      if (status >= 400) throw replyError(status, text, `GET ${path}`);
      return parseReply(schema, text, `GET ${path}`);
    },
    async send(method, path, schema, body) {
      const { status, text } = await call(method, url(options.server, path), body);
      if (status >= 400) throw replyError(status, text, `${method} ${path}`);
      return parseReply(schema, text, `${method} ${path}`);
    },
    async upload(path, schema, content, upload) {
      const u = url(options.server, path, upload.query);
      const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
      const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = send(u, { method: 'POST', headers: { ...headers(), 'content-type': 'application/octet-stream', 'content-length': upload.size } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        });
        req.on('error', (cause) => reject(unreachable(cause)));
        let sent = 0;
        content.on('data', (chunk: Buffer) => {
          sent += chunk.length;
          upload.onProgress?.(sent, upload.size);
        });
        content.on('error', (cause) => {
          req.destroy();
          reject(new EdgefleetError('BAD_REQUEST', `cannot read the file to upload: ${cause.message}`, { cause }));
        });
        content.pipe(req);
      });
      if (status >= 400) throw replyError(status, text, `POST ${path}`);
      return parseReply(schema, text, `POST ${path}`);
    },
  };
}
