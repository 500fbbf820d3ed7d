import { EdgefleetError, allocArtifactChunkFrame, encodeArtifactChunk, type ArtifactChunkHeader, type DesiredState, type ErrorCode } from '@edgefleet/shared';
import type { Logger } from 'pino';
import type { DeviceBus } from '../broker/device-bus.js';
import type { Store } from '../store/store.js';
import type { ArtifactStore } from './artifact-store.js';
import { createOpenArtifacts } from './open-artifacts.js';

/** True when the device's desired state names this digest (as a model artifact or its golden input). */
export function desiredStateAllows(state: DesiredState | undefined, sha256: string): boolean {
  return !!state?.models.some((m) => m.artifact.sha256 === sha256 || m.golden?.sha256 === sha256);
}

/**
 * The one authorisation rule for artifact bytes, shared by the MQTT chunk service and the HTTP
 * Range endpoint: a device gets an artifact only while its desired state contains it.
 * Returns the size or throws ARTIFACT_FORBIDDEN / ARTIFACT_NOT_FOUND.
 */
export async function authoriseArtifact(store: Store, artifacts: Pick<ArtifactStore, 'size'>, deviceId: string, sha256: string): Promise<number> {
  if (!desiredStateAllows(await store.desired.get(deviceId), sha256)) {
    throw new EdgefleetError('ARTIFACT_FORBIDDEN', `device ${deviceId} has no desired model with artifact ${sha256}`);
  }
  const size = await artifacts.size(sha256);
  if (size === undefined) throw new EdgefleetError('ARTIFACT_NOT_FOUND', `artifact ${sha256} is not stored`);
  return size;
}

export interface ArtifactServiceStats {
  chunksServed: number;
  bytesServed: number;
  refused: number;
  dropped: number;
  inFlight: number;
  queued: number;
}

export interface ArtifactService {
  stats(): ArtifactServiceStats;
  /** Stops taking requests and waits for chunks in flight. */
  close(): Promise<void>;
}

export interface ArtifactServiceOptions {
  store: Store;
  artifacts: ArtifactStore;
  bus: DeviceBus;
  logger: Logger;
  /** Chunks being read and published at once; memory is bounded by this × the chunk size. @default 16 */
  maxInFlight?: number;
  /** Requests waiting beyond that; more are dropped (the agent re-requests after its chunk timeout). @default 4096 */
  maxQueued?: number;
  /** Sends a chunk frame to the device's `artifact-chunks` topic; resolving frees its memory budget. @default the bus */
  publishChunk?: ((deviceId: string, frame: Buffer) => Promise<void>) | undefined;
  onChunk?: (deviceId: string, bytes: number) => void;
  onRefused?: (deviceId: string, code: ErrorCode) => void;
}

/**
 * Answers `artifact-requests` with `artifact-chunks` frames, each read from the (kept open) file
 * straight into the frame that is published.
 */
export function startArtifactService(options: ArtifactServiceOptions): ArtifactService {
  const { store, artifacts, bus, logger } = options;
  const maxInFlight = options.maxInFlight ?? 16;
  const maxQueued = options.maxQueued ?? 4096;
  const publishChunk = options.publishChunk ?? ((deviceId: string, frame: Buffer) => bus.publish(deviceId, 'artifact-chunks', frame));
  const stats = { chunksServed: 0, bytesServed: 0, refused: 0, dropped: 0 };
  const files = createOpenArtifacts(artifacts);
  const queue: (() => Promise<void>)[] = [];
  let inFlight = 0;
  let closed = false;
  let idle: (() => void) | undefined;

  const pump = (): void => {
    while (inFlight < maxInFlight && queue.length) {
      const job = queue.shift()!;
      inFlight++;
      job()
        .catch((err: unknown) => logger.error({ err }, 'artifact chunk failed'))
        .finally(() => {
          inFlight--;
          if (inFlight === 0 && queue.length === 0) idle?.();
          pump();
        });
    }
  };

  const off = bus.on('artifact-requests', ({ deviceId, payload: request }) => {
    if (closed) return;
    if (queue.length >= maxQueued) {
      stats.dropped++;
      logger.warn({ deviceId, requestId: request.requestId }, 'artifact request queue full; dropped a chunk request');
      return;
    }
    queue.push(async () => {
      const header: ArtifactChunkHeader = { requestId: request.requestId, sha256: request.sha256, offset: request.offset, total: 0 };
      let frame: Buffer;
      try {
        const size = await authoriseArtifact(store, files, deviceId, request.sha256);
        header.total = size;
        if (request.offset >= size && !(size === 0 && request.offset === 0)) {
          throw new EdgefleetError('ARTIFACT_RANGE_INVALID', `offset ${request.offset} is past the end of ${request.sha256} (${size} bytes)`);
        }
        const length = Math.min(request.length, size - request.offset);
        const slot = allocArtifactChunkFrame(header, length);
        const read = await files.readInto(request.sha256, slot.data, request.offset);
        if (read !== length) throw new EdgefleetError('ARTIFACT_NOT_FOUND', `artifact ${request.sha256} gave ${read} of ${length} bytes at ${request.offset}`);
        frame = slot.frame;
        stats.chunksServed++;
        stats.bytesServed += length;
        options.onChunk?.(deviceId, length);
      } catch (err) {
        const error = err instanceof EdgefleetError ? err : new EdgefleetError('INTERNAL', 'artifact read failed', { cause: err });
        stats.refused++;
        options.onRefused?.(deviceId, error.code);
        logger.warn({ security: error.code === 'ARTIFACT_FORBIDDEN' ? 'artifact-refused' : undefined, deviceId, sha256: request.sha256, code: error.code }, error.message);
        frame = encodeArtifactChunk({ ...header, error: { code: error.code, message: error.message } });
      }
      // Awaiting the PUBACK (or, in process, the device socket taking it) keeps at most maxInFlight chunks in memory.
      await publishChunk(deviceId, frame);
    });
    pump();
  });

  return {
    stats: () => ({ ...stats, inFlight, queued: queue.length }),
    async close() {
      closed = true;
      off();
      queue.length = 0;
      if (inFlight > 0) await new Promise<void>((resolve) => (idle = resolve));
      await files.close();
    },
  };
}
