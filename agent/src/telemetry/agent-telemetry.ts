import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { AgentConfig } from '@edgefleet/shared';
import type { Clock, OutboxSender } from '../mqtt/index.js';
import type { InferenceWindowHub } from '../reconcile/index.js';
import type { Outbox } from '../store/index.js';
import { createInferenceAccumulator } from './inference-accumulator.js';
import { createSystemMetricsSource, type MetricsSource } from './metrics-source.js';
import { createCronScheduler, type Scheduler } from './scheduler.js';
import { createSelfMetrics } from './self-metrics.js';
import { createTelemetryCollector, type TelemetryCollector } from './telemetry-collector.js';
import { createTelemetryOutbox, type CounterStore, type TelemetryOutbox } from './telemetry-outbox.js';

/**
 * Agent telemetry wired from the agent's running parts, so createAgent needs two lines:
 *
 * @example
 *   const telemetry = createAgentTelemetry({ config, db, store, outbox, sender, windows, logger });
 *   telemetry.start();                 // after session.start()
 *   await telemetry.stop();            // before session.close() and db.close()
 *
 * Telemetry shares the store's durable outbox (and its seq space) with deployment events; the
 * agent's one sender publishes it as its low-priority stream, under the bandwidth budget. The
 * outbox cap drops telemetry only. A batch leaves the outbox when the control plane acknowledges
 * it, not on the broker's PUBACK.
 */
export interface AgentTelemetry {
  start(): void;
  stop(): Promise<void>;
  readonly collector: TelemetryCollector;
  readonly outbox: TelemetryOutbox;
}

export interface AgentTelemetryDeps {
  config: Pick<AgentConfig, 'deviceId' | 'dataDir' | 'telemetry'>;
  db: Database.Database;
  /** Durable counters (the state store). */
  store: CounterStore;
  outbox: Outbox;
  /** The agent's outbox sender: flushed after each collection cycle. */
  sender: Pick<OutboxSender, 'flush'>;
  /** The one owner of runtime.takeWindows(); telemetry subscribes. */
  windows: Pick<InferenceWindowHub, 'subscribe'>;
  logger: Pick<Logger, 'warn' | 'debug'>;
  /** Jetson: skip nvidia-smi (missing on JetPack 5, all N/A on 6). */
  isTegra?: boolean;
  metrics?: MetricsSource;
  scheduler?: Scheduler;
  clock?: Clock;
}

export function createAgentTelemetry(deps: AgentTelemetryDeps): AgentTelemetry {
  const { config, logger } = deps;
  const inference = createInferenceAccumulator();
  const telemetryOutbox = createTelemetryOutbox({ deviceId: config.deviceId, db: deps.db, outbox: deps.outbox, counters: deps.store, maxBatches: config.telemetry.outboxMaxBatches });
  const collector = createTelemetryCollector({
    schedule: config.telemetry.schedule,
    scheduler: deps.scheduler ?? createCronScheduler(),
    metrics: deps.metrics ?? createSystemMetricsSource({ diskPath: config.dataDir, nvidiaSmi: !deps.isTegra }),
    inference,
    self: createSelfMetrics(),
    outbox: telemetryOutbox,
    sender: deps.sender,
    clock: deps.clock,
    onError: (err, during) => logger.warn({ err, during }, 'telemetry cycle failed'),
  });
  let unsubscribe: (() => void) | undefined;
  return {
    start() {
      unsubscribe ??= deps.windows.subscribe((w) => inference.add(w));
      collector.start();
    },
    async stop() {
      unsubscribe?.();
      await collector.stop();
    },
    collector,
    outbox: telemetryOutbox,
  };
}
