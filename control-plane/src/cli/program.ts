import { Command } from 'commander';
import type { ControlPlaneConfig } from '@edgefleet/shared';
import { createApiClient } from './api-client.js';
import { CliExit } from './cli-exit.js';
import type { CliContext, CliExtension } from './cli-extension.js';
import { registerDeviceCommands } from './commands/device-commands.js';
import { registerModelCommands } from './commands/model-commands.js';
import { registerServerCommand } from './commands/server-command.js';
import { registerTokenCommands } from './commands/token-commands.js';
import type { CliIo } from './output.js';
import { CONTROL_PLANE_VERSION } from '../version.js';

export interface BuildCliOptions {
  io: CliIo;
  env?: Record<string, string | undefined>;
  extensions?: readonly CliExtension[];
  /** Runs `edgefleet server` (main.ts: starts the control plane and waits for a signal). */
  runServer?: (config: Readonly<ControlPlaneConfig>) => Promise<void>;
}

/**
 * The `edgefleet` program. Errors propagate out of parseAsync (main.ts prints them and sets the
 * exit code), so tests can run commands in-process and assert on output and failures.
 */
export function buildCli(options: BuildCliOptions): Command {
  const env = options.env ?? process.env;
  const program = new Command('edgefleet')
    .description('edgefleet: run ML models on fleets of edge devices')
    // Not --version: `models push --version V` needs it, and program options are recognised anywhere.
    .version(CONTROL_PLANE_VERSION, '-V, --cli-version', 'print the edgefleet version')
    .option('--server <url>', 'control-plane URL (env EDGEFLEET_SERVER)', env.EDGEFLEET_SERVER ?? 'http://127.0.0.1:8080')
    .option('--token <token>', 'API token (env EDGEFLEET_TOKEN)')
    .option('--json', 'print JSON (for scripts)')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => options.io.out(s), writeErr: (s) => options.io.err(s) });

  const ctx: CliContext = {
    io: options.io,
    client: () => {
      const global = program.opts<{ server: string; token?: string }>();
      return createApiClient({ server: global.server, token: global.token ?? env.EDGEFLEET_TOKEN });
    },
    wantsJson: (command) => Boolean(command.opts<{ json?: boolean }>().json ?? program.opts<{ json?: boolean }>().json),
  };

  registerServerCommand(program, options.runServer ?? (async () => {
    throw new Error('this build of the CLI cannot run a server');
  }));
  registerDeviceCommands(program, ctx);
  registerModelCommands(program, ctx);
  registerTokenCommands(program, ctx);
  for (const extend of options.extensions ?? []) extend(program, ctx);
  // Subcommands report usage errors through the same io and exit path as the program.
  const configure = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ writeOut: (s) => options.io.out(s), writeErr: (s) => options.io.err(s) });
    cmd.commands.forEach(configure);
  };
  program.commands.forEach(configure);
  return program;
}

/** Runs argv (without node and script) and returns the exit code: 0, or 1 after printing the error. */
export async function runCli(argv: readonly string[], options: BuildCliOptions, formatError: (err: unknown) => string): Promise<number> {
  const program = buildCli(options);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return 0;
    // commander already printed its own usage error.
    if (typeof code === 'string' && code.startsWith('commander.')) return (err as { exitCode?: number }).exitCode ?? 2;
    // The command printed its outcome already and chose its exit code.
    if (err instanceof CliExit) return err.exitCode;
    options.io.err(formatError(err));
    return 1;
  }
}
