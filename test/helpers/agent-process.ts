import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AgentConfigInput } from '@edgefleet/shared';

/**
 * Spawns the real agent (`node agent/dist/main.js --config FILE`) as a child process, for tests
 * that need signals, SIGKILL or a restart. Run `pnpm build` first, or call ensureAgentBuilt().
 *
 * @example
 *   await ensureAgentBuilt();
 *   const agent = await spawnAgent({ deviceId, brokerUrl: broker.url, fleetPublicKey: keys.publicKeyPem, dataDir: dir.path });
 *   await agent.waitForLog((l) => l.msg === 'deployment active');
 *   const { code } = await agent.stop();   // SIGTERM, drain, exit 0
 */

/** The repository root, from helpers/*.ts (vitest) and from dist/helpers/*.js (pnpm bench) alike. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
const ROOT = findRoot();
export const AGENT_ENTRY = join(ROOT, 'agent/dist/main.js');

export interface AgentProcessOptions {
  deviceId: string;
  brokerUrl: string;
  fleetPublicKey: string;
  dataDir: string;
  /** Local API port; default 0 (any free port). */
  apiPort?: number;
  /** Merged over the generated config (e.g. { delivery: { chunkBytes: 65536 } }). */
  config?: Partial<AgentConfigInput>;
  env?: Record<string, string>;
  /** The agent's entry script; default agent/dist/main.js (the footprint bench also runs the esbuild bundle). */
  entry?: string;
  /** Echo the agent's log lines to this process's stderr. */
  echo?: boolean;
}

export interface LogEntry {
  level?: number;
  msg?: string;
  [key: string]: unknown;
}

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every JSON log line so far, parsed; non-JSON lines appear as { msg: line }. */
  readonly logs: LogEntry[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog(predicate: (entry: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
  /** SIGTERM and wait for the exit (the agent drains first). */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal (default SIGKILL) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Builds shared + agent to dist when the entry is missing (tsc -b is incremental otherwise). */
export async function ensureAgentBuilt(force = false): Promise<void> {
  if (!force && existsSync(AGENT_ENTRY)) return;
  await promisify(execFile)('npx', ['tsc', '-b', 'agent/tsconfig.json'], { cwd: ROOT });
}

export function agentConfig(opts: AgentProcessOptions): AgentConfigInput {
  const base: AgentConfigInput = {
    deviceId: opts.deviceId,
    dataDir: opts.dataDir,
    broker: { url: opts.brokerUrl, reconnectMinMs: 200, reconnectMaxMs: 2000 },
    fleetPublicKey: opts.fleetPublicKey,
    api: { port: opts.apiPort ?? 0 },
    // No gRPC listener unless a test asks for one: the default 8500 would be shared by every agent on the machine.
    inference: { grpcPort: 0 },
    logLevel: 'info',
  };
  const extra = opts.config ?? {};
  const merged: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    const cur = merged[k];
    merged[k] = typeof v === 'object' && v !== null && !Array.isArray(v) && typeof cur === 'object' && cur !== null ? { ...cur, ...v } : v;
  }
  return merged as AgentConfigInput;
}

export async function spawnAgent(opts: AgentProcessOptions): Promise<AgentProcess> {
  return await spawnAgentWithConfig(agentConfig(opts), opts);
}

/**
 * The agent with a config file exactly as given (a provisioning config an image carries, say),
 * with `--data-dir` and any extra flags.
 */
export async function spawnAgentWithConfig(
  config: Record<string, unknown>,
  opts: Pick<AgentProcessOptions, 'dataDir' | 'env' | 'echo' | 'entry'> & { args?: string[] },
): Promise<AgentProcess> {
  await mkdir(opts.dataDir, { recursive: true });
  const configFile = join(opts.dataDir, 'agent-config.json');
  await writeFile(configFile, JSON.stringify(config, null, 2));
  const child = spawn(process.execPath, [opts.entry ?? AGENT_ENTRY, '--config', configFile, '--data-dir', opts.dataDir, ...(opts.args ?? [])], {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogEntry[] = [];
  const waiters = new Set<{ predicate: (e: LogEntry) => boolean; resolve: (e: LogEntry) => void }>();
  const onLine = (line: string): void => {
    if (!line.trim()) return;
    let entry: LogEntry;
    try {
      entry = JSON.parse(line) as LogEntry;
    } catch {
      entry = { msg: line };
    }
    logs.push(entry);
    if (opts.echo) process.stderr.write(`[agent ${child.pid}] ${line}\n`);
    for (const w of waiters) {
      if (w.predicate(entry)) {
        waiters.delete(w);
        w.resolve(entry);
      }
    }
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const proc: AgentProcess = {
    child,
    pid: child.pid ?? -1,
    logs,
    exited,
    waitForLog(predicate, timeoutMs = 20_000) {
      const found = logs.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = { predicate, resolve: (e: LogEntry) => (clearTimeout(t), resolve(e)) };
        const t = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`agent log line not seen within ${timeoutMs} ms; last lines:\n${logs.slice(-15).map((l) => JSON.stringify(l)).join('\n')}`));
        }, timeoutMs);
        waiters.add(w);
        void exited.then(() => {
          if (waiters.delete(w)) {
            clearTimeout(t);
            reject(new Error(`agent exited before the log line; last lines:\n${logs.slice(-15).map((l) => JSON.stringify(l)).join('\n')}`));
          }
        });
      });
    },
    async stop(timeoutMs = 20_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(t);
      }
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  return proc;
}
