import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import {
  CHANNEL_QOS,
  CHANNEL_SCHEMAS,
  DEVICE_PUBLISH_CHANNELS,
  EdgefleetError,
  allDevicesFilter,
  deviceTopic,
  isAckedChannel,
  parseDeviceTopic,
  parsePayload,
  sharedFilter,
  type ArtifactChunkRequest,
  type CommandResult,
  type DeploymentEvent,
  type DevicePublishChannel,
  type DeviceSubscribeChannel,
  type Presence,
  type ReportedState,
  type TelemetryBatch,
} from '@edgefleet/shared';
import type { Logger } from 'pino';
import { createAckBatcher } from './ack-batcher.js';

/** The parsed payload type of each device → control plane channel. */
export interface DeviceChannelPayloads {
  reported: ReportedState;
  presence: Presence;
  events: DeploymentEvent;
  telemetry: TelemetryBatch;
  'command-results': CommandResult;
  'artifact-requests': ArtifactChunkRequest;
}

export interface DeviceMessage<C extends DevicePublishChannel> {
  deviceId: string;
  channel: C;
  payload: DeviceChannelPayloads[C];
  /** Set for retained replays (e.g. presence and reported state at control-plane start). */
  retained: boolean;
}

export type DeviceMessageHandler<C extends DevicePublishChannel> = (message: DeviceMessage<C>) => void | Promise<void>;

export interface DeviceHandlerOptions {
  /**
   * This handler stores the message (or decides it is a duplicate of a stored one) by the time it
   * resolves. On an acked channel (events, telemetry) the device gets an end-to-end ack for the
   * message only when at least one storing handler ran and every handler succeeded; otherwise the
   * agent keeps it in its outbox and sends it again. A function is read right after each call of
   * the handler: false when this process declined the message (a replica that does not lead).
   */
  stores?: boolean | (() => boolean);
}

/**
 * How the control plane talks to devices, whatever the broker: subscribe to a device channel with
 * parsed, validated payloads; publish to one device's inbound channel.
 */
export interface DeviceBus {
  /** Registers a handler; returns a function that removes it. Invalid payloads never reach handlers. */
  on<C extends DevicePublishChannel>(channel: C, handler: DeviceMessageHandler<C>, options?: DeviceHandlerOptions): () => void;
  publish(deviceId: string, channel: DeviceSubscribeChannel, payload: Buffer, options?: { retain?: boolean }): Promise<void>;
  /** Clears a retained message (desired state of a removed device). */
  clearRetained(deviceId: string, channel: DeviceSubscribeChannel): Promise<void>;
  isConnected(): boolean;
  /** The underlying MQTT.js client, for the rare concern that needs raw access. */
  readonly client: MqttClient;
  close(): Promise<void>;
}

/**
 * Never shared subscriptions. Reported state and presence are retained, idempotent state every
 * replica needs. Deployment events drive the rollout engine, which runs on the lease holder only
 * (issue 16): every replica hears them and the leader applies and acknowledges them; split across
 * replicas, the ones landing on a follower would wait for the agent's resend.
 */
const PLAIN_CHANNELS: readonly DevicePublishChannel[] = ['reported', 'presence', 'events'];

export interface DeviceBusOptions {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  sharedSubscriptions: boolean;
  logger: Logger;
  connectTimeoutMs?: number;
  /** Acks stored within this time go to a device as one message. @default 10 */
  ackDelayMs?: number;
}

