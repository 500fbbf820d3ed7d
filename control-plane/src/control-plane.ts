import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { CHANNEL_QOS, EdgefleetError, deviceTopic, type CommandResult, type ControlPlaneConfig, type DevicePublishChannel } from '@edgefleet/shared';
import { createApiServer, type ApiServer } from './api/api-server.js';
import { createMetrics, type ControlPlaneMetrics } from './api/metrics.js';
import { deviceRoutes } from './api/routes/device-routes.js';
import { modelRoutes } from './api/routes/model-routes.js';
import { systemRoutes } from './api/routes/system-routes.js';
import { tokenRoutes } from './api/routes/token-routes.js';
import { createArtifactStore, type ArtifactStore } from './artifacts/artifact-store.js';
import { startArtifactService, type ArtifactService } from './artifacts/artifact-service.js';
import { ADMIN_TOKEN_FILE, bootstrapAdminToken } from './auth/admin-token.js';
import { loadOrCreateFleetKey } from './auth/fleet-key.js';
import { createTokenService, type TokenService } from './auth/token-service.js';
import { CONTROL_PLANE_VERSION } from './version.js';
import { CONTROL_PLANE_USERNAME, TOKEN_USERNAME, createBrokerAuth } from './broker/broker-auth.js';
import { connectDeviceBus, type DeviceBus } from './broker/device-bus.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker/embedded-broker.js';
import { systemClock, type Clock } from './clock.js';
import { createCommandSender, type CommandInput, type CommandSender } from './devices/command-sender.js';
import { createDesiredStatePublisher, type DesiredStatePublisher } from './devices/desired-state-publisher.js';
import { startPresenceTracker } from './devices/presence-tracker.js';
import { createLease, createSoloLease, isLeaseLost, type Lease } from './lease/lease.js';
import { LEASE_MIGRATIONS, createPostgresLeaseStore } from './lease/postgres-lease-store.js';
import type { ControlPlanePlugin, PluginHandle } from './plugin.js';
import { createPluginServices, type PluginServices } from './plugin-services.js';
import { createDeviceRegistry, type DeviceRegistry } from './registry/device-registry.js';
import { createModelRegistry, type ModelRegistry } from './registry/model-registry.js';
import { createStore, type Store } from './store/store.js';

export type ControlPlaneState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** Everything a running control plane offers to plugins, tests and main.ts. */
export interface ControlPlaneContext {
  readonly config: ControlPlaneConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly store: Store;
  /**
   * The singleton lease: rollout passes, schedules, retention and the desired-state republish run
   * only where `lease.isLeader()`, their writes through `lease.fenced(fn)` (issue 16). On SQLite
   * the one process always leads.
   */
  readonly lease: Lease;
  /** Device traffic: `bus.on('telemetry', ({deviceId, payload}) => …)`, `bus.publish(...)`. */
  readonly bus: DeviceBus;
  readonly devices: DeviceRegistry;
  readonly models: ModelRegistry;
  readonly tokens: TokenService;
  readonly desired: DesiredStatePublisher;
  readonly artifacts: ArtifactStore;
  readonly api: ApiServer;
  readonly metrics: ControlPlaneMetrics;
  readonly fleetPublicKeyPem: string;
  /** What plugins publish for each other (plugin-services.ts). */
  readonly services: PluginServices;
  sendCommand(deviceId: string, command: CommandInput, options?: { timeoutMs?: number }): Promise<CommandResult>;
}

export interface ControlPlane extends ControlPlaneContext {
  state(): ControlPlaneState;
  start(): Promise<void>;
  /** Stops intake (HTTP), plugins, the artifact service, MQTT, the broker, then the store; bounded by config.drainDeadlineMs. */
  stop(): Promise<void>;
  /** Where it listens (after start). */
  readonly urls: { http: string; mqtt: string; mqttTls?: string | undefined };
  /** DIR/admin.token, written on first start. */
  readonly adminTokenFile: string;
  artifactStats(): ReturnType<ArtifactService['stats']>;
}

