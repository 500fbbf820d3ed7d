import { afterEach, describe, expect, it } from 'vitest';
import { createFakeDevice, desiredModel, desiredState, failingWindow, settle, shaOf, type FakeDevice } from './fake-loop-ports.js';
import { createReconcileLoop, type ReconcileLoop } from './reconcile-loop.js';

const PROBATION = { windowMs: 1000, maxFailureRate: 0, minRequests: 1 };
let loop: ReconcileLoop | undefined;
afterEach(async () => {
  await loop?.stop(1000);
  loop = undefined;
});

/** m@v1 active with v0 as its rollback target, converged on generation 1. */
async function serving(): Promise<FakeDevice> {
  const device = createFakeDevice();
  device.pointers.set('m', { active: 'v1', previous: 'v0' });
  device.installed.set('m', new Map([['v0', shaOf('v0')], ['v1', shaOf('v1')]]));
  device.loaded.set('m', new Set(['v0', 'v1']));
  device.persistedDesired = desiredState(1, desiredModel('m', 'v1'));
  device.persistedApplied = 1;
  loop = createReconcileLoop(device.ports());
  loop.start();
  await settle();
  return device;
}
const opsOf = (device: FakeDevice): string[] => device.ops.map((o) => `${o.op} ${o.model}${o.version ? `@${o.version}` : ''}`);

describe('reconcile loop', () => {
  it('an operator rollback waits for the aborted step’s cleanup before the pointer moves', async () => {
    const device = await serving();
    device.holdActivate = true;
    loop?.setDesired(desiredState(2, desiredModel('m', 'v2')));
    await settle();
    expect(device.held()).toBe(1);
    const rolled = loop?.rollback('m', 'bad output');
    await settle();
    await expect(rolled).resolves.toEqual({ active: 'v0', from: 'v1' });
    expect(opsOf(device).slice(2, 5)).toEqual(['activate-start m@v2', 'cleanup-relabel m@v1', 'pointer-switch m@v0']);
    expect(device.events.map((e) => [e.type, e.version, e.type === 'failed' ? e.error.code : e.type === 'rolled-back' ? e.reason.code : ''])).toEqual([
      ['failed', 'v2', 'DEPLOYMENT_SUPERSEDED'],
      ['rolled-back', 'v1', 'ROLLED_BACK_BY_OPERATOR'],
    ]);
  });

  it('a probation verdict only asks: the rollback waits for another model’s running step', async () => {
    const device = await serving();
    loop?.setDesired(desiredState(2, desiredModel('m', 'v2', PROBATION)));
    await settle();
    expect(device.pointers.get('m')).toEqual({ active: 'v2', previous: 'v1' });
    // Another model's activation is under way when the failing traffic is judged.
    device.holdActivate = true;
    loop?.setDesired(desiredState(3, desiredModel('m', 'v2', PROBATION), desiredModel('n', 'n1')));
    await settle();
    expect(device.held()).toBe(1);
    device.pendingWindows = [failingWindow('m', 'v2')];
    device.advance(PROBATION.windowMs);
    await settle();
    expect(device.pointers.get('m')?.active).toBe('v2');
    expect(loop?.state().rollbacks).toMatchObject([{ source: 'probation', model: 'm', version: 'v2' }]);
    device.release();
    await settle();
    const ops = opsOf(device);
    expect(ops.slice(ops.indexOf('activate-start n@n1'), ops.indexOf('pointer-switch m@v1') + 1)).toEqual(['activate-start n@n1', 'pointer-switch n@n1', 'pointer-switch m@v1']);
    expect(device.events.at(-1)).toMatchObject({ type: 'rolled-back', model: 'm', version: 'v2', to: 'v1', reason: { code: 'PROBATION_FAILED' } });
  });

  it('a rollback with nothing to go back to is refused at once and leaves the running step alone', async () => {
    const device = await serving();
    device.pointers.set('m', { active: 'v1' });
    device.holdActivate = true;
    loop?.setDesired(desiredState(2, desiredModel('m', 'v2')));
    await settle();
    await expect(loop?.rollback('m')).rejects.toMatchObject({ code: 'ROLLBACK_UNAVAILABLE' });
    expect(device.held()).toBe(1);
    device.release();
    await settle();
    expect(device.pointers.get('m')).toEqual({ active: 'v2', previous: 'v1' });
  });

  it('a probation that ends healthy passes and nothing is rolled back', async () => {
    const device = await serving();
    loop?.setDesired(desiredState(2, desiredModel('m', 'v2', PROBATION)));
    await settle();
    expect(loop?.state().probations.m).toBeDefined();
    device.advance(PROBATION.windowMs);
    await settle();
    expect(loop?.state().probations).toEqual({});
    expect(device.events.some((e) => e.type === 'rolled-back')).toBe(false);
    expect(device.pointers.get('m')?.active).toBe('v2');
  });
});
