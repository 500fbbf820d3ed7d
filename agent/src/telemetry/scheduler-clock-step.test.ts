import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCronScheduler } from './scheduler.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('cron scheduler across wall-clock steps', () => {
  it('keeps firing after the wall clock steps back three hours', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    vi.setSystemTime(new Date('2026-11-26T12:00:00.500Z'));
    const steps: number[] = [];
    const scheduler = createCronScheduler({ clockCheckMs: 1000, onClockStep: (ms) => steps.push(ms) });
    let ticks = 0;
    const job = scheduler.schedule('* * * * * *', async () => {
      ticks++;
    });
    await vi.advanceTimersByTimeAsync(5000);
    const before = ticks;
    expect(before).toBeGreaterThanOrEqual(3);

    // An NTP correction: the wall clock jumps back while monotonic time keeps running.
    vi.setSystemTime(Date.now() - 3 * 3600_000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(steps).toHaveLength(1);
    expect(steps[0]).toBeLessThan(-3 * 3600_000 + 5000);
    expect(ticks - before).toBeGreaterThanOrEqual(6);
    await job.stop();
  });
});
