import type { MqttClient } from 'mqtt';
import type { OutboxPublisher } from './outbox-sender.js';

/**
 * The sender's view of an mqtt.js client. mqtt.js queues publishes while offline (in memory), which
 * would duplicate the durable outbox: publish only while connected and let the outbox hold the rest.
 */
export function createMqttPublisher(client: MqttClient): OutboxPublisher {
  return {
    connected: () => client.connected,
    publish: async (topic, payload, qos) => {
      await client.publishAsync(topic, payload, { qos, retain: false });
    },
  };
}
