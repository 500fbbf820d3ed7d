export { backoffDelayMs } from './backoff.js';
export { createMqttSession, type CreateMqttSessionOptions, type MessageHandler, type MqttSession } from './session.js';
export { createInboundDispatcher, type CreateInboundDispatcherOptions, type InboundCounts, type InboundDispatcher, type InboundRoutes, type RejectedCommand } from './inbound-dispatcher.js';
export { createOutboxSender, type Clock, type FlushResult, type OutboxSender, type OutboxSenderOptions, type OutboxStream, type OutboxTransport } from './outbox-sender.js';
export { createMqttClientTransport, createSessionTransport } from './outbox-transport.js';
export { createAckWindow, nextToSend, type AckWindow, type AckWindowOptions } from './ack-window.js';
