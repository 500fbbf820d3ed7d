/**
 * Outbox entries published and not yet acknowledged by the control plane (issue 10), bounded so a
 * long offline backlog drains oldest first a window at a time instead of flooding the link. An
 * entry whose ack is overdue leaves the window, so the next flush publishes it again.
 */
export interface AckWindow {
  readonly size: number;
  /** How many more entries may be published now. */
  free(): number;
  has(seq: number): boolean;
  /** A publish of `seq` starts; the control plane's ack is due within the ack timeout. */
  open(seq: number): void;
  /** `seq` leaves the window (acknowledged, or its publish failed); false when it was not in it. */
  close(seq: number): boolean;
  /** A new connection: everything in flight is published again. */
  clear(): void;
}

export interface AckWindowOptions {
  /** Entries in flight at most. */
  limit: number;
  ackTimeoutMs: number;
  /** Called with the seqs whose ack is overdue (already out of the window). */
  onExpired(seqs: number[]): void;
  now?: () => number;
}

export function createAckWindow(options: AckWindowOptions): AckWindow {
  const { limit, ackTimeoutMs } = options;
  // Monotonic: an NTP step of the wall clock must neither hold entries for hours nor re-send them all at once.
  const now = options.now ?? (() => performance.now());
  // Insertion order is deadline order: every entry gets the same timeout when it opens.
  const deadlines = new Map<number, number>();
  let timer: NodeJS.Timeout | undefined;

  function schedule(): void {
    if (timer || deadlines.size === 0) return;
    const first = deadlines.values().next().value as number;
    timer = setTimeout(expire, Math.max(0, first - now()));
    // An agent that only waits for acks must still be able to exit.
    timer.unref();
  }

  function expire(): void {
    timer = undefined;
    const at = now();
    const expired: number[] = [];
    for (const [seq, deadline] of deadlines) {
      if (deadline > at) break;
      expired.push(seq);
    }
    for (const seq of expired) deadlines.delete(seq);
    schedule();
    if (expired.length > 0) options.onExpired(expired);
  }

  return {
    get size() {
      return deadlines.size;
    },
    free: () => Math.max(0, limit - deadlines.size),
    has: (seq) => deadlines.has(seq),
    open(seq) {
      deadlines.delete(seq);
      deadlines.set(seq, now() + ackTimeoutMs);
      schedule();
    },
    close: (seq) => deadlines.delete(seq),
    clear() {
      deadlines.clear();
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** The oldest `entries` not in flight, as many as the window has room for. */
export function nextToSend<E extends { seq: number }>(window: AckWindow, peek: (limit: number) => E[], max = Infinity): E[] {
  const room = Math.min(window.free(), max);
  if (room <= 0) return [];
  return peek(window.size + room)
    .filter((e) => !window.has(e.seq))
    .slice(0, room);
}
