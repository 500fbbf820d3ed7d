export { openDatabase } from './database.js';
export { MIGRATIONS, migrate, type Migration } from './migrations.js';
export { createSqliteOutbox, type Outbox, type OutboxEntry } from './outbox.js';
export { createStateStore, type DownloadRecord, type FailureRecord, type InstalledVersion, type Pointers, type StateStore } from './state-store.js';