export async function connectDeviceBus(options: DeviceBusOptions): Promise<DeviceBus> {
  const { logger } = options;
  const handlers = new Map<DevicePublishChannel, Map<DeviceMessageHandler<DevicePublishChannel>, DeviceHandlerOptions>>();
  const clientOptions: IClientOptions = {
    clientId: `edgefleet-cp-${randomBytes(6).toString('hex')}`,
    username: options.username,
    password: options.password,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    // Artifact chunks are big; a bounded outgoing queue is enforced by the artifact service.
    queueQoSZero: false,
  };
  let client: MqttClient;
  try {
    client = await mqtt.connectAsync(options.url, clientOptions, false);
  } catch (cause) {
    throw new EdgefleetError('BROKER_UNREACHABLE', `cannot connect to the MQTT broker at ${options.url}: ${(cause as Error).message}`, { cause });
  }
  // mqtt.js leaves Nagle on; small packets (PUBACKs, replies) written back to back then wait for
  // the broker's delayed ACK (40 ms). Set again on every reconnect's new socket.
  const noDelay = (): void => (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
  noDelay();
  client.on('connect', noDelay);
  client.on('error', (err) => logger.warn({ err: err.message }, 'MQTT client error'));
  client.on('offline', () => logger.warn('MQTT connection to the broker lost; reconnecting'));
  // With shared subscriptions each message reaches one replica, and that replica acks it.
  const acks = createAckBatcher({
    publish: async (deviceId, payload) => {
      await client.publishAsync(deviceTopic(deviceId, 'acks'), payload, { qos: CHANNEL_QOS.acks.qos, retain: false });
    },
    onError: (err, deviceId) => logger.debug({ err: (err as Error).message, deviceId }, 'ack not published; the device will send again'),
    delayMs: options.ackDelayMs,
  });

  client.on('message', (topic, payload, packet) => {
    const parsed = parseDeviceTopic(topic);
    if (!parsed || !(DEVICE_PUBLISH_CHANNELS as readonly string[]).includes(parsed.channel)) return;
    const channel = parsed.channel as DevicePublishChannel;
    const set = handlers.get(channel);
    if (!set?.size || payload.length === 0) return;
    let value: DeviceChannelPayloads[DevicePublishChannel];
    try {
      value = parsePayload(CHANNEL_SCHEMAS[channel], payload, `${channel} from ${parsed.deviceId}`);
    } catch (err) {
      logger.warn({ deviceId: parsed.deviceId, channel, err: (err as Error).message }, 'dropped an invalid device message');
      return;
    }
    if ('deviceId' in value && value.deviceId !== parsed.deviceId) {
      logger.warn({ security: 'device-id-mismatch', topicDevice: parsed.deviceId, payloadDevice: value.deviceId, channel }, 'dropped a message naming another device');
      return;
    }
    const message: DeviceMessage<DevicePublishChannel> = { deviceId: parsed.deviceId, channel, payload: value, retained: packet.retain };
    const outcomes: Promise<unknown>[] = [];
    let stored = false;
    let failed = false;
    const fail = (err: unknown): void => {
      failed = true;
      logger.error({ err, channel, deviceId: parsed.deviceId }, 'device message handler failed');
    };
    for (const [handler, handlerOptions] of set) {
      try {
        const result = handler(message);
        if (result instanceof Promise) outcomes.push(result.catch(fail));
      } catch (err) {
        fail(err);
      }
      stored ||= typeof handlerOptions.stores === 'function' ? handlerOptions.stores() : handlerOptions.stores === true;
    }
    if (!stored || !isAckedChannel(channel) || !('seq' in value)) return;
    const { seq } = value;
    void Promise.all(outcomes).then(() => {
      if (!failed) acks.add(parsed.deviceId, channel, seq);
    });
  });

  const filters = DEVICE_PUBLISH_CHANNELS.map((channel) => {
    const filter = allDevicesFilter(channel);
    return options.sharedSubscriptions && !PLAIN_CHANNELS.includes(channel) ? sharedFilter(filter) : filter;
  });
  try {
    const granted = await client.subscribeAsync(filters, { qos: 1 });
    const refused = granted.filter((g) => g.qos === 128);
    if (refused.length) throw new Error(`broker refused subscriptions: ${refused.map((g) => g.topic).join(', ')}`);
  } catch (cause) {
    await client.endAsync(true).catch(() => undefined);
    throw new EdgefleetError('BROKER_UNREACHABLE', `cannot subscribe to device channels: ${(cause as Error).message}`, { cause });
  }

  return {
    client,
    on(channel, handler, handlerOptions = {}) {
      let set = handlers.get(channel);
      if (!set) handlers.set(channel, (set = new Map()));
      const h = handler as DeviceMessageHandler<DevicePublishChannel>;
      set.set(h, handlerOptions);
      return () => set.delete(h);
    },
    async publish(deviceId, channel, payload, publishOptions = {}) {
      const { qos, retain } = CHANNEL_QOS[channel];
      await client.publishAsync(deviceTopic(deviceId, channel), payload, { qos, retain: publishOptions.retain ?? retain });
    },
    async clearRetained(deviceId, channel) {
      await client.publishAsync(deviceTopic(deviceId, channel), Buffer.alloc(0), { qos: 1, retain: true });
    },
    isConnected: () => client.connected,
    async close() {
      await acks.flush();
      await client.endAsync(false);
    },
  };
}
