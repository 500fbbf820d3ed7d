import type { Logger } from 'pino';
import {
  CHANNEL_SCHEMAS,
  DEVICE_SUBSCRIBE_CHANNELS,
  EdgefleetError,
  decodeArtifactChunk,
  formatIssues,
  parsePayload,
  toEdgefleetError,
  type ArtifactChunk,
  type CommandRequest,
  type DeliveryAck,
  type DesiredState,
  type DeviceSubscribeChannel,
} from '@edgefleet/shared';
import type { MqttSession } from './session.js';

type ZodIssue = Parameters<typeof formatIssues>[0][number];

/** A command that failed validation but names an id the control plane can be answered on. */
export interface RejectedCommand {
  id: string;
  type?: string;
  error: EdgefleetError;
}

/** Where each inbound channel's typed messages go; the dispatcher has parsed and checked them. */
export interface InboundRoutes {
  desired(state: DesiredState): void;
  command(request: CommandRequest): void;
  /** An invalid command with a usable id: the control plane is owed an error result. */
  invalidCommand(rejected: RejectedCommand): void;
  chunk(chunk: ArtifactChunk): void;
  /** An artifact chunk that could not be decoded (the fetcher counts it among ignored replies). */
  invalidChunk?(): void;
  ack(ack: DeliveryAck): void;
}

export interface InboundCounts {
  accepted: number;
  /** Invalid payloads: logged with the reason and dropped (or, for a command with an id, answered). */
  rejected: number;
}

export interface InboundDispatcher {
  readonly counts: Readonly<Record<DeviceSubscribeChannel, Readonly<InboundCounts>>>;
}

export interface CreateInboundDispatcherOptions {
  session: Pick<MqttSession, 'on'>;
  deviceId: string;
  routes: InboundRoutes;
  logger: Pick<Logger, 'warn'>;
}

/** Pulls a usable correlation id out of a command that failed validation, so the error still reaches the caller. */
function salvageId(payload: Buffer): { id?: string; type?: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(payload.toString('utf8'));
  } catch {
    return {};
  }
  if (typeof raw !== 'object' || raw === null) return {};
  const { id, type } = raw as { id?: unknown; type?: unknown };
  return {
    ...(typeof id === 'string' && id.length >= 1 && id.length <= 128 ? { id } : {}),
    ...(typeof type === 'string' && type.length <= 64 ? { type } : {}),
  };
}

/**
 * The agent's one edge for inbound MQTT: every payload on every channel the agent subscribes to is
 * parsed here, once, with the contract's schema (CHANNEL_SCHEMAS; artifact chunks by their binary
 * decoder), and only typed values go on. An invalid payload is logged with its reason, counted and
 * dropped; a throwing route is the session's to log, never fatal. A retained message cleared by an
 * empty payload on `desired` is not a message at all.
 */
export function createInboundDispatcher({ session, deviceId, routes, logger }: CreateInboundDispatcherOptions): InboundDispatcher {
  const counts = Object.fromEntries(DEVICE_SUBSCRIBE_CHANNELS.map((c) => [c, { accepted: 0, rejected: 0 }])) as Record<DeviceSubscribeChannel, InboundCounts>;
  const reject = (channel: DeviceSubscribeChannel, fields: Record<string, unknown>, msg: string): void => {
    counts[channel].rejected++;
    logger.warn({ channel, ...fields }, msg);
  };
  const reason = (err: unknown): { code: string; err: string } => {
    const e = toEdgefleetError(err);
    return { code: e.code, err: e.message.slice(0, 500) };
  };

  session.on('desired', (payload) => {
    if (payload.length === 0) return;
    let desired: DesiredState;
    try {
      desired = parsePayload(CHANNEL_SCHEMAS.desired, payload, 'desired state');
      if (desired.deviceId !== deviceId) throw new EdgefleetError('PAYLOAD_INVALID', `desired state names device ${desired.deviceId}`);
    } catch (err) {
      return reject('desired', reason(err), 'rejected a desired state');
    }
    counts.desired.accepted++;
    routes.desired(desired);
  });

  session.on('commands', (payload) => {
    let command: CommandRequest;
    try {
      command = parsePayload(CHANNEL_SCHEMAS.commands, payload, 'command');
    } catch (err) {
      const e = toEdgefleetError(err);
      if (e.code === 'PAYLOAD_TOO_LARGE') return reject('commands', { bytes: payload.length }, 'dropped an oversized command');
      // parsePayload's cause is the schema's error (with its issues) when the JSON parsed, the SyntaxError when it did not.
      const issues = (e.cause as { issues?: unknown } | undefined)?.issues;
      if (!Array.isArray(issues)) return reject('commands', { bytes: payload.length }, 'dropped a command that is not JSON (no id to answer)');
      const known = (issues as ZodIssue[]).some((i) => i.path.length === 1 && i.path[0] === 'type');
      const error = new EdgefleetError(known ? 'COMMAND_UNKNOWN' : 'PAYLOAD_INVALID', `invalid command: ${formatIssues(issues as ZodIssue[]).slice(0, 1000)}`);
      const { id, type } = salvageId(payload);
      if (!id) return reject('commands', { err: error.message }, 'dropped an invalid command without an id');
      reject('commands', { id, err: error.message }, 'answered an invalid command with an error');
      routes.invalidCommand({ id, ...(type ? { type } : {}), error });
      return;
    }
    counts.commands.accepted++;
    routes.command(command);
  });

  session.on('artifact-chunks', (payload) => {
    let chunk: ArtifactChunk;
    try {
      chunk = decodeArtifactChunk(payload);
    } catch (err) {
      routes.invalidChunk?.();
      return reject('artifact-chunks', reason(err), 'dropped an undecodable artifact chunk');
    }
    counts['artifact-chunks'].accepted++;
    routes.chunk(chunk);
  });

  session.on('acks', (payload) => {
    let ack: DeliveryAck;
    try {
      ack = parsePayload(CHANNEL_SCHEMAS.acks, payload, 'ack');
    } catch (err) {
      return reject('acks', reason(err), 'rejected an ack');
    }
    counts.acks.accepted++;
    routes.ack(ack);
  });

  return { counts };
}
