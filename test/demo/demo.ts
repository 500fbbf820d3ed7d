/**
 * `pnpm demo [--devices N] [--exit-when-done] [--dir DIR]`: the whole system on one machine.
 *
 * A control plane (embedded broker and store) and N real agent processes in a temporary directory;
 * a real ONNX model pushed as v1 and rolled out, v2 rolled out in waves, a broken v3 halted and
 * rolled back by its gates. Progress on the terminal, the dashboard URL and a token at the start,
 * a summary at the end. Without --exit-when-done the fleet keeps running for the dashboard until
 * Ctrl-C. This file only wires the parts and owns the signals; test/demo/story.ts is the story.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type DemoProcess, repoRoot, stopProcesses } from './processes.js';
import { createProgress } from './progress.js';
import { runStory, summarize } from './story.js';

const USAGE = `usage: pnpm demo [--devices N] [--exit-when-done] [--dir DIR]

  --devices N        agent processes to start (default 5, at most 50)
  --exit-when-done   stop the fleet and exit after the summary (exit code 0 when the story went as expected)
  --dir DIR          work directory for data and logs (default: a new temporary directory, kept afterwards)
`;

interface DemoArgs {
  devices: number;
  exitWhenDone: boolean;
  dir?: string;
}

function parseDemoArgs(argv: string[]): DemoArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      devices: { type: 'string', default: '5' },
      'exit-when-done': { type: 'boolean', default: false },
      dir: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const devices = Number(values.devices);
  if (!Number.isInteger(devices) || devices < 1 || devices > 50) throw new Error(`--devices must be an integer from 1 to 50, not ${values.devices}`);
  return { devices, exitWhenDone: values['exit-when-done'], dir: values.dir };
}

async function main(): Promise<number> {
  let args: DemoArgs;
  try {
    args = parseDemoArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  const repo = repoRoot();
  const workDir = args.dir ? resolve(args.dir) : mkdtempSync(join(tmpdir(), 'edgefleet-demo-'));
  const logDir = join(workDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const progress = createProgress({ write: (text) => process.stdout.write(text), color: process.stdout.isTTY });
  const processes: DemoProcess[] = [];

  const stop = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts += 1;
    if (interrupts === 1) {
      process.stdout.write(`\n${signal}: stopping the fleet (agents drain, then the control plane)…\n`);
      stop.abort(new Error(`interrupted by ${signal}`));
    } else {
      // A second Ctrl-C: do not wait for draining.
      for (const p of processes) if (!p.hasExited()) p.child.kill('SIGKILL');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  progress.step(`edgefleet demo: ${args.devices} devices, work directory ${workDir}`);
  let exitCode = 0;
  try {
    const result = await runStory({ repo, workDir, logDir, devices: args.devices, progress, signal: stop.signal, track: (p) => processes.push(p) });
    process.stdout.write(summarize(result, { workDir, logDir, elapsedMs: progress.elapsedMs() }));
    if (!args.exitWhenDone && !stop.signal.aborted) {
      progress.step(`the fleet keeps running: dashboard ${result.controlPlane.dashboardUrl} (token above). Ctrl-C to stop.`);
      await new Promise<void>((resolveWait) => stop.signal.addEventListener('abort', () => resolveWait(), { once: true }));
    }
  } catch (err) {
    if (stop.signal.aborted) {
      exitCode = 130;
    } else {
      exitCode = 1;
      process.stderr.write(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.stderr.write(`logs: ${logDir}\n`);
    }
  } finally {
    // Agents first (they drain and say goodbye on MQTT), the control plane last.
    const agents = processes.filter((p) => p.name !== 'control-plane');
    const controlPlane = processes.filter((p) => p.name === 'control-plane');
    const a = await stopProcesses(agents, 12_000);
    const c = await stopProcesses(controlPlane, 12_000);
    const killed = [...a.killed, ...c.killed];
    progress.step(`fleet stopped${killed.length ? ` (killed after the drain deadline: ${killed.join(', ')})` : ''}; logs and data kept in ${workDir}`);
  }
  return exitCode;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
