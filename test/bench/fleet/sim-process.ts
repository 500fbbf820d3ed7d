/**
 * Runs a FleetSim (test/helpers/fleet-sim.ts) in a child process and drives it over IPC, so the
 * simulated devices and the control plane under test never share an event loop.
 *
 * @example
 *   const sim = await startSimProcess({ brokerUrl, devices, telemetryIntervalMs: 30_000 });
 *   const storm = await sim.connectAll();
 *   const done = await sim.waitForActive({ model: 'det', version: '2', timeoutMs: 60_000 });
 *   await sim.close();
 */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConnectStormResult, FleetSimOptions, SimCounters, WaitResult } from '../../helpers/fleet-sim.js';
import type { SimOp, SimRequests, SimResponse } from './sim-protocol.js';

export interface SimProcess {
  readonly pid: number;
  connectAll(): Promise<ConnectStormResult>;
  waitForActive(args: SimRequests['waitForActive']['args']): Promise<WaitResult>;
  counters(): Promise<SimCounters>;
  /** Closes every simulated connection, then ends the child. */
  close(): Promise<void>;
}

export async function startSimProcess(options: FleetSimOptions): Promise<SimProcess> {
  const entry = join(dirname(fileURLToPath(import.meta.url)), 'sim-child.js');
  // 10,000 MQTT.js clients keep ~1 GB of heap at the peak of a rollout.
  const child: ChildProcess = fork(entry, [], { execArgv: ['--max-old-space-size=4096'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  let nextId = 0;
  let exited: Error | undefined;
  child.on('message', (m: SimResponse) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(new Error(`simulator: ${m.error}`));
  });
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = new Error(`simulator process exited (code ${code}, signal ${signal})`);
      for (const p of pending.values()) p.reject(exited);
      pending.clear();
      resolve();
    });
  });
  const call = <O extends SimOp>(op: O, args: SimRequests[O]['args']): Promise<SimRequests[O]['result']> => {
    if (exited) return Promise.reject(exited);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      child.send({ id, op, args });
    });
  };
  await call('init', options);
  return {
    pid: child.pid as number,
    connectAll: () => call('connectAll', {}),
    waitForActive: (args) => call('waitForActive', args),
    counters: () => call('counters', {}),
    async close() {
      if (!exited) {
        await call('close', {}).catch(() => undefined);
        child.disconnect();
      }
      await exit;
    },
  };
}
