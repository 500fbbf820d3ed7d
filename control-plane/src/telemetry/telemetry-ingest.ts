import type { TelemetryBatch } from '@edgefleet/shared';
import type { SqlDatabase } from '../store/sql-database.js';
import { writeBatches, type ReceivedBatch, type WriteResult } from './telemetry-writer.js';

/**
 * Buffers incoming batches and writes them in one transaction per flush (every `flushIntervalMs`
 * or at `maxBatches`, whichever comes first): one commit per message would cap ingest at the
 * disk's fsync rate. Writes are serialised; `ingest()` resolves once its batch is committed.
 */
export interface TelemetryIngest {
  ingest(batch: TelemetryBatch, receivedAt: number): Promise<void>;
  /** Writes whatever is buffered now. */
  flush(): Promise<void>;
  buffered(): number;
  /** Flushes and refuses further batches. */
  close(): Promise<void>;
}

export interface TelemetryIngestOptions {
  sql: SqlDatabase;
  /** @default 200 */
  flushIntervalMs?: number;
  /** @default 500 */
  maxBatches?: number;
  /** After each committed transaction (metrics). */
  onWritten?: (result: WriteResult, items: readonly ReceivedBatch[], committedAt: number) => void;
  onError?: (err: unknown, items: readonly ReceivedBatch[]) => void;
  now?: () => number;
}

interface Pending extends ReceivedBatch {
  resolve(): void;
  reject(err: unknown): void;
}

export function createTelemetryIngest(options: TelemetryIngestOptions): TelemetryIngest {
  const flushIntervalMs = options.flushIntervalMs ?? 200;
  const maxBatches = options.maxBatches ?? 500;
  const now = options.now ?? (() => Date.now());
  let buffer: Pending[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  let closed = false;

  function flush(): Promise<void> {
    clearTimeout(timer);
    timer = undefined;
    const items = buffer;
    buffer = [];
    if (items.length === 0) return writing;
    writing = writing.then(async () => {
      try {
        const result = await writeBatches(options.sql, items);
        options.onWritten?.(result, items, now());
        for (const i of items) i.resolve();
      } catch {
        // One bad batch must not sink the others in its transaction: retry them one by one.
        for (const item of items) {
          try {
            const result = await writeBatches(options.sql, [item]);
            options.onWritten?.(result, [item], now());
            item.resolve();
          } catch (err) {
            options.onError?.(err, [item]);
            item.reject(err);
          }
        }
      }
    });
    return writing;
  }

  return {
    ingest(batch, receivedAt) {
      if (closed) return Promise.reject(new Error('telemetry ingest is closed'));
      return new Promise<void>((resolve, reject) => {
        buffer.push({ batch, receivedAt, resolve, reject });
        if (buffer.length >= maxBatches) void flush();
        else timer ??= setTimeout(() => void flush(), flushIntervalMs);
      });
    },
    flush,
    buffered: () => buffer.length,
    async close() {
      closed = true;
      await flush();
    },
  };
}
