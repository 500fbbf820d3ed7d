import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { AgentConfig } from '@edgefleet/shared';
import type { AckSource, MqttSession } from '../mqtt/index.js';
import type { InferenceWindowHub } from '../reconcile/index.js';
import type { Outbox } from '../store/index.js';
import { createInferenceAccumulator } from './inference-accumulator.js';
import { createSystemMetricsSource, type MetricsSource } from './metrics-source.js';
import { createSessionTransport } from './mqtt-publisher.js';
import { createOutboxSender, type Clock, type OutboxSender } from './outbox-sender.js';
import { createCronScheduler, type Scheduler } from './scheduler.js';
import { createSelfMetrics } from './self-metrics.js';
import { createTelemetryCollector, type TelemetryCollector } from './telemetry-collector.js';
import { createTelemetryOutbox, TELEMETRY_KIND, type CounterStore, type TelemetryOutbox } from './telemetry-outbox.js';

/**
 * Agent telemetry wired from the agent's running parts, so createAgent needs two lines:
 *
 * @example
 *   const telemetry = createAgentTelemetry({ config, db, store, outbox, acks, session, windows, logger });
 *   telemetry.start();                 // after session.start()
 *   await telemetry.stop();            // before session.close() and db.close()
 *
 * Telemetry shares the store's durable outbox (and its seq space) with deployment events; this
 * sender drains only the telemetry kind, under the bandwidth budget, while the deployment-event
 * publisher keeps sending events unbudgeted. The outbox cap drops telemetry only. A batch leaves the
 * outbox when the control plane acknowledges it (`acks`), not on the broker's PUBACK.
 */
export interface AgentTelemetry {
  start(): void;
  stop(): Promise<void>;
  readonly collector: TelemetryCollector;
  readonly outbox: TelemetryOutbox;
  readonly sender: OutboxSender;
}

export interface AgentTelemetryDeps {
  config: Pick<AgentConfig, 'deviceId' | 'dataDir' | 'telemetry' | 'outbox'>;
  db: Database.Database;
  /** Durable counters (the state store). */
  store: CounterStore;
  outbox: Outbox;
  /** The control plane's end-to-end acks: a batch leaves the outbox only when acknowledged (issue 10). */
  acks: AckSource;
  session: Pick<MqttSession, 'connected' | 'publish' | 'onConnect'>;
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
  const sender = createOutboxSender({
    outbox: deps.outbox,
    transport: createSessionTransport(deps.session),
    kinds: [TELEMETRY_KIND],
    batchLimit: config.telemetry.flushBatchLimit,
    budgetBytesPerHour: config.telemetry.budgetBytesPerHour,
    clock: deps.clock,
    acks: { source: deps.acks, window: config.outbox.window, ackTimeoutMs: config.outbox.ackTimeoutMs },
    onError: (err, entry) => logger.debug({ err, seq: entry.seq }, 'telemetry batch not acknowledged by the broker; kept for the next flush'),
  });
  const collector = createTelemetryCollector({
    schedule: config.telemetry.schedule,
    scheduler: deps.scheduler ?? createCronScheduler(),
    metrics: deps.metrics ?? createSystemMetricsSource({ diskPath: config.dataDir, nvidiaSmi: !deps.isTegra }),
    inference,
    self: createSelfMetrics(),
    outbox: telemetryOutbox,
    sender,
    clock: deps.clock,
    onError: (err, during) => logger.warn({ err, during }, 'telemetry cycle failed'),
  });
  let unsubscribe: (() => void) | undefined;
  let stopped = false;
  return {
    start() {
      unsubscribe ??= deps.windows.subscribe((w) => inference.add(w));
      // A backlog from an outage (or from before a restart) goes out as soon as the link is back,
      // with whatever was published on the old connection and not acknowledged.
      deps.session.onConnect(() => {
        if (!stopped) sender.reconnected().catch((err: unknown) => logger.warn({ err }, 'telemetry flush after reconnect failed'));
      });
      collector.start();
    },
    async stop() {
      stopped = true;
      unsubscribe?.();
      await collector.stop();
    },
    collector,
    outbox: telemetryOutbox,
    sender,
  };
}
