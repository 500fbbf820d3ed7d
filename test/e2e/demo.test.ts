/**
 * The README's main line, end to end: `node test/dist/demo/demo.js --devices 5 --exit-when-done`
 * (what `pnpm demo` runs after `pnpm build`) must tell the whole story — v1 rolled out, v2 in waves,
 * a broken v3 halted by a gate and rolled back, every device back on v2 — and exit 0 within two
 * minutes on the 2-core CI machine, leaving no process behind.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tmpDataDir, type TmpDir } from '../helpers/index.js';

const repo = join(import.meta.dirname, '../..');
const demo = join(repo, 'test/dist/demo/demo.js');
const LIMIT_MS = 120_000;

let work: TmpDir | undefined;
afterAll(async () => {
  await work?.cleanup();
});

/** Processes whose command line mentions `dir` (the agents' --config and the server's --data-dir do). */
function processesUsing(dir: string): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        return cmdline.includes(dir) ? [`${pid}: ${cmdline}`] : [];
      } catch {
        return [];
      }
    });
}

describe('pnpm demo', () => {
  it('Ctrl-C stops the fleet cleanly: agents drain, then the control plane, nothing left running', async () => {
    expect(existsSync(demo), 'test/dist/demo/demo.js is missing: run `pnpm build` first').toBe(true);
    const dir = await tmpDataDir('edgefleet-demo-sigint-');
    try {
      const child = spawn(process.execPath, [demo, '--devices', '2', '--dir', dir.path], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the agents never came online:\n${output}`)), 60_000);
        const onData = (chunk: Buffer): void => {
          output += chunk.toString();
          if (/2 agents online/.test(output)) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
      });
      child.kill('SIGINT');
      const code = await exited;
      expect(code, output).toBe(130);
      expect(output).toMatch(/SIGINT: stopping the fleet/);
      expect(output).toMatch(/fleet stopped; logs and data kept/);
      expect(output).not.toMatch(/killed after the drain deadline/);
      expect(processesUsing(dir.path)).toEqual([]);
    } finally {
      await dir.cleanup();
    }
  }, 120_000);

  it('runs the whole story with 5 agents and exits 0 in under 2 minutes', async () => {
    expect(existsSync(demo), 'test/dist/demo/demo.js is missing: run `pnpm build` first').toBe(true);
    work = await tmpDataDir('edgefleet-demo-test-');
    const started = Date.now();
    const child = spawn(process.execPath, [demo, '--devices', '5', '--exit-when-done', '--dir', work.path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGINT'), LIMIT_MS + 20_000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    const elapsed = Date.now() - started;
    console.log(`demo took ${(elapsed / 1000).toFixed(1)} s\n${output}`);

    expect(code, output).toBe(0);
    expect(elapsed).toBeLessThan(LIMIT_MS);
    expect(output).toMatch(/dashboard\s+http:\/\/127\.0\.0\.1:\d+\//);
    expect(output).toMatch(/API token\s+\S+/);
    expect(output).toMatch(/5 agents online/);
    expect(output).toMatch(/v1 .*succeeded/);
    expect(output).toMatch(/v2 .*succeeded/);
    expect(output).toMatch(/v3 .*(rolled-back|halted)/);
    expect(output).toMatch(/every device still serves text-direction@1\.1\.0/);
    // The summary: each device on v2, and where the logs are.
    for (let i = 1; i <= 5; i++) expect(output).toMatch(new RegExp(`demo-0${i}\\s+\\S+\\s+1\\.1\\.0`));
    expect(output).toContain(join(work.path, 'logs'));
    expect(readdirSync(join(work.path, 'logs')).sort()).toEqual(['control-plane.log', 'demo-01.log', 'demo-02.log', 'demo-03.log', 'demo-04.log', 'demo-05.log']);
    // Clean shutdown: everything drained in time, and no agent or control plane is left running.
    expect(output).not.toMatch(/killed after the drain deadline/);
    expect(processesUsing(work.path)).toEqual([]);
  }, LIMIT_MS + 60_000);
});
