import { describe, expect, it } from 'vitest';
import type { DesiredState } from '@edgefleet/shared';
import { desiredModel, desiredState } from './fake-loop-ports.js';
import type { ModelStatus } from './model-status.js';
import { assembleReportedModels, type DurableView } from './reported-state.js';
import type { Pointers } from '../store/state-store.js';

const view = (pointers: Record<string, Pointers>, installed: Record<string, string[]> = {}): DurableView => ({
  allPointers: () => new Map(Object.entries(pointers)),
  pointers: (m) => pointers[m] ?? {},
  installedVersions: (m) => installed[m] ?? [],
});
const failed: ModelStatus = { state: 'failed', target: '3', lastError: { code: 'SMOKE_TEST_FAILED', message: 'nan' } };

describe('reported models', () => {
  it.each<[string, DurableView, [string, ModelStatus][], DesiredState | undefined, unknown[]]>([
    ['nothing anywhere', view({}), [], undefined, []],
    ['active and wanted: active, no target', view({ m: { active: '1' } }, { m: ['1'] }), [], desiredState(1, desiredModel('m', '1')), [{ name: 'm', installed: ['1'], active: '1', state: 'active' }]],
    ['wanted but not there yet: pending with the target', view({}), [], desiredState(1, desiredModel('m', '1')), [{ name: 'm', installed: [], target: '1', state: 'pending' }]],
    ['the status board wins over the guess', view({ m: { active: '1', previous: '0' } }, { m: ['0', '1', '3'] }), [['m', failed]], desiredState(2, desiredModel('m', '3')), [{ name: 'm', installed: ['0', '1', '3'], active: '1', previous: '0', target: '3', state: 'failed', lastError: { code: 'SMOKE_TEST_FAILED', message: 'nan' } }]],
    ['progress only while downloading', view({}), [['m', { state: 'verifying', target: '2', progress: { bytes: 1, total: 2 } }]], undefined, [{ name: 'm', installed: [], target: '2', state: 'verifying' }]],
    ['the rollout of the desired model rides along; models sorted by name', view({ z: { active: '1' } }), [], { ...desiredState(1, { ...desiredModel('a', '1'), rolloutId: 'r1' }) }, [{ name: 'a', installed: [], target: '1', state: 'pending', rolloutId: 'r1' }, { name: 'z', installed: [], active: '1', state: 'active' }]],
  ])('%s', (_name, v, board, desired, expected) => {
    expect(assembleReportedModels(v, new Map(board), desired)).toEqual(expected);
  });
});
