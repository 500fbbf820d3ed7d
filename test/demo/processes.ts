/**
 * Child processes of the demo (the control plane and the agents): each one's stdout and stderr go
 * to its own log file, and stopping is SIGTERM (the programs drain) with a SIGKILL deadline.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DemoProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>;
  hasExited(): boolean;
}

/** The repository root: the nearest folder above this file holding pnpm-workspace.yaml. */
export function repoRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no pnpm-workspace.yaml above ${from}`);
    dir = parent;
  }
  return dir;
}

export function spawnLogged(name: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): DemoProcess {
  const fd = openSync(logFile, 'a');
  // A process group of its own: Ctrl-C in the terminal reaches only the demo, which stops its
  // children in order instead of all of them dying at once.
  const child = spawn(process.execPath, args, { stdio: ['ignore', fd, fd], env, detached: true });
  closeSync(fd);
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (err) => {
      done = true;
      resolve(`spawn error: ${err.message}`);
    });
  });
  return { name, child, logFile, exited, hasExited: () => done };
}

/** SIGTERM to all, then SIGKILL to whatever is still running after `graceMs`. */
export async function stopProcesses(processes: DemoProcess[], graceMs: number): Promise<{ killed: string[] }> {
  const running = processes.filter((p) => !p.hasExited());
  for (const p of running) p.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), graceMs);
  });
  await Promise.race([Promise.all(running.map((p) => p.exited)), deadline]);
  clearTimeout(timer);
  const killed = running.filter((p) => !p.hasExited());
  for (const p of killed) p.child.kill('SIGKILL');
  await Promise.all(killed.map((p) => p.exited));
  return { killed: killed.map((p) => p.name) };
}

/** The last lines of a log, for error messages. */
export function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value, the deadline passes, or `abort` fires. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, options: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal }): Promise<T> {
  const until = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(options.intervalMs ?? 250);
  }
}
