/**
 * The SQL port every store implementation speaks. Statements use `?` placeholders and the SQL subset
 * SQLite and PostgreSQL share (TEXT, BIGINT, ON CONFLICT ... DO ...), so one set of repositories and
 * migrations runs on both; the PostgreSQL adapter rewrites `?` to `$n`.
 */
export type SqlValue = string | number | bigint | null | Buffer;

export interface SqlDatabase {
  readonly dialect: 'sqlite' | 'postgres';
  /** DDL or several statements separated by `;`, no parameters. */
  exec(sql: string): Promise<void>;
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Runs `fn` atomically; `tx` must be used for every statement inside. Nested calls join the outer transaction. */
  transaction<T>(fn: (tx: SqlDatabase) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
