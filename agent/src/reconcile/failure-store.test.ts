import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { FailureRecord } from '../store/state-store.js';
import { createFailureStore } from './failure-store.js';

const f = (generation: number): FailureRecord => ({ model: 'm', version: '2', sha256: 's', generation, error: { code: 'SMOKE_TEST_FAILED', message: 'x' }, at: '2026-01-01T00:00:00Z' });

/** A store that refuses writes while `full` (as SQLITE_FULL does). */
function store(): { full: boolean; rows: Map<string, FailureRecord>; recordFailure(r: FailureRecord): void; failure(m: string, v: string, s: string): FailureRecord | undefined } {
  return {
    full: false,
    rows: new Map(),
    recordFailure(r) {
      if (this.full) throw new Error('SQLITE_FULL: database or disk is full');
      this.rows.set(`${r.model}@${r.version}#${r.sha256}`, r);
    },
    failure(m, v, s) {
      return this.rows.get(`${m}@${v}#${s}`);
    },
  };
}

describe('failure store', () => {
  it('persists; while the store refuses, keeps the failure in memory and still answers with it', () => {
    const s = store();
    const failures = createFailureStore(s, pino({ level: 'silent' }));
    failures.record(f(1));
    expect(s.rows.size).toBe(1);
    s.full = true;
    expect(() => failures.record(f(2))).not.toThrow();
    expect(failures.unsaved()).toBe(1);
    expect(failures.get('m', '2', 's')?.generation).toBe(2);
    // Space is back: the next record of that key is persisted and leaves memory.
    s.full = false;
    failures.record(f(3));
    expect(failures.unsaved()).toBe(0);
    expect(s.rows.get('m@2#s')?.generation).toBe(3);
    expect(failures.get('m', '2', 's')?.generation).toBe(3);
  });
});
