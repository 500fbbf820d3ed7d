import { describe, expect, it } from 'vitest';
import type { DeploymentEvent } from '@edgefleet/shared';
import { deadlineFor, transitionOnDeadline, transitionOnEvent } from './device-state.js';

const base = { deviceId: 'd1', eventId: 'e', seq: 1, at: new Date(0).toISOString(), generation: 5, model: 'm', version: '2', rolloutId: 'r' };
const ev = (e: Partial<DeploymentEvent> & { type: DeploymentEvent['type'] }): DeploymentEvent => ({ ...base, ...e }) as DeploymentEvent;

describe('transitionOnEvent', () => {
  it.each([
    ['notified', ev({ type: 'queued' }), undefined],
    ['notified', ev({ type: 'downloading', bytes: 1, total: 2 }), 'downloading'],
    ['notified', ev({ type: 'smoke-testing' }), 'installing'],
    ['downloading', ev({ type: 'verified' }), 'installing'],
    ['installing', ev({ type: 'active' }), 'baking'],
    ['installing', ev({ type: 'downloading', bytes: 1, total: 2 }), undefined],
    ['notified', ev({ type: 'failed', error: { code: 'SMOKE_TEST_FAILED', message: 'nan' } }), 'failed'],
    ['baking', ev({ type: 'rolled-back', reason: { code: 'PROBATION_FAILED', message: 'slow' } }), 'rolled-back'],
    ['succeeded', ev({ type: 'failed', error: { code: 'INTERNAL', message: 'x' } }), undefined],
    ['pending', ev({ type: 'active' }), undefined],
  ] as const)('%s + %s event → %s', (state, event, expected) => {
    expect(transitionOnEvent({ state, generation: 5 }, '2', event)?.state).toBe(expected);
  });

  it('ignores older generations, other versions and carries the error code', () => {
    expect(transitionOnEvent({ state: 'notified', generation: 6 }, '2', ev({ type: 'active' }))).toBeUndefined();
    expect(transitionOnEvent({ state: 'notified', generation: 5 }, '3', ev({ type: 'active' }))).toBeUndefined();
    expect(transitionOnEvent({ state: 'notified', generation: 5 }, '2', ev({ type: 'failed', error: { code: 'SMOKE_TEST_FAILED', message: 'nan' } }))).toEqual({
      state: 'failed', errorCode: 'SMOKE_TEST_FAILED', reason: 'nan',
    });
  });
});

describe('deadlines', () => {
  it('applies only to in-flight states and marks stuck devices by presence', () => {
    expect(deadlineFor('notified', 1000, 500)).toBe(1500);
    expect(deadlineFor('baking', 1000, 500)).toBeUndefined();
    expect(transitionOnDeadline(true)).toMatchObject({ state: 'failed', errorCode: 'ROLLOUT_DEVICE_TIMEOUT' });
    expect(transitionOnDeadline(false)).toEqual({ state: 'skipped', reason: 'offline' });
  });
});
