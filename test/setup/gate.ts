/**
 * Tests that need a program or service from outside npm declare it here instead of checking for
 * themselves: with it present they run; without it they are skipped with the reason in their name
 * (and global-setup.ts has already failed the run under CI, so a skip never happens there).
 */
import { describe, inject } from 'vitest';
import type { RequirementId } from './requirements.mjs';

export { serviceUrl, toolPath } from './requirements.mjs';

/** `describe` that runs only when every requirement is present; otherwise a counted skip naming why. */
export function describeNeeding(needs: readonly RequirementId[], name: string, fn: () => void): void {
  const missing = inject('edgefleetMissing');
  const absent = needs.flatMap((id) => (missing[id] ? [missing[id]] : []));
  if (absent.length === 0) describe(name, fn);
  else describe.skip(`${name} [SKIPPED: ${absent.join('; ')}]`, fn);
}
