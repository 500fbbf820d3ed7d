import type Database from 'better-sqlite3';
import { encodePayload, telemetryBatchSchema, type DeviceSample, type InferenceWindow, type TelemetryBatch } from '@edgefleet/shared';
import type { Outbox } from '../store/index.js';

/**
 * Telemetry on the agent's one durable outbox (agent/src/store/outbox.ts), which deployment events
 * share. Telemetry is the low-priority kind: when its backlog reaches the cap, the oldest telemetry
 * batches are deleted and counted — exactly, in the same transaction — while other kinds (deployment
 * events) are never dropped and never count against the cap.
 */
export const TELEMETRY_KIND = 'telemetry';

const DROPPED_BATCHES_KEY = 'telemetry.dropped.batches';
const DROPPED_SAMPLES_KEY = 'telemetry.dropped.samples';

/** Durable numbers (the state store's kv table satisfies this). */
export interface CounterStore {
  getNumber(key: string): number | undefined;
  setNumber(key: string, value: number): void;
}

export interface DropCounts {
  batches: number;
  samples: number;
}

export interface TelemetryOutbox {
  /**
   * Writes one batch (seq taken from the outbox, monotonic across restarts) and commits before
   * returning. At the cap, first drops the oldest telemetry batches.
   */
  enqueue(content: { samples: DeviceSample[]; inference: InferenceWindow[] }, sentAt: Date): TelemetryBatch;
  /** Cumulative drops since the data dir was created. */
  dropped(): DropCounts;
  /** Telemetry batches not yet acknowledged by the control plane (sent or not). */
  pending(): number;
}

export interface TelemetryOutboxOptions {
  deviceId: string;
  db: Database.Database;
  outbox: Outbox;
  counters: CounterStore;
  /** Cap in telemetry batches. */
  maxBatches: number;
}

function sampleCount(payload: Buffer): number {
  try {
    const parsed = JSON.parse(payload.toString('utf8')) as { samples?: unknown };
    return Array.isArray(parsed.samples) ? parsed.samples.length : 0;
  } catch {
    return 0;
  }
}

export function createTelemetryOutbox(options: TelemetryOutboxOptions): TelemetryOutbox {
  const { db, outbox, counters, deviceId, maxBatches } = options;
  const dropped = (): DropCounts => ({ batches: counters.getNumber(DROPPED_BATCHES_KEY) ?? 0, samples: counters.getNumber(DROPPED_SAMPLES_KEY) ?? 0 });

  const enqueueTx = db.transaction((content: { samples: DeviceSample[]; inference: InferenceWindow[] }, sentAt: Date): TelemetryBatch => {
    const excess = outbox.size(TELEMETRY_KIND) - maxBatches + 1;
    if (excess > 0) {
      const victims = outbox.peek(excess, TELEMETRY_KIND);
      const counts = dropped();
      for (const v of victims) {
        counts.samples += sampleCount(v.payload);
        counts.batches += 1;
        outbox.ack(v.seq);
      }
      counters.setNumber(DROPPED_BATCHES_KEY, counts.batches);
      counters.setNumber(DROPPED_SAMPLES_KEY, counts.samples);
    }
    let batch: TelemetryBatch | undefined;
    // The entry's topic is the channel name, as for every outbox entry (the transport builds the device topic).
    outbox.enqueue(TELEMETRY_KIND, 'telemetry', (seq) => {
      batch = { deviceId, seq, sentAt: sentAt.toISOString(), samples: content.samples, inference: content.inference, dropped: dropped() };
      return encodePayload(telemetryBatchSchema, batch);
    });
    return batch!;
  });

  return {
    enqueue: (content, sentAt) => enqueueTx(content, sentAt),
    dropped,
    pending: () => outbox.size(TELEMETRY_KIND),
  };
}
