/**
 * A small fleet for the rollout-gate end-to-end tests: a real control plane in-process (embedded
 * broker, SQLite, telemetry and rollout plugins, optionally an injected clock) and real agent
 * processes that report telemetry every second and serve their local KServe v2 API on known ports.
 */
import { join } from 'node:path';
import type { RolloutView } from '@edgefleet/shared';
import { rolloutPlugin, telemetryPlugin, type Clock, type RolloutService } from '@edgefleet/control-plane';
import { ensureAgentBuilt, spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { startControlPlane, type TestControlPlane } from '../helpers/control-plane.js';
import { freePort } from '../helpers/index.js';

export const TERMINAL_ROLLOUT_STATES = ['succeeded', 'halted', 'rolled-back', 'aborted'];

export interface GateFleetAgent {
  id: string;
  apiUrl: string;
  process: AgentProcess;
}

export interface GateFleet {
  h: TestControlPlane;
  rollouts: RolloutService;
  agents: GateFleetAgent[];
  /** Active version of `model` per device, from the agents' reported state. */
  activeVersions(model: string): Promise<Record<string, string | undefined>>;
  waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs?: number): Promise<T>;
  settle(id: string, timeoutMs?: number): Promise<RolloutView>;
  stop(): Promise<void>;
}

export async function startGateFleet(options: { ids: string[]; clock?: Clock }): Promise<GateFleet> {
  await ensureAgentBuilt();
  let rollouts: RolloutService | undefined;
  const h = await startControlPlane({
    clock: options.clock,
    plugins: [telemetryPlugin(), rolloutPlugin({ tickIntervalMs: 200, onStarted: (s) => (rollouts = s) })],
  });
  const agents: GateFleetAgent[] = [];

  async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  const fleet: GateFleet = {
    h,
    get rollouts() {
      if (!rollouts) throw new Error('rollout plugin did not start');
      return rollouts;
    },
    agents,
    async activeVersions(model) {
      const rows = await h.cp.store.devices.list();
      return Object.fromEntries(rows.map((r) => [r.id, r.reported?.models.find((m) => m.name === model)?.active]));
    },
    waitFor,
    async settle(id, timeoutMs = 60_000) {
      return await waitFor(`rollout ${id} to finish`, async () => {
        const view = await fleet.rollouts.operations.view(id, true);
        return TERMINAL_ROLLOUT_STATES.includes(view.state) ? view : undefined;
      }, timeoutMs);
    },
    async stop() {
      await Promise.all(agents.map((a) => a.process.stop().catch(() => a.process.kill())));
      await h.close();
    },
  };

  try {
    for (const id of options.ids) {
      const device = await h.provisionDevice(id, { site: 'lab' });
      const apiPort = await freePort();
      const proc = await spawnAgent({
        deviceId: id,
        brokerUrl: h.mqttUrl,
        fleetPublicKey: h.fleetPublicKeyPem,
        dataDir: join(h.dataDir, 'agents', id),
        apiPort,
        config: {
          broker: { url: h.mqttUrl, username: id, password: device.secret, reconnectMinMs: 200, reconnectMaxMs: 2000 },
          // Every second, so a short bake window carries latency histograms from both cohorts.
          telemetry: { schedule: '* * * * * *' },
          // One inference thread per agent: on a 2-core host a canary running a slow model on every
          // core would starve the control cohort (separate devices in a real fleet) and blur the comparison.
          inference: { intraOpThreads: 1 },
        },
      });
      agents.push({ id, apiUrl: `http://127.0.0.1:${apiPort}`, process: proc });
    }
    await waitFor('every agent to report its state', async () => {
      const rows = await h.cp.store.devices.list();
      return rows.filter((r) => r.status === 'online' && r.reported).length === options.ids.length ? true : undefined;
    });
  } catch (err) {
    await fleet.stop();
    throw err;
  }
  return fleet;
}
