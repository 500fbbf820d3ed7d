/**
 * `pnpm bench control-plane`: devices connecting and reporting state into the embedded broker
 * and the registry (simulated devices in this process, real MQTT over loopback, real SQLite).
 * The artifact service under 100 concurrent downloads (MQTT vs HTTP) is `pnpm bench delivery`.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { deviceTopic, encodePayload, reportedStateSchema } from '@edgefleet/shared';
import { startControlPlane, type TestControlPlane } from '../helpers/index.js';
import type { BenchResult } from './bench-result.js';

/** Connects in waves of 25, like a fleet coming back with jittered reconnects. */
async function connectAll(h: TestControlPlane, devices: { id: string; secret: string }[]): Promise<MqttClient[]> {
  const clients: MqttClient[] = [];
  for (let i = 0; i < devices.length; i += 25) {
    const wave = devices.slice(i, i + 25);
    clients.push(...(await Promise.all(wave.map((d) => mqtt.connectAsync(h.mqttUrl, { username: d.id, password: d.secret, clientId: d.id, reconnectPeriod: 0, connectTimeout: 60_000 })))));
  }
  return clients;
}

async function reportingBench(h: TestControlPlane, deviceCount: number, reportsPerDevice: number): Promise<Record<string, number>> {
  const t0 = performance.now();
  const created = await h.cp.devices.add(Array.from({ length: deviceCount }, (_, i) => ({ id: `sim-${i}`, tags: { bench: 'reporting' } })));
  const provisionS = (performance.now() - t0) / 1000;
  const devices = created.map((c) => ({ id: c.device.id, secret: c.secret }));
  const t1 = performance.now();
  const clients = await connectAll(h, devices);
  const connectS = (performance.now() - t1) / 1000;
  // Reconnect storm: credentials are cached after the first check.
  await Promise.all(clients.map((c) => c.endAsync(true)));
  const t2 = performance.now();
  const again = await connectAll(h, devices);
  const reconnectS = (performance.now() - t2) / 1000;

  const t3 = performance.now();
  for (let round = 1; round <= reportsPerDevice; round++) {
    await Promise.all(
      again.map((c, i) =>
        c.publishAsync(
          deviceTopic(devices[i]!.id, 'reported'),
          encodePayload(reportedStateSchema, { deviceId: devices[i]!.id, observedGeneration: round, appliedGeneration: round, agentVersion: 'bench', reportedAt: new Date().toISOString(), models: [{ name: 'm', installed: ['1'], active: '1', state: 'active' }] }),
          { qos: 1, retain: true },
        ),
      ),
    );
  }
  // Done when every device's last report is in the registry.
  for (;;) {
    const rows = await h.cp.store.devices.list();
    if (rows.filter((r) => r.reported?.observedGeneration === reportsPerDevice).length === deviceCount) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const reportS = (performance.now() - t3) / 1000;
  await Promise.all(again.map((c) => c.endAsync(true)));
  return {
    devices: deviceCount,
    provisionPerS: deviceCount / provisionS,
    firstConnectsPerS: deviceCount / connectS,
    reconnectsPerS: deviceCount / reconnectS,
    reportsPerS: (deviceCount * reportsPerDevice) / reportS,
  };
}

export async function run(options: { long?: boolean } = {}): Promise<BenchResult> {
  const h = await startControlPlane({ config: { logLevel: 'error' } });
  try {
    const reporting = await reportingBench(h, options.long ? 1000 : 200, 10);
    return {
      reporting,
      summary: [
        { metric: 'devices connecting (first, credential check)', value: reporting.firstConnectsPerS!, unit: 'devices/s', note: `${reporting.devices} devices` },
        { metric: 'devices reconnecting (cached credentials)', value: reporting.reconnectsPerS!, unit: 'devices/s' },
        { metric: 'reported states into the registry', value: reporting.reportsPerS!, unit: 'reports/s', note: 'MQTT QoS 1 → parse → SQLite' },
      ],
    };
  } finally {
    await h.close();
  }
}
