import { describe, expect, it } from 'vitest';
import { createModelStats } from './model-stats.js';

describe('model statistics', () => {
  it('accumulates count and ns per version and per batch size; failures count apart', () => {
    const stats = createModelStats(() => 1234);
    const sample = { model: 'm', version: '1', totalNs: 10, queueNs: 1, inputNs: 2, inferNs: 5, outputNs: 2 };
    stats.success({ ...sample, batch: 4 });
    stats.success({ ...sample, batch: 1 });
    stats.success({ ...sample, batch: 4, inferNs: 7.6 });
    stats.failure('m', '1', 3);
    stats.success({ ...sample, version: '2', batch: 1 });
    const [v1, v2] = stats.snapshot('m');
    expect(v1).toMatchObject({ name: 'm', version: '1', last_inference: 1234, inference_count: 9, execution_count: 3 });
    expect(v1!.inference_stats.success).toEqual({ count: 3, ns: 30 });
    expect(v1!.inference_stats.compute_infer).toEqual({ count: 3, ns: 18 });
    expect(v1!.inference_stats.fail).toEqual({ count: 1, ns: 3 });
    expect(v1!.batch_stats.map((b) => [b.batch_size, b.compute_infer.count])).toEqual([
      [1, 1],
      [4, 2],
    ]);
    expect(v2).toMatchObject({ version: '2', execution_count: 1 });
    expect(stats.snapshot('m', '2')).toHaveLength(1);
    expect(stats.snapshot('other')).toEqual([]);
  });
});
