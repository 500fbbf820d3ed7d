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
  // The stream first replays history (it resumes from Last-Event-ID, or from the start); only
  // events newer than the connection are news worth a refresh, the views load the present anyway.
  let connectedAt = Date.now();
  const stream: EventStreamHandle = openEventStream({
    api,
    path,
    onEvent: (event) => {
      const at = Date.parse(rolloutEventOf(event)?.at ?? '');
      if (Number.isFinite(at) && at < connectedAt - 5000) return;
      listeners.forEach((l) => l(event));
    },
    onState: (state) => {
      if (state === 'open') connectedAt = Date.now();
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
