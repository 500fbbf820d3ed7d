/**
 * The SQL port every store implementation speaks. Statements use `?` placeholders and the SQL subset
 * SQLite and PostgreSQL share (TEXT, BIGINT, ON CONFLICT ... DO ...), so one set of repositories and
 * migrations runs on both; the PostgreSQL adapter rewrites `?` to `$n`.
 *
 * Unit of work (issue 16): a transaction belongs to the async context that opened it
 * (AsyncLocalStorage, see unit-of-work.ts), not to the process. Every statement issued from inside
 * `transaction(fn)` — through this object, the `tx` argument or any repository built over it — runs
 * in that transaction; a statement from any other context never does (on SQLite it waits until
 * the transaction ends, on PostgreSQL it goes to another pooled connection).
 */
export type SqlValue = string | number | bigint | null | Buffer;

export type TransactionOutcome = 'committed' | 'rolled-back';

export interface SqlDatabase {
  readonly dialect: 'sqlite' | 'postgres';
  /** DDL or several statements separated by `;`, no parameters. */
  exec(sql: string): Promise<void>;
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /**
   * Runs `fn` atomically. Calls from inside (the same async context) join the open transaction;
   * unrelated concurrent callers get their own (on SQLite, after this one ends). `tx` is this same
   * database, bound by context; passing it on is optional.
   */
  transaction<T>(fn: (tx: SqlDatabase) => Promise<T>): Promise<T>;
  /** True when called from inside an open transaction of this database. */
  inTransaction(): boolean;
  /**
   * Runs `fn` once the caller's transaction has ended (with its outcome), or at once with
   * 'committed' outside a transaction: listeners must not learn of writes that may still roll back.
   */
  afterTransaction(fn: (outcome: TransactionOutcome) => void): void;
  close(): Promise<void>;
}
