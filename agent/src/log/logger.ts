import { pino, type Logger } from 'pino';
import type { LOG_LEVELS } from '@edgefleet/shared';

export type LogLevel = (typeof LOG_LEVELS)[number];

export interface AgentLogger {
  logger: Logger;
  setLevel(level: LogLevel): void;
  /** The most recent JSON log lines (newest last), for collect-diagnostics. */
  recent(lines: number): string[];
}

export interface CreateLoggerOptions {
  level: LogLevel;
  /** Human-readable lines (a TTY); default JSON lines (journald). */
  pretty?: boolean;
  /** Where lines go. @default process.stdout */
  write?: (line: string) => void;
  /** Lines kept in memory for diagnostics. @default 2000 */
  ringSize?: number;
  base?: Record<string, unknown>;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

function prettyLine(line: string): string {
  try {
    const { level, time, msg, pid: _pid, hostname: _h, deviceId: _d, ...rest } = JSON.parse(line) as Record<string, unknown>;
    const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
    const t = new Date(typeof time === 'number' ? time : Date.now()).toISOString().slice(11, 23);
    return `${t} ${(LEVEL_NAMES[level as number] ?? String(level)).padEnd(5)} ${typeof msg === 'string' ? msg : JSON.stringify(msg ?? '')}${extra}\n`;
  } catch {
    return line;
  }
}

/** JSON-line logger with a run-time settable level and a ring buffer of recent lines. */
export function createLogger(options: CreateLoggerOptions): AgentLogger {
  const ringSize = options.ringSize ?? 2000;
  const ring: string[] = [];
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const destination = {
    write(line: string): void {
      ring.push(line.endsWith('\n') ? line.slice(0, -1) : line);
      if (ring.length > ringSize) ring.splice(0, ring.length - ringSize);
      write(options.pretty ? prettyLine(line) : line);
    },
  };
  const logger = pino({ level: options.level, base: options.base ?? {}, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  return {
    logger,
    setLevel: (level) => {
      logger.level = level;
    },
    recent: (lines) => ring.slice(-lines),
  };
}
