/**
 * Fault case: 10,000 fuzzed MQTT payloads (100,000 with EDGEFLEET_FAULTS_LONG=1) at a real agent's
 * inbound topics (desired, commands, artifact-chunks, acks): structured mutations of valid contract
 * payloads, binary garbage, huge strings, wrong types, prototype keys, other devices' ids. The
 * agent must not crash, must answer every command whose id it can read, must keep serving its model
 * and must still converge to a real desired state afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '@edgefleet/shared';
import { ensureAgentBuilt, spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { tmpDataDir, type TmpDir } from '../helpers/tmp-dir.js';
import { startAgentRig, type AgentRig } from './lib/agent-rig.js';
import { countMutations, mqttFuzzMessages, type FuzzedMessage } from './lib/mqtt-fuzz.js';
import { faultsLong, recordFaultCase } from './lib/results.js';

const COUNT = faultsLong() ? 100_000 : 10_000;
let rig: AgentRig;
let dir: TmpDir;
let agent: AgentProcess | undefined;

beforeAll(async () => {
  await ensureAgentBuilt();
  rig = await startAgentRig();
  dir = await tmpDataDir('fault-fuzz-agent-');
});

afterAll(async () => {
  await agent?.stop().catch(() => undefined);
  await rig?.close();
  await dir?.cleanup();
});

describe('fuzzed MQTT payloads at the agent', () => {
  it(`${COUNT.toLocaleString('en-US')} payloads: no crash, commands answered, model kept, converges after`, async () => {
    const started = Date.now();
    const deviceId = 'fuzz-agent-1';
    const v1 = rig.addModelVersion('adder', '1.0.1', 1);
    agent = await spawnAgent({ deviceId, brokerUrl: rig.broker.url, fleetPublicKey: rig.keys.publicKeyPem, dataDir: dir.path, config: { logLevel: 'info' } });
    const g1 = await rig.desire(deviceId, [v1]);
    await rig.waitReport(deviceId, (r) => r.appliedGeneration >= g1 && r.models.some((m) => m.active === v1.version), 60_000);

    const messages: FuzzedMessage[] = [...mqttFuzzMessages({ seed: 4242, count: COUNT, target: 'agent', deviceId, otherDeviceId: 'fuzz-agent-2' })];
    const rec = rig.device(deviceId);
    const resultsBefore = rec.results.size;
    // Bounded batches: QoS 1 to the agent's QoS 1 subscriptions, so every payload is delivered.
    for (let i = 0; i < messages.length; i += 100) {
      await Promise.all(messages.slice(i, i + 100).map((m) => rig.observer.publishAsync(deviceTopic(deviceId, m.channel), m.payload, { qos: 1 })));
    }
    // Commands whose id is readable should each get a result; give the agent time to work through them.
    const readableCommandIds = new Set<string>();
    for (const m of messages.filter((x) => x.channel === 'commands')) {
      try {
        const id = (JSON.parse(m.payload.toString('utf8')) as { id?: unknown }).id;
        if (typeof id === 'string' && id.length > 0 && id.length <= 128) readableCommandIds.add(id);
      } catch {
        // unreadable: no id to answer to
      }
    }
    const alive = (): boolean => agent!.child.exitCode === null && agent!.child.signalCode === null;
    const ping = await rig.command(deviceId, { type: 'ping' }, 60_000);
    const answered = [...readableCommandIds].filter((id) => rec.results.has(id)).length;
    const refusedResults = [...rec.results.values()].filter((r) => !r.ok && r.error?.code).length;
    const desiredRejections = agent.logs.filter((l) => l.msg === 'rejected a desired state').length;

    // A real desired state with a generation above anything the fuzz could have sent.
    const v2 = rig.addModelVersion('adder', '1.0.2', 2);
    const g2 = await rig.desire(deviceId, [v2], Number.MAX_SAFE_INTEGER - 1);
    const converged = await rig
      .waitReport(deviceId, (r) => r.appliedGeneration >= g2 && r.models.some((m) => m.active === v2.version && m.state === 'active'), 60_000)
      .then(() => true)
      .catch(() => false);
    const served = (await rig.inferAddend(deviceId, 'adder')).addend;

    const counts: Record<string, number> = {
      payloads: messages.length,
      'command payloads with a readable id': readableCommandIds.size,
      'of those answered with a result': answered,
      'results with ok=false and an error code': refusedResults,
      'desired states rejected (logged with a code)': desiredRejections,
      'command results before fuzzing': resultsBefore,
      ...Object.fromEntries(Object.entries(countMutations(messages)).map(([k, v]) => [`mutation ${k}`, v])),
    };
    const crashes = alive() ? 0 : 1;
    recordFaultCase(
      'mqtt-fuzz-agent',
      {
        title: `${COUNT.toLocaleString('en-US')} fuzzed MQTT payloads at a real agent`,
        counts,
        goals: [
          { name: 'agent crashes', value: crashes, target: '= 0', met: crashes === 0 },
          { name: 'ping answered after the fuzz', value: ping?.ok ? 1 : 0, target: '= 1', met: ping?.ok === true },
          { name: 'commands with a readable id answered', value: readableCommandIds.size ? answered / readableCommandIds.size : 1, target: '100 %', met: answered === readableCommandIds.size },
          { name: 'converged to a real desired state afterwards', value: converged && served === 2 ? 1 : 0, target: '= 1', met: converged && served === 2 },
        ],
      },
      started,
    );
    expect(crashes).toBe(0);
    expect(ping?.ok).toBe(true);
    expect(answered).toBe(readableCommandIds.size);
    expect(converged).toBe(true);
    expect(served).toBe(2);
  });
});
