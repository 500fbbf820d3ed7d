import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { EdgefleetError } from '@edgefleet/shared';
import { migrate } from './migrations.js';

/**
 * Opens (creating) the agent's state database. WAL keeps readers off the writer's back;
 * synchronous=FULL because every table here holds something that must survive a power cut
 * (pointers, installed versions, the desired state, the deployment journal) and the write rate is tiny.
 */
export function openDatabase(file: string): Database.Database {
  let db: Database.Database;
  try {
    mkdirSync(dirname(file), { recursive: true });
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
  } catch (cause) {
    throw new EdgefleetError('STORE_FAILED', `cannot open state database ${file}`, { cause });
  }
  try {
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}
