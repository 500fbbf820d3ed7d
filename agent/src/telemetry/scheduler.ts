import cron from 'node-cron';
import { EdgefleetError } from '@edgefleet/shared';

/**
 * The schedule port: node-cron in production, a hand-cranked fake in tests (an hour offline is
 * 120 `fire()` calls, not an hour). Tasks never overlap themselves: a slow collection (a wedged
 * nvidia-smi) skips a tick instead of piling up.
 */
export interface Scheduler {
  schedule(expression: string, task: () => Promise<void>): ScheduledJob;
}

export interface ScheduledJob {
  stop(): Promise<void>;
}

export function assertValidSchedule(expression: string): void {
  const result = cron.validateDetailed(expression);
  if (!result.valid) {
    throw new EdgefleetError('SCHEDULE_INVALID', `invalid cron expression ${JSON.stringify(expression)}: ${result.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
  }
}

export interface CronSchedulerOptions {
  /** How often to compare the wall clock with the monotonic clock. @default 5000 */
  clockCheckMs?: number;
  /** A divergence above this is a clock step. @default 2000 */
  clockStepMs?: number;
  /** Called when a step re-arms the tasks (for logs). */
  onClockStep?: (stepMs: number) => void;
}

/**
 * node-cron arms a timer for the next matching wall-clock time. When the wall clock steps backwards
 * (NTP correcting a device that booted with a wrong RTC), that timer lies the size of the step in the
 * future and the schedule stalls for hours; a forward step skips ticks. A watchdog compares the wall
 * clock with the monotonic clock and, on a step, re-creates every task so node-cron computes its next
 * run from the new time.
 */
export function createCronScheduler(options: CronSchedulerOptions = {}): Scheduler {
  const { clockCheckMs = 5000, clockStepMs = 2000, onClockStep } = options;
  const tasks = new Set<{ arm(): void; job: ReturnType<typeof cron.schedule> }>();
  let watchdog: NodeJS.Timeout | undefined;
  let wallAtCheck = Date.now();
  let monoAtCheck = performance.now();

  const check = (): void => {
    const wall = Date.now();
    const mono = performance.now();
    const step = wall - wallAtCheck - (mono - monoAtCheck);
    wallAtCheck = wall;
    monoAtCheck = mono;
    if (Math.abs(step) <= clockStepMs) return;
    onClockStep?.(step);
    for (const t of tasks) t.arm();
  };

  return {
    schedule(expression, task) {
      assertValidSchedule(expression);
      const entry = {
        job: undefined as unknown as ReturnType<typeof cron.schedule>,
        arm() {
          // destroy, not stop: node-cron keeps every task in a module-level registry until destroyed.
          if (entry.job) void entry.job.destroy();
          entry.job = cron.schedule(expression, task, { noOverlap: true, unref: true });
        },
      };
      entry.arm();
      tasks.add(entry);
      if (!watchdog) {
        wallAtCheck = Date.now();
        monoAtCheck = performance.now();
        watchdog = setInterval(check, clockCheckMs).unref();
      }
      return {
        stop: async () => {
          tasks.delete(entry);
          if (tasks.size === 0 && watchdog) {
            clearInterval(watchdog);
            watchdog = undefined;
          }
          await entry.job.destroy();
        },
      };
    },
  };
}

export interface ManualScheduler extends Scheduler {
  /** Runs every scheduled task once, in order, and waits for them. */
  fire(): Promise<void>;
  /** Expressions currently scheduled. */
  expressions(): string[];
}

export function createManualScheduler(): ManualScheduler {
  const jobs = new Map<number, { expression: string; task: () => Promise<void> }>();
  let nextId = 0;
  return {
    schedule(expression, task) {
      assertValidSchedule(expression);
      const id = nextId++;
      jobs.set(id, { expression, task });
      return { stop: async () => void jobs.delete(id) };
    },
    async fire() {
      for (const { task } of [...jobs.values()]) await task();
    },
    expressions: () => [...jobs.values()].map((j) => j.expression),
  };
}
