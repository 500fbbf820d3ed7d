import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { open, rm, type FileHandle } from 'node:fs/promises';
import type { Logger } from 'pino';
import {
  EdgefleetError,
  artifactChunkRequestSchema,
  encodePayload,
  isErrorCode,
  type AgentConfig,
  type ArtifactChunk,
} from '@edgefleet/shared';
import type { MqttSession } from '../mqtt/session.js';
import type { StateStore } from '../store/state-store.js';
import { diskFullError, isDiskFull } from './disk-check.js';
import type { ArtifactFetcher, FetchRequest } from './fetcher.js';

interface Pending {
  sha256: string;
  offset: number;
  length: number;
  total: number;
  resolve: (data: Buffer) => void;
  reject: (err: Error) => void;
}

export interface MqttChunkFetcher extends ArtifactFetcher {
  readonly stats: { requests: number; replies: number; ignoredReplies: number; timeouts: number };
  /** A reply on `artifact-chunks`, decoded by the inbound dispatcher. */
  handleChunk(chunk: ArtifactChunk): void;
  /** A reply the dispatcher could not decode: counted among the ignored ones. */
  countUndecodable(): void;
}

/** Attempts per chunk while connected; a broker outage does not use them up. */
const MAX_ATTEMPTS = 5;

function abortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Artifact delivery over MQTT: requests `chunkBytes` slices by offset on `artifact-requests` with
 * at most `window` in flight, and writes each binary reply from `artifact-chunks` at its offset in
 * the staging file. A chunk is recorded done in SQLite only after its bytes are fdatasync'ed, so a
 * restart (or SIGKILL) resumes with exactly the chunks that are missing.
 */
