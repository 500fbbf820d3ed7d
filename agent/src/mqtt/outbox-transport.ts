import type { MqttClient } from 'mqtt';
import { deviceTopic, type DevicePublishChannel } from '@edgefleet/shared';
import type { OutboxTransport } from './outbox-sender.js';
import type { MqttSession } from './session.js';

/** The agent's MQTT session (agent/src/mqtt) as the sender's transport. */
export function createSessionTransport(session: Pick<MqttSession, 'connected' | 'publish'>): OutboxTransport {
  return {
    connected: () => session.connected,
    publish: (channel, payload, qos) => session.publish(channel as DevicePublishChannel, payload, { qos }),
  };
}

/**
 * A bare mqtt.js client as the sender's transport (tests, the fleet simulator). mqtt.js queues
 * publishes while offline in memory, which would duplicate the durable outbox: the sender only
 * publishes while connected and lets the outbox hold the rest.
 */
export function createMqttClientTransport(client: MqttClient, deviceId: string): OutboxTransport {
  return {
    connected: () => client.connected,
    publish: async (channel, payload, qos) => {
      await client.publishAsync(deviceTopic(deviceId, channel as DevicePublishChannel), payload, { qos, retain: false });
    },
  };
}
