import { join } from 'node:path';
import type Database from 'better-sqlite3';
import {
  EdgefleetError,
  desiredStateSchema,
  parsePayload,
  toEdgefleetError,
  type AgentConfig,
  type HardwareProfile,
  type ReportedState,
} from '@edgefleet/shared';
import { createCommandHandler, encodeCommandResult, type CommandHandler } from './commands/index.js';
import { createHttpFetcher, createMqttChunkFetcher, type MqttChunkFetcher } from './delivery/index.js';
import { kserveInfer } from './api/index.js';
import { planExecutionProviders } from './inference/index.js';
import type { InferenceRuntime } from './inference/runtime-port.js';
import { createLifecycle, withDeadline, type Lifecycle } from './lifecycle/index.js';
import type { AgentLogger } from './log/index.js';
import { createAckReceiver, createMqttSession, createOutboxPublisher, type MqttSession } from './mqtt/index.js';
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
import { createAgentTelemetry, type AgentTelemetry } from './telemetry/index.js';

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
  session: MqttSession;
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

/**
 * Wires the agent's parts in start order — store, repository, runtime, reconciler (serves the
 * active models even offline), MQTT — and stops them in reverse.
 *
 * @example
 *   const agent = createAgent({ config, log: createLogger({ level: 'info' }), runtime: () => createInferenceRuntime({ hardware }) });
 *   await agent.start();
 */
