export { backoffDelayMs } from './backoff.js';
export { createMqttSession, type CreateMqttSessionOptions, type MessageHandler, type MqttSession } from './session.js';
export { createOutboxPublisher, type OutboxPublisher, type OutboxPublisherOptions } from './outbox-publisher.js';
export { createAckReceiver, type AckSource, type DeliveredAck } from './ack-receiver.js';
export { createAckWindow, nextToSend, type AckWindow, type AckWindowOptions } from './ack-window.js';
