import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { EdgefleetError, type CommandResult } from '@edgefleet/shared';
import { createInboundDispatcher, type MessageHandler } from '../mqtt/index.js';
import { createCommandHandler, type CommandTarget } from './command-handler.js';

const calls: string[] = [];
const target: CommandTarget = {
  getState: () => ({ state: 'ok' }),
  rollback: async (model) => {
    if (model === 'none') throw new EdgefleetError('ROLLBACK_UNAVAILABLE', 'no previous');
    calls.push(`rollback ${model}`);
    return { active: '1' };
  },
  reload: async () => ({ triggered: true }),
  diagnostics: (n) => ({ lines: n }),
  setLogLevel: (level) => void calls.push(`level ${level}`),
  infer: async () => ({ outputs: [] }),
};
const quiet = pino({ level: 'silent' });
const handler = createCommandHandler({ deviceId: 'd1', target, logger: quiet });

/** A raw payload as the agent receives it: parsed by the inbound dispatcher, answered by the handler. */
const inbound = new Map<string, MessageHandler>();
let answered: Promise<CommandResult> | undefined;
createInboundDispatcher({
  session: { on: (channel, h) => void inbound.set(channel, h) },
  deviceId: 'd1',
  logger: quiet,
  routes: {
    desired: () => undefined,
    command: (cmd) => void (answered = handler.handle(cmd)),
    invalidCommand: (rejected) => void (answered = Promise.resolve(handler.reject(rejected))),
    chunk: () => undefined,
    ack: () => undefined,
  },
});
async function send(v: unknown): Promise<CommandResult | undefined> {
  answered = undefined;
  inbound.get('commands')!(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)), 'commands');
  return answered;
}

describe('command handler', () => {
  it.each([
    [{ id: '1', type: 'ping' }, { ok: true, result: { pong: true } }],
    [{ id: '2', type: 'get-state' }, { ok: true, result: { state: 'ok' } }],
    [{ id: '3', type: 'rollback', model: 'm' }, { ok: true, result: { active: '1' } }],
    [{ id: '4', type: 'rollback', model: 'none' }, { ok: false, error: { code: 'ROLLBACK_UNAVAILABLE' } }],
    [{ id: '5', type: 'collect-diagnostics' }, { ok: true, result: { lines: 200 } }],
    [{ id: '6', type: 'set-log-level', level: 'debug' }, { ok: true, result: { level: 'debug' } }],
    [{ id: '7', type: 'set-log-level', level: 'loud' }, { ok: false, error: { code: 'PAYLOAD_INVALID' } }],
    [{ id: '8', type: 'format-disk' }, { ok: false, error: { code: 'COMMAND_UNKNOWN' } }],
    [{ id: '9', type: 'rollback', model: 7 }, { ok: false, error: { code: 'PAYLOAD_INVALID' } }],
    [{ id: '10', type: 'ping', expiresAt: '2000-01-01T00:00:00Z' }, { ok: false, error: { code: 'COMMAND_TIMEOUT' } }],
  ])('%j → %j', async (cmd, want) => {
    const r = await send(cmd);
    expect(r).toMatchObject({ id: cmd.id, deviceId: 'd1', ...want });
  });

  it('names the invalid fields in the error an invalid command is answered with', async () => {
    const r = await send({ id: '11', type: 'rollback', model: 7 });
    expect(r?.error?.message).toMatch(/^invalid command: .*model/);
  });

  it.each([['{"broken'], [[1, 2]], [{ type: 'ping' }], [{ id: 42, type: 'ping' }], ['null']])('cannot answer %j (no usable id) and does not throw', async (payload) => {
    expect(await send(payload)).toBeUndefined();
  });

  it('routes effects to the target', () => {
    expect(calls).toContain('rollback m');
    expect(calls).toContain('level debug');
  });
});