export function createMqttChunkFetcher({ session, store, config, logger }: { session: Pick<MqttSession, 'connected' | 'publish'>; store: StateStore; config: Readonly<AgentConfig>; logger: Logger }): MqttChunkFetcher {
  const log = logger.child({ part: 'delivery' });
  const { chunkBytes, window, chunkTimeoutMs } = config.delivery;
  const pending = new Map<string, Pending>();
  const stats = { requests: 0, replies: 0, ignoredReplies: 0, timeouts: 0 };

  function handleChunk(chunk: ArtifactChunk): void {
    const { header, data } = chunk;
    const p = pending.get(header.requestId);
    // Unknown ids are replies to requests we gave up on, or queued for a previous run of the agent.
    if (!p) {
      stats.ignoredReplies++;
      return;
    }
    pending.delete(header.requestId);
    stats.replies++;
    if (header.error) {
      const code = isErrorCode(header.error.code) ? header.error.code : 'ARTIFACT_DOWNLOAD_FAILED';
      p.reject(new EdgefleetError(code, `artifact service: ${header.error.message}`, { details: { offset: p.offset } }));
      return;
    }
    if (header.sha256 !== p.sha256 || header.offset !== p.offset || header.total !== p.total || data.length !== p.length) {
      p.reject(
        new EdgefleetError('ARTIFACT_RANGE_INVALID', `chunk reply does not match its request`, {
          details: { want: { offset: p.offset, length: p.length, total: p.total }, got: { offset: header.offset, length: data.length, total: header.total } },
        }),
      );
      return;
    }
    p.resolve(data);
  }

  async function waitConnected(signal: AbortSignal): Promise<void> {
    while (!session.connected) await abortable(100, signal);
  }

  async function requestChunk(sha256: string, offset: number, length: number, total: number, signal: AbortSignal): Promise<Buffer> {
    const requestId = randomUUID();
    const reply = new Promise<Buffer>((resolve, reject) => pending.set(requestId, { sha256, offset, length, total, resolve, reject }));
    stats.requests++;
    session.publish('artifact-requests', encodePayload(artifactChunkRequestSchema, { requestId, sha256, offset, length })).catch(() => {
      // The reply timeout below decides; a lost PUBACK alone is not a failure.
    });
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      pending.get(requestId)?.reject(signal.reason as Error);
      pending.delete(requestId);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        pending.delete(requestId);
        stats.timeouts++;
        reject(new EdgefleetError('ARTIFACT_DOWNLOAD_FAILED', `no reply for chunk at ${offset} within ${chunkTimeoutMs} ms`));
      }, chunkTimeoutMs);
    });
    try {
      return await Promise.race([reply, timeout]);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Group commit: a chunk counts as done only after an fdatasync that started after its write,
   * then one SQLite transaction records every chunk that sync covered: one pair of fsyncs serves
   * every chunk written while the previous pair ran, instead of two per chunk.
   */
  function createCommitter(fh: FileHandle, sha256: string): (idx: number) => Promise<void> {
    let pending: number[] = [];
    let running: Promise<void> | undefined;
    let queued: Promise<void> | undefined;
    const flush = async (): Promise<void> => {
      const marks = pending;
      pending = [];
      await fh.datasync();
      store.markChunks(sha256, marks);
    };
    const start = (): Promise<void> => {
      running = flush().finally(() => {
        running = undefined;
      });
      return running;
    };
    return (idx) => {
      pending.push(idx);
      if (!running) return start();
      queued ??= running.then(
        () => {
          queued = undefined;
          return start();
        },
        (err: unknown) => {
          queued = undefined;
          throw err;
        },
      );
      return queued;
    };
  }

  /**
   * `commit` is not awaited here: the next chunk request goes out as soon as this chunk's bytes are
   * written (so at most `window` chunks sit in memory), while the fdatasync + SQLite record runs
   * behind. Waiting for it put a disk flush into every chunk's round trip.
   */
  async function fetchChunk(fh: FileHandle, commit: (idx: number) => void, req: FetchRequest, idx: number, onDone: (len: number) => void): Promise<void> {
    const { sha256, size } = req.artifact;
    const offset = idx * chunkBytes;
    const length = Math.min(chunkBytes, size - offset);
    for (let attempt = 1; ; attempt++) {
      req.signal.throwIfAborted();
      await waitConnected(req.signal);
      try {
        const data = await requestChunk(sha256, offset, length, size, req.signal);
        try {
          await fh.write(data, 0, data.length, offset);
        } catch (err) {
          throw diskFullError(err, req.path);
        }
        commit(idx);
        onDone(length);
        return;
      } catch (err) {
        if (req.signal.aborted) throw req.signal.reason;
        const e = err as EdgefleetError;
        const transient = e.code === 'ARTIFACT_DOWNLOAD_FAILED' || e.code === 'ARTIFACT_RANGE_INVALID';
        // A timeout while the broker was away says nothing about the chunk: don't count it.
        if (!session.connected && transient) {
          attempt--;
          continue;
        }
        if (!transient || attempt >= MAX_ATTEMPTS) throw err;
        log.debug({ offset, attempt, code: e.code }, 'retrying chunk');
      }
    }
  }

  return {
    stats,
    handleChunk,
    countUndecodable: () => void stats.ignoredReplies++,
    async fetch(req) {
      try {
        await fetchInto(req);
      } catch (err) {
        if (isDiskFull(err) || (err instanceof EdgefleetError && err.code === 'DISK_SPACE_INSUFFICIENT')) await discardStaging(req, err);
        throw diskFullError(err, req.path);
      }
    },
  };

  /**
   * A disk that filled up mid-download: the staging file goes, so the space it took comes back to
   * the device (and to SQLite, which needs it to record the failure). A later generation starts
   * this artifact from nothing, which is the price of giving the disk back now.
   */
  async function discardStaging(req: FetchRequest, err: unknown): Promise<void> {
    await rm(req.path, { force: true });
    try {
      store.deleteDownload(req.artifact.sha256);
    } catch (cause) {
      // The next fetch finds the file missing and forgets the record itself.
      log.warn({ err: cause }, 'could not forget the discarded download record');
    }
    log.warn({ model: req.model, version: req.version, err: (err as Error).message }, 'disk full during download; staging file removed');
  }

  async function fetchInto(outer: FetchRequest): Promise<void> {
    // The first failed chunk stops its siblings: with a full disk they would only fail the same way.
    const stop = new AbortController();
    // Each chunk in flight listens for the abort (its request and its wait for the broker).
    setMaxListeners(2 * window + 10, stop.signal);
    const onOuterAbort = (): void => stop.abort(outer.signal.reason);
    if (outer.signal.aborted) onOuterAbort();
    else outer.signal.addEventListener('abort', onOuterAbort, { once: true });
    try {
      const req: FetchRequest = { ...outer, signal: stop.signal };
      const { sha256, size } = req.artifact;
      let record = store.getDownload(sha256);
      if (record && (record.chunkBytes !== chunkBytes || record.path !== req.path || record.size !== size)) {
        store.deleteDownload(sha256);
        record = undefined;
      }
      let fh: FileHandle;
      if (record) {
        try {
          fh = await open(req.path, 'r+');
        } catch {
          store.deleteDownload(sha256);
          record = undefined;
          fh = await open(req.path, 'w+');
        }
      } else {
        await rm(req.path, { force: true });
        fh = await open(req.path, 'w+');
      }
      try {
        if (!record) {
          await fh.truncate(size);
          await fh.sync();
          store.startDownload({ sha256, model: req.model, version: req.version, size, chunkBytes, path: req.path });
        }
        if (record?.complete) return;
        const count = Math.ceil(size / chunkBytes);
        const done = store.doneChunks(sha256);
        const missing: number[] = [];
        let bytes = 0;
        for (let i = 0; i < count; i++) {
          if (done.has(i)) bytes += Math.min(chunkBytes, size - i * chunkBytes);
          else missing.push(i);
        }
        if (missing.length) log.info({ model: req.model, version: req.version, missing: missing.length, chunks: count }, 'fetching artifact over MQTT');
        req.onProgress?.(bytes, size);
        let next = 0;
        const onDone = (len: number): void => {
          bytes += len;
          req.onProgress?.(bytes, size);
        };
        const committer = createCommitter(fh, sha256);
        const syncing = new Set<Promise<void>>();
        let syncError: Error | undefined;
        const commit = (idx: number): void => {
          const done: Promise<void> = committer(idx)
            .catch((err: unknown) => {
              syncError ??= diskFullError(err, req.path) as Error;
              if (!stop.signal.aborted) stop.abort(syncError);
            })
            .finally(() => syncing.delete(done));
          syncing.add(done);
        };
        const worker = async (): Promise<void> => {
          try {
            for (let idx = missing[next++]; idx !== undefined; idx = missing[next++]) await fetchChunk(fh, commit, req, idx, onDone);
          } catch (err) {
            if (!stop.signal.aborted) stop.abort(err);
            throw err;
          }
        };
        const workers = Array.from({ length: Math.min(window, missing.length) }, () => worker());
        const results = await Promise.allSettled(workers);
        // Every chunk written must be synced and recorded before the download counts as complete.
        while (syncing.size) await Promise.all(syncing);
        if (syncError) throw syncError;
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw stop.signal.aborted ? stop.signal.reason : failed.reason;
        store.completeDownload(sha256);
      } finally {
        await fh.close();
      }
    } finally {
      outer.signal.removeEventListener('abort', onOuterAbort);
    }
  }
}
