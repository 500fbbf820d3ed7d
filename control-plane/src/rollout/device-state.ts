/**
 * Per-device rollout states (pure): how deployment events from the agent and deadlines move a
 * device, so a device that stops progressing is marked and counted and a rollout never hangs (issue 7).
 *
 *   pending → notified → downloading → installing → baking → succeeded
 *                 └──────────┴─────────────┴──────────┴──→ failed{code} | rolled-back | skipped{reason}
 */
import type { DeploymentEvent, DeviceRolloutState, SkipReason } from '@edgefleet/shared';

export interface DeviceProgress {
  state: DeviceRolloutState;
  /** The desired-state generation this rollout published to the device. */
  generation?: number;
}

export interface DeviceTransition {
  state: DeviceRolloutState;
  errorCode?: string;
  reason?: string;
}

const RANK: Record<DeviceRolloutState, number> = {
  pending: 0,
  notified: 1,
  downloading: 2,
  installing: 3,
  baking: 4,
  succeeded: 5,
  failed: 6,
  'rolled-back': 6,
  skipped: 6,
};

export const IN_FLIGHT_STATES: readonly DeviceRolloutState[] = ['notified', 'downloading', 'installing'];
export const TERMINAL_STATES: readonly DeviceRolloutState[] = ['succeeded', 'failed', 'rolled-back', 'skipped'];
/** States whose install is over (the wave's install gate counts them). */
export const FINISHED_STATES: readonly DeviceRolloutState[] = ['baking', 'succeeded', 'failed', 'rolled-back'];
export const FAILED_STATES: readonly DeviceRolloutState[] = ['failed', 'rolled-back'];

export function isTerminal(state: DeviceRolloutState): boolean {
  return TERMINAL_STATES.includes(state);
}

function eventState(event: DeploymentEvent): DeviceTransition {
  switch (event.type) {
    case 'queued':
      return { state: 'notified' };
    case 'downloading':
      return { state: 'downloading' };
    case 'verified':
    case 'loading':
    case 'smoke-testing':
      return { state: 'installing' };
    case 'active':
      return { state: 'baking' };
    case 'failed':
      return { state: 'failed', errorCode: event.error.code, reason: event.error.message };
    case 'rolled-back':
      return { state: 'rolled-back', errorCode: event.reason.code, reason: event.reason.message };
  }
}

/**
 * The transition a deployment event causes, or undefined when it changes nothing: events for an
 * older generation (retained replays, QoS 1 duplicates), for another version, and backward moves
 * are ignored, so handling is idempotent.
 */
export function transitionOnEvent(current: DeviceProgress, version: string, event: DeploymentEvent): DeviceTransition | undefined {
  if (event.version !== version) return undefined;
  if (current.generation === undefined || event.generation < current.generation) return undefined;
  if (current.state === 'pending' || isTerminal(current.state)) return undefined;
  const next = eventState(event);
  if (RANK[next.state] <= RANK[current.state]) return undefined;
  return next;
}

/** When a device in `state` entered at `enteredAtMs` must have moved on; undefined when it need not. */
export function deadlineFor(state: DeviceRolloutState, enteredAtMs: number, deviceDeadlineMs: number): number | undefined {
  return IN_FLIGHT_STATES.includes(state) ? enteredAtMs + deviceDeadlineMs : undefined;
}

/** A device past its deadline: offline ones are skipped (not the version's fault), online ones failed. */
export function transitionOnDeadline(online: boolean): DeviceTransition {
  return online
    ? { state: 'failed', errorCode: 'ROLLOUT_DEVICE_TIMEOUT', reason: 'the device stopped progressing before its deadline' }
    : { state: 'skipped', reason: 'offline' satisfies SkipReason };
}
