import { EdgefleetError, type DesiredState, type ErrorInfo } from '@edgefleet/shared';
import type { Pointers } from '../store/state-store.js';
import type { ProbationVerdict } from './probation.js';

/** Who asks for a rollback: an operator command, or the probation watcher's failed verdict. */
export type RollbackRequest =
  | { source: 'operator'; id: number; model: string; reason?: string }
  | { source: 'probation'; model: string; version: string; generation: number; reason: string; metrics: ProbationVerdict['metrics'] };

/** What the loop executes: active ← previous for `model`, then records `from` as failed. */
export interface RollbackPlan {
  request: RollbackRequest;
  model: string;
  from: string;
  /** The generation the rolled-away version is failed for (not retried until a newer one). */
  generation: number;
  sha256: string;
  error: ErrorInfo;
  metrics?: ProbationVerdict['metrics'];
}

export interface RollbackFacts {
  pointers: Pointers;
  desired: DesiredState | undefined;
  /** sha256 of an installed version, if it still is. */
  installedSha: (version: string) => string | undefined;
}

export type RollbackDecision =
  | { ok: true; plan: RollbackPlan }
  /** `stale`: a probation verdict about a version that is no longer active; nothing to undo. */
  | { ok: false; stale: boolean; error: EdgefleetError };

/**
 * One rule for both kinds of rollback (they used to be two near-identical code paths): pure, over
 * the pointers as they are when the loop is about to execute it, not when it was asked.
 */
export function planRollback(request: RollbackRequest, facts: RollbackFacts): RollbackDecision {
  const { model } = request;
  const { active, previous } = facts.pointers;
  if (request.source === 'probation' && active !== request.version) {
    return { ok: false, stale: true, error: new EdgefleetError('ROLLBACK_UNAVAILABLE', `${model}@${request.version} is no longer active`) };
  }
  if (!active || !previous) return { ok: false, stale: false, error: new EdgefleetError('ROLLBACK_UNAVAILABLE', `${model} has no previous version to roll back to`) };
  const desiredSha = facts.desired?.models.find((m) => m.name === model)?.artifact.sha256;
  if (request.source === 'probation') {
    const error = new EdgefleetError('PROBATION_FAILED', `${model}@${active}: ${request.reason}`, { details: request.metrics });
    return { ok: true, plan: { request, model, from: active, generation: request.generation, sha256: facts.installedSha(active) ?? '', error: error.toJSON(), metrics: request.metrics } };
  }
  const error = new EdgefleetError('ROLLED_BACK_BY_OPERATOR', request.reason ?? `operator rolled ${model} back from ${active} to ${previous}`);
  return { ok: true, plan: { request, model, from: active, generation: facts.desired?.generation ?? 0, sha256: facts.installedSha(active) ?? desiredSha ?? '', error: error.toJSON() } };
}

/**
 * Adds a request to the queue, so that one bad version is rolled back once: an operator request
 * replaces a waiting probation request for the same model, and a probation request behind an
 * operator request for its model is dropped (the operator's rollback undoes the same version).
 */
export function enqueueRollback(queue: readonly RollbackRequest[], request: RollbackRequest): RollbackRequest[] {
  if (request.source === 'probation') {
    return queue.some((r) => r.model === request.model) ? [...queue] : [...queue, request];
  }
  return [...queue.filter((r) => !(r.source === 'probation' && r.model === request.model)), request];
}
