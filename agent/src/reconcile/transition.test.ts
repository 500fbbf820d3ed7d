import { describe, expect, it } from 'vitest';
import { EdgefleetError, type DesiredState } from '@edgefleet/shared';
import { desiredModel, desiredState, failingWindow } from './fake-loop-ports.js';
import type { Step } from './plan.js';
import { startWatch } from './probation-watcher.js';
import type { RollbackRequest } from './rollback-planner.js';
import { acceptsDesired, initialState, transition, type Effect, type LoopEvent, type LoopState, type Work } from './transition.js';

const PROBATION = { windowMs: 1000, maxFailureRate: 0, minRequests: 1 };
const gen2 = desiredState(2, desiredModel('m', '2', PROBATION), desiredModel('n', '1'));
const download = (model: string, version: string): Step => ({ type: 'download', model, version, artifact: desiredModel(model, version).artifact });
const activate = (version: string): Step => ({ type: 'activate', model: 'm', version, desired: desiredModel('m', version, PROBATION) });
const stepWork = (step: Step): Work => ({ kind: 'step', step });
const operator: RollbackRequest = { source: 'operator', id: 1, model: 'm' };
const probationRequest: RollbackRequest = { source: 'probation', model: 'm', version: '2', generation: 2, reason: 'r', metrics: { requests: 1, failures: 1, thresholds: {} } };
const rollbackWork: Work = { kind: 'rollback', plan: { request: operator, model: 'm', from: '2', generation: 2, sha256: 'sha-2', error: { code: 'ROLLED_BACK_BY_OPERATOR', message: 'x' } } };
const state = (patch: Partial<LoopState> = {}): LoopState => ({ ...initialState(gen2, 1), dirty: false, ...patch });
const watch = startWatch('m', '2', 2, PROBATION, 0);
const running = (work: Work, abort?: LoopState['running'] extends infer R ? (R extends { abort?: infer A } ? A : never) : never): LoopState['running'] => ({ work, ...(abort ? { abort } : {}) });
const types = (effects: Effect[]): string[] => effects.filter((e) => e.type !== 'log').map((e) => (e.type === 'emit' ? `emit:${e.event.type}` : e.type));
// Settling matches the running work by identity (a late result of an older work is ignored).
const dlM2 = stepWork(download('m', '2'));
const dlN1 = stepWork(download('n', '1'));
const actM2 = stepWork(activate('2'));
const silentAbort = { reason: new EdgefleetError('DEPLOYMENT_SUPERSEDED', 'paused'), silent: true };

