import { describe, expect, it } from 'vitest';
import { nextCronMatch, nextNotifyTime, scheduledStart, validateSchedule, windowState } from './schedule.js';

const t = (iso: string): number => Date.parse(iso);

describe('maintenance windows', () => {
  const nightly = { cron: '0 2 * * *', durationMinutes: 120, timezone: 'Europe/Berlin' };

  it('is open from the cron start for its duration, in its time zone', () => {
    // 02:00 Berlin (CET, UTC+1) = 01:00 UTC.
    expect(windowState(nightly, t('2026-11-26T00:59:00Z'))).toEqual({ open: false, opensAtMs: t('2026-11-26T01:00:00Z') });
    expect(windowState(nightly, t('2026-11-26T01:00:00Z'))).toEqual({ open: true, closesAtMs: t('2026-11-26T03:00:00Z') });
    expect(windowState(nightly, t('2026-11-26T02:59:59Z')).open).toBe(true);
    expect(windowState(nightly, t('2026-11-26T03:00:00Z'))).toEqual({ open: false, opensAtMs: t('2026-11-27T01:00:00Z') });
  });

  it('follows daylight saving time', () => {
    // In July Berlin is UTC+2: 02:00 local = 00:00 UTC.
    expect(windowState(nightly, t('2026-07-01T00:30:00Z')).open).toBe(true);
    expect(windowState(nightly, t('2026-07-01T02:30:00Z')).open).toBe(false);
  });

  it('holds notifications until the window opens', () => {
    expect(nextNotifyTime(nightly, t('2026-11-26T12:00:00Z'))).toBe(t('2026-11-27T01:00:00Z'));
    expect(nextNotifyTime(undefined, 42)).toBe(42);
  });
});

describe('schedules', () => {
  it('starts at a time, at a cron match, or now', () => {
    const now = t('2026-11-26T06:00:30Z');
    expect(scheduledStart(undefined, now)).toBe(now);
    expect(scheduledStart({ startAt: '2026-11-26T08:00:00Z', timezone: 'UTC' }, now)).toBe(t('2026-11-26T08:00:00Z'));
    expect(scheduledStart({ startAt: '2020-01-01T00:00:00Z', timezone: 'UTC' }, now)).toBe(now);
    expect(scheduledStart({ cron: '*/15 * * * *', timezone: 'UTC' }, now)).toBe(t('2026-11-26T06:15:00Z'));
    expect(nextCronMatch('0 0 * * 1', 'UTC', now)).toBe(t('2026-11-30T00:00:00Z'));
  });

  it('rejects bad cron expressions and zones with SCHEDULE_INVALID', () => {
    expect(() => validateSchedule({ cron: 'not a cron', timezone: 'UTC' })).toThrow(expect.objectContaining({ code: 'SCHEDULE_INVALID' }));
    expect(() => validateSchedule({ timezone: 'UTC', window: { cron: '0 2 * * *', durationMinutes: 60, timezone: 'Mars/Olympus' } })).toThrow(/time zone/);
  });
});
