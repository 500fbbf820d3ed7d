import { describe, expect, it } from 'vitest';
import { isEdgefleetError } from '@edgefleet/shared';
import { resolveSelection, type DeviceResolver } from './telemetry-routes.js';

const resolver: DeviceResolver = {
  listDevices: async () => [
    { id: 'cam-1', tags: { site: 'berlin', class: 'jetson-orin' } },
    { id: 'cam-2', tags: { site: 'berlin', class: 'x86' } },
    { id: 'cam-3', tags: { site: 'paris', class: 'jetson-orin' } },
  ],
  rolloutCohort: async (id, wave) => (id === 'r1' ? (wave === 0 ? ['cam-1'] : ['cam-1', 'cam-3']) : undefined),
};

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return isEdgefleetError(err) ? err.code : 'not an EdgefleetError';
  }
}

describe('device selection for telemetry queries', () => {
  it('is the whole fleet (undefined) when nothing narrows it', async () => {
    expect(await resolveSelection({}, resolver)).toBeUndefined();
  });

  it.each([
    [{ selector: 'site=berlin' }, ['cam-1', 'cam-2']],
    [{ selector: 'site=berlin,class=jetson-orin' }, ['cam-1']],
    [{ rolloutId: 'r1' }, ['cam-1', 'cam-3']],
    [{ rolloutId: 'r1', wave: 0 }, ['cam-1']],
    [{ rolloutId: 'r1', selector: 'class=jetson-orin', deviceIds: ['cam-3', 'cam-2'] }, ['cam-3']],
    [{ deviceIds: ['cam-2'], selector: 'site=paris' }, []],
  ])('%j → %j', async (selection, expected) => {
    expect((await resolveSelection(selection, resolver))?.sort()).toEqual(expected);
  });

  it('refuses a malformed selector and an unknown rollout with their codes', async () => {
    expect(await code(resolveSelection({ selector: 'berlin' }, resolver))).toBe('BAD_REQUEST');
    expect(await code(resolveSelection({ rolloutId: 'nope' }, resolver))).toBe('ROLLOUT_NOT_FOUND');
    expect(await code(resolveSelection({ rolloutId: 'r1' }, { listDevices: resolver.listDevices }))).toBe('BAD_REQUEST');
  });
});
