/**
 * A real control plane in this process for fault cases (embedded broker, SQLite, REST API, the
 * built-in plugins), with its log captured in memory so a case can count security records.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pino } from 'pino';
import { controlPlaneConfigSchema, type ProvisionedDevice } from '@edgefleet/shared';
import { builtinPlugins, createControlPlane, readAdminToken, type ControlPlane, type ControlPlanePlugin } from '@edgefleet/control-plane';
import { freePort } from '../../helpers/ports.js';
import { tmpDataDir, type TmpDir } from '../../helpers/tmp-dir.js';

export interface CpRig {
  cp: ControlPlane;
  dir: TmpDir;
  httpUrl: string;
  mqttUrl: string;
  adminToken: string;
  /** Every log line the control plane wrote, parsed. */
  logs: Record<string, unknown>[];
  provision(ids: string[]): Promise<ProvisionedDevice[]>;
  pushModel(name: string, version: string, bytes: Buffer): Promise<void>;
  close(): Promise<void>;
}

export async function startCpRig(options: { plugins?: readonly ControlPlanePlugin[]; logLevel?: 'info' | 'warn' } = {}): Promise<CpRig> {
  const dir = await tmpDataDir('fault-cp-');
  const config = controlPlaneConfigSchema.parse({
    dataDir: join(dir.path, 'cp'),
    http: { host: '127.0.0.1', port: await freePort() },
    mqtt: { host: '127.0.0.1', port: await freePort() },
    logLevel: options.logLevel ?? 'info',
  });
  mkdirSync(config.dataDir, { recursive: true });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          logs.push({ msg: line });
        }
      }
      done();
    },
  });
  const cp = createControlPlane({ config, logger: pino({ level: config.logLevel }, sink), plugins: options.plugins ?? builtinPlugins });
  await cp.start();
  const adminToken = await readAdminToken(config.dataDir);
  return {
    cp,
    dir,
    httpUrl: cp.urls.http,
    mqttUrl: cp.urls.mqtt,
    adminToken,
    logs,
    provision: (ids) => cp.devices.add(ids.map((id) => ({ id, tags: {} }))),
    async pushModel(name, version, bytes) {
      await cp.models.push({ name, version, content: Readable.from([bytes]), pushedBy: 'fault-campaign' });
    },
    async close() {
      await cp.stop();
      await dir.cleanup();
    },
  };
}
