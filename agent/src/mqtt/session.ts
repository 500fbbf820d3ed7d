import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import {
  CHANNEL_QOS,
  DEVICE_SUBSCRIBE_CHANNELS,
  EdgefleetError,
  deviceTopic,
  encodePayload,
  parseDeviceTopic,
  presenceSchema,
  type AgentConfig,
  type DevicePublishChannel,
  type DeviceSubscribeChannel,
} from '@edgefleet/shared';
import { createDeviceCredentials } from '../identity/credentials.js';
import { backoffDelayMs } from './backoff.js';

export type MessageHandler = (payload: Buffer, topic: string) => void;

export interface MqttSession {
  readonly connected: boolean;
  /** One handler per inbound channel; a throwing handler is logged, never fatal. */
  on(channel: DeviceSubscribeChannel, handler: MessageHandler): void;
  onConnect(listener: () => void): void;
  onDisconnect(listener: () => void): void;
  /** Resolves on PUBACK (QoS 1) or when written (QoS 0); rejects when the client is closed. */
  publish(channel: DevicePublishChannel, payload: Buffer, options?: { qos?: 0 | 1; retain?: boolean }): Promise<void>;
  start(): void;
  /** Publishes presence offline, then disconnects (bounded by `deadlineMs`). */
  close(deadlineMs?: number): Promise<void>;
  /** Inbound messages dropped because they named another device or a topic outside the contract. */
  readonly dropped: number;
}

export interface CreateMqttSessionOptions {
  config: Readonly<AgentConfig>;
  logger: Logger;
  agentVersion: string;
}

export function createMqttSession({ config, logger, agentVersion }: CreateMqttSessionOptions): MqttSession {
  const { deviceId, broker } = config;
  const credentials = createDeviceCredentials(config);
  const log = logger.child({ part: 'mqtt' });
  const handlers = new Map<DeviceSubscribeChannel, MessageHandler>();
  const connectListeners: (() => void)[] = [];
  const disconnectListeners: (() => void)[] = [];
  let client: MqttClient | undefined;
  let closing = false;
  let attempt = 0;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let dropped = 0;
  const presence = (status: 'online' | 'offline'): Buffer =>
    encodePayload(presenceSchema, { deviceId, status, at: new Date().toISOString(), agentVersion });

  function dispatch(topic: string, payload: Buffer): void {
    const parsed = parseDeviceTopic(topic);
    if (!parsed || parsed.deviceId !== deviceId) {
      dropped++;
      log.warn({ topic }, 'dropped a message on a topic that is not ours');
      return;
    }
    const handler = handlers.get(parsed.channel as DeviceSubscribeChannel);
    if (!handler) {
      dropped++;
      log.warn({ topic }, 'dropped a message on a channel the agent does not subscribe to');
      return;
    }
    try {
      handler(payload, topic);
    } catch (err) {
      log.error({ err, topic }, 'message handler failed');
    }
  }

  function scheduleReconnect(): void {
    if (closing || reconnectTimer || !client) return;
    const delay = backoffDelayMs(attempt++, broker.reconnectMinMs, broker.reconnectMaxMs);
    log.info({ delayMs: delay, attempt }, 'reconnecting to the broker');
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      if (!closing && client && !client.connected) {
        // A device-key token is minted per connect: the one the last connect used may have expired.
        const password = credentials.password();
        if (password !== undefined) client.options.password = password;
        client.reconnect();
      }
    }, delay);
  }

  return {
    get connected() {
      return client?.connected ?? false;
    },
    get dropped() {
      return dropped;
    },
    on: (channel, handler) => void handlers.set(channel, handler),
    onConnect: (l) => void connectListeners.push(l),
    onDisconnect: (l) => void disconnectListeners.push(l),

    start() {
      if (client) return;
      const initialPassword = credentials.password();
      client = mqtt.connect(broker.url, {
        clientId: deviceId,
        clean: false,
        username: credentials.username,
        ...(initialPassword !== undefined ? { password: initialPassword } : {}),
        ...(broker.caFile ? { ca: readFileSync(broker.caFile) } : {}),
        keepalive: broker.keepaliveSec,
        // Reconnects are ours (capped exponential backoff with jitter); mqtt.js only knows a fixed period.
        reconnectPeriod: 0,
        connectTimeout: 10_000,
        // mqtt-packet otherwise pre-builds 65,536 two-byte Buffers on the first packet: ~5 MB of V8 heap
        // held for the agent's life (docs/operations.md, "Agent memory").
        writeCache: false,
        will: { topic: deviceTopic(deviceId, 'presence'), payload: presence('offline'), qos: 1, retain: true },
      });
      client.on('message', dispatch);
      client.on('connect', (connack) => {
        attempt = 0;
        // mqtt.js leaves Nagle on: a chunk request written right after a PUBACK then waits for the
        // broker's delayed ACK, 40 ms per artifact chunk. A WebSocket stream has no such switch.
        (client?.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
        log.info({ sessionPresent: connack.sessionPresent }, 'connected to the broker');
        const c = client;
        if (!c) return;
        // Subscribe on every connect: a broker that lost our persistent session must not leave us deaf.
        c.subscribe(
          DEVICE_SUBSCRIBE_CHANNELS.map((ch) => deviceTopic(deviceId, ch)),
          { qos: 1 },
          (err) => {
            if (err) log.error({ err }, 'subscribe failed');
          },
        );
        c.publish(deviceTopic(deviceId, 'presence'), presence('online'), { qos: 1, retain: true });
        for (const l of connectListeners) l();
      });
      client.on('close', () => {
        for (const l of disconnectListeners) l();
        scheduleReconnect();
      });
      client.on('error', (err) => log.warn({ err: { message: err.message, code: (err as { code?: unknown }).code } }, 'broker connection error'));
    },

    publish(channel, payload, options = {}) {
      const c = client;
      if (!c || closing) return Promise.reject(new EdgefleetError('BROKER_UNREACHABLE', 'the MQTT session is closed'));
      const { qos, retain } = CHANNEL_QOS[channel];
      return new Promise((resolve, reject) => {
        c.publish(deviceTopic(deviceId, channel), payload, { qos: options.qos ?? qos, retain: options.retain ?? retain }, (err) => {
          if (err) reject(new EdgefleetError('BROKER_UNREACHABLE', `publish on ${channel} failed`, { cause: err }));
          else resolve();
        });
      });
    },

    async close(deadlineMs = 2000) {
      const c = client;
      if (!c || closing) return;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      if (c.connected) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(deadlineMs, 1000));
          c.publish(deviceTopic(deviceId, 'presence'), presence('offline'), { qos: 1, retain: true }, () => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      closing = true;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          c.end(true);
          resolve();
        }, deadlineMs);
        c.end(false, {}, () => {
          clearTimeout(t);
          resolve();
        });
      });
    },
  };
}
