import type { Readable } from 'node:stream';
import { z } from 'zod';
import {
  EdgefleetError,
  blobSchema,
  modelListSchema,
  modelNameSchema,
  modelVersionListSchema,
  modelVersionRecordSchema,
  pushModelReplySchema,
  modelVersionSchema,
  pushModelQuerySchema,
  sha256Schema,
} from '@edgefleet/shared';
import { authoriseArtifact } from '../../artifacts/artifact-service.js';
import { defineRoute, type AnyRouteSpec } from '../route-registry.js';
import type { ApiServices } from './services.js';

const nameParams = z.object({ name: modelNameSchema });
const versionParams = z.object({ name: modelNameSchema, version: z.string().min(1).max(64) });
const pushParams = z.object({ name: modelNameSchema, version: modelVersionSchema });
const OCTET = { contentType: 'application/octet-stream', description: 'the raw file bytes' };

/** Parses a single `bytes=` range against `size`; undefined means the whole file. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) throw new EdgefleetError('ARTIFACT_RANGE_INVALID', `unsupported Range ${header} (one bytes=start-end range only)`);
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) throw new EdgefleetError('ARTIFACT_RANGE_INVALID', `Range ${header} is outside the artifact (${size} bytes)`, { details: { size } });
  return { start, end };
}

export function modelRoutes(s: ApiServices): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'GET', url: '/models', summary: 'List models with their versions', tags: ['models'], access: 'viewer', response: modelListSchema,
      handler: async () => ({ models: await s.models.list() }),
    }),
    defineRoute({
      method: 'GET', url: '/models/:name', summary: 'All versions of a model', tags: ['models'], access: 'viewer', params: nameParams, response: modelVersionListSchema,
      handler: async ({ params }) => ({ name: params.name, versions: await s.models.versions(params.name) }),
    }),
    defineRoute({
      method: 'GET', url: '/models/:name/versions/:version', summary: 'One version (or label) with inspection, signature and lineage', tags: ['models'], access: 'viewer',
      params: versionParams, response: modelVersionRecordSchema,
      handler: async ({ params }) => await s.models.get(params.name, params.version),
    }),
    defineRoute({
      method: 'POST', url: '/models/:name/versions/:version', summary: 'Push a model version (streaming upload of the .onnx file); the same file again is 200 with alreadyPresent', tags: ['models'], access: 'operator', status: 201,
      params: pushParams, query: pushModelQuerySchema, streamBody: OCTET, response: pushModelReplySchema, auditTarget: (p) => `model:${p.name}@${p.version}`,
      handler: async ({ params, query, body, principal, reply }) => {
        const labels = query.label === undefined ? [] : Array.isArray(query.label) ? query.label : [query.label];
        const pushed = await s.models.push({ ...params, content: body as Readable, labels, notes: query.notes, source: query.source, goldenSha256: query.goldenSha256, pushedBy: principal.actor });
        if (pushed.alreadyPresent) reply.code(200);
        return pushed;
      },
    }),
    defineRoute({
      method: 'POST', url: '/blobs', summary: 'Upload a golden input (JSON inference request) and get its digest', tags: ['models'], access: 'operator', status: 201,
      streamBody: OCTET, response: blobSchema,
      handler: async ({ body, request }) => {
        const blob = await s.models.putGolden(body as Readable);
        request.auditTarget = `blob:${blob.sha256}`;
        return blob;
      },
    }),
    defineRoute({
      method: 'GET', url: '/artifacts/:sha256', summary: 'Download an artifact (HTTP Range supported); devices only while their desired state names it', tags: ['models'], access: 'device',
      params: z.object({ sha256: sha256Schema }),
      handler: async ({ params, principal, request, reply }) => {
        let size: number;
        if (principal.kind === 'device') size = await authoriseArtifact(s.store, s.artifacts, principal.deviceId, params.sha256);
        else {
          const stored = (await s.models.hasArtifact(params.sha256)) ? await s.artifacts.size(params.sha256) : undefined;
          if (stored === undefined) throw new EdgefleetError('ARTIFACT_NOT_FOUND', `artifact ${params.sha256} is not stored`);
          size = stored;
        }
        const range = parseRange(request.headers.range, size);
        reply.header('accept-ranges', 'bytes').header('content-type', 'application/octet-stream').header('etag', `"${params.sha256}"`);
        if (range) {
          reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`).header('content-length', range.end - range.start + 1);
        } else {
          reply.code(200).header('content-length', size);
        }
        return reply.send(s.artifacts.createReadStream(params.sha256, range));
      },
    }),
  ];
}