describe('reconcile transition', () => {
  it.each<[string, LoopState, LoopEvent, Partial<LoopState>, string[]]>([
    // new desired state
    ['a newer generation is taken and supersedes the step it no longer wants', state({ running: running(stepWork(download('m', '2'))) }), { type: 'desired', desired: desiredState(3, desiredModel('m', '3')) }, { dirty: true }, ['accept-desired', 'abort', 'report']],
    ['a newer generation that keeps the version leaves its step alone', state({ running: running(stepWork(download('m', '2'))) }), { type: 'desired', desired: desiredState(3, desiredModel('m', '2'), desiredModel('n', '2')) }, { dirty: true }, ['accept-desired', 'report']],
    ['loading what is active is never superseded', state({ running: running(stepWork({ type: 'load', model: 'm', version: '1' })) }), { type: 'desired', desired: desiredState(3) }, {}, ['accept-desired', 'report']],
    ['a new version ends the watch of the old one', state({ probations: { m: watch } }), { type: 'desired', desired: desiredState(3, desiredModel('m', '3')) }, { probations: {} }, ['accept-desired', 'unwatch', 'report']],
    ['an older generation is ignored', state(), { type: 'desired', desired: desiredState(1, desiredModel('m', '9')) }, { desired: gen2 }, []],
    ['the same generation again is ignored', state(), { type: 'desired', desired: gen2 }, { desired: gen2 }, []],
    ['after stop nothing is taken', state({ stopped: true }), { type: 'desired', desired: desiredState(3) }, { desired: gen2 }, []],
    ['a new generation forgets transient back-off', state({ backoff: { m: { attempt: 3, nextAt: 9e9 } } }), { type: 'desired', desired: desiredState(3, desiredModel('m', '3')) }, { backoff: {} }, ['accept-desired', 'report']],
    // planning
    ['the first ready step starts', state({ dirty: true }), { type: 'planned', steps: [download('m', '2'), download('n', '1')] }, { dirty: false, running: running(stepWork(download('m', '2'))) }, ['start']],
    ['a model in back-off waits; another model goes first', state({ backoff: { m: { attempt: 1, nextAt: 500 } } }), { type: 'planned', steps: [download('m', '2'), download('n', '1')] }, { running: running(stepWork(download('n', '1'))) }, ['start']],
    ['loading the active version ignores back-off', state({ backoff: { m: { attempt: 1, nextAt: 500 } } }), { type: 'planned', steps: [{ type: 'load', model: 'm', version: '1' }] }, { running: running(stepWork({ type: 'load', model: 'm', version: '1' })) }, ['start']],
    ['only waiting steps: idle with a wake-up', state({ backoff: { m: { attempt: 1, nextAt: 500 } } }), { type: 'planned', steps: [download('m', '2')] }, { running: undefined, applied: 1 }, ['report', 'idle', 'wake-at']],
    ['a back-off entry whose model has no step left wakes nothing (it would spin)', state({ backoff: { m: { attempt: 1, nextAt: -5 } } }), { type: 'planned', steps: [] }, { applied: 2 }, ['applied', 'report', 'idle']],
    ['nothing left: the generation is applied', state(), { type: 'planned', steps: [] }, { applied: 2 }, ['applied', 'report', 'idle']],
    ['never two works: a plan while one runs is dropped', state({ running: running(stepWork(download('n', '1'))) }), { type: 'planned', steps: [download('m', '2')] }, { running: running(stepWork(download('n', '1'))) }, []],
    ['a failed plan retries with back-off', state({ dirty: true }), { type: 'plan-failed', error: new EdgefleetError('INTERNAL', 'SQLITE_FULL') }, { passFailures: 1, dirty: false }, ['wake-at']],
    // settling
    ['a finished step clears its back-off and plans again', state({ running: running(dlM2), backoff: { m: { attempt: 2, nextAt: 0 } } }), { type: 'settled', work: dlM2 }, { running: undefined, backoff: {}, dirty: true }, ['report']],
    ['a terminal failure is recorded for the generation', state({ running: running(actM2) }), { type: 'settled', work: actM2, error: new EdgefleetError('SMOKE_TEST_FAILED', 'nan') }, { running: undefined }, ['record-failure', 'status', 'emit:failed', 'report']],
    ['a transient download failure is reported and backed off', state({ running: running(dlM2) }), { type: 'settled', work: dlM2, error: new EdgefleetError('ARTIFACT_DOWNLOAD_FAILED', 'x') }, { backoff: { m: { attempt: 1, nextAt: 1000 } } }, ['status', 'emit:failed', 'report']],
    ['a superseded step reports the abandoned target, no back-off', state({ running: running(dlM2, { reason: new EdgefleetError('DEPLOYMENT_SUPERSEDED', 'gen 3'), silent: false }) }), { type: 'settled', work: dlM2, error: new EdgefleetError('INTERNAL', 'aborted') }, { backoff: {} }, ['emit:failed', 'report']],
    ['a step paused for a rollback settles silently and resumes', state({ running: running(dlN1, silentAbort) }), { type: 'settled', work: dlN1, error: new EdgefleetError('INTERNAL', 'aborted') }, { backoff: {}, dirty: true }, ['report']],
    ['a result of work that is not running is ignored', state({ running: running(stepWork(download('n', '1'))) }), { type: 'settled', work: stepWork(download('m', '2')) }, { running: running(stepWork(download('n', '1'))) }, []],
    ['a rollback done: failure, status, event, answer', state({ running: running(rollbackWork) }), { type: 'settled', work: rollbackWork, to: '1' }, { running: undefined }, ['record-failure', 'status', 'emit:rolled-back', 'rollback-result', 'report']],
    ['a rollback that failed answers the operator with its error', state({ running: running(rollbackWork) }), { type: 'settled', work: rollbackWork, error: new EdgefleetError('ROLLBACK_UNAVAILABLE', 'gone') }, { running: undefined }, ['rollback-result', 'report']],
    // probation
    ['an activated version with a probation spec is watched', state(), { type: 'probation-started', model: 'm', version: '2', generation: 2 }, { probations: { m: watch } }, ['watch']],
    ['a version the desired state no longer names is not watched', state(), { type: 'probation-started', model: 'm', version: '1', generation: 2 }, { probations: {} }, []],
    ['windows go to the tally, nothing else happens', state({ probations: { m: watch } }), { type: 'windows', windows: [failingWindow('m', '2', 4)] }, { dirty: false }, []],
    ['a tick inside a healthy window does nothing', state({ probations: { m: watch } }), { type: 'probation-tick', model: 'm' }, { probations: { m: watch } }, []],
    ['a healthy window that ends passes', state({ probations: { m: { ...watch, until: 0 } } }), { type: 'probation-tick', model: 'm' }, { probations: {} }, ['unwatch', 'status', 'report']],
    ['a breach asks for a rollback; it waits for the running step of another model', state({ probations: { m: { ...watch, tally: { ...watch.tally, requests: 5, failures: 5 } } }, running: running(stepWork(activate('2'))) }), { type: 'probation-tick', model: 'm' }, { probations: {}, dirty: true }, ['unwatch', 'abort']],
    ['a tick for a watch that ended only cancels its timer', state(), { type: 'probation-tick', model: 'm' }, {}, ['unwatch']],
    // operator rollback
    ['an operator rollback aborts the same model’s step and waits for it', state({ running: running(stepWork(activate('3'))), probations: { m: watch } }), { type: 'rollback', request: operator }, { rollbacks: [operator], probations: {}, dirty: true }, ['unwatch', 'abort']],
    ['an operator rollback pauses another model’s download', state({ running: running(stepWork(download('n', '1'))) }), { type: 'rollback', request: operator }, { rollbacks: [operator] }, ['abort']],
    ['an operator rollback waits for another model’s short step', state({ running: running(stepWork({ type: 'prune', model: 'n', keep: ['1'] })) }), { type: 'rollback', request: operator }, { rollbacks: [operator] }, []],
    ['an operator rollback replaces a waiting probation rollback', state({ rollbacks: [probationRequest], running: running(stepWork(download('m', '3')), silentAbort) }), { type: 'rollback', request: operator }, { rollbacks: [operator] }, []],
    ['after stop an operator rollback is refused', state({ stopped: true }), { type: 'rollback', request: operator }, { rollbacks: [] }, ['rollback-result']],
    ['the first waiting rollback starts once nothing runs', state({ rollbacks: [operator] }), { type: 'rollback-planned', request: operator, decision: { ok: true, plan: rollbackWork.kind === 'rollback' ? rollbackWork.plan : (undefined as never) } }, { rollbacks: [], running: running(rollbackWork) }, ['start']],
    ['a rollback the planner refuses answers the operator', state({ rollbacks: [operator] }), { type: 'rollback-planned', request: operator, decision: { ok: false, stale: false, error: new EdgefleetError('ROLLBACK_UNAVAILABLE', 'none') } }, { rollbacks: [] }, ['rollback-result']],
    ['a stale probation verdict is dropped', state({ rollbacks: [probationRequest] }), { type: 'rollback-planned', request: probationRequest, decision: { ok: false, stale: true, error: new EdgefleetError('ROLLBACK_UNAVAILABLE', 'moved on') } }, { rollbacks: [] }, []],
    // trigger, stop
    ['trigger forgets back-off and plans', state({ backoff: { m: { attempt: 2, nextAt: 9e9 } } }), { type: 'trigger' }, { backoff: {}, dirty: true }, []],
    ['stop aborts the running step, ends watches and refuses waiting rollbacks', state({ running: running(stepWork(download('m', '2'))), probations: { m: watch }, rollbacks: [operator] }), { type: 'stop' }, { stopped: true, probations: {}, rollbacks: [] }, ['unwatch', 'abort', 'rollback-result']],
    ['stop twice is one stop', state({ stopped: true }), { type: 'stop' }, { stopped: true }, []],
  ])('%s', (_name, before, event, expected, effects) => {
    const t = transition(before, event, 0, () => 0);
    expect(t.state).toMatchObject(expected);
    expect(types(t.effects)).toEqual(effects);
  });

  it('is pure: the state it was given is left as it was', () => {
    const before = state({ running: running(stepWork(download('m', '2'))), probations: { m: watch } });
    const copy = structuredClone(before);
    transition(before, { type: 'desired', desired: desiredState(3, desiredModel('m', '3')) }, 0);
    transition(before, { type: 'rollback', request: operator }, 0);
    transition(before, { type: 'windows', windows: [failingWindow('m', '2')] }, 0);
    expect(before).toEqual(copy);
  });

  it.each<[string, DesiredState | undefined, DesiredState, boolean]>([
    ['nothing held', undefined, gen2, true],
    ['newer', gen2, desiredState(3), true],
    ['older', gen2, desiredState(1), false],
    ['same generation, same content', gen2, structuredClone(gen2), false],
    ['same generation, other content (a re-issue)', gen2, { ...gen2, issuedAt: '2026-02-02T00:00:00Z' }, true],
  ])('acceptsDesired: %s', (_name, held, next, accepted) => {
    expect(acceptsDesired(held, next)).toBe(accepted);
  });
});
