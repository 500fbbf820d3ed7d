import { openSqlDatabase } from '@edgefleet/control-plane';
import { serviceUrl } from '../setup/requirements.mjs';

const POSTGRES_URL = serviceUrl('postgres');

export interface TestPostgresDatabase {
  /** Connection URL of the fresh database. */
  url: string;
  /** Drops the database (close every store on it first). */
  drop(): Promise<void>;
}

/**
 * A fresh, empty PostgreSQL database on the test server (EDGEFLEET_TEST_POSTGRES_URL), one per
 * test file: other engineers' runs share the server, and a store's tables must start empty.
 */
export async function freshPostgresDatabase(label: string): Promise<TestPostgresDatabase> {
  const name = `ef_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${process.pid}_${Date.now().toString(36)}`;
  const admin = await openSqlDatabase({ driver: 'postgres', url: POSTGRES_URL, dataDir: '/nonexistent' });
  try {
    await admin.exec(`CREATE DATABASE ${name}`);
  } finally {
    await admin.close();
  }
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const again = await openSqlDatabase({ driver: 'postgres', url: POSTGRES_URL, dataDir: '/nonexistent' });
      try {
        await again.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await again.close();
      }
    },
  };
}
