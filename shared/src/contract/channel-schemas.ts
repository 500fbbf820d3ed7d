import { artifactChunkRequestSchema } from './artifact.js';
import { commandRequestSchema, commandResultSchema } from './command.js';
import { deliveryAckSchema } from './delivery-ack.js';
import { deploymentEventSchema } from './deployment-event.js';
import { desiredStateSchema } from './desired-state.js';
import { presenceSchema, reportedStateSchema } from './reported-state.js';
import { telemetryBatchSchema } from './telemetry.js';
import type { DeviceChannel } from './topics.js';

/**
 * The payload schema of every JSON channel, so whoever receives on a channel parses it with the one
 * schema the contract defines. `artifact-chunks` is binary: decodeArtifactChunk() is its parser.
 */
export const CHANNEL_SCHEMAS = {
  desired: desiredStateSchema,
  commands: commandRequestSchema,
  reported: reportedStateSchema,
  presence: presenceSchema,
  events: deploymentEventSchema,
  telemetry: telemetryBatchSchema,
  'command-results': commandResultSchema,
  'artifact-requests': artifactChunkRequestSchema,
  acks: deliveryAckSchema,
} as const satisfies Record<Exclude<DeviceChannel, 'artifact-chunks'>, unknown>;

export type JsonDeviceChannel = keyof typeof CHANNEL_SCHEMAS;
