/**
 * The demo's story, step by step, through the control plane's REST API and real agent processes:
 * provision N devices, start their agents, push v1 and roll it out, roll v2 out in waves, then push
 * a broken v3 whose canary fails and watch the rollout halt and roll back by itself.
 * Every step checks what really happened (rollout state from the engine, active versions the
 * agents report) and fails the demo when it did not.
 */
import type { CreateRolloutRequest, Device, RolloutView } from '@edgefleet/shared';
import type { ApiClient } from './api-client.js';
import { type ControlPlane, type DemoAgent, startAgents, startControlPlane } from './fleet.js';
import { DEMO_MODEL, type DemoModelVersion, demoModels } from './models.js';
import { type DemoProcess, logTail, sleep, waitFor } from './processes.js';
import type { Progress } from './progress.js';
import { startTraffic, type Traffic, type TrafficStats } from './traffic.js';

export interface StoryOptions {
  repo: string;
  workDir: string;
  logDir: string;
  devices: number;
  progress: Progress;
  signal: AbortSignal;
  /** Called as soon as a process starts, so the caller can stop it whatever happens next. */
  track(process: DemoProcess): void;
}

export interface RolloutOutcome {
  label: string;
  version: string;
  id: string;
  state: RolloutView['state'];
  waves: number;
  halt?: string;
  ms: number;
}

export interface StoryResult {
  controlPlane: ControlPlane;
  agents: DemoAgent[];
  rollouts: RolloutOutcome[];
  devices: Device[];
  traffic: TrafficStats;
}

const TERMINAL = new Set(['succeeded', 'halted', 'rolled-back', 'aborted']);
/**
 * A device that stays in one rollout state this long is timed out by the engine. The demo's model
 * is under 1 MB on loopback, so 30 s means stuck, not slow (the production default is 15 minutes).
 */
const DEVICE_DEADLINE_MS = 30_000;

async function activeVersions(api: ApiClient): Promise<Map<string, string | undefined>> {
  const devices = await api.listDevices();
  return new Map(devices.map((d) => [d.id, d.models[DEMO_MODEL]]));
}

/** Waits until every device reports `version` active for the demo model. */
async function waitForActive(api: ApiClient, ids: string[], version: string, signal: AbortSignal, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `every device to report ${DEMO_MODEL}@${version} active`,
    async () => {
      const active = await activeVersions(api);
      return ids.every((id) => active.get(id) === version) ? true : undefined;
    },
    { timeoutMs, intervalMs: 500, signal },
  ).catch(async (err: unknown) => {
    const active = await activeVersions(api);
    const off = ids.filter((id) => active.get(id) !== version).map((id) => `${id}: ${active.get(id) ?? 'none'}`);
    throw new Error(`${err instanceof Error ? err.message : String(err)} (still elsewhere: ${off.join(', ')})`, { cause: err });
  });
}

/** Agents whose local inference API answers its liveness probe. */
async function reachableApis(agents: DemoAgent[]): Promise<DemoAgent[]> {
  const live = await Promise.all(
    agents.map(async (agent) => {
      try {
        return (await fetch(`${agent.apiUrl}/v2/health/live`, { signal: AbortSignal.timeout(2000) })).ok;
      } catch {
        return false;
      }
    }),
  );
  return agents.filter((_, i) => live[i]);
}

async function push(api: ApiClient, progress: Progress, model: DemoModelVersion): Promise<void> {
  const record = await api.pushModel(DEMO_MODEL, model.version, model.bytes, model.notes);
  const inputs = record.inspection.inputs.map((i) => `${i.name} ${JSON.stringify(i.shape)}`).join(', ');
  progress.step(`pushed ${DEMO_MODEL}@${record.version}: ${(record.size / 1024).toFixed(0)} KiB, sha256 ${record.sha256.slice(0, 12)}…, signed (Ed25519)`);
  progress.detail(`${model.notes}; inputs ${inputs}`);
}

