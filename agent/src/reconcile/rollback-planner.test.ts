import { describe, expect, it } from 'vitest';
import type { DesiredState } from '@edgefleet/shared';
import { enqueueRollback, planRollback, type RollbackFacts, type RollbackRequest } from './rollback-planner.js';

const desired: DesiredState = {
  deviceId: 'd1',
  generation: 7,
  issuedAt: '2026-01-01T00:00:00Z',
  models: [{ name: 'm', version: '3', artifact: { sha256: 'sha-desired', size: 1, createdAt: '2026-01-01T00:00:00Z', signature: 's' } }],
};
const metrics = { requests: 10, failures: 5, failureRate: 0.5, thresholds: { maxFailureRate: 0 } };
const operator: RollbackRequest = { source: 'operator', id: 1, model: 'm' };
const probation: RollbackRequest = { source: 'probation', model: 'm', version: '2', generation: 5, reason: 'failure rate 0.500 > 0', metrics };
const facts = (active?: string, previous?: string, installed: Record<string, string> = { '1': 'sha-1', '2': 'sha-2' }): RollbackFacts => ({
  pointers: { ...(active ? { active } : {}), ...(previous ? { previous } : {}) },
  desired,
  installedSha: (v) => installed[v],
});

describe('rollback planner: one rule for operator and probation rollbacks', () => {
  it.each<[string, RollbackRequest, RollbackFacts, Record<string, unknown>]>([
    ['operator: active ← previous, failed in the desired generation', operator, facts('2', '1'), { ok: true, plan: { model: 'm', from: '2', generation: 7, sha256: 'sha-2', error: { code: 'ROLLED_BACK_BY_OPERATOR', message: 'operator rolled m back from 2 to 1' } } }],
    ['operator: the reason given is the message', { ...operator, reason: 'bad output' }, facts('2', '1'), { ok: true, plan: { error: { code: 'ROLLED_BACK_BY_OPERATOR', message: 'bad output' } } }],
    ['operator: an uninstalled version falls back to the desired digest', operator, facts('2', '1', {}), { ok: true, plan: { sha256: 'sha-desired' } }],
    ['operator: nothing to go back to', operator, facts('2'), { ok: false, stale: false, error: { code: 'ROLLBACK_UNAVAILABLE' } }],
    ['operator: nothing active', operator, facts(), { ok: false, stale: false, error: { code: 'ROLLBACK_UNAVAILABLE' } }],
    ['probation: failed in the generation it was activated in, with its metrics', probation, facts('2', '1'), { ok: true, plan: { from: '2', generation: 5, sha256: 'sha-2', metrics, error: { code: 'PROBATION_FAILED', message: 'm@2: failure rate 0.500 > 0', details: metrics } } }],
    ['probation: the version is no longer active (stale verdict)', probation, facts('3', '2'), { ok: false, stale: true, error: { code: 'ROLLBACK_UNAVAILABLE' } }],
    ['probation: no previous version', probation, facts('2'), { ok: false, stale: false, error: { code: 'ROLLBACK_UNAVAILABLE' } }],
  ])('%s', (_name, request, f, expected) => {
    const decision = planRollback(request, f);
    expect(decision.ok ? { ok: true, plan: decision.plan } : { ok: false, stale: decision.stale, error: decision.error.toJSON() }).toMatchObject(expected);
  });

  const other: RollbackRequest = { ...probation, model: 'n' };
  const operator2: RollbackRequest = { source: 'operator', id: 2, model: 'm' };
  it.each<[string, RollbackRequest[], RollbackRequest, RollbackRequest[]]>([
    ['into an empty queue', [], probation, [probation]],
    ['an operator request replaces a waiting probation request for the model', [probation, other], operator, [other, operator]],
    ['a probation request behind an operator request for the model is dropped', [operator], probation, [operator]],
    ['a second probation verdict for the model is dropped', [probation], { ...probation, reason: 'again' }, [probation]],
    ['another model queues behind', [probation], other, [probation, other]],
    ['operator requests queue in order (the second finds nothing to roll back to, or rolls back further)', [operator], operator2, [operator, operator2]],
  ])('queue: %s', (_name, queue, request, expected) => {
    const before = [...queue];
    expect(enqueueRollback(queue, request)).toEqual(expected);
    expect(queue).toEqual(before);
  });
});
