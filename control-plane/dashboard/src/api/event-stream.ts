import type { ApiClient } from './client.js';
import { createSseParser, type StreamEvent } from '../lib/sse-parse.js';

export type { StreamEvent };

export interface EventStreamHandle {
  close(): void;
}

export interface EventStreamOptions {
  api: ApiClient;
  path: string;
  onEvent: (event: StreamEvent) => void;
  /** Connection state, for the shell's "live" indicator. */
  onState?: (state: 'connecting' | 'open' | 'closed') => void;
  /** Reconnect backoff bounds. @default 1000 / 30000 */
  minRetryMs?: number;
  maxRetryMs?: number;
  /** Reconnect when nothing (not even a keep-alive comment) arrives for this long: a half-open TCP connection never errors by itself. @default 90000 */
  idleTimeoutMs?: number;
}

/**
 * SSE over fetch rather than EventSource: EventSource cannot send an Authorization header, and
 * putting the token in the URL would leak it into logs. Reconnects with capped, jittered
 * exponential backoff and resumes with Last-Event-ID, because the page stays open all day
 * across server restarts and network blips.
 */
export function openEventStream(options: EventStreamOptions): EventStreamHandle {
  const minRetry = options.minRetryMs ?? 1000;
  const maxRetry = options.maxRetryMs ?? 30_000;
  let closed = false;
  let lastId: string | undefined;
  let attempt = 0;
  let controller: AbortController | undefined;
  let timer: number | undefined;

  async function connect(): Promise<void> {
    controller = new AbortController();
    options.onState?.('connecting');
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (lastId) headers['last-event-id'] = lastId;
    const response = await options.api.fetchRaw(options.path, { headers, signal: controller.signal });
    if (!response.ok || !response.body) throw new Error(`event stream ${options.path} answered ${response.status}`);
    attempt = 0;
    options.onState?.('open');
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = createSseParser((event) => {
      if (event.id) lastId = event.id;
      options.onEvent(event);
    });
    const idleMs = options.idleTimeoutMs ?? 90_000;
    let idle = window.setTimeout(() => controller?.abort(), idleMs);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        window.clearTimeout(idle);
        idle = window.setTimeout(() => controller?.abort(), idleMs);
        parser.push(value);
      }
    } finally {
      window.clearTimeout(idle);
    }
  }

  function schedule(): void {
    if (closed) return;
    options.onState?.('closed');
    const delay = Math.min(maxRetry, minRetry * 2 ** attempt) * (0.5 + Math.random() / 2);
    attempt += 1;
    timer = window.setTimeout(run, delay);
  }

  function run(): void {
    connect().then(schedule, schedule);
  }

  run();
  return {
    close() {
      closed = true;
      if (timer !== undefined) window.clearTimeout(timer);
      controller?.abort();
      options.onState?.('closed');
    },
  };
}
