import type { SqlDatabase } from './sql-database.js';

/**
 * A sorted listing of table rows kept in memory and brought up to date by re-reading only the rows
 * written since the last read. For SQLite, where the control-plane process that owns the file is
 * its only writer: each repository marks a row with touched() after writing it. At 10,000 devices
 * the rollout engine lists the fleet and the rollout's devices on every pass, and reading every row
 * each time was most of a pass (issue 10). A row that a write removed is dropped; a row whose sort
 * key changed re-sorts the listing.
 *
 * @example
 *   const listing = createRowListing({ loadAll, loadSome, keyOf: (d) => d.id, compare: byId });
 *   await db.run('UPDATE devices …', [id]); listing.touched(id);
 *   const rows = await listing.list();   // a fresh array; rows are shared, never mutate them
 */
export interface RowListing<T> {
  touched(key: string): void;
  list(): Promise<T[]>;
}

export interface RowListingOptions<T> {
  /** Every row, sorted by `compare`. */
  loadAll(): Promise<T[]>;
  /** The rows with these keys that still exist (any order; at most 500 keys per call). */
  loadSome(keys: readonly string[]): Promise<T[]>;
  keyOf: (row: T) => string;
  compare: (a: T, b: T) => number;
}

/**
 * Marks a row written through `db`: now, and again once the writer's transaction ends — a list()
 * inside the transaction may have read the uncommitted row, which a rollback takes back.
 */
export function touchAfterWrite(db: Pick<SqlDatabase, 'afterTransaction'>, listing: RowListing<unknown> | undefined, key: string): void {
  if (!listing) return;
  listing.touched(key);
  db.afterTransaction(() => listing.touched(key));
}

export function createRowListing<T>(options: RowListingOptions<T>): RowListing<T> {
  const { keyOf, compare } = options;
  let sorted: T[] | undefined;
  let position = new Map<string, number>();
  const dirty = new Set<string>();

  const index = (rows: T[]): void => {
    sorted = rows;
    position = new Map(rows.map((r, i) => [keyOf(r), i]));
  };

  async function refresh(rows: T[]): Promise<void> {
    // Cleared before reading: a write landing meanwhile marks its row again for the next list().
    const keys = [...dirty];
    dirty.clear();
    let resort = false;
    const removed = new Set<string>();
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const fresh = await options.loadSome(chunk);
      const found = new Set<string>();
      for (const row of fresh) {
        const key = keyOf(row);
        found.add(key);
        const at = position.get(key);
        if (at === undefined || compare(rows[at] as T, row) !== 0) {
          resort = true;
          if (at === undefined) position.set(key, rows.push(row) - 1);
          else rows[at] = row;
        } else {
          rows[at] = row;
        }
      }
      for (const key of chunk) if (!found.has(key) && position.has(key)) removed.add(key);
    }
    if (removed.size || resort) index(rows.filter((r) => !removed.has(keyOf(r))).sort(compare));
  }

  return {
    touched(key) {
      dirty.add(key);
    },
    async list() {
      if (!sorted) {
        dirty.clear();
        index(await options.loadAll());
      } else if (dirty.size) {
        await refresh(sorted);
      }
      return [...(sorted as T[])];
    },
  };
}
