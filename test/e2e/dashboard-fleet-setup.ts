/**
 * The fleet behind the dashboard's browser tests: a real control plane (in this process, with the
 * built-in plugins — API, rollouts, telemetry, dashboard — on one HTTP port, embedded broker,
 * SQLite) and real agent processes, provisioned and configured through the REST API exactly as
 * the demo does, each running the PP-OCR text-direction classifier as v1.
 */
import { builtinPlugins, createControlPlane, readAdminToken, type ControlPlane } from '@edgefleet/control-plane';
import { controlPlaneConfigSchema, type RolloutView } from '@edgefleet/shared';
import { createApiClient, type ApiClient } from '../demo/api-client.js';
import { startAgents, type DemoAgent } from '../demo/fleet.js';
import { DEMO_MODEL, demoModels } from '../demo/models.js';
import { repoRoot, stopProcesses, waitFor, logTail } from '../demo/processes.js';
import { ensureAgentBuilt } from '../helpers/agent-process.js';
import { freePort, tmpDataDir, type TmpDir } from '../helpers/index.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export { DEMO_MODEL, demoModels };

export interface DashboardFleet {
  cp: ControlPlane;
  baseUrl: string;
  dashboardUrl: string;
  token: string;
  api: ApiClient;
  agents: DemoAgent[];
  deviceIds: string[];
  /** GETs /api/v1 + path with the admin token. */
  get<T>(path: string): Promise<T>;
  waitForRollout(id: string, done: (r: RolloutView) => boolean, timeoutMs?: number): Promise<RolloutView>;
  stop(): Promise<void>;
}

/** Builds the dashboard bundle (esbuild, well under a second) so the test serves the current source. */
export function bundleDashboard(): void {
  execFileSync('pnpm', ['--filter', '@edgefleet/control-plane', 'run', 'bundle:dashboard'], { cwd: repoRoot(), stdio: 'pipe' });
}

export async function startDashboardFleet(options: { devices: number; tags?: (i: number) => Record<string, string> }): Promise<DashboardFleet> {
  bundleDashboard();
  await ensureAgentBuilt();
  const dir: TmpDir = await tmpDataDir('edgefleet-dashboard-e2e-');
  const logDir = join(dir.path, 'logs');
  mkdirSync(logDir, { recursive: true });
  const config = controlPlaneConfigSchema.parse({
    dataDir: join(dir.path, 'control-plane'),
    http: { host: '127.0.0.1', port: await freePort() },
    mqtt: { host: '127.0.0.1', port: await freePort() },
    logLevel: 'warn',
  });
  mkdirSync(config.dataDir, { recursive: true });
  const cp = createControlPlane({ config, plugins: builtinPlugins });
  await cp.start();
  const token = await readAdminToken(config.dataDir);
  const baseUrl = cp.urls.http;
  const api = createApiClient({ baseUrl, token });
  const deviceIds = Array.from({ length: options.devices }, (_, i) => `cam-${String(i + 1).padStart(2, '0')}`);
  const provisioned = [];
  for (const [i, id] of deviceIds.entries()) provisioned.push(...(await api.provisionDevices([id], options.tags?.(i) ?? { site: 'berlin' })));
  const agents = await startAgents({ repo: repoRoot(), workDir: dir.path, logDir, mqttUrl: cp.urls.mqtt, devices: provisioned });

  async function get<T>(path: string): Promise<T> {
    const response = await fetch(`${baseUrl}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  const fleet: DashboardFleet = {
    cp,
    baseUrl,
    dashboardUrl: `${baseUrl}/dashboard/`,
    token,
    api,
    agents,
    deviceIds,
    get,
    async waitForRollout(id, done, timeoutMs = 60_000) {
      return await waitFor(`rollout ${id}`, async () => {
        const r = await api.rollout(id);
        return done(r) ? r : undefined;
      }, { timeoutMs, intervalMs: 300 });
    },
    async stop() {
      await stopProcesses(agents.map((a) => a.process), 10_000);
      await cp.stop();
      await dir.cleanup();
    },
  };
  try {
    await waitFor('every agent online', async () => {
      const dead = agents.find((a) => a.process.hasExited());
      if (dead) throw new Error(`agent ${dead.deviceId} exited:\n${logTail(dead.process.logFile)}`);
      const devices = await api.listDevices();
      return devices.filter((d) => d.status === 'online').length === deviceIds.length ? true : undefined;
    }, { timeoutMs: 45_000, intervalMs: 300 });
  } catch (err) {
    await fleet.stop();
    throw err;
  }
  return fleet;
}

/**
 * Pushes v1 of the demo model and pins it on every device through PUT /devices/:id/desired (the
 * rollout engine is exercised by the rollout tests), waiting until every agent runs it.
 */
export async function installV1(fleet: DashboardFleet): Promise<void> {
  const { v1 } = demoModels();
  await fleet.api.pushModel(DEMO_MODEL, v1.version, v1.bytes, v1.notes);
  for (const id of fleet.deviceIds) {
    const response = await fetch(`${fleet.baseUrl}/api/v1/devices/${id}/desired`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${fleet.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ models: [{ name: DEMO_MODEL, version: v1.version }] }),
    });
    if (!response.ok) throw new Error(`PUT /devices/${id}/desired: ${response.status} ${await response.text()}`);
  }
  await waitFor('v1 active everywhere', async () => {
    const devices = await fleet.api.listDevices();
    return devices.every((d) => d.models[DEMO_MODEL] === v1.version) ? true : undefined;
  }, { timeoutMs: 60_000, intervalMs: 300 });
}
