/**
 * Starts the demo's fleet from the built programs, exactly as an operator would run them:
 * `edgefleet server` with its embedded broker and store in a temporary directory, and one
 * `edgefleet-agent` process per device with its own data dir, credentials and API port.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProvisionedDevice } from '@edgefleet/shared';
import { freePort } from '../helpers/index.js';
import { type ApiClient, createApiClient } from './api-client.js';
import { type DemoProcess, logTail, spawnLogged, waitFor } from './processes.js';

export interface ControlPlane {
  process: DemoProcess;
  baseUrl: string;
  dashboardUrl: string;
  mqttUrl: string;
  token: string;
  api: ApiClient;
}

export async function startControlPlane(options: { repo: string; workDir: string; logDir: string; signal: AbortSignal }): Promise<ControlPlane> {
  const { repo, workDir, logDir, signal } = options;
  const dataDir = join(workDir, 'control-plane');
  mkdirSync(dataDir, { recursive: true });
  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  const logFile = join(logDir, 'control-plane.log');
  const cp = spawnLogged(
    'control-plane',
    [join(repo, 'control-plane/bin/edgefleet.js'), 'server', '--data-dir', dataDir, '--http-port', String(httpPort), '--mqtt-port', String(mqttPort)],
    logFile,
  );
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  const probe = createApiClient({ baseUrl, token: '' });
  await waitFor(
    'the control plane to answer /healthz',
    async () => {
      if (cp.hasExited()) throw new Error(`the control plane exited (${String(await cp.exited)}):\n${logTail(logFile)}`);
      return (await probe.health()) ? true : undefined;
    },
    { timeoutMs: 30_000, signal },
  );
  const tokenFile = join(dataDir, 'admin.token');
  const token = await waitFor('admin.token', async () => {
    try {
      return readFileSync(tokenFile, 'utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  }, { timeoutMs: 5000, signal });
  return {
    process: cp,
    baseUrl,
    dashboardUrl: `${baseUrl}/`,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    token,
    api: createApiClient({ baseUrl, token }),
  };
}

export interface DemoAgent {
  deviceId: string;
  process: DemoProcess;
  apiUrl: string;
  dataDir: string;
}

/** Writes each device's config from what provisioning returned and starts its agent. */
export async function startAgents(options: { repo: string; workDir: string; logDir: string; mqttUrl: string; devices: ProvisionedDevice[] }): Promise<DemoAgent[]> {
  const agents: DemoAgent[] = [];
  for (const provisioned of options.devices) {
    const id = provisioned.device.id;
    const dir = join(options.workDir, 'agents', id);
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    const apiPort = await freePort();
    const config = {
      ...provisioned.agentConfig,
      // The broker the agents reach: the embedded one on its loopback port.
      broker: { ...provisioned.agentConfig.broker, url: options.mqttUrl },
      dataDir,
      api: { host: '127.0.0.1', port: apiPort },
      // Faster than the production defaults, so the gates see data within the demo's bake times.
      telemetry: { schedule: '*/2 * * * * *' },
      inference: { epBenchmarkBudgetMs: 2000, grpcPort: 0 },
    };
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify(config, null, 2), { mode: 0o600 });
    const logFile = join(options.logDir, `${id}.log`);
    const process = spawnLogged(id, [join(options.repo, 'agent/bin/edgefleet-agent.js'), '--config', configFile], logFile);
    agents.push({ deviceId: id, process, apiUrl: `http://127.0.0.1:${apiPort}`, dataDir });
  }
  return agents;
}
