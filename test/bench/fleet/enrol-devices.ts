/**
 * Zero-touch enrolment against a real control-plane process: each simulated device makes its own
 * Ed25519 key pair and enrols with one provisioning key, `concurrency` at a time, exactly as the
 * agent's enrolment does (shared's proof message). The key pairs and signatures are made before the
 * clock starts, so the figure is the control plane's enrolment throughput, not this process's crypto.
 */
import { randomBytes } from 'node:crypto';
import { createdProvisioningKeySchema, enrolReplySchema, generateDeviceKeyPair, signEnrolmentProof, type EnrolRequest } from '@edgefleet/shared';
import type { ServerProcess } from './server-process.js';

export interface EnrolmentRun {
  devices: number;
  seconds: number;
  perSecond: number;
  refused: number;
  firstError?: string;
}

export async function enrolDevices(server: ServerProcess, ids: readonly string[], concurrency = 32): Promise<EnrolmentRun> {
  const created = createdProvisioningKeySchema.parse(await server.api('POST', '/provisioning-keys', { tags: { bench: 'enrol' }, maxUses: ids.length }, 201));
  const bodies: EnrolRequest[] = ids.map((deviceId) => {
    const keys = generateDeviceKeyPair();
    const claim = { deviceId, publicKey: keys.publicKeyPem, provisioningKey: created.key, at: new Date().toISOString(), nonce: randomBytes(16).toString('base64url') };
    return { ...claim, proof: signEnrolmentProof(claim, keys.privateKeyPem) };
  });
  let next = 0;
  let refused = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        const res = await fetch(`${server.httpUrl}/api/v1/enrol`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        const text = await res.text();
        if (res.status !== 201 || enrolReplySchema.parse(JSON.parse(text)).status !== 'enrolled') {
          refused++;
          firstError ??= `${res.status} ${text.slice(0, 200)}`;
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { devices: ids.length, seconds, perSecond: (ids.length - refused) / seconds, refused, ...(firstError ? { firstError } : {}) };
}

/** Rate limits high enough that the bench measures the server, not its limiter. */
export const UNLIMITED_ENROLMENT_ENV: Record<string, string> = {
  EDGEFLEET_CP_PROVISIONING__PER_SOURCE__CAPACITY: '1000000',
  EDGEFLEET_CP_PROVISIONING__PER_SOURCE__PER_SECOND: '1000000',
  EDGEFLEET_CP_PROVISIONING__PER_KEY__CAPACITY: '1000000',
  EDGEFLEET_CP_PROVISIONING__PER_KEY__PER_SECOND: '1000000',
};
