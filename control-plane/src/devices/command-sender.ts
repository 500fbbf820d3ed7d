import { randomUUID } from 'node:crypto';
import { EdgefleetError, commandRequestSchema, encodePayload, type CommandRequest, type CommandResult } from '@edgefleet/shared';
import type { DeviceBus } from '../broker/device-bus.js';
import type { Clock } from '../clock.js';
import type { Store } from '../store/store.js';

/** A command without its correlation id (the sender assigns one unless given). */
export type CommandInput = CommandRequest extends infer R ? (R extends { id: string } ? Omit<R, 'id'> & { id?: string } : never) : never;

export interface CommandSender {
  /**
   * Publishes the command and resolves with the device's result (ok or not). Rejects with
   * DEVICE_NOT_FOUND, or COMMAND_TIMEOUT when no result arrives within `timeoutMs` (default 30 s).
   */
  send(deviceId: string, command: CommandInput, options?: { timeoutMs?: number }): Promise<CommandResult>;
  close(): void;
}

export function createCommandSender({ store, bus, clock }: { store: Store; bus: DeviceBus; clock: Clock }): CommandSender {
  const pending = new Map<string, { deviceId: string; resolve: (r: CommandResult) => void }>();
  const off = bus.on('command-results', ({ deviceId, payload }) => {
    const waiter = pending.get(payload.id);
    // Only the device the command went to can answer it.
    if (waiter && waiter.deviceId === deviceId) waiter.resolve(payload);
  });
  return {
    async send(deviceId, command, options = {}) {
      if (!(await store.devices.get(deviceId))) throw new EdgefleetError('DEVICE_NOT_FOUND', `no device with id ${deviceId}`);
      const timeoutMs = options.timeoutMs ?? 30_000;
      const now = clock.now();
      const request = commandRequestSchema.parse({
        issuedAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + timeoutMs).toISOString(),
        ...command,
        id: command.id ?? randomUUID(),
      });
      return await new Promise<CommandResult>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(request.id);
          reject(new EdgefleetError('COMMAND_TIMEOUT', `device ${deviceId} did not answer ${request.type} within ${timeoutMs} ms`, { details: { deviceId, id: request.id } }));
        }, timeoutMs);
        pending.set(request.id, {
          deviceId,
          resolve: (result) => {
            clearTimeout(timer);
            pending.delete(request.id);
            resolve(result);
          },
        });
        bus.publish(deviceId, 'commands', encodePayload(commandRequestSchema, request)).catch((cause: unknown) => {
          clearTimeout(timer);
          pending.delete(request.id);
          reject(new EdgefleetError('BROKER_UNREACHABLE', `could not publish ${request.type} to ${deviceId}`, { cause }));
        });
      });
    },
    close() {
      off();
    },
  };
}
