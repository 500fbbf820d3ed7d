import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  EdgefleetError,
  accuracyThresholdsSchema,
  signManifest,
  type QuantizeRequest,
  type VariantKind,
  type VariantRecord,
} from '@edgefleet/shared';
import type { Logger } from 'pino';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Clock } from '../clock.js';
import { checkAccuracy, thresholdFailures } from '../quantize/accuracy-check.js';
import type { Feeds } from '../quantize/calibrate.js';
import { quantizeDynamicInt8, type RewriteReport } from '../quantize/dynamic-int8.js';
import { convertToFp16 } from '../quantize/fp16.js';
import { feedsFromRequest, jitteredCopies } from '../quantize/samples.js';
import { quantizeStaticInt8 } from '../quantize/static-int8.js';
import type { ModelRegistry } from './model-registry.js';
import type { VariantStore } from './variant-store.js';

/** Samples made from the golden input when no calibration set is uploaded. */
export const DEFAULT_CALIBRATION_SAMPLES = 16;
export const DEFAULT_PERCENTILE = 99.9;

export interface VariantRegistry {
  /**
   * Makes the asked-for variants of name@version (a label works too), checks each against float32,
   * stores it (content-addressed, signed) as accepted or rejected. CONFLICT when one exists.
   */
  quantize(name: string, versionOrLabel: string, request: QuantizeRequest, createdBy: string): Promise<VariantRecord[]>;
  list(name: string, versionOrLabel: string): Promise<VariantRecord[]>;
  hasArtifact(sha256: string): Promise<boolean>;
}

export function createVariantRegistry(deps: { store: VariantStore; models: ModelRegistry; artifacts: ArtifactStore; clock: Clock; logger: Logger; signingKeyPem: string }): VariantRegistry {
  const { store, models, artifacts, clock, logger } = deps;

  const readSample = async (sha256: string, what: string): Promise<Feeds> => {
    if ((await artifacts.size(sha256)) === undefined) throw new EdgefleetError('ARTIFACT_NOT_FOUND', `${what} ${sha256} is not uploaded (POST /blobs)`);
    let json: unknown;
    try {
      json = JSON.parse((await readFile(artifacts.path(sha256))).toString('utf8'));
    } catch (cause) {
      throw new EdgefleetError('PAYLOAD_INVALID', `${what} ${sha256} is not JSON`, { cause });
    }
    return feedsFromRequest(json, `${what} ${sha256.slice(0, 12)}`);
  };

  return {
    async quantize(name, versionOrLabel, request, createdBy) {
      const m = await models.get(name, versionOrLabel);
      const kinds: VariantKind[] = [];
      if (request.int8 === 'dynamic') kinds.push('int8-dynamic');
      if (request.int8 === 'static') kinds.push('int8-static');
      if (request.fp16) kinds.push('fp16');
      for (const kind of kinds) {
        if (await store.get(m.name, m.version, kind)) throw new EdgefleetError('CONFLICT', `${m.name}@${m.version} already has a ${kind} variant; variants are immutable`);
      }
      const thresholds = accuracyThresholdsSchema.parse({ minCosine: request.minCosine, minTop1: request.minTop1 });
      const golden = m.golden ? await readSample(m.golden.sha256, 'golden input') : undefined;
      const uploaded = await Promise.all((request.calibration ?? []).map((sha) => readSample(sha, 'calibration sample')));
      if (!golden && !uploaded.length) {
        throw new EdgefleetError('INPUT_INVALID', `${m.name}@${m.version} has no golden input: give calibration samples (--calibration) to quantize and check it`);
      }
      const calibration = uploaded.length ? uploaded : jitteredCopies(golden!, DEFAULT_CALIBRATION_SAMPLES);
      const source = uploaded.length ? `${uploaded.length} uploaded samples` : `golden input + ${DEFAULT_CALIBRATION_SAMPLES - 1} jittered copies`;
      // The check runs on the golden input and the calibration set.
      const checkSamples = golden && uploaded.length ? [golden, ...uploaded] : calibration;
      const fp32 = await readFile(artifacts.path(m.sha256));

      const records: VariantRecord[] = [];
      for (const kind of kinds) {
        let report: RewriteReport;
        let calibrationInfo: VariantRecord['calibration'];
        if (kind === 'int8-dynamic') report = quantizeDynamicInt8(fp32);
        else if (kind === 'fp16') report = convertToFp16(fp32);
        else {
          const method = request.calibrationMethod === 'minmax' ? ({ method: 'minmax' } as const) : ({ method: 'percentile', percentile: DEFAULT_PERCENTILE } as const);
          report = await quantizeStaticInt8(fp32, { samples: calibration, calibration: method });
          calibrationInfo = { method: method.method === 'minmax' ? 'minmax' : `percentile ${DEFAULT_PERCENTILE}`, samples: calibration.length, source };
        }
        const accuracy = await checkAccuracy(fp32, report.bytes, checkSamples);
        const failures = thresholdFailures(accuracy, thresholds);
        const { sha256, size } = await artifacts.put(Readable.from([report.bytes]));
        const createdAt = clock.now().toISOString();
        const record: VariantRecord = {
          name: m.name,
          version: m.version,
          kind,
          sha256,
          size,
          createdAt,
          signature: signManifest({ name: m.name, version: m.version, sha256, size, createdAt }, deps.signingKeyPem),
          status: failures.length ? 'rejected' : 'accepted',
          rejectedBecause: failures,
          thresholds,
          accuracy,
          ...(calibrationInfo ? { calibration: calibrationInfo } : {}),
          rewritten: report.rewritten,
          createdBy,
        };
        if (!(await store.insert(record))) throw new EdgefleetError('CONFLICT', `${m.name}@${m.version} already has a ${kind} variant`);
        logger.info({ name: m.name, version: m.version, kind, sha256, size, status: record.status, cosine: accuracy.cosine, latencyRatio: accuracy.latencyRatio }, 'model variant registered');
        records.push(record);
      }
      return records;
    },

    async list(name, versionOrLabel) {
      const m = await models.get(name, versionOrLabel);
      return store.list(m.name, m.version);
    },

    hasArtifact: (sha256) => store.hasArtifact(sha256),
  };
}
