import type { Logger } from 'pino';
import {
  EdgefleetError,
  commandResultSchema,
  encodePayload,
  toEdgefleetError,
  type CommandRequest,
  type CommandResult,
  type KserveInferRequest,
} from '@edgefleet/shared';

/** What commands may do to the agent; the agent wires each to the part that owns it. */
export interface CommandTarget {
  getState(): unknown;
  rollback(model: string, reason?: string): Promise<unknown>;
  reload(): Promise<unknown>;
  diagnostics(logLines: number): unknown;
  setLogLevel(level: Extract<CommandRequest, { type: 'set-log-level' }>['level']): void;
  infer(model: string, request: KserveInferRequest, version?: string): Promise<unknown>;
}

export interface CommandHandler {
  /** Runs one command (parsed by the inbound dispatcher); resolves with the result to publish, never rejects. */
  handle(cmd: CommandRequest): Promise<CommandResult>;
  /** The error result owed for a command that failed validation but named an id. */
  reject(rejected: { id: string; type?: string; error: EdgefleetError }): CommandResult;
  readonly counts: { ok: number; failed: number; invalid: number; expired: number };
}

export function createCommandHandler({ deviceId, target, logger }: { deviceId: string; target: CommandTarget; logger: Logger }): CommandHandler {
  const log = logger.child({ part: 'commands' });
  const counts = { ok: 0, failed: 0, invalid: 0, expired: 0 };
  const result = (id: string, type: string | undefined, body: { ok: true; result: unknown } | { ok: false; error: EdgefleetError }): CommandResult =>
    commandResultSchema.parse({
      id,
      deviceId,
      ...(type ? { type } : {}),
      at: new Date().toISOString(),
      ok: body.ok,
      ...(body.ok ? { result: body.result } : { error: { ...body.error.toJSON(), message: body.error.message.slice(0, 4000) } }),
    });

  async function run(cmd: CommandRequest): Promise<unknown> {
    switch (cmd.type) {
      case 'ping':
        return { pong: true };
      case 'get-state':
        return target.getState();
      case 'rollback':
        return target.rollback(cmd.model, cmd.reason);
      case 'reload':
        return target.reload();
      case 'collect-diagnostics':
        return target.diagnostics(cmd.logLines);
      case 'set-log-level':
        target.setLogLevel(cmd.level);
        return { level: cmd.level };
      case 'infer':
        return target.infer(cmd.model, cmd.request, cmd.version);
    }
  }

  return {
    counts,
    reject({ id, type, error }) {
      counts.invalid++;
      return result(id, type, { ok: false, error });
    },
    async handle(cmd) {
      if (cmd.expiresAt && Date.parse(cmd.expiresAt) < Date.now()) {
        counts.expired++;
        return result(cmd.id, cmd.type, { ok: false, error: new EdgefleetError('COMMAND_TIMEOUT', `command expired at ${cmd.expiresAt}`) });
      }
      try {
        const value = await run(cmd);
        counts.ok++;
        return result(cmd.id, cmd.type, { ok: true, result: value ?? null });
      } catch (err) {
        counts.failed++;
        const e = toEdgefleetError(err, 'COMMAND_FAILED');
        log.warn({ id: cmd.id, type: cmd.type, code: e.code, err: e.message }, 'command failed');
        return result(cmd.id, cmd.type, { ok: false, error: e });
      }
    },
  };
}

export function encodeCommandResult(r: CommandResult): Buffer {
  return encodePayload(commandResultSchema, r);
}
