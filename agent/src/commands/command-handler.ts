import type { Logger } from 'pino';
import {
  EdgefleetError,
  commandRequestSchema,
  commandResultSchema,
  encodePayload,
  formatIssues,
  toEdgefleetError,
  MAX_JSON_PAYLOAD_BYTES,
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
  /** Handles one raw payload; resolves with the result to publish (undefined when there is no id to answer to). */
  handle(payload: Buffer): Promise<CommandResult | undefined>;
  readonly counts: { ok: number; failed: number; invalid: number; unanswerable: number; expired: number };
}

/** Pulls a usable correlation id out of a payload that failed validation, so the error still reaches the caller. */
function salvageId(raw: unknown): { id?: string; type?: string } {
  if (typeof raw !== 'object' || raw === null) return {};
  const { id, type } = raw as { id?: unknown; type?: unknown };
  return {
    ...(typeof id === 'string' && id.length >= 1 && id.length <= 128 ? { id } : {}),
    ...(typeof type === 'string' && type.length <= 64 ? { type } : {}),
  };
}

export function createCommandHandler({ deviceId, target, logger }: { deviceId: string; target: CommandTarget; logger: Logger }): CommandHandler {
  const log = logger.child({ part: 'commands' });
  const counts = { ok: 0, failed: 0, invalid: 0, unanswerable: 0, expired: 0 };
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
    async handle(payload) {
      if (payload.length > MAX_JSON_PAYLOAD_BYTES) {
        counts.unanswerable++;
        log.warn({ bytes: payload.length }, 'dropped an oversized command');
        return undefined;
      }
      let raw: unknown;
      try {
        raw = JSON.parse(payload.toString('utf8'));
      } catch {
        counts.unanswerable++;
        log.warn({ bytes: payload.length }, 'dropped a command that is not JSON (no id to answer)');
        return undefined;
      }
      const parsed = commandRequestSchema.safeParse(raw);
      if (!parsed.success) {
        const { id, type } = salvageId(raw);
        const known = parsed.error.issues.some((i) => i.path.length === 1 && i.path[0] === 'type');
        const error = new EdgefleetError(known ? 'COMMAND_UNKNOWN' : 'PAYLOAD_INVALID', `invalid command: ${formatIssues(parsed.error.issues).slice(0, 1000)}`);
        if (!id) {
          counts.unanswerable++;
          log.warn({ err: error.message }, 'dropped an invalid command without an id');
          return undefined;
        }
        counts.invalid++;
        log.warn({ id, err: error.message }, 'answered an invalid command with an error');
        return result(id, type, { ok: false, error });
      }
      const cmd = parsed.data;
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
