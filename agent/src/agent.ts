import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { EdgefleetError, type AgentConfig, type CommandResult, type HardwareProfile, type ReportedState } from '@edgefleet/shared';
import { createCommandHandler, encodeCommandResult, type CommandHandler } from './commands/index.js';
import { createHttpFetcher, createMqttChunkFetcher, type MqttChunkFetcher } from './delivery/index.js';
import { createModelStats, kserveInfer, type ModelStats } from './api/index.js';
import { planExecutionProviders } from './inference/index.js';
import type { InferenceRuntime } from './inference/runtime-port.js';
import { createLifecycle, withDeadline, type Lifecycle } from './lifecycle/index.js';
import type { AgentLogger } from './log/index.js';
import {
  createInboundDispatcher,
  createMqttSession,
  createOutboxSender,
  createSessionTransport,
  type InboundDispatcher,
  type MqttSession,
  type OutboxSender,
} from './mqtt/index.js';
import {
  DEPLOYMENT_EVENT_KIND,
  createDeploymentJournal,
  createInferenceWindowHub,
  createReconciler,
  createStateReporter,
  type InferenceWindowHub,
  type Reconciler,
  type StateReporter,
} from './reconcile/index.js';
import { createModelRepository, type ModelRepository } from './repository/index.js';
import { createSqliteOutbox, createStateStore, openDatabase, type Outbox, type StateStore } from './store/index.js';
import { TELEMETRY_KIND, createAgentTelemetry, type AgentTelemetry } from './telemetry/index.js';

export const AGENT_VERSION = '0.1.0';

/** True when every model with an active pointer has that version loaded in the runtime. */
function servingEveryActive(store: StateStore, runtime: InferenceRuntime): boolean {
  for (const [model, p] of store.allPointers()) {
    if (p.active && !runtime.status(model).some((s) => s.version === p.active && s.state === 'AVAILABLE')) return false;
  }
  return true;
}

export interface CreateAgentOptions {
  config: Readonly<AgentConfig>;
  log: AgentLogger;
  /** The inference runtime, or a factory called during start (after the database is open). */
  runtime: InferenceRuntime | (() => Promise<InferenceRuntime>);
  hardware?: HardwareProfile;
  /** Optional extra part started after MQTT and stopped first (the local API server). */
  api?: (agent: Agent) => Promise<AgentApi>;
}

/** The local API as the agent sees it: readiness follows "every active model is loaded". */
export interface AgentApi {
  close(deadlineMs: number): Promise<void>;
  setReady?(ready: boolean): void;
}

/** The running parts, for the API server, telemetry and tests. */
export interface AgentParts {
  db: Database.Database;
  store: StateStore;
  outbox: Outbox;
  repository: ModelRepository;
  runtime: InferenceRuntime;
  /** Triton statistics of every protocol: the local API serves them (pass to createApiServer), the MQTT `infer` command counts into them. */
  stats: ModelStats;
  session: MqttSession;
  /** The one sender of the outbox: deployment events, then telemetry. */
  sender: OutboxSender;
  inbound: InboundDispatcher;
  reconciler: Reconciler;
  fetcher: MqttChunkFetcher;
  windows: InferenceWindowHub;
  commands: CommandHandler;
  reporter: StateReporter;
  telemetry: AgentTelemetry;
}

export interface Agent {
  readonly lifecycle: Lifecycle;
  /** Available after start() resolved. */
  readonly parts: AgentParts;
  start(): Promise<void>;
  /** Stop intake, drain within `config.drainDeadlineMs`, release everything; never throws. */
  stop(): Promise<{ drained: boolean }>;
  reportedState(): Promise<ReportedState>;
}

/** One part's shutdown, registered as the part is built, run in reverse. */
interface Closer {
  name: string;
  /** Resolves false when the part could not drain cleanly. */
  close(deadlineMs: number): Promise<boolean | void> | boolean | void;
  /** Cap on this part's share of the drain deadline. */
  capMs?: number;
  /** Whether a miss or failure here makes stop() report `drained: false`. */
  counts: boolean;
}

/**
 * Wires the agent's parts in dependency order — store, repository, runtime, MQTT session and the
 * outbox sender, telemetry, reconciler (serves the active models even offline), inbound routes —
 * and registers each one's shutdown as it is built, so a start that fails at any point releases
 * exactly what it opened (the database included) and stop() runs the same list in reverse.
 *
 * @example
 *   const agent = createAgent({ config, log: createLogger({ level: 'info' }), runtime: () => createInferenceRuntime({ hardware }) });
 *   await agent.start();
 */
