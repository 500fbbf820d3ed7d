import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TelemetryBatch } from '@edgefleet/shared';
import { migrate } from '../store/migrations.js';
import { createSqliteDatabase } from '../store/sqlite-database.js';
import { TELEMETRY_MIGRATIONS } from './migrations.js';
import { createTelemetryIngest } from './telemetry-ingest.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const batch = (deviceId: string, seq: number): TelemetryBatch => ({ deviceId, seq, sentAt: new Date(0).toISOString(), samples: [{ t: seq * 1000, cpu: 1 }], inference: [], dropped: { batches: 0, samples: 0 } });

describe('telemetry ingest buffer (real SQLite file)', () => {
  it('commits many batches in one transaction and resolves each caller after the commit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgefleet-ingest-'));
    dirs.push(dir);
    const sql = createSqliteDatabase(join(dir, 'cp.db'));
    await migrate(sql, 'telemetry', TELEMETRY_MIGRATIONS);
    const transactions: number[] = [];
    const ingest = createTelemetryIngest({ sql, flushIntervalMs: 1_000, maxBatches: 50, onWritten: (_r, items) => transactions.push(items.length) });
    await Promise.all(Array.from({ length: 120 }, (_, i) => ingest.ingest(batch('d1', i), 0)).slice(0, 100));
    expect(transactions).toEqual([50, 50]);
    expect(ingest.buffered()).toBe(20);
    await ingest.close();
    expect(transactions).toEqual([50, 50, 20]);
    const n = await sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM telemetry_batches');
    expect(n?.n).toBe(120);
    await expect(ingest.ingest(batch('d1', 500), 0)).rejects.toThrow(/closed/);
    await sql.close();
  });

  it('a batch the database refuses fails alone; the rest of its transaction is stored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgefleet-ingest-'));
    dirs.push(dir);
    const sql = createSqliteDatabase(join(dir, 'cp.db'));
    await migrate(sql, 'telemetry', TELEMETRY_MIGRATIONS);
    // A trigger stands in for a constraint a real row could break (disk full, a corrupt page).
    await sql.exec("CREATE TRIGGER refuse BEFORE INSERT ON telemetry_samples_1m WHEN NEW.device_id = 'bad' BEGIN SELECT RAISE(ABORT, 'refused'); END");
    const errors: number[] = [];
    const ingest = createTelemetryIngest({ sql, flushIntervalMs: 10, onError: (_e, items) => errors.push(items.length) });
    const results = await Promise.allSettled([ingest.ingest(batch('ok', 1), 0), ingest.ingest(batch('bad', 1), 0), ingest.ingest(batch('ok', 2), 0)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(errors).toEqual([1]);
    const n = await sql.get<{ n: number }>("SELECT COUNT(*) AS n FROM telemetry_batches WHERE device_id = 'ok'");
    expect(n?.n).toBe(2);
    await ingest.close();
    await sql.close();
  });
});
