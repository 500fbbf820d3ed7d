import { EdgefleetError } from '@edgefleet/shared';

/** Where CLI commands write: tables for people, JSON for scripts, progress to stderr. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal (progress bars only then). */
  interactive: boolean;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  interactive: process.stderr.isTTY === true,
};

/** A plain aligned table; `rows` are already strings. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '(none)';
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** A one-line progress bar redrawn in place (stderr, terminals only). */
export function progressBar(io: CliIo, label: string): (done: number, total: number) => void {
  let last = -1;
  return (done, total) => {
    if (!io.interactive) return;
    const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
    if (pct === last) return;
    last = pct;
    const width = 30;
    const filled = Math.round((pct / 100) * width);
    process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct}% ${formatBytes(done)}/${formatBytes(total)}${pct === 100 ? '\n' : ''}`);
  };
}

/** The one format every CLI failure is printed in. */
export function formatCliError(err: unknown): string {
  if (err instanceof EdgefleetError) return `error [${err.code}]: ${err.message}`;
  return `error: ${(err as Error)?.message ?? String(err)}`;
}
