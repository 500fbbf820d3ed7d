import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTegrastatsReader } from './tegrastats-reader.js';

describe('tegrastats reader (a real child process printing a recorded line)', () => {
  it('keeps the newest complete line, parsed, and stops the child', async () => {
    const reader = startTegrastatsReader({ binary: join(import.meta.dirname, '__fixtures__/fake-tegrastats.sh'), intervalMs: 50 });
    try {
      const deadline = Date.now() + 5_000;
      while (!reader.latest() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(reader.latest()).toMatchObject({ gpuFreqMhz: 305, temps: { tj: 46 }, rails: { VDD_GPU_SOC: { mW: 5139 } } });
    } finally {
      reader.stop();
    }
  });

  it('reports a missing binary through onError and yields no reading', async () => {
    const errors: Error[] = [];
    const reader = startTegrastatsReader({ binary: '/nonexistent/tegrastats', onError: (e) => errors.push(e) });
    await new Promise((r) => setTimeout(r, 200));
    expect(errors).toHaveLength(1);
    expect(reader.latest()).toBeUndefined();
    reader.stop();
  });
});
