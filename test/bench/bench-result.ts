/** What a benchmark's `run()` returns. `summary` rows become docs/benchmarks.md; the rest is kept in the JSON. */
export interface BenchRow {
  metric: string;
  value: number;
  unit: string;
  /** e.g. "vs direct session.run: 1.04×" */
  note?: string;
}

export interface BenchResult {
  summary?: BenchRow[];
  [key: string]: unknown;
}

export interface BenchModule {
  run(options?: { long?: boolean }): Promise<BenchResult>;
}

/** Flattens numeric leaves of a result into rows, for benchmarks that return no summary. */
export function rowsOf(result: BenchResult): BenchRow[] {
  if (Array.isArray(result.summary)) return result.summary;
  const rows: BenchRow[] = [];
  const walk = (value: unknown, path: string): void => {
    if (typeof value === 'number' && Number.isFinite(value)) rows.push({ metric: path, value, unit: '' });
    else if (value && typeof value === 'object' && !Array.isArray(value)) for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
  };
  walk(result, '');
  return rows;
}
