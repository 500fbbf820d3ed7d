/**
 * Fault case (issue 16): two control-plane replicas (`node control-plane/dist/main.js server`, the
 * shipped entry) on one fresh PostgreSQL database and a private Mosquitto with shared
 * subscriptions, five real agents, a rollout in three waves.
 *
 * 1. SIGKILL the replica holding the singleton lease mid-wave: the other must lead within the
 *    lease TTL (3 s here), the rollout completes, no device is notified twice, every deployment
 *    event an agent sent is acknowledged (stored) by the end, every device converges.
 * 2. SIGSTOP the leader mid-wave past the TTL, then SIGCONT it: the same goals, and 0 decisions in
 *    the rollout's event log by the frozen replica's term after it was frozen (events carry the
 *    replica and the fencing token of the term that decided them).
 *
 * "Notified twice" is counted twice: from the rollout's event log (device → notified) and on the
 * broker (a subscriber counting desired-state publishes that carry the version, per device).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { allDevicesFilter, deliveryAckSchema, deploymentEventSchema, desiredStateSchema, deviceListSchema, healthSchema, parseDeviceTopic, rolloutEventSchema, rolloutViewSchema, type Health, type RolloutEvent, type RolloutView } from '@edgefleet/shared';
import { createStore } from '@edgefleet/control-plane';
import { ensureAgentBuilt, spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { startControlPlane } from '../helpers/control-plane.js';
import { freePort, POSTGRES_URL, tmpDataDir, type TmpDir } from '../helpers/index.js';
import { addModel } from '../helpers/onnx-models.js';
import { describeNeeding } from '../setup/gate.js';
import { startMosquitto, type MosquittoProcess } from './lib/mosquitto.js';
import { recordFaultCase, repoRoot } from './lib/results.js';

const DEVICES = 5;
const TTL_MS = 3000;
const TERMINAL = ['succeeded', 'halted', 'rolled-back', 'aborted'];
const ids = Array.from({ length: DEVICES }, (_, i) => `rfo-${i}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Replica {
  id: string;
  httpPort: number;
  proc: ChildProcess;
  logs: Record<string, unknown>[];
}

/** What the broker saw: desired states carrying each version, per device; event seqs sent and acked. */
interface BrokerLedger {
  desired: Map<string, Map<string, Set<number>>>;
  desiredMessages: Map<string, number>;
  eventsSent: Map<string, Set<number>>;
  eventsAcked: Map<string, Set<number>>;
}

