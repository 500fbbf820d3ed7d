/**
 * @edgefleet/shared — the one definition of what crosses a process boundary in edgefleet.
 *
 * @example
 *   import { deviceTopic, desiredStateSchema, parsePayload } from '@edgefleet/shared';
 *   client.subscribe(deviceTopic(id, 'desired'));
 *   client.on('message', (_topic, payload) => reconcile(parsePayload(desiredStateSchema, payload, 'desired state')));
 */
export * from './errors/index.js';
export * from './contract/index.js';
export * from './signing/index.js';
export * from './config/index.js';
export * from './api/index.js';
