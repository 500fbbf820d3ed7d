/**
 * `systemd-analyze verify` for unit files, offline and without a running systemd (containers, CI).
 *
 * verify refuses a unit whose ExecStart binary is missing and needs the targets a service pulls in
 * (sysinit.target, multi-user.target, ...). So each unit is checked inside a scratch root
 * (`--root`): the host's /usr/lib/systemd/system is copied there, the unit goes to
 * /etc/systemd/system, and its ExecStart binaries exist as executables unless the caller's root
 * already holds the real ones (the install test verifies the unit the install script installed).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { toolPath } from '../setup/requirements.mjs';

export const SYSTEMD_ANALYZE = toolPath('systemd-analyze');
const HOST_UNITS = '/usr/lib/systemd/system';

export interface VerifyResult {
  status: number | null;
  /** systemd-analyze reports unknown keys and bad values as warnings on stderr with exit 0. */
  output: string;
}

/** Absolute paths of the programs a unit runs (ExecStart=, ExecStartPre=, ExecReload=, ...). */
export function execBinaries(unitText: string): string[] {
  const binaries: string[] = [];
  for (const line of unitText.split('\n')) {
    const match = /^Exec[A-Za-z]*=\s*[-@:+!]*(\S+)/.exec(line.trim());
    if (match?.[1]) binaries.push(match[1]);
  }
  return binaries;
}

/** Makes `root` able to host `systemd-analyze verify --root`: the standard units, and stand-ins for missing binaries. */
export function prepareVerifyRoot(root: string, unitText: string): void {
  const unitDir = join(root, HOST_UNITS);
  if (!existsSync(join(unitDir, 'multi-user.target'))) {
    mkdirSync(dirname(unitDir), { recursive: true });
    cpSync(HOST_UNITS, unitDir, { recursive: true, verbatimSymlinks: true });
  }
  for (const binary of execBinaries(unitText)) {
    const path = join(root, binary);
    if (existsSync(path)) continue;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, '#!/bin/sh\nexit 0\n');
    chmodSync(path, 0o755);
  }
}

/** Verifies a unit file: copies it into `root`'s /etc/systemd/system unless it is already there. */
export function verifyUnit(unitFile: string, root: string): VerifyResult {
  const name = basename(unitFile);
  const text = readFileSync(unitFile, 'utf8');
  prepareVerifyRoot(root, text);
  const target = join(root, 'etc/systemd/system', name);
  if (target !== unitFile) {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
  // A template (name@.service) is verified through an instance of it.
  const unit = name.includes('@.') ? name.replace('@.', '@1.') : name;
  const run = spawnSync(SYSTEMD_ANALYZE, ['verify', '--man=no', `--root=${root}`, unit], { encoding: 'utf8', timeout: 20_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}
