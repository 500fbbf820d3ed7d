/**
 * Schedules and maintenance windows (pure over an injected time): start at a time or at the next
 * match of a cron expression; notify devices only inside a window (cron start + duration, time-zone
 * aware, as AWS IoT Jobs and hawkBit define it). Cron matching is node-cron's, minute resolution.
 */
import { EdgefleetError } from '@edgefleet/shared';
import type { MaintenanceWindow, RolloutSchedule } from '@edgefleet/shared';
import cron from 'node-cron';

const MINUTE_MS = 60_000;
/** How far ahead a cron start or window opening is searched. */
export const SEARCH_HORIZON_MS = 35 * 24 * 60 * MINUTE_MS;

type Matcher = (atMs: number) => boolean;

export function cronMatcher(expression: string, timezone = 'UTC'): Matcher {
  const detail = cron.validateDetailed(expression);
  if (!detail.valid) {
    throw new EdgefleetError('SCHEDULE_INVALID', `cron expression ${JSON.stringify(expression)}: ${detail.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
  }
  if (!isValidTimezone(timezone)) throw new EdgefleetError('SCHEDULE_INVALID', `unknown time zone ${JSON.stringify(timezone)}`);
  // A task that is created but never started only matches dates; destroy it so node-cron's registry stays empty.
  const task = cron.createTask(expression, () => undefined, { timezone });
  void task.destroy();
  return (atMs) => task.match(new Date(atMs));
}

export function isValidTimezone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

function floorMinute(ms: number): number {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

/** The first minute at or after `fromMs` the expression matches, within the horizon. */
export function nextCronMatch(expression: string, timezone: string, fromMs: number, horizonMs = SEARCH_HORIZON_MS): number | undefined {
  const matches = cronMatcher(expression, timezone);
  const start = Math.ceil(fromMs / MINUTE_MS) * MINUTE_MS;
  for (let t = start; t <= fromMs + horizonMs; t += MINUTE_MS) if (matches(t)) return t;
  return undefined;
}

export interface WindowState {
  open: boolean;
  /** When open: the end of the current window. */
  closesAtMs?: number;
  /** When closed: the next opening within the horizon. */
  opensAtMs?: number;
}

/** Whether `atMs` lies inside the window (a start matched within the last `durationMinutes`). */
export function windowState(window: MaintenanceWindow, atMs: number, horizonMs = SEARCH_HORIZON_MS): WindowState {
  const matches = cronMatcher(window.cron, window.timezone);
  const now = floorMinute(atMs);
  const durationMs = window.durationMinutes * MINUTE_MS;
  for (let t = now; t > now - durationMs; t -= MINUTE_MS) {
    if (matches(t)) return { open: true, closesAtMs: t + durationMs };
  }
  for (let t = now + MINUTE_MS; t <= now + horizonMs; t += MINUTE_MS) {
    if (matches(t)) return { open: false, opensAtMs: t };
  }
  return { open: false };
}

/** Validates every expression and zone of a schedule up front (bad input never reaches the engine). */
export function validateSchedule(schedule: RolloutSchedule | undefined): void {
  if (!schedule) return;
  if (schedule.cron) cronMatcher(schedule.cron, schedule.timezone);
  if (schedule.window) cronMatcher(schedule.window.cron, schedule.window.timezone);
}

/** When a rollout created at `createdAtMs` may start (before any window is applied). */
export function scheduledStart(schedule: RolloutSchedule | undefined, createdAtMs: number): number {
  if (!schedule) return createdAtMs;
  let at = schedule.startAt ? Math.max(createdAtMs, Date.parse(schedule.startAt)) : createdAtMs;
  if (schedule.cron) {
    const next = nextCronMatch(schedule.cron, schedule.timezone, at);
    if (next === undefined) throw new EdgefleetError('SCHEDULE_INVALID', `cron expression ${JSON.stringify(schedule.cron)} does not match within ${SEARCH_HORIZON_MS / 86_400_000} days`);
    at = next;
  }
  return at;
}

/** The first time at or after `atMs` a device may be notified. */
export function nextNotifyTime(window: MaintenanceWindow | undefined, atMs: number): number | undefined {
  if (!window) return atMs;
  const state = windowState(window, atMs);
  return state.open ? atMs : state.opensAtMs;
}
