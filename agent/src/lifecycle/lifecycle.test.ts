import { describe, expect, it } from 'vitest';
import { isEdgefleetError } from '@edgefleet/shared';
import { createLifecycle, withDeadline } from './lifecycle.js';

describe('lifecycle', () => {
  it('walks starting → running → draining → stopped and tells listeners', () => {
    const l = createLifecycle();
    const seen: string[] = [];
    l.onChange((s, p) => seen.push(`${p}>${s}`));
    l.to('starting');
    l.to('running');
    l.to('draining');
    l.to('stopped');
    expect(seen).toEqual(['created>starting', 'starting>running', 'running>draining', 'draining>stopped']);
  });

  it('rejects a transition the machine does not allow', () => {
    const l = createLifecycle();
    try {
      l.to('running');
      expect.unreachable();
    } catch (err) {
      expect(isEdgefleetError(err, 'LIFECYCLE_INVALID_STATE')).toBe(true);
    }
  });

  it('withDeadline reports whether work finished in time', async () => {
    expect(await withDeadline(Promise.resolve(), 50)).toBe(true);
    expect(await withDeadline(new Promise((r) => setTimeout(r, 200)), 20)).toBe(false);
  });
});
