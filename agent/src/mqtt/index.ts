export { backoffDelayMs } from './backoff.js';
export { createMqttSession, type CreateMqttSessionOptions, type MessageHandler, type MqttSession } from './session.js';
export { createOutboxPublisher, type OutboxPublisher } from './outbox-publisher.js';
