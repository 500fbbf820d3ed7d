import type { Command } from 'commander';
import type { ApiClient } from './api-client.js';
import type { CliIo } from './output.js';

/** What a CLI command gets: an API client built from --server/--token (or env), output, and --json. */
export interface CliContext {
  client(): ApiClient;
  io: CliIo;
  /** True when the command (or the program) got --json. */
  wantsJson(command: Command): boolean;
}

/** Adds commands to the `edgefleet` program (rollouts, telemetry, …). */
export type CliExtension = (program: Command, ctx: CliContext) => void;
