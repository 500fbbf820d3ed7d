/**
 * End-to-end telemetry lag (issue 10, item 2): sample time on the simulated device → the batch is
 * committed and queryable in the control plane's SQLite store. Polls the store read-only (WAL lets a
 * reader in beside the writer) for batches committed since the last poll; the simulator stamps each
 * batch's sentAt with its sample's time, so lag = time first seen − sentAt. Resolution: the poll
 * period.
 */
import Database from 'better-sqlite3';

export interface LagStats {
  batches: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  pollMs: number;
}

export interface LagProbe {
  /** Starts counting from now (batches committed earlier are skipped). */
  reset(): void;
  stats(): LagStats;
  stop(): void;
}

export function startLagProbe(dbFile: string, pollMs = 200): LagProbe {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  const newer = db.prepare<[number], { id: number; sent_at: string }>('SELECT rowid AS id, sent_at FROM telemetry_batches WHERE rowid > ? ORDER BY rowid');
  const maxId = db.prepare<[], { id: number | null }>('SELECT max(rowid) AS id FROM telemetry_batches');
  let last = 0;
  let lags: number[] = [];
  const poll = (): void => {
    const now = Date.now();
    for (const row of newer.all(last)) {
      last = row.id;
      lags.push(now - Date.parse(row.sent_at));
    }
  };
  const timer = setInterval(poll, pollMs);
  return {
    reset() {
      poll();
      last = maxId.get()?.id ?? 0;
      lags = [];
    },
    stats() {
      poll();
      const sorted = [...lags].sort((a, b) => a - b);
      const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
      return { batches: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted.at(-1) ?? 0, pollMs };
    },
    stop() {
      clearInterval(timer);
      db.close();
    },
  };
}
