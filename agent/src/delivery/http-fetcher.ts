import { createWriteStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { EdgefleetError, type AgentConfig } from '@edgefleet/shared';
import { createDeviceCredentials, type DeviceCredentials } from '../identity/credentials.js';
import type { StateStore } from '../store/state-store.js';
import { diskFullError, isDiskFull } from './disk-check.js';
import type { ArtifactFetcher } from './fetcher.js';

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/**
 * The device's own id and secret as HTTP Basic credentials, only for the origins the config names
 * (the control plane's `/api/v1/artifacts/:sha256`); any other URL (a CDN, a presigned bucket URL)
 * never sees the secret. Without a config nothing is sent.
 */
function credentialsFor(url: string, config: Readonly<AgentConfig> | undefined, credentials: DeviceCredentials | undefined): Record<string, string> {
  if (!config?.delivery.httpCredentialOrigins.length || !credentials) return {};
  let origin: string;
  try {
    origin = new URL(url).origin;
  } catch {
    return {};
  }
  if (!config.delivery.httpCredentialOrigins.some((o) => new URL(o).origin === origin)) return {};
  const password = credentials.password();
  if (password === undefined) return {};
  return { authorization: `Basic ${Buffer.from(`${credentials.username}:${password}`).toString('base64')}` };
}

/**
 * Artifact delivery over HTTP(S) when the desired state carries a URL: resumes a partial staging
 * file with `Range: bytes=<have>-` (a server that ignores Range answers 200 and we start over).
 */
export function createHttpFetcher({ store, logger, config }: { store: StateStore; logger: Logger; config?: Readonly<AgentConfig> }): ArtifactFetcher {
  const log = logger.child({ part: 'delivery' });
  const credentials = config?.delivery.httpCredentialOrigins.length ? createDeviceCredentials(config) : undefined;
  return {
    async fetch(req) {
      const { sha256, size, url } = req.artifact;
      if (!url) throw new EdgefleetError('BAD_REQUEST', 'HTTP fetch without a URL');
      let record = store.getDownload(sha256);
      // chunk_bytes 0 marks an HTTP download (its progress is the file length).
      if (record && (record.chunkBytes !== 0 || record.path !== req.path)) {
        store.deleteDownload(sha256);
        record = undefined;
      }
      if (!record) store.startDownload({ sha256, model: req.model, version: req.version, size, chunkBytes: 0, path: req.path });
      else if (record.complete) return;
      let have = record ? await fileSize(req.path) : 0;
      if (have > size) have = 0;
      if (have < size) {
        let res: Response;
        try {
          res = await fetch(url, { headers: { ...credentialsFor(url, config, credentials), ...(have > 0 ? { range: `bytes=${have}-` } : {}) }, signal: req.signal });
        } catch (cause) {
          if (req.signal.aborted) throw req.signal.reason;
          throw new EdgefleetError('ARTIFACT_DOWNLOAD_FAILED', `GET ${url} failed`, { cause });
        }
        if (res.status !== 200 && res.status !== 206) {
          await res.body?.cancel();
          throw new EdgefleetError(res.status === 416 ? 'ARTIFACT_RANGE_INVALID' : 'ARTIFACT_DOWNLOAD_FAILED', `GET ${url}: HTTP ${res.status}`);
        }
        if (res.status === 200) have = 0;
        log.info({ model: req.model, version: req.version, from: have }, 'fetching artifact over HTTP');
        if (!res.body) throw new EdgefleetError('ARTIFACT_DOWNLOAD_FAILED', `GET ${url}: empty body`);
        let bytes = have;
        const body = Readable.fromWeb(res.body);
        body.on('data', (c: Buffer) => {
          bytes += c.length;
          req.onProgress?.(bytes, size);
        });
        try {
          await pipeline(body, createWriteStream(req.path, { flags: have > 0 ? 'r+' : 'w', start: have }), { signal: req.signal });
        } catch (cause) {
          if (req.signal.aborted) throw req.signal.reason;
          if (isDiskFull(cause)) {
            // Give the space back now; a later generation downloads again from the start.
            await rm(req.path, { force: true });
            try {
              store.deleteDownload(sha256);
            } catch (err) {
              // The next fetch finds the file gone and starts over anyway.
              log.warn({ err }, 'could not forget the discarded download record');
            }
            throw diskFullError(cause, req.path);
          }
          throw new EdgefleetError('ARTIFACT_DOWNLOAD_FAILED', `GET ${url} broke off at ${bytes} bytes`, { cause });
        }
      }
      const fh = await open(req.path, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      store.completeDownload(sha256);
    },
  };
}
