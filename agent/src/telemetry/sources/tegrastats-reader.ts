import { spawn, type ChildProcess } from 'node:child_process';
import { parseTegrastatsLine, type TegrastatsReading } from './tegrastats.js';

/**
 * Keeps the newest tegrastats line from a long-running `tegrastats --interval N` child. Used only
 * when sysfs has neither GPU load nor power rails (some JetPack 4 kernels keep them in debugfs,
 * which only tegrastats, running as root, can read).
 */
export interface TegrastatsReader {
  latest(): TegrastatsReading | undefined;
  stop(): void;
}

export function startTegrastatsReader(options: { binary?: string; intervalMs?: number; onError?: (err: Error) => void } = {}): TegrastatsReader {
  let last: string | undefined;
  let buffer = '';
  const child: ChildProcess = spawn(options.binary ?? 'tegrastats', ['--interval', String(options.intervalMs ?? 5_000)], { stdio: ['ignore', 'pipe', 'ignore'] });
  child.on('error', (err) => options.onError?.(err));
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    const full = lines.filter((l) => l.trim() !== '');
    if (full.length > 0) last = full.at(-1);
  });
  return {
    latest: () => (last === undefined ? undefined : parseTegrastatsLine(last)),
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}
