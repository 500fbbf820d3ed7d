import type { InferenceWindow, TelemetryBatch } from '@edgefleet/shared';
import type { MetricsSource } from './metrics-source.js';
import type { Clock, OutboxSender } from '../mqtt/index.js';
import type { Scheduler, ScheduledJob } from './scheduler.js';
import type { SelfMetrics } from './self-metrics.js';
import type { TelemetryOutbox } from './telemetry-outbox.js';

/**
 * One collection cycle on a schedule: read the machine, take the inference windows, write one batch
 * to the durable outbox, then try to send. Collection never waits for the network, so an agent
 * offline for a day still records every cycle (up to the outbox cap).
 */
export interface TelemetryCollector {
  start(): void;
  /** One cycle now (the schedule calls this); resolves when the batch is durable, not when it is sent. */
  collect(): Promise<TelemetryBatch>;
  /** Stops the schedule and waits for a running cycle and flush (the outbox keeps anything unsent). */
  stop(): Promise<void>;
}

export interface TelemetryCollectorOptions {
  /** node-cron expression (agent config `telemetry.schedule`). */
  schedule: string;
  scheduler: Scheduler;
  metrics: MetricsSource;
  /** The inference runtime port's takeWindows(); absent before the runtime starts. */
  inference?: { takeWindows(): InferenceWindow[] };
  self?: SelfMetrics;
  outbox: TelemetryOutbox;
  /** Flushed after each cycle; absent = store only (a caller flushes). */
  sender?: Pick<OutboxSender, 'flush'>;
  clock?: Clock;
  onError?: (err: unknown, during: 'collect' | 'flush') => void;
}

export function createTelemetryCollector(options: TelemetryCollectorOptions): TelemetryCollector {
  const clock = options.clock ?? { now: () => Date.now() };
  let job: ScheduledJob | undefined;
  let inFlight: Promise<unknown> = Promise.resolve();

  async function collect(): Promise<TelemetryBatch> {
    const t = clock.now();
    const machine = await options.metrics.read();
    const self = options.self?.read();
    const inference = options.inference?.takeWindows() ?? [];
    const batch = options.outbox.enqueue({ samples: [{ t, ...machine, ...self }], inference }, new Date(t));
    if (options.sender) {
      const flushing = options.sender.flush().catch((err: unknown) => options.onError?.(err, 'flush'));
      inFlight = Promise.all([inFlight, flushing]);
    }
    return batch;
  }

  async function tick(): Promise<void> {
    const cycle = collect().catch((err: unknown) => options.onError?.(err, 'collect'));
    inFlight = Promise.all([inFlight, cycle]);
    await cycle;
  }

  return {
    start() {
      if (job) return;
      options.self?.start();
      job = options.scheduler.schedule(options.schedule, tick);
    },
    collect,
    async stop() {
      const stopping = job?.stop();
      job = undefined;
      await stopping;
      await inFlight;
      options.self?.stop();
    },
  };
}
