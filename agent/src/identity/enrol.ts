import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { EdgefleetError, apiErrorSchema, enrolReplySchema, isErrorCode, signEnrolmentProof, type DeviceKeyPair, type EnrolReply, type EnrolRequest } from '@edgefleet/shared';
import { backoffDelayMs } from '../mqtt/backoff.js';

export interface EnrolOptions {
  serverUrl: string;
  provisioningKey: string;
  deviceId: string;
  keys: DeviceKeyPair;
  hostname?: string;
  logger: Logger;
  signal?: AbortSignal;
  fetch?: typeof fetch;
  now?: () => Date;
  /** Backoff for an unreachable server or a 5xx. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

/** Refusals that asking again cannot change: the agent stops and says why. */
const FINAL = new Set(['PROVISIONING_KEY_INVALID', 'PROVISIONING_KEY_EXHAUSTED', 'PROVISIONING_KEY_EXPIRED', 'PROVISIONING_KEY_REVOKED', 'DEVICE_ID_TAKEN', 'ENROLMENT_REJECTED', 'DEVICE_KEY_INVALID', 'PAYLOAD_INVALID', 'BAD_REQUEST']);

/**
 * Enrols this device: proves possession of its key with a fresh nonce per attempt, waits while the
 * enrolment is pending approval or rate-limited, backs off while the server is unreachable, and
 * returns once enrolled. A refusal that asking again cannot change throws its code.
 */
export async function enrolDevice(options: EnrolOptions): Promise<Extract<EnrolReply, { status: 'enrolled' }>> {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? (() => new Date());
  const log = options.logger.child({ part: 'enrol' });
  const url = new URL('/api/v1/enrol', options.serverUrl);
  let failures = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const claim = { deviceId: options.deviceId, publicKey: options.keys.publicKeyPem, provisioningKey: options.provisioningKey, at: now().toISOString(), nonce: randomBytes(18).toString('base64url') };
    const body: EnrolRequest = { ...claim, proof: signEnrolmentProof(claim, options.keys.privateKeyPem), ...(options.hostname ? { hostname: options.hostname } : {}) };
    let waitMs: number;
    try {
      const res = await doFetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: options.signal ?? null });
      const text = await res.text();
      if (res.status === 201 || res.status === 202) {
        const reply = enrolReplySchema.parse(JSON.parse(text));
        if (reply.status === 'enrolled') {
          log.info({ deviceId: reply.deviceId, tags: reply.tags }, 'enrolled');
          return reply;
        }
        log.info({ deviceId: options.deviceId, retryAfterS: reply.retryAfterS }, 'enrolment waiting for an operator to approve it (edgefleet devices approve)');
        failures = 0;
        waitMs = reply.retryAfterS * 1000;
      } else {
        const parsed = apiErrorSchema.safeParse(JSON.parse(text || '{}'));
        const code = parsed.success && isErrorCode(parsed.data.code) ? parsed.data.code : undefined;
        const message = parsed.success ? parsed.data.error : `HTTP ${res.status}`;
        if (code && FINAL.has(code)) throw new EdgefleetError(code, `enrolment refused: ${message}`);
        if (res.status === 429) {
          waitMs = Number(res.headers.get('retry-after') ?? '5') * 1000;
          log.warn({ waitMs }, 'enrolment rate-limited; waiting');
        } else {
          // A proof refused for its time is most often a device clock not yet set by NTP: ask again later.
          waitMs = backoffDelayMs(failures++, options.retryMinMs ?? 1000, options.retryMaxMs ?? 60_000);
          log.warn({ status: res.status, code, message, waitMs }, 'enrolment failed; retrying');
        }
      }
    } catch (err) {
      if (err instanceof EdgefleetError || options.signal?.aborted) throw err;
      waitMs = backoffDelayMs(failures++, options.retryMinMs ?? 1000, options.retryMaxMs ?? 60_000);
      log.warn({ err: { message: (err as Error).message }, waitMs, server: options.serverUrl }, 'control plane unreachable for enrolment; retrying');
    }
    await sleep(waitMs, undefined, options.signal ? { signal: options.signal } : undefined);
  }
}
