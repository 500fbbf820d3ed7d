import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  controlPlaneConfigSchema,
  type ApiRole,
  type ControlPlaneConfigInput,
  type DesiredModel,
  type DeviceTags,
  type ModelVersionRecord,
  type ProvisionedAgentConfig,
} from '@edgefleet/shared';
import { createControlPlane, readAdminToken, type Clock, type ControlPlane, type ControlPlanePlugin, type CreateControlPlaneOptions } from '@edgefleet/control-plane';
import { tmpDataDir, type TmpDir } from './tmp-dir.js';

export interface StartControlPlaneOptions {
  /** Config fields to override (dataDir, ports and hosts default to a temp dir and free loopback ports). */
  config?: Partial<ControlPlaneConfigInput>;
  plugins?: readonly ControlPlanePlugin[];
  clock?: Clock;
  logger?: CreateControlPlaneOptions['logger'];
  /** Reuse a data dir (restart tests); otherwise a fresh temp dir removed by close(). */
  dataDir?: string;
  artifactMaxInFlight?: number;
  artifactChunksViaBus?: boolean;
}

export interface ProvisionedTestDevice {
  id: string;
  secret: string;
  agentConfig: ProvisionedAgentConfig;
}

export interface TestControlPlane {
  cp: ControlPlane;
  dataDir: string;
  /** http://127.0.0.1:PORT */
  httpUrl: string;
  /** mqtt://127.0.0.1:PORT (the embedded broker, or the configured external URL) */
  mqttUrl: string;
  adminToken: string;
  fleetPublicKeyPem: string;
  /** Registers devices directly through the registry (no HTTP) and returns their secrets. */
  provisionDevice(id: string, tags?: DeviceTags): Promise<ProvisionedTestDevice>;
  /** Pushes model bytes (or a file path) as name@version through the registry. */
  pushModel(input: { name: string; version: string; bytes?: Uint8Array; file?: string; labels?: string[]; golden?: unknown; source?: string }): Promise<ModelVersionRecord>;
  /** The desired-state entry for a pushed model. */
  desiredModel(name: string, version: string): Promise<DesiredModel>;
  /** Creates an API token with that role; returns its secret. */
  token(role: ApiRole, name?: string): Promise<string>;
  /** fetch against /api/v1 with a bearer token (admin by default); returns status and parsed JSON. */
  api<T = unknown>(method: string, path: string, options?: { body?: unknown; token?: string | null }): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

/**
 * A real control plane in-process: embedded aedes broker and SQLite in a temp dir, HTTP and MQTT on
 * free loopback ports. Always `await close()` (afterEach/afterAll).
 *
 * @example
 *   const h = await startControlPlane();
 *   const dev = await h.provisionDevice('cam-01');
 *   const model = await h.pushModel({ name: 'add', version: '1', bytes: addModel() });
 *   await h.cp.desired.setDeviceModels('cam-01', [await h.desiredModel('add', '1')]);
 */
export async function startControlPlane(options: StartControlPlaneOptions = {}): Promise<TestControlPlane> {
  let tmp: TmpDir | undefined;
  const dataDir = options.dataDir ?? (tmp = await tmpDataDir('edgefleet-cp-')).path;
  const input = options.config ?? {};
  const config = controlPlaneConfigSchema.parse({
    ...input,
    dataDir,
    logLevel: input.logLevel ?? 'warn',
    http: { host: '127.0.0.1', port: 0, ...(input.http ?? {}) },
    mqtt: { host: '127.0.0.1', port: 0, ...(input.mqtt ?? {}) },
  });
  const cp = createControlPlane({
    config,
    plugins: options.plugins,
    clock: options.clock,
    logger: options.logger,
    artifactMaxInFlight: options.artifactMaxInFlight,
    artifactChunksViaBus: options.artifactChunksViaBus,
  });
  try {
    await cp.start();
  } catch (err) {
    await tmp?.cleanup();
    throw err;
  }
  const adminToken = await readAdminToken(dataDir).catch(() => '');
  const httpUrl = cp.urls.http;

  const harness: TestControlPlane = {
    cp,
    dataDir,
    httpUrl,
    mqttUrl: cp.urls.mqtt,
    adminToken,
    fleetPublicKeyPem: cp.fleetPublicKeyPem,
    async provisionDevice(id, tags = {}) {
      const [created] = await cp.devices.add([{ id, tags }]);
      return { id, secret: created!.secret, agentConfig: created!.agentConfig };
    },
    async pushModel({ name, version, bytes, file, labels, golden, source }) {
      const content = bytes ? Readable.from([Buffer.from(bytes)]) : Readable.from([await readFile(file!)]);
      const goldenSha256 = golden === undefined ? undefined : (await cp.models.putGolden(Readable.from([Buffer.from(JSON.stringify(golden))]))).sha256;
      return await cp.models.push({ name, version, content, labels, goldenSha256, source, pushedBy: 'test' });
    },
    desiredModel: (name, version) => cp.models.desiredModel(name, version),
    async token(role, name = `test-${role}`) {
      return (await cp.tokens.create({ name, role, createdBy: 'test' })).secret;
    },
    async api<T>(method: string, path: string, opts: { body?: unknown; token?: string | null } = {}) {
      const token = opts.token === undefined ? adminToken : opts.token;
      const response = await fetch(`${httpUrl}/api/v1${path}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      });
      const text = await response.text();
      return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
    },
    async close() {
      await cp.stop();
      await tmp?.cleanup();
    },
  };
  return harness;
}