async function rollOut(api: ApiClient, progress: Progress, label: string, request: CreateRolloutRequest, signal: AbortSignal): Promise<RolloutOutcome> {
  const started = Date.now();
  const created = await api.createRollout(request);
  const waves = request.strategy?.waves?.length ?? created.waves.length;
  progress.step(`${label}: rollout ${created.id} of ${DEMO_MODEL}@${request.version} in ${waves} wave(s), bake ${((request.strategy?.bakeMs ?? 0) / 1000).toFixed(0)} s each`);
  const finished = await waitFor(
    `rollout ${created.id} to finish`,
    async () => {
      const current = await api.rollout(created.id);
      progress.rollout(label, current);
      return TERMINAL.has(current.state) ? current : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 400, signal },
  );
  const view = { ...finished, devices: (await api.rollout(created.id, true)).devices };
  const halt = view.halt
    ? `${view.halt.gate ?? 'halt'} at wave ${(view.halt.wave ?? 0) + 1}: ${view.halt.reason}`
    : undefined;
  if (view.halt) {
    progress.detail(`gate tripped — ${halt}`);
    for (const r of view.halt.results.filter((g) => g.status === 'fail')) {
      progress.detail(`  ${r.gate}: value ${r.value ?? '?'} vs threshold ${r.threshold ?? '?'} (${r.samples}/${r.minSamples} samples)`);
    }
  }
  // Why each device that did not make it failed, as the engine recorded it.
  for (const d of view.devices ?? []) {
    if (d.state !== 'failed' && d.state !== 'rolled-back') continue;
    const why = [d.error?.code, d.error?.message ?? d.reason].filter(Boolean).join(': ');
    progress.detail(`  ${d.deviceId} ${d.state}${why ? ` — ${why}` : ''}`);
  }
  return { label, version: request.version, id: view.id, state: view.state, waves: Math.max(view.waves.length, waves), halt, ms: Date.now() - started };
}

