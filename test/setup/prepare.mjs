#!/usr/bin/env node
// @ts-check
/**
 * The first step of `pnpm test` and `pnpm test:faults`: make sure what the tests need outside npm
 * is here. Programs: on Debian/Ubuntu as root, installed with apt-get (and said so); anywhere else
 * the run stops at once with one line per missing piece and the command that installs it.
 * Services: under CI a missing one stops the run; elsewhere it is a loud warning, and the tests that
 * need it are skipped and counted (global-setup.ts).
 */
import { TOOLS, aptInstall, canInstallWithApt, findMissing, isCi } from './requirements.mjs';

const say = (/** @type {string} */ line) => console.error(`edgefleet test set-up: ${line}`);

let missing = await findMissing();
const tools = missing.filter((m) => m.kind === 'tool');
if (tools.length > 0 && canInstallWithApt()) {
  const packages = [...new Set(tools.map((m) => TOOLS.find((t) => t.id === m.id)?.apt ?? m.id))];
  say(`installing ${packages.join(', ')} with apt-get (Debian, running as root): ${tools.map((m) => m.id).join(', ')} missing`);
  const started = Date.now();
  const failure = aptInstall(packages);
  if (failure) say(failure);
  else say(`installed ${packages.join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  missing = await findMissing();
}

const stillMissingTools = missing.filter((m) => m.kind === 'tool');
for (const m of stillMissingTools) say(m.line);
const services = missing.filter((m) => m.kind === 'service');
if (isCi()) for (const m of services) say(m.line);
if (stillMissingTools.length > 0 || (isCi() && services.length > 0)) process.exit(1);

if (services.length > 0) {
  const bar = '!'.repeat(100);
  console.error(`\n${bar}`);
  for (const m of services) say(`WARNING ${m.line}`);
  say('WARNING the tests that need it will be SKIPPED (counted as skipped in vitest\'s summary); under CI=true this is a failure');
  console.error(`${bar}\n`);
}
