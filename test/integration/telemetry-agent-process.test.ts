import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic, generateSigningKeyPair, parsePayload, telemetryBatchSchema, type TelemetryBatch } from '@edgefleet/shared';
import { startAedesBroker, type TestBroker } from '../helpers/aedes-broker.js';
import { ensureAgentBuilt, spawnAgent } from '../helpers/agent-process.js';
import { tmpDataDir, type TmpDir } from '../helpers/index.js';

/**
 * The real agent process (agent/dist/main.js) collects on its cron schedule from this machine's
 * /proc and /sys, and its batches survive a SIGKILL while the broker is down: after a restart
 * with the broker back, every seq written before the kill arrives.
 */
describe('telemetry from the real agent process', () => {
  let broker: TestBroker;
  let dir: TmpDir;
  const keys = generateSigningKeyPair();

  beforeAll(async () => {
    await ensureAgentBuilt();
    broker = await startAedesBroker();
    dir = await tmpDataDir('edgefleet-telemetry-agent-');
  });
  afterAll(async () => {
    await broker?.close();
    await dir?.cleanup();
  });

  it('sends machine telemetry every cycle and keeps batches across a SIGKILL while offline', async () => {
    const deviceId = `tele-proc-${randomBytes(4).toString('hex')}`;
    const batches = new Map<number, TelemetryBatch>();
    const observe = async () => {
      const observer = await mqtt.connectAsync(broker.url, { clientId: `obs-${randomBytes(4).toString('hex')}` });
      observer.on('message', (_t, payload) => {
        const b = parsePayload(telemetryBatchSchema, payload);
        batches.set(b.seq, b);
      });
      await observer.subscribeAsync(deviceTopic(deviceId, 'telemetry'), { qos: 1 });
      return observer;
    };
    let observer = await observe();
    const options = { deviceId, brokerUrl: broker.url, fleetPublicKey: keys.publicKeyPem, dataDir: dir.path, config: { telemetry: { schedule: '* * * * * *' } } };
    let agent = await spawnAgent(options);
    try {
      const deadline = Date.now() + 15_000;
      while (batches.size < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(batches.size).toBeGreaterThanOrEqual(3);
      const sample = [...batches.values()].at(-1)!.samples[0]!;
      expect(sample.memTotal).toBeGreaterThan(0);
      expect(sample.diskTotal).toBeGreaterThan(0);
      expect(sample.agentRss).toBeGreaterThan(20 * 1024 * 1024);
      expect(sample.cpu).toBeGreaterThanOrEqual(0);

      // Broker down: the agent keeps writing batches; then it is killed without a chance to drain.
      await observer.endAsync(true);
      await broker.stop();
      const downAt = Date.now();
      await new Promise((r) => setTimeout(r, 3_500));
      await agent.kill('SIGKILL');
      const killedAt = Date.now();
      await broker.restart();
      batches.clear();
      observer = await observe();
      agent = await spawnAgent(options);
      const until = Date.now() + 15_000;
      // Everything from the outage arrives after the restart, with no gap in the seqs.
      const contiguous = (): boolean => {
        const seqs = [...batches.keys()].sort((a, b) => a - b);
        return seqs.length >= 5 && seqs.every((s, i) => i === 0 || s === seqs[i - 1]! + 1);
      };
      while (!contiguous() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      const seqs = [...batches.keys()].sort((a, b) => a - b);
      expect(contiguous()).toBe(true);
      // Batches written while the broker was down, before the kill, arrived after the restart.
      const offline = seqs.filter((s) => {
        const at = Date.parse(batches.get(s)!.sentAt);
        return at >= downAt && at <= killedAt;
      });
      expect(offline.length).toBeGreaterThanOrEqual(2);
    } finally {
      await agent.stop().catch(() => undefined);
      await observer.endAsync(true);
    }
  });
});