export async function runStory(options: StoryOptions): Promise<StoryResult> {
  const { progress, signal } = options;
  const models = demoModels();

  progress.step('starting the control plane (embedded MQTT broker + SQLite store in a temporary directory)');
  const cp = await startControlPlane({ repo: options.repo, workDir: options.workDir, logDir: options.logDir, signal });
  options.track(cp.process);
  progress.step(`control plane up`);
  progress.detail(`dashboard  ${cp.dashboardUrl}`);
  progress.detail(`API token  ${cp.token}`);
  progress.detail(`broker     ${cp.mqttUrl}`);
  const { api } = cp;

  const ids = Array.from({ length: options.devices }, (_, i) => `demo-${String(i + 1).padStart(2, '0')}`);
  const provisioned = await api.provisionDevices(ids, { fleet: 'demo' });
  progress.step(`provisioned ${ids.length} devices (${ids[0]} … ${ids.at(-1)}), each with its own secret`);
  const agents = await startAgents({ repo: options.repo, workDir: options.workDir, logDir: options.logDir, mqttUrl: cp.mqttUrl, devices: provisioned });
  for (const agent of agents) options.track(agent.process);
  await waitFor(
    'every agent to come online',
    async () => {
      const dead = agents.find((a) => a.process.hasExited());
      if (dead) throw new Error(`agent ${dead.deviceId} exited (${String(await dead.process.exited)}):\n${logTail(dead.process.logFile)}`);
      const devices = await api.listDevices();
      const online = devices.filter((d) => ids.includes(d.id) && d.status === 'online').length;
      return online === ids.length ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500, signal },
  );
  progress.step(`${agents.length} agents online (one process each, own data dir and credentials)`);

  const rollouts: RolloutOutcome[] = [];
  let traffic: Traffic | undefined;
  try {
    // v1: a first install on the whole fleet.
    await push(api, progress, models.v1);
    const v1 = await rollOut(
      api,
      progress,
      'v1',
      { model: DEMO_MODEL, version: models.v1.version, target: { kind: 'all' }, strategy: { waves: [{ percent: 100 }], bakeMs: 1000, deviceDeadlineMs: DEVICE_DEADLINE_MS } },
      signal,
    );
    rollouts.push(v1);
    if (v1.state !== 'succeeded') throw new Error(`v1 rollout ended ${v1.state}${v1.halt ? ` (${v1.halt})` : ''}`);
    await waitForActive(api, ids, models.v1.version, signal);
    progress.step(`every device serves ${DEMO_MODEL}@${models.v1.version}`);
    const serving = await reachableApis(agents);
    if (serving.length > 0) {
      progress.detail(`steady inference load (KServe v2 infer, 2 requests/s per device) on ${serving.length} agents' local APIs`);
      traffic = startTraffic({ agents: serving, model: DEMO_MODEL, intervalMs: 500 });
    } else {
      progress.detail(`the agents' local inference APIs do not answer (${agents[0]?.apiUrl ?? ''}/v2/health/live): no inference load`);
    }

    // v2: canary, then half the fleet, then the rest, each wave baking while its gates watch.
    await push(api, progress, models.v2);
    const v2 = await rollOut(
      api,
      progress,
      'v2',
      {
        model: DEMO_MODEL,
        version: models.v2.version,
        target: { kind: 'all' },
        strategy: { waves: [{ count: 1 }, { percent: 50 }, { percent: 100 }], bakeMs: 3000, deviceDeadlineMs: DEVICE_DEADLINE_MS },
      },
      signal,
    );
    rollouts.push(v2);
    if (v2.state !== 'succeeded') throw new Error(`v2 rollout ended ${v2.state}${v2.halt ? ` (${v2.halt})` : ''}`);
    await waitForActive(api, ids, models.v2.version, signal);
    progress.step(`every device serves ${DEMO_MODEL}@${models.v2.version}`);

    // v3: broken on purpose. The canary's agent refuses it (smoke test: NaN output) and keeps v2;
    // the wave's gate trips, the rollout halts and rolls its devices back.
    await push(api, progress, models.v3);
    const v3 = await rollOut(
      api,
      progress,
      'v3',
      {
        model: DEMO_MODEL,
        version: models.v3.version,
        target: { kind: 'all' },
        strategy: { waves: [{ count: 1 }, { percent: 100 }], bakeMs: 3000, onBreach: 'rollback', deviceDeadlineMs: DEVICE_DEADLINE_MS },
      },
      signal,
    );
    rollouts.push(v3);
    if (v3.state === 'succeeded') throw new Error('the broken v3 rollout succeeded: no gate stopped it');
    // What the devices that tried v3 say themselves (their reported state), beside the engine's record.
    for (const id of ids) {
      const reported = (await api.device(id)).reported?.models.find((m) => m.name === DEMO_MODEL);
      if (reported?.lastError) progress.detail(`  ${id} reports: ${reported.lastError.code}: ${reported.lastError.message} (active ${reported.active ?? 'none'})`);
    }
    await waitForActive(api, ids, models.v2.version, signal);
    progress.step(`v3 stopped at its canary; every device still serves ${DEMO_MODEL}@${models.v2.version}`);
    // One more bake period of traffic on the rolled-back fleet before the numbers are taken.
    await sleep(1000);
  } finally {
    await traffic?.stop();
  }

  const devices = (await api.listDevices()).filter((d) => ids.includes(d.id));
  return { controlPlane: cp, agents, rollouts, devices, traffic: traffic?.stats() ?? { ok: 0, failed: 0, failures: {} } };
}

/** The end-of-demo report: what happened, where everything is. */
export function summarize(result: StoryResult, options: { workDir: string; logDir: string; elapsedMs: number }): string {
  const lines: string[] = ['', 'edgefleet demo — summary', ''];
  for (const r of result.rollouts) {
    lines.push(`  ${r.label}  ${DEMO_MODEL}@${r.version}  ${r.state.padEnd(11)} ${r.waves} wave(s) in ${(r.ms / 1000).toFixed(1)} s${r.halt ? `  — ${r.halt}` : ''}`);
  }
  lines.push('', '  device     status   active   agent');
  for (const d of result.devices) {
    lines.push(`  ${d.id.padEnd(10)} ${d.status.padEnd(8)} ${(d.models[DEMO_MODEL] ?? '-').padEnd(8)} ${d.agentVersion ?? ''}`);
  }
  const t = result.traffic;
  const failures = Object.entries(t.failures).map(([k, v]) => `${k}: ${v}`).join(', ');
  lines.push(
    '',
    `  inference requests served during v2 and v3: ${t.ok} ok, ${t.failed} failed${failures ? ` (${failures})` : ''}`,
    `  total time ${(options.elapsedMs / 1000).toFixed(1)} s`,
    '',
    `  logs       ${options.logDir}  (control-plane.log, one <device>.log per agent)`,
    `  data       ${options.workDir}  (control-plane/ store, keys and artifacts; agents/<device>/ each agent's config and data)`,
    '',
  );
  return lines.join('\n');
}
