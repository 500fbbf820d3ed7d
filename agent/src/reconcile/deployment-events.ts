import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { deploymentEventSchema, encodePayload, type DeploymentEvent } from '@edgefleet/shared';
import type { Outbox } from '../store/outbox.js';

/** The fields a caller gives; the journal adds deviceId, eventId, seq and at. */
export type DeploymentEventInput = DeploymentEvent extends infer E
  ? E extends DeploymentEvent
    ? Omit<E, 'deviceId' | 'eventId' | 'seq' | 'at'>
    : never
  : never;

export interface DeploymentJournal {
  /** Durably records the event (synchronous=FULL) and asks the publisher to send it. */
  emit(event: DeploymentEventInput): DeploymentEvent;
  /** The last events emitted in this process (newest last), for get-state/diagnostics. */
  recent(): DeploymentEvent[];
}

export const DEPLOYMENT_EVENT_KIND = 'deployment-event';

export function createDeploymentJournal({ deviceId, outbox, onEnqueued, logger }: { deviceId: string; outbox: Outbox; onEnqueued: () => void; logger: Logger }): DeploymentJournal {
  const recent: DeploymentEvent[] = [];
  return {
    emit(input) {
      let event: DeploymentEvent | undefined;
      outbox.enqueue(DEPLOYMENT_EVENT_KIND, 'events', (seq) => {
        event = deploymentEventSchema.parse({ ...input, deviceId, eventId: randomUUID(), seq, at: new Date().toISOString() });
        return encodePayload(deploymentEventSchema, event);
      });
      const e = event as unknown as DeploymentEvent;
      recent.push(e);
      if (recent.length > 100) recent.shift();
      logger.info({ event: { type: e.type, model: e.model, version: e.version, generation: e.generation, seq: e.seq } }, `deployment ${e.type}`);
      onEnqueued();
      return e;
    },
    recent: () => [...recent],
  };
}
