import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAckWindow, nextToSend } from './ack-window.js';

describe('ack window', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('expires overdue entries by monotonic time: a wall-clock step back neither holds them nor a step forward floods', () => {
    // performance is faked too, but setSystemTime moves only the wall clock, as an NTP step does.
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout', 'performance'] });
    vi.setSystemTime(new Date('2026-11-26T12:00:00Z'));
    const expired: number[][] = [];
    const w = createAckWindow({ limit: 4, ackTimeoutMs: 10_000, onExpired: (seqs) => expired.push(seqs) });
    w.open(1);
    vi.setSystemTime(new Date('2026-11-26T09:00:00Z'));
    w.open(2);
    vi.advanceTimersByTime(9_999);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual([[1, 2]]);
    expect(w.size).toBe(0);

    w.open(3);
    vi.setSystemTime(new Date('2026-11-26T15:00:00Z'));
    vi.advanceTimersByTime(5_000);
    expect(expired).toHaveLength(1);
    expect(w.has(3)).toBe(true);
  });

  it('offers only entries not in flight, as many as the window has room for', () => {
    const w = createAckWindow({ limit: 3, ackTimeoutMs: 60_000, onExpired: () => undefined, now: () => 0 });
    const entries = [1, 2, 3, 4, 5].map((seq) => ({ seq }));
    w.open(1);
    expect(nextToSend(w, (limit) => entries.slice(0, limit)).map((e) => e.seq)).toEqual([2, 3]);
    w.close(1);
    w.clear();
    expect(nextToSend(w, (limit) => entries.slice(0, limit), 1).map((e) => e.seq)).toEqual([1]);
  });
});
