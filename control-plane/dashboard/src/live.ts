import type { ApiClient } from './api/client.js';
import type { RolloutEvent } from '@edgefleet/shared';
import { openEventStream, type EventStreamHandle, type StreamEvent } from './api/event-stream.js';

export type LiveState = 'connecting' | 'open' | 'closed';

/**
 * One app-wide server-sent-event connection, fanned out to whichever view is mounted. Views also
 * refresh on a timer, so a page whose resource has no events (device telemetry) still moves.
 */
export interface LiveBus {
  on(listener: (event: StreamEvent) => void): () => void;
  onState(listener: (state: LiveState) => void): () => void;
  state(): LiveState;
  close(): void;
}

export const ROLLOUT_EVENTS_PATH = '/rollouts/events';

export function createLiveBus(api: ApiClient, path = ROLLOUT_EVENTS_PATH): LiveBus {
  const listeners = new Set<(event: StreamEvent) => void>();
  const stateListeners = new Set<(state: LiveState) => void>();
  let current: LiveState = 'connecting';
  const stream: EventStreamHandle = openEventStream({
    api,
    path,
    onEvent: (event) => listeners.forEach((l) => l(event)),
    onState: (state) => {
      current = state;
      stateListeners.forEach((l) => l(state));
    },
  });
  return {
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onState(listener) {
      stateListeners.add(listener);
      listener(current);
      return () => stateListeners.delete(listener);
    },
    state: () => current,
    close: () => stream.close(),
  };
}

/** The rollout event an SSE message carries (its data is a RolloutEvent as JSON), or null for anything else. */
export function rolloutEventOf(e: StreamEvent): RolloutEvent | null {
  try {
    const parsed = JSON.parse(e.data) as RolloutEvent;
    return typeof parsed.rolloutId === 'string' && typeof parsed.type === 'string' ? parsed : null;
  } catch {
    return null;
  }
}