describeNeeding(['postgres', 'mosquitto'], 'two control-plane replicas on PostgreSQL and Mosquitto: the leader killed or frozen mid-wave', () => {
  const database = `edgefleet_faults_${process.pid}_${Date.now()}`;
  const dbUrl = (() => {
    const u = new URL(POSTGRES_URL);
    u.pathname = `/${database}`;
    return u.toString();
  })();
  let dir: TmpDir;
  let dataDir = '';
  let broker: MosquittoProcess;
  let observer: MqttClient;
  let token = '';
  const replicas = new Map<string, Replica>();
  const agents: AgentProcess[] = [];
  const ledger: BrokerLedger = { desired: new Map(), desiredMessages: new Map(), eventsSent: new Map(), eventsAcked: new Map() };

  async function startReplica(id: string, httpPort: number): Promise<Replica> {
    const args = [
      'control-plane/dist/main.js', 'server', '--data-dir', dataDir, '--http-host', '127.0.0.1', '--http-port', String(httpPort),
      '--mqtt-url', broker.url, '--shared-subscriptions', '--store', 'postgres', '--store-url', dbUrl,
      '--lease-ttl', String(TTL_MS), '--replica-id', id, '--log-level', 'info',
    ];
    const proc = spawn(process.execPath, args, { cwd: repoRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
    const replica: Replica = { id, httpPort, proc, logs: [] };
    let pending = '';
    proc.stdout?.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        try {
          replica.logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          replica.logs.push({ msg: line });
        }
      }
    });
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`replica ${id} exited ${proc.exitCode}: ${stderr.slice(-2000)}`);
      if (await health(replica).then(() => true, () => false)) break;
      if (Date.now() > deadline) throw new Error(`replica ${id} not ready: ${stderr.slice(-2000)}`);
      await sleep(200);
    }
    replicas.set(id, replica);
    return replica;
  }

  async function health(r: Replica): Promise<Health> {
    const response = await fetch(`http://127.0.0.1:${r.httpPort}/healthz`, { signal: AbortSignal.timeout(1000) });
    return healthSchema.parse(await response.json());
  }

  async function api(r: Replica, method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`http://127.0.0.1:${r.httpPort}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return await response.json();
  }

  async function leaderOf(candidates: readonly Replica[], timeoutMs = 10_000): Promise<{ leader: Replica; token: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const r of candidates) {
        const h = await health(r).catch(() => undefined);
        if (h?.lease?.leader && h.lease.token !== null) return { leader: r, token: h.lease.token };
      }
      if (Date.now() > deadline) throw new Error('no replica leads');
      await sleep(50);
    }
  }

  async function waitView(r: Replica, id: string, done: (v: RolloutView) => boolean, timeoutMs: number): Promise<RolloutView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = rolloutViewSchema.parse(await api(r, 'GET', `/rollouts/${id}?devices=true`));
      if (done(view) || Date.now() > deadline) return view;
      await sleep(50);
    }
  }

  const add = <K, V>(m: Map<K, Set<V>>, k: K, v: V): void => void (m.get(k) ?? m.set(k, new Set()).get(k)!).add(v);

  beforeAll(async () => {
    await ensureAgentBuilt();
    dir = await tmpDataDir('fault-replicas-');
    dataDir = join(dir.path, 'cp');
    mkdirSync(dataDir, { recursive: true });
    const admin = await createStore({ driver: 'postgres', url: POSTGRES_URL, dataDir: '/nonexistent' });
    await admin.sql.exec(`CREATE DATABASE ${database}`);
    await admin.close();
    // Mosquitto 2 has shared subscriptions on; the per-client queue must hold a wave's traffic.
    broker = await startMosquitto(dir.path, await freePort(), 10_000, ['max_inflight_messages 100', 'max_queued_bytes 0']);
    observer = await mqtt.connectAsync(broker.url, { clientId: `rfo-observer-${process.pid}`, reconnectPeriod: 200 });
    observer.on('message', (topic, payload, packet) => {
      const parsed = parseDeviceTopic(topic);
      if (!parsed || payload.length === 0) return;
      try {
        const json: unknown = JSON.parse(payload.toString('utf8'));
        if (parsed.channel === 'desired') {
          if (packet.retain) return;
          const state = desiredStateSchema.parse(json);
          ledger.desiredMessages.set(parsed.deviceId, (ledger.desiredMessages.get(parsed.deviceId) ?? 0) + 1);
          for (const m of state.models) {
            const perVersion = ledger.desired.get(parsed.deviceId) ?? ledger.desired.set(parsed.deviceId, new Map()).get(parsed.deviceId)!;
            add(perVersion, `${m.name}@${m.version}`, state.generation);
          }
        } else if (parsed.channel === 'events') {
          add(ledger.eventsSent, parsed.deviceId, deploymentEventSchema.parse(json).seq);
        } else if (parsed.channel === 'acks') {
          const ack = deliveryAckSchema.parse(json);
          if (ack.channel === 'events') for (const seq of ack.seqs) add(ledger.eventsAcked, parsed.deviceId, seq);
        }
      } catch {
        // Counted by the goals: a message the contract refuses is not a notification nor an ack.
      }
    });
    await observer.subscribeAsync([allDevicesFilter('desired'), allDevicesFilter('events'), allDevicesFilter('acks')], { qos: 1 });

    // Registry set-up through the library on the same database and data dir; then the replicas take over.
    const setup = await startControlPlane({ dataDir, config: { store: { driver: 'postgres', url: dbUrl }, mqtt: { url: broker.url } } });
    for (const v of ['1.0.0', '2.0.0', '3.0.0']) await setup.pushModel({ name: 'adder', version: v, bytes: addModel({ addend: Number(v[0]) }) });
    const devices = await Promise.all(ids.map((id) => setup.provisionDevice(id, { site: 'lab' })));
    const publicKey = setup.fleetPublicKeyPem;
    token = setup.adminToken;
    await setup.close();
    // One after the other: the first runs the rollout and lease migrations on the fresh database.
    await startReplica('cp-a', await freePort());
    await startReplica('cp-b', await freePort());
    for (const d of devices) {
      agents.push(await spawnAgent({ deviceId: d.id, brokerUrl: broker.url, fleetPublicKey: publicKey, dataDir: join(dir.path, d.id), config: { broker: { url: broker.url, username: d.id, password: d.secret, reconnectMinMs: 200, reconnectMaxMs: 1000 } } }));
    }
    const [any] = [...replicas.values()];
    const first = rolloutViewSchema.parse(await api(any!, 'POST', '/rollouts', { model: 'adder', version: '1.0.0', target: { kind: 'tags', tags: { site: 'lab' } }, strategy: { ratePerMinute: 0, deviceDeadlineMs: 60_000, waves: [{ percent: 100 }], bakeMs: 0 } }));
    const done = await waitView(any!, first.id, (v) => TERMINAL.includes(v.state), 90_000);
    if (done.state !== 'succeeded') throw new Error(`baseline rollout ended ${done.state}: ${JSON.stringify(done.halt)}`);
  }, 240_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop().catch(() => a.kill())));
    for (const r of replicas.values()) {
      if (r.proc.exitCode === null && r.proc.signalCode === null) {
        r.proc.kill('SIGCONT');
        r.proc.kill('SIGKILL');
      }
    }
    await observer?.endAsync(true);
    broker?.proc.kill('SIGKILL');
    const admin = await createStore({ driver: 'postgres', url: POSTGRES_URL, dataDir: '/nonexistent' }).catch(() => undefined);
    await admin?.sql.exec(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    await admin?.close();
    await dir?.cleanup();
  });

  /** The goals both runs share: takeover within the TTL, the rollout completes, nothing twice, nothing lost. */
  function failoverGoals(r: Awaited<ReturnType<typeof faultRun>>) {
    return [
      { name: 'the other replica leads within the lease TTL (ms)', value: r.failoverMs, target: `≤ ${TTL_MS} + 500`, met: r.failoverMs <= TTL_MS + 500 },
      { name: 'rollout succeeded', value: r.view.state === 'succeeded' ? 1 : 0, target: '= 1', met: r.view.state === 'succeeded' },
      { name: 'devices converged to the new version', value: r.converged, target: `= ${DEVICES}`, met: r.converged === DEVICES },
      { name: 'devices notified twice (event log or broker)', value: r.notifiedTwice, target: '= 0', met: r.notifiedTwice === 0 },
      { name: 'deployment events never acknowledged (lost)', value: r.eventsLost, target: '= 0', met: r.eventsLost === 0 },
    ];
  }

  /**
   * Runs a 3-wave rollout of `version`, applies `fault` to the leader once wave 1 has a device past
   * pending, and measures and checks the outcome from the survivor.
   */
  async function faultRun(version: string, fault: (leader: Replica) => Promise<string | undefined>) {
    const live = [...replicas.values()].filter((r) => r.proc.exitCode === null && r.proc.signalCode === null);
    const { leader, token: leaderToken } = await leaderOf(live);
    const follower = live.find((r) => r !== leader)!;
    const created = rolloutViewSchema.parse(
      await api(follower, 'POST', '/rollouts', { model: 'adder', version, target: { kind: 'tags', tags: { site: 'lab' } }, strategy: { ratePerMinute: 0, deviceDeadlineMs: 60_000, waves: [{ count: 1 }, { count: 2 }, { percent: 100 }], bakeMs: 1500 } }),
    );
    const atFault = await waitView(follower, created.id, (v) => (v.devices ?? []).some((d) => d.wave === 1 && d.state !== 'pending'), 90_000);
    const faultAt = performance.now();
    // Polled while the fault runs: a frozen leader is woken again inside fault().
    const takeover = leaderOf([follower], 4 * TTL_MS).then((t) => ({ ...t, ms: Math.round(performance.now() - faultAt) }));
    const wokeIso = await fault(leader);
    const taken = await takeover;
    const failoverMs = taken.ms;

    const view = await waitView(follower, created.id, (v) => TERMINAL.includes(v.state), 120_000);
    // Every deployment event an agent sent must end acknowledged (stored); a lost ack is resent after the agent's 10 s ack timeout.
    const unacked = (): number => ids.reduce((n, id) => n + [...(ledger.eventsSent.get(id) ?? [])].filter((s) => !ledger.eventsAcked.get(id)?.has(s)).length, 0);
    const ackDeadline = Date.now() + 30_000;
    while (unacked() > 0 && Date.now() < ackDeadline) await sleep(250);
    const convergeDeadline = Date.now() + 30_000;
    let converged = 0;
    for (;;) {
      const { devices } = deviceListSchema.parse(await api(follower, 'GET', '/devices'));
      converged = devices.filter((d) => ids.includes(d.id) && d.models.adder === version).length;
      if (converged === DEVICES || Date.now() > convergeDeadline) break;
      await sleep(250);
    }
    const { events } = (await api(follower, 'GET', `/rollouts/${created.id}/events?limit=5000`)) as { events: unknown[] };
    const log: RolloutEvent[] = events.map((e) => rolloutEventSchema.parse(e));
    const notifiedInLog = new Map<string, number>();
    for (const e of log.filter((x) => x.type === 'device' && x.data.to === 'notified')) notifiedInLog.set(String(e.data.deviceId), (notifiedInLog.get(String(e.data.deviceId)) ?? 0) + 1);
    const publishesOf = (id: string): number => ledger.desired.get(id)?.get(`adder@${version}`)?.size ?? 0;
    const notifiedTwice = ids.filter((id) => (notifiedInLog.get(id) ?? 0) > 1 || publishesOf(id) > 1).length;
    const activations = agents.map((a) => a.logs.filter((l) => l.msg === 'deployment active' && (l.event as { version?: string } | undefined)?.version === version).length);
    const stamped = (e: RolloutEvent): { replica: string; token: number } | undefined => e.data.lease as { replica: string; token: number } | undefined;
    // A stale decision: one recorded under the old term after the new term's first, or after the old leader woke.
    const firstOfNewTerm = Math.min(...log.filter((e) => stamped(e)?.token === taken.token).map((e) => e.id));
    const staleDecisions = log.filter((e) => stamped(e)?.token === leaderToken && (e.id > firstOfNewTerm || (wokeIso !== undefined && e.at >= wokeIso))).length;
    const byTerm: Record<string, number> = {};
    for (const e of log) {
      const s = stamped(e);
      if (s) byTerm[`${s.replica}#${s.token}`] = (byTerm[`${s.replica}#${s.token}`] ?? 0) + 1;
    }
    return {
      view,
      leader,
      leaderToken,
      follower,
      newToken: taken.token,
      failoverMs,
      converged,
      notifiedTwice,
      activations,
      eventsSent: ids.reduce((n, id) => n + (ledger.eventsSent.get(id)?.size ?? 0), 0),
      eventsLost: unacked(),
      staleDecisions,
      byTerm,
      wave1AtFault: (atFault.devices ?? []).filter((d) => d.wave === 1).map((d) => d.state),
    };
  }

  it('SIGKILL of the leader mid-wave: the other replica leads within the TTL and finishes the rollout', { timeout: 300_000 }, async () => {
    const started = Date.now();
    const r = await faultRun('2.0.0', async (leader) => {
      leader.proc.kill('SIGKILL');
      await new Promise((resolve) => leader.proc.once('exit', resolve));
      return undefined;
    });
    const goals = [
      ...failoverGoals(r),
    ];
    recordFaultCase(
      'replica-failover-sigkill',
      {
        title: 'Two control-plane replicas on PostgreSQL + Mosquitto: the lease holder SIGKILLed mid-wave (lease TTL 3 s)',
        counts: {
          agents: DEVICES,
          'failover ms (kill → other replica leads)': r.failoverMs,
          'fencing token of the killed term': r.leaderToken,
          'fencing token of the new term': r.newToken,
          'wave-1 devices past pending at the kill': r.wave1AtFault.filter((s) => s !== 'pending').length,
          'deployment events sent by agents': r.eventsSent,
          'devices that activated the version exactly once': r.activations.filter((n) => n === 1).length,
        },
        goals,
        notes: [`Killed ${r.leader.id} (token ${r.leaderToken}); ${r.follower.id} took over with token ${r.newToken} after ${r.failoverMs} ms. Decisions per term: ${JSON.stringify(r.byTerm)}. Rollout ended ${r.view.state}.`],
      },
      started,
    );
    expect(r.failoverMs).toBeLessThanOrEqual(TTL_MS + 500);
    expect(r.newToken).toBeGreaterThan(r.leaderToken);
    expect(r.view.state).toBe('succeeded');
    expect(r.converged).toBe(DEVICES);
    expect(r.notifiedTwice).toBe(0);
    expect(r.eventsLost).toBe(0);
    expect(r.activations).toEqual(ids.map(() => 1));
  });

  it('SIGSTOP of the leader past the TTL, then SIGCONT: the frozen replica takes no decision after it wakes', { timeout: 300_000 }, async () => {
    const started = Date.now();
    // The killed replica comes back as a follower (the survivor leads), so there are two again.
    const dead = [...replicas.values()].find((x) => x.proc.exitCode !== null || x.proc.signalCode !== null);
    if (dead) await startReplica(dead.id, dead.httpPort);
    let stoodDownMs = -1;
    let frozen: Replica | undefined;
    const r = await faultRun('3.0.0', async (leader) => {
      frozen = leader;
      leader.proc.kill('SIGSTOP');
      await sleep(2 * TTL_MS);
      const wokeIso = new Date().toISOString();
      leader.proc.kill('SIGCONT');
      const woke = performance.now();
      for (;;) {
        const h = await health(leader).catch(() => undefined);
        if (h?.lease && !h.lease.leader) break;
        if (performance.now() - woke > 5000) break;
        await sleep(20);
      }
      stoodDownMs = Math.round(performance.now() - woke);
      return wokeIso;
    });
    const standDownLogged = frozen!.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('not holding the singleton lease'));
    const goals = [
      { name: 'decisions by the frozen replica’s term after it was frozen', value: r.staleDecisions, target: '= 0', met: r.staleDecisions === 0 },
      ...failoverGoals(r),
    ];
    recordFaultCase(
      'replica-failover-sigstop',
      {
        title: 'Two control-plane replicas on PostgreSQL + Mosquitto: the lease holder SIGSTOPped mid-wave for 2 × TTL, then SIGCONT',
        counts: {
          agents: DEVICES,
          'failover ms (stop → other replica leads)': r.failoverMs,
          'ms from SIGCONT until the woken replica reports it does not lead': stoodDownMs,
          'decisions by the frozen term in the event log, all time': r.byTerm[`${r.leader.id}#${r.leaderToken}`] ?? 0,
          'deployment events sent by agents': r.eventsSent,
        },
        goals,
        notes: [
          `Froze ${r.leader.id} (token ${r.leaderToken}) for ${2 * TTL_MS} ms; ${r.follower.id} leads with token ${r.newToken}. Stand-down logged by the woken replica: ${standDownLogged}. Decisions per term: ${JSON.stringify(r.byTerm)}.`,
        ],
      },
      started,
    );
    expect(r.staleDecisions).toBe(0);
    expect(r.newToken).toBeGreaterThan(r.leaderToken);
    expect(r.failoverMs).toBeLessThanOrEqual(TTL_MS + 500);
    expect(standDownLogged).toBe(true);
    expect(r.view.state).toBe('succeeded');
    expect(r.converged).toBe(DEVICES);
    expect(r.notifiedTwice).toBe(0);
    expect(r.eventsLost).toBe(0);
    expect(r.activations).toEqual(ids.map(() => 1));
  });
});