export function createAgent(options: CreateAgentOptions): Agent {
  const { config, log } = options;
  const logger = log.logger.child({ deviceId: config.deviceId });
  const lifecycle = createLifecycle();
  const closers: Closer[] = [];
  let parts: AgentParts | undefined;
  let api: AgentApi | undefined;
  let intake = true;
  let stopping: Promise<{ drained: boolean }> | undefined;

  async function build(): Promise<AgentParts> {
    const db = openDatabase(join(config.dataDir, 'state.db'));
    closers.push({
      name: 'database',
      counts: false,
      close: () => {
        db.close();
      },
    });
    const store = createStateStore(db);
    const outbox = createSqliteOutbox(db);
    const repository = createModelRepository({ dataDir: config.dataDir, store });
    await repository.init();
    await repository.cleanStaging();
    const runtime = typeof options.runtime === 'function' ? await options.runtime() : options.runtime;
    closers.push({ name: 'inference runtime', counts: true, close: async (ms) => runtime.close(ms) });
    const stats = createModelStats();

    const session = createMqttSession({ config, logger, agentVersion: AGENT_VERSION });
    closers.push({ name: 'mqtt session', counts: false, capMs: 2500, close: (ms) => session.close(Math.min(2000, ms)) });
    const sender = createOutboxSender({
      outbox,
      transport: createSessionTransport(session),
      // Deployment events first, unbudgeted; telemetry after them, under the metered-link budget.
      streams: [
        { kind: DEPLOYMENT_EVENT_KIND, window: config.outbox.window },
        { kind: TELEMETRY_KIND, window: Math.min(config.outbox.window, config.telemetry.flushBatchLimit), budgetBytesPerHour: config.telemetry.budgetBytesPerHour },
      ],
      acks: { timeoutMs: config.outbox.ackTimeoutMs },
      logger,
    });
    // Unacknowledged entries from the old connection (or from before a restart) go again on every connect.
    session.onConnect(() => void sender.reconnected());
    closers.push({
      name: 'outbox',
      counts: false,
      capMs: 2000,
      // Events in flight get their acks while the link is up; what is left stays durable for the next start.
      close: async (ms) => {
        const done = session.connected ? await withDeadline(sender.drained(DEPLOYMENT_EVENT_KIND), ms) : true;
        sender.stop();
        return done;
      },
    });
    const journal = createDeploymentJournal({ deviceId: config.deviceId, outbox, onEnqueued: () => void sender.flush(), logger });

    const windows = createInferenceWindowHub(runtime);
    closers.push({ name: 'inference windows', counts: false, close: () => windows.stop() });
    const telemetry = createAgentTelemetry({ config, db, store, outbox, sender, windows, logger, isTegra: options.hardware?.jetson !== undefined });
    closers.push({ name: 'telemetry', counts: false, capMs: 2000, close: () => telemetry.stop() });

    const fetcher = createMqttChunkFetcher({ session, store, config, logger });
    const reconciler = createReconciler({
      config,
      store,
      repository,
      runtime,
      mqttFetcher: fetcher,
      httpFetcher: createHttpFetcher({ store, logger, config }),
      journal,
      windows,
      logger,
      // Only called once the loop runs (reconciler.start() below), when the reporter exists.
      report: () => reconciled(),
    });
    const reporter = createStateReporter({
      deviceId: config.deviceId,
      agentVersion: AGENT_VERSION,
      dataDir: config.dataDir,
      session,
      reconciler: () => reconciler,
      hardware: () => options.hardware,
      // What this device will try, in order (the hardware policy minus device-wide forbids); the EP each model really uses is per model.
      executionProviders: () => (options.hardware ? planExecutionProviders(options.hardware, {}, config.inference.forbidEps).candidates : []),
      logger,
    });
    // Stop order: the reconciler finishes (or aborts) its step, and reports that, before the reporter stops.
    closers.push({ name: 'state reporter', counts: false, close: () => reporter.stop() });
    closers.push({ name: 'reconciler', counts: true, close: (ms) => reconciler.stop(ms) });
    function reconciled(): void {
      reporter.request();
      api?.setReady?.(lifecycle.state === 'running' && servingEveryActive(store, runtime));
    }

    const commands = createCommandHandler({
      deviceId: config.deviceId,
      logger,
      target: {
        getState: () => reporter.snapshot(),
        rollback: (model, reason) => reconciler.rollback(model, reason),
        reload: async () => {
          reconciler.trigger();
          return { triggered: true };
        },
        diagnostics: (lines) => ({ logs: log.recent(lines), events: journal.recent(), lifecycle: lifecycle.state, outboxSize: outbox.size(), delivery: fetcher.stats }),
        setLogLevel: (level) => log.setLevel(level),
        // Same decoding, datatype conversion and validation as the local API's KServe v2 route.
        infer: async (model, request, version) => (await kserveInfer({ runtime, stats, model, body: request, ...(version ? { version } : {}) })).header,
      },
    });
    const answer = (result: CommandResult): void => {
      session.publish('command-results', encodeCommandResult(result)).catch(() => logger.debug('command result not delivered'));
    };
    const inbound = createInboundDispatcher({
      session,
      deviceId: config.deviceId,
      logger,
      routes: {
        // Once draining, no new work: acks and chunk replies still flow so in-flight work can finish.
        desired: (desired) => {
          if (intake) reconciler.setDesired(desired);
        },
        command: (cmd) => {
          if (intake) void commands.handle(cmd).then(answer, (err: unknown) => logger.warn({ err, id: cmd.id }, 'command result could not be built'));
        },
        invalidCommand: (rejected) => {
          if (intake) answer(commands.reject(rejected));
        },
        chunk: (chunk) => fetcher.handleChunk(chunk),
        invalidChunk: () => fetcher.countUndecodable(),
        ack: (ack) => sender.handleAck(ack),
      },
    });
    return { db, store, outbox, repository, runtime, stats, session, sender, inbound, reconciler, fetcher, windows, commands, reporter, telemetry };
  }

  async function shutdown(): Promise<{ drained: boolean }> {
    intake = false;
    api?.setReady?.(false);
    const deadline = Date.now() + config.drainDeadlineMs;
    const left = (): number => Math.max(100, deadline - Date.now());
    let drained = true;
    // Reverse build order: API intake, reconcile work, telemetry, in-flight events, MQTT, inference, database last.
    for (const closer of closers.splice(0).reverse()) {
      const ms = Math.min(closer.capMs ?? Infinity, left());
      let ok: boolean;
      try {
        const outcome: { finished: boolean | void } = { finished: true };
        const inTime = await withDeadline(
          (async () => {
            outcome.finished = await closer.close(ms);
          })(),
          ms,
        );
        ok = inTime && outcome.finished !== false;
        if (!inTime) logger.warn({ part: closer.name, deadlineMs: ms }, 'part did not stop within its drain deadline');
      } catch (err) {
        ok = false;
        logger.warn({ err, part: closer.name }, 'stopping a part failed');
      }
      if (closer.counts) drained = drained && ok;
    }
    return { drained };
  }

  const agent: Agent = {
    lifecycle,
    get parts() {
      if (!parts) throw new EdgefleetError('LIFECYCLE_INVALID_STATE', 'the agent has not started');
      return parts;
    },
    async start() {
      lifecycle.to('starting');
      try {
        const p = await build();
        parts = p;
        p.windows.start(1000);
        p.reconciler.start();
        p.session.start();
        p.telemetry.start();
        if (options.api) {
          const started = await options.api(agent);
          api = started;
          closers.push({ name: 'local API', counts: true, close: (ms) => started.close(ms) });
        }
        if (lifecycle.state !== 'starting') throw new EdgefleetError('LIFECYCLE_INVALID_STATE', `stopped while starting (${lifecycle.state})`);
        lifecycle.to('running');
        api?.setReady?.(servingEveryActive(p.store, p.runtime));
        logger.info({ dataDir: config.dataDir, broker: config.broker.url }, 'agent running');
      } catch (err) {
        logger.fatal({ err }, 'agent failed to start');
        if (lifecycle.state === 'starting') lifecycle.to('failed');
        await agent.stop();
        // A stop() that ran while start was still building missed the parts built after it began.
        if (closers.length > 0) await shutdown();
        throw err;
      }
    },
    stop() {
      if (stopping) return stopping;
      if (lifecycle.state === 'stopped') return Promise.resolve({ drained: true });
      if (lifecycle.state === 'created') {
        lifecycle.to('stopped');
        return Promise.resolve({ drained: true });
      }
      lifecycle.to('draining');
      stopping = (async () => {
        let result = { drained: false };
        try {
          result = await shutdown();
        } catch (err) {
          // shutdown() catches per part; this is the promise stop() makes: it never rejects.
          logger.error({ err }, 'agent shutdown failed');
        }
        lifecycle.to('stopped');
        logger.info(result, 'agent stopped');
        return result;
      })();
      return stopping;
    },
    reportedState: () => agent.parts.reporter.snapshot(),
  };
  return agent;
}
