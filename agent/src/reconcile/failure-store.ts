import type { Logger } from 'pino';
import type { FailureRecord, StateStore } from '../store/state-store.js';
import { failureKey } from './plan.js';

/** Terminal deployment failures, durable in SQLite and still binding when SQLite cannot take them. */
export interface FailureStore {
  /** Persists a failure; never throws: a failure SQLite refuses (disk full) is kept in memory. */
  record(f: FailureRecord): void;
  get(model: string, version: string, sha256: string): FailureRecord | undefined;
  /** Failures held only in memory, waiting for SQLite. */
  unsaved(): number;
}

export function createFailureStore(store: Pick<StateStore, 'recordFailure' | 'failure'>, log: Logger): FailureStore {
  // Still terminal for their generation meanwhile, so the loop does not retry them.
  const unsaved = new Map<string, FailureRecord>();
  return {
    record(f) {
      const key = failureKey(f.model, f.version, f.sha256);
      try {
        store.recordFailure(f);
        unsaved.delete(key);
      } catch (err) {
        unsaved.set(key, f);
        log.error({ err, model: f.model, version: f.version }, 'could not persist a deployment failure; kept in memory');
      }
    },
    get: (model, version, sha256) => unsaved.get(failureKey(model, version, sha256)) ?? store.failure(model, version, sha256),
    unsaved: () => unsaved.size,
  };
}
