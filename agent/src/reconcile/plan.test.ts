import { describe, expect, it } from 'vitest';
import type { DesiredModel, DesiredState } from '@edgefleet/shared';
import { failureKey, plan, type CurrentState, type ModelCurrent } from './plan.js';

const sha = (c: string): string => c.repeat(64);
const model = (name: string, version: string, digest: string): DesiredModel => ({
  name,
  version,
  artifact: { sha256: sha(digest), size: 10, createdAt: '2026-01-01T00:00:00Z', signature: 'sig' },
});
const desired = (generation: number, ...models: DesiredModel[]): DesiredState => ({ deviceId: 'd1', generation, issuedAt: '2026-01-01T00:00:00Z', models });
const cur = (models: Record<string, Partial<ModelCurrent>> = {}, extra: Partial<CurrentState> = {}): CurrentState => ({
  models: Object.fromEntries(Object.entries(models).map(([k, v]) => [k, { installed: {}, loaded: [], ...v }])),
  staged: [],
  failures: {},
  ...extra,
});

const a1 = model('a', '1', 'a');
const a2 = model('a', '2', 'b');
const b1 = model('b', '1', 'c');

describe('plan', () => {
  it.each<[string, DesiredState | undefined, CurrentState, unknown[]]>([
    ['nothing desired, nothing there', undefined, cur(), []],
    ['no desired state yet: still load what was active (offline restart)', undefined, cur({ a: { active: '1', installed: { '1': sha('a') } } }), [{ type: 'load', model: 'a', version: '1' }]],
    ['fresh device: download', desired(1, a1), cur(), [{ type: 'download', model: 'a', version: '1' }]],
    ['downloaded: verify', desired(1, a1), cur({}, { staged: [sha('a')] }), [{ type: 'verify', model: 'a', version: '1' }]],
    ['installed: activate', desired(1, a1), cur({ a: { installed: { '1': sha('a') } } }), [{ type: 'activate', model: 'a', version: '1' }]],
    ['active and loaded: converged', desired(1, a1), cur({ a: { active: '1', installed: { '1': sha('a') }, loaded: ['1'] } }), []],
    ['active but not loaded: load first', desired(1, a1), cur({ a: { active: '1', installed: { '1': sha('a') } } }), [{ type: 'load', model: 'a', version: '1' }]],
    [
      'upgrade while serving: load stays first, download the new one',
      desired(2, a2),
      cur({ a: { active: '1', installed: { '1': sha('a') } } }),
      [
        { type: 'load', model: 'a', version: '1' },
        { type: 'download', model: 'a', version: '2' },
      ],
    ],
    [
      'same version with a different digest is not the installed one',
      desired(2, model('a', '1', 'z')),
      cur({ a: { installed: { '1': sha('a') } } }),
      [{ type: 'download', model: 'a', version: '1' }],
    ],
    ['failed in this generation: no retry', desired(3, a2), cur({ a: { active: '1', installed: { '1': sha('a') }, loaded: ['1'] } }, { failures: { [failureKey('a', '2', sha('b'))]: { generation: 3, code: 'SMOKE_TEST_FAILED' } } }), []],
    [
      'failed in an older generation: a newer one retries',
      desired(4, a2),
      cur({ a: { active: '1', installed: { '1': sha('a') }, loaded: ['1'] } }, { failures: { [failureKey('a', '2', sha('b'))]: { generation: 3, code: 'ARTIFACT_DIGEST_MISMATCH' } } }),
      [{ type: 'download', model: 'a', version: '2' }],
    ],
    ['model left the desired state: retire', desired(2, b1), cur({ a: { active: '1', installed: { '1': sha('a') }, loaded: ['1'] } }), [{ type: 'download', model: 'b', version: '1' }, { type: 'retire', model: 'a' }]],
    [
      'versions beyond active and previous: prune',
      desired(3, a2),
      cur({ a: { active: '2', previous: '1', installed: { '0': sha('0'), '1': sha('a'), '2': sha('b') }, loaded: ['2'] } }),
      [{ type: 'prune', model: 'a', keep: ['2', '1'] }],
    ],
    ['active and previous only: nothing to prune', desired(3, a2), cur({ a: { active: '2', previous: '1', installed: { '1': sha('a'), '2': sha('b') }, loaded: ['2'] } }), []],
    [
      'two models progress independently',
      desired(1, a1, b1),
      cur({ a: { installed: { '1': sha('a') } } }, { staged: [sha('c')] }),
      [
        { type: 'activate', model: 'a', version: '1' },
        { type: 'verify', model: 'b', version: '1' },
      ],
    ],
  ])('%s', (_name, want, current, steps) => {
    const got = plan(want, current).map((s) => ({ type: s.type, model: s.model, ...('version' in s ? { version: s.version } : {}), ...(s.type === 'prune' ? { keep: s.keep } : {}) }));
    expect(got).toEqual(steps);
  });

  it('keeps extra versions when asked to', () => {
    const current = cur({ a: { active: '2', previous: '1', installed: { '0': sha('0'), '1': sha('a'), '2': sha('b') }, loaded: ['2'] } });
    expect(plan(desired(3, a2), current, { keepExtraVersions: 1 })).toEqual([]);
  });

  it('is pure: the same input gives the same plan and is not modified', () => {
    const current = cur({ a: { active: '1', installed: { '1': sha('a') } } }, { staged: [sha('c')] });
    const frozen = JSON.stringify(current);
    expect(plan(desired(2, a2, b1), current)).toEqual(plan(desired(2, a2, b1), current));
    expect(JSON.stringify(current)).toBe(frozen);
  });
});
