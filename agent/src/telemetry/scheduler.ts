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

export function createCronScheduler(): Scheduler {
  return {
    schedule(expression, task) {
      assertValidSchedule(expression);
      const job = cron.schedule(expression, task, { noOverlap: true, unref: true });
      // destroy, not stop: node-cron keeps every task in a module-level registry until destroyed.
      return { stop: async () => void (await job.destroy()) };
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
