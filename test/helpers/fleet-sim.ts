/**
 * A fleet of simulated devices in this process, each a SimDevice speaking the real contract with
 * its own MQTT connection and device credentials. Used by the fleet benchmark and fault cases.
 *
 * @example
 *   const fleet = createFleetSim({ brokerUrl, devices: provisioned.map((p) => ({ deviceId: p.device.id, password: p.secret })) });
 *   const storm = await fleet.connectAll();          // { ms, connected, failed }
 *   const done = await fleet.waitForActive('det', '2', { timeoutMs: 60_000 });
 *   await fleet.close();
 */
import { newCounters, SimDevice, type SimCounters, type SimDeviceCredentials } from './sim-device.js';

export type { SimCounters, SimDeviceCredentials } from './sim-device.js';

export interface FleetSimOptions {
  brokerUrl: string;
  devices: readonly SimDeviceCredentials[];
  fleetPublicKey?: string;
  /** Connections opened at once during the storm. @default 100 */
  connectConcurrency?: number;
  /** @default 256 KiB, the contract's maximum */
  chunkBytes?: number;
  /** @default 8 */
  window?: number;
  /** @default 20000 */
  chunkTimeoutMs?: number;
  /** Telemetry period per device; 0 = none. @default 0 */
  telemetryIntervalMs?: number;
}

export interface ConnectStormResult {
  ms: number;
  connected: number;
  failed: number;
  /** Connections per second over the storm. */
  perSecond: number;
  firstError?: string;
}

export interface WaitResult {
  ms: number;
  active: number;
  /** Activation time of each device relative to the wait's start, sorted. */
  activationMs: number[];
}

export interface FleetSim {
  readonly size: number;
  readonly counters: SimCounters;
  connectAll(): Promise<ConnectStormResult>;
  /** Devices running `model@version` right now. */
  activeCount(model: string, version: string): number;
  /** Waits until `count` (default: every connected device) run `model@version`, or the timeout. */
  waitForActive(model: string, version: string, options: { timeoutMs: number; count?: number; sinceMs?: number }): Promise<WaitResult>;
  /** Telemetry batches sent so far with their send times, for lag measurement. */
  telemetrySent(): ReadonlyMap<string, number>;
  close(): Promise<void>;
}

export function createFleetSim(options: FleetSimOptions): FleetSim {
  const counters = newCounters();
  const activations = new Map<string, number>();
  const sent = new Map<string, number>();
  let waiters: (() => void)[] = [];
  const devices = options.devices.map(
    (credentials) =>
      new SimDevice({
        brokerUrl: options.brokerUrl,
        credentials,
        fleetPublicKey: options.fleetPublicKey,
        chunkBytes: options.chunkBytes ?? 256 * 1024,
        window: options.window ?? 8,
        chunkTimeoutMs: options.chunkTimeoutMs ?? 20_000,
        telemetryIntervalMs: options.telemetryIntervalMs ?? 0,
        counters,
        onActive(deviceId, model, version, atMs) {
          activations.set(`${deviceId}|${model}@${version}`, atMs);
          const ws = waiters;
          waiters = [];
          ws.forEach((w) => w());
        },
        onTelemetry(deviceId, seq, atMs) {
          sent.set(`${deviceId}|${seq}`, atMs);
        },
      }),
  );
  const connected = new Set<SimDevice>();

  return {
    size: devices.length,
    counters,
    async connectAll() {
      const started = Date.now();
      let next = 0;
      let failed = 0;
      let firstError: string | undefined;
      const worker = async (): Promise<void> => {
        while (next < devices.length) {
          const device = devices[next++] as SimDevice;
          try {
            await device.connect();
            connected.add(device);
          } catch (err) {
            failed += 1;
            firstError ??= `${device.deviceId}: ${String(err)}`;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(options.connectConcurrency ?? 100, devices.length) }, worker));
      const ms = Date.now() - started;
      return { ms, connected: connected.size, failed, perSecond: (connected.size / ms) * 1000, firstError };
    },
    activeCount(model, version) {
      return devices.filter((d) => d.activeVersion(model) === version).length;
    },
    async waitForActive(model, version, { timeoutMs, count, sinceMs }) {
      const started = sinceMs ?? Date.now();
      const want = count ?? connected.size;
      const deadline = Date.now() + timeoutMs;
      const key = `|${model}@${version}`;
      const done = (): number => devices.filter((d) => d.activeVersion(model) === version).length;
      while (done() < want && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      const activationMs = [...activations.entries()]
        .filter(([k]) => k.endsWith(key))
        .map(([, at]) => at - started)
        .sort((a, b) => a - b);
      return { ms: Date.now() - started, active: done(), activationMs };
    },
    telemetrySent: () => sent,
    async close() {
      // Closing 10,000 sockets at once is fine; awaiting each in turn is slow.
      await Promise.all(devices.map((d) => d.close()));
    },
  };
}
