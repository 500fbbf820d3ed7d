import { EdgefleetError } from '@edgefleet/shared';

export type LifecycleState = 'created' | 'starting' | 'running' | 'draining' | 'stopped' | 'failed';

const ALLOWED: Record<LifecycleState, LifecycleState[]> = {
  created: ['starting', 'stopped'],
  starting: ['running', 'failed', 'draining'],
  running: ['draining', 'failed'],
  draining: ['stopped', 'failed'],
  stopped: [],
  failed: ['draining', 'stopped'],
};

export interface Lifecycle {
  readonly state: LifecycleState;
  /** Moves to `next`; throws LIFECYCLE_INVALID_STATE for a transition the machine does not allow. */
  to(next: LifecycleState): void;
  onChange(listener: (state: LifecycleState, previous: LifecycleState) => void): void;
}

export function createLifecycle(): Lifecycle {
  let state: LifecycleState = 'created';
  const listeners: ((s: LifecycleState, p: LifecycleState) => void)[] = [];
  return {
    get state() {
      return state;
    },
    to(next) {
      if (!ALLOWED[state].includes(next)) throw new EdgefleetError('LIFECYCLE_INVALID_STATE', `cannot go from ${state} to ${next}`);
      const previous = state;
      state = next;
      for (const l of listeners) l(next, previous);
    },
    onChange: (listener) => void listeners.push(listener),
  };
}

/**
 * Runs `work` but gives up after `ms`: resolves true when it finished, false on the deadline.
 * Shutdown steps use it so one stuck part can't hold the process past systemd's TimeoutStopSec.
 */
export async function withDeadline(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true as const), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
