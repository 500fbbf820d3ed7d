import type { Logger } from 'pino';
import type { DeviceBus } from '../broker/device-bus.js';
import type { Clock } from '../clock.js';
import type { Store } from '../store/store.js';

/**
 * Keeps each device's online/offline status, last-seen time and reported state from the retained
 * `presence` (the agent's last will says offline) and `reported` channels.
 */
export function startPresenceTracker({ store, bus, clock, logger }: { store: Store; bus: DeviceBus; clock: Clock; logger: Logger }): () => void {
  const offPresence = bus.on('presence', async ({ deviceId, payload, retained }) => {
    if (!(await store.devices.get(deviceId))) return;
    // A retained replay at startup carries the time it was sent, not now.
    const at = payload.at ?? (retained ? undefined : clock.now().toISOString());
    await store.devices.setPresence(deviceId, payload.status, at ?? clock.now().toISOString(), payload.agentVersion);
    logger.debug({ deviceId, status: payload.status }, 'device presence');
  });
  const offReported = bus.on('reported', async ({ deviceId, payload }) => {
    if (!(await store.devices.get(deviceId))) return;
    await store.devices.setReported(deviceId, payload, clock.now().toISOString());
  });
  return () => {
    offPresence();
    offReported();
  };
}