export function createAgent(options: CreateAgentOptions): Agent {
  const { config, log } = options;
  const logger = log.logger.child({ deviceId: config.deviceId });
  const lifecycle = createLifecycle();
  let parts: AgentParts | undefined;
  let api: AgentApi | undefined;
  let intake = true;

  const agent: Agent = {
    lifecycle,
    get parts() {
      if (!parts) throw new EdgefleetError('LIFECYCLE_INVALID_STATE', 'the agent has not started');
      return parts;
    },
    async start() {
      lifecycle.to('starting');
      try {
        const db = openDatabase(join(config.dataDir, 'state.db'));
        const store = createStateStore(db);
        const outbox = createSqliteOutbox(db);
        const repository = createModelRepository({ dataDir: config.dataDir, store });
        await repository.init();
        await repository.cleanStaging();
        const runtime = typeof options.runtime === 'function' ? await options.runtime() : options.runtime;
        const session = createMqttSession({ config, logger, agentVersion: AGENT_VERSION });
        const acks = createAckReceiver({ session, outbox, logger });
        const publisher = createOutboxPublisher({ outbox, session, acks, logger, kind: DEPLOYMENT_EVENT_KIND, window: config.outbox.window, ackTimeoutMs: config.outbox.ackTimeoutMs });
        const journal = createDeploymentJournal({ deviceId: config.deviceId, outbox, onEnqueued: () => publisher.flush(), logger });
        const windows = createInferenceWindowHub(runtime);
        const late: { reconciler?: Reconciler } = {};
        const reporter = createStateReporter({
          deviceId: config.deviceId,
          agentVersion: AGENT_VERSION,
          dataDir: config.dataDir,
          session,
          reconciler: () => late.reconciler,
          hardware: () => options.hardware,
          // What this device will try, in order (the hardware policy minus device-wide forbids); the EP each model really uses is per model.
          executionProviders: () => (options.hardware ? planExecutionProviders(options.hardware, {}, config.inference.forbidEps).candidates : []),
          logger,
        });
        const fetcher = createMqttChunkFetcher({ session, store, config, logger });
        const r = createReconciler({
          config,
          store,
          repository,
          runtime,
          mqttFetcher: fetcher,
          httpFetcher: createHttpFetcher({ store, logger, config }),
          journal,
          windows,
          logger,
          report: () => {
            reporter.request();
            api?.setReady?.(lifecycle.state === 'running' && servingEveryActive(store, runtime));
          },
        });
        late.reconciler = r;
        const commands = createCommandHandler({
          deviceId: config.deviceId,
          logger,
          target: {
            getState: () => reporter.snapshot(),
            rollback: (model, reason) => r.rollback(model, reason),
            reload: async () => {
              r.trigger();
              return { triggered: true };
            },
            diagnostics: (lines) => ({ logs: log.recent(lines), events: journal.recent(), lifecycle: lifecycle.state, outboxSize: outbox.size(), delivery: fetcher.stats }),
            setLogLevel: (level) => log.setLevel(level),
            // Same decoding, datatype conversion and validation as the local API's KServe v2 route.
            infer: async (model, request, version) => (await kserveInfer({ runtime, model, body: request, ...(version ? { version } : {}) })).header,
          },
        });

        session.on('desired', (payload) => {
          if (!intake || payload.length === 0) return;
          try {
            const desired = parsePayload(desiredStateSchema, payload, 'desired state');
            if (desired.deviceId !== config.deviceId) throw new EdgefleetError('PAYLOAD_INVALID', `desired state names device ${desired.deviceId}`);
            r.setDesired(desired);
          } catch (err) {
            logger.warn({ code: toEdgefleetError(err).code, err: toEdgefleetError(err).message.slice(0, 500) }, 'rejected a desired state');
          }
        });
        session.on('commands', (payload) => {
          if (!intake) return;
          void commands.handle(payload).then((result) => {
            if (result) session.publish('command-results', encodeCommandResult(result)).catch(() => logger.debug('command result not delivered'));
          });
        });

        const telemetry = createAgentTelemetry({ config, db, store, outbox, acks, session, windows, logger, isTegra: options.hardware?.jetson !== undefined });
        parts = { db, store, outbox, repository, runtime, session, reconciler: r, fetcher, windows, commands, reporter, telemetry };
        windows.start(1000);
        r.start();
        session.start();
        telemetry.start();
        if (options.api) api = await options.api(agent);
        lifecycle.to('running');
        api?.setReady?.(servingEveryActive(store, runtime));
        logger.info({ dataDir: config.dataDir, broker: config.broker.url }, 'agent running');
      } catch (err) {
        lifecycle.to('failed');
        logger.fatal({ err }, 'agent failed to start');
        await agent.stop();
        throw err;
      }
    },
    async stop() {
      if (lifecycle.state === 'stopped' || lifecycle.state === 'draining') return { drained: true };
      if (lifecycle.state === 'created') {
        lifecycle.to('stopped');
        return { drained: true };
      }
      lifecycle.to('draining');
      intake = false;
      api?.setReady?.(false);
      const deadline = Date.now() + config.drainDeadlineMs;
      const left = (): number => Math.max(100, deadline - Date.now());
      let drained = true;
      const p = parts;
      // Reverse start order: API intake, reconcile work, in-flight events, MQTT, inference, database last.
      if (api) drained = (await withDeadline(api.close(left()), left())) && drained;
      if (p) {
        drained = (await withDeadline(p.reconciler.stop(left()), left())) && drained;
        await withDeadline(p.telemetry.stop(), Math.min(2000, left()));
        p.windows.stop();
        p.reporter.stop();
        await withDeadline(
          (async () => {
            while (p.session.connected && p.outbox.size(DEPLOYMENT_EVENT_KIND) > 0 && Date.now() < deadline - 500) await new Promise((res) => setTimeout(res, 25));
          })(),
          Math.min(2000, left()),
        );
        await withDeadline(p.session.close(Math.min(2000, left())), Math.min(2500, left()));
        drained = (await withDeadline(p.runtime.close(left()), left())) && drained;
        try {
          p.db.close();
        } catch (err) {
          logger.warn({ err }, 'closing the database failed');
        }
      }
      lifecycle.to('stopped');
      logger.info({ drained }, 'agent stopped');
      return { drained };
    },
    reportedState: () => agent.parts.reporter.snapshot(),
  };
  return agent;
}
