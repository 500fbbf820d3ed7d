/**
 * vitest's global set-up for every project: probe the programs and services the suite needs (the
 * same table `pnpm test` checks first) and hand the missing ones to the tests, which skip loudly
 * through gate.ts. Under CI a missing requirement fails the run before any test starts: a green CI
 * must mean every test ran.
 */
import type { TestProject } from 'vitest/node';
import { findMissing, isCi, type Missing } from './requirements.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Requirement id → the one-line reason it is missing; empty when everything is here. */
    edgefleetMissing: Record<string, string>;
  }
}

function banner(lines: string[]): string {
  const bar = '!'.repeat(100);
  return [bar, ...lines.map((l) => `edgefleet test set-up: ${l}`), bar].join('\n');
}

/**
 * One probe and one pair of banners per vitest run, however many projects share this set-up (each
 * project loads its own copy of this module, hence the registry on globalThis).
 */
type Run = { missing: Promise<Missing[]>; projects: number };
const registry = globalThis as { [key: symbol]: WeakMap<object, Run> | undefined };
const KEY = Symbol.for('edgefleet.test-requirements');
const runs = (registry[KEY] ??= new WeakMap<object, Run>());

export default async function setup(project: TestProject): Promise<() => void> {
  let run = runs.get(project.vitest);
  const first = !run;
  if (!run) runs.set(project.vitest, (run = { missing: findMissing(), projects: 0 }));
  const current = run;
  current.projects += 1;
  const missing = await current.missing;
  if (missing.length > 0 && isCi()) {
    throw new Error(`CI=true and the test suite's requirements are missing:\n${missing.map((m) => `  ${m.line}`).join('\n')}`);
  }
  project.provide('edgefleetMissing', Object.fromEntries(missing.map((m) => [m.id, m.line])));
  const lines = missing.map((m) => `SKIPPING the tests that need ${m.id}: ${m.line}`);
  if (first && lines.length > 0) console.error(`\n${banner(lines)}\n`);
  return () => {
    current.projects -= 1;
    // Said again at the end, beside the summary whose "skipped" count includes them.
    if (current.projects === 0 && lines.length > 0) console.error(`\n${banner([...lines, 'these skips are counted in the summary; under CI=true they fail the run'])}\n`);
  };
}
