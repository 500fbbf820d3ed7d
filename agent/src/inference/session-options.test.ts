import { describe, expect, it } from 'vitest';
import { sessionOptionsFor, threadCountsToTry } from './session-options.js';

const cpu = (physicalCores: number) => ({ cpu: { model: 't', arch: 'x64', cores: physicalCores * 2, physicalCores }, memoryBytes: 8 * 1024 ** 3 });

describe('session options', () => {
  it('thread counts to try beside the default: one thread, and half the cores on bigger CPUs', () => {
    expect(threadCountsToTry(cpu(1), {}, 'cpu')).toEqual([]);
    expect(threadCountsToTry(cpu(2), {}, 'cpu')).toEqual([1]);
    expect(threadCountsToTry(cpu(4), {}, 'cpu')).toEqual([1, 2]);
    expect(threadCountsToTry(cpu(12), {}, 'cpu')).toEqual([1, 6]);
    // A configured count is the operator's decision; GPU EPs barely use CPU threads.
    expect(threadCountsToTry(cpu(8), { intraOpThreads: 3 }, 'cpu')).toEqual([]);
    expect(threadCountsToTry(cpu(8), {}, 'webgpu')).toEqual([]);
  });

  it('a measured count replaces the default, a configured one wins over both', () => {
    expect(sessionOptionsFor(cpu(8), {}, 'cpu').intraOpNumThreads).toBe(8);
    expect(sessionOptionsFor(cpu(8), {}, 'cpu', 1).intraOpNumThreads).toBe(1);
    expect(sessionOptionsFor(cpu(8), { intraOpThreads: 3 }, 'cpu', 1).intraOpNumThreads).toBe(3);
    expect(sessionOptionsFor(cpu(8), {}, 'cuda').intraOpNumThreads).toBe(2);
  });

  it('pool threads do not busy-wait unless the config allows it', () => {
    expect(sessionOptionsFor(cpu(4), {}, 'cpu').extra).toEqual({ session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } });
    expect(sessionOptionsFor(cpu(4), { allowSpinning: true }, 'cpu').extra).toBeUndefined();
  });
});