export interface CreateControlPlaneOptions {
  config: ControlPlaneConfig;
  logger?: Logger;
  clock?: Clock;
  plugins?: readonly ControlPlanePlugin[];
  /** Concurrent artifact chunks in flight (bounded memory). @default 16 */
  artifactMaxInFlight?: number;
  /**
   * Publish artifact chunks through the bus's MQTT client even with the embedded broker (the path
   * an external broker takes); for benchmarks that compare the two. @default false
   */
  artifactChunksViaBus?: boolean;
}

function localUrl(scheme: string, host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `${scheme}://${h}:${port}`;
}

export function createControlPlane(options: CreateControlPlaneOptions): ControlPlane {
  const { config } = options;
  const logger = options.logger ?? pino({ level: config.logLevel });
  const clock = options.clock ?? systemClock;
  let state: ControlPlaneState = 'created';
  // Filled in by start(); accessors throw before that so misuse is loud.
  type Parts = { -readonly [K in keyof Omit<ControlPlaneContext, 'config' | 'logger' | 'clock' | 'services' | 'sendCommand'>]?: ControlPlaneContext[K] } & { commands?: CommandSender };
  const parts: Parts = {};
  const urls: { http: string; mqtt: string; mqttTls?: string | undefined } = { http: '', mqtt: '' };
  const cleanups: { name: string; fn: () => Promise<void> | void }[] = [];
  let artifactService: ArtifactService | undefined;

  const need = <K extends keyof typeof parts>(key: K): NonNullable<(typeof parts)[K]> => {
    const value = parts[key];
    if (value === undefined) throw new EdgefleetError('LIFECYCLE_INVALID_STATE', `control plane ${String(key)} is not available before start()`);
    return value;
  };

  const cp: ControlPlane = {
    config,
    logger,
    clock,
    services: createPluginServices(),
    get store() { return need('store'); },
    get lease() { return need('lease'); },
    get bus() { return need('bus'); },
    get devices() { return need('devices'); },
    get models() { return need('models'); },
    get tokens() { return need('tokens'); },
    get desired() { return need('desired'); },
    get artifacts() { return need('artifacts'); },
    get api() { return need('api'); },
    get metrics() { return need('metrics'); },
    get fleetPublicKeyPem() { return need('fleetPublicKeyPem'); },
    urls,
    adminTokenFile: join(config.dataDir, ADMIN_TOKEN_FILE),
    state: () => state,
    artifactStats: () => artifactService?.stats() ?? { chunksServed: 0, bytesServed: 0, refused: 0, dropped: 0, inFlight: 0, queued: 0 },
    sendCommand: (deviceId, command, opts) => need('commands').send(deviceId, command, opts),

    async start() {
      if (state !== 'created') throw new EdgefleetError('LIFECYCLE_INVALID_STATE', `start() called in state ${state}`);
      state = 'starting';
      try {
        await startParts();
        state = 'running';
        logger.info({ http: urls.http, mqtt: urls.mqtt, dataDir: config.dataDir }, 'control plane running');
      } catch (err) {
        state = 'failed';
        await runCleanups();
        throw err;
      }
    },

    async stop() {
      if (state === 'stopped' || state === 'stopping') return;
      state = 'stopping';
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), config.drainDeadlineMs)));
      const result = await Promise.race([runCleanups().then(() => 'done' as const), deadline]);
      clearTimeout(timer);
      state = 'stopped';
      if (result === 'timeout') throw new EdgefleetError('DRAIN_TIMEOUT', `control plane did not stop within ${config.drainDeadlineMs} ms`);
    },
  };

  async function runCleanups(): Promise<void> {
    while (cleanups.length) {
      const { name, fn } = cleanups.pop()!;
      try {
        await fn();
      } catch (err) {
        logger.error({ err, part: name }, 'error while stopping');
      }
    }
  }

  async function startParts(): Promise<void> {
    await mkdir(config.dataDir, { recursive: true, mode: 0o750 });
    const store = await createStore({ driver: config.store.driver, dataDir: config.dataDir, url: config.store.url });
    parts.store = store;
    cleanups.push({ name: 'store', fn: () => store.close() });
    const lease = await startLease(store);
    parts.lease = lease;
    // Stopped after the plugins (the engine) and before the store: releasing the term hands the
    // singleton work to another replica at its next attempt instead of after the TTL.
    cleanups.push({ name: 'lease', fn: () => lease.stop() });

    const keys = await loadOrCreateFleetKey(config.dataDir, logger);
    parts.fleetPublicKeyPem = keys.publicKeyPem;
    const tokens = createTokenService({ store, clock });
    parts.tokens = tokens;
    await bootstrapAdminToken(config.dataDir, store, tokens, logger);
    const artifacts = await createArtifactStore(config.dataDir);
    parts.artifacts = artifacts;
    const metrics = createMetrics();
    parts.metrics = metrics;

    let brokerUrl = config.mqtt.url;
    const devices = createDeviceRegistry({
      store,
      clock,
      fleetPublicKeyPem: keys.publicKeyPem,
      brokerUrl: () => config.mqtt.publicUrl ?? config.mqtt.url ?? urls.mqtt,
    });
    parts.devices = devices;

    let embeddedBroker: EmbeddedBroker | undefined;
    let busCredentials: { username?: string | undefined; password?: string | undefined } = { username: config.mqtt.username, password: config.mqtt.password };
    if (!brokerUrl) {
      // Embedded: the control plane connects over loopback with a per-process password only it knows.
      const controlPlanePassword = randomBytes(24).toString('base64url');
      const auth = createBrokerAuth({
        verifyDevice: (id, secret) => devices.verifyCredentials(id, secret),
        verifyToken: (secret) => tokens.authenticate(secret),
        controlPlanePassword,
        logger: logger.child({ component: 'broker' }),
      });
      const broker: EmbeddedBroker = await startEmbeddedBroker({ host: config.mqtt.host, port: config.mqtt.port, tls: config.mqtt.tls, auth, logger: logger.child({ component: 'broker' }) });
      cleanups.push({ name: 'broker', fn: () => broker.close() });
      urls.mqtt = localUrl('mqtt', config.mqtt.host, broker.port);
      if (broker.tlsPort !== undefined) urls.mqttTls = localUrl('mqtts', config.mqtt.host, broker.tlsPort);
      brokerUrl = localUrl('mqtt', '127.0.0.1', broker.port);
      busCredentials = { username: CONTROL_PLANE_USERNAME, password: controlPlanePassword };
      metrics.beforeScrape.push(() => metrics.mqttClients.set(broker.connectedClients()));
      embeddedBroker = broker;
    } else {
      urls.mqtt = config.mqtt.url!;
    }

    const bus = await connectDeviceBus({ url: brokerUrl, ...busCredentials, sharedSubscriptions: config.mqtt.sharedSubscriptions, logger: logger.child({ component: 'mqtt' }) });
    parts.bus = bus;
    cleanups.push({ name: 'mqtt', fn: () => bus.close() });
    for (const channel of ['reported', 'presence', 'events', 'telemetry', 'command-results', 'artifact-requests'] as DevicePublishChannel[]) {
      bus.on(channel, () => metrics.deviceMessages.inc({ channel }));
    }

    cleanups.push({ name: 'presence', fn: startPresenceTracker({ store, bus, clock, logger }) });
    const desired = createDesiredStatePublisher({ store, bus, clock, logger: logger.child({ component: 'desired' }) });
    parts.desired = desired;
    desired.onPublished(() => metrics.desiredPublished.inc());
    // A broker that restarted lost its retained messages (aedes and Mosquitto without persistence).
    // One replica republishes (the leader): N replicas would send every device N copies.
    const republish = async (): Promise<void> => {
      if (!lease.isLeader()) return;
      const republished = await lease.fenced(() => desired.republishAll());
      if (republished) logger.info({ devices: republished }, 'republished stored desired states');
    };
    await republish();
    bus.client.on('connect', () => {
      republish().catch((err: unknown) => {
        if (!isLeaseLost(err)) logger.warn({ err }, 'republishing desired states after reconnect failed');
      });
    });

    const models = createModelRegistry({ store, artifacts, clock, logger, signingKeyPem: keys.privateKeyPem });
    parts.models = models;
    // With the embedded broker, chunks skip the loopback hop through the bus's own client (one
    // socket write and one parse of every chunk). The topic is the requesting device's own, which
    // only that device may subscribe to, so the ACL outcome is the bus's.
    const inProcess = options.artifactChunksViaBus ? undefined : embeddedBroker;
    const chunkQos = CHANNEL_QOS['artifact-chunks'].qos;
    artifactService = startArtifactService({
      store,
      artifacts,
      bus,
      publishChunk: inProcess && ((deviceId, frame) => inProcess.publish(deviceTopic(deviceId, 'artifact-chunks'), frame, chunkQos)),
      logger: logger.child({ component: 'artifacts' }),
      maxInFlight: options.artifactMaxInFlight,
      onChunk: (_d, bytes) => metrics.artifactBytes.inc(bytes),
      onRefused: (_d, code) => metrics.artifactRefusals.inc({ code }),
    });
    const service = artifactService;
    cleanups.push({ name: 'artifact-service', fn: () => service.close() });
    const commands = createCommandSender({ store, bus, clock });
    parts.commands = commands;
    cleanups.push({ name: 'commands', fn: () => commands.close() });

    const api = createApiServer({
      store,
      clock,
      logger,
      version: CONTROL_PLANE_VERSION,
      verifyToken: (secret) => tokens.authenticate(secret),
      verifyDevice: (id, secret) => devices.verifyCredentials(id, secret),
    });
    parts.api = api;
    const services = { store, devices, models, tokens, desired, artifacts, commands };
    for (const route of [...deviceRoutes(services), ...modelRoutes(services), ...tokenRoutes(services)]) api.route(route);
    metrics.beforeScrape.push(() => {
      const { replica, leader, token } = lease.status();
      metrics.leaseLeader.set({ replica }, leader ? 1 : 0);
      if (token !== null) metrics.leaseToken.set({ replica }, token);
    });
    metrics.beforeScrape.push(async () => {
      const counts = { online: 0, offline: 0, 'never-seen': 0 };
      for (const d of await store.devices.list()) counts[d.status]++;
      for (const [status, count] of Object.entries(counts)) metrics.devices.set({ status }, count);
    });
    systemRoutes(api, {
      metrics,
      health: () => ({
        status: state === 'running' ? 'ok' : state === 'stopping' ? 'draining' : 'starting',
        version: CONTROL_PLANE_VERSION,
        broker: { mode: config.mqtt.url ? 'external' : 'embedded', connected: bus.isConnected() },
        uptimeS: process.uptime(),
        lease: lease.status(),
      }),
    });

    const context = cp as ControlPlaneContext;
    for (const plugin of options.plugins ?? []) {
      const handle: PluginHandle | void = await plugin.start(context);
      logger.info({ plugin: plugin.name }, 'plugin started');
      if (handle) cleanups.push({ name: `plugin ${plugin.name}`, fn: () => handle.stop() });
    }

    const httpPort = await api.listen(config.http.host, config.http.port);
    urls.http = localUrl('http', config.http.host, httpPort);
    cleanups.push({ name: 'http', fn: () => api.close() });
  }

  async function startLease(store: Store): Promise<Lease> {
    const replicaId = config.lease.replicaId ?? `${hostname()}-${process.pid}`;
    if (store.sql.dialect !== 'postgres') return createSoloLease(replicaId);
    await store.migrate('lease', LEASE_MIGRATIONS);
    const { ttlMs } = config.lease;
    const lease = createLease({
      replicaId,
      ttlMs,
      store: createPostgresLeaseStore(store.sql, { name: 'control-plane', stalledTransactionTimeoutMs: ttlMs }),
      onError: (err) => logger.warn({ err, replica: replicaId }, 'lease attempt failed; retrying'),
    });
    lease.onChange((s) => logger.info(s, s.leader ? 'holding the singleton lease: rollouts, schedules and retention run here' : 'not holding the singleton lease: another replica runs rollouts, schedules and retention'));
    await lease.start();
    return lease;
  }

  return cp;
}

/** Reads DIR/admin.token (tests and local CLI use). */
export async function readAdminToken(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, ADMIN_TOKEN_FILE), 'utf8')).trim();
}

export { TOKEN_USERNAME };
