import type { ApiClient } from './client.js';

/** One server-sent event. */
export interface StreamEvent {
  event: string;
  data: string;
  id?: string;
}

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
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let sep: number;
      while ((sep = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, sep);
        buffer = buffer.slice(sep).replace(/^\r?\n\r?\n/, '');
        const event = parseBlock(block);
        if (event?.id) lastId = event.id;
        if (event) options.onEvent(event);
      }
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

/** Parses one SSE block (lines up to a blank line); comments (`:` keep-alives) yield null. */
export function parseBlock(block: string): StreamEvent | null {
  let event = 'message';
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (name === 'event') event = value;
    else if (name === 'data') data.push(value);
    else if (name === 'id') id = value;
  }
  if (data.length === 0) return null;
  return { event, data: data.join('\n'), ...(id ? { id } : {}) };
}
